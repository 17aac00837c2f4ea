//! The address, route and rule grammars of `virtual_ipaddress`, `virtual_ipaddress_excluded`,
//! `static_ipaddress`, `virtual_routes`, `static_routes`, `virtual_rules` and `static_rules`
//! (keepalived's `vrrp/vrrp_ipaddress.c:parse_ipaddress`, `vrrp/vrrp_iproute.c:alloc_route`,
//! `vrrp/vrrp_iprule.c:alloc_rule`), with keepalived 2.2.7's messages.
//!
//! Each block item is one line; its words are the whole spec. Interface existence is checked
//! later, in the VRRP `validate`, because `dynamic_interfaces` may come after the block.

use super::vals;
use super::Ctx;
use crate::config::ast::{Node, Word};
use crate::config::model::vrrp::*;
use crate::config::values;
use std::net::{IpAddr, Ipv4Addr};

/// Which list an address is for: the options differ slightly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddrUse {
    /// `virtual_ipaddress` / `virtual_ipaddress_excluded`: may have `use_vmac`.
    Vip,
    /// `static_ipaddress`: may have `track_group`.
    Static,
}

/// Parses `IP[/LEN]` or keepalived's route destinations (`default`, `any`, `all`,
/// `default6`). Returns the prefix and whether the family is still open (`default`).
fn parse_prefix(s: &str) -> Option<(IpPrefix, bool)> {
    match s {
        "default" | "any" | "all" => {
            return Some((
                IpPrefix {
                    addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    len: 0,
                },
                true,
            ))
        }
        "default6" => {
            return Some((
                IpPrefix {
                    addr: IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                    len: 0,
                },
                false,
            ))
        }
        _ => {}
    }
    let (ip, len) = values::parse_ip_prefix(s).ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    Some((
        IpPrefix {
            addr: ip,
            len: len.unwrap_or(max),
        },
        false,
    ))
}

/// Reports keepalived's "VRRP parsed invalid IP" for a word that is not an address.
fn invalid_ip(ctx: &mut Ctx<'_>, w: &Word) {
    ctx.error(
        w.span,
        format!("VRRP parsed invalid IP {}. skipping IP...", w.text),
    );
}

/// An addr-spec. `None` when keepalived drops the address.
pub(crate) fn parse_addr(
    ctx: &mut Ctx<'_>,
    item: &Node,
    usage: AddrUse,
    track_groups: &[TrackGroup],
) -> Option<AddrSpec> {
    let words = &item.words;
    let first = &words[0];
    let (ip_text, len_text) = match first.text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (first.text.as_str(), None),
    };
    let Some(addr) = vals::ip(ip_text) else {
        invalid_ip(ctx, first);
        return None;
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let mut prefix_len = max;
    if let Some(l) = len_text {
        match values::parse_uint_range(l, 0, u64::from(max)) {
            Ok(v) => prefix_len = v as u8,
            Err(_) => ctx.warning(
                first.span,
                format!(
                    "Invalid address prefix len {l} for address {} - using {max}",
                    first.text
                ),
            ),
        }
    }
    let mut a = AddrSpec {
        addr,
        prefix_len,
        broadcast: None,
        dev: None,
        scope: None,
        label: None,
        peer: None,
        home: false,
        nodad: false,
        mngtmpaddr: false,
        noprefixroute: false,
        autojoin: false,
        no_track: false,
        preferred_lft: None,
        use_vmac: false,
        track_group: None,
        text: first.text.clone(),
        span: first.span,
    };
    let mut i = 1;
    while i < words.len() {
        let w = &words[i];
        let value = words.get(i + 1);
        match w.text.as_str() {
            "dev" => {
                let Some(v) = value else {
                    ctx.error(w.span, format!("No dev parameter specified for {}", a.text));
                    return None;
                };
                if a.dev.is_some() {
                    ctx.error(
                        v.span,
                        format!(
                            "Cannot specify ipaddress device more than once for {}",
                            a.text
                        ),
                    );
                    return None;
                }
                a.dev = Some(v.text.clone());
                i += 2;
            }
            "scope" => {
                let Some(v) = value else {
                    ctx.error(
                        w.span,
                        format!("No scope parameter specified for {}", a.text),
                    );
                    return None;
                };
                match vals::scope_value(&v.text) {
                    Some(s) => a.scope = Some(Scope(s)),
                    None => ctx.error(
                        v.span,
                        format!(
                            "Invalid scope '{}' specified for {} - ignoring",
                            v.text, a.text
                        ),
                    ),
                }
                i += 2;
            }
            "broadcast" | "brd" => {
                let Some(v) = value else {
                    ctx.error(
                        w.span,
                        format!("No broadcast parameter specified for {}", a.text),
                    );
                    return None;
                };
                if !addr.is_ipv4() {
                    ctx.error(
                        v.span,
                        format!("Cannot specify broadcast for IPv6 address {}", a.text),
                    );
                    return None;
                }
                match v.text.as_str() {
                    "+" | "-" if prefix_len > 30 => ctx.error(
                        v.span,
                        format!("Address prefix length {prefix_len} too long for broadcast"),
                    ),
                    "+" => a.broadcast = Some(Broadcast::AllOnes),
                    "-" => a.broadcast = Some(Broadcast::AllZeros),
                    t => match t.parse::<Ipv4Addr>() {
                        Ok(b) => a.broadcast = Some(Broadcast::Addr(b)),
                        Err(_) => {
                            ctx.error(
                                v.span,
                                format!(
                                    "VRRP is trying to assign invalid broadcast {t}. skipping VIP..."
                                ),
                            );
                            return None;
                        }
                    },
                }
                i += 2;
            }
            "label" => {
                let Some(v) = value else {
                    ctx.error(w.span, format!("No label specified for {}", a.text));
                    return None;
                };
                if v.text.chars().count() > 15 {
                    ctx.error(
                        v.span,
                        format!(
                            "Address label {} is longer than maximum length 15 - removing address",
                            v.text
                        ),
                    );
                    return None;
                }
                a.label = Some(v.text.clone());
                i += 2;
            }
            "peer" => {
                let Some(v) = value else {
                    ctx.error(w.span, format!("No peer address specified for {}", a.text));
                    return None;
                };
                match vals::ip(&v.text) {
                    Some(p) if p.is_ipv4() == addr.is_ipv4() => a.peer = Some(p),
                    _ => {
                        invalid_ip(ctx, v);
                        ctx.error(v.span, format!("Invalid peer address {}", v.text));
                    }
                }
                i += 2;
            }
            "home" => {
                a.home = true;
                i += 1;
            }
            "-nodad" => {
                a.nodad = true;
                i += 1;
            }
            "mngtmpaddr" => {
                a.mngtmpaddr = true;
                i += 1;
            }
            "noprefixroute" => {
                a.noprefixroute = true;
                i += 1;
            }
            "autojoin" => {
                a.autojoin = true;
                i += 1;
            }
            "no_track" => {
                a.no_track = true;
                i += 1;
            }
            "preferred_lft" => {
                let Some(v) = value else {
                    ctx.error(w.span, format!("No preferred_lft specified for {}", a.text));
                    return None;
                };
                if v.text == "forever" {
                    a.preferred_lft = Some(PreferredLft::Forever);
                } else {
                    match values::parse_uint_range(&v.text, 0, u64::from(u32::MAX)) {
                        Ok(n) => a.preferred_lft = Some(PreferredLft::Secs(n as u32)),
                        Err(_) => ctx.error(v.span, format!("preferred_lft {} is invalid", v.text)),
                    }
                }
                i += 2;
            }
            "use_vmac" if usage == AddrUse::Vip => {
                a.use_vmac = true;
                i += 1;
            }
            "track_group" if usage == AddrUse::Static => {
                let Some(v) = value else {
                    ctx.error(w.span, format!("No track_group specified for {}", a.text));
                    return None;
                };
                if track_groups.iter().any(|g| g.name == v.text) {
                    a.track_group = Some(v.text.clone());
                } else {
                    ctx.error(v.span, format!("track_group {} not found", v.text));
                }
                i += 2;
            }
            other => {
                ctx.error(
                    w.span,
                    format!("Unknown configuration entry '{other}' for ip address - ignoring"),
                );
                i += 1;
            }
        }
    }
    Some(a)
}

/// A route metric value with an optional `lock` before it: returns the metric and the
/// index of the value word.
fn locked_u32(ctx: &mut Ctx<'_>, item: &Node, i: usize, msg: &str) -> Option<(Metric, usize)> {
    let words = &item.words;
    let mut j = i + 1;
    let mut lock = false;
    let v = vals::next_word(ctx, item, words, i)?;
    if v.text == "lock" {
        lock = true;
        j += 1;
    }
    let v = vals::next_word(ctx, item, words, j - 1)?;
    let value = vals::uint_w(ctx, v, 0, u64::from(u32::MAX), |s| msg.replace("%s", s))?;
    Some((
        Metric {
            value: value as u32,
            lock,
        },
        j,
    ))
}

/// `TIME` with an optional unit (`s`, `sec`, `secs`, `ms`, `msec`, `msecs`; default ms),
/// returned in milliseconds (iproute2's `get_time_rtt`).
fn rtt_ms(s: &str) -> Option<u64> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let n: u64 = num.parse().ok()?;
    match unit {
        "" | "ms" | "msec" | "msecs" => Some(n),
        "s" | "sec" | "secs" => n.checked_mul(1000),
        _ => None,
    }
}

/// `rtt`, `rttvar`, `rto_min`: `[lock] TIME`, scaled to the kernel's unit.
fn rtt_metric(
    ctx: &mut Ctx<'_>,
    item: &Node,
    i: usize,
    scale: u64,
    msg: &str,
) -> Option<(Metric, usize)> {
    let words = &item.words;
    let mut j = i + 1;
    let mut lock = false;
    let v = vals::next_word(ctx, item, words, i)?;
    if v.text == "lock" {
        lock = true;
        j += 1;
    }
    let v = vals::next_word(ctx, item, words, j - 1)?;
    match rtt_ms(&v.text)
        .and_then(|ms| ms.checked_mul(scale))
        .filter(|v| *v <= u64::from(u32::MAX))
    {
        Some(value) => Some((
            Metric {
                value: value as u32,
                lock,
            },
            j,
        )),
        None => {
            ctx.error(v.span, msg.replace("%s", &v.text));
            None
        }
    }
}

fn route_type(s: &str) -> Option<RouteType> {
    Some(match s {
        "unicast" => RouteType::Unicast,
        "local" => RouteType::Local,
        "broadcast" => RouteType::Broadcast,
        "anycast" => RouteType::Anycast,
        "multicast" => RouteType::Multicast,
        "blackhole" => RouteType::Blackhole,
        "unreachable" => RouteType::Unreachable,
        "prohibit" => RouteType::Prohibit,
        "throw" => RouteType::Throw,
        "nat" => RouteType::Nat,
        "xresolve" => RouteType::Xresolve,
        _ => return None,
    })
}

/// Sets the route family, or reports a mix. `what` is appended to the message as
/// keepalived does for the destination.
fn set_family(
    ctx: &mut Ctx<'_>,
    fam: &mut Option<Family>,
    new: Family,
    w: &Word,
    msg: &str,
) -> bool {
    match fam {
        None => {
            *fam = Some(new);
            true
        }
        Some(f) if *f == new => true,
        Some(_) => {
            ctx.error(w.span, msg.to_string());
            false
        }
    }
}

const MIX: &str = "Cannot mix IPv4 and IPv6 addresses for route";

/// `encap mpls|ip|ip6|ila ...` from `words[i]` (the `encap` word). Returns the encap and
/// the index of its last word.
fn parse_encap(ctx: &mut Ctx<'_>, item: &Node, i: usize) -> Option<(Encap, usize)> {
    let words = &item.words;
    let Some(t) = words.get(i + 1) else {
        ctx.error(words[i].span, "Missing encap type");
        return None;
    };
    let mut j = i + 2;
    match t.text.as_str() {
        "mpls" => {
            let Some(v) = words.get(j) else {
                ctx.error(t.span, "missing address for MPLS encapsulation");
                return None;
            };
            let labels: Option<Vec<u32>> = v
                .text
                .split('/')
                .map(|l| l.parse::<u32>().ok().filter(|x| *x < (1 << 20)))
                .collect();
            match labels {
                Some(l) if !l.is_empty() => Some((Encap::Mpls(l), j)),
                _ => {
                    ctx.error(
                        v.span,
                        format!("invalid mpls address {} for encapsulation", v.text),
                    );
                    None
                }
            }
        }
        "ila" => {
            let Some(v) = words.get(j) else {
                ctx.error(t.span, "missing locator for ILA encapsulation");
                return None;
            };
            let parts: Vec<&str> = v.text.split(':').collect();
            let loc = (parts.len() == 4)
                .then(|| {
                    parts.iter().try_fold(0u64, |acc, p| {
                        u16::from_str_radix(p, 16)
                            .ok()
                            .map(|x| acc << 16 | u64::from(x))
                    })
                })
                .flatten();
            match loc {
                Some(l) => Some((Encap::Ila(l), j)),
                None => {
                    ctx.error(
                        v.span,
                        format!("invalid locator {} for ila encapsulation", v.text),
                    );
                    None
                }
            }
        }
        kind @ ("ip" | "ip6") => {
            let v6 = kind == "ip6";
            let (mut id, mut dst, mut src, mut tos, mut ttl, mut flags) =
                (None, None, None, None, None, None);
            while j + 1 < words.len() {
                let (k, v) = (&words[j], &words[j + 1]);
                let bad = |ctx: &mut Ctx<'_>, what: &str| {
                    ctx.error(
                        v.span,
                        format!("{what} {} is not valid for {kind} encapsulation", v.text),
                    );
                };
                match k.text.as_str() {
                    "id" => match v.text.parse::<u64>() {
                        Ok(x) => id = Some(x),
                        Err(_) => {
                            bad(ctx, "id");
                            return None;
                        }
                    },
                    "dst" | "src" => match vals::ip(&v.text) {
                        Some(a) if a.is_ipv6() == v6 => {
                            if k.text == "dst" {
                                dst = Some(a)
                            } else {
                                src = Some(a)
                            }
                        }
                        _ => {
                            bad(ctx, "address");
                            return None;
                        }
                    },
                    "tos" | "tc" => match vals::dsfield_value(&v.text) {
                        Some(x) => tos = Some(x),
                        None => {
                            bad(ctx, &k.text);
                            return None;
                        }
                    },
                    "ttl" | "hoplimit" => match values::parse_uint_range(&v.text, 0, 255) {
                        Ok(x) => ttl = Some(x as u8),
                        Err(_) => {
                            bad(ctx, &k.text);
                            return None;
                        }
                    },
                    "flags" => match values::parse_uint_range(&v.text, 0, 65535) {
                        Ok(x) => flags = Some(x as u16),
                        Err(_) => {
                            bad(ctx, "flags");
                            return None;
                        }
                    },
                    _ => break,
                }
                j += 2;
            }
            if dst.is_none() && id.is_none() {
                ctx.error(
                    t.span,
                    format!("address or id missing for {kind} encapsulation"),
                );
                return None;
            }
            let e = if v6 {
                Encap::Ip6 {
                    id,
                    dst,
                    src,
                    tc: tos,
                    hoplimit: ttl,
                    flags,
                }
            } else {
                Encap::Ip {
                    id,
                    dst,
                    src,
                    tos,
                    ttl,
                    flags,
                }
            };
            Some((e, j - 1))
        }
        other => {
            ctx.error(t.span, format!("Unknown encap type - {other}"));
            None
        }
    }
}

/// `nexthop ...` groups from `words[i]` (the first `nexthop`).
fn parse_nexthops(
    ctx: &mut Ctx<'_>,
    item: &Node,
    mut i: usize,
    fam: &mut Option<Family>,
) -> Option<Vec<Nexthop>> {
    let words = &item.words;
    let mut out = Vec::new();
    while i < words.len() && words[i].text == "nexthop" {
        i += 1;
        let mut nh = Nexthop::default();
        while i < words.len() {
            let w = &words[i];
            match w.text.as_str() {
                "via" => {
                    let mut v = vals::next_word(ctx, item, words, i)?;
                    let mut forced = None;
                    if v.text == "inet" || v.text == "inet6" {
                        forced = Some(if v.text == "inet" {
                            Family::Inet
                        } else {
                            Family::Inet6
                        });
                        i += 1;
                        v = vals::next_word(ctx, item, words, i)?;
                    }
                    if let Some(f) = forced {
                        if !set_family(ctx, fam, f, v, "IPv4/6 mismatch for nexthop") {
                            return None;
                        }
                    }
                    let Some(a) = vals::ip(&v.text) else {
                        ctx.error(v.span, format!("invalid nexthop address {}", v.text));
                        return None;
                    };
                    if !set_family(
                        ctx,
                        fam,
                        Family::of(&a),
                        v,
                        "Address family mismatch for next hop",
                    ) {
                        return None;
                    }
                    nh.via = Some(a);
                    i += 2;
                }
                "dev" => {
                    let v = vals::next_word(ctx, item, words, i)?;
                    nh.dev = Some(v.text.clone());
                    i += 2;
                }
                "weight" => {
                    let v = vals::next_word(ctx, item, words, i)?;
                    let n = vals::uint_w(ctx, v, 0, 256, |s| {
                        format!("Invalid weight {s} specified for route")
                    })?;
                    if n == 0 {
                        ctx.error(v.span, "Invalid weight 0 specified for route");
                        return None;
                    }
                    nh.weight = Some(n as u16);
                    i += 2;
                }
                "onlink" => {
                    nh.onlink = true;
                    i += 1;
                }
                "encap" => {
                    let (e, last) = parse_encap(ctx, item, i)?;
                    nh.encap = Some(e);
                    i = last + 1;
                }
                "realms" => {
                    let v = vals::next_word(ctx, item, words, i)?;
                    let Some(r) = vals::realms_value(&v.text) else {
                        ctx.error(v.span, format!("Invalid realms {} for route", v.text));
                        return None;
                    };
                    if !set_family(
                        ctx,
                        fam,
                        Family::Inet,
                        v,
                        "realms are only supported for IPv4",
                    ) {
                        return None;
                    }
                    nh.realms = Some(r);
                    i += 2;
                }
                "as" => {
                    ctx.error(w.span, "'as [to]' (nat) not supported");
                    return None;
                }
                _ => break,
            }
        }
        out.push(nh);
    }
    if let Some(w) = words.get(i) {
        ctx.error(
            w.span,
            format!("Route has trailing nonsense after nexthops - {}", w.text),
        );
        return None;
    }
    Some(out)
}

/// A route-spec. `None` when keepalived drops the route.
pub(crate) fn parse_route(
    ctx: &mut Ctx<'_>,
    item: &Node,
    is_static: bool,
    track_groups: &[TrackGroup],
) -> Option<RouteSpec> {
    let words = &item.words;
    let mut fam: Option<Family> = None;
    let mut r = RouteSpec {
        family: Family::Inet,
        route_type: RouteType::Unicast,
        dst: IpPrefix {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            len: 0,
        },
        dst_text: String::new(),
        pref_src: None,
        from: None,
        via: None,
        dev: None,
        onlink: false,
        table: 254,
        protocol: None,
        scope: None,
        metric: None,
        tos: None,
        realms: None,
        metrics: RouteMetrics::default(),
        pref: None,
        ttl_propagate: None,
        expires: None,
        encap: None,
        nexthops: Vec::new(),
        vrf: None,
        add_mode: RouteAddMode::Prepend,
        no_track: false,
        track_group: None,
        span: words[0].span,
    };
    let mut have_dst = false;
    let mut dst_open_family = false;
    let mut or_used = false;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let kw = w.text.as_str();
        // The value word for keywords that take one.
        macro_rules! value {
            () => {
                vals::next_word(ctx, item, words, i)?
            };
        }
        match kw {
            "inet" | "inet6" => {
                let f = if kw == "inet" {
                    Family::Inet
                } else {
                    Family::Inet6
                };
                if !set_family(
                    ctx,
                    &mut fam,
                    f,
                    w,
                    &format!(
                        "{kw} specified for IPv{} route",
                        if kw == "inet" { 6 } else { 4 }
                    ),
                ) {
                    return None;
                }
                i += 1;
                continue;
            }
            "src" => {
                let v = value!();
                let Some(a) = vals::ip(&v.text) else {
                    ctx.error(v.span, format!("invalid route src address {}", v.text));
                    return None;
                };
                if !set_family(ctx, &mut fam, Family::of(&a), v, MIX) {
                    return None;
                }
                r.pref_src = Some(a);
                i += 1;
            }
            "as" => {
                i += 1;
                if words.get(i).is_some_and(|x| x.text == "to") {
                    i += 1;
                }
                ctx.error(w.span, "\"as to\" for MPLS only - ignoring");
            }
            "via" | "gw" => {
                if kw == "gw" {
                    ctx.warning(
                        w.span,
                        "\"gw\" for routes is deprecated. Please use \"via\"",
                    );
                }
                let mut v = value!();
                if v.text == "inet" || v.text == "inet6" {
                    let f = if v.text == "inet" {
                        Family::Inet
                    } else {
                        Family::Inet6
                    };
                    if !set_family(ctx, &mut fam, f, v, MIX) {
                        return None;
                    }
                    i += 1;
                    v = value!();
                }
                let Some(a) = vals::ip(&v.text) else {
                    invalid_ip(ctx, v);
                    ctx.error(v.span, format!("invalid route via address {}", v.text));
                    return None;
                };
                if !set_family(ctx, &mut fam, Family::of(&a), v, MIX) {
                    return None;
                }
                r.via = Some(a);
                i += 1;
            }
            "from" => {
                let v = value!();
                let Some((p, _)) = parse_prefix(&v.text) else {
                    invalid_ip(ctx, v);
                    ctx.error(v.span, format!("invalid route from address {}", v.text));
                    return None;
                };
                if !p.addr.is_ipv6() {
                    ctx.error(
                        v.span,
                        format!("route from address only supported with IPv6 ({})", v.text),
                    );
                    return None;
                }
                if !set_family(ctx, &mut fam, Family::Inet6, v, MIX) {
                    return None;
                }
                r.from = Some(p);
                i += 1;
            }
            "tos" | "dsfield" => {
                let v = value!();
                let Some(t) = vals::dsfield_value(&v.text) else {
                    ctx.error(v.span, format!("TOS value {} is invalid", v.text));
                    return None;
                };
                r.tos = Some(t);
                i += 1;
            }
            "table" => {
                let v = value!();
                let Some(t) = vals::table_value(&v.text) else {
                    ctx.error(
                        v.span,
                        format!("Routing table {} not found for route", v.text),
                    );
                    return None;
                };
                r.table = t;
                i += 1;
            }
            "protocol" => {
                let v = value!();
                let Some(p) = vals::proto_value(&v.text) else {
                    ctx.error(
                        v.span,
                        format!("Protocol {} not found or invalid for route", v.text),
                    );
                    return None;
                };
                r.protocol = Some(p);
                i += 1;
            }
            "scope" => {
                let v = value!();
                let Some(s) = vals::scope_value(&v.text) else {
                    ctx.error(
                        v.span,
                        format!("Scope {} not found or invalid for route", v.text),
                    );
                    return None;
                };
                r.scope = Some(Scope(s));
                i += 1;
            }
            "metric" | "priority" | "preference" => {
                let v = value!();
                r.metric = Some(vals::uint_w(ctx, v, 0, u64::from(u32::MAX), |s| {
                    format!("Invalid metric {s} specified for route")
                })? as u32);
                i += 1;
            }
            "dev" | "oif" => {
                let v = value!();
                r.dev = Some(v.text.clone());
                i += 1;
            }
            "onlink" => r.onlink = true,
            "encap" => {
                let (e, last) = parse_encap(ctx, item, i)?;
                r.encap = Some(e);
                i = last;
            }
            "expires" => {
                let v = value!();
                if fam == Some(Family::Inet) {
                    ctx.error(w.span, "expires is only valid for IPv6");
                    return None;
                }
                fam = Some(Family::Inet6);
                r.expires = Some(vals::uint_w(ctx, v, 0, u64::from(u32::MAX), |s| {
                    format!("Invalid expires time {s} specified for route")
                })? as u32);
                i += 1;
            }
            "mtu" => {
                let (m, j) = locked_u32(ctx, item, i, "Invalid MTU %s specified for route")?;
                r.metrics.mtu = Some(m);
                i = j;
            }
            "hoplimit" => {
                let v = value!();
                r.metrics.hoplimit = Some(vals::uint_w(ctx, v, 0, 255, |s| {
                    format!("Invalid hoplimit {s} specified for route")
                })? as u8);
                i += 1;
            }
            "advmss" => {
                let (m, j) = locked_u32(ctx, item, i, "Invalid advmss %s specified for route")?;
                r.metrics.advmss = Some(m);
                i = j;
            }
            "rtt" => {
                let (m, j) = rtt_metric(ctx, item, i, 8, "Invalid rtt %s for route")?;
                r.metrics.rtt = Some(m);
                i = j;
            }
            "rttvar" => {
                let (m, j) = rtt_metric(ctx, item, i, 4, "Invalid rttvar %s for route")?;
                r.metrics.rttvar = Some(m);
                i = j;
            }
            "rto_min" => {
                let (m, j) = rtt_metric(
                    ctx,
                    item,
                    i,
                    1,
                    "Invalid rto_min value %s specified for route",
                )?;
                r.metrics.rto_min = Some(m);
                i = j;
            }
            "reordering" => {
                let (m, j) = locked_u32(
                    ctx,
                    item,
                    i,
                    "Invalid reordering value %s specified for route",
                )?;
                r.metrics.reordering = Some(m);
                i = j;
            }
            "window" => {
                let v = value!();
                r.metrics.window = Some(vals::uint_w(ctx, v, 0, u64::from(u32::MAX), |s| {
                    format!("Invalid window value {s} specified for route")
                })? as u32);
                i += 1;
            }
            "cwnd" => {
                let (m, j) = locked_u32(ctx, item, i, "Invalid cwnd value %s specified for route")?;
                r.metrics.cwnd = Some(m);
                i = j;
            }
            "ssthresh" => {
                let (m, j) = locked_u32(
                    ctx,
                    item,
                    i,
                    "Invalid ssthresh value %s specified for route",
                )?;
                r.metrics.ssthresh = Some(m);
                i = j;
            }
            "realms" => {
                let v = value!();
                let Some(x) = vals::realms_value(&v.text) else {
                    ctx.error(v.span, format!("Invalid realms {} for route", v.text));
                    return None;
                };
                if fam == Some(Family::Inet6) {
                    ctx.error(v.span, "realms are only valid for IPv4");
                    return None;
                }
                fam = Some(Family::Inet);
                r.realms = Some(x);
                i += 1;
            }
            "initcwnd" | "initrwnd" => {
                let v = value!();
                let n = vals::uint_w(ctx, v, 0, u64::from(u32::MAX), |s| {
                    format!("Invalid {kw} value {s} specified for route")
                })? as u32;
                if kw == "initcwnd" {
                    r.metrics.initcwnd = Some(n);
                } else {
                    r.metrics.initrwnd = Some(n);
                }
                i += 1;
            }
            "features" => {
                let v = value!();
                if v.text == "ecn" {
                    r.metrics.features_ecn = true;
                } else {
                    ctx.error(v.span, format!("feature {} not supported", v.text));
                }
                i += 1;
            }
            "quickack" | "fastopen_no_cookie" => {
                let v = value!();
                let b = vals::uint_w(ctx, v, 0, 1, |s| {
                    format!("Invalid {kw} value {s} specified for route")
                })? == 1;
                if kw == "quickack" {
                    r.metrics.quickack = Some(b);
                } else {
                    r.metrics.fastopen_no_cookie = Some(b);
                }
                i += 1;
            }
            "congctl" => {
                let mut v = value!();
                let mut lock = false;
                if v.text == "lock" {
                    lock = true;
                    i += 1;
                    v = value!();
                }
                r.metrics.congctl = Some((v.text.clone(), lock));
                i += 1;
            }
            "pref" => {
                let v = value!();
                if fam == Some(Family::Inet) {
                    ctx.error(w.span, "pref is only valid for IPv6");
                    return None;
                }
                fam = Some(Family::Inet6);
                r.pref = Some(match v.text.as_str() {
                    "low" => 3,
                    "medium" => 0,
                    "high" => 1,
                    t => vals::uint_w(ctx, v, 0, 255, |_| {
                        format!("Invalid pref value {t} specified for route")
                    })? as u8,
                });
                i += 1;
            }
            "ttl-propagate" => {
                let v = value!();
                match v.text.as_str() {
                    "enabled" => r.ttl_propagate = Some(true),
                    "disabled" => r.ttl_propagate = Some(false),
                    t => ctx.error(v.span, format!("ttl-propagate value {t} not recognised")),
                }
                i += 1;
            }
            "add" => r.add_mode = RouteAddMode::Add,
            "prepend" => r.add_mode = RouteAddMode::Prepend,
            "append" => r.add_mode = RouteAddMode::Append,
            "or" => {
                ctx.warning(
                    w.span,
                    "\"or\" for routes is deprecated. Please use \"nexthop\"",
                );
                let v = value!();
                if or_used {
                    ctx.error(
                        v.span,
                        "\"or\" route already specified - ignoring subsequent",
                    );
                    i += 2;
                    continue;
                }
                or_used = true;
                let Some(a) = vals::ip(&v.text) else {
                    ctx.error(v.span, format!("Invalid \"or\" address {}", v.text));
                    return None;
                };
                r.nexthops.push(Nexthop {
                    via: r.via.take(),
                    ..Nexthop::default()
                });
                r.nexthops.push(Nexthop {
                    via: Some(a),
                    ..Nexthop::default()
                });
                i += 1;
            }
            "nexthop" => {
                if or_used {
                    ctx.error(w.span, "Cannot specify nexthops with \"or\" route");
                    return None;
                }
                r.nexthops = parse_nexthops(ctx, item, i, &mut fam)?;
                break;
            }
            "no_track" => r.no_track = true,
            "track_group" if is_static => {
                let v = value!();
                if r.track_group.is_some() {
                    ctx.error(v.span, format!("track_group {} is a duplicate", v.text));
                    break;
                }
                if track_groups.iter().any(|g| g.name == v.text) {
                    r.track_group = Some(v.text.clone());
                } else {
                    ctx.error(v.span, format!("track_group {} not found", v.text));
                }
                i += 1;
            }
            "vrf" => {
                let v = value!();
                if ctx.opts.check_interfaces && !ctx.host.interface_exists(&v.text) {
                    ctx.error(v.span, format!("VRF {} not found for route", v.text));
                    return None;
                }
                r.vrf = Some(v.text.clone());
                i += 1;
            }
            _ => {
                let mut dw = w;
                if kw == "to" {
                    dw = value!();
                    i += 1;
                } else if let Some(t) = route_type(kw) {
                    r.route_type = t;
                    dw = value!();
                    i += 1;
                }
                let Some((p, open)) = parse_prefix(&dw.text) else {
                    invalid_ip(ctx, dw);
                    ctx.error(dw.span, format!("unknown route keyword {}", dw.text));
                    return None;
                };
                if !open
                    && !set_family(
                        ctx,
                        &mut fam,
                        Family::of(&p.addr),
                        dw,
                        &format!("{MIX} ({})", dw.text),
                    )
                {
                    return None;
                }
                dst_open_family = open;
                r.dst = p;
                r.dst_text = dw.text.clone();
                have_dst = true;
            }
        }
        i += 1;
    }
    if !have_dst {
        ctx.error(item.span(), "Route must have a destination");
        return None;
    }
    r.family = fam.unwrap_or(Family::Inet);
    if dst_open_family && r.family == Family::Inet6 {
        r.dst.addr = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
    }
    if !r.no_track {
        if r.protocol.is_some_and(|p| p != 18) {
            ctx.warning(
                item.span(),
                "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting \
                 protocol",
            );
        }
        r.protocol = Some(18);
    }
    if r.track_group.is_some() && r.dev.is_none() {
        ctx.error(
            item.span(),
            "Static route cannot have track group if no oif specified",
        );
        r.track_group = None;
    }
    if !r.no_track && r.dev.is_none() {
        ctx.warning(
            item.span(),
            format!(
                "Warning - cannot track route {} with no interface specified, not tracking",
                r.dst_text
            ),
        );
        r.no_track = true;
    }
    Some(r)
}

/// `A-B` or `A` (a single value means A-A), as `sscanf("%hu-%hu")`.
fn port_range(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => {
            let a = s.parse().ok()?;
            Some((a, a))
        }
    }
}

/// A rule-spec. `next_priority` holds the next auto-assigned preference for IPv4 and IPv6
/// (keepalived counts down from 16384 per family, in configuration order).
pub(crate) fn parse_rule(
    ctx: &mut Ctx<'_>,
    item: &Node,
    is_static: bool,
    track_groups: &[TrackGroup],
    next_priority: &mut [u32; 2],
) -> Option<RuleSpec> {
    let words = &item.words;
    let mut fam: Option<Family> = None;
    let mut action: Option<RuleAction> = None;
    let mut priority: Option<u32> = None;
    let mut table_option = false;
    let mut r = RuleSpec {
        family: Family::Inet,
        invert: false,
        from: None,
        to: None,
        priority: 0,
        priority_auto: false,
        tos: None,
        fwmark: None,
        realms: None,
        suppress_prefixlen: None,
        suppress_ifgroup: None,
        iif: None,
        oif: None,
        tunnel_id: None,
        uidrange: None,
        protocol: None,
        ipproto: None,
        sport: None,
        dport: None,
        action: RuleAction::Nop,
        no_track: false,
        track_group: None,
        span: words[0].span,
    };
    const MIXED: &str = "rule specification has mixed IPv4 and IPv6";
    const MORE: &str = "Cannot specify more than one of table/nop/goto/blackhole/prohibit/\
                        unreachable/l3mdev for rule";
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let kw = w.text.as_str();
        macro_rules! value {
            () => {
                vals::next_word(ctx, item, words, i)?
            };
        }
        match kw {
            "inet" | "inet6" => {
                let f = if kw == "inet" {
                    Family::Inet
                } else {
                    Family::Inet6
                };
                let msg = format!(
                    "{kw} specified for IPv{} rule",
                    if kw == "inet" { 6 } else { 4 }
                );
                if !set_family(ctx, &mut fam, f, w, &msg) {
                    return None;
                }
            }
            "from" | "to" => {
                let v = value!();
                let Some((p, open)) = parse_prefix(&v.text) else {
                    invalid_ip(ctx, v);
                    ctx.error(v.span, format!("Invalid rule {kw} address {}", v.text));
                    return None;
                };
                // `all`/`default` match either family.
                if !open && !set_family(ctx, &mut fam, Family::of(&p.addr), v, MIXED) {
                    return None;
                }
                if kw == "from" {
                    r.from = Some(p);
                } else {
                    r.to = Some(p);
                }
                i += 1;
            }
            "table" | "lookup" => {
                let v = value!();
                let Some(t) = vals::table_value(&v.text) else {
                    ctx.error(
                        v.span,
                        format!("Routing table {} not found for rule", v.text),
                    );
                    return None;
                };
                if t == 0 {
                    ctx.error(v.span, "Table 0 is not valid");
                    return None;
                }
                if action.is_some() {
                    ctx.error(
                        w.span,
                        "Cannot specify more than one of table/nop/goto/blackhole/prohibit/\
                         unreachable for rule",
                    );
                    return None;
                }
                action = Some(RuleAction::Table(t));
                i += 1;
            }
            "not" => r.invert = true,
            "preference" | "order" | "priority" => {
                let v = value!();
                match vals::parse_u64_auto(&v.text).filter(|x| *x <= u64::from(u32::MAX)) {
                    Some(x) => priority = Some(x as u32),
                    None => {
                        ctx.error(
                            v.span,
                            format!("Invalid rule preference {} specified", v.text),
                        );
                        return None;
                    }
                }
                i += 1;
            }
            "tos" | "dsfield" => {
                let v = value!();
                let Some(t) = vals::dsfield_value(&v.text) else {
                    ctx.error(v.span, format!("TOS value {} is invalid", v.text));
                    return None;
                };
                r.tos = Some(t);
                i += 1;
            }
            "fwmark" => {
                let v = value!();
                let parsed = match v.text.split_once('/') {
                    Some((m, k)) => vals::parse_u64_auto(m)
                        .zip(vals::parse_u64_auto(k))
                        .filter(|(m, k)| *m <= u64::from(u32::MAX) && *k <= u64::from(u32::MAX))
                        .map(|(m, k)| (m as u32, Some(k as u32))),
                    None => vals::parse_u64_auto(&v.text)
                        .filter(|m| *m <= u64::from(u32::MAX))
                        .map(|m| (m as u32, None)),
                };
                match parsed {
                    Some(f) => r.fwmark = Some(f),
                    None => {
                        ctx.error(v.span, format!("Invalid rule fwmark {} specified", v.text));
                        return None;
                    }
                }
                i += 1;
            }
            "realms" => {
                let v = value!();
                let Some(x) = vals::realms_value(&v.text) else {
                    ctx.error(v.span, format!("invalid realms {} for rule", v.text));
                    return None;
                };
                if !set_family(
                    ctx,
                    &mut fam,
                    Family::Inet,
                    v,
                    "realms is only valid for IPv4",
                ) {
                    return None;
                }
                r.realms = Some(x);
                table_option = true;
                i += 1;
            }
            "suppress_prefixlength" | "sup_pl" => {
                let v = value!();
                r.suppress_prefixlen = Some(vals::uint_w(ctx, v, 0, i32::MAX as u64, |s| {
                    format!("Invalid suppress_prefixlength {s} specified")
                })? as u32);
                table_option = true;
                i += 1;
            }
            "suppress_ifgroup" | "sup_group" => {
                let v = value!();
                let g = if v.text == "default" {
                    Some(0)
                } else {
                    vals::parse_u64_auto(&v.text).filter(|x| *x <= u64::from(u32::MAX))
                };
                let Some(g) = g else {
                    ctx.error(v.span, format!("suppress_group {} is invalid", v.text));
                    return None;
                };
                r.suppress_ifgroup = Some(g as u32);
                table_option = true;
                i += 1;
            }
            "dev" | "iif" => {
                let v = value!();
                r.iif = Some(v.text.clone());
                i += 1;
            }
            "oif" => {
                let v = value!();
                r.oif = Some(v.text.clone());
                i += 1;
            }
            "tunnel-id" => {
                let v = value!();
                match v.text.parse::<u64>() {
                    Ok(x) => r.tunnel_id = Some(x),
                    Err(_) => {
                        ctx.error(v.span, format!("Invalid tunnel-id {} specified", v.text));
                        return None;
                    }
                }
                i += 1;
            }
            "uidrange" => {
                let v = value!();
                let ur = v
                    .text
                    .split_once('-')
                    .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
                match ur {
                    Some(x) => r.uidrange = Some(x),
                    None => {
                        ctx.error(v.span, format!("Invalid uidrange {} specified", v.text));
                        return None;
                    }
                }
                i += 1;
            }
            "l3mdev" => {
                if action.is_some() {
                    ctx.error(w.span, "Cannot specify l3mdev with other action");
                    return None;
                }
                action = Some(RuleAction::L3mdev);
            }
            "protocol" => {
                let v = value!();
                match vals::proto_value(&v.text) {
                    Some(p) => r.protocol = Some(p),
                    None => ctx.error(v.span, format!("Invalid protocol {}", v.text)),
                }
                i += 1;
            }
            "ipproto" => {
                let v = value!();
                match vals::ipproto_value(&v.text) {
                    Some(p) => r.ipproto = Some(p),
                    None => ctx.error(v.span, format!("Invalid ipproto {}", v.text)),
                }
                i += 1;
            }
            "sport" | "dport" => {
                let v = value!();
                match port_range(&v.text) {
                    Some(p) if kw == "sport" => r.sport = Some(p),
                    Some(p) => r.dport = Some(p),
                    None => ctx.error(v.span, format!("invalid {kw} range {}", v.text)),
                }
                i += 1;
            }
            "no_track" => r.no_track = true,
            "track_group" if is_static => {
                let v = value!();
                if r.track_group.is_some() {
                    ctx.error(v.span, format!("track_group {} is a duplicate", v.text));
                    break;
                }
                if track_groups.iter().any(|g| g.name == v.text) {
                    r.track_group = Some(v.text.clone());
                } else {
                    ctx.error(v.span, format!("track_group {} not found", v.text));
                }
                i += 1;
            }
            _ => {
                let mut aw = w;
                if kw == "type" {
                    aw = value!();
                    i += 1;
                }
                let a = match aw.text.as_str() {
                    "goto" => {
                        let v = vals::next_word(ctx, item, words, i)?;
                        let Some(t) =
                            vals::parse_u64_auto(&v.text).filter(|x| *x <= u64::from(u32::MAX))
                        else {
                            ctx.error(v.span, format!("Invalid target {} specified", v.text));
                            return None;
                        };
                        i += 1;
                        RuleAction::Goto(t as u32)
                    }
                    "nop" => RuleAction::Nop,
                    "blackhole" => RuleAction::Blackhole,
                    "unreachable" => RuleAction::Unreachable,
                    "prohibit" => RuleAction::Prohibit,
                    t if route_type(t).is_some() => {
                        ctx.error(aw.span, format!("Invalid rule action {t}"));
                        return None;
                    }
                    t => {
                        ctx.error(aw.span, format!("Unknown rule option {t}"));
                        return None;
                    }
                };
                if action.is_some() {
                    ctx.error(aw.span, MORE);
                    return None;
                }
                action = Some(a);
            }
        }
        i += 1;
    }
    let span = item.span();
    if let Some(RuleAction::Goto(target)) = action {
        match priority {
            Some(p) if p >= target => {
                ctx.error(
                    span,
                    format!("Invalid rule - preference {p} >= goto target {target}"),
                );
                return None;
            }
            Some(_) => {}
            None => {
                ctx.error(
                    span,
                    format!("Invalid rule - goto target {target} specified without preference"),
                );
                return None;
            }
        }
    }
    let Some(action) = action else {
        ctx.error(span, "No action specified for rule - ignoring");
        return None;
    };
    if table_option && !matches!(action, RuleAction::Table(_)) {
        ctx.error(
            span,
            "suppressor/realm specified for non table action - skipping",
        );
        return None;
    }
    r.action = action;
    if !r.no_track {
        if r.protocol.is_some_and(|p| p != 18) {
            ctx.warning(
                span,
                "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting \
                 protocol",
            );
        }
        r.protocol = Some(18);
    }
    if r.track_group.is_some() && r.iif.is_none() {
        ctx.error(
            span,
            "Static rule cannot have track_group if dev/iif not specified",
        );
        r.track_group = None;
    }
    r.family = fam.unwrap_or(Family::Inet);
    if r.family == Family::Inet6 {
        for p in [&mut r.from, &mut r.to].into_iter().flatten() {
            if p.len == 0 && p.addr == IpAddr::V4(Ipv4Addr::UNSPECIFIED) {
                p.addr = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
            }
        }
    }
    match priority {
        Some(p) => r.priority = p,
        None => {
            let slot = &mut next_priority[usize::from(r.family == Family::Inet6)];
            r.priority = *slot;
            r.priority_auto = true;
            *slot = slot.saturating_sub(1);
            ctx.warning(
                span,
                format!(
                    "Rule has no preference specified - setting to {}. This is probably not \
                     what you want.",
                    r.priority
                ),
            );
        }
    }
    Some(r)
}
