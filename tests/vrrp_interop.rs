//! VRRP interop with the distribution's real keepalived (2.2.7) on the real kernel: ours on
//! host 1, keepalived on host 2 of a bridged LAN of network namespaces.
//!
//! The matrix: VRRPv2/IPv4, VRRPv3/IPv4 and VRRPv3/IPv6 (one test each), and within each,
//! four instances on the same link: ours the higher priority with multicast and with
//! unicast, keepalived the higher priority with multicast and with unicast (VRRPv2 adds
//! authentication PASS and AH, in both roles). For every
//! instance: the higher priority holds the VIP (and only it), the other takes over when the
//! master's VRRP process is frozen (SIGSTOP), and hands back when it resumes. Both
//! processes are frozen in turn, so each side plays both roles. Then each side is stopped
//! with SIGTERM in turn: its priority-0 adverts hand everything to the other (whose log
//! says it received priority 0), and the restarted side preempts its instances back and
//! keeps its role for longer than a master-down interval (AH sequence numbers restart).
//! The IPv4 matrices add an equal-priority instance: no preemption on a tie, and when both
//! are MASTER at once (after a freeze) the higher address, keepalived's, wins.
//!
//! A last test runs the same sync-group configuration under ours and under keepalived
//! through the same events and compares their notify FIFO lines.
//!
//! keepalived runs with `-n -l -D -G -P` and its own pid files in the test's directory; its
//! configurations use no scripts (there is no keepalived_script user here).

// Polling waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::lan::{has_addr, wait_until, Capture, Daemon, FifoReader, Lan, TestDir};
use common::{e2e_ready, Netns};
use std::time::Duration;

/// Generous bound for a takeover or hand-back (v2: master-down interval about 3.6 s).
const TAKEOVER: Duration = Duration::from_secs(12);
/// Bound for the first election.
const SETTLE: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Ours,
    Keepalived,
}

/// One instance of the matrix.
struct Case {
    name: String,
    vrid: u8,
    /// Which side has priority 150 (the other has 100).
    master: Side,
    unicast: bool,
    /// VRRPv2 authentication: `PASS` or `AH`.
    auth: Option<&'static str>,
    /// Equal priorities (100 both). A backup never preempts an equal priority (RFC 5798
    /// §6.4.2), so whoever is first stays; when both are MASTER at once (one resumes from a
    /// freeze), the higher primary address wins (§6.4.3): keepalived's 192.0.2.2.
    tie: bool,
    /// The VIP checked for the holder; the instance's VIP list is `vips`.
    vip: String,
    vips: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fam {
    V4,
    V6,
}

struct Matrix {
    version: u8,
    fam: Fam,
    advert_int: &'static str,
    cases: Vec<Case>,
}

impl Matrix {
    fn new(version: u8, fam: Fam, advert_int: &'static str, vrid_base: u8) -> Matrix {
        let mut cases = Vec::new();
        let mut kinds = vec![
            (Side::Ours, false, None, false),
            (Side::Ours, true, None, false),
            (Side::Keepalived, false, None, false),
            (Side::Keepalived, true, None, false),
        ];
        if version == 2 {
            for auth in ["PASS", "AH"] {
                kinds.push((Side::Ours, false, Some(auth), false));
                kinds.push((Side::Keepalived, false, Some(auth), false));
            }
        }
        if fam == Fam::V4 {
            kinds.push((Side::Keepalived, false, None, true));
        }
        for (k, (master, unicast, auth, tie)) in kinds.into_iter().enumerate() {
            let vrid = vrid_base + k as u8;
            let (vip, vips) = match fam {
                Fam::V4 => {
                    let v = format!("192.0.2.{vrid}");
                    (v.clone(), vec![format!("{v}/24")])
                }
                Fam::V6 => {
                    let v = format!("fd00::{vrid}");
                    // RFC 5798: the first address of an IPv6 instance is link-local.
                    (
                        v.clone(),
                        vec![format!("fe80::{vrid}/64"), format!("{v}/64")],
                    )
                }
            };
            let who = match master {
                Side::Ours => "ours",
                Side::Keepalived => "ka",
            };
            let cast = match (auth, unicast) {
                (Some(a), _) => a.to_lowercase(),
                (None, true) => "ucast".into(),
                (None, false) => "mcast".into(),
            };
            let name = if tie {
                format!("tie_{who}_master_{cast}")
            } else {
                format!("{who}_master_{cast}")
            };
            cases.push(Case {
                name,
                tie,
                vrid,
                master,
                unicast,
                auth,
                vip,
                vips,
            });
        }
        Matrix {
            version,
            fam,
            advert_int,
            cases,
        }
    }

    /// The configuration for `side` on host `me` (1 = ours, 2 = keepalived).
    fn conf(&self, side: Side) -> String {
        let (me, peer) = match side {
            Side::Ours => (1, 2),
            Side::Keepalived => (2, 1),
        };
        let addr = |i: u8| match self.fam {
            Fam::V4 => format!("192.0.2.{i}"),
            Fam::V6 => format!("fd00::{i}"),
        };
        let mut s = format!("global_defs {{\n    router_id {side:?}\n}}\n");
        for c in &self.cases {
            let prio = if c.master == side && !c.tie { 150 } else { 100 };
            s += &format!(
                "vrrp_instance {} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    \
                 priority {prio}\n    version {}\n    advert_int {}\n",
                c.name, c.vrid, self.version, self.advert_int
            );
            if c.unicast {
                s += &format!(
                    "    unicast_src_ip {}\n    unicast_peer {{\n        {}\n    }}\n",
                    addr(me),
                    addr(peer)
                );
            }
            if let Some(a) = c.auth {
                s += &format!(
                    "    authentication {{\n        auth_type {a}\n        auth_pass pw{}\n    }}\n",
                    c.vrid
                );
            }
            s += "    virtual_ipaddress {\n";
            for v in &c.vips {
                s += &format!("        {v}\n");
            }
            s += "    }\n}\n";
        }
        s
    }
}

/// What must hold for one case in one phase.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// Only this side holds the VIP.
    Alone(Side),
    /// This side holds it (the other is frozen and keeps its own).
    Has(Side),
    /// Exactly one side holds it.
    One,
}

struct Run<'a> {
    lan: &'a Lan,
    m: &'a Matrix,
    /// Per phase, per case: time to reach the wanted state.
    report: Vec<String>,
    /// Adverts on ours' link, for failure messages (who stopped sending when).
    cap: Option<Capture>,
}

impl Run<'_> {
    /// Per (source, VRID): adverts seen, the last one's time and the longest gap, from the
    /// capture on ours' link.
    fn wire(&self) -> String {
        let Some(cap) = self.cap.as_ref() else {
            return String::new();
        };
        let text = cap.text();
        // (src, vrid) -> (count, first, last, max gap)
        let mut seen: std::collections::BTreeMap<(String, String), (u32, f64, f64, f64)> =
            Default::default();
        let mut ts = 0.0;
        for l in text.lines() {
            if let Some(t) = l
                .split_whitespace()
                .next()
                .and_then(|w| w.parse::<f64>().ok())
            {
                ts = t;
            }
            let Some(at) = l.find(": VRRPv") else {
                continue;
            };
            // "... SRC > DST: VRRPv3, ..." (IPv4 -v puts it on a line of its own).
            let src = l[..at]
                .rsplit(" > ")
                .nth(1)
                .and_then(|x| x.split_whitespace().last())
                .unwrap_or("?")
                .to_string();
            let vrid = l[at..]
                .split(", ")
                .find(|w| w.starts_with("vrid "))
                .unwrap_or("vrid ?")
                .to_string();
            let e = seen.entry((src, vrid)).or_insert((0, ts, ts, 0.0));
            e.3 = e.3.max(ts - e.2);
            e.0 += 1;
            e.2 = ts;
        }
        let mut out = format!("----- adverts on ours' link (now {ts:.3}) -----\n");
        for ((src, vrid), (n, first, last, gap)) in seen {
            out += &format!(
                "{src:>26} {vrid:<8} n={n:<4} first={first:.3} last={last:.3} max_gap={gap:.3}\n"
            );
        }
        out
    }

    fn ns(&self, side: Side) -> &Netns {
        match side {
            Side::Ours => self.lan.host(1),
            Side::Keepalived => self.lan.host(2),
        }
    }

    fn ok(&self, c: &Case, w: Want) -> bool {
        let has = |s: Side| has_addr(self.ns(s), "eth0", &c.vip);
        match w {
            Want::Alone(s) => {
                let other = match s {
                    Side::Ours => Side::Keepalived,
                    Side::Keepalived => Side::Ours,
                };
                has(s) && !has(other)
            }
            Want::Has(s) => has(s),
            Want::One => has(Side::Ours) != has(Side::Keepalived),
        }
    }

    /// Waits until every case is as `want` says; on timeout names every case that is not.
    fn phase(
        &mut self,
        phase: &str,
        limit: Duration,
        (ours, ka): (&Daemon, &Daemon),
        want: impl Fn(&Case) -> Want,
    ) {
        let start = std::time::Instant::now();
        let mut done: Vec<Option<Duration>> = vec![None; self.m.cases.len()];
        loop {
            for (k, c) in self.m.cases.iter().enumerate() {
                if done[k].is_none() && self.ok(c, want(c)) {
                    done[k] = Some(start.elapsed());
                }
            }
            // A case must hold at the end, not only once.
            if done.iter().all(Option::is_some) && self.m.cases.iter().all(|c| self.ok(c, want(c)))
            {
                break;
            }
            if start.elapsed() > limit {
                let bad: Vec<String> = self
                    .m
                    .cases
                    .iter()
                    .filter(|c| !self.ok(c, want(c)))
                    .map(|c| format!("{} (vrid {}): want {:?}", c.name, c.vrid, want(c)))
                    .collect();
                panic!(
                    "v{} {}: phase '{phase}': after {limit:?} not as wanted: {bad:?}\nours: {:?}\nka: {:?}\n{}{}",
                    self.m.version,
                    fam_name(self.m.fam),
                    common::lan::addrs(self.ns(Side::Ours), "eth0"),
                    common::lan::addrs(self.ns(Side::Keepalived), "eth0"),
                    ours.tail(80),
                    ka.tail(80) + &self.wire()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for (k, c) in self.m.cases.iter().enumerate() {
            self.report.push(format!(
                "v{} {} {:<17} {:<34} ok in {:.1} s",
                self.m.version,
                fam_name(self.m.fam),
                c.name,
                phase,
                done[k].unwrap().as_secs_f64()
            ));
        }
    }
}

fn fam_name(f: Fam) -> &'static str {
    match f {
        Fam::V4 => "IPv4",
        Fam::V6 => "IPv6",
    }
}

/// The whole scenario for one (version, family): both roles, multicast and unicast.
fn matrix(tag: &str, m: Matrix) {
    let lan = Lan::new(tag, 2);
    let dir = TestDir::new(tag);
    let mut ours = Daemon::ours(lan.host(1), &dir, "ours", &m.conf(Side::Ours));
    let mut ka = Daemon::keepalived(lan.host(2), &dir, "ka", &m.conf(Side::Keepalived));
    let tcpdump = common::lan::tool_ready("interop matrix capture", "tcpdump");
    let cap = tcpdump.then(|| {
        Capture::start(
            lan.host(1),
            &dir,
            "wire",
            "eth0",
            "ip proto 112 or ip proto 51 or ip6 proto 112",
        )
    });
    let mut run = Run {
        lan: &lan,
        m: &m,
        report: Vec::new(),
        cap,
    };
    // 1. The higher priority holds the VIP.
    run.phase("election", SETTLE, (&ours, &ka), |c| {
        if c.tie {
            Want::One
        } else {
            Want::Alone(c.master)
        }
    });
    if m.fam == Fam::V6 {
        for c in &m.cases {
            let ll = c.vip.replace("fd00::", "fe80::");
            assert!(
                has_addr(run.ns(c.master), "eth0", &ll),
                "{}: master lacks the link-local VIP {ll}",
                c.name
            );
        }
    }
    // Let the start-up settle (keepalived is busy for a moment after it starts, and the
    // faster side may be MASTER for a moment before the higher priority preempts it: that
    // is VRRP, not a fault), then count MASTER entries from here.
    std::thread::sleep(Duration::from_secs(2));
    run.phase("election, settled", SETTLE, (&ours, &ka), |c| {
        if c.tie {
            Want::One
        } else {
            Want::Alone(c.master)
        }
    });
    let masters = |d: &Daemon, c: &Case| d.count(&format!("({}) Entering MASTER STATE", c.name));
    let settled: Vec<(usize, usize)> = m
        .cases
        .iter()
        .map(|c| (masters(&ours, c), masters(&ka, c)))
        .collect();
    // 2. Ours frozen: keepalived takes over ours' instances, keeps its own.
    ours.freeze();
    run.phase(
        "ours frozen: keepalived takes over",
        TAKEOVER,
        (&ours, &ka),
        |_| Want::Has(Side::Keepalived),
    );
    // 3. Ours resumes: hands back (ours preempts its instances; keepalived keeps its own).
    ours.thaw();
    run.phase("ours resumed: hand back", TAKEOVER, (&ours, &ka), |c| {
        Want::Alone(c.master)
    });
    // 4. keepalived frozen: ours takes over keepalived's instances.
    ka.freeze();
    run.phase(
        "keepalived frozen: ours takes over",
        TAKEOVER,
        (&ours, &ka),
        |_| Want::Has(Side::Ours),
    );
    // 5. keepalived resumes: hand back.
    ka.thaw();
    run.phase(
        "keepalived resumed: hand back",
        TAKEOVER,
        (&ours, &ka),
        |c| Want::Alone(c.master),
    );
    // No side took an instance it should not have had while the master was alive: since
    // the election the low side entered MASTER exactly once (during the master's freeze)
    // and the high side never left it (frozen, it stayed MASTER).
    for (c, (o0, k0)) in m.cases.iter().zip(&settled).filter(|(c, _)| !c.tie) {
        let (o, k) = (masters(&ours, c) - o0, masters(&ka, c) - k0);
        let want = match c.master {
            Side::Ours => (0, 1),
            Side::Keepalived => (1, 0),
        };
        assert_eq!(
            (o, k),
            want,
            "{}: MASTER entries since the election (ours, keepalived)\n{}{}",
            c.name,
            ours.tail(80),
            ka.tail(80) + &run.wire()
        );
    }
    // 6. keepalived stops (SIGTERM): its priority-0 adverts hand its instances to ours.
    ka.stop();
    run.phase(
        "keepalived stopped: ours takes all",
        TAKEOVER,
        (&ours, &ka),
        |_| Want::Alone(Side::Ours),
    );
    // 7. keepalived restarts: it preempts its instances back (not the tie: equal priority
    // does not preempt).
    ka.spawn();
    run.phase(
        "keepalived restarted: preempts back",
        TAKEOVER.max(SETTLE),
        (&ours, &ka),
        |c| {
            if c.tie {
                Want::Alone(Side::Ours)
            } else {
                Want::Alone(c.master)
            }
        },
    );
    // The restarted keepalived's adverts stay accepted for longer than a master-down
    // interval (with AH, its sequence numbers start again: no replay drop may make ours
    // MASTER again).
    let ours_masters: Vec<usize> = m.cases.iter().map(|c| masters(&ours, c)).collect();
    let hold = if m.version == 2 { 5 } else { 3 };
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(hold) {
        for c in &m.cases {
            let want = if c.tie { Side::Ours } else { c.master };
            assert!(
                run.ok(c, Want::Alone(want)),
                "{}: not held by {want:?} after keepalived's restart\n{}{}",
                c.name,
                ours.tail(60),
                ka.tail(60) + &run.wire()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for (c, n) in m.cases.iter().zip(ours_masters) {
        assert_eq!(
            masters(&ours, c),
            n,
            "{}: ours flapped\n{}",
            c.name,
            ours.tail(60) + &run.wire()
        );
    }
    // 8. Ours stops (SIGTERM): priority 0 hands ours' instances to keepalived.
    ours.stop();
    run.phase(
        "ours stopped: keepalived takes all",
        TAKEOVER,
        (&ours, &ka),
        |_| Want::Alone(Side::Keepalived),
    );
    for c in &m.cases {
        let (hi, lo) = match c.master {
            Side::Ours => (&ours, &ka),
            Side::Keepalived => (&ka, &ours),
        };
        let line = format!("({}) Backup received priority 0 advertisement", c.name);
        assert!(
            lo.count(&line) >= 1,
            "{}: the backup did not see the stopping master's priority 0\n{}{}",
            c.name,
            hi.tail(40),
            lo.tail(80) + &run.wire()
        );
    }
    // 9. Ours restarts: it preempts its instances back (not the tie), and keepalived keeps
    // accepting its adverts (AH: ours' sequence numbers start again) for longer than a
    // master-down interval.
    ours.spawn();
    let want9 = |c: &Case| {
        if c.tie {
            Want::Alone(Side::Keepalived)
        } else {
            Want::Alone(c.master)
        }
    };
    run.phase(
        "ours restarted: preempts back",
        TAKEOVER.max(SETTLE),
        (&ours, &ka),
        want9,
    );
    let ka_masters: Vec<usize> = m.cases.iter().map(|c| masters(&ka, c)).collect();
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(hold) {
        for c in &m.cases {
            assert!(
                run.ok(c, want9(c)),
                "{}: not as wanted after ours' restart\n{}{}",
                c.name,
                ours.tail(60),
                ka.tail(60) + &run.wire()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for (c, n) in m.cases.iter().zip(ka_masters) {
        assert_eq!(
            masters(&ka, c),
            n,
            "{}: keepalived flapped\n{}",
            c.name,
            ka.tail(60) + &run.wire()
        );
    }
    eprintln!("{}\n{}", run.report.join("\n"), run.wire());
}

#[test]
fn interop_v2_ipv4_both_roles_multicast_and_unicast() {
    if !e2e_ready("interop_v2_ipv4_both_roles_multicast_and_unicast", true) {
        return;
    }
    matrix("i2", Matrix::new(2, Fam::V4, "1", 11));
}

#[test]
fn interop_v3_ipv4_both_roles_multicast_and_unicast() {
    if !e2e_ready("interop_v3_ipv4_both_roles_multicast_and_unicast", true) {
        return;
    }
    matrix("i3", Matrix::new(3, Fam::V4, "0.5", 21));
}

#[test]
fn interop_v3_ipv6_both_roles_multicast_and_unicast() {
    if !e2e_ready("interop_v3_ipv6_both_roles_multicast_and_unicast", true) {
        return;
    }
    matrix("i6", Matrix::new(3, Fam::V6, "0.5", 31));
}

/// keepalived's notify FIFO lines, ours against the real thing: the same configuration (a
/// sync group G1 of VI_1 and VI_2, VI_2 tracking a local interface, and VI_3 alone) runs
/// under ours and under keepalived on two separate single-host LANs, through the same
/// events: start, VI_2's tracked link down and up, the instance link down and up, a
/// reload that removes VI_3 and adds VI_4, SIGTERM.
/// Each entity's sequence of lines (`INSTANCE "VI_1" MASTER 150`, `GROUP "G1" FAULT 0`,
/// ...) must be identical, and so must the whole multiset.
#[test]
fn notify_fifo_lines_match_keepalived() {
    if !e2e_ready("notify_fifo_lines_match_keepalived", true) {
        return;
    }
    let dir = TestDir::new("nff");
    let lans = [Lan::new("nfo", 1), Lan::new("nfk", 1)];
    let fifos = [
        FifoReader::new(&dir.join("ours.fifo")),
        FifoReader::new(&dir.join("ka.fifo")),
    ];
    for l in &lans {
        l.host(1).add_veth("trk0", "trk1");
    }
    // `last`: VI_3 (before the reload) or VI_4 (after it).
    let text = |fifo: &FifoReader, last: (&str, u8)| {
        let inst = |name: &str, vrid: u8, prio: u8, extra: &str| {
            format!(
                "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
                 priority {prio}\n    version 3\n    advert_int 0.2\n{extra}    virtual_ipaddress {{\n        \
                 192.0.2.{vrid}/24\n    }}\n}}\n"
            )
        };
        format!(
            "global_defs {{\n    router_id nf\n    notify_fifo {}\n}}\n\
             vrrp_sync_group G1 {{\n    group {{\n        VI_1\n        VI_2\n    }}\n}}\n{}{}{}",
            fifo.path.display(),
            inst("VI_1", 51, 150, ""),
            inst(
                "VI_2",
                52,
                120,
                "    track_interface {\n        trk0\n    }\n"
            ),
            inst(last.0, last.1, 100, "")
        )
    };
    let mut ours = Daemon::ours(
        lans[0].host(1),
        &dir,
        "ours",
        &text(&fifos[0], ("VI_3", 53)),
    );
    let mut ka = Daemon::keepalived(lans[1].host(1), &dir, "ka", &text(&fifos[1], ("VI_3", 53)));
    let diag = |ours: &Daemon, ka: &Daemon| {
        format!(
            "ours: {:#?}\nka: {:#?}\n{}{}",
            fifos[0].lines(),
            fifos[1].lines(),
            ours.tail(60),
            ka.tail(60)
        )
    };
    // Until both FIFOs have at least `n` lines and neither changed for a second.
    let settle = |n: usize, ours: &Daemon, ka: &Daemon| {
        let mut last = (usize::MAX, usize::MAX);
        let mut since = std::time::Instant::now();
        wait_until(
            &format!("{n} FIFO lines from each, then quiet"),
            SETTLE,
            || {
                let now = (fifos[0].lines().len(), fifos[1].lines().len());
                if now != last {
                    last = now;
                    since = std::time::Instant::now();
                }
                now.0 >= n && now.1 >= n && since.elapsed() > Duration::from_secs(1)
            },
            || diag(ours, ka),
        );
    };
    let both = |args: &[&str]| {
        for l in &lans {
            l.host(1).ip(args);
        }
    };
    settle(8, &ours, &ka);
    both(&["link", "set", "trk0", "down"]);
    settle(11, &ours, &ka);
    both(&["link", "set", "trk0", "up"]);
    settle(17, &ours, &ka);
    both(&["link", "set", "eth0", "down"]);
    settle(21, &ours, &ka);
    both(&["link", "set", "eth0", "up"]);
    settle(29, &ours, &ka);
    // Reload: VI_3 removed (reported as FAULT, no notify_deleted), VI_4 added.
    std::fs::write(&ours.conf, text(&fifos[0], ("VI_4", 54))).unwrap();
    std::fs::write(&ka.conf, text(&fifos[1], ("VI_4", 54))).unwrap();
    ours.reload();
    ka.reload();
    settle(32, &ours, &ka);
    ours.stop();
    ka.stop();
    settle(36, &ours, &ka);
    let per = |lines: &[String], who: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.contains(&format!("\"{who}\"")))
            .cloned()
            .collect()
    };
    let (o, k) = (fifos[0].lines(), fifos[1].lines());
    for who in ["VI_1", "VI_2", "VI_3", "VI_4", "G1"] {
        assert_eq!(
            per(&o, who),
            per(&k, who),
            "{who}: ours (left) vs keepalived (right)\n{}",
            diag(&ours, &ka)
        );
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(o.clone()), sorted(k.clone()), "{}", diag(&ours, &ka));
    // And the sequence a reader sees is keepalived's too.
    assert!(
        o.contains(&"INSTANCE \"VI_1\" MASTER 150".to_string()),
        "{o:?}"
    );
    assert!(o.contains(&"GROUP \"G1\" FAULT 0".to_string()), "{o:?}");
    assert!(
        o.contains(&"INSTANCE \"VI_4\" STOP 100".to_string()),
        "{o:?}"
    );
}

/// RFC 9568 §6.4.2: a VRRPv3 backup adopts the master's advertisement interval. Two
/// instances, ours configured at 1 s and keepalived at 0.2 s (and the reverse): each backup
/// computes its master-down timer from the master's 0.2 s (3 x 200 ms + skew 121.875 ms
/// = 721875 us, as its SIGUSR1 dump says), so it takes over a frozen master well inside
/// the 3.6 s its own interval would give.
#[test]
fn v3_backup_adopts_the_masters_interval_both_ways() {
    if !e2e_ready("v3_backup_adopts_the_masters_interval_both_ways", true) {
        return;
    }
    let lan = Lan::new("ivl", 2);
    let dir = TestDir::new("ivl");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let inst = |name: &str, vrid: u8, prio: u8, adv: &str| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
             priority {prio}\n    version 3\n    advert_int {adv}\n    virtual_ipaddress {{\n        \
             192.0.2.{vrid}/24\n    }}\n}}\n"
        )
    };
    // OM: ours master at 0.2 s, keepalived backup configured 1 s. KM: the reverse.
    let ours_conf = format!(
        "global_defs {{\n    router_id o\n}}\n{}{}",
        inst("OM", 41, 150, "0.2"),
        inst("KM", 42, 100, "1")
    );
    let ka_conf = format!(
        "global_defs {{\n    router_id k\n}}\n{}{}",
        inst("OM", 41, 100, "1"),
        inst("KM", 42, 150, "0.2")
    );
    let ours = Daemon::ours(h1, &dir, "ours", &ours_conf);
    let ka = Daemon::keepalived(h2, &dir, "ka", &ka_conf);
    let diag = || format!("{}{}", ours.tail(60), ka.tail(60));
    wait_until(
        "ours master of OM, keepalived of KM",
        SETTLE,
        || {
            has_addr(h1, "eth0", "192.0.2.41")
                && has_addr(h2, "eth0", "192.0.2.42")
                && !has_addr(h1, "eth0", "192.0.2.42")
                && !has_addr(h2, "eth0", "192.0.2.41")
        },
        diag,
    );
    std::thread::sleep(Duration::from_secs(1));
    // The backups' master-down timers, from their data dumps.
    let timer = |d: &Daemon, name: &str| {
        let path = d.tmp.join("keepalived.data");
        let _ = std::fs::remove_file(&path);
        d.signal_vrrp(nix::sys::signal::Signal::SIGUSR1);
        let mut text = String::new();
        wait_until(
            &format!("{} data dump", d.name),
            Duration::from_secs(5),
            || {
                text = std::fs::read_to_string(&path).unwrap_or_default();
                text.contains(&format!("VRRP Instance = {name}")) && text.ends_with('\n')
            },
            || d.tail(20),
        );
        let block = text
            .split("VRRP Instance = ")
            .find(|b| b.starts_with(name))
            .unwrap()
            .to_string();
        block
            .lines()
            .find(|l| l.trim_start().starts_with("Master down timer"))
            .and_then(|l| l.split_whitespace().nth(4))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no master down timer for {name}:\n{block}"))
    };
    assert_eq!(
        timer(&ours, "KM"),
        721_875,
        "ours as backup of keepalived's 0.2 s"
    );
    assert_eq!(
        timer(&ka, "OM"),
        721_875,
        "keepalived as backup of ours' 0.2 s"
    );
    // And it shows: takeover of a frozen master well inside 3.6 s.
    for (frozen, other, vip) in [(&ours, h2, "192.0.2.41"), (&ka, h1, "192.0.2.42")] {
        frozen.freeze();
        let took = wait_until(
            &format!("takeover of {vip}"),
            SETTLE,
            || has_addr(other, "eth0", vip),
            diag,
        );
        frozen.thaw();
        assert!(
            took < Duration::from_millis(2500),
            "{vip}: takeover took {took:?}\n{}",
            diag()
        );
    }
}
