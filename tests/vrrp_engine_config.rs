//! `RouterConfig::from_model` on real keepalived.conf text, and keepalived's log wording
//! (the 2.2.7 logs in reference/examples) produced by the engine.

mod vrrp_engine_support;

use std::cell::RefCell;
use std::net::IpAddr;

use keepalived_rs::config::diag::{Diagnostics, Severity};
use keepalived_rs::config::model::Config;
use keepalived_rs::config::semantic::{self, PermissiveHost, SemanticOptions};
use keepalived_rs::config::{parse_str, LoadOptions};
use keepalived_rs::track::{Target, TrackRef};
use keepalived_rs::vrrp::{Auth, Input, NotifyState, RouterConfig, State};
use keepalived_rs::wire::vrrp::{Family, Version};
use scheduler::Instant;
use vrrp_engine_support::*;

// ------------------------------------------------------------------ log capture

thread_local! {
    static LINES: RefCell<Vec<(log::Level, String)>> = const { RefCell::new(Vec::new()) };
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target() == "vrrp"
    }
    fn log(&self, r: &log::Record<'_>) {
        if r.target() == "vrrp" {
            LINES.with(|l| l.borrow_mut().push((r.level(), r.args().to_string())));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

fn capture() {
    let _ = log::set_logger(&CAPTURE);
    log::set_max_level(log::LevelFilter::Trace);
    LINES.with(|l| l.borrow_mut().clear());
}

/// Captured lines at `level` or more important (info: keepalived without -D; debug: -D).
fn lines(level: log::Level) -> Vec<String> {
    LINES.with(|l| {
        l.borrow()
            .iter()
            .filter(|(lv, _)| *lv <= level)
            .map(|(_, s)| s.clone())
            .collect()
    })
}

// ------------------------------------------------------------------ config

fn model(text: &str) -> Config {
    let mut diags = Diagnostics::new();
    let tree = parse_str(text, "keepalived.conf", &LoadOptions::default(), &mut diags);
    let cfg = semantic::build(
        &tree,
        &PermissiveHost,
        &SemanticOptions::default(),
        &mut diags,
    );
    // keepalived only logs the script-security line; it does not stop the load.
    let errors: Vec<_> = diags
        .items
        .iter()
        .filter(|d| d.severity == Severity::Error && !d.message.contains("SECURITY VIOLATION"))
        .collect();
    assert!(errors.is_empty(), "{}", diags.render(&tree.sources));
    cfg
}

/// reference/examples/sync-group.conf
const SYNC_GROUP_CONF: &str = r#"
global_defs {
  router_id node1
  vrrp_notify_fifo /run/keepalived/vrrp.fifo
}
vrrp_script chk {
  script "/bin/true"
  interval 1
  weight -20
}
vrrp_sync_group G1 {
  group {
    VI_1
  }
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  track_script {
    chk
  }
  virtual_ipaddress {
    192.0.2.100/24
  }
}
"#;

#[test]
fn sync_group_example_converts_and_runs_like_keepalived() {
    let cfg = RouterConfig::from_model(&model(SYNC_GROUP_CONF), &interfaces(1)).unwrap();
    let i = &cfg.instances[0];
    assert_eq!((i.name.as_str(), i.vrid, i.priority), ("VI_1", 51, 150));
    assert_eq!((i.family, i.version), (Family::Ipv4, Version::V2));
    assert_eq!(i.adver_int_us, 1_000_000);
    assert!(!i.initial_master);
    assert_eq!(i.vips.len(), 1);
    assert_eq!(i.vips[0].addr, ip("192.0.2.100"));
    assert_eq!(i.vips[0].prefix_len, 24);
    assert_eq!(i.vips[0].dev, "eth0");
    // keepalived: "(VI_1) ignoring tracked script chk with weights due to SYNC group".
    assert_eq!(
        i.tracks,
        vec![TrackRef {
            target: Target::Interface("eth0".into()),
            weight: 0,
            reverse: false
        }]
    );
    assert_eq!(i.sync_group, Some(0));
    assert_eq!(cfg.sync_groups[0].name, "G1");
    assert_eq!(cfg.sync_groups[0].members, vec![0]);
    assert_eq!(cfg.scripts[0].name, "chk");
    assert_eq!(i.mcast_dst, ip("224.0.0.18"));
    assert_eq!(i.garp.master_delay_us, 5_000_000);
    assert_eq!(i.garp.master_repeat, 5);
    assert_eq!(i.garp.lower_prio_repeat, 5);

    // Run it: keepalived.data says "Master down timer = 3414062 usecs", and the log
    // (without -D) is the three lines of log-sync-group.txt.
    capture();
    let mut net = Net::new(Instant::from_secs(100));
    net.add(1, cfg);
    net.run_for_s(5);
    let inst = net.nodes[0].router.instance_by_name("VI_1").unwrap();
    assert_eq!(inst.master_down_timer_us(), 3_414_062);
    assert_eq!(inst.effective_priority(), 150);
    assert_eq!(inst.state(), State::Master);
    assert_eq!(inst.stats().become_master, 1);
    assert_eq!(
        lines(log::Level::Info),
        vec![
            "(VI_1) Entering BACKUP STATE (init)",
            "(VI_1) Entering MASTER STATE",
            "VRRP_Group(G1) Syncing instances to MASTER state",
        ]
    );
}

#[test]
fn takeover_and_yield_log_like_keepalived_with_detail() {
    // log-backup-takeover-detail.txt: a backup (priority 100, 192.0.2.2) takes over when
    // its master freezes, then yields to the master (150, 192.0.2.1) when it comes back.
    let conf = |prio: u8| {
        format!(
            "vrrp_instance VI_1 {{\n state BACKUP\n interface eth0\n virtual_router_id 51\n \
             priority {prio}\n advert_int 1\n virtual_ipaddress {{\n 192.0.2.100/24\n }}\n}}\n"
        )
    };
    let master = RouterConfig::from_model(&model(&conf(150)), &interfaces(1)).unwrap();
    let backup = RouterConfig::from_model(&model(&conf(100)), &interfaces(2)).unwrap();
    let mut net = Net::new(Instant::from_secs(100));
    net.add(1, master.clone());
    net.run_for_s(5);
    net.crash(0);
    capture();
    net.add(2, backup);
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![1]);
    net.restart(0, master);
    net.run_for_s(10);
    assert_eq!(net.masters("VI_1"), vec![0]);
    let ours: Vec<String> = lines(log::Level::Debug)
        .into_iter()
        .filter(|l| !l.contains("Received advert from") && !l.contains("discarding"))
        .collect();
    // The restarted master's own lines come first in its start-up; keep the backup's
    // sequence by dropping the master's init lines.
    let expected_backup = vec![
        "(VI_1) removing VIPs.",
        "(VI_1) Entering BACKUP STATE (init)",
        "(VI_1) Receive advertisement timeout",
        "(VI_1) Entering MASTER STATE",
        "(VI_1) setting VIPs.",
        "(VI_1) Sending/queueing gratuitous ARPs on eth0 for 192.0.2.100",
        "Sending gratuitous ARP on eth0 for 192.0.2.100",
        "Sending gratuitous ARP on eth0 for 192.0.2.100",
        "Sending gratuitous ARP on eth0 for 192.0.2.100",
        "Sending gratuitous ARP on eth0 for 192.0.2.100",
        "Sending gratuitous ARP on eth0 for 192.0.2.100",
    ];
    assert_eq!(&ours[..expected_backup.len()], expected_backup.as_slice());
    let tail = vec![
        "(VI_1) Master received advert from 192.0.2.1 with higher priority 150, ours 100",
        "(VI_1) Entering BACKUP STATE",
        "(VI_1) removing VIPs.",
    ];
    let at = ours
        .iter()
        .position(|l| l.starts_with("(VI_1) Master received advert"))
        .unwrap();
    assert_eq!(&ours[at..at + 3], tail.as_slice());
    // The returning master logged its preemption at debug level only.
    assert!(lines(log::Level::Debug)
        .iter()
        .any(|l| l == "(VI_1) received lower priority (100) advert from 192.0.2.2 - discarding"));
    assert!(!lines(log::Level::Info)
        .iter()
        .any(|l| l.contains("discarding")));
}

#[test]
fn backup_priority_zero_log() {
    let mut net = Net::new(Instant::from_secs(100));
    net.add(
        1,
        router_config(1, vec![inst("VI_1", 5, Family::Ipv4, 200, "192.0.2.100")]),
    );
    net.add(
        2,
        router_config(2, vec![inst("VI_1", 5, Family::Ipv4, 100, "192.0.2.100")]),
    );
    net.run_for_s(5);
    capture();
    net.input(0, Input::Shutdown);
    net.run_for_s(1);
    let l = lines(log::Level::Info);
    assert_eq!(
        l,
        vec![
            "(VI_1) Backup received priority 0 advertisement",
            "(VI_1) Entering MASTER STATE"
        ]
    );
    assert_eq!(
        net.nodes[1].notify_times("VI_1", NotifyState::Master).len(),
        1
    );
}

const FULL_CONF: &str = r#"
global_defs {
  vrrp_garp_interval 0.05
  vrrp_gna_interval 0.02
  vrrp_check_unicast_src
}
track_file tf {
  file /run/tf
  weight 3
}
vrrp_track_process tp {
  process sshd
  quorum 2
  delay 1.5
  weight 10
}
vrrp_script chk {
  script "/bin/true"
  rise 2
  fall 3
  weight 15
}
vrrp_instance V4 {
  state MASTER
  interface eth0
  virtual_router_id 10
  priority 200
  advert_int 2
  nopreempt
  authentication {
    auth_type PASS
    auth_pass secret99
  }
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.2 min_ttl 250
  }
  track_interface {
    eth1 weight -30
  }
  track_script {
    chk
  }
  track_file {
    tf
  }
  track_process {
    tp
  }
  garp_master_delay 2
  garp_master_repeat 3
  virtual_ipaddress {
    192.0.2.100/24 dev eth0 label eth0:vip
    192.0.2.101
  }
  virtual_ipaddress_excluded {
    2001:db8::1/64
  }
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 10
  priority 100
  advert_int 0.05
  preempt_delay 3
  dont_track_primary
  virtual_ipaddress {
    fe80::10/64
    2001:db8::10/128
  }
}
vrrp_instance AH {
  interface eth1
  virtual_router_id 20
  authentication {
    auth_type AH
    auth_pass k
  }
  virtual_ipaddress {
    198.51.100.100
  }
}
"#;

#[test]
fn from_model_resolves_everything() {
    let cfg = RouterConfig::from_model(&model(FULL_CONF), &interfaces(1)).unwrap();
    assert_eq!(cfg.garp_interval_us, 50_000);
    assert_eq!(cfg.gna_interval_us, 20_000);
    let v4 = &cfg.instances[0];
    assert!(v4.initial_master);
    assert_eq!(v4.adver_int_us, 2_000_000);
    assert!(v4.nopreempt || v4.initial_master); // keepalived clears nopreempt for MASTER
    assert_eq!(v4.auth, Auth::Pass(*b"secret99"));
    assert_eq!(v4.src_addr, Some(ip("192.0.2.1")));
    assert_eq!(v4.unicast_peers.len(), 1);
    assert_eq!(v4.unicast_peers[0].min_ttl, Some(250));
    assert!(v4.check_unicast_src);
    assert_eq!(v4.garp.master_delay_us, 2_000_000);
    assert_eq!(v4.garp.master_repeat, 3);
    assert_eq!(v4.vips[0].label.as_deref(), Some("eth0:vip"));
    assert_eq!(v4.vips[1].prefix_len, 32);
    assert_eq!(v4.evips[0].addr, ip("2001:db8::1"));
    let kinds: Vec<(String, i32)> = v4
        .tracks
        .iter()
        .map(|t| {
            let k = match &t.target {
                Target::Interface(n) => format!("if:{n}"),
                Target::Script(s) => format!("script:{}", cfg.scripts[s.0 as usize].name),
                Target::File(f) => format!("file:{}", cfg.files[f.0 as usize].name),
                Target::Process(p) => format!("proc:{}", cfg.processes[p.0 as usize].name),
                Target::Bfd(b) => format!("bfd:{}", cfg.bfds[b.0 as usize]),
            };
            (k, t.weight)
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("if:eth0".to_string(), 0),
            ("if:eth1".to_string(), -30),
            ("script:chk".to_string(), 15),
            ("file:tf".to_string(), 3),
            ("proc:tp".to_string(), 10),
        ]
    );
    assert_eq!((cfg.scripts[0].rise, cfg.scripts[0].fall), (2, 3));
    assert_eq!(cfg.processes[0].quorum, 2);
    assert_eq!(cfg.processes[0].fork_delay_us, 1_500_000);

    let v6 = &cfg.instances[1];
    assert_eq!((v6.family, v6.version), (Family::Ipv6, Version::V3));
    assert_eq!(v6.adver_int_us, 50_000);
    assert_eq!(v6.preempt_delay_us, 3_000_000);
    assert!(v6.tracks.is_empty());
    assert_eq!(v6.mcast_dst, ip("ff02::12"));
    // A /128 IPv6 VIP is deprecated (preferred_lft 0) unless "forever".
    assert_eq!(v6.vips[1].preferred_lft_secs, Some(0));
    assert_eq!(v6.vips[0].preferred_lft_secs, None);

    let ah = &cfg.instances[2];
    assert!(matches!(ah.auth, Auth::Ah(_)));
    assert_eq!(ah.priority, 100);
    assert_eq!(ah.vips[0].dev, "eth1");

    // And it runs: V4 and V6 share VRID 10 on eth0 in different families.
    let mut net = Net::new(Instant::from_secs(100));
    net.add(1, cfg);
    net.run_for_s(10);
    let r = &net.nodes[0].router;
    assert_eq!(r.instance_by_name("V6").unwrap().state(), State::Master);
    assert_eq!(r.instance_by_name("AH").unwrap().state(), State::Master);
    // V4 waits for its process count? No: weighted trackers never hold an instance.
    assert_eq!(r.instance_by_name("V4").unwrap().state(), State::Master);
    let srcs: Vec<IpAddr> = net.sent_by(0).iter().map(|s| s.src).collect();
    assert!(srcs.contains(&ip("fe80::1")));
}

#[test]
fn from_model_rejects_vrid_clash() {
    let text = r#"
vrrp_instance A {
  interface eth0
  virtual_router_id 7
  virtual_ipaddress {
    192.0.2.100
  }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 8
  virtual_ipaddress {
    192.0.2.101
  }
}
"#;
    let mut m = model(text);
    assert!(RouterConfig::from_model(&m, &interfaces(1)).is_ok());
    // The semantic pass refuses this already; the engine does not rely on it.
    m.vrrp.instances[1].vrid = 7;
    let err = RouterConfig::from_model(&m, &interfaces(1)).unwrap_err();
    assert!(err.contains("VRID 7"), "{err}");
    // A sync group naming a missing instance.
    let mut m = model(text);
    m.vrrp.instances[1].name = "C".into();
    m.vrrp
        .sync_groups
        .push(keepalived_rs::config::model::vrrp::SyncGroup {
            name: "G".into(),
            span: Default::default(),
            members: vec!["B".into()],
            track_interfaces: vec![],
            track_scripts: vec![],
            track_files: vec![],
            track_processes: vec![],
            track_bfds: vec![],
            notify: Default::default(),
            smtp_alert: false,
            smtp_alert_configured: None,
            tracking_weight: false,
            notify_priority_changes: None,
        });
    assert!(RouterConfig::from_model(&m, &interfaces(1)).is_err());
}

#[test]
fn receive_errors_are_logged_with_keepalived_wording_and_rate_limited() {
    use keepalived_rs::vrrp::{Outbox, Router};
    use keepalived_rs::wire::vrrp::{emit_ipv4_datagram, AdverInt, AdvertRepr, AuthType};
    use keepalived_rs::wire::vrrp::{ChecksumKind, Ipv4Envelope};
    let t0 = Instant::from_secs(100);
    let mut out = Outbox::new();
    let cfg = router_config(1, vec![inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100")]);
    let mut r = Router::new(cfg, t0, &mut out);
    let addrs = [ip("192.0.2.100")];
    let repr = AdvertRepr {
        version: Version::V2,
        vrid: 51,
        priority: 150,
        adver_int: AdverInt::Seconds(1),
        auth_type: AuthType::None,
        auth_data: [0; 8],
        addresses: &addrs,
    };
    let env = Ipv4Envelope {
        src: "192.0.2.9".parse().unwrap(),
        dst: "224.0.0.18".parse().unwrap(),
        ttl: 254,
        identification: 1,
    };
    let mut buf = vec![0u8; 64];
    let n = emit_ipv4_datagram(&mut buf, &env, &repr, ChecksumKind::V2Style, None).unwrap();
    buf.truncate(n);
    capture();
    for k in 0..50u64 {
        let input = Input::Packet {
            ifindex: ETH0,
            src: ip("192.0.2.9"),
            dst: ip("224.0.0.18"),
            ttl: 254,
            payload: buf.clone(),
        };
        r.handle(t0.saturating_add_micros(k * 10_000), input, &mut out);
    }
    let l = lines(log::Level::Info);
    assert_eq!(l.len(), 10);
    assert_eq!(l[0], "(VI_1) invalid TTL/HL. Received 254 and expect 255");
    assert_eq!(r.instances()[0].stats().ip_ttl_err, 50);
    // A new second, a new budget.
    let input = Input::Packet {
        ifindex: ETH0,
        src: ip("192.0.2.9"),
        dst: ip("224.0.0.18"),
        ttl: 254,
        payload: buf,
    };
    r.handle(t0.saturating_add_micros(1_500_000), input, &mut out);
    assert_eq!(lines(log::Level::Info).len(), 11);
}
