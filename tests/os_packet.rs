//! AF_PACKET on a real kernel: gratuitous ARP and unsolicited NA frames sent with
//! `PacketSocket` in one namespace are captured in the other (by our capture socket and by
//! tcpdump when it is installed) and decode to what the wire layer built.

// End-to-end waits on a real kernel are measured with the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{e2e_ready, Netns};
use keepalived_rs::os::netlink::NetlinkClient;
use keepalived_rs::os::netns;
use keepalived_rs::os::packet::{PacketCapture, PacketSocket};
use keepalived_rs::wire::arp::{ArpFrame, ArpOperation, BROADCAST};
use keepalived_rs::wire::ndp::{NaFrame, ALL_NODES, ALL_NODES_MAC};

fn pair(tag: &str) -> (Netns, Netns) {
    let a = Netns::new(&format!("{tag}a"));
    let b = Netns::new(&format!("{tag}b"));
    a.ip(&[
        "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", &b.name,
    ]);
    a.ip(&["link", "set", "va", "up"]);
    b.ip(&["link", "set", "vb", "up"]);
    for (ns, dev) in [(&a, "va"), (&b, "vb")] {
        let start = Instant::now();
        while !String::from_utf8_lossy(&ns.ip(&["link", "show", "dev", dev]).stdout)
            .contains("state UP")
        {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{dev} never came up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    (a, b)
}

/// Waits for a frame that `accept` takes.
fn capture<T>(cap: &PacketCapture, accept: impl Fn(&[u8]) -> Option<T>) -> T {
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        while let Some(n) = cap.recv(&mut buf).expect("capture") {
            if let Some(v) = accept(&buf[..n]) {
                return v;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("frame not captured");
}

#[test]
fn garp_and_na_cross_the_veth() {
    if !e2e_ready("packet garp_and_na_cross_the_veth", false) {
        return;
    }
    let (a, b) = pair("pk");
    let (mut tx, va, mac) = netns::run_in(&a.name, || {
        let mut nl = NetlinkClient::open().unwrap();
        let l = nl.link_by_name("va").unwrap().unwrap();
        (PacketSocket::open().unwrap(), l.ifindex, l.mac.unwrap())
    })
    .unwrap();
    let (arp_cap, ip6_cap) = netns::run_in(&b.name, || {
        let vb = nix::net::if_::if_nametoindex("vb").unwrap();
        (
            PacketCapture::arp(vb).unwrap(),
            PacketCapture::ipv6(vb).unwrap(),
        )
    })
    .unwrap();

    // tcpdump as an independent witness, when installed.
    let pcap = std::env::temp_dir().join(format!("kvrs-os-pk-{}.txt", std::process::id()));
    let tcpdump = Command::new("tcpdump").arg("--version").output().is_ok();
    let mut td = tcpdump.then(|| {
        b.cmd("tcpdump")
            .args(["-l", "-n", "-e", "-i", "vb", "arp or icmp6"])
            .stdout(std::fs::File::create(&pcap).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    });
    if td.is_some() {
        std::thread::sleep(Duration::from_millis(1500));
    }

    let vip4 = Ipv4Addr::new(192, 0, 2, 100);
    tx.send_garp(va, mac, vip4).unwrap();
    let garp = capture(&arp_cap, |f| {
        ArpFrame::parse(f).ok().filter(|g| g.sender_ip == vip4)
    });
    assert_eq!(garp, ArpFrame::gratuitous(mac, vip4));
    assert_eq!(garp.ethernet.dst, BROADCAST);
    assert_eq!(garp.operation, ArpOperation::Request);
    assert!(garp.is_gratuitous());

    let vip6: Ipv6Addr = "fd00::100".parse().unwrap();
    tx.send_na(va, mac, vip6, true).unwrap();
    let na = capture(&ip6_cap, |f| {
        NaFrame::parse(f).ok().filter(|n| n.na.target == vip6)
    });
    assert_eq!(na, NaFrame::unsolicited(mac, vip6, true));
    assert_eq!(
        (na.ethernet.dst, na.ip.dst, na.ip.hop_limit),
        (ALL_NODES_MAC, ALL_NODES, 255)
    );
    assert!(na.na.router && na.na.override_flag && !na.na.solicited);
    assert_eq!(na.na.target_ll_addr, Some(mac));

    tx.send_na(va, mac, vip6, false).unwrap();
    let na = capture(&ip6_cap, |f| {
        NaFrame::parse(f).ok().filter(|n| n.na.target == vip6)
    });
    assert!(!na.na.router);

    // A bad interface index is an error naming it, not a panic.
    let e = tx.send_garp(999_999, mac, vip4).unwrap_err();
    assert!(e.to_string().contains("ifindex 999999"), "{e}");

    if let Some(td) = td.as_mut() {
        std::thread::sleep(Duration::from_millis(500));
        let _ = td.kill();
        let _ = td.wait();
        let text = std::fs::read_to_string(&pcap).unwrap_or_default();
        let _ = std::fs::remove_file(&pcap);
        assert!(
            text.lines()
                .any(|l| l.contains("ff:ff:ff:ff:ff:ff, ethertype ARP")
                    && l.contains("Request who-has 192.0.2.100")
                    && l.contains("tell 192.0.2.100")),
            "tcpdump saw: {text}"
        );
        assert!(
            text.contains("neighbor advertisement") && text.contains("tgt is fd00::100"),
            "tcpdump saw: {text}"
        );
    } else {
        eprintln!("tcpdump not installed: only our capture socket checked the frames");
    }
}
