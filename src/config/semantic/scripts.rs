//! Scripts: reading `SCRIPT [user [[:]group]]` into an [`ExecScript`] (argv split with
//! keepalived's quoting and escape rules, explicit user resolved), and keepalived's
//! script-security pass (`core/notify.c:check_script_secure`, `vrrp/vrrp.c:
//! check_vrrp_script_security`, `check/check_data.c:check_check_script_security`), as
//! observed with keepalived 2.2.7's `-t`:
//!
//! * A script string starting `</` (after optional blanks) only tests whether a file opens;
//!   it is run through the shell and is never "a script" for the security rules.
//! * A script that is not found (absolute path missing, bare name not in PATH) is disabled.
//!   For a `vrrp_script` that is a config error ("Disabling track script X since not
//!   found/accessible"); a notify script is dropped quietly (keepalived only logs it).
//! * A script that is found counts as "a script being executed", executable or not. When
//!   any is found and `enable_script_security` is off, keepalived reports
//!   "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
//!   (exit 6), adding " There are insecure scripts." when one runs as root from a path a
//!   non-root user can write.
//! * With `enable_script_security`, such an insecure root script is disabled ("Disabling
//!   track script X due to insecure" for a vrrp_script, a config error). The default user is
//!   `script_user`, else `keepalived_script` if it exists, else root; with security on and
//!   neither available keepalived reports "Unable to set default user keepalived_script for
//!   script" and the script is dropped.
//!
//! One divergence: keepalived 2.2.7 kills itself with SIGTERM during `-t` when a script
//! runs as a non-root user (exit 143); we report what it would have reported.

use super::Ctx;
use crate::config::ast::{Node, Span};
use crate::config::diag::{ErrorClass, Severity};
use crate::config::model::global::{ExecScript, GlobalDefs, DEFAULT_SCRIPT_USER};
use crate::config::model::vrrp::NotifyScripts;
use crate::config::model::{Config, Script};

/// Reads `SCRIPT [username [[:]groupname]]` from argument `i` and splits the command into
/// an argv. An explicit user or group that does not exist is reported with `what` naming the
/// script's owner in keepalived's message; the script is then dropped (`None`).
/// `user_error` selects whether that is a config error (vrrp_script, global scripts) or only
/// a note (notify scripts: keepalived only logs it).
pub(crate) fn read_script(
    ctx: &mut Ctx<'_>,
    node: &Node,
    i: usize,
    user_error: bool,
) -> Option<ExecScript> {
    // As `super::parse_script`, except that words after the group are only noted:
    // keepalived ignores them silently, so they must not fail `-t`.
    let args = node.args();
    if args.len() > i + 3 {
        let extra = &args[i + 3];
        ctx.note(
            extra.span,
            format!("{}: extra arguments ignored", node.keyword()),
        );
        let trimmed = Node {
            words: node.words[..i + 4].to_vec(),
            block: None,
        };
        let script = super::parse_script(ctx, &trimmed, i)?;
        return exec_from(ctx, script, user_error);
    }
    let script = super::parse_script(ctx, node, i)?;
    exec_from(ctx, script, user_error)
}

/// Builds an [`ExecScript`] from a parsed [`Script`]: splits the argv and resolves an
/// explicit user/group through the host.
pub(crate) fn exec_from(ctx: &mut Ctx<'_>, script: Script, user_error: bool) -> Option<ExecScript> {
    let argv = match crate::config::lexer::split_script_argv(&script.command) {
        Ok(a) => a,
        Err(e) => {
            ctx.error(script.span, e);
            return None;
        }
    };
    if argv.is_empty() {
        ctx.error(script.span, "No script specified - ignoring");
        return None;
    }
    let (uid, gid) = match &script.user {
        None => (0, 0),
        Some(u) => match resolve_user(ctx, u, script.group.as_deref()) {
            Some(ids) => ids,
            None => {
                let msg = format!("Unable to set uid/gid for script '{}'", script.command);
                if user_error {
                    ctx.error(script.span, msg);
                } else {
                    ctx.note(script.span, format!("{msg} - script ignored"));
                }
                return None;
            }
        },
    };
    Some(ExecScript {
        script,
        argv,
        uid,
        gid,
    })
}

/// uid/gid of `user`, with the gid of `group` (a leading `:` removed) when given.
pub(crate) fn resolve_user(ctx: &Ctx<'_>, user: &str, group: Option<&str>) -> Option<(u32, u32)> {
    let (uid, mut gid) = ctx.host.user(user)?;
    if let Some(g) = group
        .map(|g| g.trim_start_matches(':'))
        .filter(|g| !g.is_empty())
    {
        gid = ctx.host.group(g)?;
    }
    Some((uid, gid))
}

/// What the security check found about one script (keepalived's `SC_*` flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ScriptFlags {
    /// A `</path` test: run by the shell, never "a script".
    pub system: bool,
    pub not_found: bool,
    /// Found: counts as a script being executed.
    pub is_script: bool,
    pub executable: bool,
    /// Runs as root from a path writable by a non-root user.
    pub insecure: bool,
    /// Insecure and script security is on: disabled.
    pub inhibit: bool,
}

impl ScriptFlags {
    /// Whether keepalived would keep and run this script.
    pub fn runnable(&self) -> bool {
        self.system || (self.executable && !self.not_found && !self.inhibit)
    }
}

/// keepalived's `check_script_secure` for one script, through the host.
pub(crate) fn check_one(ctx: &mut Ctx<'_>, s: &ExecScript, security: bool) -> ScriptFlags {
    let mut f = ScriptFlags::default();
    let Some(argv0) = s.argv.first() else {
        f.not_found = true;
        return f;
    };
    if let Some(rest) = argv0.strip_prefix('<') {
        if rest.trim_start_matches([' ', '\t']).starts_with('/') {
            f.system = true;
            return f;
        }
    }
    let Some(file) = ctx.host.script_file(argv0) else {
        f.not_found = true;
        return f;
    };
    f.is_script = true;
    if !argv0.contains('/') {
        ctx.note(
            s.script.span,
            format!(
                "WARNING - script `{}` resolved by path search to `{}`. Please specify full path.",
                argv0,
                file.path.display()
            ),
        );
    }
    if !file.executable {
        ctx.note(
            s.script.span,
            format!(
                "WARNING - script '{}' is not executable for uid:gid {}:{} - disabling.",
                argv0, s.uid, s.gid
            ),
        );
        return f;
    }
    f.executable = true;
    if (s.uid == 0 || s.gid == 0) && file.writable_by_non_root {
        f.insecure = true;
        f.inhibit = security;
        ctx.note(
            s.script.span,
            format!(
                "Unsafe permissions found for script '{}'{}.",
                argv0,
                if security { " - disabling" } else { "" }
            ),
        );
    }
    f
}

/// The default uid/gid for scripts without an explicit user, or `None` when it cannot be
/// set (script security on, no `script_user`, no `keepalived_script` user). Looked up at the
/// first script that needs it, as keepalived does: a configuration without scripts never
/// asks the user database (which would load the NSS modules for nothing).
struct DefaultUser {
    script_user: Option<(u32, u32)>,
    security: bool,
    ids: Option<Option<(u32, u32)>>,
    reported: bool,
}

impl DefaultUser {
    fn new(g: &GlobalDefs) -> Self {
        DefaultUser {
            script_user: g.script_user.as_ref().map(|u| (u.uid, u.gid)),
            security: g.enable_script_security,
            ids: None,
            reported: false,
        }
    }

    fn ids(&mut self, ctx: &Ctx<'_>) -> Option<(u32, u32)> {
        let (script_user, security) = (self.script_user, self.security);
        *self.ids.get_or_insert_with(|| match script_user {
            Some(ids) => Some(ids),
            None => match ctx.host.user(DEFAULT_SCRIPT_USER) {
                Some(ids) => Some(ids),
                None if security => None,
                None => Some((0, 0)),
            },
        })
    }

    /// Fills in the default user of `s` if it has no explicit one. Returns false when the
    /// default cannot be set (reported once, at the first such script).
    fn apply(&mut self, ctx: &mut Ctx<'_>, s: &mut ExecScript) -> bool {
        if s.script.user.is_some() {
            return true;
        }
        match self.ids(ctx) {
            Some((uid, gid)) => {
                s.uid = uid;
                s.gid = gid;
                true
            }
            None => {
                if !self.reported {
                    self.reported = true;
                    ctx.error(
                        s.script.span,
                        format!("Unable to set default user {DEFAULT_SCRIPT_USER} for script"),
                    );
                }
                false
            }
        }
    }
}

/// Accumulated flags of one process's scripts.
#[derive(Default)]
struct Summary {
    first_script: Option<Span>,
    insecure: bool,
}

impl Summary {
    fn add(&mut self, f: ScriptFlags, span: Span) {
        if f.is_script && self.first_script.is_none() {
            self.first_script = Some(span);
        }
        self.insecure |= f.insecure;
    }

    fn report(&self, ctx: &mut Ctx<'_>, security: bool, what: &str) {
        if security {
            return;
        }
        if let Some(span) = self.first_script {
            ctx.diags.push(
                Severity::Error,
                ErrorClass::Security,
                Some(span),
                format!(
                    "SECURITY VIOLATION - {what}scripts are being executed but script_security \
                     not enabled.{}",
                    if self.insecure {
                        " There are insecure scripts."
                    } else {
                        ""
                    }
                ),
            );
        }
    }
}

/// Checks a notify-type script slot: fills the default user, applies the security rules,
/// and drops the script when keepalived would not run it.
fn check_slot(
    ctx: &mut Ctx<'_>,
    slot: &mut Option<ExecScript>,
    du: &mut DefaultUser,
    security: bool,
    sum: &mut Summary,
) {
    let Some(s) = slot.as_mut() else {
        return;
    };
    if !du.apply(ctx, s) {
        *slot = None;
        return;
    }
    let f = check_one(ctx, s, security);
    sum.add(f, s.script.span);
    if !f.runnable() {
        if f.not_found {
            ctx.note(
                s.script.span,
                format!(
                    "Cannot find script {} - disabling it (keepalived does the same)",
                    s.argv[0]
                ),
            );
        }
        *slot = None;
    }
}

fn check_notify(
    ctx: &mut Ctx<'_>,
    n: &mut NotifyScripts,
    du: &mut DefaultUser,
    security: bool,
    sum: &mut Summary,
) {
    for slot in n.all_mut() {
        check_slot(ctx, slot, du, security, sum);
    }
}

/// The script-security pass over the whole configuration (runs after every section has
/// been validated). Scripts keepalived would not run are removed from the model, and
/// `track_script` references to removed `vrrp_script`s are dropped with them.
pub fn validate(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let security = cfg.global.enable_script_security;
    let mut du = DefaultUser::new(&cfg.global);

    // The parent process: startup and shutdown scripts.
    let mut parent = Summary::default();
    check_slot(
        ctx,
        &mut cfg.global.startup_script,
        &mut du,
        security,
        &mut parent,
    );
    check_slot(
        ctx,
        &mut cfg.global.shutdown_script,
        &mut du,
        security,
        &mut parent,
    );
    parent.report(ctx, security, "start/shutdown ");

    // The VRRP process (only when there are instances, as keepalived). keepalived stops
    // before this check when an interface is missing; the scripts are still resolved for
    // the model, without diagnostics.
    if !cfg.vrrp.instances.is_empty() {
        let mark = ctx.diags.items.len();
        let mut sum = Summary::default();
        let mut removed: Vec<String> = Vec::new();
        let mut kept = Vec::new();
        for mut vs in std::mem::take(&mut cfg.vrrp.vrrp_scripts) {
            if !du.apply(ctx, &mut vs.script) {
                removed.push(vs.name);
                continue;
            }
            let f = check_one(ctx, &vs.script, security);
            sum.add(f, vs.script.script.span);
            if f.inhibit {
                ctx.error(
                    vs.span,
                    format!("Disabling track script {} due to insecure", vs.name),
                );
                removed.push(vs.name);
            } else if f.not_found {
                ctx.error(
                    vs.span,
                    format!(
                        "Disabling track script {} since not found/accessible",
                        vs.name
                    ),
                );
                removed.push(vs.name);
            } else if !f.runnable() {
                removed.push(vs.name);
            } else {
                kept.push(vs);
            }
        }
        cfg.vrrp.vrrp_scripts = kept;
        for inst in &mut cfg.vrrp.instances {
            check_notify(ctx, &mut inst.notify, &mut du, security, &mut sum);
            inst.track_scripts.retain(|t| !removed.contains(&t.name));
        }
        for g in &mut cfg.vrrp.sync_groups {
            check_notify(ctx, &mut g.notify, &mut du, security, &mut sum);
            g.track_scripts.retain(|t| !removed.contains(&t.name));
        }
        for fifo in [
            &mut cfg.global.notify_fifo,
            &mut cfg.global.vrrp_notify_fifo,
        ]
        .into_iter()
        .flatten()
        {
            check_slot(ctx, &mut fifo.script, &mut du, security, &mut sum);
        }
        sum.report(ctx, security, "");
        if cfg.vrrp.nonexistent_interface {
            ctx.diags.items.truncate(mark);
        }
    }

    // The checker process: report only (the IPVS side owns its model).
    if !cfg.lvs.virtual_servers.is_empty() {
        let mut sum = Summary::default();
        let mut scripts: Vec<Script> = cfg.lvs.scripts().into_iter().cloned().collect();
        for fifo in [&cfg.global.notify_fifo, &cfg.global.lvs_notify_fifo]
            .into_iter()
            .flatten()
        {
            if let Some(s) = &fifo.script {
                scripts.push(s.script.clone());
            }
        }
        for script in scripts {
            let Ok(argv) = crate::config::lexer::split_script_argv(&script.command) else {
                continue;
            };
            let mut es = ExecScript {
                script,
                argv,
                uid: 0,
                gid: 0,
            };
            if let Some(u) = es.script.user.clone() {
                match resolve_user(ctx, &u, es.script.group.as_deref()) {
                    Some((uid, gid)) => {
                        es.uid = uid;
                        es.gid = gid;
                    }
                    None => continue,
                }
            } else if !du.apply(ctx, &mut es) {
                continue;
            }
            let f = check_one(ctx, &es, security);
            sum.add(f, es.script.span);
        }
        sum.report(ctx, security, "check ");
    }
}
