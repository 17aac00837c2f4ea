//! UDP_CHECK (keepalived's `check/check_udp.c`).

use super::check_api::{common_keywords, end_simple, read_checker, CheckBuild};
use super::lvs::RsBuild;
use super::{Ctx, Kw, Tier};
use crate::config::ast::Node;
use crate::config::model::lvs::*;

pub(super) fn udp_check(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild) {
    let kind = CheckerKind::Udp(UdpCheck {
        payload: default_check_payload(DEFAULT_UDP_PAYLOAD_LEN),
        payload_configured: false,
        require_reply: false,
        reply: None,
        min_reply_length: 0,
        max_reply_length: 255,
    });
    read_checker(ctx, node, b, kind, &table(), end);
}

fn end(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild, cb: CheckBuild) {
    if let Some(co) = &cb.c.conn {
        if !super::check_api::conn_ok(ctx, co, node) {
            return;
        }
    }
    if let CheckerKind::Udp(u) = &cb.c.kind {
        if u.min_reply_length > u.max_reply_length {
            ctx.warning(
                node.span(),
                format!(
                    "UDP_CHECK min_reply length {} > max_reply_length {} - will always fail",
                    u.min_reply_length, u.max_reply_length
                ),
            );
        }
    }
    // The connection was checked above; end_simple checks it again harmlessly.
    end_simple(ctx, node, b, cb);
}

fn with_udp(b: &mut CheckBuild, f: impl FnOnce(&mut UdpCheck)) {
    if let CheckerKind::Udp(u) = &mut b.c.kind {
        f(u);
    }
}

fn table() -> Vec<Kw<CheckBuild>> {
    use Tier::*;
    let mut t = common_keywords(true);
    t.extend([
        Kw::accepted(
            "payload",
            T3,
            |c: &mut Ctx<'_>, n: &Node, b: &mut CheckBuild| {
                if n.args().is_empty() {
                    c.error(n.span(), "UDP_CHECK payload requires a payload");
                    return;
                }
                match read_hex_str(&join_args(n), false) {
                    Some((data, _)) => with_udp(b, |u| {
                        u.payload = data;
                        u.payload_configured = true;
                    }),
                    None => c.error(n.span(), "Invalid hex string for UDP_CHECK payload"),
                }
            },
        ) as Kw<CheckBuild>,
        Kw::accepted("require_reply", T3, |c, n, b| {
            with_udp(b, |u| u.require_reply = true);
            if n.args().is_empty() {
                return;
            }
            match read_hex_str(&join_args(n), true) {
                Some((data, mask)) => with_udp(b, |u| u.reply = Some(ReplyPattern { data, mask })),
                None => c.error(n.span(), "Invalid hex string for UDP_CHECK reply"),
            }
        }),
        Kw::accepted("min_reply_length", T3, |c, n, b| {
            if let Some(v) = reply_len(c, n, "min") {
                with_udp(b, |u| u.min_reply_length = v);
            }
        }),
        Kw::accepted("max_reply_length", T3, |c, n, b| {
            if let Some(v) = reply_len(c, n, "max") {
                with_udp(b, |u| u.max_reply_length = v);
            }
        }),
    ]);
    t
}

fn reply_len(ctx: &mut Ctx<'_>, node: &Node, which: &str) -> Option<u16> {
    let text = node.args().first().map(|w| w.text.as_str()).unwrap_or("");
    match super::lvs::read_unsigned(ctx, node.span(), text, 0, 65535) {
        Some(v) => Some(v as u16),
        None => {
            ctx.error(
                node.span(),
                format!("UDP_CHECK {which} length {text} not valid - must be between 0 & 65535"),
            );
            None
        }
    }
}

/// keepalived's `make_strvec_str`: the words from 1 joined by spaces.
fn join_args(node: &Node) -> String {
    node.args()
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn hex_val(c: u8, wild: bool) -> Option<Option<u8>> {
    match c {
        b'0'..=b'9' => Some(Some(c - b'0')),
        b'a'..=b'f' => Some(Some(c - b'a' + 10)),
        b'A'..=b'F' => Some(Some(c - b'A' + 10)),
        b'x' | b'X' if wild => Some(None),
        _ => None,
    }
}

/// keepalived's `read_hex_str`: hex octets, spaces allowed between them; a lone digit
/// before a space or the end is one octet; with `wild`, `x`/`X` nibbles are wildcards (set
/// in the returned mask). `None` for an invalid or empty string.
pub(super) fn read_hex_str(s: &str, wild: bool) -> Option<(Vec<u8>, Vec<u8>)> {
    let b = s.as_bytes();
    let mut i = 0;
    let (mut data, mut mask) = (Vec::new(), Vec::new());
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let (mut val, mut m) = match hex_val(b[i], wild)? {
            Some(v) => (v, 0u8),
            None => (0, 0x0f),
        };
        i += 1;
        if i < b.len() && b[i] != b' ' {
            let (v2, m2) = match hex_val(b[i], wild)? {
                Some(v) => (v, 0u8),
                None => (0, 0x0f),
            };
            i += 1;
            val = (val << 4) | v2;
            m = (m << 4) | m2;
        }
        data.push(val);
        mask.push(m);
    }
    (!data.is_empty()).then_some((data, mask))
}

#[cfg(test)]
mod tests {
    use super::read_hex_str;

    #[test]
    fn hex() {
        assert_eq!(
            read_hex_str("0a0b0c", false),
            Some((vec![10, 11, 12], vec![0, 0, 0]))
        );
        assert_eq!(
            read_hex_str("0a 0b 0c", false),
            Some((vec![10, 11, 12], vec![0, 0, 0]))
        );
        assert_eq!(read_hex_str("a b", false), Some((vec![10, 11], vec![0, 0])));
        assert_eq!(
            read_hex_str("0aXX0c", true),
            Some((vec![10, 0, 12], vec![0, 0xff, 0]))
        );
        assert_eq!(read_hex_str("0x", true), Some((vec![0], vec![0x0f])));
        assert_eq!(read_hex_str("0aXX", false), None);
        assert_eq!(read_hex_str("zz", false), None);
        assert_eq!(read_hex_str("", false), None);
    }
}
