//! `global_defs` process settings on the real kernel: `vrrp_priority` (nice),
//! `vrrp_rt_priority` (SCHED_RR) and `vrrp_no_swap` (mlockall) are applied to the daemon,
//! as keepalived applies them to its VRRP child. Needs root.

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::e2e_ready;
use common::lan::{wait_until, Daemon, Lan, TestDir};
use std::time::Duration;

/// (nice, rt_priority, policy) from /proc/PID/stat (fields 19, 40, 41), and VmLck in KiB.
fn sched_of(pid: i32) -> Option<(i64, i64, i64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let field = |n: usize| f.get(n - 3)?.parse::<i64>().ok();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let locked = status
        .lines()
        .find(|l| l.starts_with("VmLck:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((field(19)?, field(40)?, field(41)?, locked))
}

#[test]
fn vrrp_process_settings_are_applied() {
    if !e2e_ready("vrrp_process_settings_are_applied", false) {
        return;
    }
    let lan = Lan::new("tun", 1);
    let dir = TestDir::new("tun");
    let conf = "global_defs {\n    vrrp_priority -7\n    vrrp_rt_priority 11\n    \
                vrrp_no_swap\n}\nvrrp_instance VI_1 {\n    interface eth0\n    \
                virtual_router_id 71\n    priority 100\n    advert_int 1\n    \
                virtual_ipaddress {\n        192.0.2.171/24\n    }\n}\n";
    let ours = Daemon::ours(lan.host(1), &dir, "ours", conf);
    wait_until(
        "the settings applied",
        Duration::from_secs(10),
        || {
            sched_of(ours.main_pid()).is_some_and(|(nice, rt, policy, locked)| {
                nice == -7 && rt == 11 && policy == 2 && locked > 0
            })
        },
        || format!("{:?}\n{}", sched_of(ours.main_pid()), ours.tail(20)),
    );
    assert_eq!(ours.count("realtime priority set to 11 (SCHED_RR)"), 1);
    assert_eq!(ours.count("not implemented"), 0, "{}", ours.tail(20));
}

/// Whether `pid` holds /dev/cpu_dma_latency open.
fn holds_cpu_latency(pid: i32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|dir| {
        dir.flatten().any(|e| {
            std::fs::read_link(e.path())
                .is_ok_and(|p| p == std::path::Path::new("/dev/cpu_dma_latency"))
        })
    })
}

/// The system-wide CPU latency target the kernel enforces (the lowest request held).
fn cpu_latency_target() -> Option<i32> {
    let b = std::fs::read("/dev/cpu_dma_latency").ok()?;
    Some(i32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

#[test]
fn cpu_dma_latency_is_held_and_released_by_reload() {
    if !e2e_ready("cpu_dma_latency_is_held_and_released_by_reload", false) {
        return;
    }
    let lan = Lan::new("tdl", 1);
    let dir = TestDir::new("tdl");
    let vrrp = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 72\n    \
                priority 100\n    advert_int 1\n    virtual_ipaddress {\n        \
                192.0.2.172/24\n    }\n}\n";
    let ours = Daemon::ours(
        lan.host(1),
        &dir,
        "ours",
        &format!("global_defs {{\n    cpu_dma_latency 3\n}}\n{vrrp}"),
    );
    wait_until(
        "the request held",
        Duration::from_secs(10),
        || holds_cpu_latency(ours.main_pid()),
        || ours.tail(20),
    );
    // Nothing else on a test machine asks for less than 3 µs.
    let target = cpu_latency_target();
    assert!(target.is_some_and(|t| t <= 3), "{target:?}");
    assert_eq!(
        ours.count("cpu_dma_latency set to 3 us"),
        1,
        "{}",
        ours.tail(20)
    );
    assert_eq!(ours.count("not implemented"), 0, "{}", ours.tail(20));

    dir.write("ours.conf", vrrp, false);
    ours.reload();
    wait_until(
        "the request released",
        Duration::from_secs(10),
        || !holds_cpu_latency(ours.main_pid()),
        || ours.tail(20),
    );
    assert_eq!(ours.count("cpu_dma_latency request released"), 1);
}
