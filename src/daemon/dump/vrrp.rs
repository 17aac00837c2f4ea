//! The VRRP process's keepalived.data after the global definitions: keepalived 2.2.7's
//! `dump_data_vrrp()` (vrrp/vrrp_data.c, vrrp_if.c, vrrp_ipaddress.c, vrrp_iproute.c,
//! vrrp_iprule.c, vrrp_track.c, trackers/track_file.c).

use super::cfmt::{c_g, ctime19_us, ctime24_us, ctime_us};
use super::global::script_str;
use super::{DumpCtx, IfaceDetail};
use crate::config::model::vrrp::{
    AddrSpec, Encap, Family as MFamily, ParamMatch, PreferredLft, RouteAddMode, RouteSpec,
    RouteType, RuleAction, RuleSpec, Tracked, VrrpInstance,
};
use crate::config::model::vrrp::{Broadcast, NotifyScripts};
use crate::track::{Health, Target, TrackRef};
use crate::vrrp::params::VipSpec;
use crate::vrrp::{Auth, Instance, Router, State};
use crate::wire::vrrp::{Family, Version};
use std::fmt::Write as _;
use std::net::IpAddr;

macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_POINTOPOINT: u32 = 0x10;
const IFF_RUNNING: u32 = 0x40;
const IFF_NOARP: u32 = 0x80;
const IFF_MULTICAST: u32 = 0x1000;

/// keepalived's `get_state_str()`.
fn state_str(s: State) -> &'static str {
    match s {
        State::Init => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
        State::Stop | State::Deleted => "unknown",
    }
}

/// keepalived's `wantstate`: FAULT whenever the instance is in FAULT (it sets it so on
/// every way into FAULT: at start, on a tracker fault and when its sync group faults);
/// otherwise the engine's state disregarding the sync group.
pub fn ka_wantstate(inst: &Instance) -> State {
    if inst.state() == State::Fault {
        State::Fault
    } else {
        inst.wantstate()
    }
}

/// `%ld.%6.6ld (ctime_us)` of a monotonic instant.
fn stamp(c: &DumpCtx<'_>, t: scheduler::Instant) -> String {
    let (s, us) = c.sys.wall(t);
    format!("{s}.{us:06} ({})", ctime_us(&c.sys.tz, s, us))
}

fn rt_scope(s: u8) -> String {
    match s {
        0 => "global".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        n => n.to_string(),
    }
}

fn rtn_type(t: RouteType) -> &'static str {
    match t {
        RouteType::Unicast => "unicast",
        RouteType::Local => "local",
        RouteType::Broadcast => "broadcast",
        RouteType::Anycast => "anycast",
        RouteType::Multicast => "multicast",
        RouteType::Blackhole => "blackhole",
        RouteType::Unreachable => "unreachable",
        RouteType::Prohibit => "prohibit",
        RouteType::Throw => "throw",
        RouteType::Nat => "nat",
        RouteType::Xresolve => "xresolve",
    }
}

/// `ipaddresstos()`: the address with `/len` unless it is a host prefix.
fn addr_len(a: &IpAddr, len: u8) -> String {
    let full = if a.is_ipv4() { 32 } else { 128 };
    if len == full {
        a.to_string()
    } else {
        format!("{a}/{len}")
    }
}

/// `format_ipaddress()` of an engine VIP.
pub fn format_vip(v: &VipSpec, set: bool, base: Option<&str>) -> String {
    let mut o = addr_len(&v.addr, v.prefix_len);
    if let Some(b) = v.broadcast.filter(|b| !b.is_unspecified()) {
        let _ = write!(o, " brd {b}");
    }
    let _ = write!(o, " dev {}", v.dev);
    if let Some(b) = base {
        let _ = write!(o, "@{b}");
    }
    let _ = write!(o, " scope {}", rt_scope(v.scope.unwrap_or(0)));
    if let Some(l) = &v.label {
        let _ = write!(o, " label {l}");
    }
    if let Some(p) = &v.peer {
        let _ = write!(o, " peer {p}/{}", v.prefix_len);
    }
    flags(
        &mut o,
        v.home,
        v.nodad,
        v.mngtmpaddr,
        v.noprefixroute,
        v.autojoin,
    );
    if v.no_track {
        o.push_str(" no_track");
    }
    if v.addr.is_ipv6() {
        match v.preferred_lft_secs {
            Some(0) => o.push_str(" deprecated"),
            None | Some(u32::MAX) => o.push_str(" preferred_lft forever"),
            Some(n) => {
                let _ = write!(o, " preferred_lft {n}");
            }
        }
    }
    if set {
        o.push_str(" set");
    }
    o
}

fn flags(o: &mut String, home: bool, nodad: bool, mngt: bool, nopfx: bool, autojoin: bool) {
    for (b, s) in [
        (home, " home"),
        (nodad, " -nodad"),
        (mngt, " mngtmpaddr"),
        (nopfx, " noprefixroute"),
        (autojoin, " autojoin"),
    ] {
        if b {
            o.push_str(s);
        }
    }
}

/// `format_ipaddress()` of a static address from the model.
fn format_static_addr(a: &AddrSpec, default_if: &str) -> String {
    let mut o = addr_len(&a.addr, a.prefix_len);
    if let (IpAddr::V4(ip), Some(b)) = (a.addr, a.broadcast) {
        let mask = if a.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(a.prefix_len))
        };
        let brd = match b {
            Broadcast::Addr(x) => x,
            Broadcast::AllOnes => (u32::from(ip) | !mask).into(),
            Broadcast::AllZeros => (u32::from(ip) & mask).into(),
        };
        if !brd.is_unspecified() {
            let _ = write!(o, " brd {brd}");
        }
    }
    let _ = write!(
        o,
        " dev {} scope {}",
        a.dev.as_deref().unwrap_or(default_if),
        rt_scope(a.scope.map(|s| s.0).unwrap_or(0))
    );
    if let Some(l) = &a.label {
        let _ = write!(o, " label {l}");
    }
    if let Some(p) = &a.peer {
        let _ = write!(o, " peer {p}/{}", a.prefix_len);
    }
    flags(
        &mut o,
        a.home,
        a.nodad,
        a.mngtmpaddr,
        a.noprefixroute,
        a.autojoin,
    );
    if a.no_track {
        o.push_str(" no_track");
    }
    if let Some(g) = &a.track_group {
        let _ = write!(o, " track_group {g}");
    }
    if a.addr.is_ipv6() {
        match a.effective_preferred_lft(false) {
            Some(PreferredLft::Secs(0)) => o.push_str(" deprecated"),
            None | Some(PreferredLft::Forever) => o.push_str(" preferred_lft forever"),
            Some(PreferredLft::Secs(n)) => {
                let _ = write!(o, " preferred_lft {n}");
            }
        }
    }
    o
}

fn encap(o: &mut String, e: &Encap) {
    match e {
        Encap::Mpls(labels) => {
            let l: Vec<String> = labels.iter().map(u32::to_string).collect();
            let _ = write!(o, " encap mpls {}", l.join("/"));
        }
        Encap::Ip {
            id,
            dst,
            src,
            tos,
            ttl,
            flags,
        } => {
            o.push_str(" encap ip");
            if let Some(i) = id {
                let _ = write!(o, " id {i}");
            }
            if let Some(d) = dst {
                let _ = write!(o, " dst {d}");
            }
            if let Some(s) = src {
                let _ = write!(o, " src {s}");
            }
            if let Some(t) = tos {
                let _ = write!(o, " tos {t}");
            }
            if let Some(t) = ttl {
                let _ = write!(o, " ttl {t}");
            }
            if let Some(f) = flags {
                let _ = write!(o, " flags 0x{f:x}");
            }
        }
        Encap::Ip6 {
            id,
            dst,
            src,
            tc,
            hoplimit,
            flags,
        } => {
            o.push_str(" encap ip6");
            if let Some(i) = id {
                let _ = write!(o, " id {i}");
            }
            if let Some(d) = dst {
                let _ = write!(o, " dst {d}");
            }
            if let Some(s) = src {
                let _ = write!(o, " src {s}");
            }
            if let Some(t) = tc {
                let _ = write!(o, " tc {t}");
            }
            if let Some(h) = hoplimit {
                let _ = write!(o, " hoplimit {h}");
            }
            if let Some(f) = flags {
                let _ = write!(o, " flags 0x{f:x}");
            }
        }
        Encap::Ila(l) => {
            let _ = write!(o, " encap ila {l}");
        }
    }
}

fn inet(a: &IpAddr) -> &'static str {
    if a.is_ipv6() {
        "inet6"
    } else {
        "inet"
    }
}

/// `format_iproute()`.
pub fn format_route(r: &RouteSpec) -> String {
    let mut o = String::new();
    o.push_str(match r.add_mode {
        RouteAddMode::Add => "add ",
        RouteAddMode::Append => "append ",
        RouteAddMode::Prepend => "prepend ",
    });
    if r.route_type != RouteType::Unicast {
        let _ = write!(o, "{} ", rtn_type(r.route_type));
    }
    if r.dst_text == "default" {
        o.push_str("default");
    } else {
        o.push_str(&addr_len(&r.dst.addr, r.dst.len));
    }
    if let Some(f) = &r.from {
        let _ = write!(o, " from {}", addr_len(&f.addr, f.len));
    }
    if let Some(s) = &r.pref_src {
        let _ = write!(o, " src {s}");
    }
    if let Some(t) = r.tos {
        let _ = write!(o, " tos {t}");
    }
    if let Some(e) = &r.encap {
        encap(&mut o, e);
    }
    if let Some(v) = &r.via {
        let _ = write!(o, " via {} {v}", inet(v));
    }
    if let Some(d) = &r.dev {
        let _ = write!(o, " dev {d}");
    }
    if r.table != 254 {
        let _ = write!(o, " table {}", r.table);
    }
    if let Some(p) = r.protocol {
        let _ = write!(o, " proto {p}");
    }
    if let Some(s) = r.scope {
        let _ = write!(o, " scope {}", s.0);
    }
    if let Some(m) = r.metric {
        let _ = write!(o, " metric {m}");
    }
    if r.family == MFamily::Inet && r.onlink {
        o.push_str(" onlink");
    }
    if let Some(re) = r.realms.filter(|&re| re != 0) {
        if re & 0xffff_0000 != 0 {
            let _ = write!(o, " realms {}/", re >> 16);
        } else {
            o.push_str(" realm ");
        }
        let _ = write!(o, "{}", re & 0xffff);
    }
    if let Some(e) = r.expires {
        let _ = write!(o, " expires {e}sec");
    }
    let m = &r.metrics;
    if let Some((alg, lock)) = &m.congctl {
        let _ = write!(o, " congctl {alg}{}", if *lock { "lock " } else { "" });
    }
    if let Some(rtt) = m.rtt {
        let _ = write!(o, " rtt{} ", if rtt.lock { " lock" } else { "" });
        if rtt.value >= 8000 {
            let _ = write!(o, "{}s", c_g(f64::from(rtt.value) / 8000.0));
        } else {
            let _ = write!(o, "{}ms", c_g(f64::from(rtt.value) / 8.0));
        }
    }
    if let Some(v) = m.rttvar {
        let _ = write!(o, " rttvar{} ", if v.lock { " lock" } else { "" });
        if v.value >= 4000 {
            let _ = write!(o, "{}s", c_g(f64::from(v.value) / 4000.0));
        } else {
            let _ = write!(o, "{}ms", c_g(f64::from(v.value) / 4.0));
        }
    }
    if let Some(v) = m.rto_min {
        let _ = write!(o, " rto_min{} ", if v.lock { " lock" } else { "" });
        if v.value >= 1000 {
            let _ = write!(o, "{}s", c_g(f64::from(v.value) / 1000.0));
        } else {
            let _ = write!(o, "{}ms", v.value);
        }
    }
    if m.features_ecn {
        o.push_str(" features ecn");
    }
    let locked = |o: &mut String, name: &str, v: Option<crate::config::model::vrrp::Metric>| {
        if let Some(v) = v {
            let _ = write!(
                o,
                " {name} {}{}",
                if v.lock { "lock " } else { "" },
                v.value
            );
        }
    };
    locked(&mut o, "mtu", m.mtu);
    if let Some(v) = m.window {
        let _ = write!(o, " window {v}");
    }
    locked(&mut o, "ssthresh", m.ssthresh);
    locked(&mut o, "cwnd", m.cwnd);
    locked(&mut o, "advmss", m.advmss);
    locked(&mut o, "reordering", m.reordering);
    if let Some(v) = m.hoplimit {
        let _ = write!(o, " hoplimit {v}");
    }
    if let Some(v) = m.initcwnd {
        let _ = write!(o, " initcwnd {v}");
    }
    if let Some(v) = m.initrwnd {
        let _ = write!(o, " initrwnd {v}");
    }
    if let Some(v) = m.quickack {
        let _ = write!(o, " quickack {}", i32::from(v));
    }
    if let Some(p) = r.pref {
        let _ = write!(
            o,
            " pref {}",
            match p {
                3 => "low",
                0 => "medium",
                1 => "high",
                _ => "unknown",
            }
        );
    }
    if let Some(v) = m.fastopen_no_cookie {
        let _ = write!(o, " fastopen_no_cookie {}", i32::from(v));
    }
    if let Some(v) = r.ttl_propagate {
        let _ = write!(o, " ttl-propagate {}abled", if v { "en" } else { "dis" });
    }
    for nh in &r.nexthops {
        o.push_str(" nexthop");
        if let Some(v) = &nh.via {
            let _ = write!(o, " via inet{} {v}", if v.is_ipv4() { "" } else { "6" });
        }
        if let Some(d) = &nh.dev {
            let _ = write!(o, " dev {d}");
        }
        if let Some(wt) = nh.weight {
            let _ = write!(o, " weight {wt}");
        }
        if nh.onlink {
            o.push_str(" onlink");
        }
        if let Some(re) = nh.realms.filter(|&re| re != 0) {
            if r.realms.unwrap_or(0) & 0xffff_0000 != 0 {
                let _ = write!(o, " realms {}/", re >> 16);
            } else {
                o.push_str(" realm ");
            }
            let _ = write!(o, "{}", re & 0xffff);
        }
        if let Some(e) = &nh.encap {
            encap(&mut o, e);
        }
    }
    if r.no_track {
        o.push_str(" no_track");
    }
    if let Some(g) = &r.track_group {
        let _ = write!(o, " track_group {g}");
    }
    o
}

/// `format_iprule()`.
pub fn format_rule(r: &RuleSpec) -> String {
    let mut o = String::new();
    if r.to.is_none() && r.from.is_none() && r.family == MFamily::Inet6 {
        o.push_str("inet6 ");
    }
    if r.invert {
        o.push_str("not ");
    }
    match &r.from {
        Some(f) => {
            let _ = write!(o, "from {}", addr_len(&f.addr, f.len));
        }
        None => o.push_str("from all"),
    }
    if let Some(t) = &r.to {
        let _ = write!(o, " to {}", addr_len(&t.addr, t.len));
    }
    let _ = write!(o, " priority {}", r.priority);
    let _ = write!(o, " tos 0x{:x}", r.tos.unwrap_or(0));
    if let Some((mark, mask)) = r.fwmark {
        let _ = write!(o, " fwmark 0x{mark:x}");
        if let Some(m) = mask.filter(|&m| m != u32::MAX) {
            let _ = write!(o, "/0x{m:x}");
        }
    }
    if let Some(i) = &r.iif {
        let _ = write!(o, " iif {i}");
    }
    if let Some(i) = &r.oif {
        let _ = write!(o, " oif {i}");
    }
    if let Some(s) = r.suppress_prefixlen {
        let _ = write!(o, " suppress_prefixlen {s}");
    }
    if let Some(s) = r.suppress_ifgroup {
        let _ = write!(o, " suppress_ifgroup {s}");
    }
    if let Some(t) = r.tunnel_id.filter(|&t| t != 0) {
        let _ = write!(o, " tunnel-id {t}");
    }
    if let Some((a, b)) = r.uidrange {
        let _ = write!(o, " uidrange {a}-{b}");
    }
    if r.action == RuleAction::L3mdev {
        o.push_str(" l3mdev");
    }
    if let Some(p) = r.protocol {
        let _ = write!(o, " protocol {p}");
    }
    if let Some(p) = r.ipproto {
        let _ = write!(o, " ipproto {p}");
    }
    if let Some((a, b)) = r.sport {
        let _ = write!(o, " sport {a}-{b}");
    }
    if let Some((a, b)) = r.dport {
        let _ = write!(o, " dport {a}-{b}");
    }
    if let Some(re) = r.realms.filter(|&re| re != 0) {
        let _ = write!(o, " realms {}/{}", re >> 16, re & 0xffff);
    }
    match r.action {
        RuleAction::Table(t) => {
            let _ = write!(o, " lookup {t}");
        }
        // l3mdev rules are FR_ACT_TO_TBL with table 0.
        RuleAction::L3mdev => o.push_str(" lookup 0"),
        RuleAction::Goto(g) => {
            let _ = write!(o, " goto {g}");
        }
        RuleAction::Nop => o.push_str(" nop"),
        RuleAction::Blackhole => o.push_str(" type blackhole"),
        RuleAction::Unreachable => o.push_str(" type unreachable"),
        RuleAction::Prohibit => o.push_str(" type prohibit"),
    }
    if r.no_track {
        o.push_str(" no_track");
    }
    if let Some(g) = &r.track_group {
        let _ = write!(o, " track_group {g}");
    }
    o
}

fn notify_scripts(c: &DumpCtx<'_>, o: &mut String, n: &NotifyScripts) {
    let one = |o: &mut String, s: &Option<crate::config::model::global::ExecScript>, t: &str| {
        if let Some(s) = s {
            w!(
                o,
                "   {t} state transition script = {}, uid:gid {}:{}",
                script_str(c, s),
                s.uid,
                s.gid
            );
        }
    };
    one(o, &n.backup, "Backup");
    one(o, &n.master, "Master");
    one(o, &n.fault, "Fault");
    one(o, &n.stop, "Stop");
    if let Some(d) = &n.deleted {
        one(o, d, "Deleted");
    }
    one(o, &n.generic, "Generic");
    one(o, &n.master_rx_lower_pri, "Master rx lower pri");
}

fn tf(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn rev(r: bool) -> &'static str {
    if r {
        " reverse"
    } else {
        ""
    }
}

/// The trackers an instance was configured with (the engine's list, without the implicit
/// tracking of the instance's own interface).
fn explicit_tracks<'a>(inst: &'a Instance, m: Option<&VrrpInstance>) -> Vec<&'a TrackRef> {
    let own = inst.config().interface.as_deref();
    let configured =
        |n: &str| m.is_some_and(|m| m.track_interfaces.iter().any(|t: &Tracked| t.name == n));
    inst.config()
        .tracks
        .iter()
        .filter(|t| match &t.target {
            Target::Interface(n) => Some(n.as_str()) != own || configured(n),
            _ => true,
        })
        .collect()
}

fn script_name(r: &Router, id: u32) -> &str {
    r.trackers()
        .scripts
        .get(id as usize)
        .map(|s| s.name.as_str())
        .unwrap_or("")
}

fn instance(c: &DumpCtx<'_>, r: &Router, idx: usize, o: &mut String) {
    let inst = &r.instances()[idx];
    let cfg = inst.config();
    let m = c.model.vrrp.instance(&cfg.name);
    let v3 = cfg.version == Version::V3;
    w!(o, " VRRP Instance = {}", cfg.name);
    w!(o, "   VRRP Version = {}", if v3 { 3 } else { 2 });
    if let Some(g) = r.group_of(idx) {
        w!(o, "   Sync group = {}", g.name());
    }
    if cfg.family == Family::Ipv6 {
        w!(o, "   Using Native IPv6");
    }
    w!(o, "   State = {}", state_str(inst.state()));
    if inst.state() == State::Backup {
        let master = inst
            .master_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|| match cfg.family {
                Family::Ipv4 => "0.0.0.0".into(),
                Family::Ipv6 => "::".into(),
            });
        w!(o, "   Master router = {master}");
        w!(o, "   Master priority = {}", inst.master_priority());
        if v3 {
            w!(
                o,
                "   Master advert int = {:.2} sec",
                inst.master_adver_int_us() as f64 / 1e6
            );
        }
    }
    let unicast = cfg.is_unicast();
    let unicast_configured = m.is_some_and(|m| m.configured.unicast_keyword) || unicast;
    let fault_no_peer = m.is_some_and(|m| m.unicast_fault_no_peer);
    let any_flag = unicast_configured
        || fault_no_peer
        || m.is_some_and(|m| {
            m.dont_track_primary
                || m.linkbeat_use_polling
                || m.skip_check_adv_addr
                || m.unicast_src_ip.is_some()
                || m.mcast_src_ip.is_some()
                || m.track_src_ip
                || m.check_unicast_src
                || m.promote_secondaries
                || m.nopreempt
                || m.vmac.is_some()
                || m.ipvlan.is_some()
                || m.use_vmac_addr
        })
        || cfg.nopreempt
        || cfg.skip_check_adv_addr;
    if any_flag {
        w!(o, "   Flags:");
        if unicast {
            w!(o, "     Using unicast");
        } else if unicast_configured {
            w!(
                o,
                "     Unicast config option specified but using multicast"
            );
        }
        if fault_no_peer {
            w!(o, "     If unicast go to fault state if no peers");
        }
    } else {
        w!(o, "   Flags: none");
    }
    w!(o, "   Wantstate = {}", state_str(ka_wantstate(inst)));
    w!(o, "   Number of config faults = 0");
    w!(
        o,
        "   Number of interface and track script faults = {}",
        inst.faults()
    );
    w!(
        o,
        "   Number of track scripts init = {}",
        inst.init_pending()
    );
    w!(
        o,
        "   Last transition = {}",
        stamp(c, inst.last_transition())
    );
    match inst.read_timeout() {
        Some(t) => w!(o, "   Read timeout = {}", stamp(c, t)),
        None => w!(o, "   Read timeout = DISABLED"),
    }
    w!(
        o,
        "   Master down timer = {} usecs",
        inst.master_down_timer_us()
    );
    let vmac = m.and_then(|m| m.vmac.as_ref());
    match (vmac, cfg.interface.as_deref()) {
        (Some(v), Some(ifname)) => {
            let up = c
                .sys
                .interfaces
                .iter()
                .any(|i| i.name == ifname && i.flags & IFF_UP != 0);
            w!(
                o,
                "   Use VMAC, i/f name {ifname}, is_up = {}, xmit_base = {}",
                tf(up),
                tf(v.xmit_base)
            );
            if let Some(mac) = v.mac {
                w!(o, "     MAC = {}", mac_str(&mac));
            }
            let base = c.base_of(ifname).unwrap_or("(unknown)");
            w!(
                o,
                "   Interface = {ifname}, vmac on {base}{}",
                if v.xmit_base { ", xmit base i/f" } else { "" }
            );
        }
        _ => w!(
            o,
            "   Interface = {}",
            cfg.interface.as_deref().unwrap_or("not configured")
        ),
    }
    if m.is_some_and(|m| m.dont_track_primary) {
        w!(o, "   VRRP interface tracking disabled");
    }
    if cfg.skip_check_adv_addr {
        w!(o, "   Skip checking advert IP addresses");
    }
    if cfg.strict {
        w!(o, "   Enforcing strict VRRP compliance");
    }
    let from_cfg = m.is_some_and(|m| {
        m.configured.spans.contains_key("unicast_src_ip")
            || m.configured.spans.contains_key("mcast_src_ip")
    });
    w!(
        o,
        "   Using src_ip = {}{}",
        r.source_address(idx)
            .map(|a| a.to_string())
            .unwrap_or_else(|| "(none)".into()),
        if from_cfg {
            " (from configuration)"
        } else {
            ""
        }
    );
    if !unicast {
        match cfg.family {
            Family::Ipv4 => w!(o, "   Multicast address {}", cfg.mcast_dst),
            Family::Ipv6 => w!(
                o,
                "   Multicast address {}, ifindex {}",
                cfg.mcast_dst,
                c.ifindex(cfg.interface.as_deref())
            ),
        }
    }
    let g = &cfg.garp;
    w!(
        o,
        "   Gratuitous ARP delay = {}",
        g.master_delay_us / 1_000_000
    );
    w!(o, "   Gratuitous ARP repeat = {}", g.master_repeat);
    w!(
        o,
        "   Gratuitous ARP refresh = {}",
        g.master_refresh_us / 1_000_000
    );
    w!(
        o,
        "   Gratuitous ARP refresh repeat = {}",
        g.master_refresh_repeat
    );
    w!(
        o,
        "   Gratuitous ARP lower priority delay = {}",
        g.lower_prio_delay_us / 1_000_000
    );
    w!(
        o,
        "   Gratuitous ARP lower priority repeat = {}",
        g.lower_prio_repeat
    );
    w!(o, "   Down timer adverts = {}", cfg.down_timer_adverts);
    if let Some(e) = m
        .and_then(|m| m.garp.extra_if)
        .filter(|e| e.interval_us >= 1_000_000)
    {
        w!(
            o,
            "   Gratuitous ARP for each secondary {} = {}",
            if e.all { "i/f" } else { "VMAC" },
            e.interval_us / 1_000_000
        );
        w!(
            o,
            "   Next gratuitous ARP for such secondary = 0.000000 ({})",
            ctime24_us(&c.sys.tz, 0, 0)
        );
    }
    w!(
        o,
        "   Send advert after receive lower priority advert = {}",
        tf(!cfg.lower_prio_no_advert)
    );
    w!(
        o,
        "   Send advert after receive higher priority advert = {}",
        tf(cfg.higher_prio_send_advert)
    );
    w!(o, "   Virtual Router ID = {}", cfg.vrid);
    w!(o, "   Priority = {}", inst.base_priority());
    w!(o, "   Effective priority = {}", inst.effective_priority());
    w!(o, "   Total priority = {}", inst.total_priority());
    if v3 {
        w!(
            o,
            "   Advert interval = {} milli-sec",
            cfg.adver_int_us / 1000
        );
    } else {
        w!(
            o,
            "   Advert interval = {} sec",
            cfg.adver_int_us / 1_000_000
        );
    }
    if inst.state() == State::Backup && v3 {
        w!(
            o,
            "   Master advert interval = {} milli-sec",
            inst.master_adver_int_us() / 1000
        );
    }
    let en = |b: bool| if b { "enabled" } else { "disabled" };
    w!(o, "   Accept = {}", en(cfg.accept));
    w!(o, "   Preempt = {}", en(!cfg.nopreempt));
    if cfg.preempt_delay_us != 0 {
        w!(
            o,
            "   Preempt delay = {} secs",
            c_g(cfg.preempt_delay_us as f64 / 1e6)
        );
    }
    w!(
        o,
        "   Promote_secondaries = {}",
        en(m.is_some_and(|m| m.promote_secondaries))
    );
    match &cfg.auth {
        Auth::Pass(p) => {
            w!(o, "   Authentication type = SIMPLE_PASSWORD");
            let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
            w!(o, "   Password = {}", String::from_utf8_lossy(&p[..end]));
        }
        Auth::Ah(_) => w!(o, "   Authentication type = IPSEC_AH"),
        Auth::None if !v3 => w!(o, "   Authentication type = none"),
        Auth::None => {}
    }
    if let Some(k) = m.and_then(|m| m.kernel_rx_buf_size).filter(|&k| k != 0) {
        w!(o, "   Kernel rx buffer size = {k}");
    }
    if let Some(d) = m.map(|m| m.debug).filter(|&d| d != 0) {
        w!(o, "   Debug level = {d}");
    }
    let set = inst.vips_set();
    if !cfg.vips.is_empty() {
        w!(o, "   Virtual IP ({}):", cfg.vips.len());
        for v in &cfg.vips {
            w!(o, "     {}", format_vip(v, set, c.base_of(&v.dev)));
        }
    }
    if !cfg.evips.is_empty() {
        w!(o, "   Virtual IP Excluded :");
        for v in &cfg.evips {
            w!(o, "     {}", format_vip(v, set, c.base_of(&v.dev)));
        }
    }
    if unicast {
        match (cfg.unicast_ttl, cfg.family) {
            (Some(t), _) => w!(o, "   Unicast TTL = {t}"),
            (None, Family::Ipv4) => w!(o, "   Unicast TTL = 255"),
            (None, Family::Ipv6) => {}
        }
        let check = cfg.check_unicast_src
            || cfg
                .unicast_peers
                .iter()
                .any(|p| p.min_ttl.is_some() || p.max_ttl.is_some());
        w!(
            o,
            "   Check unicast src : {}",
            if check { "yes" } else { "no" }
        );
        w!(o, "   Unicast Peer :");
        for p in &cfg.unicast_peers {
            w!(
                o,
                "     {} min_ttl {} max_ttl {}",
                p.addr,
                p.min_ttl.unwrap_or(0),
                p.max_ttl.unwrap_or(255)
            );
        }
        w!(
            o,
            "   Unicast checksum compatibility = {}",
            match cfg.old_unicast_checksum {
                None => "no",
                Some(false) => "never",
                Some(true) => "config",
            }
        );
    }
    match c.socket_fds(cfg) {
        Some((i, out)) => w!(o, "   fd_in {i}, fd_out {out}"),
        None => w!(o, "   No sockets allocated"),
    }
    if !cfg.routes.is_empty() {
        w!(o, "   Virtual Routes :");
        for rt in &cfg.routes {
            w!(o, "     {}", format_route(rt));
        }
    }
    if !cfg.rules.is_empty() {
        w!(o, "   Virtual Rules :");
        for ru in &cfg.rules {
            w!(o, "     {}", format_rule(ru));
        }
    }
    let tracks = explicit_tracks(inst, m);
    let section = |o: &mut String, title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            w!(o, "   {title} :");
            for l in lines {
                w!(o, "     {l}");
            }
        }
    };
    let t = r.trackers();
    section(
        o,
        "Tracked interfaces",
        tracks
            .iter()
            .filter_map(|tr| match &tr.target {
                Target::Interface(n) => {
                    Some(format!("{n} weight {}{}", tr.weight, rev(tr.reverse)))
                }
                _ => None,
            })
            .collect(),
    );
    section(
        o,
        "Tracked scripts",
        tracks
            .iter()
            .filter_map(|tr| match &tr.target {
                Target::Script(id) => Some(format!(
                    "{} weight {}{}",
                    script_name(r, id.0),
                    tr.weight,
                    rev(tr.reverse)
                )),
                _ => None,
            })
            .collect(),
    );
    section(
        o,
        "Tracked files",
        tracks
            .iter()
            .filter_map(|tr| match &tr.target {
                Target::File(id) => Some(format!(
                    "{}, weight {}{}",
                    t.files
                        .get(id.0 as usize)
                        .map(|f| f.name.as_str())
                        .unwrap_or(""),
                    tr.weight,
                    rev(tr.reverse)
                )),
                _ => None,
            })
            .collect(),
    );
    section(
        o,
        "Tracked processes",
        tracks
            .iter()
            .filter_map(|tr| match &tr.target {
                Target::Process(id) => Some(format!(
                    "{}, weight {}{}",
                    t.processes
                        .get(id.0 as usize)
                        .map(|p| p.name.as_str())
                        .unwrap_or(""),
                    tr.weight,
                    rev(tr.reverse)
                )),
                _ => None,
            })
            .collect(),
    );
    section(
        o,
        "Tracked BFDs",
        tracks
            .iter()
            .filter_map(|tr| match &tr.target {
                Target::Bfd(id) => Some(format!(
                    "{}: weight {}{}",
                    t.bfds
                        .get(id.0 as usize)
                        .map(|b| b.name.as_str())
                        .unwrap_or(""),
                    tr.weight,
                    rev(tr.reverse)
                )),
                _ => None,
            })
            .collect(),
    );
    w!(
        o,
        "   Using smtp notification = {}",
        if m.is_some_and(|m| m.smtp_alert) {
            "yes"
        } else {
            "no"
        }
    );
    w!(
        o,
        "   Notify deleted = {}",
        if cfg.notify_deleted {
            "Deleted"
        } else {
            "Fault"
        }
    );
    if let Some(m) = m {
        notify_scripts(c, o, &m.notify);
    }
    w!(
        o,
        "   Notify priority changes = {}",
        tf(cfg.notify_priority_changes)
    );
}

/// keepalived's socket pool, rebuilt from the instances: one entry per interface, family,
/// protocol and (unicast) source address, in the order instances first use them.
struct PoolEntry {
    ifname: String,
    family: Family,
    ah: bool,
    unicast_src: Option<String>,
    fds: Option<(i32, i32)>,
    members: Vec<(u8, String)>,
}

fn sock_pool(c: &DumpCtx<'_>, r: &Router) -> Vec<PoolEntry> {
    let mut pool: Vec<PoolEntry> = Vec::new();
    for (i, inst) in r.instances().iter().enumerate() {
        let cfg = inst.config();
        let Some(ifname) = cfg.interface.clone() else {
            continue;
        };
        let ah = matches!(cfg.auth, Auth::Ah(_));
        let unicast_src = cfg.is_unicast().then(|| {
            r.source_address(i)
                .map(|a| a.to_string())
                .unwrap_or_default()
        });
        let fds = c.socket_fds(cfg);
        match pool.iter_mut().find(|p| {
            p.ifname == ifname
                && p.family == cfg.family
                && p.ah == ah
                && p.unicast_src == unicast_src
        }) {
            Some(p) => p.members.push((cfg.vrid, cfg.name.clone())),
            None => pool.push(PoolEntry {
                ifname,
                family: cfg.family,
                ah,
                unicast_src,
                fds,
                members: vec![(cfg.vrid, cfg.name.clone())],
            }),
        }
    }
    for p in &mut pool {
        p.members.sort_by_key(|m| m.0);
    }
    pool
}

fn sockpool(c: &DumpCtx<'_>, r: &Router, o: &mut String) {
    let pool = sock_pool(c, r);
    if pool.is_empty() {
        return;
    }
    w!(o, "------< VRRP Sockpool >------");
    for p in pool {
        let (fi, fo) = p.fds.unwrap_or((-1, -1));
        w!(o, " fd_in {fi} fd_out = {fo}");
        w!(o, "   Interface = {}", p.ifname);
        w!(
            o,
            "   Family = {}",
            if p.family == Family::Ipv4 {
                "IPv4"
            } else {
                "IPv6"
            }
        );
        w!(o, "   Protocol = {}", if p.ah { "AH" } else { "VRRP" });
        w!(
            o,
            "   Type = {}",
            if p.unicast_src.is_some() {
                "Unicast"
            } else {
                "Multicast"
            }
        );
        if let Some(a) = &p.unicast_src {
            w!(o, "   Address = {a}");
        }
        w!(o, "   Rx buf size = 0");
        w!(o, "   VRRP instances");
        for (vrid, name) in &p.members {
            w!(o, "     {name} vrid {vrid}");
        }
    }
}

fn sync_groups(c: &DumpCtx<'_>, r: &Router, o: &mut String) {
    if r.sync_groups().is_empty() {
        return;
    }
    w!(o, "------< VRRP Sync groups >------");
    for (gi, g) in r.sync_groups().iter().enumerate() {
        let m = c.model.vrrp.sync_group(g.name());
        w!(
            o,
            " VRRP Sync Group = {}, {}",
            g.name(),
            state_str(g.state())
        );
        let (fault, init) = r.group_member_counts(gi);
        w!(o, "   Num member fault {fault}, num member init {init}");
        if !g.members().is_empty() {
            w!(o, "   VRRP member instances :");
            for &i in g.members() {
                if let Some(inst) = r.instance(i) {
                    w!(o, "     {}", inst.name());
                }
            }
        }
        if m.is_some_and(|m| m.tracking_weight) {
            w!(o, "   sync group tracking weight set");
        }
        w!(
            o,
            "   Using smtp notification = {}",
            if m.is_some_and(|m| m.smtp_alert) {
                "yes"
            } else {
                "no"
            }
        );
        if let Some(n) = m.and_then(|m| m.notify_priority_changes) {
            w!(
                o,
                "   Notify priority changes = {}",
                if n { "yes" } else { "no" }
            );
        }
        if let Some(m) = m {
            let list = |o: &mut String, title: &str, v: &[Tracked], sep: &str| {
                if !v.is_empty() {
                    w!(o, "   {title} :");
                    for t in v {
                        w!(
                            o,
                            "     {}{sep} weight {}{}",
                            t.name,
                            t.weight,
                            rev(t.reverse)
                        );
                    }
                }
            };
            list(o, "Tracked interfaces", &m.track_interfaces, "");
            list(o, "Tracked scripts", &m.track_scripts, "");
            list(o, "Tracked files", &m.track_files, ",");
            list(o, "Tracked process", &m.track_processes, ",");
            list(o, "Tracked BFDs", &m.track_bfds, ":");
            notify_scripts(c, o, &m.notify);
        }
    }
}

/// (instance name, weight, reverse) of every instance tracking `target`, in instance order.
fn trackers_of(r: &Router, pred: impl Fn(&Target) -> bool) -> Vec<(String, i32, bool)> {
    let mut v = Vec::new();
    for inst in r.instances() {
        for t in &inst.config().tracks {
            if pred(&t.target) {
                v.push((inst.name().to_string(), t.weight, t.reverse));
            }
        }
    }
    v
}

fn tracking_list(o: &mut String, l: &[(String, i32, bool)]) {
    if l.is_empty() {
        return;
    }
    w!(o, "   Tracking instances :");
    for (n, wt, rv) in l {
        w!(o, "     {n}, weight {wt}{}", rev(*rv));
    }
}

fn scripts(c: &DumpCtx<'_>, r: &Router, o: &mut String) {
    let t = r.trackers();
    let used: Vec<usize> = (0..t.scripts.len())
        .filter(|&i| {
            !trackers_of(
                r,
                |tg| matches!(tg, Target::Script(id) if id.0 as usize == i),
            )
            .is_empty()
        })
        .collect();
    if used.is_empty() {
        return;
    }
    w!(o, "------< VRRP Scripts >------");
    for i in used {
        let s = &t.scripts[i];
        let Some(m) = c.model.vrrp.script(&s.name) else {
            continue;
        };
        w!(o, " VRRP Script = {}", s.name);
        w!(o, "   Command = {}", script_str(c, &m.script));
        w!(o, "   Interval = {} sec", m.interval_us / 1_000_000);
        // keepalived keeps 0 for "no timeout configured" (it then waits one interval).
        let timeout = if m.timeout_us == m.interval_us {
            0
        } else {
            m.timeout_us / 1_000_000
        };
        w!(o, "   Timeout = {timeout} sec");
        w!(o, "   Weight = {}{}", m.weight, rev(m.weight_reverse));
        let (rise, fall) = (m.rise.max(1), m.fall.max(1));
        w!(o, "   Rise = {rise}");
        w!(o, "   Fall = {fall}");
        w!(o, "   Result = {}", s.result());
        w!(o, "   Insecure = no");
        let init = match s.health() {
            Health::Pending => "INIT",
            Health::Down if m.init_fail && s.result() == 0 => "INIT/FAILED",
            _ => "unknown",
        };
        w!(o, "   Init state = {init}");
        w!(
            o,
            "   Status = {}",
            if s.result() >= rise { "GOOD" } else { "BAD" }
        );
        w!(o, "   Script uid:gid = {}:{}", m.script.uid, m.script.gid);
        w!(o, "   VRRP instances :");
        tracking_list(
            o,
            &trackers_of(
                r,
                |tg| matches!(tg, Target::Script(id) if id.0 as usize == i),
            ),
        );
        w!(o, "   State = idle");
    }
}

fn track_files(c: &DumpCtx<'_>, r: &Router, o: &mut String) {
    let t = r.trackers();
    if t.files.is_empty() {
        return;
    }
    w!(o, "------< VRRP Track files >------");
    for (i, f) in t.files.iter().enumerate() {
        let m = c.model.vrrp.track_files.iter().find(|m| m.name == f.name);
        w!(o, " Track file = {}", f.name);
        w!(o, "   File = {}", m.map(|m| m.path.as_str()).unwrap_or(""));
        w!(o, "   Status = {}", f.value);
        w!(
            o,
            "   Weight = {}{}",
            m.map(|m| m.weight).unwrap_or(1),
            rev(m.is_some_and(|m| m.weight_reverse))
        );
        tracking_list(
            o,
            &trackers_of(r, |tg| matches!(tg, Target::File(id) if id.0 as usize == i)),
        );
    }
}

fn track_processes(c: &DumpCtx<'_>, r: &Router, o: &mut String) {
    let t = r.trackers();
    if t.processes.is_empty() {
        return;
    }
    w!(o, "------< VRRP Track processes >------");
    for (i, p) in t.processes.iter().enumerate() {
        let Some(m) = c
            .model
            .vrrp
            .track_processes
            .iter()
            .find(|m| m.name == p.name)
        else {
            continue;
        };
        w!(o, " VRRP Track process = {}", p.name);
        w!(o, "   Process = {}", m.process);
        if !m.params.is_empty() {
            w!(o, "   Parameters = {}", m.params.join(" "));
            w!(
                o,
                "   Param match{}",
                match m.param_match {
                    ParamMatch::Exact => "",
                    ParamMatch::Partial => " = partial",
                    ParamMatch::Initial => " = initial",
                }
            );
        }
        w!(o, "   Min processes = {}", m.quorum);
        if let Some(max) = m.quorum_max {
            w!(o, "   Max processes = {max}");
        }
        w!(o, "   Current processes = {}", p.count().unwrap_or(0));
        w!(
            o,
            "   Have quorum = {}",
            if p.health() == Health::Up {
                "true"
            } else {
                "false"
            }
        );
        w!(o, "   Weight = {}{}", m.weight, rev(m.weight_reverse));
        w!(
            o,
            "   Terminate delay = {:.6}s",
            m.terminate_delay_us as f64 / 1e6
        );
        w!(o, "   Fork delay = {:.6}s", m.fork_delay_us as f64 / 1e6);
        w!(o, "   Fork delay timer not running");
        w!(o, "   Terminate delay timer not running");
        w!(
            o,
            "   Full command = {}",
            if m.full_command { "true" } else { "false" }
        );
        tracking_list(
            o,
            &trackers_of(
                r,
                |tg| matches!(tg, Target::Process(id) if id.0 as usize == i),
            ),
        );
    }
}

fn track_bfds(r: &Router, o: &mut String) {
    let t = r.trackers();
    if t.bfds.is_empty() {
        return;
    }
    w!(o, "------< VRRP Track BFDs >------");
    for (i, b) in t.bfds.iter().enumerate() {
        let l = trackers_of(r, |tg| matches!(tg, Target::Bfd(id) if id.0 as usize == i));
        w!(o, " VRRP Track BFD = {}", b.name);
        w!(o, "   Weight = 0");
        w!(o, "   Bfd is {}", if b.up { "up" } else { "down" });
        tracking_list(o, &l);
    }
}

/// Interfaces that share the global GARP/NA pacing (keepalived's garp delay group 0): the
/// interfaces instances send on, unless a `garp_group` claims them.
fn garp_delay_ifaces(c: &DumpCtx<'_>, r: &Router) -> Vec<String> {
    let grouped: Vec<&String> = c
        .model
        .vrrp
        .garp_groups
        .iter()
        .flat_map(|g| g.interfaces.iter())
        .collect();
    let mut v: Vec<String> = Vec::new();
    for i in &c.sys.interfaces {
        let used = r
            .instances()
            .iter()
            .any(|inst| inst.config().interface.as_deref() == Some(i.name.as_str()));
        if used && !grouped.contains(&&i.name) && !v.contains(&i.name) {
            v.push(i.name.clone());
        }
    }
    v
}

fn interval_ms(us: u64) -> u64 {
    us / 1000
}

fn garp_delays(c: &DumpCtx<'_>, r: &Router, o: &mut String) {
    let gv = &c.model.global.vrrp;
    let global = gv.garp_interval_us != 0 || gv.gna_interval_us != 0;
    if !global && c.model.vrrp.garp_groups.is_empty() {
        return;
    }
    w!(o, "------< Gratuitous ARP delays >------");
    let zero = format!("0.000000 ({})", ctime19_us(&c.sys.tz, 0, 0));
    let group = |o: &mut String, n: usize, garp: Option<u64>, gna: Option<u64>, ifs: &[String]| {
        w!(o, "------< GARP delay group {n} >------");
        if let Some(g) = garp {
            w!(o, " GARP interval = {}", c_g(g as f64 / 1e6));
            w!(o, " GARP next time {zero}");
        }
        if let Some(g) = gna {
            w!(o, " GNA interval = {}", c_g(g as f64 / 1e6));
            w!(o, " GNA next time {zero}");
        } else if garp.is_none() {
            w!(o, " No configuration");
        }
        w!(o, " Interfaces");
        for i in c.sys.interfaces.iter().filter(|i| ifs.contains(&i.name)) {
            w!(o, "  {}", i.name);
        }
    };
    if global {
        let ifs = garp_delay_ifaces(c, r);
        group(
            o,
            0,
            (gv.garp_interval_us != 0).then_some(gv.garp_interval_us),
            (gv.gna_interval_us != 0).then_some(gv.gna_interval_us),
            &ifs,
        );
    }
    for (n, gg) in c.model.vrrp.garp_groups.iter().enumerate() {
        group(
            o,
            n + 1,
            gg.garp_interval_us,
            gg.gna_interval_us,
            &gg.interfaces,
        );
    }
}

/// The GARP/NA intervals and aggregation group an interface uses, if any.
fn iface_garp(
    c: &DumpCtx<'_>,
    r: &Router,
    name: &str,
) -> Option<(Option<u64>, Option<u64>, usize)> {
    for (n, gg) in c.model.vrrp.garp_groups.iter().enumerate() {
        if gg.interfaces.iter().any(|i| i == name) {
            return Some((gg.garp_interval_us, gg.gna_interval_us, n + 1));
        }
    }
    let gv = &c.model.global.vrrp;
    if (gv.garp_interval_us != 0 || gv.gna_interval_us != 0)
        && garp_delay_ifaces(c, r).iter().any(|i| i == name)
    {
        return Some((
            (gv.garp_interval_us != 0).then_some(gv.garp_interval_us),
            (gv.gna_interval_us != 0).then_some(gv.gna_interval_us),
            0,
        ));
    }
    None
}

/// Addresses keepalived counts as the interface's own: not a VIP or eVIP of ours.
fn own_addrs<'a>(
    r: &Router,
    i: &'a IfaceDetail,
) -> (Vec<&'a std::net::Ipv4Addr>, Vec<&'a std::net::Ipv6Addr>) {
    let ours = |a: IpAddr| {
        r.instances().iter().any(|inst| {
            let cfg = inst.config();
            cfg.vips.iter().chain(cfg.evips.iter()).any(|v| v.addr == a)
        })
    };
    (
        i.ipv4.iter().filter(|a| !ours(IpAddr::V4(**a))).collect(),
        i.ipv6_link_local
            .iter()
            .filter(|a| !ours(IpAddr::V6(**a)))
            .collect(),
    )
}

/// (VMAC interface, base interface) of every instance using a VMAC, in instance order.
fn vmac_instances(c: &DumpCtx<'_>, r: &Router) -> Vec<(String, String)> {
    r.instances()
        .iter()
        .filter_map(|inst| {
            c.model.vrrp.instance(inst.name())?.vmac.as_ref()?;
            let vmac = inst.config().interface.clone()?;
            let base = c.base_of(&vmac)?.to_string();
            Some((vmac, base))
        })
        .collect()
}

/// The instances tracking an interface: its trackers, plus the base interface of a
/// VMAC instance (keepalived tracks both).
fn iface_tracking(c: &DumpCtx<'_>, r: &Router, ifname: &str) -> Vec<(String, i32, bool)> {
    let mut v = Vec::new();
    for inst in r.instances() {
        let before = v.len();
        for t in &inst.config().tracks {
            if matches!(&t.target, Target::Interface(n) if n == ifname) {
                v.push((inst.name().to_string(), t.weight, t.reverse));
            }
        }
        let vmac_base = c
            .model
            .vrrp
            .instance(inst.name())
            .filter(|m| m.vmac.is_some())
            .and_then(|_| c.base_of(inst.config().interface.as_deref()?));
        if v.len() == before && vmac_base == Some(ifname) {
            v.push((inst.name().to_string(), 0, false));
        }
    }
    v
}

fn mac_str(m: &[u8]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn interfaces(c: &DumpCtx<'_>, r: &Router, o: &mut String) {
    if c.sys.interfaces.is_empty() {
        return;
    }
    w!(o, "------< Interfaces >------");
    for i in &c.sys.interfaces {
        w!(o, " Name = {}", i.name);
        w!(o, "   index = {}", i.ifindex);
        let (v4, v6) = own_addrs(r, i);
        match v4.first() {
            Some(a) => w!(o, "   IPv4 address = {a}"),
            None => w!(o, "   IPv4 address = (none)"),
        }
        if v4.len() > 1 {
            w!(o, "   Additional IPv4 addresses :");
            for a in &v4[1..] {
                w!(o, "     {a}");
            }
        }
        match v6.first() {
            Some(a) => w!(o, "   IPv6 address = {a}"),
            None => w!(o, "   IPv6 address = (none)"),
        }
        if v6.len() > 1 {
            w!(o, "   Additional IPv6 addresses :");
            for a in &v6[1..] {
                w!(o, "     {a}");
            }
        }
        if !i.mac.is_empty() && i.mac.iter().any(|&b| b != 0) {
            w!(o, "   MAC = {}", mac_str(&i.mac));
            w!(o, "   MAC broadcast = {}", mac_str(&i.broadcast));
        }
        let f = i.flags;
        w!(
            o,
            "   State = {}UP, {}RUNNING{}{}{}{}{}",
            if f & IFF_UP != 0 { "" } else { "not " },
            if f & IFF_RUNNING != 0 { "" } else { "not " },
            if f & IFF_BROADCAST == 0 {
                ", no broadcast"
            } else {
                ""
            },
            if f & IFF_LOOPBACK != 0 {
                ", loopback"
            } else {
                ""
            },
            if f & IFF_POINTOPOINT != 0 {
                ", point to point"
            } else {
                ""
            },
            if f & IFF_NOARP != 0 { ", no arp" } else { "" },
            if f & IFF_MULTICAST == 0 {
                ", no multicast"
            } else {
                ""
            },
        );
        w!(o, "   Seen up = {}", i32::from(f & IFF_UP != 0));
        w!(o, "   Delayed state change running = false");
        let delay = c
            .model
            .vrrp
            .interface_up_down_delays
            .iter()
            .find(|d| d.name == i.name);
        w!(
            o,
            "   Up debounce timer = {}us",
            delay.map(|d| d.up_us).unwrap_or(0)
        );
        w!(
            o,
            "   Down debounce timer = {}us",
            delay.map(|d| d.down_us).unwrap_or(0)
        );
        if i.kind.as_deref() == Some("macvlan") {
            match c
                .base_of(&i.name)
                .and_then(|b| c.sys.interfaces.iter().find(|x| x.name == b))
            {
                Some(b) => w!(
                    o,
                    "   VMAC type private, underlying interface = {}, state = {}UP, {}RUNNING",
                    b.name,
                    if b.flags & IFF_UP != 0 { "" } else { "not " },
                    if b.flags & IFF_RUNNING != 0 {
                        ""
                    } else {
                        "not "
                    }
                ),
                None => w!(
                    o,
                    "   VMAC type private, underlying interface in different namespace"
                ),
            }
            if vmac_instances(c, r).iter().any(|(v, _)| *v == i.name) {
                w!(o, "   I/f created by keepalived");
            }
        }
        w!(o, "   MTU = {}", i.mtu);
        match i.hw_type {
            772 => w!(o, "   HW Type = LOOPBACK"),
            1 => w!(o, "   HW Type = ETHERNET"),
            // keepalived logs this one instead of writing it to the file.
            32 => {}
            t => w!(o, "   HW Type = UNKNOWN ({t})"),
        }
        w!(o, "   NIC netlink status update");
        if let Some((garp, gna, group)) = iface_garp(c, r, &i.name) {
            if let Some(g) = garp {
                w!(o, "   Gratuitous ARP interval {}ms", interval_ms(g));
            }
            if let Some(g) = gna {
                w!(o, "   Gratuitous NA interval {}ms", interval_ms(g));
            }
            if group != 0 {
                w!(o, "   Gratuitous ARP aggregation group {group}");
            }
        }
        let vmacs = vmac_instances(c, r);
        let on_base = vmacs.iter().filter(|(_, b)| *b == i.name).count();
        let is_vmac = vmacs.iter().any(|(v, _)| *v == i.name);
        let sys = i.sysctls.filter(|_| on_base > 0 || is_vmac);
        w!(o, "   Reset ARP config counter {on_base}");
        w!(
            o,
            "   Original arp_ignore {}",
            sys.map(|s| s[0]).unwrap_or(0)
        );
        w!(
            o,
            "   Original arp_filter {}",
            sys.map(|s| s[1]).unwrap_or(0)
        );
        if let Some(s) = sys {
            w!(o, "   rp_filter {}", s[2]);
        }
        w!(
            o,
            "   Original promote_secondaries {}",
            sys.filter(|_| is_vmac).map(|s| s[3]).unwrap_or(0)
        );
        w!(o, "   Reset promote_secondaries counter 0");
        // keepalived reads the interface's IPv6 forwarding before its unsolicited NAs.
        let na = r
            .instances()
            .iter()
            .filter(|inst| {
                inst.config().family == Family::Ipv6
                    && inst.stats().become_master > 0
                    && inst.config().interface.as_deref() == Some(i.name.as_str())
            })
            .map(|inst| inst.last_transition())
            .max();
        if let Some(t) = na {
            let (s, us) = c.sys.wall(t);
            w!(
                o,
                "   {}IPv6 forwarding. Last checked {s}.{us:06} ({})",
                if i.ipv6_forwarding == Some(true) {
                    ""
                } else {
                    "Not "
                },
                ctime24_us(&c.sys.tz, s, us)
            );
        }
        let l = iface_tracking(c, r, &i.name);
        if !l.is_empty() {
            w!(o, "   Tracking VRRP instances :");
            for (n, wt, rv) in l {
                w!(o, "     {n}, weight {wt}{}", rev(rv));
            }
        }
    }
}

fn statics(c: &DumpCtx<'_>, o: &mut String) {
    let v = &c.model.vrrp;
    if !v.static_addresses.is_empty() {
        w!(o, "------< Static Addresses >------");
        for a in &v.static_addresses {
            w!(
                o,
                "     {}",
                format_static_addr(a, &c.model.global.default_interface)
            );
        }
    }
    if !v.static_routes.is_empty() {
        w!(o, "------< Static Routes >------");
        for rt in &v.static_routes {
            w!(o, "     {}", format_route(rt));
        }
    }
    if !v.static_rules.is_empty() {
        w!(o, "------< Static Rules >------");
        for ru in &v.static_rules {
            w!(o, "     {}", format_rule(ru));
        }
    }
    if !v.track_groups.is_empty() {
        w!(o, "------< Static Track groups >------");
        for g in &v.track_groups {
            w!(o, " Static Track Group = {}", g.name);
            if !g.instances.is_empty() {
                w!(o, "   VRRP member instances :");
                for i in &g.instances {
                    w!(o, "     {i}");
                }
            }
        }
    }
}

/// Everything of keepalived.data after the global definitions.
pub fn vrrp_data(c: &DumpCtx<'_>, r: Option<&Router>, o: &mut String) {
    if let Some(r) = r {
        garp_delays(c, r, o);
    }
    statics(c, o);
    let Some(r) = r else {
        return;
    };
    if !r.instances().is_empty() {
        w!(o, "------< VRRP Topology >------");
        for i in 0..r.instances().len() {
            instance(c, r, i, o);
        }
    }
    sockpool(c, r, o);
    sync_groups(c, r, o);
    scripts(c, r, o);
    track_files(c, r, o);
    track_processes(c, r, o);
    track_bfds(r, o);
    interfaces(c, r, o);
}
