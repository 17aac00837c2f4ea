//! `use_vmac` on the real kernel: the instance runs on a macvlan named `vrrp.VRID` with the
//! RFC 5798 §7.3 virtual MAC, the VIP lives on the master's VMAC, moves to the backup's
//! VMAC when the master freezes, and the VMAC is deleted at exit. Also against keepalived
//! 2.2.7 with `use_vmac`. Needs root.

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::lan::{has_addr, wait_until, Daemon, Lan, TestDir};
use common::{e2e_ready, Netns};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);

fn conf(prio: u8) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    use_vmac\n    \
         virtual_router_id 52\n    priority {prio}\n    advert_int 1\n    \
         virtual_ipaddress {{\n        192.0.2.152/24\n    }}\n}}\n"
    )
}

fn link(ns: &Netns, dev: &str) -> Option<String> {
    let out = std::process::Command::new("ip")
        .args(["-n", &ns.name, "-o", "link", "show", "dev", dev])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn logs(ds: &[&Daemon]) -> String {
    ds.iter().map(|d| d.tail(40)).collect()
}

fn run(peer_is_keepalived: bool) {
    let tag = if peer_is_keepalived { "vmk" } else { "vmo" };
    let lan = Lan::new(tag, 2);
    let dir = TestDir::new(tag);
    let (h1, h2) = (lan.host(1), lan.host(2));
    let ours = Daemon::ours(h1, &dir, "ours", &conf(200));
    let peer = if peer_is_keepalived {
        Daemon::keepalived(h2, &dir, "peer", &conf(100))
    } else {
        Daemon::ours(h2, &dir, "peer", &conf(100))
    };
    let ds = [&ours, &peer];
    wait_until(
        "the VIP on our VMAC",
        LIMIT,
        || has_addr(h1, "vrrp.52", "192.0.2.152"),
        || logs(&ds),
    );
    let l = link(h1, "vrrp.52").expect("our VMAC exists");
    assert!(
        l.contains("00:00:5e:00:01:34"),
        "RFC virtual MAC for VRID 52: {l}"
    );
    assert!(
        l.contains("macvlan") || l.contains("vrrp.52@eth0"),
        "a macvlan on eth0: {l}"
    );
    assert!(
        !has_addr(h2, "vrrp.52", "192.0.2.152"),
        "backup must not hold the VIP\n{}",
        logs(&ds)
    );
    assert!(
        !has_addr(h1, "eth0", "192.0.2.152"),
        "VIP belongs on the VMAC, not eth0"
    );

    // The VMAC comes up with the instance: no FAULT on the way (the monitor's stale
    // link-down event from the macvlan's creation is checked against the kernel).
    assert_eq!(
        ours.count("Entering FAULT STATE"),
        0,
        "no FAULT at start\n{}",
        logs(&ds)
    );

    // Freeze the master: the backup takes the VIP onto its VMAC.
    ours.freeze();
    wait_until(
        "the peer's VMAC to take the VIP",
        LIMIT,
        || has_addr(h2, "vrrp.52", "192.0.2.152"),
        || logs(&ds),
    );
    ours.thaw();
    wait_until(
        "the VIP back on our VMAC (preemption)",
        LIMIT,
        || has_addr(h1, "vrrp.52", "192.0.2.152") && !has_addr(h2, "vrrp.52", "192.0.2.152"),
        || logs(&ds),
    );
    drop(peer);
    let mut ours = ours;
    assert_eq!(ours.stop(), Some(0), "{}", logs(&[&ours]));
    assert!(link(h1, "vrrp.52").is_none(), "our VMAC is deleted at exit");
}

#[test]
fn vmac_ours_and_ours() {
    if !e2e_ready("vmac_ours_and_ours", false) {
        return;
    }
    run(false);
}

#[test]
fn vmac_ours_and_keepalived() {
    if !e2e_ready("vmac_ours_and_keepalived", true) {
        return;
    }
    run(true);
}

/// A reload that drops a `use_vmac` instance deletes its VMAC (and its VIP with it); the
/// instance that stays keeps its VMAC and stays MASTER.
#[test]
fn vmac_deleted_when_its_instance_is_removed_by_reload() {
    if !e2e_ready("vmac_deleted_when_its_instance_is_removed_by_reload", false) {
        return;
    }
    let lan = Lan::new("vmr", 1);
    let dir = TestDir::new("vmr");
    let h1 = lan.host(1);
    let second = "vrrp_instance VI_2 {\n    state MASTER\n    interface eth0\n    use_vmac\n    \
                  virtual_router_id 53\n    priority 200\n    advert_int 1\n    \
                  virtual_ipaddress {\n        192.0.2.153/24\n    }\n}\n";
    let both = format!("{}{second}", conf(200));
    let ours = Daemon::ours(h1, &dir, "ours", &both);
    let ds = [&ours];
    wait_until(
        "both VIPs on their VMACs",
        LIMIT,
        || has_addr(h1, "vrrp.52", "192.0.2.152") && has_addr(h1, "vrrp.53", "192.0.2.153"),
        || logs(&ds),
    );
    let backups = ours.count("Entering BACKUP STATE");
    dir.write("ours.conf", &conf(200), false);
    ours.reload();
    wait_until(
        "VI_2's VMAC deleted",
        LIMIT,
        || link(h1, "vrrp.53").is_none() && ours.count("deleted unused VMAC vrrp.53") == 1,
        || logs(&ds),
    );
    assert!(has_addr(h1, "vrrp.52", "192.0.2.152"), "{}", logs(&ds));
    assert_eq!(
        ours.count("deleted unused VMAC vrrp.53"),
        1,
        "{}",
        logs(&ds)
    );
    assert_eq!(
        ours.count("Entering BACKUP STATE"),
        backups,
        "VI_1 stays MASTER\n{}",
        logs(&ds)
    );
}
