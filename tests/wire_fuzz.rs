//! Random-input robustness of every L0 decoder (DESIGN.md §1: L0 never panics on any input).
//!
//! A seeded PRNG of our own (SplitMix64 seeding xoshiro256**, no `rand`) drives:
//! * 200 000+ random buffers of random length 0..2000, some shaped to get past the first checks
//!   (plausible version nibbles, consistent VRRP lengths, fixed-up checksums);
//! * bit flips, byte rewrites and truncations of every captured keepalived vector.
//!
//! Every buffer goes through every decoder: VRRP v2/v3 with IPv4 and IPv6 endpoints, the raw
//! IPv4 datagram decoder (with AH), IPv4/IPv6/Ethernet headers, ARP, NA (frame and ICMPv6),
//! AH header and ICV. A panic fails the test. Decoded values borrow from the input (no `Vec`
//! in any decoded type), so decoding allocates nothing; the test checks that what they borrow
//! lies within the input, and that every advert that decodes re-encodes to the same bytes.
//! Set WIRE_FUZZ_SEED to replay another seed; the seed is printed on failure.

mod common;

use common::rng::{Rng, TestRng};
use std::net::{Ipv4Addr, Ipv6Addr};

use keepalived_rs::wire::ah::{self, AhHeader, AhKey};
use keepalived_rs::wire::arp::ArpFrame;
use keepalived_rs::wire::checksum::Checksum;
use keepalived_rs::wire::ip::{
    ipv4_pseudo_header, ipv6_pseudo_header, IpProtocol, Ipv4Header, Ipv6Header, VRRP_MULTICAST_V4,
    VRRP_MULTICAST_V6,
};
use keepalived_rs::wire::ndp::{NaFrame, NeighborAdvert, ALL_NODES};
use keepalived_rs::wire::vrrp::{
    parse_ipv4_datagram, Advert, AdvertRepr, ChecksumKind, Endpoints, Family, Version,
};
use keepalived_rs::wire::EthernetHeader;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/wire/{name}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let hex: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace())
        .collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

const FIXTURES: [&str; 19] = [
    "garp_192_0_2_130",
    "na_fd00__14",
    "na_fd00__21_router",
    "na_fe80__14",
    "v2_ah_vrid12_prio0",
    "v2_ah_vrid12_seq1",
    "v2_none_vrid10",
    "v2_none_vrid10_prio0",
    "v2_pass_vrid11",
    "v2_unicast_vrid15",
    "v3_ipv4_vrid13",
    "v3_ipv4_vrid13_prio0",
    "v3_ipv4_vrid13_v2style_synth",
    "v3_ipv6_owner_vrid21",
    "v3_ipv6_owner_vrid21_prio0",
    "v3_ipv6_vrid14",
    "v3_unicast_oldcsum_vrid20",
    "v3_unicast_vrid16",
    "v3_unicast_vrid16_padded_synth",
];

fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

/// A decoded advert re-encodes to its own message bytes (reserved bits are zeroed on emit).
fn check_advert(input: &[u8], a: &Advert<'_>, ep: Endpoints) {
    assert!(within(input, a.addresses.as_bytes()));
    assert!(within(input, a.trailing));
    assert_eq!(a.message_len() + a.trailing.len(), input.len());
    assert_eq!(a.addresses.len(), usize::from(a.count));
    if a.reserved != 0 {
        return;
    }
    let addrs: Vec<_> = a.addresses.iter().collect();
    let repr = AdvertRepr {
        version: a.version,
        vrid: a.vrid,
        priority: a.priority,
        adver_int: a.adver_int,
        auth_type: a.auth_type,
        auth_data: a.auth_data,
        addresses: &addrs,
    };
    let mut out = [0u8; 4200];
    let n = repr.emit(&mut out, ep, a.checksum_kind).unwrap();
    let msg = &input[..a.message_len()];
    if a.checksum_kind == ChecksumKind::PseudoHeader && ep.family() == Family::Ipv6 {
        // With trailing bytes the checksum may cover them (kernel style); compare the rest.
        if a.trailing.is_empty() {
            assert_eq!(&out[..n], msg);
        } else {
            assert_eq!((&out[..6], &out[8..n]), (&msg[..6], &msg[8..]));
        }
    } else {
        assert_eq!(&out[..n], msg);
    }
}

/// Runs one buffer through every decoder.
fn all_decoders(buf: &[u8]) -> usize {
    let mut ok = 0;
    let src4 = Ipv4Addr::new(192, 0, 2, 1);
    let src6: Ipv6Addr = "fe80::ff:fe00:a01".parse().unwrap();
    let eps = [
        Endpoints::V4 {
            src: src4,
            dst: VRRP_MULTICAST_V4,
        },
        Endpoints::V4 {
            src: src4,
            dst: Ipv4Addr::new(192, 0, 2, 2),
        },
        Endpoints::V6 {
            src: src6,
            dst: VRRP_MULTICAST_V6,
        },
    ];
    for ep in eps {
        for expected in [None, Some(Version::V2), Some(Version::V3)] {
            if let Ok(a) = Advert::parse(buf, ep, expected) {
                check_advert(buf, &a, ep);
                ok += 1;
            }
        }
    }
    if let Ok(d) = parse_ipv4_datagram(buf, None) {
        let ep = Endpoints::V4 {
            src: d.ip.src,
            dst: d.ip.dst,
        };
        let payload = &buf[d.ip.header_len + if d.ah.is_some() { 24 } else { 0 }..];
        let payload = &payload[..d.advert.message_len() + d.advert.trailing.len()];
        check_advert(payload, &d.advert, ep);
        ok += 1;
    }
    if let Ok((h, payload)) = Ipv4Header::parse(buf) {
        assert!(within(buf, payload));
        assert_eq!(payload.len(), h.payload_len());
        ok += 1;
    }
    if let Ok((_, payload)) = Ipv6Header::parse(buf) {
        assert!(within(buf, payload));
        ok += 1;
    }
    if let Ok((_, rest)) = EthernetHeader::parse(buf) {
        assert!(within(buf, rest));
    }
    ok += usize::from(ArpFrame::parse(buf).is_ok());
    ok += usize::from(NaFrame::parse(buf).is_ok());
    ok += usize::from(NeighborAdvert::parse(buf, src6, ALL_NODES).is_ok());
    ok += usize::from(AhHeader::parse(buf).is_ok());
    let key = AhKey::from_auth_pass(b"ahsecret");
    for zero_ttl in [false, true] {
        ok += usize::from(matches!(ah::verify_icv(buf, &key, zero_ttl), Ok(true)));
    }
    let mut copy = buf.to_vec();
    let _ = ah::sign(&mut copy, &key, false);
    ok
}

/// A buffer shaped like a VRRP message of a random family and version, with a correct
/// checksum of a random form, so the checks after the checksum are reached.
fn shaped_vrrp(rng: &mut Rng) -> Vec<u8> {
    let v3 = rng.below(2) == 0;
    let family6 = v3 && rng.below(3) == 0;
    let count = if rng.below(4) == 0 { 0 } else { rng.below(20) };
    let alen = if family6 { 16 } else { 4 };
    let len = 8 + count * alen + if v3 { 0 } else { 8 } + rng.below(3) * rng.below(40);
    let mut b = vec![0u8; len];
    rng.fill(&mut b);
    b[0] = match rng.below(8) {
        0 => b[0],
        1 => 0x32,
        _ if v3 => 0x31,
        _ => 0x21,
    };
    b[3] = count as u8;
    if rng.below(4) == 0 {
        b[5] = 0;
    }
    if !v3 && rng.below(2) == 0 {
        b[4] = rng.below(3) as u8; // a known v2 auth type
    }
    let msg_len = (8 + count * alen + if v3 { 0 } else { 8 }).min(len);
    b[6..8].copy_from_slice(&[0, 0]);
    let src4 = Ipv4Addr::new(192, 0, 2, 1);
    let src6: Ipv6Addr = "fe80::ff:fe00:a01".parse().unwrap();
    let c = if family6 {
        ipv6_pseudo_header(src6, VRRP_MULTICAST_V6, IpProtocol::Vrrp, len as u32)
            .add_bytes(&b)
            .finish()
    } else if v3 && rng.below(2) == 0 {
        ipv4_pseudo_header(src4, VRRP_MULTICAST_V4, IpProtocol::Vrrp, msg_len as u16)
            .add_bytes(&b[..msg_len])
            .finish()
    } else {
        Checksum::new().add_bytes(&b[..msg_len]).finish()
    };
    b[6..8].copy_from_slice(&c.to_be_bytes());
    b
}

/// Wraps a payload in a valid IPv4 header so the datagram decoder gets past the IP layer.
fn shaped_ipv4(rng: &mut Rng, payload: &[u8]) -> Vec<u8> {
    let proto = if rng.below(3) == 0 {
        IpProtocol::Ah
    } else {
        IpProtocol::Vrrp
    };
    let mut out = vec![0u8; 20 + payload.len()];
    let src = Ipv4Addr::new(192, 0, 2, 1);
    if let Ok(mut h) = Ipv4Header::vrrp(src, VRRP_MULTICAST_V4, 255, 1, proto, payload.len()) {
        h.emit(&mut out).unwrap();
    }
    out[20..].copy_from_slice(payload);
    out
}

#[test]
fn random_buffers_never_panic() {
    let seed = std::env::var("WIRE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6b65_6570_616c_6976u64);
    let mut rng = Rng::new(seed);
    let mut decoded = 0usize;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for i in 0..200_000 {
            let buf = match i % 8 {
                // Plain random bytes of random length.
                0..=3 => {
                    let mut b = vec![0u8; rng.below(2000)];
                    rng.fill(&mut b);
                    if !b.is_empty() && rng.below(2) == 0 {
                        b[0] = [0x45, 0x46, 0x4f, 0x60, 0x21, 0x31][rng.below(6)];
                    }
                    b
                }
                // Short buffers, where the length checks live.
                4 => {
                    let mut b = vec![0u8; rng.below(64)];
                    rng.fill(&mut b);
                    b
                }
                5 | 6 => shaped_vrrp(&mut rng),
                _ => {
                    let p = shaped_vrrp(&mut rng);
                    shaped_ipv4(&mut rng, &p)
                }
            };
            decoded += all_decoders(&buf);
        }
    }));
    assert!(
        result.is_ok(),
        "decoder panicked; reproduce: WIRE_FUZZ_SEED={seed}"
    );
    // The shaped inputs must actually reach successful decodes, or the test proves little.
    assert!(decoded > 10_000, "only {decoded} successful decodes");
}

#[test]
fn mutated_vectors_never_panic() {
    let seed = 0x0077_6972_6566_757au64;
    let mut rng = Rng::new(seed);
    let vectors: Vec<Vec<u8>> = FIXTURES.iter().map(|n| fixture(n)).collect();
    let mut decoded = 0usize;
    for round in 0..4_000 {
        for frame in &vectors {
            // The frame, the IP datagram and the innermost payload are all decoder inputs.
            let v6 = frame.len() > 13 && frame[12] == 0x86;
            let views: [&[u8]; 3] = [
                frame,
                &frame[14..],
                &frame[(if v6 { 54 } else { 34 }).min(frame.len())..],
            ];
            for view in views {
                let mut m = view.to_vec();
                if m.is_empty() {
                    continue;
                }
                match round % 4 {
                    0 => {
                        let flips = 1 + rng.below(3);
                        for _ in 0..flips {
                            let bit = rng.below(m.len() * 8);
                            m[bit / 8] ^= 1 << (bit % 8);
                        }
                    }
                    1 => {
                        let at = rng.below(m.len());
                        m[at] = rng.next_u64() as u8;
                    }
                    2 => {
                        let cut = rng.below(m.len() + 1);
                        m.truncate(cut);
                    }
                    _ => {
                        let extra = rng.below(64);
                        let mut tail = vec![0u8; extra];
                        rng.fill(&mut tail);
                        m.extend_from_slice(&tail);
                    }
                }
                decoded += all_decoders(&m);
            }
        }
    }
    // Unmutated vectors decode, through the decoder that fits each.
    for frame in &vectors {
        assert!(all_decoders(frame) + all_decoders(&frame[14..]) > 0);
    }
    assert!(decoded > 10_000, "only {decoded} successful decodes");
}
