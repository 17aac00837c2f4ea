//! Semantic pass for the IPVS side: the root `virtual_server_group`, `virtual_server` and
//! `SSL` blocks (keepalived's `check/check_parser.c`, `check/check_data.c`), real servers,
//! and the cross-checks of `validate_check_config`. The checker blocks are in the `check_*`
//! modules.
//!
//! Messages use keepalived 2.2.7's wording. What keepalived reports through
//! `report_config_error` (which fails `-t`) is an error when the item is rejected and a
//! warning when keepalived carries on with a corrected value; what it only logs is a note.

use super::{Ctx, Kw, Tier};
use crate::config::ast::{Node, Span, Word};
use crate::config::model::lvs::*;
use crate::config::model::Config;
use crate::config::values;
use std::net::IpAddr;

/// Root-level keywords this section owns.
pub fn root_keywords() -> Vec<Kw<Config>> {
    vec![
        Kw::new("virtual_server_group", Tier::T2, vsg_handler),
        Kw::new("virtual_server", Tier::T1, vs_handler),
        Kw::accepted("SSL", Tier::T3, ssl_handler),
    ]
}

// ---------------------------------------------------------------------------------------
// Value helpers with keepalived's messages (shared with the check_* modules).

/// A TIMER argument (word 1) within `[min_us, max_us]`; `msg` builds keepalived's message
/// from the word on failure.
pub(super) fn kl_timer(
    ctx: &mut Ctx<'_>,
    node: &Node,
    min_us: u64,
    max_us: u64,
    msg: impl FnOnce(&str) -> String,
) -> Option<u64> {
    let w = ctx.arg(node, 0, "timer value")?;
    // keepalived's largest timer is ULONG_MAX - 1 microseconds.
    let max_us = max_us.min(u64::MAX - 1);
    match values::parse_timer_us(&w.text) {
        Ok((v, too_many)) if (min_us..=max_us).contains(&v) => {
            if too_many {
                ctx.warning(
                    w.span,
                    format!(
                        "{}: timer has more than 6 decimal places, rounded",
                        node.keyword()
                    ),
                );
            }
            Some(v)
        }
        _ if !looks_numeric(&w.text) => {
            // keepalived's read_timer: text that is no number reads as 0, which is then
            // accepted where 0 is in range.
            ctx.error(w.span, format!("invalid number '{}'", w.text));
            if min_us == 0 {
                return Some(0);
            }
            ctx.error(w.span, msg(&w.text));
            None
        }
        _ => {
            let helper = if w.text.starts_with('-') {
                format!("negative number '{}'", w.text)
            } else {
                format!(
                    "number '{}' outside range [{}, {}]",
                    w.text,
                    fmt_timer(min_us),
                    fmt_timer(max_us)
                )
            };
            ctx.error(w.span, helper);
            ctx.error(w.span, msg(&w.text));
            None
        }
    }
}

/// keepalived's `read_unsigned`: `None` after its own message ("invalid number 'x'",
/// "negative number '-1'", "number 'N' outside range [MIN, MAX]", "number 'N' outside
/// unsigned integer range"), which keepalived prints before the keyword's own message.
pub(super) fn read_unsigned(
    ctx: &mut Ctx<'_>,
    span: Span,
    text: &str,
    min: u64,
    max: u64,
) -> Option<u64> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let msg = if text.strip_prefix('-').is_some_and(digits) {
        format!("negative number '{text}'")
    } else if !digits(text) {
        format!("invalid number '{text}'")
    } else {
        match text.parse::<u128>() {
            Ok(v) if v > u128::from(u32::MAX) => {
                format!("number '{text}' outside unsigned integer range")
            }
            Ok(v) if v < u128::from(min) || v > u128::from(max) => {
                format!("number '{text}' outside range [{min}, {max}]")
            }
            Ok(v) => return Some(v as u64),
            Err(_) => format!("number '{text}' outside unsigned integer range"),
        }
    };
    ctx.error(span, msg);
    None
}

/// keepalived's `read_int`, as [`read_unsigned`] for signed values.
pub(super) fn read_int(
    ctx: &mut Ctx<'_>,
    span: Span,
    text: &str,
    min: i64,
    max: i64,
) -> Option<i64> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let msg = if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        format!("invalid number '{text}'")
    } else {
        match text.parse::<i128>() {
            Ok(v) if v < i128::from(i32::MIN) || v > i128::from(i32::MAX) => {
                format!("number '{text}' outside integer range")
            }
            Ok(v) if v < i128::from(min) || v > i128::from(max) => {
                format!("number '{text}' outside range [{min}, {max}]")
            }
            Ok(v) => return Some(v as i64),
            Err(_) => format!("number '{text}' outside integer range"),
        }
    };
    ctx.error(span, msg);
    None
}

/// Microseconds as keepalived prints timer bounds (`0.000001`).
fn fmt_timer(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// `[-]digits[.digits]`: a number, whether or not in range.
fn looks_numeric(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    !(i.is_empty() && f.is_empty())
        && i.bytes().all(|b| b.is_ascii_digit())
        && f.bytes().all(|b| b.is_ascii_digit())
}

/// An unsigned argument `i` within `[min, max]`, with keepalived's message on failure.
pub(super) fn kl_uint(
    ctx: &mut Ctx<'_>,
    node: &Node,
    i: usize,
    min: u64,
    max: u64,
    msg: impl FnOnce(&str) -> String,
) -> Option<u64> {
    let w = ctx.arg(node, i, "number")?;
    match read_unsigned(ctx, w.span, &w.text, min, max) {
        Some(v) => Some(v),
        None => {
            ctx.error(w.span, msg(&w.text));
            None
        }
    }
}

/// The optional BOOL of a flag keyword (no argument: true), with keepalived's message:
/// the shared helper of the semantic pass.
pub(super) use super::vals::flag as kl_bool;

/// Word 1 as a string, or keepalived's "missing" message.
pub(super) fn kl_string(ctx: &mut Ctx<'_>, node: &Node, missing: &str) -> Option<String> {
    match node.args().first() {
        Some(w) => Some(w.text.clone()),
        None => {
            ctx.error(node.span(), missing.to_string());
            None
        }
    }
}

/// A keyword that opens a block but has none: keepalived's "Missing '{'" error (the item is
/// then ignored).
pub(super) fn need_block(ctx: &mut Ctx<'_>, node: &Node) -> bool {
    if node.block.is_none() {
        ctx.error(
            node.span(),
            "Missing '{' at beginning of configuration block",
        );
        return false;
    }
    true
}

/// A port word as keepalived reads it for servers: all zeros means "no port" (`Ok(None)`);
/// a bad port gets keepalived's number message (the caller adds its own).
fn server_port(ctx: &mut Ctx<'_>, w: Option<&Word>) -> Result<Option<u16>, ()> {
    let Some(w) = w else { return Ok(None) };
    if w.text.bytes().all(|b| b == b'0') {
        return Ok(None);
    }
    read_unsigned(ctx, w.span, &w.text, 1, 65535)
        .map(|p| Some(p as u16))
        .ok_or(())
}

/// An address as keepalived's `inet_stosockaddr` reads it (IPv6 may be bracketed).
pub(super) fn parse_addr(s: &str) -> Option<IpAddr> {
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    values::parse_ip(s).ok()
}

/// `NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]` (keepalived's
/// `svr_forwarding_handler`); `s_type` is "virtual", "real" or "sorry". As in keepalived,
/// an error in the tunnel options still selects TUN (with the default ipip encapsulation).
fn parse_forwarding(ctx: &mut Ctx<'_>, node: &Node, s_type: &str) -> Option<ForwardingMethod> {
    let args = node.args();
    let method = ctx.arg(node, 0, "forwarding method")?;
    match method.text.as_str() {
        "NAT" => return Some(ForwardingMethod::Nat),
        "DR" => return Some(ForwardingMethod::Dr),
        "TUN" => {}
        other => {
            ctx.error(
                method.span,
                format!("PARSER : unknown [{other}] routing method for {s_type} server."),
            );
            return None;
        }
    }
    let mut tun = 0u8; // 0 ipip, 1 gue, 2 gre
    let mut port: u16 = 0;
    let mut csum = TunnelCsum::NoCsum;
    let mut i = 1;
    while i < args.len() {
        let w = &args[i];
        match w.text.as_str() {
            "type" => {
                let Some(t) = args.get(i + 1) else {
                    ctx.error(w.span, format!("Missing tunnel type for {s_type} server."));
                    return Some(ForwardingMethod::TUN);
                };
                tun = match t.text.as_str() {
                    "ipip" => 0,
                    "gue" => 1,
                    "gre" => 2,
                    other => {
                        ctx.error(
                            t.span,
                            format!("Unknown tunnel type {other} for {s_type} server."),
                        );
                        return Some(ForwardingMethod::TUN);
                    }
                };
                i += 1;
            }
            "port" => {
                let Some(p) = args.get(i + 1) else {
                    ctx.error(
                        w.span,
                        format!("Missing port for {s_type} server gue tunnel."),
                    );
                    return Some(ForwardingMethod::TUN);
                };
                match read_unsigned(ctx, p.span, &p.text, 1, 65535) {
                    Some(v) => port = v as u16,
                    None => {
                        ctx.error(
                            p.span,
                            format!("Invalid gue tunnel port {} for {s_type} server.", p.text),
                        );
                        return Some(ForwardingMethod::TUN);
                    }
                }
                i += 1;
            }
            "nocsum" => csum = TunnelCsum::NoCsum,
            "csum" => csum = TunnelCsum::Csum,
            "remcsum" => csum = TunnelCsum::RemCsum,
            other => {
                ctx.error(
                    w.span,
                    format!("Invalid tunnel option {other} for {s_type} server."),
                );
                return Some(ForwardingMethod::TUN);
            }
        }
        i += 1;
    }
    if (tun == 1) != (port != 0) {
        ctx.error(
            node.span(),
            "gue tunnels require port, otherwise cannot have port.",
        );
        return Some(ForwardingMethod::TUN);
    }
    if tun == 0 && csum != TunnelCsum::NoCsum {
        ctx.error(node.span(), "ipip tunnels do not support checksum option.");
        return Some(ForwardingMethod::TUN);
    }
    if tun == 2 && csum == TunnelCsum::RemCsum {
        ctx.error(
            node.span(),
            "gre tunnels do not support remote checksum option.",
        );
        return Some(ForwardingMethod::TUN);
    }
    let tunnel = match tun {
        0 => TunnelType::Ipip,
        1 => TunnelType::Gue { port },
        _ => TunnelType::Gre,
    };
    Some(ForwardingMethod::Tun { tunnel, csum })
}

// ---------------------------------------------------------------------------------------
// SSL { }

fn ssl_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if !need_block(ctx, node) {
        return;
    }
    if cfg.lvs.ssl.is_some() {
        ctx.warning(node.span(), "SSL context already specified - replacing");
    }
    let mut ssl = SslConfig {
        span: node.span(),
        ..SslConfig::default()
    };
    ctx.dispatch(node.children(), &ssl_table(), &mut ssl);
    cfg.lvs.ssl = Some(ssl);
}

fn ssl_table() -> Vec<Kw<SslConfig>> {
    vec![
        Kw::accepted("password", Tier::T3, |c, n, s| {
            ssl_file(c, n, &mut s.password, "password")
        }),
        Kw::accepted("ca", Tier::T3, |c, n, s| {
            ssl_file(c, n, &mut s.ca, "cafile")
        }),
        Kw::accepted("certificate", Tier::T3, |c, n, s| {
            ssl_file(c, n, &mut s.certificate, "certfile")
        }),
        Kw::accepted("key", Tier::T3, |c, n, s| {
            ssl_file(c, n, &mut s.key, "keyfile")
        }),
    ]
}

fn ssl_file(ctx: &mut Ctx<'_>, node: &Node, slot: &mut Option<String>, what: &str) {
    let Some(w) = node.args().first() else {
        ctx.error(node.span(), format!("SSL {what} missing"));
        return;
    };
    if slot.is_some() {
        ctx.warning(
            node.span(),
            format!("SSL {what} already specified - replacing"),
        );
    }
    *slot = Some(w.text.clone());
}

// ---------------------------------------------------------------------------------------
// virtual_server_group NAME { entries }

fn vsg_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if !need_block(ctx, node) {
        return;
    }
    let Some(name) = ctx.arg(node, 0, "group name") else {
        return;
    };
    let name = name.text.clone();
    let mut g = VirtualServerGroup {
        name: name.clone(),
        entries: Vec::new(),
        span: node.span(),
    };
    // Words after the name on the header line form a first entry, as in keepalived.
    let header_entry = (node.words.len() > 2).then(|| node.words[2..].to_vec());
    let items = header_entry
        .into_iter()
        .chain(node.children().iter().map(|n| n.words.clone()));
    for words in items {
        if let Some(e) = vsg_entry(ctx, &name, &words) {
            g.entries.push(e);
        }
    }
    let (mut v4, mut v6, mut fwm_no_family) = (false, false, false);
    for e in &g.entries {
        match e {
            VsgEntry::Range { first, .. } => {
                if first.is_ipv4() {
                    v4 = true
                } else {
                    v6 = true
                }
            }
            VsgEntry::Fwmark { family, .. } => match family {
                Some(IpFamily::Inet) => v4 = true,
                Some(IpFamily::Inet6) => v6 = true,
                None => fwm_no_family = true,
            },
        }
    }
    if g.entries.is_empty() {
        ctx.error(
            node.span(),
            format!("virtual server group {name} has no entries - removing"),
        );
    } else if v4 && v6 && fwm_no_family {
        ctx.error(
            node.span(),
            format!(
                "virtual server group {name} cannot have IPv4, IPv6 and fwmark without family - removing"
            ),
        );
    } else {
        cfg.lvs.virtual_server_groups.push(g);
    }
}

/// One entry of a virtual server group (keepalived's `alloc_vsg_entry`).
fn vsg_entry(ctx: &mut Ctx<'_>, gname: &str, words: &[Word]) -> Option<VsgEntry> {
    let first = words.first()?;
    let span = first.span;
    let addr_str = first.text.as_str();
    if addr_str == "fwmark" {
        let text = words.get(1).map(|w| w.text.as_str()).unwrap_or("");
        let Some(mark) = read_unsigned(ctx, span, text, 0, u64::from(u32::MAX)) else {
            ctx.error(
                span,
                format!(
                    "({gname}): fwmark '{text}' must be in [0, {}] - ignoring",
                    u32::MAX
                ),
            );
            return None;
        };
        let family = match words.get(2).map(|w| w.text.as_str()) {
            None => None,
            Some("inet") => Some(IpFamily::Inet),
            Some("inet6") => Some(IpFamily::Inet6),
            Some(other) => {
                ctx.error(
                    span,
                    format!("({gname}): fwmark '{mark}' family {other} unknown - ignoring"),
                );
                return None;
            }
        };
        return Some(VsgEntry::Fwmark {
            mark: mark as u32,
            family,
            span,
        });
    }

    let port_word = words.get(1).filter(|w| !w.text.bytes().all(|b| b == b'0'));
    let bad_addr = |ctx: &mut Ctx<'_>| {
        let port_part = port_word
            .map(|p| format!("/port/{}", p.text))
            .unwrap_or_default();
        ctx.error(
            span,
            format!("Invalid virtual server group IP address {addr_str} {port_part} - skipping"),
        );
    };
    let port = match port_word {
        None => 0,
        Some(p) => match read_unsigned(ctx, p.span, &p.text, 1, 65535) {
            Some(v) => v as u16,
            None => {
                bad_addr(ctx);
                return None;
            }
        },
    };
    // The family follows from a ':' anywhere; the address ends at the first '-' or '/'.
    let v6 = addr_str.contains(':');
    let base_end = addr_str.find(['-', '/']).unwrap_or(addr_str.len());
    let base = match values::parse_ip(&addr_str[..base_end]) {
        Ok(a) if a.is_ipv6() == v6 => a,
        _ => {
            bad_addr(ctx);
            return None;
        }
    };
    let bits: u32 = if v6 { 128 } else { 32 };
    let start = ip_to_u128(&base);

    let last = if let Some(mask_str) = addr_str.split_once('/').map(|(_, m)| m) {
        let mask = match mask_str.parse::<u32>() {
            Ok(m) if m > 0 && m <= bits && mask_str.bytes().all(|b| b.is_ascii_digit()) => m,
            _ => {
                ctx.error(span, format!("Invalid netmask - {addr_str} - skipping"));
                return None;
            }
        };
        let host: u128 = if mask >= bits {
            0
        } else {
            (1u128 << (bits - mask)) - 1
        };
        if start & host != 0 {
            ctx.error(
                span,
                format!("Address mask bits not empty - {addr_str} - skipping"),
            );
            return None;
        }
        u128_to_ip(start | host, !v6)
    } else if let Some((_, end_str)) = addr_str.split_once('-') {
        let full = if v6 {
            end_str.contains(':')
        } else {
            end_str.contains('.')
        };
        if full {
            let Some(end) = parse_addr(end_str) else {
                ctx.error(span, format!("Invalid range end {addr_str} - skipping"));
                return None;
            };
            if end.is_ipv6() != v6 {
                ctx.error(
                    span,
                    format!("Range address families do not match {addr_str} - skipping"),
                );
                return None;
            }
            if ip_to_u128(&end) < start {
                ctx.error(
                    span,
                    format!(
                        "Address range end is less than address range start - {addr_str} - skipping"
                    ),
                );
                return None;
            }
            end
        } else {
            // keepalived's inet_stor: decimal last octet (IPv4), hex last group (IPv6).
            let radix = if v6 { 16 } else { 10 };
            let digits = end_str
                .find(|c: char| !c.is_digit(radix))
                .unwrap_or(end_str.len());
            if digits < end_str.len() {
                ctx.error(
                    span,
                    format!(
                        "Virtual server group range '{addr_str}' has extra characters at end '{}'",
                        &end_str[digits..]
                    ),
                );
                return None;
            }
            let max: u128 = if v6 { 0xffff } else { 0xff };
            let range = match u128::from_str_radix(end_str, radix) {
                Ok(r) if r <= max => r,
                Err(_) if end_str.is_empty() => 0,
                _ => {
                    ctx.error(
                        span,
                        format!(
                            "Virtual server group range '{addr_str}' end '{end_str}' too large"
                        ),
                    );
                    return None;
                }
            };
            if start & max >= range {
                ctx.error(
                    span,
                    format!(
                        "Address range end is not greater than address range start - {addr_str} - skipping"
                    ),
                );
                return None;
            }
            u128_to_ip((start & !max) | range, !v6)
        }
    } else {
        base
    };
    Some(VsgEntry::Range {
        first: base,
        last,
        port,
        span,
    })
}

// ---------------------------------------------------------------------------------------
// virtual_server IP PORT | fwmark N | group NAME { ... }

impl VirtualServer {
    /// A virtual server with keepalived's `alloc_vs` defaults.
    pub fn new(address: VsAddress, span: Span) -> Self {
        let family = match &address {
            VsAddress::Ip { addr, .. } => Some(IpFamily::of(addr)),
            _ => None,
        };
        VirtualServer {
            address,
            family,
            protocol: None,
            scheduler: Scheduler::Wlc,
            configured_scheduler: None,
            forwarding: ForwardingMethod::Nat,
            configured_forwarding: None,
            persistence_timeout_s: None,
            persistence_granularity: None,
            persistence_engine: None,
            flags: ServiceFlags::default(),
            delay_loop_us: DEFAULT_DELAY_LOOP_US,
            connect_timeout_us: DEFAULT_CONNECT_TIMEOUT_US,
            timing: Timing::default(),
            inhibit_on_failure: false,
            alpha: false,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            sorry_server: None,
            ha_suspend: false,
            weight: 1,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            real_servers: Vec::new(),
            span,
        }
    }
}

fn vs_handler(ctx: &mut Ctx<'_>, node: &Node, cfg: &mut Config) {
    if !need_block(ctx, node) {
        return;
    }
    let args = node.args();
    let Some(first) = args.first() else {
        ctx.error(node.span(), "virtual_server: missing address");
        return;
    };
    let address = match first.text.as_str() {
        "group" => match args.get(1) {
            Some(n) => VsAddress::Group(n.text.clone()),
            None => {
                ctx.error(node.span(), "virtual_server: missing group name");
                return;
            }
        },
        "fwmark" => {
            let text = args.get(1).map(|w| w.text.as_str()).unwrap_or("");
            match read_unsigned(ctx, first.span, text, 0, u64::from(u32::MAX)) {
                Some(m) => VsAddress::Fwmark(m as u32),
                None => {
                    ctx.error(
                        first.span,
                        format!(
                            "virtual server fwmark '{text}' must be in [0, {}] - ignoring",
                            u32::MAX
                        ),
                    );
                    return;
                }
            }
        }
        ip => {
            let port_word = args.get(1);
            let port = server_port(ctx, port_word);
            match (parse_addr(ip), port) {
                (Some(addr), Ok(port)) => VsAddress::Ip {
                    addr,
                    port: port.unwrap_or(0),
                },
                _ => {
                    let msg = match port_word.filter(|w| !w.text.bytes().all(|b| b == b'0')) {
                        Some(p) => format!(
                            "Invalid virtual server IP address/port {ip}/{} - skipping",
                            p.text
                        ),
                        None => format!("Invalid virtual server IP address {ip} - skipping"),
                    };
                    ctx.error(first.span, msg);
                    return;
                }
            }
        }
    };
    let mut vs = VirtualServer::new(address, node.span());
    ctx.dispatch(node.children(), &vs_table(), &mut vs);
    vs_end(ctx, &mut vs);
    cfg.lvs.virtual_servers.push(vs);
}

/// keepalived's `vs_end_handler`: the sorry server's family, and the family of a fwmark
/// service whose servers are all tunnelled.
fn vs_end(ctx: &mut Ctx<'_>, vs: &mut VirtualServer) {
    if let Some(ss) = &vs.sorry_server {
        let fwd = ss.configured_forwarding.or(vs.configured_forwarding);
        if !fwd.is_some_and(ForwardingMethod::is_tunnel) {
            let fam = IpFamily::of(&ss.addr);
            match vs.family {
                None => vs.family = Some(fam),
                Some(f) if f != fam => {
                    ctx.error(
                        ss.span,
                        format!(
                            "Address family of virtual server and sorry server {} don't match - skipping sorry server.",
                            ss.addr
                        ),
                    );
                    vs.sorry_server = None;
                }
                Some(_) => {}
            }
        }
    }
    if vs.family.is_none() && vs.group_name().is_none() {
        let mut fam = vs.sorry_server.as_ref().map(|s| IpFamily::of(&s.addr));
        let mut mixed = false;
        for rs in &vs.real_servers {
            let f = IpFamily::of(&rs.addr);
            match fam {
                None => fam = Some(f),
                Some(x) if x != f => {
                    mixed = true;
                    break;
                }
                Some(_) => {}
            }
        }
        vs.family = Some(if mixed {
            IpFamily::Inet
        } else {
            fam.unwrap_or(IpFamily::Inet)
        });
    }
}

fn vs_table() -> Vec<Kw<VirtualServer>> {
    use Tier::*;
    vec![
        Kw::new("ip_family", T3, vs_ip_family),
        Kw::new("retry", T2, |c, n, vs| {
            if let Some(v) = kl_uint(c, n, 0, 1, u64::from(u32::MAX), |s| {
                format!("retry value invalid - {s}")
            }) {
                vs.timing.retry = Some(v as u32);
            }
        }),
        Kw::new("delay_before_retry", T2, |c, n, vs| {
            if let Some(v) = kl_timer(c, n, 0, u64::MAX, |s| {
                format!("virtual server delay before retry '{s}' invalid - ignoring")
            }) {
                vs.timing.delay_before_retry_us = Some(v);
            }
        }),
        Kw::accepted("warmup", T3, |c, n, vs| {
            if let Some(v) = kl_timer(c, n, 0, u64::MAX, |s| {
                format!("virtual server warmup '{s}' invalid - ignoring")
            }) {
                vs.timing.warmup_us = Some(v);
            }
        }),
        Kw::new("connect_timeout", T2, |c, n, vs| {
            if let Some(v) = kl_timer(c, n, 1, u64::from(u32::MAX), |s| {
                format!("virtual server connect_timeout {s} invalid - ignoring")
            }) {
                vs.timing.connect_timeout_us = Some(v);
                vs.connect_timeout_us = v;
            }
        }),
        Kw::new("delay_loop", T1, |c, n, vs| {
            if let Some(v) = kl_timer(c, n, 1, u64::MAX, |s| {
                format!("virtual server delay loop '{s}' invalid - ignoring")
            }) {
                vs.timing.delay_loop_us = Some(v);
                vs.delay_loop_us = v;
            }
        }),
        Kw::new("inhibit_on_failure", T2, |_, _, vs| {
            vs.inhibit_on_failure = true
        }),
        Kw::new("lb_algo", T1, vs_sched),
        Kw::new("lvs_sched", T1, vs_sched),
        Kw::new("hashed", T3, vs_lbflags),
        Kw::new("ops", T3, vs_lbflags),
        Kw::new("flag-1", T3, vs_lbflags),
        Kw::new("flag-2", T3, vs_lbflags),
        Kw::new("flag-3", T3, vs_lbflags),
        Kw::new("sh-port", T3, vs_lbflags),
        Kw::new("sh-fallback", T3, vs_lbflags),
        Kw::new("mh-port", T3, vs_lbflags),
        Kw::new("mh-fallback", T3, vs_lbflags),
        Kw::new("lb_kind", T1, vs_forwarding),
        Kw::new("lvs_method", T1, vs_forwarding),
        Kw::new("persistence_engine", T3, |c, n, vs| {
            if let Some(w) = c.arg(n, 0, "persistence engine name") {
                let mut name = w.text.clone();
                if name.len() > 15 {
                    c.error(
                        w.span,
                        format!("persistence_name too long, truncating - {}", w.text),
                    );
                    name = name.chars().take(15).collect();
                }
                vs.persistence_engine = Some(name);
            }
        }),
        Kw::new("persistence_timeout", T1, |c, n, vs| {
            if n.args().is_empty() {
                vs.persistence_timeout_s = Some(DEFAULT_PERSISTENCE_TIMEOUT_S);
                return;
            }
            let t = kl_uint(c, n, 0, 1, u64::from(MAX_PERSISTENCE_TIMEOUT_S), |_| {
                "persistence_timeout invalid".to_string()
            });
            if let Some(t) = t {
                vs.persistence_timeout_s = Some(t as u32);
            }
        }),
        Kw::new("persistence_granularity", T3, vs_granularity),
        Kw::new("protocol", T1, |c, n, vs| {
            let Some(w) = c.arg(n, 0, "protocol") else {
                return;
            };
            match w.text.to_ascii_uppercase().as_str() {
                "TCP" => vs.protocol = Some(Protocol::Tcp),
                "UDP" => vs.protocol = Some(Protocol::Udp),
                "SCTP" => vs.protocol = Some(Protocol::Sctp),
                _ => c.error(w.span, format!("Unknown protocol {} - ignoring", w.text)),
            }
        }),
        Kw::accepted("ha_suspend", T3, |_, _, vs| vs.ha_suspend = true),
        Kw::accepted("smtp_alert", T3, |c, n, vs| {
            if let Some(b) = kl_bool(c, n, |s| {
                format!("Invalid virtual_server smtp_alert parameter {s}")
            }) {
                vs.smtp_alert = Some(b);
            }
        }),
        Kw::accepted("virtualhost", T3, |c, n, vs| {
            if let Some(s) = kl_string(c, n, "virtual server virtualhost missing") {
                vs.virtualhost = Some(s);
            }
        }),
        Kw::accepted("snmp_name", T3, |c, n, vs| {
            if n.args().len() != 1 {
                c.error(
                    n.span(),
                    "virtual server snmp_name missing or extra parameters",
                );
                return;
            }
            vs.snmp_name = Some(n.args()[0].text.clone());
        }),
        Kw::new("alpha", T2, |_, _, vs| vs.alpha = true),
        Kw::new("omega", T3, |_, _, vs| vs.omega = true),
        Kw::new("quorum_up", T3, |c, n, vs| vs_quorum_script(c, n, vs, true)),
        Kw::new("quorum_down", T3, |c, n, vs| {
            vs_quorum_script(c, n, vs, false)
        }),
        Kw::new("quorum", T3, |c, n, vs| {
            let q = kl_uint(c, n, 0, 1, u64::from(u32::MAX), |s| {
                format!("Quorum {s} must be in [1, {}]. Setting to 1.", u32::MAX)
            });
            vs.quorum = q.map(|q| q as u32).unwrap_or(1);
        }),
        Kw::new("hysteresis", T3, |c, n, vs| {
            if let Some(h) = kl_uint(c, n, 0, 0, u64::from(u32::MAX), |s| {
                format!("Hysteresis {s} must be in [0, {}] - ignoring", u32::MAX)
            }) {
                vs.hysteresis = h as u32;
            }
        }),
        Kw::new("weight", T3, |c, n, vs| {
            if let Some(w) = kl_uint(c, n, 0, 1, u64::from(IPVS_WEIGHT_LIMIT), |s| {
                format!(
                    "Virtual server weight {s} is outside range 1-{}",
                    IPVS_WEIGHT_LIMIT
                )
            }) {
                vs.weight = w as u32;
            }
        }),
        Kw::new("sorry_server", T2, vs_sorry_server),
        Kw::new("sorry_server_inhibit", T3, |c, n, vs| {
            match &mut vs.sorry_server {
                Some(ss) => ss.inhibit = true,
                None => c.error(
                    n.span(),
                    "Ignoring sorry_server inhibit used before or without sorry_server",
                ),
            }
        }),
        Kw::new("sorry_server_lvs_method", T3, |c, n, vs| {
            if vs.sorry_server.is_none() {
                c.error(
                    n.span(),
                    "sorry_server forwarding used without sorry_server",
                );
                return;
            }
            if let Some(f) = parse_forwarding(c, n, "sorry") {
                if let Some(ss) = &mut vs.sorry_server {
                    ss.configured_forwarding = Some(f);
                }
            }
        }),
        Kw::new("real_server", T1, rs_handler),
    ]
}

fn vs_ip_family(ctx: &mut Ctx<'_>, node: &Node, vs: &mut VirtualServer) {
    let Some(w) = ctx.arg(node, 0, "address family") else {
        return;
    };
    let fam = match w.text.as_str() {
        "inet" => IpFamily::Inet,
        "inet6" => IpFamily::Inet6,
        other => {
            ctx.error(w.span, format!("unknown address family {other}"));
            return;
        }
    };
    match vs.family {
        Some(f) if f != fam => ctx.error(
            w.span,
            format!(
                "Virtual server specified family {} conflicts with server family",
                w.text
            ),
        ),
        _ => vs.family = Some(fam),
    }
}

fn vs_sched(ctx: &mut Ctx<'_>, node: &Node, vs: &mut VirtualServer) {
    let Some(w) = ctx.arg(node, 0, "scheduler") else {
        return;
    };
    match Scheduler::from_name(&w.text) {
        Some(s) => vs.configured_scheduler = Some(s),
        None => ctx.error(
            w.span,
            format!("Invalid lvs_scheduler '{}' - ignoring", w.text),
        ),
    }
}

/// `ops`, `flag-N`, `sh-*`, `mh-*` and `hashed` (keepalived's `lbflags_handler`): the sh and
/// mh flags only apply when that scheduler was set before them; with the other of the two
/// they are silently ignored, with any other scheduler reported.
fn vs_lbflags(ctx: &mut Ctx<'_>, node: &Node, vs: &mut VirtualServer) {
    let kw = node.keyword();
    let f = &mut vs.flags;
    match kw {
        "ops" => f.one_packet = true,
        "flag-1" => f.sched1 = true,
        "flag-2" => f.sched2 = true,
        "flag-3" => f.sched3 = true,
        _ => match vs.configured_scheduler {
            Some(Scheduler::Sh) => match kw {
                "sh-port" => f.sched2 = true,
                "sh-fallback" => f.sched1 = true,
                _ => {}
            },
            Some(Scheduler::Mh) => match kw {
                "mh-port" => f.sched2 = true,
                "mh-fallback" => f.sched1 = true,
                _ => {}
            },
            _ => ctx.error(
                node.span(),
                format!("{kw} only applies to sh scheduler - ignoring"),
            ),
        },
    }
}

fn vs_forwarding(ctx: &mut Ctx<'_>, node: &Node, vs: &mut VirtualServer) {
    if let Some(f) = parse_forwarding(ctx, node, "virtual") {
        vs.configured_forwarding = Some(f);
    }
}

fn vs_granularity(ctx: &mut Ctx<'_>, node: &Node, vs: &mut VirtualServer) {
    let Some(w) = ctx.arg(node, 0, "granularity") else {
        return;
    };
    let fam = vs.family.unwrap_or(if w.text.contains('.') {
        IpFamily::Inet
    } else {
        IpFamily::Inet6
    });
    let g = match fam {
        IpFamily::Inet6 => match read_unsigned(ctx, w.span, &w.text, 1, 128) {
            Some(l) => PersistenceGranularity::V6PrefixLen(l as u8),
            None => {
                ctx.error(
                    w.span,
                    format!(
                        "Invalid IPv6 persistence_granularity specified - {}",
                        w.text
                    ),
                );
                return;
            }
        },
        IpFamily::Inet => match w.text.parse() {
            Ok(a) => PersistenceGranularity::V4Netmask(a),
            Err(_) => {
                ctx.error(
                    w.span,
                    format!(
                        "Invalid IPv4 persistence_granularity specified - {}",
                        w.text
                    ),
                );
                return;
            }
        },
    };
    vs.persistence_granularity = Some(g);
    if vs.family.is_none() {
        vs.family = Some(fam);
    }
    if vs.persistence_timeout_s.is_none() {
        vs.persistence_timeout_s = Some(DEFAULT_PERSISTENCE_TIMEOUT_S);
    }
}

fn vs_quorum_script(ctx: &mut Ctx<'_>, node: &Node, vs: &mut VirtualServer, up: bool) {
    let (slot, what) = if up {
        (&mut vs.quorum_up, "quorum_up")
    } else {
        (&mut vs.quorum_down, "quorum_down")
    };
    if slot.is_some() {
        let arg = node.args().first().map(|w| w.text.as_str()).unwrap_or("");
        let g = match &vs.address {
            VsAddress::Group(g) => g.as_str(),
            _ => "(null)",
        };
        ctx.error(
            node.span(),
            format!("({g}) {what} script already specified - ignoring {arg}"),
        );
        return;
    }
    if let Some(s) = super::parse_script(ctx, node, 0) {
        *slot = Some(s);
    }
}

fn vs_sorry_server(ctx: &mut Ctx<'_>, node: &Node, vs: &mut VirtualServer) {
    let Some(ip) = ctx.arg(node, 0, "address") else {
        return;
    };
    match (parse_addr(&ip.text), server_port(ctx, node.args().get(1))) {
        (Some(addr), Ok(port)) => {
            vs.sorry_server = Some(SorryServer {
                addr,
                port: port.unwrap_or(0),
                forwarding: ForwardingMethod::Nat,
                configured_forwarding: None,
                inhibit: false,
                duplicates_rs: false,
                span: node.span(),
            })
        }
        _ => ctx.error(
            ip.span,
            format!("Invalid sorry server IP address {} - skipping", ip.text),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// real_server IP [PORT] { ... }

/// A real server being read, with what its handlers need to know of the virtual server.
pub(super) struct RsBuild {
    pub rs: RealServer,
    /// The virtual server's group name ("(null)" otherwise), for keepalived's messages.
    pub vsgname: String,
    /// The virtual server's protocol when the real server was read (for `FMT_RS`).
    pub vs_protocol: Option<Protocol>,
}

impl RsBuild {
    /// keepalived's `FMT_RS` while parsing: `[ADDR]:PROTO:PORT` with the port as written.
    pub fn rs_name(&self) -> String {
        format_trio(&self.rs.addr, self.vs_protocol, self.rs.configured_port)
    }
}

impl RealServer {
    /// A real server with keepalived's `alloc_rs` defaults (inherited values unresolved).
    pub fn new(addr: IpAddr, port: u16, span: Span) -> Self {
        RealServer {
            addr,
            port,
            configured_port: port,
            weight: 1,
            configured_weight: None,
            forwarding: ForwardingMethod::Nat,
            configured_forwarding: None,
            u_threshold: 0,
            l_threshold: 0,
            inhibit_on_failure: false,
            configured_inhibit: None,
            alpha: false,
            notify_up: None,
            notify_down: None,
            delay_loop_us: DEFAULT_DELAY_LOOP_US,
            connect_timeout_us: DEFAULT_CONNECT_TIMEOUT_US,
            timing: Timing::default(),
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            checkers: Vec::new(),
            span,
        }
    }
}

fn rs_handler(ctx: &mut Ctx<'_>, node: &Node, vs: &mut VirtualServer) {
    if !need_block(ctx, node) {
        return;
    }
    let Some(ip) = ctx.arg(node, 0, "address") else {
        return;
    };
    let port_word = node.args().get(1);
    let (addr, port) = match (parse_addr(&ip.text), server_port(ctx, port_word)) {
        (Some(a), Ok(p)) => (a, p.unwrap_or(0)),
        _ => {
            let p = port_word.map(|w| w.text.as_str()).unwrap_or("(null)");
            ctx.error(
                ip.span,
                format!(
                    "Invalid real server ip address/port {}/{p} - skipping",
                    ip.text
                ),
            );
            return;
        }
    };
    let mut b = RsBuild {
        rs: RealServer::new(addr, port, node.span()),
        vsgname: vs.group_name().unwrap_or("(null)").to_string(),
        vs_protocol: vs.protocol,
    };
    ctx.dispatch(node.children(), &rs_table(), &mut b);
    let rs = b.rs;
    // keepalived's rs_end_handler: tunnelled servers may be of another family.
    let fwd = rs.configured_forwarding.or(vs.configured_forwarding);
    if !fwd.is_some_and(ForwardingMethod::is_tunnel) {
        let fam = IpFamily::of(&rs.addr);
        match vs.family {
            None => vs.family = Some(fam),
            Some(f) if f != fam => {
                ctx.error(
                    node.span(),
                    format!(
                        "Address family of virtual server and real server {} don't match - skipping real server.",
                        rs.addr
                    ),
                );
                return;
            }
            Some(_) => {}
        }
    }
    vs.real_servers.push(rs);
}

fn rs_table() -> Vec<Kw<RsBuild>> {
    use super::check_api as ck;
    use Tier::*;
    vec![
        Kw::new("weight", T1, |c, n, b| {
            if let Some(w) = kl_uint(c, n, 0, 0, u64::from(IPVS_WEIGHT_LIMIT), |s| {
                format!(
                    "Real server weight {s} is outside range 0-{}",
                    IPVS_WEIGHT_LIMIT
                )
            }) {
                b.rs.configured_weight = Some(w as u32);
            }
        }),
        Kw::new("lvs_method", T3, |c, n, b| {
            if let Some(f) = parse_forwarding(c, n, "real") {
                b.rs.configured_forwarding = Some(f);
            }
        }),
        Kw::new("uthreshold", T3, |c, n, b| {
            if let Some(v) = kl_uint(c, n, 0, 0, u64::from(u32::MAX), |s| {
                format!("Invalid real_server uthreshold '{s}' - ignoring")
            }) {
                b.rs.u_threshold = v as u32;
            }
        }),
        Kw::new("lthreshold", T3, |c, n, b| {
            if let Some(v) = kl_uint(c, n, 0, 0, u64::from(u32::MAX), |s| {
                format!("Invalid real_server lthreshold '{s}' - ignoring")
            }) {
                b.rs.l_threshold = v as u32;
            }
        }),
        Kw::new("inhibit_on_failure", T2, |c, n, b| {
            if let Some(v) = kl_bool(c, n, |s| {
                format!("Invalid inhibit_on_failure parameter {s}")
            }) {
                b.rs.configured_inhibit = Some(v);
            }
        }),
        Kw::new("notify_up", T2, |c, n, b| rs_notify(c, n, b, true)),
        Kw::new("notify_down", T2, |c, n, b| rs_notify(c, n, b, false)),
        Kw::new("alpha", T3, |c, n, b| {
            if let Some(v) = kl_bool(c, n, |s| format!("Invalid alpha parameter {s}")) {
                b.rs.timing.alpha = Some(v);
            }
        }),
        Kw::accepted("retry", T3, |c, n, b| {
            if let Some(v) = kl_uint(c, n, 0, 1, u64::from(u32::MAX), |s| {
                format!("retry value invalid - {s}")
            }) {
                b.rs.timing.retry = Some(v as u32);
            }
        }),
        Kw::accepted("delay_before_retry", T3, |c, n, b| {
            if let Some(v) = kl_timer(c, n, 0, u64::MAX, |s| {
                format!("real server delay_before_retry '{s}' invalid - ignoring")
            }) {
                b.rs.timing.delay_before_retry_us = Some(v);
            }
        }),
        Kw::accepted("warmup", T3, |c, n, b| {
            if let Some(v) = kl_timer(c, n, 0, u64::MAX, |s| {
                format!("real server warmup '{s}' invalid - ignoring")
            }) {
                b.rs.timing.warmup_us = Some(v);
            }
        }),
        Kw::new("connect_timeout", T2, |c, n, b| {
            if let Some(v) = kl_timer(c, n, 1, u64::from(u32::MAX), |s| {
                format!("real server connect_timeout {s} invalid - ignoring")
            }) {
                b.rs.timing.connect_timeout_us = Some(v);
            }
        }),
        Kw::accepted("delay_loop", T3, |c, n, b| {
            if let Some(v) = kl_timer(c, n, 1, u64::MAX, |s| {
                format!("real server delay_loop '{s}' invalid - ignoring")
            }) {
                b.rs.timing.delay_loop_us = Some(v);
            }
        }),
        Kw::accepted("smtp_alert", T3, |c, n, b| {
            if let Some(v) = kl_bool(c, n, |s| {
                format!("Invalid real_server smtp_alert parameter {s}")
            }) {
                b.rs.smtp_alert = Some(v);
            }
        }),
        Kw::accepted("virtualhost", T3, |c, n, b| {
            if let Some(s) = kl_string(c, n, "real server virtualhost missing") {
                b.rs.virtualhost = Some(s);
            }
        }),
        Kw::accepted("snmp_name", T3, |c, n, b| {
            if n.args().len() != 1 {
                c.error(
                    n.span(),
                    "real server snmp_name missing or extra parameters",
                );
                return;
            }
            b.rs.snmp_name = Some(n.args()[0].text.clone());
        }),
        Kw::new("TCP_CHECK", T1, ck::tcp_check),
        Kw::new("HTTP_GET", T1, super::check_http::http_get),
        Kw::new("SSL_GET", T2, super::check_http::ssl_get),
        Kw::new("MISC_CHECK", T2, super::check_misc::misc_check),
        Kw::accepted("SMTP_CHECK", T3, super::check_smtp::smtp_check),
        Kw::accepted("DNS_CHECK", T3, super::check_dns::dns_check),
        Kw::accepted("UDP_CHECK", T3, super::check_udp::udp_check),
        Kw::accepted("PING_CHECK", T3, ck::ping_check),
        Kw::accepted("FILE_CHECK", T3, super::check_file::file_check),
        Kw::new("BFD_CHECK", T3, super::check_file::bfd_check),
    ]
}

fn rs_notify(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild, up: bool) {
    let (slot, what) = if up {
        (&mut b.rs.notify_up, "notify_up")
    } else {
        (&mut b.rs.notify_down, "notify_down")
    };
    if slot.is_some() {
        let arg = node.args().first().map(|w| w.text.as_str()).unwrap_or("");
        ctx.error(
            node.span(),
            format!(
                "({}) {what} script already specified - ignoring {arg}",
                b.vsgname
            ),
        );
        return;
    }
    if let Some(s) = super::parse_script(ctx, node, 0) {
        *slot = Some(s);
    }
}

// ---------------------------------------------------------------------------------------
// Validation (keepalived's validate_check_config and the reference checks).

/// Cross-checks after every block was read.
pub fn validate(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let groups = std::mem::take(&mut cfg.lvs.virtual_server_groups);
    let vss = std::mem::take(&mut cfg.lvs.virtual_servers);
    let mut kept = Vec::with_capacity(vss.len());
    for mut vs in vss {
        let group = match &vs.address {
            VsAddress::Group(name) => match groups.iter().find(|g| &g.name == name) {
                Some(g) => Some(g),
                None => {
                    // keepalived only logs this, when it starts; -t passes.
                    ctx.note(
                        vs.span,
                        format!(
                            "Virtual server group {name} specified but not configured - ignoring virtual server {}",
                            vs.display_name()
                        ),
                    );
                    continue;
                }
            },
            _ => None,
        };
        if validate_vs(ctx, &mut vs, group) {
            kept.push(vs);
        }
    }
    cfg.lvs.virtual_server_groups = groups;
    cfg.lvs.virtual_servers = kept;
    super::check_api::validate_references(ctx, cfg);
}

/// One virtual server; false when it is dropped.
fn validate_vs(
    ctx: &mut Ctx<'_>,
    vs: &mut VirtualServer,
    group: Option<&VirtualServerGroup>,
) -> bool {
    if vs.real_servers.is_empty() {
        ctx.error(
            vs.span,
            format!(
                "Virtual server {} has no real servers - ignoring",
                vs.display_name()
            ),
        );
        return false;
    }
    let g_addrs = group.is_some_and(|g| g.has_addresses());
    let g_fwmarks = group.is_some_and(|g| g.has_fwmarks());

    if vs.ha_suspend && (vs.is_fwmark() || g_fwmarks) {
        ctx.warning(
            vs.span,
            format!(
                "Virtual server {}: cannot use ha_suspend with fwmarks - clearing ha_suspend",
                vs.display_name()
            ),
        );
        vs.ha_suspend = false;
    }

    let address_based = g_addrs || matches!(vs.address, VsAddress::Ip { .. });
    if address_based {
        if vs.protocol.is_none() {
            ctx.warning(
                vs.span,
                format!(
                    "Virtual server {}: no protocol set - defaulting to UDP",
                    vs.display_name()
                ),
            );
            vs.protocol = Some(Protocol::Udp);
        }
        if vs.flags.one_packet && vs.protocol != Some(Protocol::Udp) {
            ctx.warning(
                vs.span,
                format!(
                    "Virtual server {}: one packet scheduling requires UDP - resetting",
                    vs.display_name()
                ),
            );
            vs.flags.one_packet = false;
        }
        if vs.persistence_timeout_s.is_none() && group.is_none() && vs.port() == 0 {
            zero_port(ctx, vs);
        }
    }
    if vs.persistence_timeout_s.is_none() {
        if let Some(g) = group {
            if g.entries
                .iter()
                .any(|e| matches!(e, VsgEntry::Range { port: 0, .. }))
            {
                zero_port(ctx, vs);
            }
        }
    }
    if vs.protocol.is_some() && ((group.is_some() && !g_addrs && g_fwmarks) || vs.is_fwmark()) {
        ctx.warning(
            vs.span,
            format!(
                "Warning: Virtual server {}: protocol specified for fwmark - protocol will be ignored",
                vs.display_name()
            ),
        );
        vs.protocol = None;
    }
    match vs.configured_scheduler {
        Some(s) => vs.scheduler = s,
        None => {
            ctx.warning(
                vs.span,
                format!(
                    "Virtual server {}: no scheduler set, setting default 'wlc'",
                    vs.display_name()
                ),
            );
            vs.scheduler = Scheduler::Wlc;
            vs.configured_scheduler = Some(Scheduler::Wlc);
        }
    }

    resolve_real_servers(ctx, vs);

    // Quorum against the total weight (keepalived's TODO notwithstanding).
    let weight_sum: u64 = vs.real_servers.iter().map(|r| u64::from(r.weight)).sum();
    let weight_sum = weight_sum.min(u64::from(u32::MAX)) as u32;
    if vs.quorum > weight_sum {
        ctx.warning(
            vs.span,
            format!(
                "Warning - quorum {} for {} exceeds total weight of real servers {weight_sum}, reducing quorum to {weight_sum}",
                vs.quorum,
                vs.display_name()
            ),
        );
        vs.quorum = weight_sum;
    }
    if vs.hysteresis >= vs.quorum {
        let h = vs.quorum.wrapping_sub(1);
        ctx.warning(
            vs.span,
            format!(
                "Virtual server {}: hysteresis {} >= quorum {}; setting hysteresis to {h}",
                vs.display_name(),
                vs.hysteresis,
                vs.quorum
            ),
        );
        vs.hysteresis = h;
    }

    fix_ports(ctx, vs, group);
    super::check_api::resolve_checkers(ctx, vs);
    true
}

fn zero_port(ctx: &mut Ctx<'_>, vs: &mut VirtualServer) {
    ctx.warning(
        vs.span,
        format!(
            "Virtual server {}: zero port only valid for persistent services - setting",
            vs.display_name()
        ),
    );
    vs.persistence_timeout_s = Some(DEFAULT_PERSISTENCE_TIMEOUT_S);
}

/// Duplicates, forwarding defaults and inheritance from the virtual server.
fn resolve_real_servers(ctx: &mut Ctx<'_>, vs: &mut VirtualServer) {
    let rss = std::mem::take(&mut vs.real_servers);
    let mut kept: Vec<RealServer> = Vec::with_capacity(rss.len());
    for mut rs in rss {
        if kept
            .iter()
            .any(|k| k.addr == rs.addr && k.configured_port == rs.configured_port)
        {
            ctx.warning(
                rs.span,
                format!(
                    "VS {}: real server {} is duplicated - removing second rs",
                    vs.display_name(),
                    format_trio(&rs.addr, vs.protocol, rs.configured_port)
                ),
            );
            continue;
        }
        rs.forwarding = match rs.configured_forwarding {
            Some(f) => f,
            None => default_forwarding(ctx, vs),
        };
        rs.alpha = rs.timing.alpha.unwrap_or(vs.alpha);
        rs.inhibit_on_failure = rs.configured_inhibit.unwrap_or(vs.inhibit_on_failure);
        rs.connect_timeout_us = rs
            .timing
            .connect_timeout_us
            .unwrap_or(vs.connect_timeout_us);
        rs.delay_loop_us = rs.timing.delay_loop_us.unwrap_or(vs.delay_loop_us);
        rs.weight = rs.configured_weight.unwrap_or(vs.weight);
        if let Some(ss) = &mut vs.sorry_server {
            if ss.addr == rs.addr && ss.port == rs.configured_port {
                if ss.inhibit != rs.inhibit_on_failure {
                    ctx.warning(
                        vs.span,
                        format!(
                            "Virtual server {}: real server {} matches sorry server, but inhibit setting differs, {}ing on sorry server",
                            format_vs(&vs.address, vs.protocol),
                            format_trio(&rs.addr, vs.protocol, rs.configured_port),
                            if rs.inhibit_on_failure { "sett" } else { "clear" }
                        ),
                    );
                    ss.inhibit = rs.inhibit_on_failure;
                }
                ss.duplicates_rs = true;
            }
        }
        kept.push(rs);
    }
    vs.real_servers = kept;
    if vs.sorry_server.is_some() {
        let fwd = match vs
            .sorry_server
            .as_ref()
            .and_then(|s| s.configured_forwarding)
        {
            Some(f) => f,
            None => default_forwarding(ctx, vs),
        };
        if let Some(ss) = &mut vs.sorry_server {
            ss.forwarding = fwd;
        }
    }
    vs.forwarding = vs.configured_forwarding.unwrap_or(ForwardingMethod::Nat);
}

/// The virtual server's forwarding method, defaulting to NAT with keepalived's warning.
fn default_forwarding(ctx: &mut Ctx<'_>, vs: &mut VirtualServer) -> ForwardingMethod {
    match vs.configured_forwarding {
        Some(f) => f,
        None => {
            ctx.warning(
                vs.span,
                format!(
                    "Virtual server {}: no forwarding method set, setting default NAT",
                    vs.display_name()
                ),
            );
            vs.configured_forwarding = Some(ForwardingMethod::Nat);
            ForwardingMethod::Nat
        }
    }
}

/// Real and sorry server ports against the service port(s).
fn fix_ports(ctx: &mut Ctx<'_>, vs: &mut VirtualServer, group: Option<&VirtualServerGroup>) {
    let name = vs.display_name();
    let proto = vs.protocol;
    if let Some(g) = group {
        if g.has_fwmarks() {
            for rs in &vs.real_servers {
                if !rs.forwarding.is_nat() && rs.port != 0 {
                    ctx.warning(
                        rs.span,
                        format!(
                            "WARNING - fwmark virtual server {name}, real server {} has port specified - port will be ignored",
                            format_trio(&rs.addr, proto, rs.port)
                        ),
                    );
                }
            }
            if let Some(ss) = &vs.sorry_server {
                if !ss.forwarding.is_nat() && ss.port != 0 {
                    ctx.warning(
                        ss.span,
                        format!(
                            "WARNING - fwmark virtual server {name}, sorry server has port specified - port will be ignored"
                        ),
                    );
                }
            }
        }
        for e in &g.entries {
            let VsgEntry::Range {
                first, last, port, ..
            } = e
            else {
                continue;
            };
            let vsge = if first == last {
                format!("{first},{port}")
            } else {
                format!("{first}-{last},{port}")
            };
            for rs in &vs.real_servers {
                if !rs.forwarding.is_nat() && rs.port != 0 && rs.port != *port {
                    ctx.warning(
                        rs.span,
                        format!(
                            "virtual server {name}:[{vsge}] and real server {} ports don't match",
                            format_trio(&rs.addr, proto, rs.port)
                        ),
                    );
                }
            }
            if let Some(ss) = &vs.sorry_server {
                if !ss.forwarding.is_nat() && ss.port != 0 && ss.port != *port {
                    ctx.warning(
                        ss.span,
                        format!(
                            "WARNING - virtual server {name}, sorry server has port specified - port will be ignored"
                        ),
                    );
                }
            }
        }
        return;
    }
    let fwmark = vs.is_fwmark();
    let vport = vs.port();
    for rs in &mut vs.real_servers {
        if rs.forwarding.is_nat() {
            if !fwmark && rs.port == 0 {
                rs.port = vport;
            }
            continue;
        }
        if fwmark {
            if rs.port != 0 {
                ctx.warning(
                    rs.span,
                    format!(
                        "WARNING - fwmark virtual server {name}, real server {} has port specified - clearing",
                        format_trio(&rs.addr, proto, rs.port)
                    ),
                );
                rs.port = 0;
            }
        } else if rs.port == 0 {
            rs.port = vport;
        } else if rs.port != vport {
            ctx.warning(
                rs.span,
                format!(
                    "WARNING - virtual server {name} and real server {} ports don't match - resetting",
                    format_trio(&rs.addr, proto, rs.port)
                ),
            );
            rs.port = vport;
        }
    }
    if let Some(ss) = &mut vs.sorry_server {
        if ss.forwarding.is_nat() {
            if !fwmark && ss.port == 0 {
                ss.port = vport;
            }
        } else if fwmark {
            if ss.port != 0 {
                ctx.warning(
                    ss.span,
                    format!("WARNING - virtual server {name}, sorry server has port specified - clearing"),
                );
                ss.port = 0;
            }
        } else if ss.port == 0 {
            ss.port = vport;
        } else if ss.port != vport {
            ctx.warning(
                ss.span,
                format!("WARNING - virtual server {name} and sorry server ports don't match - resetting"),
            );
            ss.port = vport;
        }
    }
}
