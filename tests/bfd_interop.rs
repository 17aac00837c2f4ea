//! BFD interop with the distribution's real keepalived 2.2.7 (built with BFD) on the real
//! kernel: ours on host 1, keepalived on host 2 of a bridged LAN of network namespaces, one
//! session `b1` at min_rx 10 ms, min_tx 10 ms, multiplier 3 (Detection Time 30 ms) on both
//! ends. IPv4 and IPv6, both orders of start.
//!
//! 1. The session comes Up: both logs say `(b1) Entering Up state`.
//! 2. keepalived's BFD child is frozen (SIGSTOP; its pid from `-b`). Ours must declare the
//!    session Down within the Detection Time + 5 ms of keepalived's last packet on the wire.
//!    Ours' VRRP instance (MASTER, `track_bfd { b1 }`, weight 0) goes FAULT in the same loop
//!    turn and sends a priority-0 advert at once, so the capture on ours' link shows the
//!    moment of the declaration: keepalived's last BFD packet to that advert must be at
//!    most 35 ms. (Ours' next BFD packet also says Down; it goes at the next transmit time,
//!    up to one interval later, and is checked with that allowance.)
//! 3. Thawed, the session comes Up again on both sides and ours is MASTER again.

// Polling waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod bfd_support;
mod common;

use bfd_support::{around, bfd_from, signal, Kind, WireCap};
use common::e2e_ready;
use common::lan::{has_addr, read_pid, tool_ready, wait_until, Daemon, Lan, TestDir};
use nix::sys::signal::Signal;
use std::time::Duration;

const DETECT_US: i64 = 30_000;
const SLACK_US: i64 = 5_000;
const TX_US: i64 = 10_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fam {
    V4,
    V6,
}

fn addr(fam: Fam, i: u8) -> String {
    match fam {
        Fam::V4 => format!("192.0.2.{i}"),
        Fam::V6 => format!("fd00::{i}"),
    }
}

/// The configuration of host `me` (1 = ours, 2 = keepalived): the BFD session to the other,
/// and an IPv4 VRRP instance in which ours has the higher priority and tracks the session.
/// Both run BFD at SCHED_RR (`bfd_rt_priority`), as operators run 10 ms BFD: the tests share
/// two CPUs with other namespace tests.
fn conf(fam: Fam, me: u8, vrid: u8) -> String {
    let peer = 3 - me;
    let (prio, track) = if me == 1 {
        (150, "    track_bfd {\n        b1\n    }\n")
    } else {
        (100, "")
    };
    format!(
        "global_defs {{\n    router_id h{me}\n    bfd_rt_priority 20\n}}\n\
         bfd_instance b1 {{\n    neighbor_ip {}\n    source_ip {}\n    min_rx 10\n    min_tx 10\n    multiplier 3\n}}\n\
         vrrp_instance V{vrid} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority {prio}\n    \
         advert_int 1\n{track}    virtual_ipaddress {{\n        192.0.2.{vrid}/24\n    }}\n}}\n",
        addr(fam, peer),
        addr(fam, me)
    )
}

fn run(tag: &str, fam: Fam, ours_first: bool) {
    let test = format!("bfd_interop_{tag}");
    if !e2e_ready(&test, true) || !tool_ready(&test, "tcpdump") {
        return;
    }
    let vrid = 60;
    let vip = format!("192.0.2.{vrid}");
    let lan = Lan::new(tag, 2);
    let dir = TestDir::new(tag);
    let (h1, h2) = (lan.host(1), lan.host(2));
    let ours_conf = conf(fam, 1, vrid);
    let ka_conf = conf(fam, 2, vrid);
    let (ours, ka) = if ours_first {
        let o = Daemon::ours(h1, &dir, "ours", &ours_conf);
        std::thread::sleep(Duration::from_millis(300));
        let k = Daemon::keepalived(h2, &dir, "ka", &ka_conf);
        (o, k)
    } else {
        let k = Daemon::keepalived(h2, &dir, "ka", &ka_conf);
        std::thread::sleep(Duration::from_millis(300));
        let o = Daemon::ours(h1, &dir, "ours", &ours_conf);
        (o, k)
    };
    let diag = || format!("{}{}", ours.tail(40), ka.tail(40));
    let up = "(b1) Entering Up state";

    // 1. Up on both sides; ours MASTER.
    wait_until(
        "b1 Up on both sides",
        Duration::from_secs(15),
        || ours.count(up) >= 1 && ka.count(up) >= 1,
        diag,
    );
    wait_until(
        "ours MASTER with the VIP",
        Duration::from_secs(15),
        || has_addr(h1, "eth0", &vip) && !has_addr(h2, "eth0", &vip),
        diag,
    );
    // Let the Poll Sequence to the 10 ms timers finish.
    std::thread::sleep(Duration::from_millis(500));
    let ka_bfd_pid =
        read_pid(&dir.join("ka.bfd.pid")).unwrap_or_else(|| panic!("no BFD pid\n{}", diag()));
    let mut cap = WireCap::start(h1, &dir, "wire", "eth0", "udp port 3784 or ip proto 112");
    std::thread::sleep(Duration::from_millis(300));

    // 2. Freeze keepalived's BFD child.
    let downs_before = ours.count("(b1) Entering Down state");
    signal(ka_bfd_pid, Signal::SIGSTOP);
    wait_until(
        "ours declares b1 Down",
        Duration::from_secs(5),
        || ours.count("(b1) Entering Down state") > downs_before,
        diag,
    );
    wait_until(
        "keepalived MASTER after ours' FAULT",
        Duration::from_secs(10),
        || has_addr(h2, "eth0", &vip),
        diag,
    );
    let pkts = cap.stop();
    let ka_addr = addr(fam, 2);
    let ours_addr = addr(fam, 1);
    let last_ka = bfd_from(&pkts, &ka_addr)
        .last()
        .unwrap_or_else(|| panic!("no BFD packet from keepalived captured\n{}", diag()))
        .ts_us;
    let prio0 = pkts
        .iter()
        .find(|p| {
            p.ts_us > last_ka && p.src == "192.0.2.1" && p.kind == Kind::Vrrp { vrid, prio: 0 }
        })
        .unwrap_or_else(|| {
            panic!(
                "no priority-0 advert from ours after keepalived's last BFD packet\n{}\n{}",
                around(&pkts, last_ka, 10),
                diag()
            )
        })
        .ts_us;
    let bfd_down = bfd_from(&pkts, &ours_addr)
        .find(|p| {
            p.ts_us > last_ka
                && p.kind
                    == Kind::Bfd {
                        state: "Down".into(),
                    }
        })
        .map(|p| p.ts_us);
    let took = prio0 - last_ka;
    eprintln!(
        "{test}: keepalived's last BFD packet -> ours' priority-0 advert: {took} us \
         (detection time {DETECT_US} us); -> ours' first BFD Down packet: {:?} us",
        bfd_down.map(|t| t - last_ka)
    );
    assert!(
        took >= DETECT_US - 1_000,
        "ours declared Down {took} us after the last packet, before the detection time\n{}",
        around(&pkts, last_ka, 10)
    );
    assert!(
        took <= DETECT_US + SLACK_US,
        "ours declared Down {took} us after keepalived's last packet (> {} us)\n{}\n{}",
        DETECT_US + SLACK_US,
        around(&pkts, last_ka, 10),
        diag()
    );
    let bfd_down = bfd_down.unwrap_or_else(|| {
        panic!(
            "ours never sent a BFD Down packet\n{}",
            around(&pkts, last_ka, 10)
        )
    });
    assert!(
        bfd_down - last_ka <= DETECT_US + TX_US + SLACK_US,
        "ours' first BFD Down packet came {} us after the last packet",
        bfd_down - last_ka
    );

    // 3. Thaw: Up again on both sides, ours MASTER again.
    let ups = (ours.count(up), ka.count(up));
    signal(ka_bfd_pid, Signal::SIGCONT);
    wait_until(
        "b1 Up again on both sides",
        Duration::from_secs(15),
        || ours.count(up) > ups.0 && ka.count(up) > ups.1,
        diag,
    );
    wait_until(
        "ours MASTER again",
        Duration::from_secs(15),
        || has_addr(h1, "eth0", &vip) && !has_addr(h2, "eth0", &vip),
        diag,
    );
    drop(ka);
    drop(ours);
}

#[test]
fn bfd_interop_v4_ours_first() {
    run("bi4o", Fam::V4, true);
}

#[test]
fn bfd_interop_v4_keepalived_first() {
    run("bi4k", Fam::V4, false);
}

#[test]
fn bfd_interop_v6_ours_first() {
    run("bi6o", Fam::V6, true);
}

#[test]
fn bfd_interop_v6_keepalived_first() {
    run("bi6k", Fam::V6, false);
}
