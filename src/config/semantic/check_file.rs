//! FILE_CHECK and BFD_CHECK (keepalived's `check/check_file.c`, `check/check_bfd.c`):
//! checkers without a probe that follow a `track_file` or a `bfd_instance`. That the named
//! block exists is checked in `validate` ([`super::check_api::validate_references`]).

use super::check_api::{read_checker, CheckBuild};
use super::lvs::RsBuild;
use super::{Ctx, Kw, Tier};
use crate::config::ast::Node;
use crate::config::model::lvs::*;

/// keepalived's `BFD_INAME_MAX`: names must be shorter.
pub(super) const BFD_INAME_MAX: usize = 32;

pub(super) fn file_check(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild) {
    let kind = CheckerKind::File(FileCheck {
        track_file: String::new(),
        weight: None,
        reverse: false,
    });
    read_checker(ctx, node, b, kind, &file_table(), file_end);
}

fn file_end(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild, cb: CheckBuild) {
    if let CheckerKind::File(f) = &cb.c.kind {
        if f.track_file.is_empty() {
            ctx.error(
                node.span(),
                "FILE_CHECK has no track_file specified - ignoring",
            );
            return;
        }
    }
    b.rs.checkers.push(cb.c);
}

fn file_table() -> Vec<Kw<CheckBuild>> {
    vec![
        Kw::accepted(
            "track_file",
            Tier::T3,
            |c: &mut Ctx<'_>, n: &Node, b: &mut CheckBuild| {
                let Some(w) = c.arg(n, 0, "track_file name") else {
                    return;
                };
                if let CheckerKind::File(f) = &mut b.c.kind {
                    f.track_file = w.text.clone();
                }
            },
        ),
        Kw::accepted("weight", Tier::T3, |c, n, b| {
            let Some(w) = n.args().first() else {
                c.error(n.span(), "track file weight missing");
                return;
            };
            let lim = i64::from(IPVS_WEIGHT_LIMIT);
            let Some(v) = super::lvs::read_int(c, w.span, &w.text, -lim, lim) else {
                c.error(
                    w.span,
                    format!(
                        "weight for track file must be in [{}..{}] inclusive. Ignoring...",
                        -lim, lim
                    ),
                );
                return;
            };
            let reverse = match n.args().get(1).map(|w| w.text.as_str()) {
                None | Some("noreverse") => false,
                Some("reverse") => true,
                Some(other) => {
                    c.error(
                        n.args()[1].span,
                        format!("unknown track file weight option {other} - ignoring"),
                    );
                    return;
                }
            };
            if let CheckerKind::File(f) = &mut b.c.kind {
                f.weight = Some(v as i32);
                f.reverse = reverse;
            }
        }),
    ]
}

pub(super) fn bfd_check(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild) {
    if !super::lvs::need_block(ctx, node) {
        return;
    }
    let kind = CheckerKind::Bfd(BfdCheck {
        name: String::new(),
    });
    let rs_name = b.rs_name();
    let table = bfd_table();
    let mut cb = CheckBuild::new(kind, &b.rs, node, false);
    let mut st = BfdBuild {
        cb: &mut cb,
        rs_name: rs_name.clone(),
    };
    ctx.dispatch(node.children(), &table, &mut st);
    if cb.dropped {
        return;
    }
    let CheckerKind::Bfd(bfd) = &cb.c.kind else {
        return;
    };
    if bfd.name.is_empty() {
        ctx.error(
            node.span(),
            format!("({rs_name}) No name has been specified for BFD_CHECKER - skipping"),
        );
        return;
    }
    let dup =
        b.rs.checkers
            .iter()
            .any(|c| matches!(&c.kind, CheckerKind::Bfd(x) if x.name == bfd.name));
    if dup {
        ctx.error(
            node.span(),
            format!("({rs_name}) BFD_CHECK - RS already monitoring {}", bfd.name),
        );
        return;
    }
    b.rs.checkers.push(cb.c);
}

struct BfdBuild<'a> {
    cb: &'a mut CheckBuild,
    rs_name: String,
}

fn bfd_table<'a>() -> Vec<Kw<BfdBuild<'a>>> {
    vec![
        Kw::new(
            "name",
            Tier::T3,
            |c: &mut Ctx<'_>, n: &Node, s: &mut BfdBuild<'_>| {
                if s.cb.dropped {
                    return;
                }
                let rs = s.rs_name.clone();
                let a = n.args();
                let CheckerKind::Bfd(bfd) = &mut s.cb.c.kind else {
                    return;
                };
                // Whether the name exists, then its length, are checked in validate (keepalived
                // checks them here, in that order).
                let err = if a.len() != 1 {
                    Some(format!(
                        "({rs}) BFD_CHECK - No or too many names specified - skipping checker"
                    ))
                } else if !bfd.name.is_empty() {
                    Some(format!(
                        "({rs}) BFD_CHECK - BFD {} already specified as {}",
                        a[0].text, bfd.name
                    ))
                } else {
                    None
                };
                match err {
                    Some(e) => {
                        c.error(n.span(), e);
                        s.cb.dropped = true;
                    }
                    None => bfd.name = a[0].text.clone(),
                }
            },
        ),
        Kw::new("alpha", Tier::T3, |c, n, s| {
            if s.cb.dropped {
                return;
            }
            if let Some(v) = super::lvs::kl_bool(c, n, |x| format!("Invalid alpha parameter {x}")) {
                s.cb.c.timing.alpha = Some(v);
            }
        }),
    ]
}
