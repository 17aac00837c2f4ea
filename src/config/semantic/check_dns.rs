//! DNS_CHECK (keepalived's `check/check_dns.c`).

use super::check_api::{common_keywords, end_simple, read_checker, CheckBuild};
use super::lvs::RsBuild;
use super::{Ctx, Kw, Tier};
use crate::config::ast::Node;
use crate::config::model::lvs::*;

pub(super) fn dns_check(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild) {
    let kind = CheckerKind::Dns(DnsCheck {
        qtype: DnsType::default(),
        name: String::new(),
    });
    read_checker(ctx, node, b, kind, &table(), end);
}

fn end(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild, mut cb: CheckBuild) {
    if let CheckerKind::Dns(d) = &mut cb.c.kind {
        if d.name.is_empty() {
            d.name = ".".to_string();
        }
    }
    end_simple(ctx, node, b, cb);
}

fn table() -> Vec<Kw<CheckBuild>> {
    let mut t = common_keywords(true);
    t.extend([
        Kw::accepted(
            "type",
            Tier::T3,
            |c: &mut Ctx<'_>, n: &Node, b: &mut CheckBuild| {
                let Some(w) = c.arg(n, 0, "query type") else {
                    return;
                };
                match DnsType::from_name(&w.text) {
                    Some(t) => {
                        if let CheckerKind::Dns(d) = &mut b.c.kind {
                            d.qtype = t;
                        }
                    }
                    None => c.error(
                        w.span,
                        format!("Unknown DNS check type {} - ignoring", w.text),
                    ),
                }
            },
        ) as Kw<CheckBuild>,
        Kw::accepted("name", Tier::T3, |c, n, b| {
            let Some(w) = c.arg(n, 0, "query name") else {
                return;
            };
            let CheckerKind::Dns(d) = &mut b.c.kind else {
                return;
            };
            if !d.name.is_empty() {
                c.error(n.span(), "DNS_CHECK name already specified - ignoring");
                return;
            }
            if !valid_dns_name(&w.text) {
                c.error(
                    w.span,
                    format!("DNS_CHECK name '{}' has empty label - ignoring", w.text),
                );
                return;
            }
            d.name = w.text.clone();
        }),
    ]);
    t
}

/// keepalived rejects names with an empty label (`..`, or a leading `.` other than the
/// root). keepalived 2.2.7 also rejects a name whose second character is a `.` (its scan
/// looks one character past the start of the name as if a `.` were there): `a.example` fails
/// its `-t`, so it fails ours.
fn valid_dns_name(name: &str) -> bool {
    if name.starts_with('.') && name.len() > 1 {
        return false;
    }
    if name.as_bytes().get(1) == Some(&b'.') {
        return false;
    }
    !name.contains("..")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert!(super::valid_dns_name("."));
        assert!(super::valid_dns_name("www.example.com"));
        assert!(super::valid_dns_name("www.example.com."));
        assert!(!super::valid_dns_name("example..com"));
        assert!(!super::valid_dns_name(".example.com"));
        assert!(
            !super::valid_dns_name("a.example.com"),
            "keepalived 2.2.7's quirk"
        );
    }
}
