//! Trackers fed by the daemon on the real kernel: a `track_file` whose value (changed by
//! the test, seen through inotify) lowers the master's priority so the backup preempts,
//! and a `track_interface` with weight 0 whose link going down faults the master. Needs
//! root.

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::e2e_ready;
use common::lan::{has_addr, wait_until, Daemon, Lan, TestDir};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);
const VIP: &str = "192.0.2.160";

fn logs(ds: &[&Daemon]) -> String {
    ds.iter().map(|d| d.tail(40)).collect()
}

fn inst(prio: u8, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 60\n    \
         priority {prio}\n    advert_int 1\n{extra}    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    )
}

#[test]
fn track_file_value_moves_priority_and_preempts() {
    if !e2e_ready("track_file_value_moves_priority_and_preempts", false) {
        return;
    }
    let lan = Lan::new("tf", 2);
    let dir = TestDir::new("tf");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let value = dir.join("weight.val");
    std::fs::write(&value, "0\n").unwrap();
    let tracked = format!(
        "track_file tf {{\n    file {}\n    weight 1\n}}\n{}",
        value.display(),
        inst(150, "    track_file {\n        tf weight -1\n    }\n")
    );
    let a = Daemon::ours(h1, &dir, "a", &tracked);
    let b = Daemon::ours(h2, &dir, "b", &inst(120, ""));
    let ds = [&a, &b];
    wait_until(
        "A (150) to hold the VIP",
        LIMIT,
        || has_addr(h1, "eth0", VIP),
        || logs(&ds),
    );
    // value 50 x weight -1 = -50: A's effective priority 100 < B's 120, and B preempts.
    std::fs::write(&value, "50\n").unwrap();
    wait_until(
        "B to preempt after the file lowered A's priority",
        LIMIT,
        || has_addr(h2, "eth0", VIP) && !has_addr(h1, "eth0", VIP),
        || logs(&ds),
    );
    // Back to 0: A is 150 again and preempts back.
    std::fs::write(&value, "0\n").unwrap();
    wait_until(
        "A to preempt back",
        LIMIT,
        || has_addr(h1, "eth0", VIP) && !has_addr(h2, "eth0", VIP),
        || logs(&ds),
    );
}

#[test]
fn tracked_interface_down_faults_the_master() {
    if !e2e_ready("tracked_interface_down_faults_the_master", false) {
        return;
    }
    let lan = Lan::new("ti", 2);
    let dir = TestDir::new("ti");
    let (h1, h2) = (lan.host(1), lan.host(2));
    // A second link on host 1 that the instance tracks with weight 0 (down means FAULT).
    h1.add_veth("trk0", "trk0p");
    let a = Daemon::ours(
        h1,
        &dir,
        "a",
        &inst(150, "    track_interface {\n        trk0\n    }\n"),
    );
    let b = Daemon::ours(h2, &dir, "b", &inst(120, ""));
    let ds = [&a, &b];
    wait_until(
        "A to hold the VIP",
        LIMIT,
        || has_addr(h1, "eth0", VIP),
        || logs(&ds),
    );
    h1.ip(&["link", "set", "trk0", "down"]);
    wait_until(
        "A to enter FAULT and B to take over",
        LIMIT,
        || {
            a.count("Entering FAULT STATE") >= 1
                && has_addr(h2, "eth0", VIP)
                && !has_addr(h1, "eth0", VIP)
        },
        || logs(&ds),
    );
    h1.ip(&["link", "set", "trk0", "up"]);
    wait_until(
        "A to recover and preempt back",
        LIMIT,
        || has_addr(h1, "eth0", VIP) && !has_addr(h2, "eth0", VIP),
        || logs(&ds),
    );
}
