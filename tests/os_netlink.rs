//! rtnetlink on a real kernel, inside a network namespace: dumps, address add/delete
//! (checked with `ip addr` and seen by the monitor), errors naming the operation, link
//! down/up events, routes (gateway, table, metric, blackhole, IPv6, multipath) and rules
//! checked with `ip route` / `ip rule`, and the monitor's overrun → resync signal.

// End-to-end waits on a real kernel are measured with the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{e2e_ready, Netns};
use keepalived_rs::os::link_monitor::{MonitorGroups, NetEvent, NetlinkMonitor};
use keepalived_rs::os::netlink::codec::{
    AF_INET, AF_INET6, IFA_F_DEPRECATED, IFA_F_NODAD, IFA_F_NOPREFIXROUTE, RTN_BLACKHOLE,
};
use keepalived_rs::os::netlink::{
    errno, AddrRequest, NetlinkClient, NextHop, OsOpError, RouteRequest, RuleRequest,
};
use keepalived_rs::os::netns;

fn ns_with_veth(tag: &str) -> Netns {
    let ns = Netns::new(tag);
    ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
    ns.ip(&["addr", "add", "192.0.2.1/24", "dev", "va"]);
    ns.ip(&["addr", "add", "fd00::1/64", "dev", "va", "nodad"]);
    ns.ip(&["link", "set", "va", "up"]);
    ns.ip(&["link", "set", "vb", "up"]);
    ns
}

fn open(ns: &Netns, groups: MonitorGroups) -> (NetlinkClient, Events) {
    netns::run_in(&ns.name, move || {
        (
            NetlinkClient::open().expect("netlink client"),
            Events {
                mon: NetlinkMonitor::open(groups).expect("netlink monitor"),
                pending: Vec::new(),
            },
        )
    })
    .unwrap()
}

fn ip_out(ns: &Netns, args: &[&str]) -> String {
    String::from_utf8_lossy(&ns.ip(args).stdout).into_owned()
}

/// The monitor with the events read but not yet matched.
struct Events {
    mon: NetlinkMonitor,
    pending: Vec<NetEvent>,
}

impl Events {
    /// Finds (and consumes) the first event matching `pred`, reading more for a few
    /// seconds if needed; panics if none comes.
    fn wait(&mut self, what: &str, pred: impl Fn(&NetEvent) -> bool) {
        let start = Instant::now();
        loop {
            if let Some(i) = self.pending.iter().position(&pred) {
                self.pending.remove(i);
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "no event {what}; saw {:#?}",
                self.pending
            );
            self.mon
                .read_events(&mut self.pending, 64)
                .expect("read events");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn ifindex(nl: &mut NetlinkClient, name: &str) -> u32 {
    nl.link_by_name(name).unwrap().expect(name).ifindex
}

#[test]
fn dumps_and_addresses() {
    if !e2e_ready("netlink dumps_and_addresses", false) {
        return;
    }
    let ns = ns_with_veth("nla");
    let (mut nl, mut mon) = open(&ns, MonitorGroups::default());

    let links = nl.dump_links().unwrap();
    let va = links.iter().find(|l| l.name == "va").expect("va in dump");
    assert!(va.up && va.lower_up, "{va:?}");
    assert_eq!(va.kind.as_deref(), Some("veth"));
    let mac_text = va
        .mac
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    assert!(ip_out(&ns, &["link", "show", "va"]).contains(&mac_text));
    assert!(links.iter().any(|l| l.name == "lo"));
    assert_eq!(nl.link_by_name("nonexistent0").unwrap(), None);
    let va_idx = va.ifindex;

    let addrs = nl.dump_addresses(None).unwrap();
    assert!(addrs.iter().any(|a| a.ifindex == va_idx
        && a.addr == "192.0.2.1".parse::<IpAddr>().unwrap()
        && a.prefix_len == 24));
    assert!(addrs
        .iter()
        .any(|a| a.ifindex == va_idx && a.addr == "fd00::1".parse::<IpAddr>().unwrap()));

    // IPv4 VIP with a label.
    let mut v4 = AddrRequest::new(va_idx, "192.0.2.100".parse().unwrap(), 32);
    v4.label = Some("va:vip".into());
    nl.add_address(&v4).unwrap();
    let out = ip_out(&ns, &["-4", "addr", "show", "dev", "va"]);
    assert!(
        out.contains("inet 192.0.2.100/32") && out.contains("va:vip"),
        "{out}"
    );
    mon.wait("add 192.0.2.100", |e| {
        matches!(e, NetEvent::Addr(a) if a.added && a.addr.addr == v4.addr && a.addr.ifindex == va_idx)
    });

    // Adding it again fails with the operation, the target and the errno.
    let e = nl.add_address(&v4).unwrap_err();
    assert_eq!(errno(&e), Some(libc::EEXIST));
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    let msg = e.to_string();
    assert!(
        msg.starts_with("add address 192.0.2.100/32 dev va: File exists"),
        "{msg}"
    );

    // IPv6 /128 VIP, deprecated (preferred_lft 0), nodad, noprefixroute.
    let mut v6 = AddrRequest::new(va_idx, "fd00::100".parse().unwrap(), 128);
    v6.flags = IFA_F_NODAD | IFA_F_NOPREFIXROUTE;
    v6.preferred_lft = Some(0);
    nl.add_address(&v6).unwrap();
    let out = ip_out(&ns, &["-6", "addr", "show", "dev", "va"]);
    let line = out
        .lines()
        .find(|l| l.contains("fd00::100/128"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("nodad") && line.contains("noprefixroute"),
        "{line}"
    );
    assert!(out.contains("preferred_lft 0sec"), "{out}");
    mon.wait("add fd00::100", |e| {
        matches!(e, NetEvent::Addr(a) if a.added && a.addr.addr == v6.addr
            && a.addr.flags & IFA_F_DEPRECATED != 0)
    });
    let dumped = nl.dump_addresses(Some(AF_INET6)).unwrap();
    let d = dumped
        .iter()
        .find(|a| a.addr == v6.addr)
        .expect("dumped VIP");
    assert_eq!(d.lifetimes.map(|l| l.0), Some(0));
    assert!(dumped.iter().all(|a| a.family == AF_INET6));

    nl.del_address(&v4).unwrap();
    nl.del_address(&v6).unwrap();
    let out = ip_out(&ns, &["addr", "show", "dev", "va"]);
    assert!(
        !out.contains("192.0.2.100") && !out.contains("fd00::100"),
        "{out}"
    );
    mon.wait(
        "delete 192.0.2.100",
        |e| matches!(e, NetEvent::Addr(a) if !a.added && a.addr.addr == v4.addr),
    );
    mon.wait(
        "delete fd00::100",
        |e| matches!(e, NetEvent::Addr(a) if !a.added && a.addr.addr == v6.addr),
    );
    let e = nl.del_address(&v4).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("delete address 192.0.2.100/32 dev va:"),
        "{e}"
    );
    assert_eq!(nl.malformed(), 0);
    assert_eq!(mon.mon.malformed(), 0);
}

#[test]
fn link_down_up_events() {
    if !e2e_ready("netlink link_down_up_events", false) {
        return;
    }
    let ns = ns_with_veth("nll");
    let (mut nl, mut mon) = open(&ns, MonitorGroups::default());
    let vb = ifindex(&mut nl, "vb");
    // Down through our client: vb goes down, and va (its peer) loses carrier.
    nl.set_link_up(vb, false).unwrap();
    mon.wait(
        "vb down",
        |e| matches!(e, NetEvent::Link(l) if l.link.name == "vb" && !l.link.up && !l.deleted),
    );
    mon.wait(
        "va not running",
        |e| matches!(e, NetEvent::Link(l) if l.link.name == "va" && l.link.up && !l.link.running),
    );
    assert!(ip_out(&ns, &["link", "show", "vb"]).contains("state DOWN"));
    // Up with `ip`: the monitor sees it.
    ns.ip(&["link", "set", "vb", "up"]);
    mon.wait("va running", |e| {
        matches!(e, NetEvent::Link(l) if l.link.name == "va" && l.link.running && l.link.lower_up)
    });
    // Deleting the pair reports both deleted.
    ns.ip(&["link", "del", "va"]);
    mon.wait(
        "va deleted",
        |e| matches!(e, NetEvent::Link(l) if l.link.name == "va" && l.deleted),
    );
}

#[test]
fn routes() {
    if !e2e_ready("netlink routes", false) {
        return;
    }
    let ns = ns_with_veth("nlr");
    ns.ip(&["addr", "add", "192.0.2.3/24", "dev", "vb"]);
    let groups = MonitorGroups {
        routes: true,
        ..MonitorGroups::default()
    };
    let (mut nl, mut mon) = open(&ns, groups);
    let va = ifindex(&mut nl, "va");

    let mut r = RouteRequest::new(AF_INET, Some(("198.18.5.0".parse().unwrap(), 24)));
    r.gateway = Some("192.0.2.2".parse().unwrap());
    r.oif = Some(va);
    r.table = 100;
    r.priority = Some(7);
    nl.add_route(&r).unwrap();
    let out = ip_out(&ns, &["route", "show", "table", "100"]);
    assert!(
        out.contains("198.18.5.0/24 via 192.0.2.2 dev va metric 7"),
        "{out}"
    );
    mon.wait("route add", |e| {
        matches!(e, NetEvent::Route(x) if x.added && x.route.table == 100 && x.route.dst_len == 24)
    });
    // Table ids above 255 go in RTA_TABLE only.
    let mut big = r.clone();
    big.table = 1000;
    nl.add_route(&big).unwrap();
    assert!(ip_out(&ns, &["route", "show", "table", "1000"]).contains("198.18.5.0/24"));
    nl.del_route(&big).unwrap();

    let mut bh = RouteRequest::new(AF_INET, Some(("198.18.6.0".parse().unwrap(), 24)));
    bh.route_type = RTN_BLACKHOLE;
    nl.add_route(&bh).unwrap();
    assert!(ip_out(&ns, &["route"]).contains("blackhole 198.18.6.0/24"));

    let mut v6 = RouteRequest::new(AF_INET6, Some(("fd00:1::".parse().unwrap(), 64)));
    v6.gateway = Some("fd00::2".parse().unwrap());
    v6.oif = Some(va);
    v6.priority = Some(50);
    nl.add_route(&v6).unwrap();
    let out = ip_out(&ns, &["-6", "route"]);
    assert!(
        out.contains("fd00:1::/64 via fd00::2 dev va metric 50"),
        "{out}"
    );

    let mut mp = RouteRequest::new(AF_INET, Some(("198.18.7.0".parse().unwrap(), 24)));
    mp.nexthops = vec![
        NextHop {
            gateway: Some("192.0.2.2".parse().unwrap()),
            ifindex: Some(va),
            weight: Some(2),
            ..Default::default()
        },
        NextHop {
            gateway: Some("192.0.2.3".parse().unwrap()),
            ifindex: Some(va),
            ..Default::default()
        },
    ];
    nl.add_route(&mp).unwrap();
    let out = ip_out(&ns, &["route", "show", "198.18.7.0/24"]);
    assert!(
        out.contains("nexthop via 192.0.2.2 dev va weight 2")
            && out.contains("nexthop via 192.0.2.3 dev va weight 1"),
        "{out}"
    );

    // A device route without a gateway gets link scope, as `ip route` gives it.
    let mut dev_route = RouteRequest::new(AF_INET, Some(("198.18.8.0".parse().unwrap(), 24)));
    dev_route.oif = Some(va);
    dev_route.pref_src = Some("192.0.2.1".parse().unwrap());
    nl.add_route(&dev_route).unwrap();
    let out = ip_out(&ns, &["route", "show", "198.18.8.0/24"]);
    assert!(out.contains("dev va scope link src 192.0.2.1"), "{out}");

    for req in [&r, &bh, &v6, &mp, &dev_route] {
        nl.del_route(req).unwrap();
    }
    let out = ip_out(&ns, &["route", "show", "table", "all"]);
    for gone in [
        "198.18.5.0",
        "198.18.6.0",
        "fd00:1::",
        "198.18.7.0",
        "198.18.8.0",
    ] {
        assert!(!out.contains(gone), "{gone} still there: {out}");
    }
    mon.wait(
        "route delete",
        |e| matches!(e, NetEvent::Route(x) if !x.added && x.route.table == 100),
    );
    let e = nl.del_route(&r).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("delete route 198.18.5.0/24 via 192.0.2.2 dev va table 100:"),
        "{e}"
    );
    // An unreachable gateway: the kernel's extended-ack text comes with the error.
    let mut bad = RouteRequest::new(AF_INET, Some(("198.18.9.0".parse().unwrap(), 24)));
    bad.gateway = Some("198.19.0.1".parse().unwrap());
    let e = nl.add_route(&bad).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("add route 198.18.9.0/24 via 198.19.0.1:"),
        "{e}"
    );
    let op = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<OsOpError>())
        .expect("OsOpError inside");
    assert_eq!(op.errno, libc::ENETUNREACH, "{e}");
    assert!(op.kernel_msg.is_some(), "no extended ack: {e}");
    let dumped = nl.dump_routes(Some(AF_INET)).unwrap();
    assert!(dumped
        .iter()
        .any(|x| x.dst == Some("192.0.2.0".parse().unwrap())));
}

#[test]
fn rules() {
    if !e2e_ready("netlink rules", false) {
        return;
    }
    let ns = ns_with_veth("nlu");
    let groups = MonitorGroups {
        rules: true,
        ..MonitorGroups::default()
    };
    let (mut nl, mut mon) = open(&ns, groups);

    let mut r1 = RuleRequest::lookup(AF_INET, 100);
    r1.src = Some(("198.18.0.0".parse().unwrap(), 15));
    r1.priority = Some(1000);
    nl.add_rule(&r1).unwrap();

    let mut r2 = RuleRequest::lookup(AF_INET, 101);
    r2.fwmark = Some(0x10);
    r2.fwmask = Some(0xff);
    r2.iifname = Some("va".into());
    r2.priority = Some(1001);
    nl.add_rule(&r2).unwrap();

    let mut r3 = RuleRequest::lookup(AF_INET6, 102);
    r3.src = Some(("fd00::".parse().unwrap(), 8));
    r3.dst = Some(("fd00:1::".parse().unwrap(), 64));
    r3.oifname = Some("vb".into());
    r3.priority = Some(1002);
    nl.add_rule(&r3).unwrap();

    let out = ip_out(&ns, &["rule", "show"]);
    assert!(
        out.contains("1000:\tfrom 198.18.0.0/15 lookup 100"),
        "{out}"
    );
    assert!(
        out.contains("1001:\tfrom all fwmark 0x10/0xff iif va lookup 101"),
        "{out}"
    );
    let out6 = ip_out(&ns, &["-6", "rule", "show"]);
    assert!(
        out6.contains("1002:\tfrom fd00::/8 to fd00:1::/64 oif vb lookup 102"),
        "{out6}"
    );
    mon.wait(
        "rule add",
        |e| matches!(e, NetEvent::Rule(x) if x.added && x.rule.priority == Some(1000)),
    );
    mon.wait(
        "IPv6 rule add",
        |e| matches!(e, NetEvent::Rule(x) if x.added && x.rule.family == AF_INET6),
    );
    let e = nl.add_rule(&r1).unwrap_err();
    assert_eq!(errno(&e), Some(libc::EEXIST));
    assert!(
        e.to_string()
            .starts_with("add rule from 198.18.0.0/15 priority 1000 table 100:"),
        "{e}"
    );
    assert!(nl
        .dump_rules(Some(AF_INET6))
        .unwrap()
        .iter()
        .any(|x| x.table == 102 && x.oifname.as_deref() == Some("vb")));

    for r in [&r1, &r2, &r3] {
        nl.del_rule(r).unwrap();
    }
    let out = ip_out(&ns, &["rule", "show"]) + &ip_out(&ns, &["-6", "rule", "show"]);
    for gone in ["lookup 100", "lookup 101", "lookup 102"] {
        assert!(!out.contains(gone), "{out}");
    }
    mon.wait(
        "rule delete",
        |e| matches!(e, NetEvent::Rule(x) if !x.added && x.rule.priority == Some(1001)),
    );
}

#[test]
fn monitor_overrun_asks_for_resync() {
    if !e2e_ready("netlink monitor_overrun_asks_for_resync", false) {
        return;
    }
    let ns = ns_with_veth("nlo");
    let (mut nl, mut mon) = open(&ns, MonitorGroups::default());
    mon.mon.set_rcvbuf(0).unwrap(); // the kernel's minimum
    let va = ifindex(&mut nl, "va");
    for i in 0..200u32 {
        let a = format!("198.18.{}.{}", i / 250, 1 + i % 250);
        nl.add_address(&AddrRequest::new(va, a.parse().unwrap(), 32))
            .unwrap();
    }
    let mut out = Vec::new();
    while mon.mon.read_events(&mut out, 64).unwrap() {}
    assert!(
        out.contains(&NetEvent::ResyncNeeded),
        "{} events",
        out.len()
    );
    assert!(mon.mon.overruns() >= 1);
    // After the resync signal, a dump gives the truth.
    let n = nl
        .dump_addresses(Some(AF_INET))
        .unwrap()
        .iter()
        .filter(|a| a.ifindex == va)
        .count();
    assert_eq!(n, 201);
}
