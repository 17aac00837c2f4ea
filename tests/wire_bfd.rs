//! BFD Control packet wire vectors (tests/fixtures/wire/bfd): keepalived 2.2.7 captures decode
//! to the fields tcpdump printed and re-encode byte for byte; synthesized authenticated packets
//! (digests from Python's hashlib) verify with their key and re-encode; one negative case per
//! `RxError` variant; random and mutated buffers never panic and, when accepted, re-encode to
//! the same bytes.

mod common;

use common::rng::{Rng, TestRng};
use std::path::{Path, PathBuf};

use keepalived_rs::wire::bfd::{
    sha1, sign, verify_auth, Auth, AuthType, ControlPacket, ControlRepr, Diag, RxError, State,
    HEADER_LEN, MAX_LEN,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wire/bfd")
}

struct Vector {
    name: String,
    comments: Vec<String>,
    bytes: Vec<u8>,
}

fn vectors() -> Vec<Vector> {
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hex"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        let mut comments = Vec::new();
        let mut bytes = Vec::new();
        for line in text.lines() {
            if let Some(c) = line.strip_prefix('#') {
                comments.push(c.trim().to_string());
            } else {
                for h in line.split_whitespace() {
                    bytes.push(u8::from_str_radix(h, 16).unwrap());
                }
            }
        }
        out.push(Vector {
            name: p.file_stem().unwrap().to_string_lossy().into_owned(),
            comments,
            bytes,
        });
    }
    out
}

/// The UDP header fields and payload of a captured Ethernet frame.
struct Udp<'a> {
    ttl: u8,
    v6: bool,
    src_port: u16,
    dst_port: u16,
    payload: &'a [u8],
}

fn udp_of(frame: &[u8]) -> Udp<'_> {
    let et = u16::from_be_bytes([frame[12], frame[13]]);
    let ip = &frame[14..];
    let (ttl, v6, udp) = match et {
        0x0800 => {
            assert_eq!(ip[9], 17);
            (ip[8], false, &ip[usize::from(ip[0] & 15) * 4..])
        }
        0x86dd => {
            assert_eq!(ip[6], 17);
            (ip[7], true, &ip[40..])
        }
        _ => panic!("ethertype {et:#x}"),
    };
    let len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    Udp {
        ttl,
        v6,
        src_port: u16::from_be_bytes([udp[0], udp[1]]),
        dst_port: u16::from_be_bytes([udp[2], udp[3]]),
        payload: &udp[8..len],
    }
}

/// `key=value` pairs of the "bfd ..." comment line.
fn field(v: &Vector, key: &str) -> String {
    let line = v.comments.iter().find(|c| c.starts_with("bfd ")).unwrap();
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("{}: no {key}", v.name))
        .to_string()
}

fn num(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

fn reencode(p: &ControlPacket<'_>) -> Vec<u8> {
    let mut buf = [0u8; MAX_LEN];
    let n = p.repr().emit(&mut buf).unwrap();
    buf[..n].to_vec()
}

#[test]
fn keepalived_captures_decode_and_reencode() {
    let vs: Vec<_> = vectors()
        .into_iter()
        .filter(|v| !v.name.starts_with("auth_"))
        .collect();
    assert!(vs.len() >= 18, "only {} captured vectors", vs.len());
    let mut states = std::collections::BTreeSet::new();
    for v in &vs {
        let udp = udp_of(&v.bytes);
        let p = ControlPacket::parse(udp.payload).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        // keepalived 2.2.7: v4 TTL 255, v6 hop limit 64, `ttl 64` honoured; port 3784 always
        // (it has no multihop); source port from 49152..=65535 when source_ip is set.
        let want_ttl = if v.name.starts_with("v4") { 255 } else { 64 };
        assert_eq!(udp.ttl, want_ttl, "{}", v.name);
        assert_eq!(udp.v6, v.name.starts_with("v6"), "{}", v.name);
        assert_eq!(udp.dst_port, 3784, "{}", v.name);
        assert!(udp.src_port >= 49152, "{}", v.name);
        let st = match field(v, "state").as_str() {
            "admindown" => State::AdminDown,
            "down" => State::Down,
            "init" => State::Init,
            "up" => State::Up,
            s => panic!("{s}"),
        };
        assert_eq!(p.state, st, "{}", v.name);
        assert_eq!(u64::from(p.diag.to_bits()), num(&field(v, "diag")));
        let flags = num(&field(v, "flags"));
        assert_eq!(p.poll, flags & 0x20 != 0);
        assert_eq!(p.final_, flags & 0x10 != 0);
        assert_eq!(p.cpi, flags & 0x08 != 0);
        assert_eq!(p.demand, flags & 0x02 != 0);
        assert!(p.auth.is_none());
        assert_eq!(u64::from(p.detect_mult), num(&field(v, "mult")));
        assert_eq!(u64::from(p.length), num(&field(v, "len")));
        assert_eq!(u64::from(p.my_discr), num(&field(v, "my")));
        assert_eq!(u64::from(p.your_discr), num(&field(v, "your")));
        assert_eq!(u64::from(p.desired_min_tx_us), num(&field(v, "tx")));
        assert_eq!(u64::from(p.required_min_rx_us), num(&field(v, "rx")));
        assert_eq!(p.required_min_echo_rx_us, 0, "keepalived has no echo");
        assert!(p.trailing.is_empty());
        assert_eq!(reencode(&p), udp.payload, "{}", v.name);
        // Intervals: 1 s while not Up (idle_tx), min_tx once Up.
        if st != State::Up {
            assert_eq!(p.desired_min_tx_us, 1_000_000, "{}", v.name);
        }
        states.insert((st, p.poll, p.final_, p.diag));
    }
    // The 3-way handshake and what follows are all there.
    for want in [
        (State::Down, false, false, Diag::NoDiagnostic),
        (State::Init, false, false, Diag::NoDiagnostic),
        (State::Up, true, false, Diag::NoDiagnostic),
        (State::Up, false, true, Diag::NoDiagnostic),
        (State::Up, false, false, Diag::NoDiagnostic),
        (State::Down, false, false, Diag::ControlDetectionTimeExpired),
    ] {
        assert!(states.contains(&want), "missing {want:?}");
    }
}

fn key_of(v: &Vector) -> Vec<u8> {
    let hex = v
        .comments
        .iter()
        .find_map(|c| c.strip_prefix("key "))
        .unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn synthesized_auth_vectors_verify_and_reencode() {
    let vs: Vec<_> = vectors()
        .into_iter()
        .filter(|v| v.name.starts_with("auth_"))
        .collect();
    assert_eq!(vs.len(), 5);
    let mut types = Vec::new();
    for v in &vs {
        let key = key_of(v);
        let p = ControlPacket::parse(&v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let a = p.auth.unwrap();
        types.push(a.auth_type());
        assert!(verify_auth(&p, &key), "{}", v.name);
        let mut wrong = key.clone();
        wrong[0] ^= 1;
        assert!(!verify_auth(&p, &wrong), "{}", v.name);
        assert_eq!(reencode(&p), v.bytes, "{}", v.name);
        match a {
            Auth::SimplePassword { key_id, password } => {
                assert_eq!(key_id, 5);
                assert_eq!(password, b"bfd-secret");
                assert!(p.poll);
            }
            Auth::KeyedMd5 { key_id, .. } | Auth::KeyedSha1 { key_id, .. } => {
                assert_eq!(key_id, 7);
                assert!(p.final_);
                // Re-signing the zeroed packet with our MD5/SHA-1 gives hashlib's digest.
                let mut b = v.bytes.clone();
                b[HEADER_LEN + 8..].fill(0);
                assert!(sign(&mut b, &key));
                assert_eq!(b, v.bytes, "{}", v.name);
            }
        }
    }
    types.sort();
    assert_eq!(
        types,
        [
            AuthType::SimplePassword,
            AuthType::KeyedMd5,
            AuthType::MeticulousKeyedMd5,
            AuthType::KeyedSha1,
            AuthType::MeticulousKeyedSha1
        ]
    );
}

fn good() -> [u8; 24] {
    let r = ControlRepr {
        diag: Diag::NoDiagnostic,
        state: State::Up,
        poll: false,
        final_: false,
        cpi: false,
        demand: false,
        detect_mult: 3,
        my_discr: 0x0102_0304,
        your_discr: 0x0506_0708,
        desired_min_tx_us: 10_000,
        required_min_rx_us: 10_000,
        required_min_echo_rx_us: 0,
        auth: None,
    };
    let mut b = [0u8; 24];
    assert_eq!(r.emit(&mut b).unwrap(), 24);
    b
}

#[test]
fn one_negative_case_per_rx_error() {
    let parse = |b: &[u8]| ControlPacket::parse(b).map(|_| ()).unwrap_err();
    let g = good();
    assert!(ControlPacket::parse(&g).is_ok());
    let mut seen = [false; RxError::COUNT];
    let mut check = |b: &[u8], want: RxError| {
        let e = parse(b);
        assert_eq!(e, want);
        seen[e.index()] = true;
        assert!(!e.to_string().is_empty());
    };
    check(&g[..23], RxError::Truncated { got: 23 });
    let mut b = g;
    b[0] = (2 << 5) | (b[0] & 0x1f);
    check(&b, RxError::BadVersion { version: 2 });
    let mut b = g;
    b[3] = 23;
    check(
        &b,
        RxError::BadLength {
            length: 23,
            auth: false,
        },
    );
    let mut b = g.to_vec();
    b[1] |= 0x04;
    b[3] = 25;
    b.extend([1, 0]);
    check(
        &b,
        RxError::BadLength {
            length: 25,
            auth: true,
        },
    );
    let mut b = g;
    b[3] = 28;
    check(
        &b,
        RxError::LengthExceedsPayload {
            length: 28,
            payload: 24,
        },
    );
    let mut b = g;
    b[2] = 0;
    check(&b, RxError::ZeroDetectMult);
    let mut b = g;
    b[1] |= 0x01;
    check(&b, RxError::Multipoint);
    let mut b = g;
    b[4..8].fill(0);
    check(&b, RxError::ZeroMyDiscr);
    let mut b = g;
    b[8..12].fill(0);
    check(&b, RxError::ZeroYourDiscr { state: State::Up });
    b[1] = (State::Init.to_bits() << 6) | (b[1] & 0x3f);
    check(&b, RxError::ZeroYourDiscr { state: State::Init });
    // Your Discriminator 0 is fine when Down or AdminDown.
    for st in [State::Down, State::AdminDown] {
        b[1] = (st.to_bits() << 6) | (b[1] & 0x3f);
        assert!(ControlPacket::parse(&b).is_ok());
    }
    let mut b = g;
    b[1] |= 0x30;
    check(&b, RxError::PollAndFinal);
    for diag in 9..32u8 {
        let mut b = g;
        b[0] = (1 << 5) | diag;
        check(&b, RxError::BadDiag { diag });
    }
    let mut b = g.to_vec();
    b[1] |= 0x04;
    b[3] = 26;
    b.extend([0, 2]);
    check(&b, RxError::UnknownAuthType { auth_type: 0 });
    b[24] = 6;
    check(&b, RxError::UnknownAuthType { auth_type: 6 });
    // Auth Len too short for a password, MD5 with a SHA1 length, and a Length that is not
    // 24 + Auth Len.
    b[24] = 1;
    b[25] = 2;
    check(
        &b,
        RxError::BadAuthLen {
            auth_type: 1,
            auth_len: 2,
            length: 26,
        },
    );
    let mut b = g.to_vec();
    b[1] |= 0x04;
    b[3] = 52;
    b.extend([2, 28]);
    b.resize(52, 0);
    check(
        &b,
        RxError::BadAuthLen {
            auth_type: 2,
            auth_len: 28,
            length: 52,
        },
    );
    let mut b = g.to_vec();
    b[1] |= 0x04;
    b[3] = 30;
    b.extend([1, 5, 1, b'a', b'b', 0]);
    check(
        &b,
        RxError::BadAuthLen {
            auth_type: 1,
            auth_len: 5,
            length: 30,
        },
    );
    assert!(
        seen.iter().all(|&s| s),
        "not every RxError variant was produced"
    );
    // Trailing bytes after Length are allowed (§6.8.6 only bounds Length by the payload).
    let mut b = g.to_vec();
    b.extend([0xaa; 8]);
    let p = ControlPacket::parse(&b).unwrap();
    assert_eq!(p.trailing, &[0xaa; 8]);
    assert_eq!(p.bytes, &g);
}

#[test]
fn emit_refuses_small_buffers_and_bad_passwords() {
    let g = good();
    let p = ControlPacket::parse(&g).unwrap();
    let mut small = [0u8; 23];
    assert!(p.repr().emit(&mut small).is_err());
    let long = [b'x'; 17];
    let mut r = p.repr();
    r.auth = Some(Auth::SimplePassword {
        key_id: 1,
        password: &long,
    });
    assert!(r.emit(&mut [0u8; 64]).is_err());
    r.auth = Some(Auth::SimplePassword {
        key_id: 1,
        password: &[],
    });
    assert!(r.emit(&mut [0u8; 64]).is_err());
}

#[test]
fn display_names() {
    assert_eq!(State::AdminDown.to_string(), "AdminDown");
    assert_eq!(State::Up.to_string(), "Up");
    assert_eq!(
        Diag::NeighborSignaledSessionDown.to_string(),
        "Neighbor Signaled Session Down"
    );
    assert_eq!(
        Diag::AdministrativelyDown.to_string(),
        "Administratively Down"
    );
    for v in 0..32u8 {
        assert_eq!(
            Diag::from_bits(v).map(|d| d.to_bits()),
            (v <= 8).then_some(v)
        );
    }
    assert_eq!(
        sha1::sha1(b"abc")[..4],
        [0xa9, 0x99, 0x3e, 0x36],
        "RFC 3174 abc"
    );
}

/// Accepted packets re-encode to their own bytes (the MD5/SHA1 Reserved byte, ignored on
/// receive, is sent as zero) and re-parse to the same value.
fn check_accepted(buf: &[u8]) -> bool {
    let Ok(p) = ControlPacket::parse(buf) else {
        return false;
    };
    let out = reencode(&p);
    // Without the A bit a Length above 24 is allowed (RFC 5880 §6.8.6 only says >= 24) and
    // the extra bytes are ignored: the re-encoding is the 24-byte packet.
    let mut want = p.bytes[..p.repr().len()].to_vec();
    want[3] = want.len() as u8;
    if matches!(
        p.auth,
        Some(Auth::KeyedMd5 { .. }) | Some(Auth::KeyedSha1 { .. })
    ) {
        want[HEADER_LEN + 3] = 0;
    }
    assert_eq!(out, want);
    let q = ControlPacket::parse(&out).unwrap();
    assert_eq!(q.repr(), p.repr());
    // Verification never panics, whatever the key.
    let _ = verify_auth(&p, b"0123456789abcdefghij");
    let _ = verify_auth(&p, &[0; 40]);
    true
}

#[test]
fn random_buffers_never_panic() {
    let mut rng = Rng::new(0xbfd0_5eed);
    let mut buf = [0u8; 80];
    let mut accepted = 0;
    for i in 0..250_000 {
        let len = rng.below(buf.len() + 1);
        rng.fill(&mut buf[..len]);
        if i % 2 == 0 && len >= 4 {
            // Steer half of them past the first checks so deeper code runs.
            buf[0] = (1 << 5) | (buf[0] & 0x0f);
            buf[1] &= !0x31;
            buf[3] = if buf[1] & 0x04 != 0 {
                [26u8, 29, 36, 48, 52][rng.below(5)]
            } else {
                24
            };
            if len > 24 && buf[1] & 0x04 != 0 {
                buf[24] = 1 + rng.below(5) as u8;
                buf[25] = buf[3].wrapping_sub(24);
            }
        }
        if check_accepted(&buf[..len]) {
            accepted += 1;
        }
    }
    assert!(accepted > 1000, "only {accepted} random buffers accepted");
}

#[test]
fn mutated_vectors_never_panic() {
    let mut rng = Rng::new(42);
    let seeds: Vec<Vec<u8>> = vectors()
        .iter()
        .map(|v| {
            if v.name.starts_with("auth_") {
                v.bytes.clone()
            } else {
                udp_of(&v.bytes).payload.to_vec()
            }
        })
        .collect();
    let mut accepted = 0;
    for _ in 0..200_000 {
        let mut b = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(4) {
            match rng.below(5) {
                0 => {
                    let i = rng.below(b.len());
                    b[i] ^= 1 << rng.below(8);
                }
                1 => {
                    let i = rng.below(b.len());
                    b[i] = rng.next_u64() as u8;
                }
                2 => b.truncate(rng.below(b.len() + 1)),
                3 => b.push(rng.next_u64() as u8),
                _ => {
                    if b.len() > 3 {
                        b[3] = rng.next_u64() as u8;
                    }
                }
            }
            if b.is_empty() {
                break;
            }
        }
        if check_accepted(&b) {
            accepted += 1;
        }
    }
    assert!(
        accepted > 10_000,
        "only {accepted} mutated vectors accepted"
    );
}

#[test]
fn auth_round_trip_every_type_and_key_length() {
    let mut rng = Rng::new(7);
    for t in 1..=5u8 {
        let ty = AuthType::from_u8(t).unwrap();
        let max = match ty {
            AuthType::SimplePassword => 16,
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => 16,
            _ => 20,
        };
        for klen in 1..=max {
            let mut key = vec![0u8; klen];
            rng.fill(&mut key);
            let seq = rng.next_u64() as u32;
            let auth = match ty {
                AuthType::SimplePassword => Auth::SimplePassword {
                    key_id: klen as u8,
                    password: &key,
                },
                AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => Auth::KeyedMd5 {
                    meticulous: ty.meticulous(),
                    key_id: 3,
                    seq,
                    digest: [0; 16],
                },
                _ => Auth::KeyedSha1 {
                    meticulous: ty.meticulous(),
                    key_id: 3,
                    seq,
                    hash: [0; 20],
                },
            };
            let g = good();
            let p0 = ControlPacket::parse(&g).unwrap();
            let r = ControlRepr {
                auth: Some(auth),
                ..p0.repr()
            };
            let mut buf = [0u8; MAX_LEN];
            let n = r.emit(&mut buf).unwrap();
            assert_eq!(n, r.len());
            let signed = sign(&mut buf[..n], &key);
            assert_eq!(signed, ty != AuthType::SimplePassword);
            let p = ControlPacket::parse(&buf[..n]).unwrap();
            assert_eq!(p.auth.unwrap().auth_type(), ty);
            assert_eq!(
                p.auth.unwrap().seq(),
                (ty != AuthType::SimplePassword).then_some(seq)
            );
            assert!(verify_auth(&p, &key), "{ty} key {klen}");
            let mut flipped = buf;
            flipped[12] ^= 0x80; // any header bit changes the digest
            let q = ControlPacket::parse(&flipped[..n]).unwrap();
            assert_eq!(verify_auth(&q, &key), ty == AuthType::SimplePassword);
            assert_eq!(reencode(&p)[..], buf[..n]);
        }
    }
}
