//! The IPVS adapter (`os::ipvs`) against a real kernel's IPVS, under QEMU.
//!
//! The development kernel has no IPVS, so `ipvs_in_qemu_vm` boots a stock Debian kernel with
//! the ip_vs modules (`tests/vm/ipvs-vm.sh run`) with this very test executable inside, and
//! the guest runs it again with `KVRS_IN_VM=1 --exact ipvs_vm_guest`: that test does the real
//! work (every `IpvsOp` on IPv4, IPv6 and fwmark services; NAT, DR and tunnel destinations;
//! reads back through `services()`/`dests()` and through `ipvsadm -Ln`, which must agree
//! with exact values) and returns at once anywhere else. Without the VM
//! (`tests/vm/ipvs-vm.sh setup` not run) the host test says so and is skipped, or fails with
//! `KVRS_REQUIRE_E2E=1`.
//!
//! `open_without_ipvs_is_a_clear_error` runs on the host kernel, which has no IPVS.
// Wall-clock durations of the VM run, for the log.
#![allow(clippy::disallowed_methods)]

use std::io;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use keepalived_rs::lvs::{Dest, DestKey, IpvsOp, Service, ServiceKey};
use keepalived_rs::os::ipvs::{
    Ipvs, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_TUNNEL,
    IP_VS_CONN_F_TUNNEL_TYPE_GRE, IP_VS_CONN_F_TUNNEL_TYPE_GUE, IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
    IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2,
};
use keepalived_rs::os::netlink::errno;

mod common;

use common::vm::{run_vm, vm_ready};

const IN_VM: &str = "KVRS_IN_VM";
const GUEST_TEST: &str = "ipvs_vm_guest";

fn in_vm() -> bool {
    std::env::var(IN_VM).as_deref() == Ok("1")
}

// --- host side ---------------------------------------------------------------------------

#[test]
fn ipvs_in_qemu_vm() {
    if in_vm() || !vm_ready("ipvs_in_qemu_vm") {
        return;
    }
    let exe = std::env::current_exe().expect("test executable");
    let name = exe.file_name().expect("file name").to_string_lossy();
    let guest = std::env::temp_dir().join(format!("kvrs-ipvs-vm-{}.sh", std::process::id()));
    std::fs::write(
        &guest,
        format!(
            "#!/bin/sh\ncd /tmp\nexport {IN_VM}=1 RUST_BACKTRACE=1\n\
             exec /usr/local/bin/{name} --exact {GUEST_TEST} --nocapture --test-threads=1\n"
        ),
    )
    .expect("write guest script");
    let (code, log) = run_vm(&guest, &[&exe]);
    let _ = std::fs::remove_file(&guest);
    assert_eq!(
        code,
        Some(0),
        "the guest test failed (99: the VM gave no result)"
    );
    // `--exact` with a wrong name runs nothing and still succeeds.
    assert!(
        log.contains("test result: ok. 1 passed"),
        "the guest did not run {GUEST_TEST}"
    );
}

#[test]
fn open_without_ipvs_is_a_clear_error() {
    if in_vm() {
        return;
    }
    match Ipvs::open() {
        Ok(_) => {
            assert!(
                Path::new("/proc/net/ip_vs").exists(),
                "Ipvs::open succeeded on a kernel without IPVS"
            );
            eprintln!("this kernel has IPVS: the no-IPVS error cannot be seen here");
        }
        Err(e) => {
            assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
            assert_eq!(
                e.to_string(),
                "IPVS not available (is the ip_vs module loaded?)"
            );
        }
    }
}

// --- guest side --------------------------------------------------------------------------

const TCP: u8 = 6;
const UDP: u8 = 17;

fn addr_key(protocol: u8, addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol,
        addr: addr.parse().unwrap(),
        port,
    }
}

fn svc(key: ServiceKey, scheduler: &str, flags: u32, timeout_s: u32, netmask: u32) -> Service {
    Service {
        key,
        scheduler: scheduler.into(),
        flags,
        timeout_s,
        netmask,
        pe_name: None,
    }
}

fn v4_mask(a: [u8; 4]) -> u32 {
    u32::from_ne_bytes(a)
}

fn dest(addr: &str, port: u16, fwd_method: u32, weight: u32) -> Dest {
    Dest {
        key: DestKey {
            addr: addr.parse().unwrap(),
            port,
        },
        fwd_method,
        weight,
        u_threshold: 0,
        l_threshold: 0,
        tun_type: 0,
        tun_port: 0,
        tun_flags: 0,
    }
}

fn tunnel(mut d: Dest, tun_type: u8, tun_port: u16, tun_flags: u16) -> Dest {
    d.tun_type = tun_type;
    d.tun_port = tun_port;
    d.tun_flags = tun_flags;
    d
}

fn thresholds(mut d: Dest, u: u32, l: u32) -> Dest {
    d.u_threshold = u;
    d.l_threshold = l;
    d
}

/// The kernel's table as read back through the adapter, sorted.
fn read_back(ipvs: &mut Ipvs) -> Vec<(Service, Vec<Dest>)> {
    let mut services = ipvs.services().expect("services()");
    services.sort_by_key(|s| s.key);
    services
        .into_iter()
        .map(|s| {
            let mut d = ipvs.dests(&s.key).expect("dests()");
            d.sort_by_key(|d| d.key);
            (s, d)
        })
        .collect()
}

fn sorted(mut table: Vec<(Service, Vec<Dest>)>) -> Vec<(Service, Vec<Dest>)> {
    table.sort_by_key(|(s, _)| s.key);
    for (_, d) in &mut table {
        d.sort_by_key(|d| d.key);
    }
    table
}

/// `ipvsadm -Ln ARGS` without its three header lines, spaces collapsed.
fn ipvsadm(args: &[&str]) -> String {
    let out = Command::new("ipvsadm")
        .arg("-Ln")
        .args(args)
        .output()
        .expect("run ipvsadm");
    assert!(out.status.success(), "ipvsadm -Ln {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(3)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn expect_ipvsadm(tun_info: &str, thresholds: &str) {
    let norm = |s: &str| {
        s.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        ipvsadm(&["--tun-info"]),
        norm(tun_info),
        "ipvsadm -Ln --tun-info"
    );
    assert_eq!(
        ipvsadm(&["--thresholds"]),
        norm(thresholds),
        "ipvsadm -Ln --thresholds"
    );
}

fn apply_all(ipvs: &mut Ipvs, ops: &[IpvsOp]) {
    for op in ops {
        ipvs.apply(op).unwrap_or_else(|e| panic!("{op:?}: {e}"));
    }
}

fn expect_err(ipvs: &mut Ipvs, op: IpvsOp, want: i32, text: &str) {
    let e = ipvs.apply(&op).expect_err(text);
    assert_eq!(errno(&e), Some(want), "{op:?}: {e}");
    assert_eq!(e.kind(), io::Error::from_raw_os_error(want).kind(), "{e}");
    assert!(e.to_string().starts_with(text), "{e} (want {text}...)");
}

#[test]
fn ipvs_vm_guest() {
    if !in_vm() {
        return;
    }
    let start = Instant::now();
    let mut ipvs = Ipvs::open().expect("Ipvs::open in the VM");
    ipvs.flush().expect("flush");
    assert_eq!(ipvs.services().unwrap(), vec![]);

    // --- add: services of each kind, destinations of each forwarding method --------------
    let tcp4 = svc(
        addr_key(TCP, "192.0.2.1", 80),
        "rr",
        0,
        0,
        v4_mask([255; 4]),
    );
    let udp6 = svc(
        addr_key(UDP, "fd00::1", 53),
        "wlc",
        IP_VS_SVC_F_PERSISTENT,
        300,
        64,
    );
    let fwm4 = svc(
        ServiceKey::Fwmark { af: 2, mark: 5 },
        "sh",
        IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1,
        600,
        v4_mask([255, 255, 255, 0]),
    );
    let fwm6 = svc(ServiceKey::Fwmark { af: 10, mark: 7 }, "lc", 0, 0, 128);
    let sip = Service {
        pe_name: Some("sip".into()),
        ..svc(
            addr_key(UDP, "192.0.2.2", 5060),
            "rr",
            IP_VS_SVC_F_PERSISTENT,
            60,
            v4_mask([255; 4]),
        )
    };
    let ops4 = svc(
        addr_key(UDP, "192.0.2.3", 53),
        "rr",
        IP_VS_SVC_F_ONEPACKET,
        0,
        v4_mask([255; 4]),
    );
    let nat4 = dest("192.0.2.10", 8080, IP_VS_CONN_F_MASQ, 1);
    let dr4 = thresholds(dest("192.0.2.11", 80, IP_VS_CONN_F_DROUTE, 3), 100, 10);
    let gue4 = tunnel(
        dest("192.0.2.12", 80, IP_VS_CONN_F_TUNNEL, 2),
        IP_VS_CONN_F_TUNNEL_TYPE_GUE,
        6080,
        0,
    );
    let nat6 = thresholds(dest("fd00::10", 5353, IP_VS_CONN_F_MASQ, 2), 50, 5);
    // GUE with remote checksum offload (keepalived's `tun_flags remcsum`, 2; ipvsadm shows
    // "r+c" for it and "(null)" for 3, which the kernel would take).
    let gue6 = tunnel(
        dest("fd00::11", 53, IP_VS_CONN_F_TUNNEL, 4),
        IP_VS_CONN_F_TUNNEL_TYPE_GUE,
        5555,
        2,
    );
    let dr_fwm = dest("198.18.0.5", 0, IP_VS_CONN_F_DROUTE, 0);
    // An IPv6 tunnel destination of an IPv4 service (IPVS_DEST_ATTR_ADDR_FAMILY).
    let ipip6 = tunnel(
        dest("fd00::20", 0, IP_VS_CONN_F_TUNNEL, 5),
        IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
        0,
        0,
    );
    let dr6 = dest("fd00::30", 0, IP_VS_CONN_F_DROUTE, 1);
    let gre4 = tunnel(
        dest("192.0.2.13", 53, IP_VS_CONN_F_TUNNEL, 1),
        IP_VS_CONN_F_TUNNEL_TYPE_GRE,
        0,
        1,
    );
    let mut ops = Vec::new();
    for s in [&tcp4, &udp6, &fwm4, &fwm6, &sip, &ops4] {
        ops.push(IpvsOp::AddService(s.clone()));
    }
    for (s, d) in [
        (&tcp4, &nat4),
        (&tcp4, &dr4),
        (&tcp4, &gue4),
        (&udp6, &nat6),
        (&udp6, &gue6),
        (&fwm4, &dr_fwm),
        (&fwm4, &ipip6),
        (&fwm6, &dr6),
        (&ops4, &gre4),
    ] {
        ops.push(IpvsOp::AddDest(s.key, d.clone()));
    }
    apply_all(&mut ipvs, &ops);
    assert_eq!(
        read_back(&mut ipvs),
        sorted(vec![
            (tcp4.clone(), vec![nat4.clone(), dr4.clone(), gue4.clone()]),
            (udp6.clone(), vec![nat6.clone(), gue6.clone()]),
            (fwm4.clone(), vec![dr_fwm.clone(), ipip6.clone()]),
            (fwm6.clone(), vec![dr6.clone()]),
            (sip.clone(), vec![]),
            (ops4.clone(), vec![gre4.clone()]),
        ])
    );
    expect_ipvsadm(
        "TCP 192.0.2.1:80 rr
         -> 192.0.2.10:8080 Masq n/a 1 0 0
         -> 192.0.2.11:80 Route n/a 3 0 0
         -> 192.0.2.12:80 Tunnel gue:6080:-c 2 0 0
         UDP 192.0.2.2:5060 rr persistent 60 pe sip
         UDP 192.0.2.3:53 rr ops
         -> 192.0.2.13:53 Tunnel gre:+c 1 0 0
         UDP [fd00::1]:53 wlc persistent 300 mask 64
         -> [fd00::10]:5353 Masq n/a 2 0 0
         -> [fd00::11]:53 Tunnel gue:5555:r+c 4 0 0
         FWM 5 sh (sh-fallback) persistent 600 mask 255.255.255.0
         -> 198.18.0.5:0 Route n/a 0 0 0
         -> [fd00::20]:0 Tunnel ipip 5 0 0
         FWM 7 IPv6 lc
         -> [fd00::30]:0 Route n/a 1 0 0",
        "TCP 192.0.2.1:80 rr
         -> 192.0.2.10:8080 0 0 0 0
         -> 192.0.2.11:80 100 10 0 0
         -> 192.0.2.12:80 0 0 0 0
         UDP 192.0.2.2:5060 rr persistent 60 pe sip
         UDP 192.0.2.3:53 rr ops
         -> 192.0.2.13:53 0 0 0 0
         UDP [fd00::1]:53 wlc persistent 300 mask 64
         -> [fd00::10]:5353 50 5 0 0
         -> [fd00::11]:53 0 0 0 0
         FWM 5 sh (sh-fallback) persistent 600 mask 255.255.255.0
         -> 198.18.0.5:0 0 0 0 0
         -> [fd00::20]:0 0 0 0 0
         FWM 7 IPv6 lc
         -> [fd00::30]:0 0 0 0 0",
    );

    // --- edit: a scheduler and persistence change, a weight and threshold change, a change
    // of tunnel type --------------------------------------------------------------------
    let tcp4_e = svc(
        tcp4.key,
        "wrr",
        IP_VS_SVC_F_PERSISTENT,
        120,
        v4_mask([255, 255, 0, 0]),
    );
    let nat4_e = thresholds(Dest { weight: 7, ..nat4 }, 1000, 500);
    let gre4_e = tunnel(gue4.clone(), IP_VS_CONN_F_TUNNEL_TYPE_GRE, 0, 1);
    let fwm6_e = svc(
        fwm6.key,
        "mh",
        IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2,
        0,
        128,
    );
    let udp6_e = svc(udp6.key, "wlc", IP_VS_SVC_F_PERSISTENT, 900, 48);
    let gue6_e = thresholds(Dest { weight: 9, ..gue6 }, 20, 2);
    apply_all(
        &mut ipvs,
        &[
            IpvsOp::EditService(tcp4_e.clone()),
            IpvsOp::EditDest(tcp4.key, nat4_e.clone()),
            IpvsOp::EditDest(tcp4.key, gre4_e.clone()),
            IpvsOp::EditService(fwm6_e.clone()),
            IpvsOp::EditService(udp6_e.clone()),
            IpvsOp::EditDest(udp6.key, gue6_e.clone()),
        ],
    );
    assert_eq!(
        read_back(&mut ipvs),
        sorted(vec![
            (
                tcp4_e.clone(),
                vec![nat4_e.clone(), dr4.clone(), gre4_e.clone()]
            ),
            (udp6_e.clone(), vec![nat6.clone(), gue6_e.clone()]),
            (fwm4.clone(), vec![dr_fwm.clone(), ipip6.clone()]),
            (fwm6_e.clone(), vec![dr6.clone()]),
            (sip.clone(), vec![]),
            (ops4.clone(), vec![gre4.clone()]),
        ])
    );
    expect_ipvsadm(
        "TCP 192.0.2.1:80 wrr persistent 120 mask 255.255.0.0
         -> 192.0.2.10:8080 Masq n/a 7 0 0
         -> 192.0.2.11:80 Route n/a 3 0 0
         -> 192.0.2.12:80 Tunnel gre:+c 2 0 0
         UDP 192.0.2.2:5060 rr persistent 60 pe sip
         UDP 192.0.2.3:53 rr ops
         -> 192.0.2.13:53 Tunnel gre:+c 1 0 0
         UDP [fd00::1]:53 wlc persistent 900 mask 48
         -> [fd00::10]:5353 Masq n/a 2 0 0
         -> [fd00::11]:53 Tunnel gue:5555:r+c 9 0 0
         FWM 5 sh (sh-fallback) persistent 600 mask 255.255.255.0
         -> 198.18.0.5:0 Route n/a 0 0 0
         -> [fd00::20]:0 Tunnel ipip 5 0 0
         FWM 7 IPv6 mh (mh-fallback,mh-port)
         -> [fd00::30]:0 Route n/a 1 0 0",
        "TCP 192.0.2.1:80 wrr persistent 120 mask 255.255.0.0
         -> 192.0.2.10:8080 1000 500 0 0
         -> 192.0.2.11:80 100 10 0 0
         -> 192.0.2.12:80 0 0 0 0
         UDP 192.0.2.2:5060 rr persistent 60 pe sip
         UDP 192.0.2.3:53 rr ops
         -> 192.0.2.13:53 0 0 0 0
         UDP [fd00::1]:53 wlc persistent 900 mask 48
         -> [fd00::10]:5353 50 5 0 0
         -> [fd00::11]:53 20 2 0 0
         FWM 5 sh (sh-fallback) persistent 600 mask 255.255.255.0
         -> 198.18.0.5:0 0 0 0 0
         -> [fd00::20]:0 0 0 0 0
         FWM 7 IPv6 mh (mh-fallback,mh-port)
         -> [fd00::30]:0 0 0 0 0",
    );

    // --- the kernel's refusals, with their errno ------------------------------------------
    let nowhere = addr_key(TCP, "192.0.2.99", 80);
    expect_err(
        &mut ipvs,
        IpvsOp::AddService(tcp4.clone()),
        libc::EEXIST,
        "add IPVS service TCP 192.0.2.1:80: ",
    );
    expect_err(
        &mut ipvs,
        IpvsOp::EditService(svc(nowhere, "rr", 0, 0, u32::MAX)),
        libc::ESRCH,
        "edit IPVS service TCP 192.0.2.99:80: ",
    );
    expect_err(
        &mut ipvs,
        IpvsOp::DelService(nowhere),
        libc::ESRCH,
        "delete IPVS service TCP 192.0.2.99:80: ",
    );
    expect_err(
        &mut ipvs,
        IpvsOp::AddService(svc(nowhere, "nosuch", 0, 0, u32::MAX)),
        libc::ENOENT,
        "add IPVS service TCP 192.0.2.99:80: ",
    );
    expect_err(
        &mut ipvs,
        IpvsOp::AddDest(nowhere, nat4_e.clone()),
        libc::ESRCH,
        "add IPVS destination 192.0.2.10:8080 to TCP 192.0.2.99:80: ",
    );
    expect_err(
        &mut ipvs,
        IpvsOp::AddDest(tcp4.key, nat4_e.clone()),
        libc::EEXIST,
        "add IPVS destination 192.0.2.10:8080 to TCP 192.0.2.1:80: ",
    );
    let absent = dest("192.0.2.98", 80, IP_VS_CONN_F_DROUTE, 1);
    expect_err(
        &mut ipvs,
        IpvsOp::EditDest(tcp4.key, absent.clone()),
        libc::ENOENT,
        "edit IPVS destination 192.0.2.98:80 of TCP 192.0.2.1:80: ",
    );
    expect_err(
        &mut ipvs,
        IpvsOp::DelDest(tcp4.key, absent.key),
        libc::ENOENT,
        "delete IPVS destination 192.0.2.98:80 from TCP 192.0.2.1:80: ",
    );
    assert_eq!(ipvs.dests(&nowhere).expect("dests of no service"), vec![]);

    // --- delete: destinations (one of another family), services with and without theirs -
    apply_all(
        &mut ipvs,
        &[
            IpvsOp::DelDest(tcp4.key, dr4.key),
            IpvsOp::DelDest(fwm4.key, ipip6.key),
            IpvsOp::DelDest(udp6.key, nat6.key),
            IpvsOp::DelService(fwm6.key),
            IpvsOp::DelService(sip.key),
        ],
    );
    assert_eq!(
        read_back(&mut ipvs),
        sorted(vec![
            (tcp4_e.clone(), vec![nat4_e.clone(), gre4_e.clone()]),
            (udp6_e.clone(), vec![gue6_e.clone()]),
            (fwm4.clone(), vec![dr_fwm.clone()]),
            (ops4.clone(), vec![gre4.clone()]),
        ])
    );
    expect_ipvsadm(
        "TCP 192.0.2.1:80 wrr persistent 120 mask 255.255.0.0
         -> 192.0.2.10:8080 Masq n/a 7 0 0
         -> 192.0.2.12:80 Tunnel gre:+c 2 0 0
         UDP 192.0.2.3:53 rr ops
         -> 192.0.2.13:53 Tunnel gre:+c 1 0 0
         UDP [fd00::1]:53 wlc persistent 900 mask 48
         -> [fd00::11]:53 Tunnel gue:5555:r+c 9 0 0
         FWM 5 sh (sh-fallback) persistent 600 mask 255.255.255.0
         -> 198.18.0.5:0 Route n/a 0 0 0",
        "TCP 192.0.2.1:80 wrr persistent 120 mask 255.255.0.0
         -> 192.0.2.10:8080 1000 500 0 0
         -> 192.0.2.12:80 0 0 0 0
         UDP 192.0.2.3:53 rr ops
         -> 192.0.2.13:53 0 0 0 0
         UDP [fd00::1]:53 wlc persistent 900 mask 48
         -> [fd00::11]:53 20 2 0 0
         FWM 5 sh (sh-fallback) persistent 600 mask 255.255.255.0
         -> 198.18.0.5:0 0 0 0 0",
    );

    // --- flush --------------------------------------------------------------------------
    ipvs.flush().expect("flush");
    assert_eq!(read_back(&mut ipvs), vec![]);
    expect_ipvsadm("", "");
    assert_eq!(ipvs.malformed(), 0, "kernel replies that did not decode");
    eprintln!(
        "ipvs_vm_guest: done in {:.2} s",
        start.elapsed().as_secs_f64()
    );
}
