//! keepalived's SIGUSR1 / SIGUSR2 / STATS_CLEAR / JSON dumps (issue 3): our formatters
//! against files written by the distribution's keepalived 2.2.7 (tests/fixtures/dump,
//! produced by reference/examples and by `gen-two-node.sh` there), line by line. Only
//! values that must differ between two runs are masked: wall-clock stamps, socket fds,
//! and (where noted) state keepalived-rs does not keep.
//!
//! The daemon-like state is built without root: the configuration goes through the real
//! parser and semantic pass, a [`VrrpService`] runs on a fake [`Env`] with the interfaces
//! of the reference run, and virtual time drives it to the reference's states. Two nodes
//! exchange their adverts for the two-node fixtures. One root test checks the real
//! daemon's files end to end.

mod common;

use keepalived_rs::config::diag::{Diagnostics, Severity};
use keepalived_rs::config::model::vrrp::RouteSpec;
use keepalived_rs::config::model::vrrp::RuleSpec;
use keepalived_rs::config::model::Config;
use keepalived_rs::config::semantic::{self, Host, ScriptFile, SemanticOptions};
use keepalived_rs::config::{parse_str, LoadOptions};
use keepalived_rs::daemon::dump::{self, DumpCtx, IfaceDetail, SysInfo, Tz};
use keepalived_rs::daemon::env::Env;
use keepalived_rs::daemon::notify::{HookEvent, ScriptRun};
use keepalived_rs::daemon::vrrp::VrrpService;
use keepalived_rs::vrrp::params::VipSpec;
use keepalived_rs::vrrp::{Input, InterfaceInfo, ScriptId, State};
use keepalived_rs::wire::vrrp::Family;
use scheduler::Instant;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

// ------------------------------------------------------------------ fixtures

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dump")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The host of the reference runs: no `keepalived_script` user, scripts resolved to their
/// real paths (merged /usr: /bin/true is /usr/bin/true).
struct RefHost;

impl Host for RefHost {
    fn interface_exists(&self, _: &str) -> bool {
        true
    }
    fn user(&self, name: &str) -> Option<(u32, u32)> {
        (name == "root").then_some((0, 0))
    }
    fn group(&self, name: &str) -> Option<u32> {
        (name == "root").then_some(0)
    }
    fn script_file(&self, path: &str) -> Option<ScriptFile> {
        // keepalived's reference host has merged /usr.
        let p = match path {
            "/bin/true" => PathBuf::from("/usr/bin/true"),
            "/bin/false" => PathBuf::from("/usr/bin/false"),
            p => PathBuf::from(p),
        };
        Some(ScriptFile {
            path: p,
            executable: true,
            writable_by_non_root: false,
        })
    }
}

fn model(text: &str) -> Config {
    let mut diags = Diagnostics::new();
    let tree = parse_str(text, "keepalived.conf", &LoadOptions::default(), &mut diags);
    let cfg = semantic::build(&tree, &RefHost, &SemanticOptions::default(), &mut diags);
    let errors: Vec<_> = diags
        .items
        .iter()
        .filter(|d| d.severity == Severity::Error && !d.message.contains("SECURITY VIOLATION"))
        .collect();
    assert!(errors.is_empty(), "{}", diags.render(&tree.sources));
    cfg
}

// ------------------------------------------------------------------ fake environment

/// An advert on the wire of the virtual link.
#[derive(Clone, Debug)]
struct Wire {
    from: usize,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    payload: Vec<u8>,
}

/// Records adverts and script runs; everything else succeeds silently.
#[derive(Default)]
struct FakeEnv {
    node: usize,
    sent: Vec<Wire>,
    scripts: Vec<ScriptId>,
}

impl Env for FakeEnv {
    fn send_advert(
        &mut self,
        _ifindex: u32,
        _family: Family,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        packet: &[u8],
    ) {
        self.sent.push(Wire {
            from: self.node,
            src,
            dst,
            ttl,
            payload: packet.to_vec(),
        });
    }
    fn add_address(&mut self, _: u32, _: &VipSpec) {}
    fn del_address(&mut self, _: u32, _: &VipSpec, _: bool) {}
    fn add_route(&mut self, _: &RouteSpec) {}
    fn del_route(&mut self, _: &RouteSpec) {}
    fn add_rule(&mut self, _: &RuleSpec) {}
    fn del_rule(&mut self, _: &RuleSpec) {}
    fn send_garp(&mut self, _: u32, _: Ipv4Addr) {}
    fn send_na(&mut self, _: u32, _: Ipv6Addr) {}
    fn notify(&mut self, _: &HookEvent, _: &[ScriptRun], _: &str) {}
    fn run_track_script(&mut self, script: ScriptId, _: &ScriptRun, _: u64) {
        self.scripts.push(script);
    }
}

// ------------------------------------------------------------------ interfaces

fn mac(s: &str) -> [u8; 6] {
    let v: Vec<u8> = s
        .split(':')
        .map(|x| u8::from_str_radix(x, 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

/// An interface as both the engine and the dump see it.
struct If {
    index: u32,
    name: &'static str,
    v4: Option<Ipv4Addr>,
    ll6: Option<Ipv6Addr>,
    mac: Option<&'static str>,
}

impl If {
    fn info(&self) -> InterfaceInfo {
        InterfaceInfo {
            ifindex: self.index,
            name: self.name.into(),
            up: true,
            running: true,
            mac: self.mac.map(mac).unwrap_or_default(),
            ipv4: self.v4,
            ipv6_link_local: self.ll6,
            addresses: self
                .v4
                .map(IpAddr::V4)
                .into_iter()
                .chain(self.ll6.map(IpAddr::V6))
                .collect(),
        }
    }

    fn detail(&self) -> IfaceDetail {
        let lo = self.name == "lo";
        IfaceDetail {
            ifindex: self.index,
            name: self.name.into(),
            // lo: UP LOOPBACK RUNNING; veth: UP BROADCAST RUNNING MULTICAST.
            flags: if lo {
                0x1 | 0x8 | 0x40
            } else {
                0x1 | 0x2 | 0x40 | 0x1000
            },
            mtu: if lo { 65536 } else { 1500 },
            hw_type: if lo { 772 } else { 1 },
            mac: self.mac.map(|m| mac(m).to_vec()).unwrap_or_default(),
            broadcast: self.mac.map(|_| vec![0xff; 6]).unwrap_or_default(),
            ipv4: self.v4.into_iter().collect(),
            ipv6_link_local: self.ll6.into_iter().collect(),
            ..IfaceDetail::default()
        }
    }
}

fn lo() -> If {
    If {
        index: 1,
        name: "lo",
        v4: Some(Ipv4Addr::LOCALHOST),
        ll6: None,
        mac: None,
    }
}

// ------------------------------------------------------------------ a node

struct Node {
    svc: VrrpService,
    env: FakeEnv,
    ifs: Vec<If>,
    /// Script outcomes by name (`/bin/true` succeeds, `/bin/false` fails).
    script_ok: BTreeMap<u32, bool>,
    addrs: Vec<IpAddr>,
}

impl Node {
    fn new(n: usize, conf: &str, ifs: Vec<If>, now: Instant) -> Node {
        let m = model(conf);
        let infos: Vec<InterfaceInfo> = ifs.iter().map(If::info).collect();
        let mut env = FakeEnv {
            node: n,
            ..FakeEnv::default()
        };
        let svc = VrrpService::new(&m, &infos, now, &mut env).expect("service");
        let script_ok = m
            .vrrp
            .vrrp_scripts
            .iter()
            .enumerate()
            .map(|(i, s)| (i as u32, !s.script.argv[0].ends_with("false")))
            .collect();
        let addrs = infos.iter().flat_map(|i| i.addresses.clone()).collect();
        Node {
            svc,
            env,
            ifs,
            script_ok,
            addrs,
        }
    }

    /// Script results come back at once.
    fn settle(&mut self, now: Instant) {
        while let Some(id) = self.env.scripts.pop() {
            let ok = self.script_ok[&id.0];
            self.svc
                .handle(now, Input::ScriptResult { script: id, ok }, &mut self.env);
        }
    }

    fn sys(&self, offset: i64) -> SysInfo {
        SysInfo {
            pid: 4242,
            wall_offset_us: offset,
            local_name: Some("vm".into()),
            user_name: "root".into(),
            umask: 0o177,
            tz: Tz::utc(),
            interfaces: self.ifs.iter().map(If::detail).collect(),
            sockets: [((2, 4, 112), 14), ((2, 6, 112), 17)].into_iter().collect(),
        }
    }

    fn data(&self, sys: &SysInfo) -> String {
        let c = DumpCtx {
            model: self.svc.model(),
            host: &RefHost,
            sys,
        };
        dump::format_data(&c, Some(self.svc.router()))
    }

    fn parent(&self, sys: &SysInfo) -> String {
        let c = DumpCtx {
            model: self.svc.model(),
            host: &RefHost,
            sys,
        };
        dump::format_parent_data(&c)
    }

    fn json(&self, sys: &SysInfo) -> String {
        let c = DumpCtx {
            model: self.svc.model(),
            host: &RefHost,
            sys,
        };
        dump::format_json(&c, self.svc.router()).expect("instances")
    }
}

/// Runs the nodes on one virtual link until `end`: timers, then the adverts they sent
/// (delivered at once to every other node, unicast ones only to their addressee).
fn run(nodes: &mut [Node], now: &mut Instant, end: Instant) {
    for n in nodes.iter_mut() {
        n.settle(*now);
    }
    loop {
        // Deliver what was sent.
        let wires: Vec<Wire> = nodes
            .iter_mut()
            .flat_map(|n| n.env.sent.drain(..))
            .collect();
        if !wires.is_empty() {
            for w in wires {
                for n in nodes.iter_mut() {
                    if n.env.node == w.from {
                        continue;
                    }
                    let multicast = match w.dst {
                        IpAddr::V4(a) => a.is_multicast(),
                        IpAddr::V6(a) => a.is_multicast(),
                    };
                    if !multicast && !n.addrs.contains(&w.dst) {
                        continue;
                    }
                    let input = Input::Packet {
                        ifindex: 2,
                        src: w.src,
                        dst: w.dst,
                        ttl: w.ttl,
                        payload: w.payload.clone(),
                    };
                    n.svc.handle(*now, input, &mut n.env);
                    n.settle(*now);
                }
            }
            continue;
        }
        let next = nodes.iter().filter_map(|n| n.svc.poll_timeout()).min();
        match next {
            Some(t) if t <= end => {
                *now = t.max(*now);
                for n in nodes.iter_mut() {
                    if n.svc.poll_timeout().is_some_and(|x| x <= *now) {
                        n.svc.handle_timeout(*now, &mut n.env);
                        n.settle(*now);
                    }
                }
            }
            _ => {
                *now = end;
                return;
            }
        }
    }
}

// ------------------------------------------------------------------ comparison

/// Masks what must differ between two runs: wall-clock stamps and socket fds.
fn mask(line: &str) -> String {
    for key in [
        "   Last transition = ",
        "   Read timeout = ",
        " GARP next time ",
        " GNA next time ",
        "   Not IPv6 forwarding. Last checked ",
    ] {
        if let Some(rest) = line.strip_prefix(key) {
            if rest != "DISABLED" {
                return format!("{key}<time>");
            }
        }
    }
    if line.starts_with("   fd_in ") {
        return "   fd_in <fd>, fd_out <fd>".into();
    }
    if line.starts_with(" fd_in ") {
        return " fd_in <fd> fd_out = <fd>".into();
    }
    line.to_string()
}

/// Replaces the values of a numeric JSON field by `<n>`.
fn mask_field(s: &str, field: &str) -> String {
    let key = format!("\"{field}\":");
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(&key) {
        let (a, b) = rest.split_at(i + key.len());
        out.push_str(a);
        out.push_str("<n>");
        let end = b.find([',', '}']).unwrap_or(b.len());
        rest = &b[end..];
    }
    out.push_str(rest);
    out
}

fn mask_json(s: &str) -> String {
    mask_field(s, "last_transition")
}

/// Line-by-line comparison, reporting every differing line.
fn same(what: &str, ours: &str, theirs: &str, masker: impl Fn(&str) -> String) {
    let a: Vec<String> = ours.lines().map(&masker).collect();
    let b: Vec<String> = theirs.lines().map(&masker).collect();
    let mut diffs = Vec::new();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i), b.get(i));
        if x != y {
            diffs.push(format!(
                "line {}:\n  ours:       {:?}\n  keepalived: {:?}",
                i + 1,
                x,
                y
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{what}: {} differing line(s)\n{}\n--- ours ---\n{ours}",
        diffs.len(),
        diffs[..diffs.len().min(15)].join("\n")
    );
    assert_eq!(
        ours.ends_with('\n'),
        theirs.ends_with('\n'),
        "{what}: final newline"
    );
}

// ------------------------------------------------------------------ sync-group.conf

fn sync_group_node() -> (Node, Instant) {
    let mut now = Instant::from_secs(1000);
    let eth0 = If {
        index: 2,
        name: "eth0",
        v4: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ll6: Some("fe80::4cd0:f3ff:fe6c:d1b0".parse().unwrap()),
        mac: Some("4e:d0:f3:6c:d1:b0"),
    };
    let node = Node::new(0, &fixture("sync-group.conf"), vec![lo(), eth0], now);
    let mut nodes = vec![node];
    // Alone on the link: MASTER after the down timer, then three adverts in all.
    let start = now;
    run(&mut nodes, &mut now, start.saturating_add_micros(3_414_062));
    let node = nodes.pop().unwrap();
    assert_eq!(node.svc.router().instances()[0].state(), State::Master);
    let mut nodes = vec![node];
    run(
        &mut nodes,
        &mut now,
        start.saturating_add_micros(3_414_062 + 2_000_000),
    );
    (nodes.pop().unwrap(), now)
}

#[test]
fn sync_group_data_matches_keepalived() {
    let (node, _) = sync_group_node();
    let sys = node.sys(1_795_466_143_955_051 - 1_003_414_062);
    same(
        "keepalived.data",
        &node.data(&sys),
        &fixture("sync-group.data"),
        mask,
    );
}

#[test]
fn sync_group_parent_data_matches_keepalived_exactly() {
    let (node, _) = sync_group_node();
    let sys = node.sys(0);
    assert_eq!(node.parent(&sys), fixture("sync-group_parent.data"));
}

#[test]
fn sync_group_stats_match_keepalived_exactly() {
    let (node, _) = sync_group_node();
    assert_eq!(
        dump::format_stats(node.svc.router()),
        fixture("sync-group.stats")
    );
}

#[test]
fn sync_group_json_matches_keepalived() {
    let (node, _) = sync_group_node();
    // The transition happened at the reference's stamp: then even the time matches.
    let sys = node.sys(1_795_466_143_955_051 - 1_003_414_062);
    assert_eq!(node.json(&sys), fixture("sync-group.json"));
}

#[test]
fn last_transition_is_monotonic_plus_offset() {
    let (node, _) = sync_group_node();
    let sys = node.sys(1_795_466_143_955_051 - 1_003_414_062);
    let data = node.data(&sys);
    assert!(
        data.contains("   Last transition = 1795466143.955051 (Mon Nov 23 20:35:43.955051 2026)\n"),
        "{data}"
    );
    assert!(
        data.contains("   Read timeout = 1795466145.955051 (Mon Nov 23 20:35:45.955051 2026)\n")
            || data.contains(
                "   Read timeout = 1795466146.955051 (Mon Nov 23 20:35:46.955051 2026)\n"
            ),
        "{data}"
    );
}

// ------------------------------------------------------------------ STATS_CLEAR

#[test]
fn stats_clear_writes_then_zeroes() {
    let (mut node, _) = sync_group_node();
    let before = dump::format_stats(node.svc.router());
    assert!(before.contains("    Sent: 3\n"), "{before}");
    node.svc.clear_stats();
    let after = dump::format_stats(node.svc.router());
    let zero = fixture("sync-group.stats")
        .replace("    Sent: 3\n", "    Sent: 0\n")
        .replace("  Became master: 1\n", "  Became master: 0\n");
    assert_eq!(after, zero);
}

// ------------------------------------------------------------------ two nodes (gen-two-node.sh)

fn veth(index: u32, name: &'static str, v4: Option<[u8; 4]>, ll6: &str, m: &'static str) -> If {
    If {
        index,
        name,
        v4: v4.map(Ipv4Addr::from),
        ll6: Some(ll6.parse().unwrap()),
        mac: Some(m),
    }
}

/// Nodes A (priority 100) and B (200) of the two-node fixtures, 8 s after start (when
/// the reference dumps were taken): A is BACKUP everywhere, B MASTER.
fn two_nodes() -> Vec<Node> {
    let mut now = Instant::from_secs(1000);
    let a_ifs = vec![
        lo(),
        veth(
            2,
            "eth0",
            Some([192, 0, 2, 1]),
            "fe80::b88d:c8ff:fe43:bdcd",
            "ba:8d:c8:43:bd:cd",
        ),
        veth(
            3,
            "vx2",
            None,
            "fe80::6c60:72ff:feec:ed89",
            "6e:60:72:ec:ed:89",
        ),
        veth(
            4,
            "vx1",
            None,
            "fe80::48a8:98ff:feb4:3383",
            "4a:a8:98:b4:33:83",
        ),
    ];
    let b_ifs = vec![
        lo(),
        veth(
            2,
            "eth0",
            Some([192, 0, 2, 2]),
            "fe80::a0ed:72ff:fee6:549e",
            "a2:ed:72:e6:54:9e",
        ),
        veth(
            3,
            "vx2",
            None,
            "fe80::3005:91ff:fe2f:46ba",
            "32:05:91:2f:46:ba",
        ),
        veth(
            4,
            "vx1",
            None,
            "fe80::4858:81ff:fece:96ab",
            "4a:58:81:ce:96:ab",
        ),
    ];
    let file = |n: &mut Node, now: Instant| {
        let input = Input::FileValue {
            file: keepalived_rs::vrrp::FileId(0),
            value: 7,
        };
        n.svc.handle(now, input, &mut n.env);
    };
    // B wins every election in the reference run (its timers ran out first): start it
    // ahead of A.
    let mut b = Node::new(1, &fixture("two-node-b.conf"), b_ifs, now);
    file(&mut b, now);
    let mut nodes = vec![b];
    let b_alone = now.saturating_add_micros(4_000_000);
    run(&mut nodes, &mut now, b_alone);
    let mut a = Node::new(0, &fixture("two-node-a.conf"), a_ifs, now);
    file(&mut a, now);
    nodes.insert(0, a);
    let end = now.saturating_add_micros(8_000_000);
    run(&mut nodes, &mut now, end);
    nodes
}

/// Advert counters depend on the exact timing of the run.
fn mask_counts(line: &str) -> String {
    match line.split_once(": ") {
        Some((k, _)) if k == "    Received" || k == "    Sent" => format!("{k}: <n>"),
        _ => line.to_string(),
    }
}

#[test]
fn two_node_backup_data_matches_keepalived() {
    let nodes = two_nodes();
    let a = &nodes[0];
    let sys = a.sys(0);
    same(
        "node A keepalived.data",
        &a.data(&sys),
        &fixture("two-node-a.data"),
        mask,
    );
}

#[test]
fn two_node_parent_data_matches_keepalived_exactly() {
    let nodes = two_nodes();
    let a = &nodes[0];
    assert_eq!(a.parent(&a.sys(0)), fixture("two-node-a_parent.data"));
}

#[test]
fn two_node_master_data_matches_keepalived() {
    let nodes = two_nodes();
    let b = &nodes[1];
    let sys = b.sys(0);
    same(
        "node B keepalived.data",
        &b.data(&sys),
        &fixture("two-node-b.data"),
        mask,
    );
}

#[test]
fn two_node_json_matches_keepalived() {
    let nodes = two_nodes();
    for (n, f) in [(0, "two-node-a.json"), (1, "two-node-b.json")] {
        let node = &nodes[n];
        let ours = mask_json(&node.json(&node.sys(0)));
        let theirs = mask_json(&fixture(f));
        // Advert counters depend on the run's timing.
        let strip = |s: &str| mask_field(&mask_field(s, "advert_rcvd"), "advert_sent");
        assert_eq!(strip(&ours), strip(&theirs), "{f}");
    }
}

#[test]
fn two_node_stats_match_keepalived() {
    let nodes = two_nodes();
    same(
        "node A keepalived.stats",
        &dump::format_stats(nodes[0].svc.router()),
        &fixture("two-node-a.stats"),
        mask_counts,
    );
}

// ------------------------------------------------------------------ end to end (root)

const E2E_CONF: &str = r#"global_defs {
  router_id e2e
}
vrrp_script chk {
  script "/bin/true"
  interval 1
  weight 10
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
vrrp_instance VI_6 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 1
  virtual_ipaddress {
    fd00::100/64
  }
}
"#;

/// What differs between two runs on two hosts: stamps, fds, MACs, link-local addresses,
/// advert counts.
fn mask_run(line: &str) -> String {
    let l = mask(line);
    if l.starts_with("   MAC = ")
        || l.starts_with("   IPv6 address = fe80:")
        || l.starts_with("   Using src_ip = fe80:")
    {
        return l.split(" = ").next().unwrap_or("").to_string() + " = <run>";
    }
    mask_counts(&l)
}

/// keepalived-rs and keepalived 2.2.7 run the same configuration alone on identical
/// links; SIGUSR1, SIGUSR2, the JSON signal and STATS_CLEAR sent to each main process give
/// the same files (keepalived_parent.data, keepalived.data, keepalived.stats,
/// keepalived.json in $TMPDIR, mode 0600) up to what differs between two runs.
#[test]
fn e2e_dumps_match_keepalived_run_side_by_side() {
    side_by_side("dp", E2E_CONF, "Entering MASTER STATE", 2, true);
}

const E2E_FAULT_CONF: &str = r#"global_defs {
  router_id e2e-fault
  notification_email {
    ops@example.com
  }
  notification_email_from ka@example.com
  smtp_server 192.0.2.250
  vrrp_garp_interval 0.01
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
  notify_master "/bin/true group"
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 61
  priority 100
  track_interface {
    vx1
  }
  virtual_ipaddress {
    192.0.2.110/24
  }
  notify "/bin/true"
}
vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id 62
  priority 100
  nopreempt
  unicast_peer {
    192.0.2.9
  }
  virtual_ipaddress {
    192.0.2.111
  }
  virtual_routes {
    198.18.1.0/24 dev eth0
  }
}
"#;

/// The same with instances in FAULT (a tracked link down, the other held by its sync
/// group), a unicast instance, a virtual route, e-mail settings and GARP pacing.
#[test]
fn e2e_fault_dumps_match_keepalived_run_side_by_side() {
    side_by_side("df", E2E_FAULT_CONF, "entering FAULT state", 1, false);
}

fn side_by_side(tag: &str, conf: &str, wait_line: &str, wait_n: usize, check_clear: bool) {
    use common::lan::{wait_until, Daemon, Lan, TestDir};
    use nix::sys::signal::Signal;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;
    if !common::e2e_ready(&format!("dump_format side_by_side {tag}"), true) {
        return;
    }
    let (lan_ours, lan_ka) = (
        Lan::new(&format!("{tag}o"), 1),
        Lan::new(&format!("{tag}k"), 1),
    );
    for lan in [&lan_ours, &lan_ka] {
        // A link that stays down, for track_interface.
        lan.host(1)
            .ip(&["link", "add", "vx1", "type", "veth", "peer", "name", "vx2"]);
    }
    let dir = TestDir::new(&format!("dump-{tag}"));
    let ours = Daemon::ours(lan_ours.host(1), &dir, "ours", conf);
    let ka = Daemon::keepalived(lan_ka.host(1), &dir, "ka", conf);
    let ds = [&ours, &ka];
    let logs = || {
        ds.iter()
            .map(|d| format!("--- {}\n{}", d.name, d.tail(40)))
            .collect::<String>()
    };
    for d in ds {
        wait_until(
            &format!("{} to log '{wait_line}' x{wait_n}", d.name),
            Duration::from_secs(15),
            || d.count(wait_line) >= wait_n,
            logs,
        );
    }
    // Let both settle (the sync group follows, GARP bursts end).
    std::thread::sleep(Duration::from_millis(1500));
    // nix has no realtime signals: kill(1) sends them.
    let rt = |d: &Daemon, sig: i32| {
        let ok = std::process::Command::new("kill")
            .args([format!("-{sig}"), d.main_pid().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{sig} {}", d.name);
    };
    let sigjson = libc::SIGRTMIN() + 2;
    let read = |d: &Daemon, f: &str| std::fs::read_to_string(d.tmp.join(f)).unwrap_or_default();
    for d in ds {
        d.signal_main(Signal::SIGUSR1);
        d.signal_main(Signal::SIGUSR2);
        rt(d, sigjson);
    }
    for d in ds {
        wait_until(
            &format!("{} dumps", d.name),
            Duration::from_secs(10),
            || {
                read(d, "keepalived_parent.data").ends_with("umask = 0177\n")
                    && read(d, "keepalived.data").contains("------< Interfaces >------")
                    && read(d, "keepalived.stats").ends_with("    Sent: 0\n")
                    && read(d, "keepalived.json").ends_with("]\n")
            },
            logs,
        );
        // Give the writer time to finish the last file completely.
        std::thread::sleep(Duration::from_millis(300));
        for f in [
            "keepalived_parent.data",
            "keepalived.data",
            "keepalived.stats",
            "keepalived.json",
        ] {
            let mode = std::fs::metadata(d.tmp.join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{} {f}", d.name);
        }
    }
    assert_eq!(
        read(&ours, "keepalived_parent.data"),
        read(&ka, "keepalived_parent.data"),
        "keepalived_parent.data"
    );
    same(
        "keepalived.data (run)",
        &read(&ours, "keepalived.data"),
        &read(&ka, "keepalived.data"),
        mask_run,
    );
    same(
        "keepalived.stats (run)",
        &read(&ours, "keepalived.stats"),
        &read(&ka, "keepalived.stats"),
        mask_counts,
    );
    let j = |d: &Daemon| {
        mask_field(
            &mask_field(&mask_json(&read(d, "keepalived.json")), "advert_rcvd"),
            "advert_sent",
        )
    };
    assert_eq!(j(&ours), j(&ka), "keepalived.json (run)");

    if !check_clear {
        return;
    }
    // STATS_CLEAR: the counters are written, then zeroed.
    let clear = libc::SIGRTMAX() - 1;
    for d in ds {
        let _ = std::fs::remove_file(d.tmp.join("keepalived.stats"));
        rt(d, clear);
        wait_until(
            &format!("{} STATS_CLEAR", d.name),
            Duration::from_secs(10),
            || read(d, "keepalived.stats").contains("VRRP Instance: VI_6"),
            logs,
        );
        std::thread::sleep(Duration::from_millis(300));
        let before = read(d, "keepalived.stats");
        assert!(
            before.contains("  Became master: 1\n"),
            "{}: {before}",
            d.name
        );
        let _ = std::fs::remove_file(d.tmp.join("keepalived.stats"));
        d.signal_main(Signal::SIGUSR2);
        wait_until(
            &format!("{} stats after clear", d.name),
            Duration::from_secs(10),
            || read(d, "keepalived.stats").contains("VRRP Instance: VI_6"),
            logs,
        );
        std::thread::sleep(Duration::from_millis(300));
        let after = read(d, "keepalived.stats");
        assert!(
            after.contains("  Became master: 0\n"),
            "{}: {after}",
            d.name
        );
    }
    assert!(
        ours.count("Printing and clearing VRRP stats for process(") >= 1,
        "{}",
        logs()
    );
}

/// The same with a VMAC (`use_vmac`): its own interface entry, `dev vrrp.51@eth0`, the
/// base interface's ARP settings and tracking.
#[test]
fn e2e_vmac_dumps_match_keepalived_run_side_by_side() {
    side_by_side(
        "dv",
        "global_defs {\n  router_id v\n}\nvrrp_instance VI_1 {\n  state MASTER\n  \
         interface eth0\n  use_vmac\n  virtual_router_id 51\n  priority 150\n  \
         virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n",
        "Entering MASTER STATE",
        1,
        false,
    );
}
