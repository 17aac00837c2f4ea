//! Semantic pass for `bfd_instance NAME { }` (keepalived's `bfd/bfd_parser.c`), with
//! keepalived 2.2.7's messages. Intervals are written in milliseconds (µs resolution) and
//! kept in microseconds, the unit of RFC 5880 §4.1.

use super::vals::{self, need};
use super::{Ctx, Kw, Tier};
use crate::config::ast::Node;
use crate::config::model::bfd::*;
use crate::config::model::Config;
use crate::config::values;
use std::net::IpAddr;

/// Root-level keywords this section owns.
pub fn root_keywords() -> Vec<Kw<Config>> {
    vec![Kw::new("bfd_instance", Tier::T3, bfd_instance_handler)]
}

/// Cross-checks after every block was read (all done while reading: keepalived checks
/// names and neighbours as it reads them).
pub fn validate(_ctx: &mut Ctx<'_>, _cfg: &mut Config) {}

/// A `bfd_instance` while it is read.
struct Draft {
    name: String,
    neighbor: Option<IpAddr>,
    source: Option<IpAddr>,
    min_rx_us: u32,
    min_tx_us: u32,
    idle_tx_us: u32,
    mult: u8,
    passive: bool,
    ttl: Option<u8>,
    max_hops: i16,
    multihop: bool,
    weight: i32,
    reverse: bool,
    consumers: BfdConsumers,
    auth: Option<AuthDraft>,
}

/// An `authentication { }` block while it is read.
#[derive(Default)]
struct AuthDraft {
    kind: Option<BfdAuthKind>,
    key_id: u8,
    key: Option<Vec<u8>>,
    /// The block's name for messages.
    name: String,
}

fn bfd_instance_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    let Some(name_w) = need(ctx, node, 0) else {
        return;
    };
    let name = name_w.text.clone();
    if name.chars().count() > BFD_NAME_MAX_LEN {
        ctx.error(name_w.span, format!("BFD name {name} too long"));
        ctx.error(
            name_w.span,
            format!(
                "Configuration error: BFD instance {name} name too long (maximum length is \
                 {BFD_NAME_MAX_LEN} characters) - ignoring"
            ),
        );
        return;
    }
    if cfg.bfd.instances.iter().any(|b| b.name == name) {
        ctx.error(
            name_w.span,
            format!("Configuration error: BFD instance {name} already configured - ignoring"),
        );
        return;
    }
    if !super::global::require_block(ctx, node) {
        return;
    }
    let mut d = Draft {
        name: name.clone(),
        neighbor: None,
        source: None,
        min_rx_us: DEFAULT_MIN_RX_US,
        min_tx_us: DEFAULT_MIN_TX_US,
        idle_tx_us: DEFAULT_IDLE_TX_US,
        mult: DEFAULT_DETECT_MULT,
        passive: false,
        ttl: None,
        max_hops: 0,
        multihop: false,
        weight: 0,
        reverse: false,
        consumers: BfdConsumers::Both,
        auth: None,
    };
    let table = table();
    ctx.dispatch(node.children(), &table, &mut d);
    let Some(neighbor) = d.neighbor else {
        ctx.error(
            name_w.span,
            format!(
                "Configuration error: BFD instance {name} has no neighbor address set, \
                 disabling instance"
            ),
        );
        return;
    };
    if let Some(src) = d.source {
        if src.is_ipv4() != neighbor.is_ipv4() {
            ctx.error(
                name_w.span,
                format!(
                    "Configuration error: BFD instance {name} source address {src} and neighbor \
                     address {neighbor} are not of the same family, disabling instance"
                ),
            );
            return;
        }
    }
    if cfg
        .bfd
        .instances
        .iter()
        .any(|b| b.neighbor == neighbor && b.source == d.source)
    {
        ctx.error(
            name_w.span,
            format!(
                "Configuration error: BFD instance {name} has duplicate neighbor address \
                 {neighbor}, ignoring instance"
            ),
        );
        return;
    }
    let auth = match d.auth.take() {
        None => None,
        Some(a) => match (a.kind, a.key) {
            (Some(kind), Some(key)) => Some(BfdAuthConfig {
                kind,
                key_id: a.key_id,
                key,
            }),
            _ => {
                ctx.error(
                    name_w.span,
                    format!(
                        "Configuration error: BFD instance {name} authentication needs auth_type \
                         and auth_pass, disabling instance"
                    ),
                );
                return;
            }
        },
    };
    cfg.bfd.instances.push(BfdInstance {
        name,
        span: name_w.span,
        neighbor,
        source: d.source,
        required_min_rx_us: d.min_rx_us,
        desired_min_tx_us: d.min_tx_us,
        idle_tx_us: d.idle_tx_us,
        detect_mult: d.mult,
        passive: d.passive,
        // RFC 5881 §5: single-hop sessions send with TTL 255 (keepalived uses 64 for IPv6).
        ttl: d.ttl.unwrap_or(if neighbor.is_ipv4() { 255 } else { 64 }),
        max_hops: d.max_hops,
        multihop: d.multihop,
        weight: d.weight,
        weight_reverse: d.reverse,
        consumers: d.consumers,
        auth,
    });
}

/// Milliseconds with up to 3 decimals, in microseconds, within `[min_ms, max_ms]`.
fn interval_us(ctx: &mut Ctx<'_>, n: &Node, d: &Draft, min_ms: u64) -> Option<u32> {
    let w = need(ctx, n, 0)?;
    let max_ms = u64::from(MAX_INTERVAL_US) / 1000;
    match values::parse_timer_us(&w.text) {
        // parse_timer_us reads "seconds with 6 decimals": for milliseconds that is
        // thousandths of a microsecond.
        Ok((v, _)) if v >= min_ms * 1_000_000 && v <= max_ms * 1_000_000 => Some((v / 1000) as u32),
        _ => {
            ctx.error(
                w.span,
                format!(
                    "Configuration error: BFD instance {} {} value {} is not valid (must be in \
                     range [{min_ms}-{max_ms}]), ignoring",
                    d.name,
                    n.keyword(),
                    w.text
                ),
            );
            None
        }
    }
}

fn range_msg(d: &Draft, what: &str, v: &str, min: i64, max: i64) -> String {
    format!(
        "Configuration error: BFD instance {} {what} value {v} not valid (must be in range \
         [{min}-{max}]), ignoring",
        d.name
    )
}

fn address(ctx: &mut Ctx<'_>, n: &Node, d: &Draft) -> Option<IpAddr> {
    let w = need(ctx, n, 0)?;
    match vals::ip(&w.text) {
        Some(a) => Some(a),
        None => {
            ctx.error(
                w.span,
                format!(
                    "Configuration error: BFD instance {} {} value {} is malformed, ignoring",
                    d.name,
                    n.keyword(),
                    w.text
                ),
            );
            None
        }
    }
}

/// `authentication { auth_type T  auth_key_id N  auth_pass SECRET }`: RFC 5880 §6.7, our
/// extension (keepalived's BFD has no authentication). The secret is ASCII, or `hex:` and
/// hex digits for binary keys.
fn auth_table() -> Vec<Kw<AuthDraft>> {
    vec![
        Kw::new("auth_type", Tier::T3, |ctx, n, a| {
            let Some(w) = need(ctx, n, 0) else { return };
            let kind = [
                BfdAuthKind::SimplePassword,
                BfdAuthKind::KeyedMd5,
                BfdAuthKind::MeticulousKeyedMd5,
                BfdAuthKind::KeyedSha1,
                BfdAuthKind::MeticulousKeyedSha1,
            ]
            .into_iter()
            .find(|k| k.keyword().eq_ignore_ascii_case(&w.text));
            match kind {
                Some(k) => a.kind = Some(k),
                None => ctx.error(
                    w.span,
                    format!(
                        "Configuration error: BFD instance {} unknown auth_type {} (simple, \
                         keyed_md5, meticulous_keyed_md5, keyed_sha1 or meticulous_keyed_sha1)",
                        a.name, w.text
                    ),
                ),
            }
        }),
        Kw::new("auth_key_id", Tier::T3, |ctx, n, a| {
            let Some(w) = need(ctx, n, 0) else { return };
            match values::parse_uint_range(&w.text, 0, 255) {
                Ok(v) => a.key_id = v as u8,
                Err(_) => ctx.error(
                    w.span,
                    format!(
                        "Configuration error: BFD instance {} auth_key_id value {} not valid \
                         (must be in range [0-255]), ignoring",
                        a.name, w.text
                    ),
                ),
            }
        }),
        Kw::new("auth_pass", Tier::T3, |ctx, n, a| {
            let Some(w) = need(ctx, n, 0) else { return };
            match auth_secret(&w.text) {
                Some(k) => a.key = Some(k),
                None => ctx.error(
                    w.span,
                    format!(
                        "Configuration error: BFD instance {} auth_pass is not valid (1 to 20 \
                         bytes, or hex: and an even number of hex digits)",
                        a.name
                    ),
                ),
            }
        }),
    ]
}

/// ASCII text, or `hex:` followed by hex digit pairs; 1 to 20 bytes.
fn auth_secret(text: &str) -> Option<Vec<u8>> {
    let bytes = match text.strip_prefix("hex:") {
        Some(h) => {
            if h.len() % 2 != 0 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            (0..h.len() / 2)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()?
        }
        None => text.as_bytes().to_vec(),
    };
    (1..=20).contains(&bytes.len()).then_some(bytes)
}

fn table() -> Vec<Kw<Draft>> {
    let neighbor: fn(&mut Ctx<'_>, &Node, &mut Draft) = |ctx, n, d| {
        if let Some(a) = address(ctx, n, d) {
            d.neighbor = Some(a);
        }
    };
    let ttl: fn(&mut Ctx<'_>, &Node, &mut Draft) = |ctx, n, d| {
        let Some(w) = need(ctx, n, 0) else { return };
        match values::parse_uint_range(&w.text, 1, 255) {
            Ok(v) => d.ttl = Some(v as u8),
            Err(_) => {
                let m = range_msg(d, "ttl/hoplimit", &w.text, 1, 255);
                ctx.error(w.span, m);
            }
        }
    };
    vec![
        Kw::new("neighbor_ip", Tier::T3, neighbor),
        Kw::new("neighbour_ip", Tier::T3, neighbor),
        Kw::new("source_ip", Tier::T3, |ctx, n, d| {
            if let Some(a) = address(ctx, n, d) {
                d.source = Some(a);
            }
        }),
        Kw::new("min_rx", Tier::T3, |ctx, n, d| {
            if let Some(v) = interval_us(ctx, n, d, 1) {
                d.min_rx_us = v;
            }
        }),
        Kw::new("min_tx", Tier::T3, |ctx, n, d| {
            if let Some(v) = interval_us(ctx, n, d, 1) {
                d.min_tx_us = v;
            }
        }),
        Kw::new("idle_tx", Tier::T3, |ctx, n, d| {
            if let Some(v) = interval_us(ctx, n, d, 1000) {
                d.idle_tx_us = v;
            }
        }),
        Kw::new("multiplier", Tier::T3, |ctx, n, d| {
            let Some(w) = need(ctx, n, 0) else { return };
            match values::parse_uint_range(&w.text, 1, 255) {
                Ok(v) => d.mult = v as u8,
                Err(_) => {
                    let m = range_msg(d, "multiplier", &w.text, 1, 255);
                    ctx.error(w.span, m);
                }
            }
        }),
        Kw::new("passive", Tier::T3, |ctx, n, d| {
            d.passive = vals::bare_flag(ctx, n)
        }),
        Kw::new("ttl", Tier::T3, ttl),
        Kw::new("hoplimit", Tier::T3, ttl),
        Kw::new("max_hops", Tier::T3, |ctx, n, d| {
            let Some(w) = need(ctx, n, 0) else { return };
            match values::parse_int_range(&w.text, -1, 255) {
                Ok(v) => d.max_hops = v as i16,
                Err(_) => {
                    let m = range_msg(d, "max_hops", &w.text, -1, 255);
                    ctx.error(w.span, m);
                }
            }
        }),
        Kw::new("multihop", Tier::T3, |ctx, n, d| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!(
                    "Configuration error: BFD instance {} invalid multihop {s}",
                    d.name
                )
            }) {
                d.multihop = b;
            }
        }),
        Kw::new("weight", Tier::T3, |ctx, n, d| {
            let Some(w) = need(ctx, n, 0) else { return };
            match values::parse_int_range(&w.text, -253, 253) {
                Ok(v) => d.weight = v as i32,
                Err(_) => {
                    let m = range_msg(d, "weight", &w.text, -253, 253);
                    ctx.error(w.span, m);
                    return;
                }
            }
            match n.args().get(1).map(|w| (w, w.text.as_str())) {
                None => {}
                Some((_, "reverse")) => d.reverse = true,
                Some((w, other)) => ctx.error(
                    w.span,
                    format!(
                        "Configuration error: BFD instance {} unknown weight option {other}",
                        d.name
                    ),
                ),
            }
        }),
        Kw::new("vrrp", Tier::T3, |ctx, n, d| {
            vals::bare_flag(ctx, n);
            d.consumers = match d.consumers {
                BfdConsumers::Checker => BfdConsumers::Both,
                _ => BfdConsumers::Vrrp,
            };
        }),
        Kw::new("authentication", Tier::T3, |ctx, n, d| {
            if !super::global::require_block(ctx, n) {
                return;
            }
            let mut a = AuthDraft {
                key_id: 1,
                name: d.name.clone(),
                ..AuthDraft::default()
            };
            ctx.dispatch(n.children(), &auth_table(), &mut a);
            if let (Some(kind), Some(key)) = (a.kind, a.key.as_ref()) {
                let short = kind == BfdAuthKind::SimplePassword && key.is_empty();
                if key.len() > kind.max_key_len() || short {
                    ctx.error(
                        n.span(),
                        format!(
                            "Configuration error: BFD instance {} auth_pass is longer than {} \
                             bytes for {}",
                            d.name,
                            kind.max_key_len(),
                            kind.keyword()
                        ),
                    );
                    a.key = None;
                }
            }
            d.auth = Some(a);
        }),
        Kw::new("checker", Tier::T3, |ctx, n, d| {
            vals::bare_flag(ctx, n);
            d.consumers = match d.consumers {
                BfdConsumers::Vrrp => BfdConsumers::Both,
                _ => BfdConsumers::Checker,
            };
        }),
    ]
}
