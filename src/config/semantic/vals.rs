//! Value helpers for the global, VRRP and BFD sections: arguments read with keepalived's
//! own messages, and the iproute2 name tables (`rt_scopes`, `rt_protos`, `rt_tables`, route
//! types, DS fields, IP protocols) that keepalived's `rttables.c` knows without reading
//! `/etc/iproute2`.
//!
//! Convention (as in the IPVS side): an item keepalived rejects is an error; a value it
//! corrects and carries on with is a warning. Both fail `-t`, as `report_config_error` does.

use super::Ctx;
use crate::config::ast::{Node, Word};
use crate::config::values;
use std::net::IpAddr;

/// Argument `i` (0 = first after the keyword). A missing one gets keepalived's message.
pub(crate) fn need<'n>(ctx: &mut Ctx<'_>, node: &'n Node, i: usize) -> Option<&'n Word> {
    let w = node.args().get(i);
    if w.is_none() {
        missing_after(ctx, node, &node.words[i.min(node.words.len() - 1)]);
    }
    w
}

/// keepalived's "missing a parameter" message, for `after` being the last word present.
pub(crate) fn missing_after(ctx: &mut Ctx<'_>, node: &Node, after: &Word) {
    let pos = node
        .words
        .iter()
        .position(|w| std::ptr::eq(w, after))
        .unwrap_or(0)
        + 2;
    ctx.error(
        after.span,
        format!(
            "Configuration line starting `{}` is missing a parameter after keyword `{}` at \
             word position {}",
            node.keyword(),
            after.text,
            pos
        ),
    );
}

/// The word after `words[i]` within an option list, or keepalived's "missing a parameter".
pub(crate) fn next_word<'n>(
    ctx: &mut Ctx<'_>,
    node: &'n Node,
    words: &'n [Word],
    i: usize,
) -> Option<&'n Word> {
    let w = words.get(i + 1);
    if w.is_none() {
        missing_after(ctx, node, &words[i]);
    }
    w
}

/// An unsigned decimal within `[min, max]`; `msg` gives keepalived's text on failure
/// (reported as an error: the value is ignored).
pub(crate) fn uint_w(
    ctx: &mut Ctx<'_>,
    w: &Word,
    min: u64,
    max: u64,
    msg: impl FnOnce(&str) -> String,
) -> Option<u64> {
    match values::parse_uint_range(&w.text, min, max) {
        Ok(v) => Some(v),
        Err(_) => {
            ctx.error(w.span, msg(&w.text));
            None
        }
    }
}

/// A signed decimal within `[min, max]`, as [`uint_w`].
pub(crate) fn int_w(
    ctx: &mut Ctx<'_>,
    w: &Word,
    min: i64,
    max: i64,
    msg: impl FnOnce(&str) -> String,
) -> Option<i64> {
    match values::parse_int_range(&w.text, min, max) {
        Ok(v) => Some(v),
        Err(_) => {
            ctx.error(w.span, msg(&w.text));
            None
        }
    }
}

/// Argument `i` as an unsigned decimal, as [`uint_w`].
pub(crate) fn uint(
    ctx: &mut Ctx<'_>,
    node: &Node,
    i: usize,
    min: u64,
    max: u64,
    msg: impl FnOnce(&str) -> String,
) -> Option<u64> {
    let w = need(ctx, node, i)?;
    uint_w(ctx, w, min, max, msg)
}

/// Argument `i` as a signed decimal, as [`int_w`].
pub(crate) fn int(
    ctx: &mut Ctx<'_>,
    node: &Node,
    i: usize,
    min: i64,
    max: i64,
    msg: impl FnOnce(&str) -> String,
) -> Option<i64> {
    let w = need(ctx, node, i)?;
    int_w(ctx, w, min, max, msg)
}

/// A TIMER word (decimal seconds, µs resolution) within `[min_us, max_us]`.
pub(crate) fn timer_w(
    ctx: &mut Ctx<'_>,
    w: &Word,
    min_us: u64,
    max_us: u64,
    msg: impl FnOnce(&str) -> String,
) -> Option<u64> {
    match values::parse_timer_us(&w.text) {
        Ok((v, _)) if (min_us..=max_us).contains(&v) => Some(v),
        _ => {
            ctx.error(w.span, msg(&w.text));
            None
        }
    }
}

/// Argument `i` as a TIMER, as [`timer_w`].
pub(crate) fn timer(
    ctx: &mut Ctx<'_>,
    node: &Node,
    i: usize,
    min_us: u64,
    max_us: u64,
    msg: impl FnOnce(&str) -> String,
) -> Option<u64> {
    let w = need(ctx, node, i)?;
    timer_w(ctx, w, min_us, max_us, msg)
}

/// A flag keyword's optional BOOL (no argument: true); `msg` names the keyword's context.
pub(crate) fn flag(
    ctx: &mut Ctx<'_>,
    node: &Node,
    msg: impl FnOnce(&str) -> String,
) -> Option<bool> {
    match node.args().first() {
        None => Some(true),
        Some(w) => match values::parse_bool(&w.text) {
            Ok(b) => Some(b),
            Err(_) => {
                ctx.error(w.span, msg(&w.text));
                None
            }
        },
    }
}

/// A flag that takes no argument: extra words are reported and ignored.
pub(crate) fn bare_flag(ctx: &mut Ctx<'_>, node: &Node) -> bool {
    if let Some(w) = node.args().first() {
        ctx.error(
            w.span,
            format!("{}: extra parameter '{}' ignored", node.keyword(), w.text),
        );
    }
    true
}

/// An IP address without prefix (keepalived's `inet_stosockaddr`); IPv6 may have a
/// `%scope`.
pub(crate) fn ip(s: &str) -> Option<IpAddr> {
    values::parse_ip(s).ok()
}

/// `strtoul(s, &end, 0)`: decimal, `0x` hex or leading-`0` octal, whole word.
pub(crate) fn parse_u64_auto(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// iproute2's `rt_scopes`: a name or a number 0..=255.
pub(crate) fn scope_value(s: &str) -> Option<u8> {
    match s {
        "global" | "universe" => Some(0),
        "site" => Some(200),
        "link" => Some(253),
        "host" => Some(254),
        "nowhere" => Some(255),
        _ => parse_u64_auto(s).filter(|v| *v <= 255).map(|v| v as u8),
    }
}

/// iproute2's `rt_protos`: a name or a number 0..=255.
pub(crate) fn proto_value(s: &str) -> Option<u8> {
    let named = [
        ("unspec", 0),
        ("redirect", 1),
        ("kernel", 2),
        ("boot", 3),
        ("static", 4),
        ("gated", 8),
        ("ra", 9),
        ("mrt", 10),
        ("zebra", 11),
        ("bird", 12),
        ("dnrouted", 13),
        ("xorp", 14),
        ("ntk", 15),
        ("dhcp", 16),
        ("keepalived", 18),
        ("babel", 42),
        ("openr", 99),
        ("bgp", 186),
        ("isis", 187),
        ("ospf", 188),
        ("rip", 189),
        ("eigrp", 192),
    ];
    named
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, v)| *v)
        .or_else(|| parse_u64_auto(s).filter(|v| *v <= 255).map(|v| v as u8))
}

/// iproute2's `rt_tables` built-in names, or a number (u32). keepalived also reads
/// `/etc/iproute2/rt_tables`; custom table names are not known here.
pub(crate) fn table_value(s: &str) -> Option<u32> {
    match s {
        "unspec" => Some(0),
        "default" => Some(253),
        "main" => Some(254),
        "local" => Some(255),
        _ => parse_u64_auto(s)
            .filter(|v| *v <= u64::from(u32::MAX))
            .map(|v| v as u32),
    }
}

/// A DS field / TOS: a number 0..=255 (`0x` hex allowed) or one of iproute2's names.
pub(crate) fn dsfield_value(s: &str) -> Option<u8> {
    match s {
        "default" => Some(0),
        "lowdelay" => Some(0x10),
        "throughput" => Some(0x08),
        "reliability" => Some(0x04),
        "mincost" => Some(0x02),
        _ => {
            // iproute2 reads DS fields as hex.
            let h = s
                .strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .unwrap_or(s);
            if h.is_empty() || !h.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            u64::from_str_radix(h, 16)
                .ok()
                .filter(|v| *v <= 255)
                .map(|v| v as u8)
        }
    }
}

/// `/etc/protocols` names keepalived's rules commonly use, or a number 0..=255.
pub(crate) fn ipproto_value(s: &str) -> Option<u8> {
    let named = [
        ("ip", 0),
        ("icmp", 1),
        ("igmp", 2),
        ("ipip", 4),
        ("tcp", 6),
        ("egp", 8),
        ("udp", 17),
        ("ipv6", 41),
        ("rsvp", 46),
        ("gre", 47),
        ("esp", 50),
        ("ah", 51),
        ("ipv6-icmp", 58),
        ("icmpv6", 58),
        ("ospf", 89),
        ("vrrp", 112),
        ("l2tp", 115),
        ("sctp", 132),
        ("udplite", 136),
    ];
    named
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, v)| *v)
        .or_else(|| parse_u64_auto(s).filter(|v| *v <= 255).map(|v| v as u8))
}

/// `realms FROM/TO` or `realms TO` (numbers; iproute2's `rt_realms` has only `unknown`).
pub(crate) fn realms_value(s: &str) -> Option<u32> {
    let one = |t: &str| -> Option<u32> {
        if t == "unknown" {
            return Some(0);
        }
        parse_u64_auto(t).filter(|v| *v <= 0xffff).map(|v| v as u32)
    };
    match s.split_once('/') {
        Some((a, b)) => Some(one(a)? << 16 | one(b)?),
        None => one(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_tables() {
        assert_eq!(scope_value("link"), Some(253));
        assert_eq!(scope_value("10"), Some(10));
        assert_eq!(scope_value("foo"), None);
        assert_eq!(proto_value("keepalived"), Some(18));
        assert_eq!(table_value("main"), Some(254));
        assert_eq!(table_value("100"), Some(100));
        assert_eq!(table_value("foo"), None);
        assert_eq!(dsfield_value("4"), Some(4));
        assert_eq!(dsfield_value("300"), None);
        assert_eq!(ipproto_value("tcp"), Some(6));
        assert_eq!(realms_value("1/2"), Some(0x10002));
        assert_eq!(realms_value("foo"), None);
        assert_eq!(parse_u64_auto("0x10"), Some(16));
        assert_eq!(parse_u64_auto("010"), Some(8));
        assert_eq!(parse_u64_auto("abc"), None);
    }
}
