//! The receive checks, one negative case per drop reason with the counter it must move
//! (reference §3.2, RFC 3768/5798/9568 §7.1), and seeded garbage that must be counted, never
//! panic.

mod vrrp_engine_support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_rs::vrrp::{
    Action, Auth, DecodeErrorKind, Input, InstanceConfig, InstanceStats, Outbox, Router,
    RouterConfig, State, UnicastPeer, VipSpec,
};
use keepalived_rs::wire::ah::AhKey;
use keepalived_rs::wire::ip::VRRP_MULTICAST_V4;
use keepalived_rs::wire::vrrp::{
    emit_ipv4_datagram, parse_ipv4_datagram, AdverInt, AdvertRepr, AhParams, AuthType,
    ChecksumKind, Endpoints, Family, Ipv4Envelope, Version,
};
use scheduler::Instant;
use vrrp_engine_support::*;

const T0: Instant = Instant::from_secs(500);
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 9);

/// One router (node 1) with `c`, run until settled in BACKUP or MASTER.
struct Rig {
    router: Router,
    out: Outbox,
    now: Instant,
}

impl Rig {
    fn new(c: InstanceConfig) -> Rig {
        Rig::with(router_config(1, vec![c]))
    }

    fn with(cfg: RouterConfig) -> Rig {
        let mut out = Outbox::new();
        let router = Router::new(cfg, T0, &mut out);
        let mut r = Rig {
            router,
            out,
            now: T0,
        };
        r.advance(100_000);
        r
    }

    fn advance(&mut self, us: u64) {
        let end = self.now.saturating_add_micros(us);
        while let Some(t) = self.router.poll_timeout() {
            if t > end {
                break;
            }
            self.now = t;
            self.router.handle_timeout(t, &mut self.out);
            assert!(self.router.poll_timeout().map_or(true, |d| d > t));
        }
        self.now = end;
        self.out.clear();
    }

    fn feed(&mut self, ifindex: u32, src: IpAddr, dst: IpAddr, ttl: u8, payload: Vec<u8>) {
        self.router.handle(
            self.now,
            Input::Packet {
                ifindex,
                src,
                dst,
                ttl,
                payload,
            },
            &mut self.out,
        );
    }

    fn feed4(&mut self, datagram: Vec<u8>) {
        let (src, dst, ttl) = match parse_ipv4_datagram(&datagram, None) {
            Ok(d) => (d.ip.src, d.ip.dst, d.ip.ttl),
            Err(_) => (PEER, VRRP_MULTICAST_V4, 255),
        };
        self.feed(ETH0, IpAddr::V4(src), IpAddr::V4(dst), ttl, datagram);
    }

    fn stats(&self) -> InstanceStats {
        self.router.instances()[0].stats().clone()
    }

    fn state(&self) -> State {
        self.router.instances()[0].state()
    }
}

/// Builder for IPv4 adverts.
#[derive(Clone)]
struct Adv {
    version: Version,
    vrid: u8,
    prio: u8,
    adver: AdverInt,
    auth_type: AuthType,
    auth_data: [u8; 8],
    addrs: Vec<IpAddr>,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    checksum: ChecksumKind,
    ah: Option<(AhKey, u32, bool)>,
}

impl Adv {
    fn v2() -> Adv {
        Adv {
            version: Version::V2,
            vrid: 51,
            prio: 150,
            adver: AdverInt::Seconds(1),
            auth_type: AuthType::None,
            auth_data: [0; 8],
            addrs: vec![ip("192.0.2.100")],
            src: PEER,
            dst: VRRP_MULTICAST_V4,
            ttl: 255,
            checksum: ChecksumKind::V2Style,
            ah: None,
        }
    }

    fn v3() -> Adv {
        Adv {
            version: Version::V3,
            adver: AdverInt::Centiseconds(100),
            checksum: ChecksumKind::PseudoHeader,
            ..Adv::v2()
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let repr = AdvertRepr {
            version: self.version,
            vrid: self.vrid,
            priority: self.prio,
            adver_int: self.adver,
            auth_type: self.auth_type,
            auth_data: self.auth_data,
            addresses: &self.addrs,
        };
        let env = Ipv4Envelope {
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
            identification: 7,
        };
        let ah = self.ah.as_ref().map(|(key, seq, zero_ttl)| AhParams {
            key,
            sequence_number: *seq,
            zero_ttl: *zero_ttl,
        });
        let mut buf = vec![0u8; 256];
        let n = emit_ipv4_datagram(&mut buf, &env, &repr, self.checksum, ah).unwrap();
        buf.truncate(n);
        buf
    }
}

/// Recomputes the IPv4 header checksum after editing a header field.
fn fix_ip_checksum(d: &mut [u8]) {
    d[10] = 0;
    d[11] = 0;
    let mut sum: u32 = 0;
    for w in d[..20].chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let c = !(sum as u16);
    d[10..12].copy_from_slice(&c.to_be_bytes());
}

fn backup_v2() -> Rig {
    let rig = Rig::new(inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100"));
    assert_eq!(rig.state(), State::Backup);
    rig
}

#[test]
fn valid_advert_is_accepted_and_resets_the_timer() {
    let mut rig = backup_v2();
    let before = rig.router.instances()[0].read_timeout().unwrap();
    rig.advance(1_000_000);
    rig.feed4(Adv::v2().bytes());
    let i = &rig.router.instances()[0];
    assert_eq!(i.stats().advert_rcvd, 1);
    assert_eq!(i.stats().checksum_v2_style, 1);
    assert_eq!(i.master_priority(), 150);
    assert_eq!(i.master_addr(), Some(IpAddr::V4(PEER)));
    assert_eq!(
        i.read_timeout().unwrap(),
        rig.now.saturating_add_micros(3_609_375)
    );
    assert!(i.read_timeout().unwrap() > before);
}

/// Feeds `bytes` to a fresh rig built by `rig` and checks that exactly the counter picked
/// by `field` moved, and that the advert was ignored (timer untouched).
fn expect_drop(mut rig: Rig, bytes: Vec<u8>, field: fn(&InstanceStats) -> u64, what: &str) {
    let timer = rig.router.instances()[0].read_timeout();
    let before = rig.stats();
    rig.feed4(bytes);
    let after = rig.stats();
    assert_eq!(field(&after), field(&before) + 1, "{what}: {after:?}");
    assert_eq!(after.advert_rcvd, before.advert_rcvd, "{what}: accepted");
    assert_eq!(rig.router.instances()[0].read_timeout(), timer, "{what}");
}

#[test]
fn each_drop_reason_has_its_counter() {
    // 1. AH present but not configured, and the reverse.
    let mut a = Adv::v2();
    a.auth_type = AuthType::IpAuthenticationHeader;
    a.ah = Some((AhKey::from_auth_pass(b"k"), 1, false));
    expect_drop(
        backup_v2(),
        a.bytes(),
        |s| s.authtype_mismatch,
        "AH unexpected",
    );
    let mut c = inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100");
    c.auth = Auth::Ah(AhKey::from_auth_pass(b"k"));
    expect_drop(
        Rig::new(c),
        Adv::v2().bytes(),
        |s| s.authtype_mismatch,
        "AH missing",
    );

    // 2. Length: Count says two addresses, one is there.
    let mut b = Adv::v2().bytes();
    b[20 + 3] = 2;
    expect_drop(backup_v2(), b, |s| s.packet_len_err, "length");

    // 3. TTL.
    let mut a = Adv::v2();
    a.ttl = 254;
    expect_drop(backup_v2(), a.bytes(), |s| s.ip_ttl_err, "ttl");

    // 4. Version: a v2 advert to a v3 instance.
    let mut c = inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100");
    c.version = Version::V3;
    expect_drop(Rig::new(c), Adv::v2().bytes(), |s| s.version_err, "version");

    // 6. Auth type invalid, mismatching, wrong password.
    let mut a = Adv::v2();
    a.auth_type = AuthType::Unknown(3);
    expect_drop(backup_v2(), a.bytes(), |s| s.invalid_authtype, "auth type");
    let mut c = inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100");
    c.auth = Auth::Pass(*b"secret\0\0");
    expect_drop(
        Rig::new(c.clone()),
        Adv::v2().bytes(),
        |s| s.authtype_mismatch,
        "PASS vs none",
    );
    let mut a = Adv::v2();
    a.auth_type = AuthType::SimplePassword;
    a.auth_data = *b"wrong\0\0\0";
    expect_drop(Rig::new(c.clone()), a.bytes(), |s| s.auth_failure, "PASS");
    a.auth_data = *b"secret\0\0";
    let mut rig = Rig::new(c);
    rig.feed4(a.bytes());
    assert_eq!(rig.stats().advert_rcvd, 1, "right password accepted");

    // AH: bad ICV, replay.
    let mut c = inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100");
    c.auth = Auth::Ah(AhKey::from_auth_pass(b"good"));
    let mut a = Adv::v2();
    a.auth_type = AuthType::IpAuthenticationHeader;
    a.ah = Some((AhKey::from_auth_pass(b"bad"), 1, false));
    expect_drop(Rig::new(c.clone()), a.bytes(), |s| s.auth_failure, "AH ICV");
    a.ah = Some((AhKey::from_auth_pass(b"good"), 5, false));
    let mut rig = Rig::new(c.clone());
    rig.feed4(a.bytes());
    assert_eq!(rig.stats().advert_rcvd, 1, "AH accepted");
    expect_drop(rig, a.bytes(), |s| s.auth_failure, "AH replay");
    // AH for another protocol.
    let mut b = a.bytes();
    b[20] = 6;
    expect_drop(Rig::new(c), b, |s| s.ah_next_header, "AH next header");

    // v2 interval mismatch.
    let mut a = Adv::v2();
    a.adver = AdverInt::Seconds(2);
    expect_drop(
        backup_v2(),
        a.bytes(),
        |s| s.advert_interval_err,
        "interval",
    );

    // 7. Type.
    let mut b = Adv::v2().bytes();
    b[20] = 0x22;
    expect_drop(backup_v2(), b, |s| s.invalid_type_rcvd, "type");

    // 9. Checksum.
    let mut b = Adv::v2().bytes();
    b[20 + 6] ^= 0xff;
    expect_drop(backup_v2(), b, |s| s.checksum_err, "checksum");

    // 10. Unicast destination on a multicast instance.
    let mut a = Adv::v2();
    a.dst = v4(1);
    expect_drop(
        backup_v2(),
        a.bytes(),
        |s| s.mcast_unicast_mismatch,
        "mcast",
    );

    // v3 zero count (RFC 9568 erratum 8299) and zero interval (erratum 8301).
    let mut c = inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100");
    c.version = Version::V3;
    let mut a = Adv::v3();
    a.addrs.clear();
    expect_drop(
        Rig::new(c.clone()),
        a.bytes(),
        |s| s.zero_count,
        "zero count",
    );
    let mut a = Adv::v3();
    a.adver = AdverInt::Centiseconds(0);
    expect_drop(
        Rig::new(c),
        a.bytes(),
        |s| s.zero_adver_int,
        "zero interval",
    );
}

#[test]
fn owner_ignore_adverts() {
    let mut c = inst("VI_1", 51, Family::Ipv4, 255, "192.0.2.100");
    c.owner_ignore_adverts = true;
    let rig = Rig::new(c);
    assert_eq!(rig.state(), State::Master);
    let mut a = Adv::v2();
    a.prio = 255;
    a.src = Ipv4Addr::new(192, 0, 2, 200);
    let mut rig = rig;
    let before = rig.stats();
    rig.feed4(a.bytes());
    assert_eq!(rig.stats().owner_ignored, before.owner_ignored + 1);
    assert_eq!(rig.state(), State::Master);
}

#[test]
fn address_list_mismatch_is_counted_not_dropped() {
    let mut rig = backup_v2();
    let mut a = Adv::v2();
    a.addrs = vec![ip("192.0.2.101")];
    rig.feed4(a.bytes());
    let s = rig.stats();
    assert_eq!((s.advert_rcvd, s.addr_list_err, s.vip_missing), (1, 1, 1));
    a.addrs = vec![ip("192.0.2.100"), ip("192.0.2.101")];
    rig.feed4(a.bytes());
    let s = rig.stats();
    assert_eq!(
        (s.advert_rcvd, s.addr_list_err, s.addr_count_mismatch),
        (2, 2, 1)
    );
    assert_eq!(rig.router.instances()[0].master_priority(), 150);

    // skip_check_adv_addr: only checked when the master changes.
    let mut c = inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100");
    c.skip_check_adv_addr = true;
    let mut rig = Rig::new(c);
    let mut a = Adv::v2();
    a.addrs = vec![ip("192.0.2.101")];
    rig.feed4(a.bytes());
    rig.feed4(a.bytes());
    let s = rig.stats();
    assert_eq!((s.advert_rcvd, s.addr_list_err), (2, 1));
}

fn unicast_inst(version: Version) -> InstanceConfig {
    let mut c = inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100");
    c.version = version;
    c.unicast_peers = vec![UnicastPeer {
        addr: IpAddr::V4(PEER),
        min_ttl: Some(250),
        max_ttl: None,
    }];
    c
}

#[test]
fn unicast_source_and_ttl_checks() {
    // Multicast on a unicast instance.
    expect_drop(
        Rig::new(unicast_inst(Version::V2)),
        Adv::v2().bytes(),
        |s| s.mcast_unicast_mismatch,
        "unicast instance",
    );
    let mut a = Adv::v2();
    a.dst = v4(1);
    // A source that is not a peer (peers with TTL bounds imply the check).
    let mut other = a.clone();
    other.src = Ipv4Addr::new(192, 0, 2, 77);
    let mut rig = Rig::new(unicast_inst(Version::V2));
    rig.feed4(other.bytes());
    assert_eq!(rig.stats().unicast_src_err, 1);
    assert_eq!(rig.router.instances()[0].master_priority(), 0);
    // The peer below its min_ttl.
    let mut low = a.clone();
    low.ttl = 200;
    rig.feed4(low.bytes());
    assert_eq!(rig.stats().peer_ttl_err, 1);
    assert_eq!(rig.router.instances()[0].master_priority(), 0);
    // And within it (a unicast TTL need not be 255).
    let mut ok = a.clone();
    ok.ttl = 251;
    rig.feed4(ok.bytes());
    assert_eq!(rig.router.instances()[0].master_priority(), 150);
}

#[test]
fn v3_checksum_forms_are_counted_and_old_unicast_is_adopted() {
    let mut c = inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100");
    c.version = Version::V3;
    let mut rig = Rig::new(c);
    rig.feed4(Adv::v3().bytes());
    let mut a = Adv::v3();
    a.checksum = ChecksumKind::V2Style;
    rig.feed4(a.bytes());
    let s = rig.stats();
    assert_eq!(
        (s.advert_rcvd, s.checksum_pseudo_header, s.checksum_v2_style),
        (2, 1, 1)
    );

    // A unicast peer using keepalived's pre-1.3.6 checksum: accepted, and we switch to it.
    let mut rig = Rig::new(unicast_inst(Version::V3));
    let mut a = Adv::v3();
    a.dst = v4(1);
    a.checksum = ChecksumKind::OldUnicast;
    rig.feed4(a.bytes());
    assert_eq!(rig.stats().checksum_old_unicast, 1);
    // Let it become master and look at what it sends.
    rig.router.handle(rig.now, Input::Shutdown, &mut rig.out);
    let mut c = unicast_inst(Version::V3);
    c.old_unicast_checksum = Some(true);
    let mut out = Outbox::new();
    let mut r = Router::new(router_config(1, vec![c]), T0, &mut out);
    while r.instances()[0].state() != State::Master {
        let now = r.poll_timeout().unwrap();
        r.handle_timeout(now, &mut out);
    }
    let pkt = out
        .actions
        .iter()
        .find(|a| matches!(a, Action::SendAdvert { .. }))
        .map(|a| out.packet(a).to_vec())
        .unwrap();
    let d = parse_ipv4_datagram(&pkt, Some(Version::V3)).unwrap();
    assert_eq!(d.advert.checksum_kind, ChecksumKind::OldUnicast);
}

#[test]
fn router_level_drops() {
    let mut rig = backup_v2();
    // Unknown VRID.
    let mut a = Adv::v2();
    a.vrid = 99;
    rig.feed4(a.bytes());
    assert_eq!(rig.router.counters().unknown_vrid, 1);
    // Known VRID, other interface.
    let b = Adv::v2().bytes();
    rig.feed(
        ETH1,
        IpAddr::V4(PEER),
        IpAddr::V4(VRRP_MULTICAST_V4),
        255,
        b.clone(),
    );
    assert_eq!(rig.router.counters().wrong_interface, 1);
    // Bad IPv4 header checksum, other protocol, truncated.
    let mut bad = b.clone();
    bad[10] ^= 1;
    rig.feed4(bad);
    let mut proto = b.clone();
    proto[9] = 6;
    fix_ip_checksum(&mut proto);
    rig.feed4(proto);
    rig.feed4(b[..10].to_vec());
    let c = rig.router.counters();
    assert_eq!(c.decode_errors(DecodeErrorKind::BadIpv4HeaderChecksum), 1);
    assert_eq!(c.decode_errors(DecodeErrorKind::UnexpectedProtocol), 1);
    assert_eq!(c.decode_errors(DecodeErrorKind::Truncated), 1);
    assert_eq!(c.decode_errors_total(), 3);
    assert_eq!(rig.stats().advert_rcvd, 0);
}

#[test]
fn fault_state_ignores_adverts() {
    let mut rc = router_config(1, vec![inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100")]);
    rc.interfaces[0].running = false;
    let mut rig = Rig::with(rc);
    assert_eq!(rig.state(), State::Fault);
    rig.feed4(Adv::v2().bytes());
    assert_eq!(rig.stats().ignored_in_state, 1);
    assert_eq!(rig.stats().advert_rcvd, 0);
}

fn v6_advert(prio: u8, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let addrs = [ip("fe80::100")];
    let repr = AdvertRepr {
        version: Version::V3,
        vrid: 51,
        priority: prio,
        adver_int: AdverInt::Centiseconds(100),
        auth_type: AuthType::None,
        auth_data: [0; 8],
        addresses: &addrs,
    };
    let mut buf = vec![0u8; 64];
    let n = repr
        .emit(
            &mut buf,
            Endpoints::V6 { src, dst },
            ChecksumKind::PseudoHeader,
        )
        .unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn ipv6_hop_limit_and_checksum() {
    let c = inst("VI_1", 51, Family::Ipv6, 100, "fe80::100");
    let mut rig = Rig::new(c);
    let peer = ll6(9);
    let group: Ipv6Addr = "ff02::12".parse().unwrap();
    let good = v6_advert(150, peer, group);
    rig.feed(ETH0, IpAddr::V6(peer), IpAddr::V6(group), 254, good.clone());
    assert_eq!(rig.stats().ip_ttl_err, 1);
    let mut bad = good.clone();
    bad[6] ^= 0xff;
    rig.feed(ETH0, IpAddr::V6(peer), IpAddr::V6(group), 255, bad);
    assert_eq!(rig.stats().checksum_err, 1);
    rig.feed(ETH0, IpAddr::V6(peer), IpAddr::V6(group), 255, good);
    let s = rig.stats();
    assert_eq!((s.advert_rcvd, s.checksum_pseudo_header), (1, 1));
    // Unicast destination to a multicast instance.
    let uni = v6_advert(150, peer, ll6(1));
    rig.feed(ETH0, IpAddr::V6(peer), IpAddr::V6(ll6(1)), 255, uni);
    assert_eq!(rig.stats().mcast_unicast_mismatch, 1);
}

/// Every packet lands in exactly one counter: router-level drops, an instance drop reason,
/// or accepted.
fn accounted(r: &Router) -> u64 {
    let c = r.counters();
    let mut n = c.decode_errors_total() + c.unknown_vrid + c.wrong_interface;
    for i in r.instances() {
        let s = i.stats();
        n += s.packet_len_err
            + s.ip_ttl_err
            + s.version_err
            + s.invalid_authtype
            + s.authtype_mismatch
            + s.auth_failure
            + s.advert_interval_err
            + s.invalid_type_rcvd
            + s.checksum_err
            + s.zero_count
            + s.zero_adver_int
            + s.malformed
            + s.mcast_unicast_mismatch
            + s.owner_ignored
            + s.ah_next_header
            + s.ignored_in_state
            + s.advert_rcvd;
    }
    n
}

#[test]
fn seeded_garbage_is_counted_never_panics() {
    let mut v3 = inst("VI_3", 52, Family::Ipv4, 100, "192.0.2.100");
    v3.version = Version::V3;
    let mut ah = inst("VI_AH", 53, Family::Ipv4, 100, "192.0.2.101");
    ah.auth = Auth::Ah(AhKey::from_auth_pass(b"k"));
    let mut uni = unicast_inst(Version::V3);
    uni.name = "VI_U".into();
    uni.vrid = 54;
    let v6 = inst("VI_6", 51, Family::Ipv6, 100, "fe80::100");
    let mut v2 = inst("VI_1", 51, Family::Ipv4, 100, "192.0.2.100");
    v2.vips.push(VipSpec::new(ip("192.0.2.111"), "eth0"));
    let cfg = router_config(1, vec![v2, v3, ah, uni, v6]);
    let mut out = Outbox::new();
    let mut r = Router::new(cfg, T0, &mut out);
    let mut rng = SplitMix(0x5eed_1234);
    let seeds: Vec<Vec<u8>> = {
        let mut ahv = Adv::v2();
        ahv.vrid = 53;
        ahv.auth_type = AuthType::IpAuthenticationHeader;
        ahv.ah = Some((AhKey::from_auth_pass(b"k"), 1, false));
        let mut v3a = Adv::v3();
        v3a.vrid = 52;
        let mut ua = Adv::v3();
        ua.vrid = 54;
        ua.dst = v4(1);
        vec![Adv::v2().bytes(), v3a.bytes(), ahv.bytes(), ua.bytes()]
    };
    let v6seed = v6_advert(150, ll6(9), "ff02::12".parse().unwrap());
    let mut now = T0;
    let mut fed = 0u64;
    for round in 0..200_000u64 {
        now = now.saturating_add_micros(rng.below(20_000));
        while let Some(t) = r.poll_timeout() {
            if t > now {
                break;
            }
            r.handle_timeout(t, &mut out);
            assert!(r.poll_timeout().map_or(true, |d| d > t));
        }
        out.clear();
        let kind = rng.below(4);
        let (six, mut bytes) = match kind {
            0 => {
                let len = rng.below(120) as usize;
                (
                    false,
                    (0..len).map(|_| rng.next() as u8).collect::<Vec<u8>>(),
                )
            }
            1 => (true, v6seed.clone()),
            _ => (false, seeds[rng.below(seeds.len() as u64) as usize].clone()),
        };
        // Mutate a few bytes (or the length) of the seed.
        if kind != 0 {
            for _ in 0..rng.below(4) {
                let at = rng.below(bytes.len() as u64) as usize;
                bytes[at] = rng.next() as u8;
            }
            if rng.below(8) == 0 {
                let cut = rng.below(bytes.len() as u64 + 1) as usize;
                bytes.truncate(cut);
            }
        }
        let ttl = if rng.below(16) == 0 {
            rng.next() as u8
        } else {
            255
        };
        let ifindex = if rng.below(32) == 0 { ETH1 } else { ETH0 };
        let (src, dst) = if six {
            (IpAddr::V6(ll6(9)), IpAddr::V6("ff02::12".parse().unwrap()))
        } else {
            (IpAddr::V4(PEER), IpAddr::V4(VRRP_MULTICAST_V4))
        };
        r.handle(
            now,
            Input::Packet {
                ifindex,
                src,
                dst,
                ttl,
                payload: bytes,
            },
            &mut out,
        );
        fed += 1;
        assert_eq!(accounted(&r), fed, "round {round}");
    }
    // Something got through and many things were rejected, at every level.
    let total_rcvd: u64 = r.instances().iter().map(|i| i.stats().advert_rcvd).sum();
    assert!(total_rcvd > 1_000);
    assert!(r.counters().decode_errors_total() > 10_000);
    let checksum: u64 = r.instances().iter().map(|i| i.stats().checksum_err).sum();
    assert!(checksum > 1_000);
}
