//! The checker side on a kernel without IPVS (this development kernel): the daemon says so in
//! keepalived's words, still runs its checkers (a BFD_CHECK real server follows its session
//! in the log) and its VRRP instance takes the VIP. Needs root.

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::e2e_ready;
use common::lan::{has_addr, wait_until, Daemon, Lan, TestDir};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);

#[test]
fn no_ipvs_is_logged_and_the_rest_runs() {
    if !e2e_ready("no_ipvs_is_logged_and_the_rest_runs", false) {
        return;
    }
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        eprintln!("this kernel has IPVS: nothing to test here");
        return;
    }
    let lan = Lan::new("lni", 2);
    let dir = TestDir::new("lni");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let bfd = |peer: &str| {
        format!("bfd_instance b1 {{\n    neighbor_ip {peer}\n    min_rx 50\n    min_tx 50\n}}\n")
    };
    let main = format!(
        "{}vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 73\n    \
         priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        192.0.2.173/24\n    \
         }}\n}}\nvirtual_server 192.0.2.173 80 {{\n    protocol TCP\n    real_server 192.0.2.2 80 {{\n        \
         BFD_CHECK {{\n            name b1\n        }}\n    }}\n    \
         real_server 192.0.2.3 80 {{\n        SSL_GET {{\n            url {{\n                path /\n                regex ok\n            }}\n        }}\n    }}\n}}\n",
        bfd("192.0.2.2")
    );
    let ours = Daemon::ours(h1, &dir, "ours", &main);
    // The peer has a VRRP instance of its own only so that the test harness sees it start.
    let peer_conf = format!(
        "{}vrrp_instance VI_2 {{\n    interface eth0\n    virtual_router_id 74\n    \
         priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        192.0.2.174/24\n    \
         }}\n}}\n",
        bfd("192.0.2.1")
    );
    let peer = Daemon::ours(h2, &dir, "peer", &peer_conf);
    wait_until(
        "the VIP and the real server Up",
        LIMIT,
        || {
            has_addr(h1, "eth0", "192.0.2.173")
                && ours.count("BFD check of [b1] RS([192.0.2.2]:tcp:80) is UP") == 1
        },
        || ours.tail(30) + &peer.tail(10),
    );
    assert_eq!(
        ours.count("IPVS: Can't initialize ipvs:"),
        1,
        "{}",
        ours.tail(30)
    );
    assert!(
        ours.count("SSL_GET") >= 1 && ours.count("not implemented") >= 1,
        "the ignored SSL_GET (with a regex url) is reported: {}",
        ours.tail(30)
    );
    assert!(ours.running());
}
