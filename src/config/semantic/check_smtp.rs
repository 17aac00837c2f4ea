//! SMTP_CHECK (keepalived's `check/check_smtp.c`), including the deprecated `host { }`
//! sub-blocks, each of which becomes a checker of its own.

use super::check_api::{common_keywords, conn_ok, read_checker, CheckBuild};
use super::lvs::RsBuild;
use super::{Ctx, Kw, Tier};
use crate::config::ast::Node;
use crate::config::model::lvs::*;

pub(super) fn smtp_check(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild) {
    let kind = CheckerKind::Smtp(SmtpCheck {
        helo_name: DEFAULT_SMTP_HELO.to_string(),
    });
    read_checker(ctx, node, b, kind, &table(), end);
}

fn table() -> Vec<Kw<CheckBuild>> {
    let mut t = common_keywords(true);
    t.extend([
        Kw::accepted(
            "helo_name",
            Tier::T3,
            |c: &mut Ctx<'_>, n: &Node, b: &mut CheckBuild| {
                let Some(w) = n.args().first() else {
                    c.error(n.span(), "SMTP_CHECK helo name missing");
                    return;
                };
                if let CheckerKind::Smtp(s) = &mut b.c.kind {
                    s.helo_name = w.text.clone();
                }
            },
        ) as Kw<CheckBuild>,
        Kw::accepted("host", Tier::T3, host_handler),
    ]);
    t
}

/// `host { connect_ip ... }`: the common keywords, where the connection ones (and
/// `connect_timeout`) describe one more target and the others still apply to the checker.
fn host_handler(ctx: &mut Ctx<'_>, node: &Node, b: &mut CheckBuild) {
    if !super::lvs::need_block(ctx, node) {
        return;
    }
    ctx.note(
        node.span(),
        "The SMTP_CHECK host block is deprecated. Please define additional checkers.",
    );
    let mut hb = CheckBuild {
        c: b.c.clone(),
        smtp_hosts: Vec::new(),
        conn_touched: false,
        dropped: false,
    };
    hb.c.timing.connect_timeout_us = None;
    ctx.dispatch(node.children(), &common_keywords(true), &mut hb);
    let host_timeout = hb.c.timing.connect_timeout_us;
    b.c.timing = Timing {
        connect_timeout_us: b.c.timing.connect_timeout_us,
        ..hb.c.timing
    };
    b.c.log_all_failures = hb.c.log_all_failures;
    if let Some(co) = hb.c.conn {
        if conn_ok(ctx, &co, node) {
            b.smtp_hosts.push((co, host_timeout));
        }
    }
}

/// The main target is kept when no host block was given or when connection keywords were
/// given at the checker's own level; every host block adds a checker with the same settings.
fn end(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild, cb: CheckBuild) {
    let CheckBuild {
        c,
        smtp_hosts,
        conn_touched,
        ..
    } = cb;
    let mut targets: Vec<(ConnOpts, Option<u64>)> = Vec::new();
    if smtp_hosts.is_empty() || conn_touched {
        if let Some(co) = &c.conn {
            if !conn_ok(ctx, co, node) {
                return;
            }
            targets.push((co.clone(), None));
        }
    }
    targets.extend(smtp_hosts);
    for (co, timeout) in targets {
        let mut chk = c.clone();
        if timeout.is_some() {
            chk.timing.connect_timeout_us = timeout;
        }
        chk.conn = Some(co);
        b.rs.checkers.push(chk);
    }
}
