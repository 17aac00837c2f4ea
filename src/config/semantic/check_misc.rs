//! MISC_CHECK (keepalived's `check/check_misc.c`).

use super::check_api::{common_keywords, read_checker, CheckBuild};
use super::lvs::RsBuild;
use super::{Ctx, Kw, Tier};
use crate::config::ast::Node;
use crate::config::model::lvs::*;
use crate::config::model::Script;

pub(super) fn misc_check(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild) {
    let kind = CheckerKind::Misc(MiscCheck {
        script: Script {
            command: String::new(),
            user: None,
            group: None,
            span: node.span(),
        },
        timeout_us: DEFAULT_DELAY_LOOP_US,
        configured_timeout_us: None,
        dynamic: false,
    });
    read_checker(ctx, node, b, kind, &table(), end);
}

fn end(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild, cb: CheckBuild) {
    let CheckerKind::Misc(m) = &cb.c.kind else {
        return;
    };
    if m.script.command.is_empty() {
        ctx.error(
            node.span(),
            "No script path has been specified for MISC_CHECKER - skipping",
        );
        return;
    }
    b.rs.checkers.push(cb.c);
}

fn with_misc(b: &mut CheckBuild, f: impl FnOnce(&mut MiscCheck)) {
    if let CheckerKind::Misc(m) = &mut b.c.kind {
        f(m);
    }
}

fn table() -> Vec<Kw<CheckBuild>> {
    use Tier::*;
    let mut t = common_keywords(false);
    t.extend([
        Kw::new(
            "misc_path",
            T2,
            misc_path as fn(&mut Ctx<'_>, &Node, &mut CheckBuild),
        ),
        Kw::new("misc_timeout", T2, |c, n, b| {
            let Some(w) = c.arg(n, 0, "timeout") else {
                return;
            };
            match super::lvs::read_unsigned(c, w.span, &w.text, 0, u64::from(u32::MAX) / 1_000_000)
            {
                Some(v) => with_misc(b, |m| m.configured_timeout_us = Some(v * 1_000_000)),
                None => c.error(w.span, format!("Invalid misc_timeout value '{}'", w.text)),
            }
        }),
        Kw::accepted("misc_dynamic", T3, |_, _, b| {
            with_misc(b, |m| m.dynamic = true)
        }),
        Kw::accepted("user", T3, misc_user),
    ]);
    t
}

/// `misc_path` takes the rest of the line as the program and its arguments (keepalived
/// re-tokenises it with its quoting rules when it runs it), unlike `notify` scripts where the
/// words after the command are a user and group. Words written in double quotes keep them
/// so the command string re-tokenises to the same argv.
fn misc_path(ctx: &mut Ctx<'_>, node: &Node, b: &mut CheckBuild) {
    let args = node.args();
    if args.is_empty() {
        ctx.error(node.span(), "misc_path: missing script");
        return;
    }
    let command = args
        .iter()
        .map(|w| {
            if w.quoted && args.len() > 1 {
                format!("\"{}\"", w.text)
            } else {
                w.text.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let span = args[0].span;
    with_misc(b, |m| {
        m.script.command = command;
        m.script.span = span;
    });
}

/// `user USER [[:]GROUP]`: the user must exist.
fn misc_user(ctx: &mut Ctx<'_>, node: &Node, b: &mut CheckBuild) {
    let cmd = match &b.c.kind {
        CheckerKind::Misc(m) => cmd_str(&m.script.command),
        _ => return,
    };
    let Some(u) = node.args().first() else {
        ctx.error(
            node.span(),
            format!("No user specified for misc checker script {cmd}"),
        );
        return;
    };
    let group = node
        .args()
        .get(1)
        .map(|g| g.text.trim_start_matches(':').to_string());
    let user_ok = ctx.host.user(&u.text).is_some();
    let group_ok = group
        .as_deref()
        .map_or(true, |g| g.is_empty() || ctx.host.group(g).is_some());
    if !user_ok || !group_ok {
        ctx.error(
            node.span(),
            format!("Failed to set uid/gid for misc checker script {cmd} - removing"),
        );
        b.dropped = true;
        return;
    }
    let user = u.text.clone();
    with_misc(b, |m| {
        m.script.user = Some(user);
        m.script.group = group.filter(|g| !g.is_empty());
    });
}

/// keepalived's `cmd_str`: the argv (split with keepalived's script quoting rules) with
/// each word in single quotes, for messages.
fn cmd_str(command: &str) -> String {
    let words = crate::config::lexer::split_script_argv(command)
        .unwrap_or_else(|_| vec![command.to_string()]);
    words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn cmd_str() {
        assert_eq!(super::cmd_str("/bin/true"), "'/bin/true'");
        assert_eq!(super::cmd_str("/bin/x a \"b c\""), "'/bin/x' 'a' 'b c'");
    }
}
