//! Raw VRRP sockets on a real kernel: two network namespaces joined by a veth pair; adverts
//! sent with `VrrpSocket` in one arrive in the other with the right source, destination and
//! TTL/hop limit, multicast and unicast, IPv4 and IPv6; and the sockets receive the adverts of
//! the real keepalived 2.2.7.

// End-to-end waits on a real kernel and a real keepalived are measured with the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use common::{e2e_ready, Netns};
use keepalived_rs::os::netns;
use keepalived_rs::os::vrrp_socket::{RxPacket, VrrpSocket, VrrpSocketConfig, IPPROTO_AH};
use keepalived_rs::wire::ah::{verify_icv, AhKey};
use keepalived_rs::wire::ip::{VRRP_MULTICAST_V4, VRRP_MULTICAST_V6};
use keepalived_rs::wire::vrrp::{
    emit_ipv4_datagram, parse_ipv4_datagram, AdverInt, Advert, AdvertRepr, AuthType, ChecksumKind,
    Endpoints, Family, Ipv4Envelope, Version,
};

const A4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn a_ll() -> Ipv6Addr {
    "fe80::a".parse().unwrap()
}
fn a6() -> Ipv6Addr {
    "fd00::1".parse().unwrap()
}
fn b6() -> Ipv6Addr {
    "fd00::2".parse().unwrap()
}

/// Two namespaces, `va` in A and `vb` in B, with fixed link-locals (no DAD wait).
fn pair(tag: &str) -> (Netns, Netns) {
    let a = Netns::new(&format!("{tag}a"));
    let b = Netns::new(&format!("{tag}b"));
    a.ip(&[
        "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", &b.name,
    ]);
    for (ns, dev, v4, ll, v6) in [
        (&a, "va", "192.0.2.1/24", "fe80::a/64", "fd00::1/64"),
        (&b, "vb", "192.0.2.2/24", "fe80::b/64", "fd00::2/64"),
    ] {
        ns.ip(&["link", "set", dev, "addrgenmode", "none"]);
        ns.ip(&["addr", "add", v4, "dev", dev]);
        ns.ip(&["addr", "add", ll, "dev", dev, "nodad"]);
        ns.ip(&["addr", "add", v6, "dev", dev, "nodad"]);
        ns.ip(&["link", "set", dev, "up"]);
    }
    // Until linkwatch has run (operstate UP) the veth drops what it is given.
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

fn open(ns: &Netns, dev: &'static str, family: Family, hops: u8) -> VrrpSocket {
    netns::run_in(&ns.name, move || {
        let ifindex = nix::net::if_::if_nametoindex(dev).expect("ifindex");
        let mut cfg = VrrpSocketConfig::new(ifindex, dev, family);
        cfg.unicast_hops = hops;
        VrrpSocket::open(&cfg)
    })
    .unwrap()
    .expect("open VRRP socket")
}

/// Waits (polling) for one datagram, up to `timeout`.
fn recv_one(s: &mut VrrpSocket, buf: &mut [u8], timeout: Duration) -> Option<RxPacket> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(p) = s.recv(buf).expect("recv") {
            return Some(p);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

fn repr<'a>(vrid: u8, addrs: &'a [IpAddr]) -> AdvertRepr<'a> {
    AdvertRepr {
        version: Version::V3,
        vrid,
        priority: 100,
        adver_int: AdverInt::Centiseconds(100),
        auth_type: AuthType::None,
        auth_data: [0; 8],
        addresses: addrs,
    }
}

fn v4_datagram(vrid: u8, dst: Ipv4Addr, ttl: u8) -> Vec<u8> {
    let addrs = [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))];
    let mut buf = [0u8; 128];
    let env = Ipv4Envelope {
        src: A4,
        dst,
        ttl,
        identification: 1,
    };
    let n = emit_ipv4_datagram(
        &mut buf,
        &env,
        &repr(vrid, &addrs),
        ChecksumKind::PseudoHeader,
        None,
    )
    .unwrap();
    buf[..n].to_vec()
}

/// A v3 IPv6 advert with its checksum zeroed: the kernel (IPV6_CHECKSUM) must fill it.
fn v6_message(vrid: u8, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let addrs = [IpAddr::V6("fe80::64".parse().unwrap())];
    let mut buf = [0u8; 128];
    let n = repr(vrid, &addrs)
        .emit(
            &mut buf,
            Endpoints::V6 { src, dst },
            ChecksumKind::PseudoHeader,
        )
        .unwrap();
    buf[6] = 0;
    buf[7] = 0;
    buf[..n].to_vec()
}

#[test]
fn ipv4_multicast_and_unicast_between_namespaces() {
    if !e2e_ready("ipv4_multicast_and_unicast_between_namespaces", false) {
        return;
    }
    let (a, b) = pair("vs4");
    let tx = open(&a, "va", Family::Ipv4, 255);
    let mut rx = open(&b, "vb", Family::Ipv4, 255);
    let mut buf = [0u8; 2048];
    assert!(rx.recv(&mut buf).unwrap().is_none(), "nothing queued yet");

    // Multicast, TTL 255.
    let d = v4_datagram(7, VRRP_MULTICAST_V4, 255);
    tx.send(&d, IpAddr::V4(VRRP_MULTICAST_V4), None).unwrap();
    let p = recv_one(&mut rx, &mut buf, Duration::from_secs(3)).expect("multicast advert");
    assert_eq!(
        (p.src, p.dst, p.ttl),
        (IpAddr::V4(A4), IpAddr::V4(VRRP_MULTICAST_V4), 255)
    );
    assert_eq!(p.len, d.len(), "the IPv4 header is included");
    assert!(!p.truncated);
    let adv = parse_ipv4_datagram(&buf[..p.len], Some(Version::V3)).expect("valid advert");
    assert_eq!(adv.advert.vrid, 7);
    assert_eq!(adv.ip.ttl, 255);

    // Unicast, TTL as the engine put it in the header.
    let d = v4_datagram(8, B4, 64);
    tx.send(&d, IpAddr::V4(B4), None).unwrap();
    let p = recv_one(&mut rx, &mut buf, Duration::from_secs(3)).expect("unicast advert");
    assert_eq!((p.src, p.dst, p.ttl), (IpAddr::V4(A4), IpAddr::V4(B4), 64));
    let adv = parse_ipv4_datagram(&buf[..p.len], Some(Version::V3)).expect("valid advert");
    assert_eq!(adv.advert.vrid, 8);

    // A buffer that holds the IPv4 header but not the rest reports truncation.
    tx.send(&d, IpAddr::V4(B4), None).unwrap();
    let mut small = [0u8; 24];
    let p = recv_one(&mut rx, &mut small, Duration::from_secs(3)).expect("truncated advert");
    assert!(p.truncated);
    assert_eq!((p.len, p.ttl), (24, 64));
    // One that cannot hold the header: counted as malformed and skipped.
    tx.send(&d, IpAddr::V4(B4), None).unwrap();
    let mut tiny = [0u8; 16];
    assert!(recv_one(&mut rx, &mut tiny, Duration::from_millis(500)).is_none());
    assert_eq!(rx.malformed(), 1);
}

#[test]
fn ipv4_socket_does_not_loop_back() {
    if !e2e_ready("ipv4_socket_does_not_loop_back", false) {
        return;
    }
    let (a, b) = pair("vsl");
    let tx = open(&a, "va", Family::Ipv4, 255);
    let mut tx_rx = open(&a, "va", Family::Ipv4, 255);
    let mut rx = open(&b, "vb", Family::Ipv4, 255);
    let d = v4_datagram(9, VRRP_MULTICAST_V4, 255);
    tx.send(&d, IpAddr::V4(VRRP_MULTICAST_V4), None).unwrap();
    let mut buf = [0u8; 2048];
    assert!(recv_one(&mut rx, &mut buf, Duration::from_secs(3)).is_some());
    // IP_MULTICAST_LOOP 0: the sender's namespace does not see its own advert.
    assert!(recv_one(&mut tx_rx, &mut buf, Duration::from_millis(300)).is_none());
}

#[test]
fn ipv6_multicast_and_unicast_between_namespaces() {
    if !e2e_ready("ipv6_multicast_and_unicast_between_namespaces", false) {
        return;
    }
    let (a, b) = pair("vs6");
    let tx = open(&a, "va", Family::Ipv6, 255);
    let mut rx = open(&b, "vb", Family::Ipv6, 255);
    let mut buf = [0u8; 2048];

    // Multicast from the link-local, hop limit 255; the kernel fills the checksum.
    let m = v6_message(10, a_ll(), VRRP_MULTICAST_V6);
    tx.send(&m, IpAddr::V6(VRRP_MULTICAST_V6), Some(IpAddr::V6(a_ll())))
        .unwrap();
    let p = recv_one(&mut rx, &mut buf, Duration::from_secs(3)).expect("multicast advert");
    assert_eq!(
        (p.src, p.dst, p.ttl),
        (IpAddr::V6(a_ll()), IpAddr::V6(VRRP_MULTICAST_V6), 255)
    );
    assert_eq!(
        p.len,
        m.len(),
        "IPv6 raw sockets return the VRRP message only"
    );
    let ep = Endpoints::V6 {
        src: a_ll(),
        dst: VRRP_MULTICAST_V6,
    };
    let adv = Advert::parse(&buf[..p.len], ep, Some(Version::V3)).expect("kernel checksum");
    assert_eq!(adv.vrid, 10);
    assert_eq!(adv.checksum_kind, ChecksumKind::PseudoHeader);

    // Unicast from the global address to the peer, hop limit 255.
    let m = v6_message(11, a6(), b6());
    tx.send(&m, IpAddr::V6(b6()), Some(IpAddr::V6(a6())))
        .unwrap();
    let p = recv_one(&mut rx, &mut buf, Duration::from_secs(3)).expect("unicast advert");
    assert_eq!(
        (p.src, p.dst, p.ttl),
        (IpAddr::V6(a6()), IpAddr::V6(b6()), 255)
    );
    let ep = Endpoints::V6 {
        src: a6(),
        dst: b6(),
    };
    assert_eq!(Advert::parse(&buf[..p.len], ep, None).unwrap().vrid, 11);
}

#[test]
fn ipv6_unicast_hop_limit_is_configurable() {
    if !e2e_ready("ipv6_unicast_hop_limit_is_configurable", false) {
        return;
    }
    let (a, b) = pair("vsh");
    let tx = open(&a, "va", Family::Ipv6, 64);
    let mut rx = open(&b, "vb", Family::Ipv6, 255);
    let m = v6_message(12, a6(), b6());
    tx.send(&m, IpAddr::V6(b6()), Some(IpAddr::V6(a6())))
        .unwrap();
    let mut buf = [0u8; 2048];
    let p = recv_one(&mut rx, &mut buf, Duration::from_secs(3)).expect("unicast advert");
    assert_eq!(p.ttl, 64);
    // Multicast still goes out with 255.
    let m = v6_message(12, a_ll(), VRRP_MULTICAST_V6);
    tx.send(&m, IpAddr::V6(VRRP_MULTICAST_V6), Some(IpAddr::V6(a_ll())))
        .unwrap();
    let p = recv_one(&mut rx, &mut buf, Duration::from_secs(3)).expect("multicast advert");
    assert_eq!(p.ttl, 255);
}

/// keepalived 2.2.7 in namespace A on `va`: an IPv4 VRRPv2 multicast instance (51), an
/// IPv6 VRRPv3 one (52), an IPv4 one with IPsec AH (53, received on a protocol-51 socket)
/// and an IPv4 unicast one (54, to our address). Our sockets in namespace B receive all
/// their adverts with TTL/hop limit 255.
#[test]
fn receives_real_keepalived_adverts() {
    if !e2e_ready("receives_real_keepalived_adverts", true) {
        return;
    }
    let (a, b) = pair("vsk");
    let dir = std::env::temp_dir().join(format!("kvrs-os-ka-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    let instance = |name: &str, vrid: u8, extra: &str, vips: &str| {
        format!(
            "vrrp_instance {name} {{\n state MASTER\n interface va\n virtual_router_id {vrid}\n \
             priority 200\n advert_int 1\n{extra}\n virtual_ipaddress {{\n{vips}\n }}\n}}\n"
        )
    };
    let text = String::from("global_defs {\n router_id kvrs_os\n}\n")
        + &instance("V4", 51, "", "  192.0.2.51/32")
        + &instance("V6", 52, "", "  fe80::52/64\n  fd00::52/128")
        + &instance(
            "AH4",
            53,
            " authentication {\n  auth_type AH\n  auth_pass secret1\n }",
            "  192.0.2.53/32",
        )
        + &instance(
            "U4",
            54,
            " unicast_src_ip 192.0.2.1\n unicast_peer {\n  192.0.2.2\n }",
            "  192.0.2.54/32",
        );
    std::fs::write(&conf, text).unwrap();
    let mut rx4 = open(&b, "vb", Family::Ipv4, 255);
    let mut rx6 = open(&b, "vb", Family::Ipv6, 255);
    let mut rx_ah = netns::run_in(&b.name, || {
        let ifindex = nix::net::if_::if_nametoindex("vb").unwrap();
        let mut cfg = VrrpSocketConfig::new(ifindex, "vb", Family::Ipv4);
        cfg.protocol = IPPROTO_AH;
        VrrpSocket::open(&cfg)
    })
    .unwrap()
    .expect("AH socket");
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let mut ka = a
        .cmd("keepalived")
        .args(["-n", "-l", "-D", "-f"])
        .arg(&conf)
        .args([
            "-p",
            &p("k.pid"),
            "-r",
            &p("v.pid"),
            "-c",
            &p("c.pid"),
            "-b",
            &p("b.pid"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start keepalived");
    let mut buf = [0u8; 2048];
    // vrid -> (packet, priority)
    let mut got: BTreeMap<u8, (RxPacket, u8)> = BTreeMap::new();
    let start = Instant::now();
    while got.len() < 4 && start.elapsed() < Duration::from_secs(20) {
        while let Some(p) = rx4.recv(&mut buf).unwrap() {
            let adv = parse_ipv4_datagram(&buf[..p.len], Some(Version::V2))
                .expect("keepalived IPv4 advert decodes");
            got.insert(adv.advert.vrid, (p, adv.advert.priority));
        }
        while let Some(p) = rx_ah.recv(&mut buf).unwrap() {
            let adv = parse_ipv4_datagram(&buf[..p.len], Some(Version::V2))
                .expect("keepalived AH advert decodes");
            assert!(adv.ah.is_some(), "protocol 51 socket got a non-AH datagram");
            let key = AhKey::from_auth_pass(b"secret1");
            assert_eq!(verify_icv(&buf[..p.len], &key, false), Ok(true), "AH ICV");
            got.insert(adv.advert.vrid, (p, adv.advert.priority));
        }
        while let Some(p) = rx6.recv(&mut buf).unwrap() {
            let (IpAddr::V6(src), IpAddr::V6(dst)) = (p.src, p.dst) else {
                panic!("IPv6 packet with IPv4 addresses")
            };
            let adv = Advert::parse(&buf[..p.len], Endpoints::V6 { src, dst }, Some(Version::V3))
                .expect("keepalived IPv6 advert decodes");
            got.insert(adv.vrid, (p, adv.priority));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(ka.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = ka.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let seen = |vrid: u8| {
        let (p, prio) = got
            .get(&vrid)
            .unwrap_or_else(|| panic!("no advert for VRID {vrid} from keepalived; got {got:?}"));
        (p.src, p.dst, p.ttl, *prio)
    };
    let mcast4 = IpAddr::V4(VRRP_MULTICAST_V4);
    assert_eq!(seen(51), (IpAddr::V4(A4), mcast4, 255, 200));
    assert_eq!(
        seen(52),
        (IpAddr::V6(a_ll()), IpAddr::V6(VRRP_MULTICAST_V6), 255, 200)
    );
    assert_eq!(seen(53), (IpAddr::V4(A4), mcast4, 255, 200));
    assert_eq!(seen(54), (IpAddr::V4(A4), IpAddr::V4(B4), 255, 200));
}

/// The socket fd is what the scheduler's `add_read` watches: an advert wakes the real loop
/// (mio/epoll), and the callback drains the socket until `recv` says nothing is left.
#[test]
fn event_loop_read_thread_drains_the_socket() {
    if !e2e_ready("event_loop_read_thread_drains_the_socket", false) {
        return;
    }
    let (a, b) = pair("vse");
    let tx = open(&a, "va", Family::Ipv4, 255);
    let rx = open(&b, "vb", Family::Ipv4, 255);
    let fd = rx.as_raw_fd();
    struct State {
        sock: VrrpSocket,
        got: Vec<RxPacket>,
        wakeups: u32,
    }
    let mut st = State {
        sock: rx,
        got: Vec::new(),
        wakeups: 0,
    };
    fn on_read(_: &mut scheduler::Ctx<State>, s: &mut State, f: scheduler::Fired) {
        assert_eq!(f, scheduler::Fired::Io(scheduler::Ready::Readable));
        s.wakeups += 1;
        let mut buf = [0u8; 2048];
        // Budget per readiness, as the daemon's loop does.
        for _ in 0..16 {
            match s.sock.recv(&mut buf).unwrap() {
                Some(p) => s.got.push(p),
                None => break,
            }
        }
    }
    let mut l: scheduler::Loop<State> = scheduler::Loop::new().unwrap();
    let mut id = l
        .add_read(fd, Some(Duration::from_secs(5)), on_read)
        .unwrap();
    for vrid in 1..=3 {
        let d = v4_datagram(vrid, VRRP_MULTICAST_V4, 255);
        tx.send(&d, IpAddr::V4(VRRP_MULTICAST_V4), None).unwrap();
    }
    let start = Instant::now();
    while st.got.len() < 3 && start.elapsed() < Duration::from_secs(5) {
        // Read threads are one-shot: re-arm after each wakeup, as the daemon does.
        if !l.is_pending(id) {
            id = l
                .add_read(fd, Some(Duration::from_secs(5)), on_read)
                .unwrap();
        }
        l.turn(&mut st, Some(Duration::from_millis(20))).unwrap();
    }
    assert_eq!(st.got.len(), 3, "all adverts drained");
    assert!(st.wakeups >= 1);
    assert!(st.got.iter().all(|p| p.ttl == 255));
}
