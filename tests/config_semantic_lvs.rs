//! The IPVS side of the semantic pass: model values, keepalived's defaults and the
//! inheritance chain checker ← real_server ← virtual_server ← built-in default.

use keepalived_rs::config::diag::{Diagnostics, Severity};
use keepalived_rs::config::model::lvs::*;
use keepalived_rs::config::model::Config;
use keepalived_rs::config::semantic::{self, PermissiveHost, SemanticOptions};
use keepalived_rs::config::{parse_str, LoadOptions};
use std::net::IpAddr;

fn build(text: &str) -> (Config, Diagnostics, String) {
    let mut diags = Diagnostics::new();
    let tree = parse_str(text, "test.conf", &LoadOptions::default(), &mut diags);
    let cfg = semantic::build(
        &tree,
        &PermissiveHost,
        &SemanticOptions::default(),
        &mut diags,
    );
    let rendered = diags.render(&tree.sources);
    (cfg, diags, rendered)
}

/// Builds a configuration that must load without errors or warnings.
fn clean(text: &str) -> Config {
    let (cfg, diags, rendered) = build(text);
    // The script-security verdict belongs to the scripts pass; PermissiveHost says every
    // script exists, so configurations with scripts get keepalived's violation message.
    assert!(
        diags
            .items
            .iter()
            .all(|d| d.severity == Severity::Note || d.message.starts_with("SECURITY VIOLATION")),
        "unexpected diagnostics:\n{rendered}"
    );
    cfg
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A virtual server around `body` (inside `virtual_server`), with the usual header.
fn vs(body: &str) -> String {
    format!(
        "virtual_server 192.0.2.10 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{body}\n}}\n"
    )
}

fn only_vs(cfg: &Config) -> &VirtualServer {
    assert_eq!(cfg.lvs.virtual_servers.len(), 1, "{:#?}", cfg.lvs);
    &cfg.lvs.virtual_servers[0]
}

fn checkers(cfg: &Config) -> Vec<&Checker> {
    only_vs(cfg)
        .real_servers
        .iter()
        .flat_map(|r| r.checkers.iter())
        .collect()
}

#[test]
fn builtin_defaults() {
    let cfg = clean(&vs(" real_server 192.0.2.21 80 {\n  TCP_CHECK {\n  }\n }"));
    let v = only_vs(&cfg);
    assert_eq!(
        v.address,
        VsAddress::Ip {
            addr: ip("192.0.2.10"),
            port: 80
        }
    );
    assert_eq!(v.family, Some(IpFamily::Inet));
    assert_eq!(v.protocol, Some(Protocol::Tcp));
    assert_eq!(v.scheduler, Scheduler::Rr);
    assert_eq!(v.forwarding, ForwardingMethod::Nat);
    assert_eq!(v.delay_loop_us, 60_000_000);
    assert_eq!(v.connect_timeout_us, 5_000_000);
    assert_eq!((v.quorum, v.hysteresis, v.weight), (1, 0, 1));
    assert_eq!(v.persistence_timeout_s, None);
    let rs = &v.real_servers[0];
    assert_eq!((rs.addr, rs.port, rs.weight), (ip("192.0.2.21"), 80, 1));
    assert!(!rs.inhibit_on_failure && !rs.alpha);
    let c = &rs.checkers[0];
    assert_eq!(c.kind, CheckerKind::Tcp);
    let co = c.conn.as_ref().unwrap();
    assert_eq!((co.dst_addr, co.dst_port), (ip("192.0.2.21"), 80));
    assert_eq!(co.connect_timeout_us, 5_000_000);
    assert_eq!(c.delay_loop_us, 60_000_000);
    assert_eq!(c.retry, 1);
    assert_eq!(c.delay_before_retry_us, 1_000_000);
    assert_eq!(c.warmup_us, 60_000_000, "warmup defaults to delay_loop");
    assert!(!c.alpha && !c.log_all_failures);
}

#[test]
fn timers_inherit_checker_from_rs_from_vs() {
    let cfg = clean(&vs(" delay_loop 10\n connect_timeout 3\n retry 4\n delay_before_retry 2.5\n \
         warmup 7\n alpha\n\
         real_server 192.0.2.21 80 {\n  connect_timeout 2\n  TCP_CHECK {\n  }\n  \
           TCP_CHECK {\n   delay_loop 1.25\n   connect_timeout 0.5\n   retry 0\n   warmup 0\n   alpha no\n  }\n }\n\
         real_server 192.0.2.22 80 {\n  delay_loop 20\n  retry 2\n  alpha off\n  TCP_CHECK {\n  }\n }"));
    let v = only_vs(&cfg);
    assert_eq!(v.delay_loop_us, 10_000_000);
    assert_eq!(v.timing.retry, Some(4));
    let c = checkers(&cfg);
    // From the VS, RS connect_timeout overriding.
    assert_eq!(c[0].delay_loop_us, 10_000_000);
    assert_eq!(c[0].conn.as_ref().unwrap().connect_timeout_us, 2_000_000);
    assert_eq!(c[0].retry, 4);
    assert_eq!(c[0].delay_before_retry_us, 2_500_000);
    assert_eq!(c[0].warmup_us, 7_000_000);
    assert!(c[0].alpha);
    assert_eq!(
        c[0].timing,
        Timing::default(),
        "nothing written in the checker"
    );
    // The checker's own values win.
    assert_eq!(c[1].delay_loop_us, 1_250_000);
    assert_eq!(c[1].conn.as_ref().unwrap().connect_timeout_us, 500_000);
    assert_eq!((c[1].retry, c[1].warmup_us, c[1].alpha), (0, 0, false));
    // Second RS: its own delay_loop and retry, VS connect_timeout.
    assert_eq!(c[2].delay_loop_us, 20_000_000);
    assert_eq!(c[2].retry, 2);
    assert_eq!(c[2].conn.as_ref().unwrap().connect_timeout_us, 3_000_000);
    assert!(!c[2].alpha);
    assert!(!v.real_servers[1].alpha && v.real_servers[0].alpha);
}

#[test]
fn per_checker_type_defaults() {
    let cfg = clean(&vs(" delay_loop 6\n real_server 192.0.2.21 80 {\n  \
         HTTP_GET {\n   url {\n    path /\n   }\n  }\n  \
         DNS_CHECK {\n  }\n  \
         MISC_CHECK {\n   misc_path /usr/bin/true\n  }\n  \
         SMTP_CHECK {\n  }\n  \
         UDP_CHECK {\n  }\n  \
         PING_CHECK {\n  }\n }"));
    let c = checkers(&cfg);
    let by = |k: &str| c.iter().find(|c| c.kind.keyword() == k).unwrap();
    assert_eq!(by("HTTP_GET").delay_before_retry_us, 3_000_000);
    assert_eq!(by("HTTP_GET").retry, 1);
    assert_eq!(by("DNS_CHECK").retry, 3);
    assert_eq!(
        by("DNS_CHECK").delay_before_retry_us,
        6_000_000,
        "DNS: delay_loop"
    );
    assert_eq!(by("MISC_CHECK").retry, 0);
    assert!(by("MISC_CHECK").conn.is_none());
    for k in ["SMTP_CHECK", "UDP_CHECK", "PING_CHECK"] {
        assert_eq!(
            (by(k).retry, by(k).delay_before_retry_us),
            (1, 1_000_000),
            "{k}"
        );
    }
    match &by("MISC_CHECK").kind {
        CheckerKind::Misc(m) => {
            assert_eq!(
                m.timeout_us, 6_000_000,
                "misc_timeout defaults to the VS delay_loop"
            );
            assert_eq!(m.script.command, "/usr/bin/true");
            assert!(!m.dynamic);
        }
        k => panic!("{k:?}"),
    }
    match &by("DNS_CHECK").kind {
        CheckerKind::Dns(d) => assert_eq!((d.qtype, d.name.as_str()), (DnsType::Soa, ".")),
        k => panic!("{k:?}"),
    }
    match &by("SMTP_CHECK").kind {
        CheckerKind::Smtp(s) => assert_eq!(s.helo_name, "smtpchecker.keepalived.org"),
        k => panic!("{k:?}"),
    }
    // A VS retry reaches every type, overriding the type's default.
    let cfg = clean(&vs(
        " retry 5\n real_server 192.0.2.21 80 {\n  DNS_CHECK {\n  }\n  \
         MISC_CHECK {\n   misc_path /usr/bin/true\n  }\n }",
    ));
    assert!(checkers(&cfg).iter().all(|c| c.retry == 5));
}

#[test]
fn http_urls_and_status_codes() {
    let cfg = clean(&vs(" virtualhost vs.example\n real_server 192.0.2.21 80 {\n  \
         SSL_GET {\n   url {\n    path /a\n    digest 9B3A0C85A887A256D6939DA88AABD8CD\n   }\n   \
           url {\n    path /b\n    status_code 200 404-410 599\n    virtualhost url.example\n   }\n   \
           http_protocol 1.1\n   enable_sni\n   fast_recovery\n   nb_get_retry 2\n  }\n }")
        .replace("nb_get_retry 2", "retry 2"));
    let c = checkers(&cfg);
    let CheckerKind::Http(h) = &c[0].kind else {
        panic!("{:?}", c[0].kind)
    };
    assert!(h.tls && h.enable_sni && h.fast_recovery);
    assert_eq!(h.http_protocol, HttpProtocol::V1_1);
    assert_eq!(c[0].retry, 2);
    assert_eq!(h.urls.len(), 2);
    let a = &h.urls[0];
    assert_eq!(a.path, "/a");
    assert_eq!(
        a.digest,
        Some([
            0x9b, 0x3a, 0x0c, 0x85, 0xa8, 0x87, 0xa2, 0x56, 0xd6, 0x93, 0x9d, 0xa8, 0x8a, 0xab,
            0xd8, 0xcd
        ])
    );
    assert_eq!(a.status_codes.ranges(), vec![(200, 299)], "default 200-299");
    assert_eq!(a.virtualhost.as_deref(), Some("vs.example"), "from the VS");
    let b = &h.urls[1];
    assert_eq!(
        b.status_codes.ranges(),
        vec![(200, 200), (404, 410), (599, 599)]
    );
    assert!(!b.status_codes.contains(201));
    assert_eq!(b.virtualhost.as_deref(), Some("url.example"));
    assert!(cfg.lvs.ssl_required());
    assert!(cfg.lvs.ssl.is_none(), "no SSL block: auto context");
}

#[test]
fn nb_get_retry_is_deprecated_but_applied() {
    let (cfg, diags, r) = build(&vs(" real_server 192.0.2.21 80 {\n  HTTP_GET {\n   \
         url {\n    path /\n   }\n   nb_get_retry 2\n  }\n }"));
    assert!(
        r.contains("warning: nb_get_retry is deprecated - please use 'retry'"),
        "{r}"
    );
    assert_eq!(diags.exit_code(), 5, "keepalived's -t fails on it");
    assert_eq!(checkers(&cfg)[0].retry, 2);
}

#[test]
fn virtual_server_group_entries() {
    let cfg = clean(
        "virtual_server_group G {\n 192.0.2.10 80\n 192.0.2.20-25 80\n 192.0.2.32/30 443\n \
         192.0.2.40-192.0.2.41 0\n 2001:db8::1-1f 80\n 2001:db8::100/126 80\n fwmark 7 inet\n fwmark 8 inet6\n}\n\
         virtual_server group G {\n lb_algo rr\n lb_kind TUN\n protocol TCP\n persistence_timeout\n \
         real_server 198.51.100.1 {\n }\n}\n",
    );
    let g = cfg.lvs.group("G").unwrap();
    let e = &g.entries;
    assert_eq!(e.len(), 8);
    let range = |i: usize| match &e[i] {
        VsgEntry::Range {
            first, last, port, ..
        } => (*first, *last, *port),
        x => panic!("{x:?}"),
    };
    assert_eq!(range(0), (ip("192.0.2.10"), ip("192.0.2.10"), 80));
    assert_eq!(range(1), (ip("192.0.2.20"), ip("192.0.2.25"), 80));
    assert_eq!(e[1].address_count(), 6);
    assert_eq!(range(2), (ip("192.0.2.32"), ip("192.0.2.35"), 443));
    assert_eq!(e[2].addresses().collect::<Vec<_>>().len(), 4);
    assert_eq!(range(3), (ip("192.0.2.40"), ip("192.0.2.41"), 0));
    assert_eq!(range(4), (ip("2001:db8::1"), ip("2001:db8::1f"), 80));
    assert_eq!(e[4].address_count(), 31);
    assert_eq!(range(5), (ip("2001:db8::100"), ip("2001:db8::103"), 80));
    assert!(matches!(
        e[6],
        VsgEntry::Fwmark {
            mark: 7,
            family: Some(IpFamily::Inet),
            ..
        }
    ));
    assert!(matches!(
        e[7],
        VsgEntry::Fwmark {
            mark: 8,
            family: Some(IpFamily::Inet6),
            ..
        }
    ));
    let v = only_vs(&cfg);
    assert_eq!(v.group_name(), Some("G"));
    assert_eq!(v.display_name(), "[G]:0");
    assert_eq!(
        v.protocol,
        Some(Protocol::Tcp),
        "kept: the group has addresses"
    );
    assert_eq!(v.persistence_timeout_s, Some(360));
    assert_eq!(v.real_servers[0].forwarding, ForwardingMethod::TUN);
}

#[test]
fn fwmark_service() {
    let cfg = clean(
        "virtual_server fwmark 5 {\n lb_algo wlc\n lb_kind NAT\n real_server 2001:db8::5 {\n  \
         TCP_CHECK {\n   connect_port 443\n  }\n }\n}\n",
    );
    let v = only_vs(&cfg);
    assert_eq!(v.address, VsAddress::Fwmark(5));
    assert_eq!(v.display_name(), "FWM 5");
    assert_eq!(v.protocol, None);
    assert_eq!(v.family, Some(IpFamily::Inet6), "from the real server");
    assert_eq!(v.real_servers[0].port, 0, "NAT fwmark: no port to inherit");
    let co = v.real_servers[0].checkers[0].conn.as_ref().unwrap();
    assert_eq!((co.dst_addr, co.dst_port), (ip("2001:db8::5"), 443));
    // All tunnelled and mixed families: IPv4, as keepalived keeps it.
    let cfg = clean(
        "virtual_server fwmark 6 {\n lb_algo rr\n lb_kind TUN\n real_server 2001:db8::5 {\n }\n \
         real_server 192.0.2.5 {\n }\n}\n",
    );
    assert_eq!(only_vs(&cfg).family, Some(IpFamily::Inet));
    assert_eq!(
        only_vs(&cfg).real_servers.len(),
        2,
        "tunnelled servers may mix families"
    );
}

#[test]
fn sorry_server_and_quorum() {
    let cfg = clean(&vs(
        " quorum 2\n hysteresis 1\n quorum_up \"/usr/bin/logger up\"\n \
         quorum_down /usr/bin/logger root\n sorry_server 192.0.2.99\n sorry_server_inhibit\n \
         sorry_server_lvs_method DR\n inhibit_on_failure\n\
         real_server 192.0.2.21 {\n  weight 2\n }\n real_server 192.0.2.22 8080 {\n  weight 0\n  \
         inhibit_on_failure off\n }",
    ));
    let v = only_vs(&cfg);
    assert_eq!((v.quorum, v.hysteresis), (2, 1));
    let ss = v.sorry_server.as_ref().unwrap();
    assert_eq!((ss.addr, ss.port), (ip("192.0.2.99"), 80));
    assert_eq!(ss.forwarding, ForwardingMethod::Dr);
    assert!(ss.inhibit && !ss.duplicates_rs);
    assert_eq!(v.real_servers[0].port, 80, "NAT: the VS port");
    assert_eq!(v.real_servers[1].port, 8080, "NAT keeps its own port");
    assert_eq!(v.real_servers[0].weight, 2);
    assert_eq!(v.real_servers[1].weight, 0);
    assert!(v.real_servers[0].inhibit_on_failure && !v.real_servers[1].inhibit_on_failure);
    assert_eq!(v.quorum_up.as_ref().unwrap().command, "/usr/bin/logger up");
    let down = v.quorum_down.as_ref().unwrap();
    assert_eq!(
        (down.command.as_str(), down.user.as_deref()),
        ("/usr/bin/logger", Some("root"))
    );
}

#[test]
fn service_options() {
    let cfg = clean(
        "virtual_server 192.0.2.10 0 {\n lb_algo mh\n lb_kind DR\n protocol UDP\n ops\n mh-port\n \
         mh-fallback\n flag-3\n persistence_timeout 600\n persistence_granularity 255.255.255.0\n \
         persistence_engine sip\n ha_suspend\n omega\n smtp_alert no\n snmp_name web\n weight 3\n\
         real_server 192.0.2.21 {\n  uthreshold 100\n  lthreshold 10\n  lvs_method TUN type gue port 6080 csum\n }\n}\n",
    );
    let v = only_vs(&cfg);
    assert_eq!(v.scheduler, Scheduler::Mh);
    assert!(v.flags.one_packet && v.flags.sched1 && v.flags.sched2 && v.flags.sched3);
    assert_eq!(v.flags.bits(), 0x4 | 0x8 | 0x10 | 0x20);
    assert_eq!(v.persistence_timeout_s, Some(600));
    assert_eq!(
        v.persistence_granularity,
        Some(PersistenceGranularity::V4Netmask(
            "255.255.255.0".parse().unwrap()
        ))
    );
    assert_eq!(v.persistence_engine.as_deref(), Some("sip"));
    assert!(v.ha_suspend && v.omega);
    assert_eq!(v.smtp_alert, Some(false));
    assert_eq!(v.snmp_name.as_deref(), Some("web"));
    let rs = &v.real_servers[0];
    assert_eq!(rs.weight, 3, "VS weight is the RS default");
    assert_eq!((rs.u_threshold, rs.l_threshold), (100, 10));
    assert_eq!(
        rs.forwarding,
        ForwardingMethod::Tun {
            tunnel: TunnelType::Gue { port: 6080 },
            csum: TunnelCsum::Csum
        }
    );
    assert_eq!(rs.port, 0, "DR/TUN: the VS port, here none");
    assert_eq!(v.forwarding, ForwardingMethod::Dr);
}

#[test]
fn zero_port_implies_persistence() {
    let (cfg, _d, r) =
        build(&vs(" real_server 192.0.2.21 80 {\n }").replace(" 80 {\n lb", " 0 {\n lb"));
    assert!(
        r.contains("zero port only valid for persistent services - setting"),
        "{r}"
    );
    assert_eq!(only_vs(&cfg).persistence_timeout_s, Some(360));
    let cfg = clean(&vs(
        " persistence_timeout\n real_server 192.0.2.21 80 {\n }",
    ));
    assert_eq!(only_vs(&cfg).persistence_timeout_s, Some(360));
}

#[test]
fn smtp_host_blocks_become_checkers() {
    let cfg = clean(&vs(" real_server 192.0.2.21 25 {\n  SMTP_CHECK {\n   helo_name mx.example\n   \
         retry 2\n   host {\n    connect_ip 192.0.2.31\n    connect_port 587\n    connect_timeout 4\n   }\n   \
         host {\n    connect_ip 192.0.2.32\n    bindto 192.0.2.2\n    delay_before_retry 9\n   }\n  }\n  \
         SMTP_CHECK {\n   connect_timeout 10\n   host {\n    connect_ip 192.0.2.33\n   }\n  }\n }"));
    let c = checkers(&cfg);
    let targets: Vec<(IpAddr, u16, u64)> = c
        .iter()
        .map(|c| {
            let co = c.conn.as_ref().unwrap();
            (co.dst_addr, co.dst_port, co.connect_timeout_us)
        })
        .collect();
    assert_eq!(
        targets,
        vec![
            // First SMTP_CHECK: only the host blocks (no connection keyword at its level).
            (ip("192.0.2.31"), 587, 4_000_000),
            (ip("192.0.2.32"), 25, 5_000_000),
            // Second: the real server itself (connect_timeout given) plus its host.
            (ip("192.0.2.21"), 25, 10_000_000),
            (ip("192.0.2.33"), 25, 10_000_000),
        ]
    );
    for x in &c[..2] {
        let CheckerKind::Smtp(s) = &x.kind else {
            panic!()
        };
        assert_eq!(s.helo_name, "mx.example");
        assert_eq!(x.retry, 2);
        assert_eq!(
            x.delay_before_retry_us, 9_000_000,
            "set inside a host block: the checker's"
        );
    }
    assert_eq!(c[1].conn.as_ref().unwrap().bind_addr, Some(ip("192.0.2.2")));
}

#[test]
fn udp_check_payloads() {
    let cfg = clean(&vs(" real_server 192.0.2.21 80 {\n  UDP_CHECK {\n  }\n  UDP_CHECK {\n   \
         payload 0a0b 0c\n   require_reply 0aXX0c\n   min_reply_length 3\n   max_reply_length 512\n  }\n }"));
    let c = checkers(&cfg);
    let CheckerKind::Udp(a) = &c[0].kind else {
        panic!()
    };
    assert_eq!(a.payload, b"keepalived check - keepalived ch".to_vec());
    assert!(!a.payload_configured && !a.require_reply);
    assert_eq!((a.min_reply_length, a.max_reply_length), (0, 255));
    let CheckerKind::Udp(b) = &c[1].kind else {
        panic!()
    };
    assert_eq!(b.payload, vec![0x0a, 0x0b, 0x0c]);
    assert!(b.require_reply);
    let reply = b.reply.as_ref().unwrap();
    assert_eq!(
        (reply.data.clone(), reply.mask.clone()),
        (vec![0x0a, 0, 0x0c], vec![0, 0xff, 0])
    );
    assert!(reply.matches(&[0x0a, 0x55, 0x0c, 0x99]));
    assert!(!reply.matches(&[0x0a, 0x55, 0x0d]));
    assert_eq!((b.min_reply_length, b.max_reply_length), (3, 512));
}

/// A bfd_instance and a track_file for the BFD_CHECK and FILE_CHECK tests.
const BFD_AND_FILE: &str = "bfd_instance B1 {\n neighbor_ip 192.0.2.21\n}\n\
    track_file TF {\n file /run/keepalived-rs-test-tf\n weight 3 reverse\n}\n";

#[test]
fn misc_file_bfd_checkers() {
    let cfg = clean(&(BFD_AND_FILE.to_string()
        + &vs(" real_server 192.0.2.21 80 {\n  MISC_CHECK {\n   \
         misc_path \"/usr/local/bin/check.sh arg1\" \n   misc_timeout 7\n   misc_dynamic\n   user root\n  }\n  \
         MISC_CHECK {\n   misc_path /usr/local/bin/check.sh \"two words\" plain\n  }\n  \
         FILE_CHECK {\n   track_file TF\n   weight -5 reverse\n  }\n  \
         BFD_CHECK {\n   name B1\n   alpha\n  }\n  FILE_CHECK {\n   track_file TF\n  }\n }")));
    let c = checkers(&cfg);
    let CheckerKind::Misc(m) = &c[0].kind else {
        panic!()
    };
    assert_eq!(m.script.command, "/usr/local/bin/check.sh arg1");
    assert_eq!(m.script.user.as_deref(), Some("root"));
    assert_eq!((m.timeout_us, m.dynamic), (7_000_000, true));
    let CheckerKind::Misc(m2) = &c[1].kind else {
        panic!()
    };
    assert_eq!(
        m2.script.command,
        "/usr/local/bin/check.sh \"two words\" plain"
    );
    let CheckerKind::File(f) = &c[2].kind else {
        panic!()
    };
    assert_eq!(
        (f.track_file.as_str(), f.weight, f.reverse),
        ("TF", Some(-5), true)
    );
    assert!(c[2].conn.is_none() && !c[2].alpha);
    let CheckerKind::Bfd(b) = &c[3].kind else {
        panic!()
    };
    assert_eq!(b.name, "B1");
    assert!(c[3].alpha);
    let CheckerKind::File(f2) = &c[4].kind else {
        panic!()
    };
    assert_eq!(
        (f2.weight, f2.reverse),
        (Some(3), true),
        "the track_file's weight"
    );
    // scripts() lists what the script-security pass must check.
    let cfg2 = clean(&vs(" quorum_up /usr/bin/up\n real_server 192.0.2.21 80 {\n  \
         notify_up /usr/bin/rsup\n  notify_down /usr/bin/rsdown\n  MISC_CHECK {\n   misc_path /usr/bin/chk\n  }\n }"));
    let s: Vec<&str> = cfg2
        .lvs
        .scripts()
        .iter()
        .map(|s| s.command.as_str())
        .collect();
    assert_eq!(
        s,
        vec![
            "/usr/bin/up",
            "/usr/bin/rsup",
            "/usr/bin/rsdown",
            "/usr/bin/chk"
        ]
    );
}

#[test]
fn misc_user_must_exist() {
    let (cfg, _d, r) = build(&vs(" real_server 192.0.2.21 80 {\n  MISC_CHECK {\n   \
         misc_path /usr/bin/true\n   user nosuchuser\n  }\n }"));
    assert!(
        r.contains(
            "error: Failed to set uid/gid for misc checker script '/usr/bin/true' - removing"
        ),
        "{r}"
    );
    assert!(checkers(&cfg).is_empty());
}

#[test]
fn ssl_block() {
    let cfg = clean(
        "SSL {\n password pw\n ca /etc/ca.pem\n certificate /etc/c.pem\n key /etc/k.pem\n}\n",
    );
    let ssl = cfg.lvs.ssl.unwrap();
    assert_eq!(ssl.password.as_deref(), Some("pw"));
    assert_eq!(ssl.ca.as_deref(), Some("/etc/ca.pem"));
    assert_eq!(ssl.certificate.as_deref(), Some("/etc/c.pem"));
    assert_eq!(ssl.key.as_deref(), Some("/etc/k.pem"));
}

#[test]
fn ipv6_service_and_link_local_checks() {
    let cfg = clean(
        "virtual_server 2001:db8::10 443 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
         real_server 2001:db8::21 443 {\n  TCP_CHECK {\n   connect_ip fe80::21\n   bind_if eth0\n  }\n }\n}\n",
    );
    let v = only_vs(&cfg);
    assert_eq!(v.family, Some(IpFamily::Inet6));
    assert_eq!(v.display_name(), "[2001:db8::10]:tcp:443");
    let co = v.real_servers[0].checkers[0].conn.as_ref().unwrap();
    assert_eq!(co.dst_addr, ip("fe80::21"));
    assert_eq!(co.bind_if.as_deref(), Some("eth0"));
}

#[test]
fn bad_items_are_dropped_not_fatal() {
    // Garbage everywhere: never a panic, every item in error dropped or defaulted.
    let (cfg, diags, _r) = build(
        "virtual_server\nvirtual_server fwmark\nvirtual_server group\nvirtual_server_group\n\
         virtual_server_group E {\n}\nvirtual_server 192.0.2.1 80 {\n real_server\n real_server 192.0.2.2 80 {\n  \
         weight\n  TCP_CHECK {\n   connect_port\n   connect_ip\n   retry\n  }\n  HTTP_GET {\n   url {\n    digest\n    path\n   }\n  }\n  \
         UDP_CHECK {\n   payload\n   min_reply_length\n  }\n  BFD_CHECK {\n   name a b\n   alpha\n  }\n  \
         FILE_CHECK {\n   weight\n  }\n  DNS_CHECK {\n   name\n   type\n  }\n }\n lvs_method TUN type\n lb_algo\n}\n",
    );
    assert!(diags.has_errors());
    let v = only_vs(&cfg);
    assert_eq!(v.real_servers.len(), 1);
    assert_eq!(
        v.real_servers[0].checkers.len(),
        3,
        "{:#?}",
        v.real_servers[0].checkers
    );
}

/// keepalived's own sample configurations with virtual servers load with the same
/// IPVS-side verdict as keepalived 2.2.7's `-t` (recorded with tests/fixtures/lvs/parity.sh):
/// only keepalived.conf.fwmark has an IPVS-side message, its protocol warning. Messages from
/// the other sections (global_defs, VRRP) are not this test's business.
#[test]
fn keepalived_samples_ipvs_side() {
    const DIR: &str = "/usr/share/doc/keepalived/samples";
    let samples = [
        "HTTP_GET.port",
        "IPv6",
        "PING_CHECK",
        "SMTP_CHECK",
        "SSL_GET",
        "UDP_CHECK",
        "fwmark",
        "inhibit",
        "misc_check",
        "misc_check_arg",
        "quorum",
        "sample",
        "status_code",
        "virtual_server_group",
        "virtualhost",
        "vrrp.lvs_syncd",
    ];
    for s in samples {
        let path = format!("{DIR}/keepalived.conf.{s}");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e} (install keepalived for its samples)"));
        let mut diags = Diagnostics::new();
        let tree = parse_str(&text, &path, &LoadOptions::default(), &mut diags);
        let cfg = semantic::build(
            &tree,
            &PermissiveHost,
            &SemanticOptions::default(),
            &mut diags,
        );
        // The line ranges of the IPVS root blocks.
        let ranges: Vec<(u32, u32)> = tree
            .nodes
            .iter()
            .filter(|n| ["virtual_server", "virtual_server_group", "SSL"].contains(&n.keyword()))
            .map(|n| {
                let end = n
                    .block
                    .as_ref()
                    .and_then(|b| b.close)
                    .map_or(u32::MAX, |c| c.line);
                (n.span().line, end)
            })
            .collect();
        let ours: Vec<String> = diags
            .items
            .iter()
            .filter(|d| d.severity != Severity::Note)
            .filter(|d| !d.message.starts_with("SECURITY VIOLATION"))
            .filter(|d| {
                d.span.is_some_and(|sp| {
                    sp.file.0 == 0 && ranges.iter().any(|(a, b)| (*a..=*b).contains(&sp.line))
                })
            })
            .map(|d| d.message.clone())
            .collect();
        let expected: Vec<&str> = if s == "fwmark" {
            vec!["Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored"]
        } else {
            vec![]
        };
        assert_eq!(ours, expected, "{s}");
        assert!(
            !cfg.lvs.virtual_servers.is_empty(),
            "{s}: no virtual server understood"
        );
    }
}

#[test]
fn bfd_and_file_references_must_exist() {
    let (cfg, _d, r) = build(
        &(BFD_AND_FILE.to_string()
            + &vs(
                " real_server 192.0.2.21 80 {\n  BFD_CHECK {\n   name B2\n  }\n  \
         FILE_CHECK {\n   track_file NOPE\n  }\n  BFD_CHECK {\n   name B1\n  }\n }",
            )),
    );
    assert!(
        r.contains("error: ([192.0.2.21]:tcp:80) BFD_CHECK - BFD B2 not configured"),
        "{r}"
    );
    assert!(r.contains("error: track_file NOPE not found"), "{r}");
    assert!(
        r.contains("error: FILE_CHECK has no track_file specified - ignoring"),
        "{r}"
    );
    let c = checkers(&cfg);
    assert_eq!(c.len(), 1);
    assert!(matches!(&c[0].kind, CheckerKind::Bfd(b) if b.name == "B1"));
}

#[test]
fn misc_checkers_can_be_disabled_by_the_script_pass() {
    let mut cfg = clean(&vs(" real_server 192.0.2.21 80 {\n  MISC_CHECK {\n   \
         misc_path /nonexistent/check\n  }\n  MISC_CHECK {\n   misc_path /usr/bin/true\n  }\n  \
         TCP_CHECK {\n  }\n }"));
    cfg.lvs
        .retain_misc_checkers(|s| !s.command.starts_with("/nonexistent"));
    let kinds: Vec<&str> = checkers(&cfg).iter().map(|c| c.kind.keyword()).collect();
    assert_eq!(kinds, vec!["MISC_CHECK", "TCP_CHECK"]);
}
