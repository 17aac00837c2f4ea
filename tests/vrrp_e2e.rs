//! VRRP end to end on the real kernel, ours against ours: hosts in network namespaces on a
//! bridge (tests/common/lan.rs), each running keepalived-rs in the foreground. Every test
//! states what it proves; the observable is the kernel's address table (who holds the
//! VIPs), the daemons' logs (keepalived's wording), their dumps, notify outputs, and, where
//! the wire matters, a tcpdump capture. Deadlines are generous (a loaded 2-core machine);
//! precise timings are the benchmark's business. Run as root (tests/run-all.sh).

// Polling waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::lan::{has_addr, holds_for, wait_until, Capture, Daemon, FifoReader, Lan, TestDir};
use common::{e2e_ready, Netns};
use nix::sys::signal::Signal;
use std::time::Duration;

/// Generous upper bound for a takeover or a preemption (advert_int <= 1 s).
const TAKEOVER: Duration = Duration::from_secs(10);
/// Upper bound for a daemon's first election at start.
const SETTLE: Duration = Duration::from_secs(15);

/// One `vrrp_instance` block.
#[derive(Clone)]
struct Inst {
    name: String,
    vrid: u8,
    priority: u8,
    version: u8,
    advert_int: String,
    vips: Vec<String>,
    extra: Vec<String>,
}

impl Inst {
    /// VRRPv3 on eth0, state BACKUP, advert_int 0.2 s.
    fn new(name: &str, vrid: u8, priority: u8, vips: &[&str]) -> Inst {
        Inst {
            name: name.into(),
            vrid,
            priority,
            version: 3,
            advert_int: "0.2".into(),
            vips: vips.iter().map(|s| s.to_string()).collect(),
            extra: Vec::new(),
        }
    }

    fn v2(mut self) -> Inst {
        self.version = 2;
        self.advert_int = "1".into();
        self
    }

    fn advert(mut self, s: &str) -> Inst {
        self.advert_int = s.into();
        self
    }

    fn with(mut self, line: &str) -> Inst {
        self.extra.push(line.into());
        self
    }

    fn text(&self) -> String {
        let mut s = format!(
            "vrrp_instance {} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    \
             priority {}\n    version {}\n    advert_int {}\n",
            self.name, self.vrid, self.priority, self.version, self.advert_int
        );
        for l in &self.extra {
            s += &format!("    {l}\n");
        }
        s += "    virtual_ipaddress {\n";
        for v in &self.vips {
            s += &format!("        {v}\n");
        }
        s += "    }\n}\n";
        s
    }
}

/// A configuration: global_defs (router_id plus `globals`) then the blocks.
fn conf(router_id: &str, globals: &[&str], blocks: &[String]) -> String {
    let mut s = format!("global_defs {{\n    router_id {router_id}\n");
    for g in globals {
        s += &format!("    {g}\n");
    }
    s += "}\n";
    for b in blocks {
        s += b;
    }
    s
}

fn logs(ds: &[&Daemon]) -> String {
    ds.iter().map(|d| d.tail(60)).collect()
}

/// Waits until `holder` (and only it among `all`) has `vip` on eth0.
fn wait_holder(what: &str, vip: &str, holder: &Netns, all: &[&Netns], ds: &[&Daemon]) {
    wait_until(
        what,
        TAKEOVER.max(SETTLE),
        || {
            all.iter()
                .all(|n| has_addr(n, "eth0", vip) == (n.name == holder.name))
        },
        || format!("{}\n{}", addr_table(all), logs(ds)),
    );
}

fn addr_table(all: &[&Netns]) -> String {
    all.iter()
        .map(|n| format!("{}: {:?}\n", n.name, common::lan::addrs(n, "eth0")))
        .collect()
}

const VIP: &str = "192.0.2.100";

/// Election: of two routers, the higher priority becomes MASTER and alone holds the VIPs;
/// the lower one logs BACKUP and never MASTER. The SIGUSR1/SIGUSR2 dumps land in the
/// daemon's $TMPDIR with keepalived's file names and say the same.
#[test]
fn election_higher_priority_wins_and_dumps_say_so() {
    if !e2e_ready("election_higher_priority_wins_and_dumps_say_so", false) {
        return;
    }
    let lan = Lan::new("el", 2);
    let dir = TestDir::new("el");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let a = Daemon::ours(
        h1,
        &dir,
        "a",
        &conf(
            "a",
            &[],
            &[Inst::new("VI_1", 51, 150, &["192.0.2.100/24", "192.0.2.101/24"]).text()],
        ),
    );
    let b = Daemon::ours(
        h2,
        &dir,
        "b",
        &conf(
            "b",
            &[],
            &[Inst::new("VI_1", 51, 100, &["192.0.2.100/24", "192.0.2.101/24"]).text()],
        ),
    );
    let ds = [&a, &b];
    wait_holder("A to hold the VIP", VIP, h1, &[h1, h2], &ds);
    assert!(
        has_addr(h1, "eth0", "192.0.2.101"),
        "second VIP\n{}",
        logs(&ds)
    );
    wait_until(
        "B to log BACKUP",
        SETTLE,
        || b.count("(VI_1) Entering BACKUP STATE") >= 1,
        || logs(&ds),
    );
    assert_eq!(a.count("(VI_1) Entering MASTER STATE"), 1, "{}", logs(&ds));
    // Stable: B stays BACKUP for several master-down intervals.
    holds_for(
        "A alone holding the VIP",
        Duration::from_secs(2),
        || has_addr(h1, "eth0", VIP) && !has_addr(h2, "eth0", VIP),
        || logs(&ds),
    );
    assert_eq!(b.count("Entering MASTER STATE"), 0, "{}", logs(&ds));

    // Dumps.
    for d in ds {
        d.signal_vrrp(Signal::SIGUSR1);
        d.signal_vrrp(Signal::SIGUSR2);
    }
    let data =
        |d: &Daemon| std::fs::read_to_string(d.tmp.join("keepalived.data")).unwrap_or_default();
    let stats =
        |d: &Daemon| std::fs::read_to_string(d.tmp.join("keepalived.stats")).unwrap_or_default();
    for d in ds {
        wait_until(
            &format!("{} dumps", d.name),
            Duration::from_secs(5),
            || data(d).contains("VRRP Instance = VI_1") && stats(d).contains("VRRP Instance: VI_1"),
            || logs(&ds),
        );
    }
    assert!(data(&a).contains("State = MASTER"), "{}", data(&a));
    assert!(data(&b).contains("State = BACKUP"), "{}", data(&b));
    assert!(data(&a).contains("Priority = 150"), "{}", data(&a));
    assert!(data(&a).contains("192.0.2.100/24 dev eth0"), "{}", data(&a));
    let sent = stat_value(&stats(&a), "Advertisements", "Sent");
    let rcvd = stat_value(&stats(&b), "Advertisements", "Received");
    assert!(sent >= 5, "A sent {sent} adverts\n{}", stats(&a));
    assert!(rcvd >= 5, "B received {rcvd} adverts\n{}", stats(&b));
    assert_eq!(
        stat_value(&stats(&a), "Became master", ""),
        1,
        "{}",
        stats(&a)
    );
    assert_eq!(
        stat_value(&stats(&b), "Became master", ""),
        0,
        "{}",
        stats(&b)
    );
}

/// A counter from keepalived.stats: the line `field: N` after the line starting `section`
/// (or the `section: N` line itself when `field` is empty).
fn stat_value(text: &str, section: &str, field: &str) -> u64 {
    let mut lines = text.lines().map(str::trim);
    let parse = |l: &str| l.rsplit(':').next().unwrap().trim().parse::<u64>().ok();
    while let Some(l) = lines.next() {
        if l.starts_with(section) {
            if field.is_empty() {
                return parse(l).unwrap_or_else(|| panic!("no value in {l:?}"));
            }
            for l in lines.by_ref() {
                if l.starts_with(field) {
                    return parse(l).unwrap_or_else(|| panic!("no value in {l:?}"));
                }
            }
        }
    }
    panic!("no {section}/{field} in stats:\n{text}");
}

/// Two routers A (150) and B (100) on hosts 1 and 2, one VRRPv3 instance `VI_1` with
/// `vips`, each instance transformed by `tweak` (host number, instance).
fn pair(
    tag: &str,
    vips: &[&str],
    tweak: impl Fn(usize, Inst) -> Inst,
) -> (Lan, TestDir, Daemon, Daemon) {
    let lan = Lan::new(tag, 2);
    let dir = TestDir::new(tag);
    let a = Daemon::ours(
        lan.host(1),
        &dir,
        "a",
        &conf(
            "a",
            &[],
            &[tweak(1, Inst::new("VI_1", 51, 150, vips)).text()],
        ),
    );
    let b = Daemon::ours(
        lan.host(2),
        &dir,
        "b",
        &conf(
            "b",
            &[],
            &[tweak(2, Inst::new("VI_1", 51, 100, vips)).text()],
        ),
    );
    (lan, dir, a, b)
}

/// Waits until `ns` has `vip` (whoever else has it).
fn wait_has(what: &str, ns: &Netns, vip: &str, ds: &[&Daemon]) -> Duration {
    wait_until(what, TAKEOVER, || has_addr(ns, "eth0", vip), || logs(ds))
}

/// Takeover when the master is frozen (SIGSTOP: no adverts, its VIPs stay; the new master
/// sends gratuitous ARP), and the frozen master takes its role back when it resumes (its higher-priority adverts send the backup
/// back to BACKUP, which releases the VIPs).
#[test]
fn takeover_when_master_frozen_and_back_when_it_resumes() {
    if !e2e_ready(
        "takeover_when_master_frozen_and_back_when_it_resumes",
        false,
    ) {
        return;
    }
    let (lan, dir, a, b) = pair("frz", &["192.0.2.100/24"], |_, i| i);
    let (h1, h2) = (lan.host(1), lan.host(2));
    let ds = [&a, &b];
    wait_holder("A master", VIP, h1, &[h1, h2], &ds);
    let tcpdump = common::lan::tool_ready("takeover_when_master_frozen", "tcpdump");
    let mut cap = tcpdump.then(|| Capture::start(h1, &dir, "garp", "eth0", "arp"));
    a.freeze();
    wait_has("B to take over from frozen A", h2, VIP, &ds);
    // The new master announces the VIP with gratuitous ARP (seen on the frozen one's link).
    if let Some(cap) = cap.as_mut() {
        wait_until(
            "gratuitous ARP for the VIP from B",
            TAKEOVER,
            || {
                cap.text()
                    .contains("who-has 192.0.2.100 (ff:ff:ff:ff:ff:ff) tell 192.0.2.100")
            },
            || cap.text(),
        );
        cap.stop();
    }
    assert!(
        b.count("(VI_1) Entering MASTER STATE") == 1,
        "{}",
        logs(&ds)
    );
    a.thaw();
    wait_holder("A back as the only holder", VIP, h1, &[h1, h2], &ds);
    wait_until(
        "B back to BACKUP",
        TAKEOVER,
        || b.count("(VI_1) Entering BACKUP STATE") >= 2,
        || logs(&ds),
    );
    holds_for(
        "A alone holding the VIP after resuming",
        Duration::from_secs(1),
        || has_addr(h1, "eth0", VIP) && !has_addr(h2, "eth0", VIP),
        || logs(&ds),
    );
}

/// Takeover when the master is killed (SIGKILL: no priority-0 advert, no cleanup, so its
/// VIP stays on its interface), and preemption back when it is restarted: the restarted
/// higher-priority router starts as BACKUP, sees B's lower priority and takes over.
#[test]
fn takeover_when_master_killed_and_preemption_back_on_restart() {
    if !e2e_ready(
        "takeover_when_master_killed_and_preemption_back_on_restart",
        false,
    ) {
        return;
    }
    let (lan, _dir, mut a, b) = pair("kil", &["192.0.2.100/24"], |_, i| i);
    let (h1, h2) = (lan.host(1), lan.host(2));
    wait_holder("A master", VIP, h1, &[h1, h2], &[&a, &b]);
    a.kill();
    wait_has("B to take over from killed A", h2, VIP, &[&a, &b]);
    assert!(
        has_addr(h1, "eth0", VIP),
        "SIGKILL leaves the VIP behind (nothing cleans it)"
    );
    a.spawn();
    wait_holder(
        "A to preempt back after restart",
        VIP,
        h1,
        &[h1, h2],
        &[&a, &b],
    );
    assert_eq!(
        b.count("(VI_1) Entering MASTER STATE"),
        1,
        "{}",
        logs(&[&a, &b])
    );
    assert!(
        b.count("(VI_1) Entering BACKUP STATE") >= 2,
        "{}",
        logs(&[&a, &b])
    );
    // The restarted A went through BACKUP to MASTER.
    assert_eq!(
        a.count("(VI_1) Entering MASTER STATE"),
        2,
        "{}",
        logs(&[&a, &b])
    );
}

/// The master loses its link (`ip link set eth0 down` in its namespace): it goes FAULT and
/// drops the VIP, the backup takes over; when the link comes back the master returns
/// through BACKUP and preempts.
#[test]
fn takeover_when_master_loses_link() {
    if !e2e_ready("takeover_when_master_loses_link", false) {
        return;
    }
    let (lan, _dir, a, b) = pair("lnk", &["192.0.2.100/24", "192.0.2.101/24"], |_, i| i);
    let (h1, h2) = (lan.host(1), lan.host(2));
    let ds = [&a, &b];
    wait_holder("A master", VIP, h1, &[h1, h2], &ds);
    h1.ip(&["link", "set", "eth0", "down"]);
    wait_until(
        "A in FAULT",
        TAKEOVER,
        || a.count("(VI_1) Entering FAULT STATE") >= 1,
        || logs(&ds),
    );
    wait_has("B to take over", h2, VIP, &ds);
    wait_until(
        "A to drop its VIPs in FAULT",
        TAKEOVER,
        || !has_addr(h1, "eth0", VIP) && !has_addr(h1, "eth0", "192.0.2.101"),
        || logs(&ds),
    );
    h1.ip(&["link", "set", "eth0", "up"]);
    wait_holder("A back as master after link up", VIP, h1, &[h1, h2], &ds);
    assert!(has_addr(h1, "eth0", "192.0.2.101"), "{}", logs(&ds));
    assert!(!has_addr(h2, "eth0", "192.0.2.101"), "{}", logs(&ds));
    assert_eq!(a.count("(VI_1) Entering MASTER STATE"), 2, "{}", logs(&ds));
}

/// SIGTERM on the master: it sends priority 0 and removes its VIPs, exits 0; the backup
/// takes over after its skew time only (well before the 3.6 s master-down interval of
/// advert_int 1), and counts the priority-0 advert.
#[test]
fn sigterm_hands_over_with_priority_zero() {
    if !e2e_ready("sigterm_hands_over_with_priority_zero", false) {
        return;
    }
    let (lan, _dir, mut a, b) = pair("p0", &["192.0.2.100/24"], |_, i| i.advert("1"));
    let (h1, h2) = (lan.host(1), lan.host(2));
    wait_holder("A master", VIP, h1, &[h1, h2], &[&a, &b]);
    std::thread::sleep(Duration::from_millis(1500));
    let t = std::time::Instant::now();
    assert_eq!(a.stop(), Some(0), "{}", a.tail(40));
    assert!(!has_addr(h1, "eth0", VIP), "A removed its VIP on stop");
    wait_has("B to take over", h2, VIP, &[&a, &b]);
    let took = t.elapsed();
    // Master-down interval = 3 s + skew 0.61 s; a priority-0 advert cuts it to the skew.
    assert!(
        took < Duration::from_millis(2500),
        "takeover after SIGTERM took {took:?}: priority 0 not honoured?\n{}",
        logs(&[&a, &b])
    );
    assert!(
        b.count("(VI_1) Backup received priority 0 advertisement") >= 1,
        "{}",
        b.tail(40)
    );
    b.signal_vrrp(Signal::SIGUSR2);
    let stats = || std::fs::read_to_string(b.tmp.join("keepalived.stats")).unwrap_or_default();
    wait_until(
        "B stats",
        Duration::from_secs(5),
        || stats().contains("Priority Zero"),
        || b.tail(20),
    );
    assert!(
        stat_value(&stats(), "Priority Zero", "Received") >= 1,
        "{}",
        stats()
    );
}

/// nopreempt: a higher-priority router that starts while a lower one is MASTER stays
/// BACKUP (for many master-down intervals); it takes over only when the master goes away.
#[test]
fn nopreempt_higher_priority_stays_backup() {
    if !e2e_ready("nopreempt_higher_priority_stays_backup", false) {
        return;
    }
    let lan = Lan::new("nop", 2);
    let dir = TestDir::new("nop");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let mut b = Daemon::ours(
        h2,
        &dir,
        "b",
        &conf(
            "b",
            &[],
            &[Inst::new("VI_1", 51, 100, &["192.0.2.100/24"])
                .with("nopreempt")
                .text()],
        ),
    );
    wait_has("B master alone", h2, VIP, &[&b]);
    let a = Daemon::ours(
        h1,
        &dir,
        "a",
        &conf(
            "a",
            &[],
            &[Inst::new("VI_1", 51, 150, &["192.0.2.100/24"])
                .with("nopreempt")
                .text()],
        ),
    );
    wait_until(
        "A in BACKUP",
        SETTLE,
        || a.count("(VI_1) Entering BACKUP STATE") >= 1,
        || logs(&[&a, &b]),
    );
    // Master-down interval is about 0.7 s: 3 s is four of them.
    holds_for(
        "B master, A backup (nopreempt)",
        Duration::from_secs(3),
        || has_addr(h2, "eth0", VIP) && !has_addr(h1, "eth0", VIP),
        || logs(&[&a, &b]),
    );
    assert_eq!(a.count("Entering MASTER STATE"), 0, "{}", logs(&[&a, &b]));
    b.stop();
    wait_holder("A takes over once B is gone", VIP, h1, &[h1, h2], &[&a, &b]);
}

/// preempt_delay 3: a higher-priority router that starts while a lower one is MASTER waits
/// at least 3 s (from the first lower-priority advert it sees) before preempting, and then
/// does preempt.
#[test]
fn preempt_delay_postpones_preemption() {
    if !e2e_ready("preempt_delay_postpones_preemption", false) {
        return;
    }
    let lan = Lan::new("pdl", 2);
    let dir = TestDir::new("pdl");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let b = Daemon::ours(
        h2,
        &dir,
        "b",
        &conf(
            "b",
            &[],
            &[Inst::new("VI_1", 51, 100, &["192.0.2.100/24"]).text()],
        ),
    );
    wait_has("B master alone", h2, VIP, &[&b]);
    let t = std::time::Instant::now();
    let a = Daemon::ours(
        h1,
        &dir,
        "a",
        &conf(
            "a",
            &[],
            &[Inst::new("VI_1", 51, 150, &["192.0.2.100/24"])
                .with("preempt_delay 3")
                .text()],
        ),
    );
    wait_holder(
        "A to preempt after the delay",
        VIP,
        h1,
        &[h1, h2],
        &[&a, &b],
    );
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(3),
        "A preempted after {took:?}, before its 3 s preempt_delay\n{}",
        logs(&[&a, &b])
    );
    assert_eq!(
        a.count("(VI_1) Entering MASTER STATE"),
        1,
        "{}",
        logs(&[&a, &b])
    );
}

/// Unicast (unicast_src_ip, unicast_peer): election, takeover when the master is frozen and
/// back; a capture on the master's link shows its adverts go to the peer's address, never
/// to the VRRP multicast group.
#[test]
fn unicast_election_takeover_and_wire() {
    if !e2e_ready("unicast_election_takeover_and_wire", false)
        || !common::lan::tool_ready("unicast_election_takeover_and_wire", "tcpdump")
    {
        return;
    }
    let (lan, dir, a, b) = pair("uni", &["192.0.2.100/24"], |h, i| {
        let (me, peer) = if h == 1 { (1, 2) } else { (2, 1) };
        i.with(&format!("unicast_src_ip 192.0.2.{me}"))
            .with(&format!("unicast_peer {{\n        192.0.2.{peer}\n    }}"))
    });
    let (h1, h2) = (lan.host(1), lan.host(2));
    let ds = [&a, &b];
    let mut cap = Capture::start(h1, &dir, "uni", "eth0", "ip proto 112");
    wait_holder("A master", VIP, h1, &[h1, h2], &ds);
    std::thread::sleep(Duration::from_millis(600));
    let text = cap.stop();
    let adverts: Vec<&str> = text.lines().filter(|l| l.contains("vrid 51")).collect();
    let from_a: Vec<&&str> = adverts
        .iter()
        .filter(|l| l.contains("192.0.2.1 > "))
        .collect();
    assert!(from_a.len() >= 2, "adverts from A in capture:\n{text}");
    for l in &from_a {
        assert!(
            l.contains("192.0.2.1 > 192.0.2.2"),
            "A advert not unicast to B: {l}\n{text}"
        );
    }
    assert!(
        !text.contains("224.0.0.18"),
        "multicast advert seen:\n{text}"
    );
    a.freeze();
    wait_has("B takes over (unicast)", h2, VIP, &ds);
    a.thaw();
    wait_holder("A back", VIP, h1, &[h1, h2], &ds);
}

/// VRRPv2 with `authentication { auth_type PASS }`: A and B share the password and elect
/// normally (B takes over when A is frozen, v2 timers). Host C has the highest priority but
/// a wrong password: its adverts are refused (A never yields to it, its stats count
/// authentication failures).
#[test]
fn v2_auth_pass_elects_and_refuses_wrong_password() {
    if !e2e_ready("v2_auth_pass_elects_and_refuses_wrong_password", false) {
        return;
    }
    let lan = Lan::new("pas", 3);
    let dir = TestDir::new("pas");
    let (h1, h2, h3) = (lan.host(1), lan.host(2), lan.host(3));
    let inst = |prio: u8, pass: &str| {
        conf(
            "r",
            &[],
            &[Inst::new("VI_1", 51, prio, &["192.0.2.100/24"])
                .v2()
                .with(&format!(
                    "authentication {{\n        auth_type PASS\n        auth_pass {pass}\n    }}"
                ))
                .text()],
        )
    };
    let a = Daemon::ours(h1, &dir, "a", &inst(150, "secret1"));
    let b = Daemon::ours(h2, &dir, "b", &inst(100, "secret1"));
    let c = Daemon::ours(h3, &dir, "c", &inst(200, "wrong99"));
    let ds = [&a, &b, &c];
    wait_until(
        "A and C master (C cannot be heard), B backup",
        SETTLE,
        || has_addr(h1, "eth0", VIP) && has_addr(h3, "eth0", VIP) && !has_addr(h2, "eth0", VIP),
        || logs(&ds),
    );
    holds_for(
        "A master despite C's priority-200 adverts with a wrong password",
        Duration::from_secs(3),
        || has_addr(h1, "eth0", VIP) && !has_addr(h2, "eth0", VIP),
        || logs(&ds),
    );
    assert_eq!(a.count("(VI_1) Entering BACKUP STATE"), 1, "{}", logs(&ds));
    a.signal_vrrp(Signal::SIGUSR2);
    let stats = || std::fs::read_to_string(a.tmp.join("keepalived.stats")).unwrap_or_default();
    wait_until(
        "A stats",
        Duration::from_secs(5),
        || stats().contains("Authentication"),
        || a.tail(20),
    );
    assert!(
        stat_value(&stats(), "Authentication Errors", "Failure") >= 1,
        "{}",
        stats()
    );
    // B hears A's adverts (same password) and C's (refused).
    b.signal_vrrp(Signal::SIGUSR2);
    let bstats = || std::fs::read_to_string(b.tmp.join("keepalived.stats")).unwrap_or_default();
    wait_until(
        "B stats",
        Duration::from_secs(5),
        || bstats().contains("Authentication"),
        || b.tail(20),
    );
    assert!(
        stat_value(&bstats(), "Advertisements", "Received") >= 1,
        "{}",
        bstats()
    );
    assert!(
        stat_value(&bstats(), "Authentication Errors", "Failure") >= 1,
        "{}",
        bstats()
    );
    a.freeze();
    wait_has("B takes over from frozen A (v2, PASS)", h2, VIP, &ds);
    a.thaw();
    wait_until(
        "B back to BACKUP",
        TAKEOVER,
        || !has_addr(h2, "eth0", VIP) && has_addr(h1, "eth0", VIP),
        || logs(&ds),
    );
}

/// VRRPv3 over IPv6 with a link-local first VIP (fe80::100) and fd00:: VIPs: the master
/// holds all of them, the backup none; takeover when the master is frozen (announced with
/// unsolicited NAs) and back; takeover when the master's link goes down (which flushes its
/// IPv6 addresses) and back when it returns.
#[test]
fn v3_ipv6_election_takeover_and_back() {
    if !e2e_ready("v3_ipv6_election_takeover_and_back", false) {
        return;
    }
    let vips = ["fe80::100/64", "fd00::100/64", "fd00::101/64"];
    let (lan, dir, a, b) = pair("v6", &vips, |_, i| i);
    let (h1, h2) = (lan.host(1), lan.host(2));
    let ds = [&a, &b];
    wait_holder("A master (IPv6)", "fd00::100", h1, &[h1, h2], &ds);
    for v in ["fe80::100", "fd00::101"] {
        assert!(has_addr(h1, "eth0", v), "A lacks {v}\n{}", logs(&ds));
        assert!(!has_addr(h2, "eth0", v), "B has {v}\n{}", logs(&ds));
    }
    let tcpdump = common::lan::tool_ready("v3_ipv6_election_takeover_and_back", "tcpdump");
    let mut cap = tcpdump.then(|| Capture::start(h1, &dir, "na", "eth0", "icmp6"));
    a.freeze();
    wait_until(
        "B holds all IPv6 VIPs",
        TAKEOVER,
        || {
            ["fe80::100", "fd00::100", "fd00::101"]
                .iter()
                .all(|v| has_addr(h2, "eth0", v))
        },
        || logs(&ds),
    );
    // The new master announces its VIPs with unsolicited neighbour adverts.
    if let Some(cap) = cap.as_mut() {
        for v in ["fd00::100", "fe80::100"] {
            wait_until(
                &format!("unsolicited NA for {v} from B"),
                TAKEOVER,
                || {
                    cap.text().lines().any(|l| {
                        l.contains("neighbor advertisement") && l.contains(&format!("tgt is {v},"))
                    })
                },
                || cap.text(),
            );
        }
        cap.stop();
    }
    a.thaw();
    wait_until(
        "B releases the IPv6 VIPs",
        TAKEOVER,
        || {
            ["fe80::100", "fd00::100", "fd00::101"]
                .iter()
                .all(|v| !has_addr(h2, "eth0", v))
        },
        || logs(&ds),
    );
    assert!(has_addr(h1, "eth0", "fd00::100") && has_addr(h1, "eth0", "fe80::100"));
    // Link loss: the kernel flushes the interface's IPv6 addresses (link-local included);
    // when the link returns, A is master again with a fresh link-local source.
    h1.ip(&["link", "set", "eth0", "down"]);
    wait_until(
        "B holds the VIPs while A's link is down",
        TAKEOVER,
        || has_addr(h2, "eth0", "fd00::100") && !has_addr(h1, "eth0", "fd00::100"),
        || logs(&ds),
    );
    h1.ip(&["link", "set", "eth0", "up"]);
    wait_holder(
        "A master again after link up",
        "fd00::100",
        h1,
        &[h1, h2],
        &ds,
    );
    assert!(has_addr(h1, "eth0", "fe80::100"), "{}", logs(&ds));
}

/// A tracking script with a weight moves the priority: A (150) tracks a script that fails
/// while a flag file exists (weight -100, so 50 < B's 100): B preempts; the flag removed,
/// A is back to 150 and preempts. Script security on (script_user root,
/// enable_script_security, scripts in a root-owned 0755 directory).
#[test]
fn track_script_weight_moves_priority() {
    if !e2e_ready("track_script_weight_moves_priority", false) {
        return;
    }
    let lan = Lan::new("trk", 2);
    let dir = TestDir::new("trk");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let flag = dir.join("down");
    let script = dir.write(
        "check.sh",
        &format!("#!/bin/sh\n[ ! -e {} ]\n", flag.display()),
        true,
    );
    let text = format!(
        "global_defs {{\n    router_id a\n    script_user root\n    enable_script_security\n}}\n\
         vrrp_script chk {{\n    script \"{}\"\n    interval 1\n    weight -100\n    fall 1\n    rise 1\n}}\n{}",
        script.display(),
        Inst::new("VI_1", 51, 150, &["192.0.2.100/24"])
            .with("track_script {\n        chk\n    }")
            .text()
    );
    let a = Daemon::ours(h1, &dir, "a", &text);
    let b = Daemon::ours(
        h2,
        &dir,
        "b",
        &conf(
            "b",
            &[],
            &[Inst::new("VI_1", 51, 100, &["192.0.2.100/24"]).text()],
        ),
    );
    let ds = [&a, &b];
    wait_holder("A master (script OK)", VIP, h1, &[h1, h2], &ds);
    std::fs::write(&flag, "").unwrap();
    wait_holder(
        "B preempts when A's script fails (A at 50)",
        VIP,
        h2,
        &[h1, h2],
        &ds,
    );
    a.signal_vrrp(Signal::SIGUSR1);
    let data = || std::fs::read_to_string(a.tmp.join("keepalived.data")).unwrap_or_default();
    wait_until(
        "A data dump",
        Duration::from_secs(5),
        || data().contains("Effective priority"),
        || a.tail(20),
    );
    assert!(data().contains("Effective priority = 50"), "{}", data());
    std::fs::remove_file(&flag).unwrap();
    wait_holder(
        "A preempts back when its script succeeds",
        VIP,
        h1,
        &[h1, h2],
        &ds,
    );
    assert!(a.log_text().contains("chk"), "{}", a.tail(40));
}

/// Notify hooks: notify_master/backup/fault/stop scripts run with their configured
/// arguments, the generic `notify` script with `INSTANCE VI_1 STATE PRIORITY` appended, and
/// both notify_fifo and vrrp_notify_fifo get keepalived's lines (`INSTANCE "VI_1" MASTER
/// 150`) in order, through start (BACKUP, MASTER), link loss (FAULT), link back (BACKUP,
/// MASTER) and SIGTERM (STOP).
#[test]
fn notify_scripts_and_fifos() {
    if !e2e_ready("notify_scripts_and_fifos", false) {
        return;
    }
    let lan = Lan::new("ntf", 1);
    let dir = TestDir::new("ntf");
    let h1 = lan.host(1);
    let notes = dir.join("notes");
    let generic = dir.join("generic");
    let note = dir.write(
        "note.sh",
        &format!("#!/bin/sh\necho \"$@\" >> {}\n", notes.display()),
        true,
    );
    let gen = dir.write(
        "generic.sh",
        &format!("#!/bin/sh\necho \"$@\" >> {}\n", generic.display()),
        true,
    );
    let fifo = FifoReader::new(&dir.join("fifo"));
    let vfifo = FifoReader::new(&dir.join("vfifo"));
    let n = note.display();
    let inst = Inst::new("VI_1", 51, 150, &["192.0.2.100/24"])
        .with(&format!("notify_master \"{n} master arg2\""))
        .with(&format!("notify_backup \"{n} backup\""))
        .with(&format!("notify_fault \"{n} fault\""))
        .with(&format!("notify_stop \"{n} stop\""))
        .with(&format!("notify {}", gen.display()));
    let globals = [
        "script_user root".to_string(),
        "enable_script_security".to_string(),
        format!("notify_fifo {}", fifo.path.display()),
        format!("vrrp_notify_fifo {}", vfifo.path.display()),
    ];
    let globals: Vec<&str> = globals.iter().map(String::as_str).collect();
    let mut a = Daemon::ours(h1, &dir, "a", &conf("a", &globals, &[inst.text()]));
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    let step = |fifo: &FifoReader, n: usize, a: &Daemon| {
        wait_until(
            &format!("{n} FIFO lines"),
            TAKEOVER,
            || fifo.lines().len() >= n,
            || format!("{:?}\n{}", fifo.lines(), a.tail(40)),
        );
    };
    step(&fifo, 2, &a);
    h1.ip(&["link", "set", "eth0", "down"]);
    step(&fifo, 3, &a);
    h1.ip(&["link", "set", "eth0", "up"]);
    step(&fifo, 5, &a);
    assert_eq!(a.stop(), Some(0));
    step(&fifo, 6, &a);
    let want: Vec<String> = ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "STOP"]
        .iter()
        .map(|s| format!("INSTANCE \"VI_1\" {s} 150"))
        .collect();
    assert_eq!(fifo.lines(), want, "notify_fifo\n{}", a.tail(60));
    step(&vfifo, 6, &a);
    assert_eq!(vfifo.lines(), want, "vrrp_notify_fifo");
    // Scripts run asynchronously: wait for all, then compare (sorted: each is its own
    // process, so two close together may append in either order).
    wait_until(
        "notify scripts",
        Duration::from_secs(10),
        || read(&notes).lines().count() >= 6 && read(&generic).lines().count() >= 6,
        || {
            format!(
                "notes:\n{}\ngeneric:\n{}\n{}",
                read(&notes),
                read(&generic),
                a.tail(60)
            )
        },
    );
    let sorted = |t: String| {
        let mut v: Vec<String> = t.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(
        sorted(read(&notes)),
        [
            "backup",
            "backup",
            "fault",
            "master arg2",
            "master arg2",
            "stop"
        ],
        "specific notify scripts"
    );
    let mut want_generic: Vec<String> = ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "STOP"]
        .iter()
        .map(|s| format!("INSTANCE VI_1 {s} 150"))
        .collect();
    want_generic.sort();
    assert_eq!(
        sorted(read(&generic)),
        want_generic,
        "generic notify script"
    );
}

/// Sync group: VI_1 and VI_2 move together. On A, only VI_2 tracks a local interface;
/// when it goes down, VI_2 goes FAULT and the group takes VI_1 (whose own link is fine)
/// with it, so B becomes MASTER of both; when it comes back, A takes both back. The FIFO
/// gets the group lines.
#[test]
fn sync_group_instances_move_together() {
    if !e2e_ready("sync_group_instances_move_together", false) {
        return;
    }
    let lan = Lan::new("syn", 2);
    let dir = TestDir::new("syn");
    let (h1, h2) = (lan.host(1), lan.host(2));
    h1.add_veth("trk0", "trk1");
    let group =
        "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n}\n".to_string();
    let fifo = FifoReader::new(&dir.join("fifo"));
    let fifo_line = format!("notify_fifo {}", fifo.path.display());
    let a = Daemon::ours(
        h1,
        &dir,
        "a",
        &conf(
            "a",
            &[&fifo_line],
            &[
                group.clone(),
                Inst::new("VI_1", 51, 150, &["192.0.2.100/24"]).text(),
                Inst::new("VI_2", 52, 150, &["192.0.2.102/24"])
                    .with("track_interface {\n        trk0\n    }")
                    .text(),
            ],
        ),
    );
    let b = Daemon::ours(
        h2,
        &dir,
        "b",
        &conf(
            "b",
            &[],
            &[
                group,
                Inst::new("VI_1", 51, 100, &["192.0.2.100/24"]).text(),
                Inst::new("VI_2", 52, 100, &["192.0.2.102/24"]).text(),
            ],
        ),
    );
    let ds = [&a, &b];
    let both =
        |ns: &Netns| has_addr(ns, "eth0", "192.0.2.100") && has_addr(ns, "eth0", "192.0.2.102");
    let none =
        |ns: &Netns| !has_addr(ns, "eth0", "192.0.2.100") && !has_addr(ns, "eth0", "192.0.2.102");
    wait_until(
        "A master of both",
        SETTLE,
        || both(h1) && none(h2),
        || logs(&ds),
    );
    h1.ip(&["link", "set", "trk0", "down"]);
    wait_until(
        "B master of both after A's VI_2 tracked link went down",
        TAKEOVER,
        || both(h2) && none(h1),
        || logs(&ds),
    );
    assert!(
        a.count("(VI_1) Entering FAULT STATE") >= 1,
        "VI_1 followed its group\n{}",
        logs(&ds)
    );
    h1.ip(&["link", "set", "trk0", "up"]);
    wait_until(
        "A master of both again",
        TAKEOVER,
        || both(h1) && none(h2),
        || logs(&ds),
    );
    wait_until(
        "group lines",
        TAKEOVER,
        || {
            fifo.lines()
                .iter()
                .filter(|l| l.starts_with("GROUP"))
                .count()
                >= 5
        },
        || format!("{:?}", fifo.lines()),
    );
    let groups: Vec<String> = fifo
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("GROUP"))
        .collect();
    assert_eq!(
        groups,
        [
            "GROUP \"G1\" BACKUP 0",
            "GROUP \"G1\" MASTER 0",
            "GROUP \"G1\" FAULT 0",
            "GROUP \"G1\" BACKUP 0",
            "GROUP \"G1\" MASTER 0",
        ]
    );
}

/// Reload (SIGHUP) without a flap: a broken configuration is refused, an unchanged one
/// and a changed one are applied, and through all three the MASTER stays MASTER (no new
/// state line, no priority-0 advert), its adverts keep flowing (a capture shows no gap near the
/// master-down interval, and the peer never leaves BACKUP), and the changed VIP list is
/// applied (192.0.2.101 removed, 192.0.2.103 added, and the adverts carry the new list).
#[test]
fn reload_keeps_master_and_applies_vip_change() {
    if !e2e_ready("reload_keeps_master_and_applies_vip_change", false)
        || !common::lan::tool_ready("reload_keeps_master_and_applies_vip_change", "tcpdump")
    {
        return;
    }
    let before = ["192.0.2.100/24", "192.0.2.101/24"];
    let after = ["192.0.2.100/24", "192.0.2.103/24"];
    let (lan, dir, a, b) = pair("rld", &before, |_, i| i.advert("0.5"));
    let (h1, h2) = (lan.host(1), lan.host(2));
    let ds = [&a, &b];
    wait_holder("A master", VIP, h1, &[h1, h2], &ds);
    wait_until(
        "B backup",
        SETTLE,
        || b.count("(VI_1) Entering BACKUP STATE") >= 1,
        || logs(&ds),
    );
    let mut cap = Capture::start(h2, &dir, "rld", "eth0", "ip proto 112");
    std::thread::sleep(Duration::from_millis(1200));
    // A broken configuration is refused; the running one goes on.
    let good = std::fs::read_to_string(&a.conf).unwrap();
    std::fs::write(&a.conf, "vrrp_instance VI_1 {\n    bogus_keyword\n").unwrap();
    a.reload();
    wait_until(
        "A refuses the broken reload",
        TAKEOVER,
        || a.count("Reload aborted") >= 1,
        || logs(&ds),
    );
    std::fs::write(&a.conf, good).unwrap();
    // Same configuration first (nothing to change), then the new VIP list on both.
    a.reload();
    wait_until(
        "A reloaded",
        TAKEOVER,
        || a.count("Reload complete") >= 1,
        || logs(&ds),
    );
    std::fs::write(
        &a.conf,
        conf(
            "a",
            &[],
            &[Inst::new("VI_1", 51, 150, &after).advert("0.5").text()],
        ),
    )
    .unwrap();
    std::fs::write(
        &b.conf,
        conf(
            "b",
            &[],
            &[Inst::new("VI_1", 51, 100, &after).advert("0.5").text()],
        ),
    )
    .unwrap();
    a.reload();
    b.reload();
    wait_until(
        "A applies the new VIP list",
        TAKEOVER,
        || has_addr(h1, "eth0", "192.0.2.103") && !has_addr(h1, "eth0", "192.0.2.101"),
        || logs(&ds),
    );
    holds_for(
        "A master with the new list, B backup",
        Duration::from_secs(2),
        || {
            has_addr(h1, "eth0", VIP)
                && has_addr(h1, "eth0", "192.0.2.103")
                && !has_addr(h2, "eth0", VIP)
                && !has_addr(h2, "eth0", "192.0.2.103")
        },
        || logs(&ds),
    );
    let text = cap.stop();
    assert_eq!(
        a.count("Entering MASTER STATE"),
        1,
        "A flapped\n{}",
        logs(&ds)
    );
    assert_eq!(
        a.count("Entering BACKUP STATE"),
        1,
        "A flapped\n{}",
        logs(&ds)
    );
    assert_eq!(
        b.count("Entering MASTER STATE"),
        0,
        "B took over\n{}",
        logs(&ds)
    );
    // A's adverts as the capture on B's link saw them: (time, text). With -v tcpdump
    // prints the timestamped IP header line, then the VRRP line.
    let mut adverts: Vec<(f64, &str)> = Vec::new();
    let mut ts = 0.0;
    for l in text.lines() {
        if let Some(t) = l
            .split_whitespace()
            .next()
            .and_then(|w| w.parse::<f64>().ok())
        {
            ts = t;
        }
        if l.contains("192.0.2.1 > 224.0.0.18: VRRP") && l.contains("vrid 51") {
            adverts.push((ts, l));
        }
    }
    assert!(adverts.len() >= 5, "too few adverts captured:\n{text}");
    assert!(
        adverts.iter().all(|(_, l)| l.contains("prio 150")),
        "an advert with another priority (priority 0 = a flap):\n{text}"
    );
    let gap = adverts
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .fold(0.0, f64::max);
    // Interval 0.5 s; the master-down interval is 1.5 s + skew.
    assert!(
        gap < 1.2,
        "adverts paused {gap:.3} s across the reloads:\n{text}"
    );
    let last = adverts.last().unwrap().1;
    assert!(
        last.contains("192.0.2.103") && !last.contains("192.0.2.101"),
        "last advert: {last}"
    );
    assert!(
        adverts[0].1.contains("192.0.2.101"),
        "first advert: {}",
        adverts[0].1
    );
}

/// VIPs that a killed (SIGKILL) previous run left on the interface are removed at start,
/// IPv4 and IPv6 (a link-local fe80::100 included): A (alone, MASTER of V4 and V6) is
/// killed with its VIPs in place; B (higher priority) becomes MASTER; A restarted comes up
/// as BACKUP and its stale VIPs are gone. When B is then frozen, A's IPv6 adverts come
/// from its own link-local address, not from the stale fe80::100 it saw at start.
#[test]
fn stale_vips_of_a_killed_run_are_removed_at_start() {
    if !e2e_ready("stale_vips_of_a_killed_run_are_removed_at_start", false) {
        return;
    }
    let lan = Lan::new("stl", 2);
    let dir = TestDir::new("stl");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let blocks = |prio: u8| {
        vec![
            Inst::new("V4", 51, prio, &["192.0.2.100/24", "192.0.2.101/24"]).text(),
            Inst::new("V6", 52, prio, &["fe80::100/64", "fd00::100/64"]).text(),
        ]
    };
    let stale = ["192.0.2.100", "192.0.2.101", "fe80::100", "fd00::100"];
    let mut a = Daemon::ours(h1, &dir, "a", &conf("a", &[], &blocks(100)));
    wait_until(
        "A master alone",
        SETTLE,
        || stale.iter().all(|v| has_addr(h1, "eth0", v)),
        || a.tail(40),
    );
    a.kill();
    assert!(
        stale.iter().all(|v| has_addr(h1, "eth0", v)),
        "SIGKILL left the VIPs"
    );
    let b = Daemon::ours(h2, &dir, "b", &conf("b", &[], &blocks(150)));
    wait_has("B master", h2, VIP, &[&a, &b]);
    wait_has("B master", h2, "fd00::100", &[&a, &b]);
    let backups = a.count("(V6) Entering BACKUP STATE");
    a.spawn();
    wait_until(
        "restarted A in BACKUP",
        SETTLE,
        || a.count("(V6) Entering BACKUP STATE") > backups,
        || logs(&[&a, &b]),
    );
    holds_for(
        "A without the stale VIPs, B master",
        Duration::from_secs(2),
        || {
            stale.iter().all(|v| !has_addr(h1, "eth0", v))
                && has_addr(h2, "eth0", VIP)
                && has_addr(h2, "eth0", "fd00::100")
        },
        || format!("{}\n{}", addr_table(&[h1, h2]), logs(&[&a, &b])),
    );
    if !common::lan::tool_ready("stale_vips_of_a_killed_run_are_removed_at_start", "tcpdump") {
        return;
    }
    let mut cap = Capture::start(h2, &dir, "stl", "eth0", "ip6 proto 112");
    b.freeze();
    wait_has("A takes over V6 from frozen B", h1, "fd00::100", &[&a, &b]);
    std::thread::sleep(Duration::from_millis(600));
    let text = cap.stop();
    b.thaw();
    let from_a: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ff02::12: VRRPv3") && l.contains("prio 100"))
        .collect();
    assert!(!from_a.is_empty(), "no IPv6 advert from A:\n{text}");
    for l in from_a {
        assert!(
            !l.trim_start().starts_with("fe80::100 "),
            "advert from the VIP: {l}"
        );
    }
}

/// A reload that lowers the master's priority below the backup's, adds an instance and
/// then removes it: the backup preempts (A's adverts now say 50), the added instance starts
/// (BACKUP, then MASTER with its VIP), and the removed one gives its VIP up with a
/// priority-0 advert.
#[test]
fn reload_changes_priority_adds_and_removes_instances() {
    if !e2e_ready("reload_changes_priority_adds_and_removes_instances", false) {
        return;
    }
    let (lan, _dir, a, b) = pair("prl", &["192.0.2.100/24"], |_, i| i);
    let (h1, h2) = (lan.host(1), lan.host(2));
    let ds = [&a, &b];
    wait_holder("A master", VIP, h1, &[h1, h2], &ds);
    std::fs::write(
        &a.conf,
        conf(
            "a",
            &[],
            &[
                Inst::new("VI_1", 51, 50, &["192.0.2.100/24"]).text(),
                Inst::new("VI_2", 52, 150, &["192.0.2.102/24"]).text(),
            ],
        ),
    )
    .unwrap();
    a.reload();
    wait_holder(
        "B master of VI_1 after A's priority drop",
        VIP,
        h2,
        &[h1, h2],
        &ds,
    );
    wait_has("A master of new VI_2", h1, "192.0.2.102", &ds);
    std::fs::write(
        &a.conf,
        conf(
            "a",
            &[],
            &[Inst::new("VI_1", 51, 50, &["192.0.2.100/24"]).text()],
        ),
    )
    .unwrap();
    a.reload();
    wait_until(
        "A drops removed VI_2's VIP",
        TAKEOVER,
        || !has_addr(h1, "eth0", "192.0.2.102"),
        || logs(&ds),
    );
    assert!(a.count("(VI_2) sent 0 priority") >= 1, "{}", logs(&ds));
    // VI_1 kept running through both reloads: A stays its BACKUP, B its MASTER.
    holds_for(
        "B master of VI_1",
        Duration::from_secs(1),
        || has_addr(h2, "eth0", VIP) && !has_addr(h1, "eth0", VIP),
        || logs(&ds),
    );
    assert_eq!(b.count("(VI_1) Entering MASTER STATE"), 1, "{}", logs(&ds));
}

/// A reload while a tracking script runs does not start a second copy of it: each script
/// runs at most once at a time (the copy started before the reload reports first). The
/// script records an overlap when it finds its own lock taken.
#[test]
fn reload_never_runs_a_track_script_twice_at_once() {
    if !e2e_ready("reload_never_runs_a_track_script_twice_at_once", false) {
        return;
    }
    let lan = Lan::new("rts", 1);
    let dir = TestDir::new("rts");
    let h1 = lan.host(1);
    let (lock, overlaps, runs) = (dir.join("lock"), dir.join("overlaps"), dir.join("runs"));
    let script = dir.write(
        "slow.sh",
        &format!(
            "#!/bin/sh\necho run >> {runs}\nmkdir {lock} 2>/dev/null || echo overlap >> {ov}\n\
             sleep 1\nrmdir {lock} 2>/dev/null\nexit 0\n",
            runs = runs.display(),
            lock = lock.display(),
            ov = overlaps.display()
        ),
        true,
    );
    let text = format!(
        "global_defs {{\n    router_id a\n    script_user root\n    enable_script_security\n}}\n\
         vrrp_script slow {{\n    script \"{}\"\n    interval 2\n    timeout 5\n    weight -10\n}}\n{}",
        script.display(),
        Inst::new("VI_1", 51, 150, &["192.0.2.100/24"])
            .with("track_script {\n        slow\n    }")
            .text()
    );
    let a = Daemon::ours(h1, &dir, "a", &text);
    let runs_now = || {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .count()
    };
    for k in 0..3 {
        // Reload while the script is inside its critical section.
        wait_until(
            "the track script running",
            TAKEOVER,
            || lock.exists() && runs_now() > k,
            || a.tail(40),
        );
        a.reload();
        wait_until(
            "reload done",
            TAKEOVER,
            || a.count("Reload complete") > k,
            || a.tail(40),
        );
        std::thread::sleep(Duration::from_millis(1200));
    }
    wait_until("another run", TAKEOVER, || runs_now() >= 4, || a.tail(40));
    assert!(
        !overlaps.exists(),
        "the track script ran twice at once after a reload ({} runs)\n{}",
        runs_now(),
        a.tail(60)
    );
}

/// Gratuitous ARP and unsolicited NA do their job: a third host that talks to the VIPs
/// (IPv4 and IPv6) has the master's MAC in its neighbour table; after a takeover its
/// entries point at the new master's MAC without it asking (the old master is frozen, and
/// its kernel still answers for the addresses, so only the announcements can move them).
#[test]
fn garp_and_na_move_the_vip_in_a_neighbours_cache() {
    if !e2e_ready("garp_and_na_move_the_vip_in_a_neighbours_cache", false) {
        return;
    }
    let lan = Lan::new("nbr", 3);
    let dir = TestDir::new("nbr");
    let (h1, h2, h3) = (lan.host(1), lan.host(2), lan.host(3));
    let blocks = |prio: u8| {
        vec![
            Inst::new("VI_4", 51, prio, &["192.0.2.100/24"]).text(),
            Inst::new("VI_6", 52, prio, &["fe80::100/64", "fd00::100/64"]).text(),
        ]
    };
    let a = Daemon::ours(h1, &dir, "a", &conf("a", &[], &blocks(150)));
    let b = Daemon::ours(h2, &dir, "b", &conf("b", &[], &blocks(100)));
    let ds = [&a, &b];
    wait_holder("A master (IPv4)", VIP, h1, &[h1, h2], &ds);
    wait_holder("A master (IPv6)", "fd00::100", h1, &[h1, h2], &ds);
    let mac = |ns: &Netns| {
        let out = ns.ip(&["-o", "link", "show", "eth0"]);
        let s = String::from_utf8_lossy(&out.stdout).into_owned();
        s.split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .unwrap()
            .to_string()
    };
    let neigh = |addr: &str| {
        let out = h3.ip(&["neigh", "show", "to", addr, "dev", "eth0"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (mac_a, mac_b) = (mac(h1), mac(h2));
    for vip in [VIP, "fd00::100"] {
        // One UDP datagram makes host 3 resolve the address (no ping here).
        let send = format!("echo x > /dev/udp/{vip}/9");
        common::sh(&["ip", "netns", "exec", &h3.name, "bash", "-c", &send]);
        wait_until(
            &format!("host 3 to resolve {vip} to A ({mac_a})"),
            TAKEOVER,
            || neigh(vip).contains(&mac_a),
            || neigh(vip),
        );
    }
    a.freeze();
    for vip in [VIP, "fd00::100"] {
        wait_until(
            &format!("host 3's neighbour entry for {vip} to point at B ({mac_b})"),
            TAKEOVER,
            || neigh(vip).contains(&mac_b),
            || format!("{}\n{}", neigh(vip), logs(&ds)),
        );
    }
}

/// The same VRID in IPv4 and IPv6 makes two independent routers, and a tracked interface
/// that is deleted and created again is followed by name: A is MASTER of both V4 and V6
/// (VRID 51 each); deleting the interface only V6 tracks faults V6 alone (B takes V6, A
/// keeps V4); recreating it brings V6 back to A.
#[test]
fn same_vrid_per_family_independent_and_tracked_interface_recreated() {
    if !e2e_ready(
        "same_vrid_per_family_independent_and_tracked_interface_recreated",
        false,
    ) {
        return;
    }
    let lan = Lan::new("vid", 2);
    let dir = TestDir::new("vid");
    let (h1, h2) = (lan.host(1), lan.host(2));
    h1.add_veth("trk0", "trk1");
    let blocks = |prio: u8, track: bool| {
        let v6 = Inst::new("V6", 51, prio, &["fe80::100/64", "fd00::100/64"]);
        let v6 = if track {
            v6.with("track_interface {\n        trk0\n    }")
        } else {
            v6
        };
        vec![
            Inst::new("V4", 51, prio, &["192.0.2.100/24"]).text(),
            v6.text(),
        ]
    };
    let a = Daemon::ours(h1, &dir, "a", &conf("a", &[], &blocks(150, true)));
    let b = Daemon::ours(h2, &dir, "b", &conf("b", &[], &blocks(100, false)));
    let ds = [&a, &b];
    wait_holder("A master of V4", VIP, h1, &[h1, h2], &ds);
    wait_holder("A master of V6", "fd00::100", h1, &[h1, h2], &ds);
    h1.ip(&["link", "del", "trk0"]);
    wait_holder("B takes V6", "fd00::100", h2, &[h1, h2], &ds);
    holds_for(
        "A still master of V4",
        Duration::from_secs(1),
        || has_addr(h1, "eth0", VIP) && !has_addr(h2, "eth0", VIP),
        || logs(&ds),
    );
    h1.add_veth("trk0", "trk1");
    wait_holder("A master of V6 again", "fd00::100", h1, &[h1, h2], &ds);
    assert!(has_addr(h1, "eth0", VIP), "{}", logs(&ds));
    assert_eq!(a.count("(V4) Entering MASTER STATE"), 1, "{}", logs(&ds));
}

/// Unicast to several peers: three routers (150, 100, 50), each with the two others as
/// unicast peers. The master's adverts reach both backups (the lowest never becomes
/// MASTER); frozen, the middle one takes over and the lowest stays BACKUP under it; resumed,
/// the highest takes back.
#[test]
fn unicast_three_routers_fan_out() {
    if !e2e_ready("unicast_three_routers_fan_out", false) {
        return;
    }
    let lan = Lan::new("u3", 3);
    let dir = TestDir::new("u3");
    let hosts = [lan.host(1), lan.host(2), lan.host(3)];
    let mk = |me: usize, prio: u8| {
        let peers: String = (1..=3)
            .filter(|p| *p != me)
            .map(|p| format!("        192.0.2.{p}\n"))
            .collect();
        let inst = Inst::new("VI_1", 51, prio, &["192.0.2.100/24"])
            .with(&format!("unicast_src_ip 192.0.2.{me}"))
            .with(&format!("unicast_peer {{\n{peers}    }}"));
        conf(&format!("r{me}"), &[], &[inst.text()])
    };
    let a = Daemon::ours(hosts[0], &dir, "a", &mk(1, 150));
    let b = Daemon::ours(hosts[1], &dir, "b", &mk(2, 100));
    let c = Daemon::ours(hosts[2], &dir, "c", &mk(3, 50));
    let ds = [&a, &b, &c];
    wait_holder("A master", VIP, hosts[0], &hosts, &ds);
    a.freeze();
    wait_until(
        "B takes over, C stays backup",
        TAKEOVER,
        || has_addr(hosts[1], "eth0", VIP) && !has_addr(hosts[2], "eth0", VIP),
        || logs(&ds),
    );
    holds_for(
        "C backup under B",
        Duration::from_secs(1),
        || !has_addr(hosts[2], "eth0", VIP),
        || logs(&ds),
    );
    a.thaw();
    wait_holder("A back", VIP, hosts[0], &hosts, &ds);
    assert_eq!(c.count("Entering MASTER STATE"), 0, "{}", logs(&ds));
}
