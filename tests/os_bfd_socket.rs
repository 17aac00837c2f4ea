//! BFD UDP sockets on a real kernel: two network namespaces joined by a veth pair. A
//! session's transmit socket in one reaches the receive socket (3784 and 4784) in the other,
//! which reports source address and port, destination and the TTL / hop limit the sender
//! set, IPv4 and IPv6; the receive sockets of the two families do not see each other's
//! traffic (`IPV6_V6ONLY`); a taken source port makes `open_in_range` take the next one, and
//! wraps from 65535 to 49152.

// End-to-end waits on a real kernel are measured with the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{e2e_ready, Netns};
use keepalived_rs::os::bfd_socket::{
    BfdFamily, BfdRx, BfdRxSocket, BfdTxSocket, SRC_PORT_MAX, SRC_PORT_MIN,
};
use keepalived_rs::os::netns;

/// Two namespaces, `ba` in A (192.0.2.1, fd00::1) and `bb` in B (.2, ::2).
fn pair(tag: &str) -> (Netns, Netns) {
    let a = Netns::new(&format!("{tag}a"));
    let b = Netns::new(&format!("{tag}b"));
    a.ip(&[
        "link", "add", "ba", "type", "veth", "peer", "name", "bb", "netns", &b.name,
    ]);
    for (ns, dev, v4, v6) in [
        (&a, "ba", "192.0.2.1/24", "fd00::1/64"),
        (&b, "bb", "192.0.2.2/24", "fd00::2/64"),
    ] {
        ns.ip(&["link", "set", dev, "addrgenmode", "none"]);
        ns.ip(&["addr", "add", v4, "dev", dev]);
        ns.ip(&["addr", "add", v6, "dev", dev, "nodad"]);
        ns.ip(&["link", "set", dev, "up"]);
    }
    for (ns, dev) in [(&a, "ba"), (&b, "bb")] {
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

fn rx(ns: &Netns, family: BfdFamily, port: u16) -> BfdRxSocket {
    netns::run_in(&ns.name, move || BfdRxSocket::open(family, port))
        .unwrap()
        .expect("open BFD receive socket")
}

fn tx(ns: &Netns, family: BfdFamily, local: Option<IpAddr>, port: u16, ttl: u8) -> BfdTxSocket {
    netns::run_in(&ns.name, move || {
        BfdTxSocket::open_in_range(family, local, port, ttl)
    })
    .unwrap()
    .expect("open BFD send socket")
}

/// Waits up to 2 s for one datagram.
fn recv_one(s: &mut BfdRxSocket, buf: &mut [u8]) -> Option<BfdRx> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        if let Some(p) = s.recv(buf).expect("recv") {
            return Some(p);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn bfd_udp_v4_v6_ttl_dst_and_ports() {
    if !e2e_ready("bfd_udp_v4_v6_ttl_dst_and_ports", false) {
        return;
    }
    let (a, b) = pair("bsk");
    let mut rx4 = rx(&b, BfdFamily::V4, 3784);
    let mut rx6 = rx(&b, BfdFamily::V6, 3784);
    let mut rx4m = rx(&b, BfdFamily::V4, 4784);
    let mut buf = [0u8; 128];
    let payload: Vec<u8> = (0..24).collect();

    // IPv4, bound source, TTL 255.
    let mut t4 = tx(&a, BfdFamily::V4, Some(ip("192.0.2.1")), 49200, 255);
    assert_eq!(t4.port(), 49200);
    t4.send(&payload, ip("192.0.2.2"), 3784).unwrap();
    let p = recv_one(&mut rx4, &mut buf).expect("IPv4 datagram");
    assert_eq!(p.src, "192.0.2.1:49200".parse().unwrap());
    assert_eq!(p.dst, ip("192.0.2.2"));
    assert_eq!(
        (p.ttl, p.local_port, p.len, p.truncated),
        (255, 3784, 24, false)
    );
    assert_eq!(&buf[..24], &payload[..]);
    // The IPv6 socket did not see it.
    assert!(rx6.recv(&mut buf).unwrap().is_none());

    // A new TTL applies to what follows; multihop port.
    t4.set_ttl(17).unwrap();
    t4.send(&payload[..10], ip("192.0.2.2"), 4784).unwrap();
    let p = recv_one(&mut rx4m, &mut buf).expect("IPv4 multihop datagram");
    assert_eq!((p.ttl, p.local_port, p.len), (17, 4784, 10));
    assert!(rx4.recv(&mut buf).unwrap().is_none());

    // IPv6, unbound source (the kernel picks fd00::1), hop limit 64; then 255.
    let mut t6 = tx(&a, BfdFamily::V6, None, 50000, 64);
    t6.send(&payload, ip("fd00::2"), 3784).unwrap();
    let p = recv_one(&mut rx6, &mut buf).expect("IPv6 datagram");
    assert_eq!(p.src, "[fd00::1]:50000".parse().unwrap());
    assert_eq!(p.dst, ip("fd00::2"));
    assert_eq!((p.ttl, p.local_port, p.len), (64, 3784, 24));
    assert!(rx4.recv(&mut buf).unwrap().is_none());
    t6.set_ttl(255).unwrap();
    t6.send(&payload, ip("fd00::2"), 3784).unwrap();
    assert_eq!(recv_one(&mut rx6, &mut buf).unwrap().ttl, 255);

    // Truncation is reported, not hidden.
    let big = vec![7u8; 200];
    t6.send(&big, ip("fd00::2"), 3784).unwrap();
    let p = recv_one(&mut rx6, &mut buf).unwrap();
    assert!(p.truncated);
    assert_eq!(p.len, buf.len());

    // Wrong family for the socket: an error, not a panic.
    assert!(t6.send(&payload, ip("192.0.2.2"), 3784).is_err());
    assert_eq!(rx4.malformed() + rx6.malformed(), 0);
}

#[test]
fn bfd_tx_port_conflict_takes_the_next_port() {
    if !e2e_ready("bfd_tx_port_conflict_takes_the_next_port", false) {
        return;
    }
    let (a, _b) = pair("bpc");
    let first = tx(&a, BfdFamily::V4, None, 49500, 255);
    assert_eq!(first.port(), 49500);
    // Same (address, port): the exact open fails, the range open moves on.
    let exact = netns::run_in(&a.name, || {
        BfdTxSocket::open(BfdFamily::V4, None, 49500, 255)
    })
    .unwrap();
    assert_eq!(
        exact.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::AddrInUse)
    );
    let second = tx(&a, BfdFamily::V4, Some(ip("192.0.2.1")), 49500, 255);
    assert_eq!(second.port(), 49501);
    // The top of the range wraps to its bottom.
    let top = tx(&a, BfdFamily::V4, None, SRC_PORT_MAX, 255);
    assert_eq!(top.port(), SRC_PORT_MAX);
    let wrapped = tx(&a, BfdFamily::V4, None, SRC_PORT_MAX, 255);
    assert_eq!(wrapped.port(), SRC_PORT_MIN);
    // A port below the range is brought into it.
    let low = tx(&a, BfdFamily::V6, None, 1000, 64);
    assert!((SRC_PORT_MIN..=SRC_PORT_MAX).contains(&low.port()));
    // IPv4 and IPv6 ports are separate (IPV6_V6ONLY).
    let v6 = tx(&a, BfdFamily::V6, None, 49500, 64);
    assert_eq!(v6.port(), 49500);
    // A source address not (yet) on the host still binds (IP_FREEBIND).
    let free = tx(&a, BfdFamily::V4, Some(ip("198.18.0.1")), 49600, 255);
    assert_eq!(free.port(), 49600);
    // Family mismatch between source and socket is refused.
    let bad = netns::run_in(&a.name, || {
        BfdTxSocket::open(BfdFamily::V6, Some("192.0.2.1".parse().unwrap()), 49700, 64)
    })
    .unwrap();
    assert!(bad.is_err());
}

#[test]
fn bfd_rx_port_taken_is_an_error() {
    if !e2e_ready("bfd_rx_port_taken_is_an_error", false) {
        return;
    }
    let (a, _b) = pair("brx");
    let _one = rx(&a, BfdFamily::V4, 3784);
    let two = netns::run_in(&a.name, || BfdRxSocket::open(BfdFamily::V4, 3784)).unwrap();
    assert!(two.is_err());
    // The other family's wildcard is independent.
    let _six = rx(&a, BfdFamily::V6, 3784);
}

#[test]
fn bfd_send_after_port_unreachable_still_goes_out() {
    if !e2e_ready("bfd_send_after_port_unreachable_still_goes_out", false) {
        return;
    }
    let (a, b) = pair("bpu");
    let mut t = tx(&a, BfdFamily::V4, Some(ip("192.0.2.1")), 49300, 255);
    // Nobody listens on 3790 yet: the ICMP port unreachable comes back to the socket.
    t.send(&[1; 24], ip("192.0.2.2"), 3790).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut r = rx(&b, BfdFamily::V4, 3790);
    // The pending error is reported, and the packet is sent all the same.
    let e = t.send(&[2; 24], ip("192.0.2.2"), 3790);
    assert_eq!(
        e.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::ConnectionRefused)
    );
    let mut buf = [0u8; 64];
    let p = recv_one(&mut r, &mut buf).expect("the packet after the ICMP error");
    assert_eq!((p.len, buf[0]), (24, 2));
    // And the next ones as usual.
    t.send(&[3; 24], ip("192.0.2.2"), 3790).unwrap();
    recv_one(&mut r, &mut buf).expect("next packet");
    assert_eq!(buf[0], 3);
}
