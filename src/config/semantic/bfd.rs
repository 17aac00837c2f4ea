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
    vec![Kw::accepted("bfd_instance", Tier::T3, bfd_instance_handler)]
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
        Kw::accepted("neighbor_ip", Tier::T3, neighbor),
        Kw::accepted("neighbour_ip", Tier::T3, neighbor),
        Kw::accepted("source_ip", Tier::T3, |ctx, n, d| {
            if let Some(a) = address(ctx, n, d) {
                d.source = Some(a);
            }
        }),
        Kw::accepted("min_rx", Tier::T3, |ctx, n, d| {
            if let Some(v) = interval_us(ctx, n, d, 1) {
                d.min_rx_us = v;
            }
        }),
        Kw::accepted("min_tx", Tier::T3, |ctx, n, d| {
            if let Some(v) = interval_us(ctx, n, d, 1) {
                d.min_tx_us = v;
            }
        }),
        Kw::accepted("idle_tx", Tier::T3, |ctx, n, d| {
            if let Some(v) = interval_us(ctx, n, d, 1000) {
                d.idle_tx_us = v;
            }
        }),
        Kw::accepted("multiplier", Tier::T3, |ctx, n, d| {
            let Some(w) = need(ctx, n, 0) else { return };
            match values::parse_uint_range(&w.text, 1, 255) {
                Ok(v) => d.mult = v as u8,
                Err(_) => {
                    let m = range_msg(d, "multiplier", &w.text, 1, 255);
                    ctx.error(w.span, m);
                }
            }
        }),
        Kw::accepted("passive", Tier::T3, |ctx, n, d| {
            d.passive = vals::bare_flag(ctx, n)
        }),
        Kw::accepted("ttl", Tier::T3, ttl),
        Kw::accepted("hoplimit", Tier::T3, ttl),
        Kw::accepted("max_hops", Tier::T3, |ctx, n, d| {
            let Some(w) = need(ctx, n, 0) else { return };
            match values::parse_int_range(&w.text, -1, 255) {
                Ok(v) => d.max_hops = v as i16,
                Err(_) => {
                    let m = range_msg(d, "max_hops", &w.text, -1, 255);
                    ctx.error(w.span, m);
                }
            }
        }),
        Kw::accepted("multihop", Tier::T3, |ctx, n, d| {
            if let Some(b) = vals::flag(ctx, n, |s| {
                format!(
                    "Configuration error: BFD instance {} invalid multihop {s}",
                    d.name
                )
            }) {
                d.multihop = b;
            }
        }),
        Kw::accepted("weight", Tier::T3, |ctx, n, d| {
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
        Kw::accepted("vrrp", Tier::T3, |ctx, n, d| {
            vals::bare_flag(ctx, n);
            d.consumers = match d.consumers {
                BfdConsumers::Checker => BfdConsumers::Both,
                _ => BfdConsumers::Vrrp,
            };
        }),
        Kw::accepted("checker", Tier::T3, |ctx, n, d| {
            vals::bare_flag(ctx, n);
            d.consumers = match d.consumers {
                BfdConsumers::Vrrp => BfdConsumers::Both,
                _ => BfdConsumers::Checker,
            };
        }),
    ]
}
