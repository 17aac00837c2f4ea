//! The one semantic pass: walks the syntax tree with keyword tables (data, one table per
//! block kind), builds the typed model in [`crate::config::model`], and validates it as
//! keepalived does. Every problem becomes a diagnostic with a span; nothing panics.
//!
//! Conventions for handlers:
//! - A handler gets the [`Ctx`], the node (keyword + args + optional block) and the target
//!   it fills. It reports problems through `ctx` and keeps the default on a bad value, as
//!   keepalived does.
//! - T3 keywords are parsed and accepted; the first use of each is reported once as a note
//!   ("accepted but not implemented") so real configurations load.

pub mod addr;
pub mod bfd;
pub mod check_api;
pub mod check_dns;
pub mod check_file;
pub mod check_http;
pub mod check_misc;
pub mod check_smtp;
pub mod check_udp;
pub mod global;
pub mod lvs;
pub mod scripts;
pub mod track;
pub mod vals;
pub mod vrrp;

use super::ast::{Node, SourceMap, Span, Tree, Word};
use super::diag::Diagnostics;
use super::model::Config;
use super::values;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How widely a keyword is used (reference tiers). T1 and T2 are implemented; T3 are parsed
/// and accepted, and reported once as not implemented unless `implemented` says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    T1,
    T2,
    T3,
}

/// A keyword table entry.
pub struct Kw<T> {
    pub name: &'static str,
    pub tier: Tier,
    /// False for keywords we parse and accept but whose behaviour is not built yet; the first
    /// use is reported as a note so operators are never surprised by a silent no-op.
    pub implemented: bool,
    pub handler: fn(&mut Ctx<'_>, &Node, &mut T),
}

impl<T> Kw<T> {
    pub const fn new(
        name: &'static str,
        tier: Tier,
        handler: fn(&mut Ctx<'_>, &Node, &mut T),
    ) -> Self {
        Kw {
            name,
            tier,
            implemented: true,
            handler,
        }
    }

    /// A keyword accepted for compatibility whose effect is not implemented yet.
    pub const fn accepted(
        name: &'static str,
        tier: Tier,
        handler: fn(&mut Ctx<'_>, &Node, &mut T),
    ) -> Self {
        Kw {
            name,
            tier,
            implemented: false,
            handler,
        }
    }
}

/// What the semantic pass may ask of the machine. The daemon passes the Linux
/// implementation (`crate::os::host::LinuxHost`); tests pass a fake.
pub trait Host {
    /// Does a network interface of this name exist (for `-t` and startup checks)?
    fn interface_exists(&self, name: &str) -> bool;
    /// uid and primary gid of a user.
    fn user(&self, name: &str) -> Option<(u32, u32)>;
    /// gid of a group.
    fn group(&self, name: &str) -> Option<u32>;
    /// Information on a script path for keepalived's script-security checks. Relative names
    /// are searched in PATH as execvp would.
    fn script_file(&self, path: &str) -> Option<ScriptFile>;
}

/// What the script-security checks need to know about an executable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptFile {
    /// The resolved absolute path.
    pub path: PathBuf,
    pub executable: bool,
    /// Some directory on the path, or the file itself, is writable by a non-root user.
    pub writable_by_non_root: bool,
}

/// A host where everything exists, for unit tests of the semantic pass.
pub struct PermissiveHost;

impl Host for PermissiveHost {
    fn interface_exists(&self, _name: &str) -> bool {
        true
    }
    fn user(&self, name: &str) -> Option<(u32, u32)> {
        (name == "root").then_some((0, 0))
    }
    fn group(&self, name: &str) -> Option<u32> {
        (name == "root").then_some(0)
    }
    fn script_file(&self, path: &str) -> Option<ScriptFile> {
        Some(ScriptFile {
            path: Path::new("/").join(path.trim_start_matches('/')),
            executable: true,
            writable_by_non_root: false,
        })
    }
}

/// Options of the semantic pass.
#[derive(Clone, Debug, Default)]
pub struct SemanticOptions {
    /// Check that interfaces exist (keepalived does it at startup and for `-t`).
    pub check_interfaces: bool,
}

/// State threaded through every handler.
pub struct Ctx<'a> {
    pub diags: &'a mut Diagnostics,
    pub sources: &'a SourceMap,
    pub host: &'a dyn Host,
    pub opts: &'a SemanticOptions,
    /// T3/unimplemented keywords seen, with the first place each was used.
    pub unimplemented: BTreeMap<&'static str, Span>,
}

impl<'a> Ctx<'a> {
    pub fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.error(span, msg);
    }

    pub fn warning(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.warning(span, msg);
    }

    pub fn note(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.note(span, msg);
    }

    /// Argument `i` (0 = first after the keyword), or an error naming what is missing.
    pub fn arg<'n>(&mut self, node: &'n Node, i: usize, what: &str) -> Option<&'n Word> {
        let w = node.args().get(i);
        if w.is_none() {
            self.error(node.span(), format!("{}: missing {}", node.keyword(), what));
        }
        w
    }

    /// The optional BOOL of a flag keyword: no argument means true.
    pub fn flag(&mut self, node: &Node) -> Option<bool> {
        match node.args().first() {
            None => Some(true),
            Some(w) => match values::parse_bool(&w.text) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.error(w.span, format!("{}: {}", node.keyword(), e));
                    None
                }
            },
        }
    }

    /// A TIMER argument in microseconds.
    pub fn timer_us(&mut self, node: &Node, i: usize) -> Option<u64> {
        let w = self.arg(node, i, "timer value")?;
        match values::parse_timer_us(&w.text) {
            Ok((v, too_many)) => {
                if too_many {
                    self.warning(
                        w.span,
                        format!(
                            "{}: timer has more than 6 decimal places, rounded",
                            node.keyword()
                        ),
                    );
                }
                Some(v)
            }
            Err(e) => {
                self.error(w.span, format!("{}: {}", node.keyword(), e));
                None
            }
        }
    }

    /// A signed integer argument within a range.
    pub fn int(&mut self, node: &Node, i: usize, min: i64, max: i64) -> Option<i64> {
        let w = self.arg(node, i, "number")?;
        match values::parse_int_range(&w.text, min, max) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(w.span, format!("{}: {}", node.keyword(), e));
                None
            }
        }
    }

    /// An unsigned integer argument within a range.
    pub fn uint(&mut self, node: &Node, i: usize, min: u64, max: u64) -> Option<u64> {
        let w = self.arg(node, i, "number")?;
        match values::parse_uint_range(&w.text, min, max) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(w.span, format!("{}: {}", node.keyword(), e));
                None
            }
        }
    }

    /// Records use of a keyword that is accepted but not implemented (reported once).
    pub fn unimplemented(&mut self, name: &'static str, span: Span) {
        self.unimplemented.entry(name).or_insert(span);
    }

    /// Runs each child of `nodes` through `table`. Unknown keywords get keepalived's
    /// "Unknown keyword" error plus a did-you-mean; unlike keepalived, an unknown keyword's
    /// block is skipped as a whole instead of being read as part of the enclosing block.
    pub fn dispatch<T>(&mut self, nodes: &[Node], table: &[Kw<T>], target: &mut T) {
        for node in nodes {
            let kw = node.keyword();
            match table.iter().find(|k| k.name == kw) {
                Some(entry) => {
                    if !entry.implemented {
                        self.unimplemented(entry.name, node.span());
                    }
                    (entry.handler)(self, node, target);
                }
                None => self.unknown_keyword(node, table.iter().map(|k| k.name)),
            }
        }
    }

    /// Reports an unknown keyword with a suggestion drawn from `candidates`.
    pub fn unknown_keyword<'k>(&mut self, node: &Node, candidates: impl Iterator<Item = &'k str>) {
        let kw = node.keyword();
        let msg = match values::did_you_mean(kw, candidates) {
            Some(s) => format!("Unknown keyword '{kw}' - did you mean '{s}'?"),
            None => format!("Unknown keyword '{kw}'"),
        };
        self.error(node.span(), msg);
    }
}

/// The root keyword table: the union of each section's root keywords.
fn root_table() -> Vec<Kw<Config>> {
    let mut t = Vec::new();
    t.extend(global::root_keywords());
    t.extend(vrrp::root_keywords());
    t.extend(lvs::root_keywords());
    t.extend(bfd::root_keywords());
    t
}

/// Builds the typed model from a syntax tree and validates it. Diagnostics go to `diags`;
/// the model is returned even when there are errors (items in error are dropped or keep
/// their defaults, as keepalived does), so `-d` can still dump what was understood.
pub fn build(
    tree: &Tree,
    host: &dyn Host,
    opts: &SemanticOptions,
    diags: &mut Diagnostics,
) -> Config {
    let mut cfg = Config::default();
    let mut ctx = Ctx {
        diags,
        sources: &tree.sources,
        host,
        opts,
        unimplemented: BTreeMap::new(),
    };
    let table = root_table();
    ctx.dispatch(&tree.nodes, &table, &mut cfg);
    global::validate(&mut ctx, &mut cfg);
    bfd::validate(&mut ctx, &mut cfg);
    vrrp::validate(&mut ctx, &mut cfg);
    lvs::validate(&mut ctx, &mut cfg);
    scripts::validate(&mut ctx, &mut cfg);
    for (name, span) in std::mem::take(&mut ctx.unimplemented) {
        ctx.note(
            span,
            format!("'{name}' is accepted but not implemented by keepalived-rs yet"),
        );
        cfg.unimplemented.push(name.to_string());
    }
    cfg
}

/// Reads `SCRIPT [username [[:]groupname]]` starting at argument `i` of `node`.
pub fn parse_script(ctx: &mut Ctx<'_>, node: &Node, i: usize) -> Option<super::model::Script> {
    let cmd = ctx.arg(node, i, "script")?;
    let user = node.args().get(i + 1).map(|w| w.text.clone());
    let group = node
        .args()
        .get(i + 2)
        .map(|w| w.text.trim_start_matches(':').to_string());
    if node.args().len() > i + 3 {
        // keepalived ignores them silently; we point them out without failing `-t`.
        ctx.note(
            node.args()[i + 3].span,
            format!("{}: extra arguments ignored", node.keyword()),
        );
    }
    Some(super::model::Script {
        command: cmd.text.clone(),
        user,
        group,
        span: cmd.span,
    })
}
