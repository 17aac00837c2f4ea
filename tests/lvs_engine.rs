//! The IPVS desired-state engine and the checker core (BFD_CHECK) on real keepalived.conf
//! snippets: start operations for every kind of virtual server and forwarding method,
//! BFD-driven real server changes (removal, inhibit, alpha), `misc_dynamic` weights,
//! quorum with hysteresis and the sorry server, reload, shutdown, keepalived's log lines,
//! and a seeded random run checked against a model of the kernel table.

use keepalived_rs::check::probe::MiscExit;
use keepalived_rs::check::{CheckerId, Healthcheckers};
use keepalived_rs::config::diag::{Diagnostics, Severity};
use keepalived_rs::config::model::lvs::LvsConfig;
use keepalived_rs::config::semantic::{self, PermissiveHost, SemanticOptions};
use keepalived_rs::config::{parse_str, LoadOptions};
use keepalived_rs::lvs::{
    Dest, DestKey, IpvsOp, LvsEvent, LvsOptions, Output, QuorumDownReason, Service, ServiceKey,
};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The IPVS side of a configuration that must load without errors or warnings.
fn lvs_config(text: &str) -> LvsConfig {
    let mut diags = Diagnostics::new();
    let tree = parse_str(text, "test.conf", &LoadOptions::default(), &mut diags);
    let cfg = semantic::build(
        &tree,
        &PermissiveHost,
        &SemanticOptions::default(),
        &mut diags,
    );
    let rendered = diags.render(&tree.sources);
    assert!(
        diags
            .items
            .iter()
            .all(|d| d.severity == Severity::Note || d.message.starts_with("SECURITY VIOLATION")),
        "unexpected diagnostics:\n{rendered}"
    );
    cfg.lvs
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: 6,
        addr: ip(addr),
        port,
    }
}

fn dkey(addr: &str, port: u16) -> DestKey {
    DestKey {
        addr: ip(addr),
        port,
    }
}

/// A destination with no thresholds and no tunnel.
fn dest(addr: &str, port: u16, fwd: u32, weight: u32) -> Dest {
    Dest {
        key: dkey(addr, port),
        fwd_method: fwd,
        weight,
        u_threshold: 0,
        l_threshold: 0,
        tun_type: 0,
        tun_port: 0,
        tun_flags: 0,
    }
}

fn service(key: ServiceKey, sched: &str) -> Service {
    Service {
        key,
        scheduler: sched.to_string(),
        flags: 0,
        timeout_s: 0,
        netmask: if key.af() == 2 { 0xffff_ffff } else { 128 },
        pe_name: None,
    }
}

fn started(text: &str) -> (Healthcheckers, Output) {
    started_with(text, LvsOptions::default())
}

fn started_with(text: &str, opts: LvsOptions) -> (Healthcheckers, Output) {
    let mut h = Healthcheckers::new(&lvs_config(text), opts);
    let mut out = Output::new();
    h.start(&mut out);
    (h, out)
}

fn bfd(h: &mut Healthcheckers, name: &str, up: bool) -> Output {
    let mut out = Output::new();
    h.on_bfd_state(name, up, &mut out);
    out
}

const BFDS: &str = "bfd_instance B1 {\n neighbor_ip 192.0.2.21\n}\n\
    bfd_instance B2 {\n neighbor_ip 192.0.2.22\n}\n\
    bfd_instance B3 {\n neighbor_ip 192.0.2.23\n}\n\
    bfd_instance B4 {\n neighbor_ip 192.0.2.24\n}\n";

const VS4: &str = "[192.0.2.10]:tcp:80";

// ---------------------------------------------------------------- start

#[test]
fn start_ipv4_nat_dr_tun() {
    let (_h, out) = started(
        "virtual_server 192.0.2.10 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.21 8080 {\n  weight 3\n }\n\
         real_server 192.0.2.22 80 {\n  lvs_method DR\n  weight 2\n }\n\
         real_server 192.0.2.23 80 {\n  lvs_method TUN type gue port 6080 csum\n  uthreshold 100\n  lthreshold 10\n }\n}\n",
    );
    let k = tcp("192.0.2.10", 80);
    let tun = Dest {
        tun_type: 1,
        tun_port: 6080,
        tun_flags: 1,
        u_threshold: 100,
        l_threshold: 10,
        ..dest("192.0.2.23", 80, 2, 1)
    };
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::AddService(service(k, "rr")),
            IpvsOp::AddDest(k, dest("192.0.2.21", 8080, 0, 3)),
            IpvsOp::AddDest(k, dest("192.0.2.22", 80, 3, 2)),
            IpvsOp::AddDest(k, tun),
        ]
    );
    assert_eq!(
        out.log_lines(),
        vec![format!("Gained quorum 1+0=1 <= 6 for VS {VS4}")]
    );
    assert!(matches!(
        out.events[0],
        LvsEvent::QuorumUp { init: true, .. }
    ));
}

#[test]
fn start_ipv6_persistent_dr() {
    let (_h, out) = started(
        "virtual_server 2001:db8::10 443 {\n lb_algo wlc\n lb_kind DR\n protocol TCP\n\
         persistence_timeout 600\n persistence_granularity 64\n\
         real_server 2001:db8::21 443 {\n }\n real_server 2001:db8::22 {\n  weight 4\n }\n}\n",
    );
    let k = tcp("2001:db8::10", 443);
    let svc = Service {
        flags: 1,
        timeout_s: 600,
        netmask: 64,
        ..service(k, "wlc")
    };
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::AddService(svc),
            IpvsOp::AddDest(k, dest("2001:db8::21", 443, 3, 1)),
            IpvsOp::AddDest(k, dest("2001:db8::22", 443, 3, 4)),
        ]
    );
    assert_eq!(
        out.log_lines(),
        vec!["Gained quorum 1+0=1 <= 5 for VS [2001:db8::10]:tcp:443".to_string()]
    );
}

#[test]
fn start_fwmark_both_families() {
    let (_h, out) = started(
        "virtual_server fwmark 7 {\n lb_algo rr\n lb_kind DR\n\
         real_server 192.0.2.21 {\n }\n}\n\
         virtual_server fwmark 8 {\n lb_algo sh\n sh-port\n lb_kind NAT\n ip_family inet6\n\
         real_server 2001:db8::21 8080 {\n }\n}\n",
    );
    let k4 = ServiceKey::Fwmark { af: 2, mark: 7 };
    let k6 = ServiceKey::Fwmark { af: 10, mark: 8 };
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::AddService(service(k4, "rr")),
            IpvsOp::AddDest(k4, dest("192.0.2.21", 0, 3, 1)),
            IpvsOp::AddService(Service {
                flags: 0x10,
                ..service(k6, "sh")
            }),
            IpvsOp::AddDest(k6, dest("2001:db8::21", 8080, 0, 1)),
        ]
    );
    assert_eq!(
        out.log_lines(),
        vec![
            "Gained quorum 1+0=1 <= 1 for VS FWM 7".to_string(),
            "Gained quorum 1+0=1 <= 1 for VS FWM 8".to_string(),
        ]
    );
}

#[test]
fn start_group_ranges_fwmarks_and_ports() {
    // A NAT group: port-less real servers take each entry's port; a fwmark entry of a
    // group whose real servers are IPv4 is an IPv4 fwmark service.
    let (h, out) = started(
        "virtual_server_group G {\n 192.0.2.100-101 80\n 192.0.2.110 8080\n fwmark 9\n}\n\
         virtual_server group G {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.21 {\n }\n real_server 192.0.2.22 81 {\n }\n}\n",
    );
    let a = tcp("192.0.2.100", 80);
    let b = tcp("192.0.2.101", 80);
    let c = tcp("192.0.2.110", 8080);
    let f = ServiceKey::Fwmark { af: 2, mark: 9 };
    assert_eq!(
        h.lvs()
            .services(0)
            .iter()
            .map(|s| s.key())
            .collect::<Vec<_>>(),
        vec![a, b, c, f]
    );
    let mut want = Vec::new();
    for (k, port) in [(a, 80), (b, 80), (c, 8080)] {
        want.push(IpvsOp::AddService(service(k, "rr")));
        want.push(IpvsOp::AddDest(k, dest("192.0.2.21", port, 0, 1)));
        want.push(IpvsOp::AddDest(k, dest("192.0.2.22", 81, 0, 1)));
    }
    want.push(IpvsOp::AddService(service(f, "rr")));
    want.push(IpvsOp::AddDest(f, dest("192.0.2.21", 0, 0, 1)));
    want.push(IpvsOp::AddDest(f, dest("192.0.2.22", 81, 0, 1)));
    // In key order: fwmark services sort after address ones, addresses ascending.
    assert_eq!(out.ops, want);
    assert_eq!(
        out.log_lines(),
        vec!["Gained quorum 1+0=1 <= 2 for VS [G]:0".to_string()]
    );
}

#[test]
fn start_mixed_family_group_with_tunnels() {
    // IPv4 and IPv6 entries in one group need tunnelled real servers, which the kernel
    // takes in a service of the other family.
    let (h, out) = started(
        "virtual_server_group G {\n 192.0.2.100 80\n 2001:db8::100 80\n fwmark 9 inet6\n}\n\
         virtual_server group G {\n lb_algo rr\n lb_kind TUN\n protocol TCP\n\
         real_server 192.0.2.21 {\n }\n real_server 2001:db8::21 {\n }\n}\n",
    );
    let keys: Vec<ServiceKey> = h.lvs().services(0).iter().map(|s| s.key()).collect();
    assert_eq!(
        keys,
        vec![
            tcp("192.0.2.100", 80),
            tcp("2001:db8::100", 80),
            ServiceKey::Fwmark { af: 10, mark: 9 },
        ]
    );
    let adds = out
        .ops
        .iter()
        .filter(|o| matches!(o, IpvsOp::AddDest(..)))
        .count();
    assert_eq!(adds, 6, "{:#?}", out.ops);
    let fw6 = &h.lvs().installed()[&ServiceKey::Fwmark { af: 10, mark: 9 }];
    let d = &fw6.dests[&dkey("192.0.2.21", 0)];
    assert_eq!((d.fwd_method, d.tun_type), (2, 0));
}

#[test]
fn start_fwmark_group_without_family() {
    // Only fwmark entries, no family anywhere: one service per family of the (tunnelled)
    // real servers.
    let (h, _) = started(
        "virtual_server_group G {\n fwmark 9\n}\n\
         virtual_server group G {\n lb_algo rr\n lb_kind TUN\n\
         real_server 192.0.2.21 {\n }\n real_server 2001:db8::21 {\n }\n}\n",
    );
    let keys: Vec<ServiceKey> = h.lvs().services(0).iter().map(|s| s.key()).collect();
    assert_eq!(
        keys,
        vec![
            ServiceKey::Fwmark { af: 2, mark: 9 },
            ServiceKey::Fwmark { af: 10, mark: 9 },
        ]
    );
}

#[test]
fn start_sorry_server_when_quorum_is_down() {
    // Alpha real servers start down: quorum is down from the start and the sorry server is
    // in; the BFD event brings the real server and the quorum up.
    let (mut h, out) = started(&format!(
        "{BFDS}virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n alpha\n\
         sorry_server 192.0.2.99 80\n\
         real_server 192.0.2.21 80 {{\n  BFD_CHECK {{\n   name B1\n  }}\n }}\n}}\n"
    ));
    let k = tcp("192.0.2.10", 80);
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::AddService(service(k, "rr")),
            IpvsOp::AddDest(k, dest("192.0.2.99", 80, 0, 1)),
        ]
    );
    assert_eq!(
        out.log_lines(),
        vec![
            format!("Starting with quorum down 1-0=1 > 0 for VS {VS4}"),
            format!("Adding sorry server [192.0.2.99]:tcp:80 to VS {VS4}"),
            format!("Removing alive servers from the pool for VS {VS4}"),
        ]
    );
    assert!(matches!(
        out.events[0],
        LvsEvent::QuorumDown {
            reason: QuorumDownReason::Init,
            ..
        }
    ));
    let out = bfd(&mut h, "B1", true);
    assert_eq!(
        out.log_lines(),
        vec![
            "BFD check of [B1] RS([192.0.2.21]:tcp:80) is UP".to_string(),
            format!("Adding service [192.0.2.21]:tcp:80 to VS {VS4}"),
            format!("Gained quorum 1+0=1 <= 1 for VS {VS4}"),
            format!("Removing sorry server [192.0.2.99]:tcp:80 from VS {VS4}"),
            format!("Adding alive servers to the pool for VS {VS4}"),
        ]
    );
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::DelDest(k, dkey("192.0.2.99", 80)),
            IpvsOp::AddDest(k, dest("192.0.2.21", 80, 0, 1)),
        ]
    );
}

// ---------------------------------------------------------------- BFD_CHECK

/// Two real servers, one plain, one inhibit_on_failure, each following its own session.
fn two_rs() -> String {
    format!(
        "{BFDS}virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.21 80 {{\n  weight 2\n  notify_down /bin/rs21-down\n  \
         BFD_CHECK {{\n   name B1\n  }}\n }}\n\
         real_server 192.0.2.22 80 {{\n  inhibit_on_failure\n  BFD_CHECK {{\n   name B2\n  }}\n }}\n}}\n"
    )
}

#[test]
fn bfd_down_removes_or_inhibits() {
    let (mut h, _) = started(&two_rs());
    let k = tcp("192.0.2.10", 80);

    // The first Up of a non-alpha checker changes nothing but is logged once.
    let out = bfd(&mut h, "B1", true);
    assert!(out.ops.is_empty());
    assert_eq!(
        out.log_lines(),
        vec!["BFD check of [B1] RS([192.0.2.21]:tcp:80) is UP".to_string()]
    );
    assert!(bfd(&mut h, "B1", true).is_empty());

    let out = bfd(&mut h, "B1", false);
    assert_eq!(out.ops, vec![IpvsOp::DelDest(k, dkey("192.0.2.21", 80))]);
    assert_eq!(
        out.log_lines(),
        vec![
            "BFD check of [B1] RS([192.0.2.21]:tcp:80) is DOWN".to_string(),
            format!("Removing service [192.0.2.21]:tcp:80 from VS {VS4}"),
        ]
    );
    let LvsEvent::RsState {
        up,
        inhibit,
        script,
        ..
    } = &out.events[1]
    else {
        panic!("{:?}", out.events)
    };
    assert!(!up && !inhibit);
    assert_eq!(script.as_ref().unwrap().command, "/bin/rs21-down");
    assert_eq!(
        out.events[1].fifo_line().unwrap(),
        format!("RS [192.0.2.21]:tcp:80 {VS4} DOWN\n")
    );

    let out = bfd(&mut h, "B2", false);
    assert_eq!(
        out.ops,
        vec![IpvsOp::EditDest(k, dest("192.0.2.22", 80, 0, 0))]
    );
    assert_eq!(
        out.log_lines(),
        vec![
            "BFD check of [B2] RS([192.0.2.22]:tcp:80) is DOWN".to_string(),
            format!("Disabling service [192.0.2.22]:tcp:80 of VS {VS4}"),
            format!("Lost quorum 1-0=1 > 0 for VS {VS4}"),
        ]
    );

    let out = bfd(&mut h, "B2", true);
    assert_eq!(
        out.ops,
        vec![IpvsOp::EditDest(k, dest("192.0.2.22", 80, 0, 1))]
    );
    assert_eq!(
        out.log_lines(),
        vec![
            "BFD check of [B2] RS([192.0.2.22]:tcp:80) is UP".to_string(),
            format!("Enabling service [192.0.2.22]:tcp:80 of VS {VS4}"),
            format!("Gained quorum 1+0=1 <= 1 for VS {VS4}"),
        ]
    );

    let out = bfd(&mut h, "B1", true);
    assert_eq!(
        out.ops,
        vec![IpvsOp::AddDest(k, dest("192.0.2.21", 80, 0, 2))]
    );
    assert_eq!(
        out.log_lines()[1],
        format!("Adding service [192.0.2.21]:tcp:80 to VS {VS4}")
    );
    // Sessions nobody follows are ignored.
    assert!(bfd(&mut h, "B9", false).is_empty());
}

#[test]
fn alpha_starts_down_and_inhibited_alpha_at_weight_zero() {
    let (mut h, out) = started(&format!(
        "{BFDS}virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.21 80 {{\n  BFD_CHECK {{\n   name B1\n   alpha\n  }}\n }}\n\
         real_server 192.0.2.22 80 {{\n  alpha\n  inhibit_on_failure\n  weight 5\n  \
         BFD_CHECK {{\n   name B2\n  }}\n }}\n\
         real_server 192.0.2.23 80 {{\n }}\n}}\n"
    ));
    let k = tcp("192.0.2.10", 80);
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::AddService(service(k, "rr")),
            IpvsOp::AddDest(k, dest("192.0.2.22", 80, 0, 0)),
            IpvsOp::AddDest(k, dest("192.0.2.23", 80, 0, 1)),
        ]
    );
    // An alpha checker's first failure notifies the real server down, nothing else.
    let out = bfd(&mut h, "B1", false);
    assert!(out.ops.is_empty());
    assert_eq!(
        out.log_lines(),
        vec!["BFD check of [B1] RS([192.0.2.21]:tcp:80) is DOWN".to_string()]
    );
    assert!(matches!(
        &out.events[1],
        LvsEvent::RsNotify { up: false, .. }
    ));
    assert!(bfd(&mut h, "B1", false).is_empty());

    let out = bfd(&mut h, "B1", true);
    assert_eq!(
        out.ops,
        vec![IpvsOp::AddDest(k, dest("192.0.2.21", 80, 0, 1))]
    );
    let out = bfd(&mut h, "B2", true);
    assert_eq!(
        out.ops,
        vec![IpvsOp::EditDest(k, dest("192.0.2.22", 80, 0, 5))]
    );
    assert_eq!(
        out.log_lines()[1],
        format!("Enabling service [192.0.2.22]:tcp:80 of VS {VS4}")
    );
}

#[test]
fn two_real_servers_follow_one_session() {
    let (mut h, _) = started(&format!(
        "{BFDS}virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         quorum_down /bin/qdown\n\
         real_server 192.0.2.21 80 {{\n  BFD_CHECK {{\n   name B1\n  }}\n }}\n\
         real_server 192.0.2.22 80 {{\n  BFD_CHECK {{\n   name B1\n  }}\n }}\n}}\n\
         virtual_server 192.0.2.11 80 {{\n lb_algo rr\n lb_kind DR\n protocol TCP\n\
         real_server 192.0.2.21 80 {{\n  BFD_CHECK {{\n   name B1\n  }}\n  BFD_CHECK {{\n   name B2\n  }}\n }}\n}}\n"
    ));
    let out = bfd(&mut h, "B1", false);
    let k0 = tcp("192.0.2.10", 80);
    let k1 = tcp("192.0.2.11", 80);
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::DelDest(k0, dkey("192.0.2.21", 80)),
            IpvsOp::DelDest(k0, dkey("192.0.2.22", 80)),
            IpvsOp::DelDest(k1, dkey("192.0.2.21", 80)),
        ]
    );
    assert_eq!(
        out.log_lines(),
        vec![
            "BFD check of [B1] RS([192.0.2.21]:tcp:80) is DOWN".to_string(),
            format!("Removing service [192.0.2.21]:tcp:80 from VS {VS4}"),
            "BFD check of [B1] RS([192.0.2.22]:tcp:80) is DOWN".to_string(),
            format!("Removing service [192.0.2.22]:tcp:80 from VS {VS4}"),
            format!("Lost quorum 1-0=1 > 0 for VS {VS4}"),
            "BFD check of [B1] RS([192.0.2.21]:tcp:80) is DOWN".to_string(),
            "Removing service [192.0.2.21]:tcp:80 from VS [192.0.2.11]:tcp:80".to_string(),
            "Lost quorum 1-0=1 > 0 for VS [192.0.2.11]:tcp:80".to_string(),
        ]
    );
    let q = out
        .events
        .iter()
        .find(|e| matches!(e, LvsEvent::QuorumDown { .. }))
        .unwrap();
    assert_eq!(q.script().unwrap().command, "/bin/qdown");
    assert_eq!(q.fifo_line().unwrap(), format!("VS {VS4} DOWN\n"));

    // The second VS's real server needs both sessions.
    let out = bfd(&mut h, "B2", false);
    assert!(out.ops.is_empty(), "{:?}", out.ops);
    let out = bfd(&mut h, "B1", true);
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::AddDest(k0, dest("192.0.2.21", 80, 0, 1)),
            IpvsOp::AddDest(k0, dest("192.0.2.22", 80, 0, 1)),
        ]
    );
    let out = bfd(&mut h, "B2", true);
    assert_eq!(
        out.ops,
        vec![IpvsOp::AddDest(k1, dest("192.0.2.21", 80, 3, 1))]
    );
}

// ---------------------------------------------------------------- quorum

fn quorum_vs(sorry_inhibit: bool) -> String {
    format!(
        "{BFDS}virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         quorum 3\n hysteresis 1\n quorum_up /bin/qup\n sorry_server 192.0.2.99 80\n{}\
         real_server 192.0.2.21 80 {{\n  weight 2\n  BFD_CHECK {{\n   name B1\n  }}\n }}\n\
         real_server 192.0.2.22 80 {{\n  weight 2\n  BFD_CHECK {{\n   name B2\n  }}\n }}\n\
         real_server 192.0.2.23 80 {{\n  BFD_CHECK {{\n   name B3\n  }}\n }}\n}}\n",
        if sorry_inhibit {
            " sorry_server_inhibit\n"
        } else {
            ""
        }
    )
}

#[test]
fn quorum_hysteresis_and_sorry_server() {
    let (mut h, out) = started(&quorum_vs(false));
    let k = tcp("192.0.2.10", 80);
    assert_eq!(
        out.log_lines(),
        vec![format!("Gained quorum 3+1=4 <= 5 for VS {VS4}")]
    );
    assert_eq!(out.events[0].script().unwrap().command, "/bin/qup");
    // 5 - 2 = 3, not below 3 - 1: still up.
    let out = bfd(&mut h, "B1", false);
    assert_eq!(out.ops, vec![IpvsOp::DelDest(k, dkey("192.0.2.21", 80))]);
    assert_eq!(h.lvs().quorum_up(0), Some(true));
    // 1 < 2: lost; the remaining alive real server leaves, the sorry server comes in.
    let out = bfd(&mut h, "B2", false);
    assert_eq!(
        out.log_lines(),
        vec![
            "BFD check of [B2] RS([192.0.2.22]:tcp:80) is DOWN".to_string(),
            format!("Removing service [192.0.2.22]:tcp:80 from VS {VS4}"),
            format!("Lost quorum 3-1=2 > 1 for VS {VS4}"),
            format!("Adding sorry server [192.0.2.99]:tcp:80 to VS {VS4}"),
            format!("Removing alive servers from the pool for VS {VS4}"),
        ]
    );
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::DelDest(k, dkey("192.0.2.22", 80)),
            IpvsOp::DelDest(k, dkey("192.0.2.23", 80)),
            IpvsOp::AddDest(k, dest("192.0.2.99", 80, 0, 1)),
        ]
    );
    // Back to 3: below 3 + 1, still down; the real server is up but out of the pool.
    let out = bfd(&mut h, "B1", true);
    assert!(out.ops.is_empty());
    assert_eq!(
        out.log_lines()[1],
        format!("Adding service [192.0.2.21]:tcp:80 to VS {VS4}")
    );
    assert_eq!(h.lvs().quorum_up(0), Some(false));
    // 5 >= 4: gained; the sorry server leaves, the alive real servers come back.
    let out = bfd(&mut h, "B2", true);
    assert_eq!(
        out.log_lines(),
        vec![
            "BFD check of [B2] RS([192.0.2.22]:tcp:80) is UP".to_string(),
            format!("Adding service [192.0.2.22]:tcp:80 to VS {VS4}"),
            format!("Gained quorum 3+1=4 <= 5 for VS {VS4}"),
            format!("Removing sorry server [192.0.2.99]:tcp:80 from VS {VS4}"),
            format!("Adding alive servers to the pool for VS {VS4}"),
        ]
    );
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::DelDest(k, dkey("192.0.2.99", 80)),
            IpvsOp::AddDest(k, dest("192.0.2.21", 80, 0, 2)),
            IpvsOp::AddDest(k, dest("192.0.2.22", 80, 0, 2)),
            IpvsOp::AddDest(k, dest("192.0.2.23", 80, 0, 1)),
        ]
    );
}

#[test]
fn sorry_server_inhibit_stays_at_weight_zero() {
    let (mut h, out) = started(&quorum_vs(true));
    let k = tcp("192.0.2.10", 80);
    assert!(out
        .ops
        .contains(&IpvsOp::AddDest(k, dest("192.0.2.99", 80, 0, 0))));
    bfd(&mut h, "B1", false);
    let out = bfd(&mut h, "B2", false);
    assert_eq!(
        out.log_lines()[3],
        format!("Enabling sorry server [192.0.2.99]:tcp:80 to VS {VS4}")
    );
    assert!(out
        .ops
        .contains(&IpvsOp::EditDest(k, dest("192.0.2.99", 80, 0, 1))));
    bfd(&mut h, "B1", true);
    let out = bfd(&mut h, "B2", true);
    assert_eq!(
        out.log_lines()[3],
        format!("Disabling sorry server [192.0.2.99]:tcp:80 from VS {VS4}")
    );
    assert_eq!(
        out.ops[0],
        IpvsOp::EditDest(k, dest("192.0.2.99", 80, 0, 0))
    );
}

// ---------------------------------------------------------------- reload

fn reload(h: &mut Healthcheckers, text: &str) -> Output {
    let mut out = Output::new();
    h.reload(&lvs_config(text), &mut out);
    out
}

#[test]
fn reload_keeps_health_and_diffs() {
    let (mut h, _) = started(&two_rs());
    let k = tcp("192.0.2.10", 80);
    bfd(&mut h, "B1", false);
    // Same configuration: nothing to do.
    let out = reload(&mut h, &two_rs());
    assert!(out.ops.is_empty(), "{:?}", out.ops);
    assert!(out.log_lines().is_empty(), "{:?}", out.log_lines());

    // Scheduler and a weight change, one real server more; .21 stays down.
    let text = format!(
        "{BFDS}virtual_server 192.0.2.10 80 {{\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.21 80 {{\n  weight 2\n  notify_down /bin/rs21-down\n  \
         BFD_CHECK {{\n   name B1\n  }}\n }}\n\
         real_server 192.0.2.22 80 {{\n  inhibit_on_failure\n  weight 7\n  BFD_CHECK {{\n   name B2\n  }}\n }}\n\
         real_server 192.0.2.24 80 {{\n }}\n}}\n"
    );
    let out = reload(&mut h, &text);
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::EditService(service(k, "wrr")),
            IpvsOp::EditDest(k, dest("192.0.2.22", 80, 0, 7)),
            IpvsOp::AddDest(k, dest("192.0.2.24", 80, 0, 1)),
        ]
    );
    assert_eq!(
        out.log_lines(),
        vec![format!(
            "Changing weight from 1 to 7 for active service [192.0.2.22]:tcp:80 of VS {VS4}"
        )]
    );
    assert_eq!(
        h.lvs().rs_alive(keepalived_rs::lvs::RsRef { vs: 0, rs: 0 }),
        Some(false)
    );
    // The session still drives the kept real server.
    let out = bfd(&mut h, "B1", true);
    assert_eq!(
        out.ops,
        vec![IpvsOp::AddDest(k, dest("192.0.2.21", 80, 0, 2))]
    );
}

#[test]
fn reload_removes_and_adds_real_and_virtual_servers() {
    let (mut h, _) = started(&two_rs());
    let k = tcp("192.0.2.10", 80);
    let k2 = tcp("192.0.2.12", 80);
    // Drop .22 from the VS, add a second VS.
    let text = format!(
        "{BFDS}virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.21 80 {{\n  weight 2\n  BFD_CHECK {{\n   name B1\n  }}\n }}\n}}\n\
         virtual_server 192.0.2.12 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.31 80 {{\n  BFD_CHECK {{\n   name B3\n   alpha\n  }}\n }}\n\
         real_server 192.0.2.32 80 {{\n }}\n}}\n"
    );
    let out = reload(&mut h, &text);
    assert_eq!(
        out.log_lines(),
        vec![
            "service [192.0.2.22]:tcp:80 no longer exist".to_string(),
            format!("Removing service [192.0.2.22]:tcp:80 from VS {VS4}"),
            "Gained quorum 1+0=1 <= 1 for VS [192.0.2.12]:tcp:80".to_string(),
        ]
    );
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::DelDest(k, dkey("192.0.2.22", 80)),
            IpvsOp::AddService(service(k2, "rr")),
            IpvsOp::AddDest(k2, dest("192.0.2.32", 80, 0, 1)),
        ]
    );
    // Now drop the first VS entirely.
    let text2 = format!(
        "{BFDS}virtual_server 192.0.2.12 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.31 80 {{\n  BFD_CHECK {{\n   name B3\n   alpha\n  }}\n }}\n\
         real_server 192.0.2.32 80 {{\n }}\n}}\n"
    );
    let out = reload(&mut h, &text2);
    assert_eq!(
        out.log_lines(),
        vec![
            format!("Removing Virtual Server {VS4}"),
            format!("Removing service [192.0.2.21]:tcp:80 from VS {VS4}"),
        ]
    );
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::DelDest(k, dkey("192.0.2.21", 80)),
            IpvsOp::DelService(k),
        ]
    );
    // Quorum down notify (no line) for the removed VS.
    assert!(out.events.iter().any(|e| matches!(
        e,
        LvsEvent::QuorumDown {
            reason: QuorumDownReason::Stopping,
            ..
        }
    )));
    // The alpha real server of the new VS is still waiting for its session.
    let out = bfd(&mut h, "B3", true);
    assert_eq!(
        out.ops,
        vec![IpvsOp::AddDest(k2, dest("192.0.2.31", 80, 0, 1))]
    );
}

#[test]
fn reload_group_entries() {
    let g = |entries: &str| {
        format!(
            "virtual_server_group G {{\n{entries}}}\n\
             virtual_server group G {{\n lb_algo rr\n lb_kind DR\n protocol TCP\n\
             real_server 192.0.2.21 {{\n }}\n}}\n"
        )
    };
    let (mut h, _) = started(&g(" 192.0.2.100-101 80\n fwmark 5\n"));
    let out = reload(&mut h, &g(" 192.0.2.100 80\n 192.0.2.120 80\n fwmark 6\n"));
    assert_eq!(
        out.log_lines(),
        vec![
            "VS [[192.0.2.100]:tcp:80-192.0.2.101] in group G no longer exists".to_string(),
            "VS [5] in group G no longer exists".to_string(),
            "VS [[192.0.2.100]:tcp:80] added into group G".to_string(),
            "VS [[192.0.2.120]:tcp:80] added into group G".to_string(),
            "VS [FWM 6] added into group G".to_string(),
        ]
    );
    let f5 = ServiceKey::Fwmark { af: 2, mark: 5 };
    let f6 = ServiceKey::Fwmark { af: 2, mark: 6 };
    let b = tcp("192.0.2.101", 80);
    let c = tcp("192.0.2.120", 80);
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::DelDest(b, dkey("192.0.2.21", 80)),
            IpvsOp::DelService(b),
            IpvsOp::DelDest(f5, dkey("192.0.2.21", 0)),
            IpvsOp::DelService(f5),
            IpvsOp::AddService(service(c, "rr")),
            IpvsOp::AddDest(c, dest("192.0.2.21", 80, 3, 1)),
            IpvsOp::AddService(service(f6, "rr")),
            IpvsOp::AddDest(f6, dest("192.0.2.21", 0, 3, 1)),
        ]
    );
}

#[test]
fn reload_while_sorry_server_is_in() {
    let (mut h, _) = started(&quorum_vs(false));
    bfd(&mut h, "B1", false);
    bfd(&mut h, "B2", false);
    assert_eq!(h.lvs().sorry_active(0), Some(true));
    let k = tcp("192.0.2.10", 80);
    // Same config: the sorry server stays in, nothing to do.
    let out = reload(&mut h, &quorum_vs(false));
    assert!(out.ops.is_empty() && out.log_lines().is_empty(), "{out:?}");
    // Without the sorry server: it leaves, the alive real server comes back.
    let out = reload(
        &mut h,
        &quorum_vs(false).replace(" sorry_server 192.0.2.99 80\n", ""),
    );
    assert_eq!(
        out.log_lines(),
        vec![
            format!("Removing sorry server [192.0.2.99]:tcp:80 from VS {VS4}"),
            format!("Adding alive servers to the pool for VS {VS4}"),
        ]
    );
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::DelDest(k, dkey("192.0.2.99", 80)),
            IpvsOp::AddDest(k, dest("192.0.2.23", 80, 0, 1)),
        ]
    );
}

// ---------------------------------------------------------------- shutdown

#[test]
fn shutdown_deletes_everything() {
    let text = two_rs().replace(
        " protocol TCP\n",
        " protocol TCP\n omega\n quorum_down /bin/qd\n",
    );
    let (mut h, _) = started(&text);
    let k = tcp("192.0.2.10", 80);
    bfd(&mut h, "B2", false);
    let mut out = Output::new();
    h.shutdown(&mut out);
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::DelDest(k, dkey("192.0.2.21", 80)),
            IpvsOp::DelDest(k, dkey("192.0.2.22", 80)),
            IpvsOp::DelService(k),
        ]
    );
    assert_eq!(
        out.log_lines(),
        vec![
            format!("Shutting down service [192.0.2.21]:tcp:80 from VS {VS4}"),
            format!("Shutting down (inhibited) service [192.0.2.22]:tcp:80 from VS {VS4}"),
        ]
    );
    // omega: the alive real server and the quorum are notified down.
    assert!(
        matches!(&out.events[1], LvsEvent::RsNotify { up: false, script: Some(s), .. } if s.command == "/bin/rs21-down")
    );
    assert!(
        matches!(&out.events[3], LvsEvent::QuorumDown { reason: QuorumDownReason::Stopping, script: Some(s), .. } if s.command == "/bin/qd")
    );
    assert!(h.lvs().installed().is_empty());
    // Nothing after shutdown.
    assert!(bfd(&mut h, "B1", false).is_empty());
    let mut out = Output::new();
    h.shutdown(&mut out);
    assert!(out.is_empty());
}

#[test]
fn shutdown_without_omega_does_not_notify() {
    let (mut h, _) = started(&two_rs());
    let mut out = Output::new();
    h.shutdown(&mut out);
    assert_eq!(out.events.len(), 2, "{:?}", out.events);
}

// ---------------------------------------------------------------- checkers

#[test]
fn unimplemented_checkers_are_listed_and_ignored() {
    let (h, out) = started(&format!(
        "{BFDS}virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.21 80 {{\n  alpha\n  SSL_GET {{\n   url {{\n    path /\n    regex \"ok\"\n   }}\n  }}\n  HTTP_GET {{\n   url {{\n    path /\n    regex \"ok\"\n   }}\n  }}\n }}\n\
         real_server 192.0.2.22 80 {{\n  SSL_GET {{\n   url {{\n    path /\n    regex \"ok\"\n   }}\n  }}\n  BFD_CHECK {{\n   name B2\n   alpha\n  }}\n }}\n}}\n"
    ));
    let c = h.checkers();
    assert_eq!(c.len(), 4);
    let u: Vec<String> = c.unimplemented().iter().map(|u| u.log_line()).collect();
    assert_eq!(
        u,
        vec![
            format!("SSL_GET with a regex url of service [192.0.2.21]:tcp:80 for VS {VS4} is not implemented yet - ignoring it"),
            format!("HTTP_GET with a regex url of service [192.0.2.21]:tcp:80 for VS {VS4} is not implemented yet - ignoring it"),
            format!("SSL_GET with a regex url of service [192.0.2.22]:tcp:80 for VS {VS4} is not implemented yet - ignoring it"),
        ]
    );
    assert_eq!(
        c.unimplemented_summary(),
        vec![
            "HTTP_GET with a regex url is not implemented yet - ignoring 1 checker".to_string(),
            "SSL_GET with a regex url is not implemented yet - ignoring 2 checkers".to_string(),
        ]
    );
    // .21 only has ignored (alpha) checkers: alive. .22 waits for its alpha BFD_CHECK.
    let k = tcp("192.0.2.10", 80);
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::AddService(service(k, "rr")),
            IpvsOp::AddDest(k, dest("192.0.2.21", 80, 0, 1)),
        ]
    );
    assert_eq!(c.bfd_names().collect::<Vec<_>>(), vec!["B2"]);
}

#[test]
fn rs_init_notifies() {
    let (_h, out) = started_with(
        &format!(
            "{BFDS}virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
             real_server 192.0.2.21 80 {{\n  notify_up /bin/up21\n }}\n\
             real_server 192.0.2.22 80 {{\n  BFD_CHECK {{\n   name B2\n   alpha\n  }}\n }}\n}}\n"
        ),
        LvsOptions {
            rs_init_notifies: true,
        },
    );
    assert!(
        matches!(&out.events[0], LvsEvent::RsNotify { up: true, script: Some(s), .. } if s.command == "/bin/up21")
    );
    assert_eq!(out.events.len(), 2, "{:?}", out.events);
}

#[test]
fn checkers_reload_maps_ids() {
    let cfg = lvs_config(&two_rs());
    let mut out = Output::new();
    let mut h = Healthcheckers::new(&cfg, LvsOptions::default());
    h.start(&mut out);
    // Swap the real servers' order: ids follow the servers.
    let text = format!(
        "{BFDS}virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.22 80 {{\n  inhibit_on_failure\n  BFD_CHECK {{\n   name B2\n  }}\n }}\n\
         real_server 192.0.2.21 80 {{\n  weight 2\n  notify_down /bin/rs21-down\n  \
         BFD_CHECK {{\n   name B1\n  }}\n }}\n}}\n"
    );
    out.clear();
    let map = h.reload(&lvs_config(&text), &mut out);
    assert!(out.ops.is_empty(), "{:?}", out.ops);
    assert_eq!(map, vec![Some(CheckerId(1)), Some(CheckerId(0))]);
    // B2 still drives the server now listed first.
    out.clear();
    h.on_bfd_state("B2", false, &mut out);
    assert_eq!(h.checkers().is_up(CheckerId(0)), Some(false));
}

// ---------------------------------------------------------------- misc_dynamic

/// A MISC_CHECK with `misc_dynamic`.
const DYN: &str = "MISC_CHECK {\n   misc_path /bin/true\n   misc_dynamic\n  }";

/// The MISC_CHECK of real server `rs` of virtual server `vs`.
fn misc_id(h: &Healthcheckers, vs: usize, rs: usize) -> CheckerId {
    let want = keepalived_rs::lvs::RsRef { vs, rs };
    let c = h.checkers();
    c.probes()
        .into_iter()
        .find(|&id| c.real_server(id) == Some(want))
        .expect("a MISC_CHECK")
}

fn misc(h: &mut Healthcheckers, vs: usize, rs: usize, status: i32) -> Output {
    let id = misc_id(h, vs, rs);
    let mut out = Output::new();
    h.misc_exit(id, MiscExit::Exited(status), false, &mut out)
        .expect("a MISC_CHECK");
    out
}

fn weight_of(h: &Healthcheckers, vs: usize, rs: usize) -> Option<u32> {
    h.lvs().rs_weight(keepalived_rs::lvs::RsRef { vs, rs })
}

#[test]
fn misc_dynamic_sets_the_weight() {
    // As keepalived 2.2.7 in the QEMU guest (weights 3 and 1, the second alpha).
    let (mut h, out) = started(&format!(
        "virtual_server 192.0.2.10 80 {{\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.21 80 {{\n  weight 3\n  {DYN}\n }}\n\
         real_server 192.0.2.22 80 {{\n  alpha\n  {DYN}\n }}\n\
         real_server 192.0.2.23 80 {{\n }}\n}}\n"
    ));
    let k = tcp("192.0.2.10", 80);
    assert_eq!(out.ops.len(), 3, "{:?}", out.ops);
    let rs21 = "[192.0.2.21]:tcp:80";
    let change = |from: u32, to: u32, active: &str| {
        format!("Changing weight from {from} to {to} for {active}active service {rs21} of VS {VS4}")
    };
    // Up at start, exit 7: weight 5.
    let out = misc(&mut h, 0, 0, 7);
    assert_eq!(out.log_lines(), vec![change(3, 5, "")]);
    assert_eq!(
        out.ops,
        vec![IpvsOp::EditDest(k, dest("192.0.2.21", 80, 0, 5))]
    );
    // 5 - 2 = 3 (the configured weight), then the same again: nothing.
    let out = misc(&mut h, 0, 0, 5);
    assert_eq!(out.log_lines(), vec![change(5, 3, "")]);
    assert_eq!(
        out.ops,
        vec![IpvsOp::EditDest(k, dest("192.0.2.21", 80, 0, 3))]
    );
    assert!(misc(&mut h, 0, 0, 5).is_empty());
    // Down: the weight stays; a dynamic status while down changes the weight of an
    // inactive service first, then brings the real server up at it.
    let out = misc(&mut h, 0, 0, 1);
    assert_eq!(out.ops, vec![IpvsOp::DelDest(k, dkey("192.0.2.21", 80))]);
    let out = misc(&mut h, 0, 0, 10);
    assert_eq!(
        out.log_lines(),
        vec![
            change(3, 8, "in"),
            format!("Adding service {rs21} to VS {VS4}")
        ]
    );
    assert_eq!(
        out.ops,
        vec![IpvsOp::AddDest(k, dest("192.0.2.21", 80, 0, 8))]
    );
    // 0 while up: the configured weight again; 2: weight 0, still in the table.
    let out = misc(&mut h, 0, 0, 0);
    assert_eq!(out.log_lines(), vec![change(8, 3, "")]);
    let out = misc(&mut h, 0, 0, 2);
    assert_eq!(out.log_lines(), vec![change(3, 0, "")]);
    assert_eq!(
        out.ops,
        vec![IpvsOp::EditDest(k, dest("192.0.2.21", 80, 0, 0))]
    );
    assert_eq!(weight_of(&h, 0, 0), Some(0));
    // Down from weight 0, then exit 0: up at the configured weight.
    misc(&mut h, 0, 0, 1);
    let out = misc(&mut h, 0, 0, 0);
    assert_eq!(
        out.log_lines(),
        vec![
            change(0, 3, "in"),
            format!("Adding service {rs21} to VS {VS4}")
        ]
    );
    assert_eq!(
        out.ops,
        vec![IpvsOp::AddDest(k, dest("192.0.2.21", 80, 0, 3))]
    );
    // The alpha real server, not in yet: "inactive", then added at its new weight.
    let out = misc(&mut h, 0, 1, 4);
    assert_eq!(
        out.log_lines(),
        vec![
            format!(
                "Changing weight from 1 to 2 for inactive service [192.0.2.22]:tcp:80 of VS {VS4}"
            ),
            format!("Adding service [192.0.2.22]:tcp:80 to VS {VS4}"),
        ]
    );
    assert_eq!(
        out.ops,
        vec![IpvsOp::AddDest(k, dest("192.0.2.22", 80, 0, 2))]
    );
    // Without misc_dynamic a status of 2..=255 is a failure and the weight stays.
    let (mut h, _) = started(&format!(
        "virtual_server 192.0.2.10 80 {{\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.21 80 {{\n  weight 3\n  {}\n }}\n}}\n",
        DYN.replace("   misc_dynamic\n", "")
    ));
    let out = misc(&mut h, 0, 0, 7);
    assert_eq!(
        out.log_lines()[0],
        format!("Removing service {rs21} from VS {VS4}")
    );
    assert_eq!(weight_of(&h, 0, 0), Some(3));
}

#[test]
fn misc_dynamic_with_inhibit_on_failure() {
    let (mut h, _) = started(&format!(
        "virtual_server 192.0.2.10 80 {{\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.21 80 {{\n  weight 2\n  inhibit_on_failure\n  {DYN}\n }}\n\
         real_server 192.0.2.23 80 {{\n }}\n}}\n"
    ));
    let k = tcp("192.0.2.10", 80);
    let rs21 = "[192.0.2.21]:tcp:80";
    let out = misc(&mut h, 0, 0, 1);
    assert_eq!(
        out.ops,
        vec![IpvsOp::EditDest(k, dest("192.0.2.21", 80, 0, 0))]
    );
    // Held at weight 0 while down: the new weight waits for the real server.
    let out = misc(&mut h, 0, 0, 6);
    assert_eq!(
        out.log_lines(),
        vec![
            format!("Changing weight from 2 to 4 for inactive service {rs21} of VS {VS4}"),
            format!("Enabling service {rs21} of VS {VS4}"),
        ]
    );
    assert_eq!(
        out.ops,
        vec![IpvsOp::EditDest(k, dest("192.0.2.21", 80, 0, 4))]
    );
    let out = misc(&mut h, 0, 0, 1);
    assert_eq!(
        out.ops,
        vec![IpvsOp::EditDest(k, dest("192.0.2.21", 80, 0, 0))]
    );
    assert_eq!(weight_of(&h, 0, 0), Some(4));
}

#[test]
fn misc_dynamic_weight_counts_in_the_quorum() {
    let (mut h, out) = started(&format!(
        "virtual_server 192.0.2.10 80 {{\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n\
         quorum 4\n sorry_server 192.0.2.99 80\n\
         real_server 192.0.2.21 80 {{\n  weight 2\n  {DYN}\n }}\n\
         real_server 192.0.2.22 80 {{\n  weight 2\n }}\n}}\n"
    ));
    let k = tcp("192.0.2.10", 80);
    let rs21 = "[192.0.2.21]:tcp:80";
    assert_eq!(
        out.log_lines(),
        vec![format!("Gained quorum 4+0=4 <= 4 for VS {VS4}")]
    );
    // Weight 1: 3 < 4, the quorum is lost and the sorry server comes in.
    let out = misc(&mut h, 0, 0, 3);
    assert_eq!(
        out.log_lines(),
        vec![
            format!("Changing weight from 2 to 1 for active service {rs21} of VS {VS4}"),
            format!("Lost quorum 4-0=4 > 3 for VS {VS4}"),
            format!("Adding sorry server [192.0.2.99]:tcp:80 to VS {VS4}"),
            format!("Removing alive servers from the pool for VS {VS4}"),
        ]
    );
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::DelDest(k, dkey("192.0.2.21", 80)),
            IpvsOp::DelDest(k, dkey("192.0.2.22", 80)),
            IpvsOp::AddDest(k, dest("192.0.2.99", 80, 0, 1)),
        ]
    );
    // Weight 0 with the sorry server in: no table change.
    let out = misc(&mut h, 0, 0, 2);
    assert!(out.ops.is_empty(), "{:?}", out.ops);
    assert_eq!(out.log_lines().len(), 1);
    // Weight 6: 8 >= 4, gained; the real servers come back, the first at weight 6.
    let out = misc(&mut h, 0, 0, 8);
    assert_eq!(
        out.log_lines(),
        vec![
            format!("Changing weight from 0 to 6 for active service {rs21} of VS {VS4}"),
            format!("Gained quorum 4+0=4 <= 8 for VS {VS4}"),
            format!("Removing sorry server [192.0.2.99]:tcp:80 from VS {VS4}"),
            format!("Adding alive servers to the pool for VS {VS4}"),
        ]
    );
    assert_eq!(
        out.ops,
        vec![
            IpvsOp::DelDest(k, dkey("192.0.2.99", 80)),
            IpvsOp::AddDest(k, dest("192.0.2.21", 80, 0, 6)),
            IpvsOp::AddDest(k, dest("192.0.2.22", 80, 0, 2)),
        ]
    );
    // A reload starts over at the configured weight (6 -> 2), quorum kept (4 <= 4).
    let out = reload(
        &mut h,
        &format!(
            "virtual_server 192.0.2.10 80 {{\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n\
             quorum 4\n sorry_server 192.0.2.99 80\n\
             real_server 192.0.2.21 80 {{\n  weight 2\n  {DYN}\n }}\n\
             real_server 192.0.2.22 80 {{\n  weight 2\n }}\n}}\n"
        ),
    );
    assert_eq!(
        out.log_lines(),
        vec![format!(
            "Changing weight from 6 to 2 for active service {rs21} of VS {VS4}"
        )]
    );
    assert_eq!(
        out.ops,
        vec![IpvsOp::EditDest(k, dest("192.0.2.21", 80, 0, 2))]
    );
    assert_eq!(h.lvs().quorum_up(0), Some(true));
}

// ---------------------------------------------------------------- random

/// SplitMix64: a seeded stream, no OS randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The kernel's table as a model: every operation must make sense where it lands.
#[derive(Default)]
struct Model {
    table: BTreeMap<ServiceKey, (Service, BTreeMap<DestKey, Dest>)>,
}

impl Model {
    fn apply(&mut self, op: &IpvsOp) {
        match op {
            IpvsOp::AddService(s) => {
                assert!(!self.table.contains_key(&s.key), "{op:?}: service present");
                self.table.insert(s.key, (s.clone(), BTreeMap::new()));
            }
            IpvsOp::EditService(s) => {
                let e = self.table.get_mut(&s.key).expect("edit of absent service");
                e.0 = s.clone();
            }
            IpvsOp::DelService(k) => {
                assert!(self.table.remove(k).is_some(), "{op:?}: absent service");
            }
            IpvsOp::AddDest(k, d) => {
                let s = self.table.get_mut(k).expect("dest in absent service");
                assert!(
                    s.1.insert(d.key, d.clone()).is_none(),
                    "{op:?}: dest present"
                );
            }
            IpvsOp::EditDest(k, d) => {
                let s = self.table.get_mut(k).expect("dest in absent service");
                let cur = s.1.get_mut(&d.key).expect("edit of absent dest");
                assert_ne!(cur, d, "{op:?}: edit that changes nothing");
                *cur = d.clone();
            }
            IpvsOp::DelDest(k, dk) => {
                let s = self.table.get_mut(k).expect("dest in absent service");
                assert!(s.1.remove(dk).is_some(), "{op:?}: absent dest");
            }
        }
    }
}

/// The `misc_dynamic` checker of the random run: its exit status sets its real server's
/// weight; no retry, so that exit 1 takes the checker down at once.
const DYN_RANDOM: &str = "MISC_CHECK {\n   misc_path /bin/true\n   misc_dynamic\n   retry 0\n  }";

/// Configuration variants the random run reloads between: real servers come and go,
/// weights, schedulers and sorry servers change, but a kept real server keeps its
/// checkers.
fn random_config(variant: u64) -> String {
    let w = 1 + variant % 3;
    let sched = ["rr", "wrr", "wlc"][(variant % 3) as usize];
    let inhibit_sorry = if variant % 2 == 0 {
        " sorry_server_inhibit\n"
    } else {
        ""
    };
    let sorry = if variant == 3 {
        String::new()
    } else {
        format!(" sorry_server 192.0.2.99 80\n{inhibit_sorry}")
    };
    let last = 101 + variant % 2;
    let extra = if variant % 2 == 1 {
        "real_server 192.0.2.25 80 {\n  BFD_CHECK {\n   name B4\n   alpha\n  }\n }\n"
    } else {
        ""
    };
    format!(
        "{BFDS}virtual_server 192.0.2.10 80 {{\n lb_algo {sched}\n lb_kind NAT\n protocol TCP\n\
         quorum 4\n hysteresis 1\n{sorry}\
         real_server 192.0.2.21 80 {{\n  weight {w}\n  BFD_CHECK {{\n   name B1\n  }}\n  {DYN_RANDOM}\n }}\n\
         real_server 192.0.2.22 80 {{\n  weight 2\n  inhibit_on_failure\n  BFD_CHECK {{\n   name B2\n  }}\n  {DYN_RANDOM}\n }}\n\
         real_server 192.0.2.23 80 {{\n  weight 2\n  BFD_CHECK {{\n   name B1\n  }}\n  BFD_CHECK {{\n   name B3\n   alpha\n  }}\n }}\n\
         real_server 192.0.2.24 80 {{\n }}\n{extra}}}\n\
         virtual_server fwmark 3 {{\n lb_algo rr\n lb_kind DR\n quorum 2\n\
         sorry_server 192.0.2.98 0\n sorry_server_inhibit\n\
         real_server 192.0.2.21 {{\n  BFD_CHECK {{\n   name B2\n  }}\n }}\n\
         real_server 192.0.2.23 {{\n  inhibit_on_failure\n  alpha\n  BFD_CHECK {{\n   name B3\n  }}\n }}\n}}\n\
         virtual_server_group G {{\n 192.0.2.100-{last} 80\n fwmark 4\n}}\n\
         virtual_server group G {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server 192.0.2.24 {{\n  BFD_CHECK {{\n   name B4\n  }}\n }}\n\
         real_server 192.0.2.21 8080 {{\n  BFD_CHECK {{\n   name B1\n  }}\n  BFD_CHECK {{\n   name B2\n  }}\n }}\n}}\n"
    )
}

/// The test's own account of checker states and quorum flags, kept apart from the engine:
/// checker states keyed by (VS, RS address and port, checker index) so that they survive
/// reloads; quorum flags by VS, moved with keepalived's hysteresis after every real server
/// change, in the engine's order (configuration order of the checkers).
struct Health {
    checkers: BTreeMap<(String, String, usize), bool>,
    quorum: BTreeMap<String, bool>,
    /// Weights a `misc_dynamic` checker set, by (VS, RS address and port); a reload drops
    /// them (the real servers start over at their configured weights).
    weights: BTreeMap<(String, String), u32>,
}

fn ck_key(cfg: &LvsConfig, v: usize, r: usize, c: usize) -> (String, String, usize) {
    let vs = &cfg.virtual_servers[v];
    let rs = &vs.real_servers[r];
    (vs.display_name(), format!("{}:{}", rs.addr, rs.port), c)
}

impl Health {
    fn new(cfg: &LvsConfig) -> Health {
        let mut h = Health {
            checkers: BTreeMap::new(),
            quorum: BTreeMap::new(),
            weights: BTreeMap::new(),
        };
        h.reload(cfg);
        h
    }

    /// Kept checkers keep their state, new ones start down if alpha; kept virtual
    /// servers keep their quorum, which is then re-evaluated.
    fn reload(&mut self, cfg: &LvsConfig) {
        let mut checkers = BTreeMap::new();
        let mut quorum = BTreeMap::new();
        for (v, vs) in cfg.virtual_servers.iter().enumerate() {
            for (r, rs) in vs.real_servers.iter().enumerate() {
                for (c, ck) in rs.checkers.iter().enumerate() {
                    let k = ck_key(cfg, v, r, c);
                    let s = self.checkers.get(&k).copied().unwrap_or(!ck.alpha);
                    checkers.insert(k, s);
                }
            }
            let name = vs.display_name();
            let q = self.quorum.get(&name).copied().unwrap_or(false);
            quorum.insert(name, q);
        }
        self.checkers = checkers;
        self.quorum = quorum;
        self.weights.clear();
        for v in 0..cfg.virtual_servers.len() {
            self.update_quorum(cfg, v);
        }
    }

    fn rs_alive(&self, cfg: &LvsConfig, v: usize, r: usize) -> bool {
        (0..cfg.virtual_servers[v].real_servers[r].checkers.len())
            .all(|c| self.checkers[&ck_key(cfg, v, r, c)])
    }

    /// The weight of a real server: a dynamic one, else the configured one.
    fn weight(&self, cfg: &LvsConfig, v: usize, r: usize) -> u32 {
        let (vs, rs, _) = ck_key(cfg, v, r, 0);
        self.weights
            .get(&(vs, rs))
            .copied()
            .unwrap_or(cfg.virtual_servers[v].real_servers[r].weight)
    }

    fn update_quorum(&mut self, cfg: &LvsConfig, v: usize) {
        let vs = &cfg.virtual_servers[v];
        let sum: i64 = (0..vs.real_servers.len())
            .filter(|&r| self.rs_alive(cfg, v, r))
            .map(|r| i64::from(self.weight(cfg, v, r)))
            .sum();
        let (q, h) = (i64::from(vs.quorum), i64::from(vs.hysteresis));
        let up = self.quorum.get_mut(&vs.display_name()).unwrap();
        if !*up && sum >= q + h {
            *up = true;
        } else if *up && (sum == 0 || sum < q - h) {
            *up = false;
        }
    }

    /// The `misc_dynamic` checker `c` of real server `r` exited with `status` (0..=255):
    /// the weight first (0: the configured one, 2..: status - 2), then the checker's
    /// state (1: down, else up), the quorum re-evaluated after each change.
    fn misc(&mut self, cfg: &LvsConfig, v: usize, r: usize, c: usize, status: u32) {
        let (vs, rs, _) = ck_key(cfg, v, r, c);
        let before = self.weight(cfg, v, r);
        match status {
            0 => {
                self.weights.remove(&(vs, rs));
            }
            1 => {}
            s => {
                self.weights.insert((vs, rs), s - 2);
            }
        }
        if self.weight(cfg, v, r) != before {
            self.update_quorum(cfg, v);
        }
        let before = self.rs_alive(cfg, v, r);
        self.checkers.insert(ck_key(cfg, v, r, c), status != 1);
        if self.rs_alive(cfg, v, r) != before {
            self.update_quorum(cfg, v);
        }
    }

    fn bfd(&mut self, cfg: &LvsConfig, name: &str, up: bool) {
        use keepalived_rs::config::model::lvs::CheckerKind;
        for (v, vs) in cfg.virtual_servers.iter().enumerate() {
            for (r, rs) in vs.real_servers.iter().enumerate() {
                for (c, ck) in rs.checkers.iter().enumerate() {
                    if !matches!(&ck.kind, CheckerKind::Bfd(b) if b.name == name) {
                        continue;
                    }
                    let before = self.rs_alive(cfg, v, r);
                    self.checkers.insert(ck_key(cfg, v, r, c), up);
                    if self.rs_alive(cfg, v, r) != before {
                        self.update_quorum(cfg, v);
                    }
                }
            }
        }
    }
}

/// What the configuration and the sessions' last states say the table must be, given the
/// engine's quorum flags (which depend on history through the hysteresis; they are
/// checked against the band separately).
fn expected_table(
    cfg: &LvsConfig,
    health: &Health,
    lvs: &keepalived_rs::lvs::Lvs,
) -> BTreeMap<ServiceKey, (Service, BTreeMap<DestKey, Dest>)> {
    use keepalived_rs::lvs::build;
    let mut t: BTreeMap<ServiceKey, (Service, BTreeMap<DestKey, Dest>)> = BTreeMap::new();
    for (v, vs) in cfg.virtual_servers.iter().enumerate() {
        let alive: Vec<bool> = (0..vs.real_servers.len())
            .map(|r| health.rs_alive(cfg, v, r))
            .collect();
        let sum: i64 = (0..vs.real_servers.len())
            .filter(|&r| alive[r])
            .map(|r| i64::from(health.weight(cfg, v, r)))
            .sum();
        let q_up = health.quorum[&vs.display_name()];
        assert_eq!(lvs.quorum_up(v), Some(q_up), "VS {v}");
        let (q, h) = (i64::from(vs.quorum), i64::from(vs.hysteresis));
        if q_up {
            assert!(sum >= q - h && sum > 0, "VS {v}: quorum up with {sum}");
        } else {
            assert!(sum < q + h, "VS {v}: quorum down with {sum}");
        }
        let sorry_in = vs.sorry_server.is_some() && !q_up;
        assert_eq!(lvs.sorry_active(v), Some(sorry_in));
        let group = vs.group_name().and_then(|g| cfg.group(g));
        for svc in build::services(vs, group) {
            let e = t
                .entry(svc.key())
                .or_insert_with(|| (svc.service.clone(), BTreeMap::new()));
            let mut put = |d: Option<Dest>| {
                if let Some(d) = d {
                    e.1.entry(d.key).or_insert(d);
                }
            };
            if sorry_in {
                put(build::sorry_dest(
                    &svc,
                    vs.sorry_server.as_ref().unwrap(),
                    1,
                ));
            }
            for (r, rs) in vs.real_servers.iter().enumerate() {
                let w = if sorry_in || !alive[r] {
                    rs.inhibit_on_failure.then_some(0)
                } else {
                    Some(health.weight(cfg, v, r))
                };
                if let Some(w) = w {
                    put(build::rs_dest(&svc, rs, w));
                }
            }
            if let Some(ss) = vs.sorry_server.as_ref().filter(|s| s.inhibit && !sorry_in) {
                put(build::sorry_dest(&svc, ss, 0));
            }
        }
    }
    t
}

#[test]
fn random_bfd_sequences_keep_the_table_consistent() {
    // What the runs went through, so that the test is known to cover the interesting
    // transitions.
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    for seed in 0..40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xfeed);
        let mut variant = 0;
        let mut cfg = lvs_config(&random_config(variant));
        let mut h = Healthcheckers::new(&cfg, LvsOptions::default());
        let mut model = Model::default();
        let mut out = Output::new();
        h.start(&mut out);
        let mut health = Health::new(&cfg);
        for step in 0..300 {
            for op in &out.ops {
                model.apply(op);
                *seen.entry(op_name(op)).or_default() += 1;
            }
            for ev in &out.events {
                *seen.entry(event_name(ev)).or_default() += 1;
            }
            out.clear();
            assert_eq!(
                model
                    .table
                    .iter()
                    .map(|(k, v)| (*k, v.1.clone()))
                    .collect::<Vec<_>>(),
                h.lvs()
                    .installed()
                    .iter()
                    .map(|(k, v)| (*k, v.dests.clone()))
                    .collect::<Vec<_>>(),
                "seed {seed} step {step}"
            );
            let want = expected_table(&cfg, &health, h.lvs());
            assert_eq!(model.table, want, "seed {seed} step {step}");

            if rng.below(25) == 0 {
                variant = rng.below(4);
                let next = lvs_config(&random_config(variant));
                health.reload(&next);
                cfg = next;
                h.reload(&cfg, &mut out);
                continue;
            }
            if rng.below(3) == 0 {
                // A misc_dynamic run: status 0..=6 (down, the configured weight, or 0..=4).
                use keepalived_rs::config::model::lvs::CheckerKind;
                let mut miscs = Vec::new();
                for (v, vs) in cfg.virtual_servers.iter().enumerate() {
                    for (r, rs) in vs.real_servers.iter().enumerate() {
                        for (c, ck) in rs.checkers.iter().enumerate() {
                            if matches!(ck.kind, CheckerKind::Misc(_)) {
                                miscs.push((v, r, c));
                            }
                        }
                    }
                }
                let (v, r, c) = miscs[rng.below(miscs.len() as u64) as usize];
                let status = rng.below(7) as u32;
                health.misc(&cfg, v, r, c, status);
                let id = misc_id(&h, v, r);
                h.misc_exit(id, MiscExit::Exited(status as i32), false, &mut out)
                    .expect("a MISC_CHECK");
                continue;
            }
            let name = ["B1", "B2", "B3", "B4", "B9"][rng.below(5) as usize];
            let up = rng.below(2) == 0;
            health.bfd(&cfg, name, up);
            h.on_bfd_state(name, up, &mut out);
        }
        for op in &out.ops {
            model.apply(op);
        }
        out.clear();
        h.shutdown(&mut out);
        for op in &out.ops {
            model.apply(op);
        }
        assert!(
            model.table.is_empty(),
            "seed {seed}: left {:?}",
            model.table
        );
    }
    for what in [
        "AddDest",
        "EditDest",
        "DelDest",
        "AddService",
        "EditService",
        "DelService",
        "RsUp",
        "RsDown",
        "QuorumUp",
        "QuorumDown",
        "SorryIn",
        "SorryOut",
        "RsGone",
        "WeightChanged",
    ] {
        assert!(
            seen.get(what).copied().unwrap_or(0) > 0,
            "never saw {what}: {seen:?}"
        );
    }
}

fn op_name(op: &IpvsOp) -> &'static str {
    match op {
        IpvsOp::AddService(_) => "AddService",
        IpvsOp::EditService(_) => "EditService",
        IpvsOp::DelService(_) => "DelService",
        IpvsOp::AddDest(..) => "AddDest",
        IpvsOp::EditDest(..) => "EditDest",
        IpvsOp::DelDest(..) => "DelDest",
    }
}

fn event_name(ev: &LvsEvent) -> &'static str {
    match ev {
        LvsEvent::RsState { up: true, .. } => "RsUp",
        LvsEvent::RsState { up: false, .. } => "RsDown",
        LvsEvent::QuorumUp { .. } => "QuorumUp",
        LvsEvent::QuorumDown { .. } => "QuorumDown",
        LvsEvent::SorryServer { active: true, .. } => "SorryIn",
        LvsEvent::SorryServer { active: false, .. } => "SorryOut",
        LvsEvent::RsGone { .. } => "RsGone",
        LvsEvent::WeightChanged { .. } => "WeightChanged",
        _ => "other",
    }
}
