//! Trackers: the `vrrp_script`, `track_file` (`vrrp_track_file`) and `vrrp_track_process`
//! blocks, and the `track_interface` / `track_script` / `track_file` / `track_process` /
//! `track_bfd` lists of instances and sync groups (keepalived's `vrrp/vrrp_parser.c`,
//! `vrrp/vrrp_track.c`, `trackers/track_file.c`).
//!
//! As in keepalived, a tracker must be defined before the instance or group that refers to
//! it: a reference is resolved when it is read ("track script X not found, ignoring...").

use super::vals::{self, need};
use super::{scripts, Ctx, Kw, Tier};
use crate::config::ast::{Node, Span};
use crate::config::model::global::ExecScript;
use crate::config::model::vrrp::*;
use crate::config::model::Config;

/// The kinds of tracked object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TrackKind {
    Interface,
    Script,
    File,
    Process,
    Bfd,
}

impl TrackKind {
    fn list_kw(self) -> &'static str {
        match self {
            TrackKind::Interface => "track_interace",
            TrackKind::Script => "track_script",
            TrackKind::File => "track_file",
            TrackKind::Process => "track_process",
            TrackKind::Bfd => "track_bfd",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            TrackKind::Interface => "interface",
            TrackKind::Script => "script",
            TrackKind::File => "file",
            TrackKind::Process => "process",
            TrackKind::Bfd => "bfd",
        }
    }

    /// The weight range keepalived accepts on a tracking line.
    fn max_weight(self) -> i64 {
        match self {
            TrackKind::Interface | TrackKind::Script | TrackKind::Bfd => 253,
            TrackKind::File | TrackKind::Process => 254,
        }
    }
}

/// Reads a `track_*` list of an instance or sync group named `owner`. `known` gives the
/// defined objects with their default weight and reverse flag (`None` for interfaces, which
/// are checked against the host later).
pub(crate) fn read_tracked(
    ctx: &mut Ctx<'_>,
    node: &Node,
    owner: &str,
    kind: TrackKind,
    known: Option<&[(String, i32, bool)]>,
    out: &mut Vec<Tracked>,
) {
    if !super::global::require_block(ctx, node) {
        return;
    }
    for item in node.children() {
        let name = &item.words[0];
        let mut t = Tracked {
            name: name.text.clone(),
            weight: 0,
            reverse: false,
            weight_set: false,
            span: name.span,
        };
        if let Some(known) = known {
            match known.iter().find(|(n, _, _)| *n == name.text) {
                Some((_, w, r)) => {
                    t.weight = *w;
                    t.reverse = *r;
                }
                None => {
                    ctx.error(
                        name.span,
                        format!(
                            "({owner}) track {} {} not found, ignoring...",
                            kind.noun(),
                            name.text
                        ),
                    );
                    continue;
                }
            }
        }
        if out.iter().any(|o| o.name == t.name) {
            ctx.error(
                name.span,
                format!(
                    "({owner}) duplicate {} {} - ignoring",
                    match kind {
                        TrackKind::Interface => "track_interface",
                        k => k.list_kw(),
                    },
                    t.name
                ),
            );
            continue;
        }
        let words = &item.words;
        let mut ok = true;
        let mut i = 1;
        while i < words.len() {
            let w = &words[i];
            match w.text.as_str() {
                "weight" => {
                    let Some(v) = vals::next_word(ctx, item, words, i) else {
                        ok = false;
                        break;
                    };
                    let max = kind.max_weight();
                    match crate::config::values::parse_int_range(&v.text, -max, max) {
                        Ok(x) => {
                            t.weight = x as i32;
                            t.weight_set = true;
                            // A weight given here resets the object's reverse default.
                            t.reverse = false;
                        }
                        Err(_) => {
                            let msg = match kind {
                                TrackKind::Interface => format!(
                                    "({owner}) weight {} for {} must be between [-{max}..{max}] \
                                     inclusive. Ignoring...",
                                    v.text, t.name
                                ),
                                _ => format!(
                                    "({owner}) track {} {}: weight must be between \
                                     [-{max}..{max}] inclusive, ignoring...",
                                    kind.noun(),
                                    t.name
                                ),
                            };
                            // keepalived ignores the weight, not the tracked object.
                            ctx.error(v.span, msg);
                        }
                    }
                    i += 2;
                }
                "reverse" => {
                    t.reverse = true;
                    i += 1;
                }
                "noreverse" if kind != TrackKind::Interface => {
                    t.reverse = false;
                    i += 1;
                }
                other => {
                    ctx.error(
                        w.span,
                        format!(
                            "({owner}) unknown {} {} weight option {other} - ignoring",
                            kind.list_kw(),
                            t.name
                        ),
                    );
                    i += 1;
                }
            }
        }
        if !ok {
            continue;
        }
        out.push(t);
    }
}

/// The defined trackers of a kind, as `read_tracked` wants them.
pub(crate) fn known(cfg: &Config, kind: TrackKind) -> Option<Vec<(String, i32, bool)>> {
    Some(match kind {
        TrackKind::Interface => return None,
        TrackKind::Script => cfg
            .vrrp
            .vrrp_scripts
            .iter()
            .map(|s| (s.name.clone(), s.weight, s.weight_reverse))
            .collect(),
        TrackKind::File => cfg
            .vrrp
            .track_files
            .iter()
            .map(|f| (f.name.clone(), f.weight, f.weight_reverse))
            .collect(),
        TrackKind::Process => cfg
            .vrrp
            .track_processes
            .iter()
            .map(|p| (p.name.clone(), p.weight, p.weight_reverse))
            .collect(),
        TrackKind::Bfd => cfg
            .bfd
            .instances
            .iter()
            .map(|b| (b.name.clone(), b.weight, b.weight_reverse))
            .collect(),
    })
}

/// Root keywords for the tracker blocks.
pub(crate) fn root_keywords() -> Vec<Kw<Config>> {
    vec![
        Kw::new("vrrp_script", Tier::T1, vrrp_script_handler),
        Kw::new("track_file", Tier::T2, track_file_handler),
        Kw::new("vrrp_track_file", Tier::T3, track_file_handler),
        Kw::new("vrrp_track_process", Tier::T2, track_process_handler),
    ]
}

/// The name of a named block (`vrrp_script NAME {`), or keepalived's message.
pub(crate) fn block_name<'n>(ctx: &mut Ctx<'_>, node: &'n Node) -> Option<&'n str> {
    let name = need(ctx, node, 0)?;
    if node.args().len() > 1 {
        ctx.error(
            node.args()[1].span,
            format!("{} must have a single name - skipping", node.keyword()),
        );
        return None;
    }
    if !super::global::require_block(ctx, node) {
        return None;
    }
    Some(&name.text)
}

/// Where a block ends, for messages keepalived gives at the closing brace.
pub(crate) fn block_end(node: &Node) -> Span {
    node.block
        .as_ref()
        .and_then(|b| b.close)
        .unwrap_or_else(|| node.span())
}

/// A `vrrp_script` while it is read.
struct ScriptDraft {
    name: String,
    script: Option<ExecScript>,
    user: Option<(String, Option<String>, Span)>,
    interval_us: u64,
    timeout_us: Option<u64>,
    weight: i32,
    weight_reverse: bool,
    rise: u32,
    fall: u32,
    init_fail: bool,
}

fn vrrp_script_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    let Some(name) = block_name(ctx, node) else {
        return;
    };
    let mut d = ScriptDraft {
        name: name.to_string(),
        script: None,
        user: None,
        interval_us: 1_000_000,
        timeout_us: None,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        init_fail: false,
    };
    let table = script_table();
    ctx.dispatch(node.children(), &table, &mut d);
    let Some(mut script) = d.script else {
        ctx.error(
            block_end(node),
            format!("No script set for vrrp_script {} - removing", d.name),
        );
        return;
    };
    if let Some((user, group, span)) = d.user {
        match scripts::resolve_user(ctx, &user, group.as_deref()) {
            Some((uid, gid)) => {
                script.script.user = Some(user);
                script.script.group = group;
                script.uid = uid;
                script.gid = gid;
            }
            None => {
                ctx.error(
                    span,
                    format!(
                        "Unable to set uid/gid for script '{}'",
                        script.script.command
                    ),
                );
                return;
            }
        }
    }
    if cfg.vrrp.vrrp_scripts.iter().any(|s| s.name == d.name) {
        ctx.note(
            node.span(),
            format!(
                "vrrp_script {} is already defined - keepalived uses the first definition",
                d.name
            ),
        );
        return;
    }
    cfg.vrrp.vrrp_scripts.push(VrrpScript {
        name: d.name,
        span: node.args()[0].span,
        script,
        interval_us: d.interval_us,
        timeout_us: d.timeout_us.unwrap_or(d.interval_us),
        weight: d.weight,
        weight_reverse: d.weight_reverse,
        rise: d.rise,
        fall: d.fall,
        init_fail: d.init_fail,
    });
}

/// `interval`/`timeout`: whole seconds 1..=4294 (keepalived 2.2.7); 0 becomes 1.
fn script_secs(ctx: &mut Ctx<'_>, node: &Node, d: &ScriptDraft, what: &str) -> Option<u64> {
    let w = need(ctx, node, 0)?;
    match crate::config::values::parse_uint_range(&w.text, 0, 4294) {
        Ok(0) => {
            ctx.warning(
                w.span,
                format!(
                    "({}): vrrp script {what} must be greater than 0, setting to 1",
                    d.name
                ),
            );
            Some(1_000_000)
        }
        Ok(v) => Some(v * 1_000_000),
        Err(_) => {
            let msg = if what == "interval" {
                format!(
                    "({}): vrrp script interval '{}' must be between 1 and 4294 - ignoring",
                    d.name, w.text
                )
            } else {
                format!(
                    "({}): vrrp script timeout '{}' invalid - ignoring",
                    d.name, w.text
                )
            };
            ctx.error(w.span, msg);
            None
        }
    }
}

/// `rise`/`fall`: 1..=INT_MAX, else 1 with keepalived's warning.
fn script_count(ctx: &mut Ctx<'_>, node: &Node, d: &ScriptDraft, what: &str) -> u32 {
    let Some(w) = need(ctx, node, 0) else {
        return 1;
    };
    match crate::config::values::parse_uint_range(&w.text, 1, i32::MAX as u64) {
        Ok(v) => v as u32,
        Err(_) => {
            ctx.warning(
                w.span,
                format!(
                    "({}): vrrp script {what} value '{}' invalid, defaulting to 1",
                    d.name, w.text
                ),
            );
            1
        }
    }
}

fn script_table() -> Vec<Kw<ScriptDraft>> {
    vec![
        Kw::new("script", Tier::T1, |ctx, n, d| {
            if d.script.is_some() {
                ctx.note(
                    n.span(),
                    format!("({}) script already specified - replacing", d.name),
                );
            }
            d.script = scripts::read_script(ctx, n, 0, true);
        }),
        Kw::new("interval", Tier::T1, |ctx, n, d| {
            if let Some(v) = script_secs(ctx, n, d, "interval") {
                d.interval_us = v;
            }
        }),
        Kw::new("timeout", Tier::T2, |ctx, n, d| {
            if let Some(v) = script_secs(ctx, n, d, "timeout") {
                d.timeout_us = Some(v);
            }
        }),
        Kw::new("weight", Tier::T1, |ctx, n, d| {
            let Some(w) = need(ctx, n, 0) else { return };
            match crate::config::values::parse_int_range(&w.text, -253, 253) {
                Ok(v) => d.weight = v as i32,
                Err(_) => {
                    ctx.error(
                        w.span,
                        format!(
                            "vrrp_script {} weight {} must be in [-253, 253]",
                            d.name, w.text
                        ),
                    );
                    return;
                }
            }
            match n.args().get(1).map(|w| (w, w.text.as_str())) {
                None => {}
                Some((_, "reverse")) => d.weight_reverse = true,
                Some((_, "noreverse")) => d.weight_reverse = false,
                Some((w, other)) => ctx.error(
                    w.span,
                    format!("vrrp_script {} unknown weight option {other}", d.name),
                ),
            }
        }),
        Kw::new("rise", Tier::T2, |ctx, n, d| {
            d.rise = script_count(ctx, n, d, "rise")
        }),
        Kw::new("fall", Tier::T2, |ctx, n, d| {
            d.fall = script_count(ctx, n, d, "fall")
        }),
        Kw::accepted("user", Tier::T3, |ctx, n, d| {
            if let Some(u) = need(ctx, n, 0) {
                d.user = Some((
                    u.text.clone(),
                    n.args().get(1).map(|g| g.text.clone()),
                    u.span,
                ));
            }
        }),
        Kw::accepted("init_fail", Tier::T3, |ctx, n, d| {
            d.init_fail = vals::bare_flag(ctx, n)
        }),
    ]
}

/// A `track_file` while it is read.
struct FileDraft {
    name: String,
    path: Option<String>,
    weight: i32,
    weight_reverse: bool,
    init_file: Option<InitFile>,
}

fn track_file_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    let Some(name) = block_name(ctx, node) else {
        return;
    };
    if cfg.vrrp.track_files.iter().any(|f| f.name == name) {
        ctx.error(
            node.args()[0].span,
            format!("track_file {name} already defined - ignoring"),
        );
        return;
    }
    let mut d = FileDraft {
        name: name.to_string(),
        path: None,
        weight: 1,
        weight_reverse: false,
        init_file: None,
    };
    let table: Vec<Kw<FileDraft>> = vec![
        Kw::new("file", Tier::T2, |ctx, n, d| {
            if let Some(w) = need(ctx, n, 0) {
                d.path = Some(w.text.clone());
            }
        }),
        Kw::new("weight", Tier::T2, |ctx, n, d| {
            let Some(w) = need(ctx, n, 0) else { return };
            match crate::config::values::parse_int_range(&w.text, -254, 254) {
                Ok(v) => d.weight = v as i32,
                Err(_) => {
                    ctx.error(
                        w.span,
                        format!(
                            "Weight ({}) for track_file {} must be between [-254..254] \
                             inclusive. Ignoring...",
                            w.text, d.name
                        ),
                    );
                    return;
                }
            }
            match n.args().get(1).map(|w| (w, w.text.as_str())) {
                None => {}
                Some((_, "reverse")) => d.weight_reverse = true,
                Some((_, "noreverse")) => d.weight_reverse = false,
                Some((w, other)) => ctx.error(
                    w.span,
                    format!("track_file {} unknown weight option {other}", d.name),
                ),
            }
        }),
        Kw::accepted("init_file", Tier::T3, |ctx, n, d| {
            let mut f = InitFile {
                value: 0,
                overwrite: false,
            };
            for w in n.args() {
                if w.text == "overwrite" {
                    f.overwrite = true;
                } else {
                    match crate::config::values::parse_int_range(
                        &w.text,
                        i64::from(i32::MIN),
                        i64::from(i32::MAX),
                    ) {
                        Ok(v) => f.value = v,
                        Err(_) => {
                            ctx.error(
                                w.span,
                                format!("track file {} init value {} is invalid", d.name, w.text),
                            );
                            return;
                        }
                    }
                }
            }
            d.init_file = Some(f);
        }),
    ];
    ctx.dispatch(node.children(), &table, &mut d);
    let Some(path) = d.path else {
        ctx.error(
            node.args()[0].span,
            format!("No file set for track_file {} - ignoring", d.name),
        );
        return;
    };
    cfg.vrrp.track_files.push(TrackFile {
        name: d.name,
        span: node.args()[0].span,
        path,
        weight: d.weight,
        weight_reverse: d.weight_reverse,
        init_file: d.init_file,
    });
}

fn track_process_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    let Some(name) = block_name(ctx, node) else {
        return;
    };
    if cfg.vrrp.track_processes.iter().any(|p| p.name == name) {
        ctx.error(
            node.args()[0].span,
            format!("vrrp_track_process {name} already defined - ignoring"),
        );
        return;
    }
    let mut p = TrackProcess {
        name: name.to_string(),
        span: node.args()[0].span,
        process: String::new(),
        params: Vec::new(),
        param_match: ParamMatch::Exact,
        full_command: false,
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay_us: 0,
        terminate_delay_us: 0,
    };
    let table: Vec<Kw<TrackProcess>> = vec![
        Kw::new("process", Tier::T2, |ctx, n, p| {
            if let Some(w) = need(ctx, n, 0) {
                p.process = w.text.clone();
                p.params = n.args()[1..].iter().map(|w| w.text.clone()).collect();
            }
        }),
        Kw::accepted("param_match", Tier::T3, |ctx, n, p| {
            p.param_match = match n.args().first().map(|w| w.text.as_str()) {
                None => ParamMatch::Exact,
                Some("initial") => ParamMatch::Initial,
                Some("partial") => ParamMatch::Partial,
                Some(other) => {
                    ctx.error(
                        n.args()[0].span,
                        format!("({}) invalid param_match {other}", p.name),
                    );
                    return;
                }
            }
        }),
        Kw::new("weight", Tier::T2, |ctx, n, p| {
            let Some(w) = need(ctx, n, 0) else { return };
            match crate::config::values::parse_int_range(&w.text, -254, 254) {
                Ok(v) => p.weight = v as i32,
                Err(_) => {
                    ctx.error(
                        w.span,
                        format!(
                            "({}) weight {} must be between [-254..254] inclusive. Ignoring...",
                            p.name, w.text
                        ),
                    );
                    return;
                }
            }
            match n.args().get(1).map(|w| (w, w.text.as_str())) {
                None => {}
                Some((_, "reverse")) => p.weight_reverse = true,
                Some((_, "noreverse")) => p.weight_reverse = false,
                Some((w, other)) => ctx.error(
                    w.span,
                    format!("({}) unknown weight option {other}", p.name),
                ),
            }
        }),
        Kw::accepted("quorum", Tier::T3, |ctx, n, p| {
            if let Some(v) = vals::uint(ctx, n, 0, 1, 65535, |s| {
                format!("({}) quorum '{s}' must be in [1, 65535] - ignoring", p.name)
            }) {
                p.quorum = v as u32;
            }
        }),
        Kw::accepted("quorum_max", Tier::T3, |ctx, n, p| {
            if let Some(v) = vals::uint(ctx, n, 0, 0, 65535, |s| {
                format!(
                    "({}) quorum_max '{s}' must be in [0, 65535] - ignoring",
                    p.name
                )
            }) {
                p.quorum_max = Some(v as u32);
            }
        }),
        Kw::accepted("fork_delay", Tier::T3, |ctx, n, p| {
            if let Some(v) = process_delay(ctx, n) {
                p.fork_delay_us = v;
            }
        }),
        Kw::accepted("terminate_delay", Tier::T3, |ctx, n, p| {
            if let Some(v) = process_delay(ctx, n) {
                p.terminate_delay_us = v;
            }
        }),
        Kw::accepted("delay", Tier::T3, |ctx, n, p| {
            if let Some(v) = process_delay(ctx, n) {
                p.fork_delay_us = v;
                p.terminate_delay_us = v;
            }
        }),
        Kw::accepted("full_command", Tier::T3, |ctx, n, p| {
            p.full_command = vals::bare_flag(ctx, n)
        }),
    ];
    ctx.dispatch(node.children(), &table, &mut p);
    if p.process.is_empty() {
        ctx.error(
            block_end(node),
            format!(
                "vrrp_track_process {} has no process specified - removing",
                p.name
            ),
        );
        return;
    }
    if let Some(max) = p.quorum_max {
        if max != 0 && max < p.quorum {
            ctx.error(
                p.span,
                format!(
                    "vrrp_track_process {} quorum_max {max} < quorum {} - removing",
                    p.name, p.quorum
                ),
            );
            return;
        }
    }
    cfg.vrrp.track_processes.push(p);
}

fn process_delay(ctx: &mut Ctx<'_>, n: &Node) -> Option<u64> {
    vals::timer(ctx, n, 0, 1, 3_600_000_000, |s| {
        format!(
            "{} '{s}' must be in [0.000001, 3600] - ignoring",
            n.keyword()
        )
    })
}
