//! Accept mode on the real kernel (RFC 5798 §6.1, keepalived's `accept` / `no_accept`): a
//! master with `no_accept` holds its VIP but drops traffic addressed to it (a TCP connection
//! to the VIP times out), while its own address still answers; with accept mode the VIP
//! answers (connection refused: the kernel's RST). The nftables table is removed at exit.
//! Needs root and the `nft` program.

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::e2e_ready;
use common::lan::{has_addr, wait_until, Daemon, Lan, TestDir};
use std::process::Command;
use std::time::Duration;

const VIP: &str = "192.0.2.170";

fn conf(extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 70\n    \
         priority 150\n    advert_int 1\n{extra}    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    )
}

/// curl's exit status for a TCP connection to `addr:9` from namespace `ns`: 7 refused
/// (the host answered with a RST), 28 timed out (dropped).
fn probe(ns: &common::Netns, addr: &str) -> i32 {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "curl",
            "-s",
            "--connect-timeout",
            "1",
        ])
        .arg(format!("http://{addr}:9/"))
        .output()
        .expect("curl");
    out.status.code().unwrap_or(-1)
}

fn nft_has_table(ns: &common::Netns) -> bool {
    Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "nft",
            "list",
            "table",
            "inet",
            "keepalived",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn no_accept_drops_traffic_to_the_vip_accept_does_not() {
    if !e2e_ready("no_accept_drops_traffic_to_the_vip_accept_does_not", false) {
        return;
    }
    assert!(
        Command::new("nft").arg("--version").output().is_ok(),
        "nft missing (apt-get install nftables)"
    );
    let lan = Lan::new("na", 2);
    let dir = TestDir::new("na");
    let (h1, h2) = (lan.host(1), lan.host(2));

    let mut a = Daemon::ours(h1, &dir, "a", &conf("    no_accept\n"));
    wait_until(
        "A to hold the VIP",
        Duration::from_secs(15),
        || has_addr(h1, "eth0", VIP),
        || a.tail(40),
    );
    assert_eq!(
        probe(h2, "192.0.2.1"),
        7,
        "A's own address answers (refused)"
    );
    assert_eq!(
        probe(h2, VIP),
        28,
        "no_accept: traffic to the VIP is dropped\n{}",
        a.tail(40)
    );
    assert!(nft_has_table(h1));
    assert_eq!(a.stop(), Some(0));
    assert!(!nft_has_table(h1), "the filter table is removed at exit");

    let _b = Daemon::ours(h1, &dir, "b", &conf(""));
    wait_until(
        "the VIP again",
        Duration::from_secs(15),
        || has_addr(h1, "eth0", VIP),
        String::new,
    );
    assert_eq!(probe(h2, VIP), 7, "accept mode: the VIP answers");
}
