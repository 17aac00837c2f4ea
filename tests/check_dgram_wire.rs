//! The wire formats of PING_CHECK and DNS_CHECK (and UDP_CHECK's reply matching) on seeded
//! random input: peer-controlled bytes never panic, and what is read back is consistent.

mod common;

use common::rng::{Rng, TestRng};
use keepalived_rs::check::{dns, ping, udp};
use keepalived_rs::config::model::lvs::{DnsCheck, DnsType, ReplyPattern, UdpCheck};

#[test]
fn echo_replies_from_random_bytes() {
    let mut rng = Rng::new(0x9196_0001);
    for _ in 0..20_000 {
        let mut b = vec![0u8; rng.below(200)];
        rng.fill(&mut b);
        if rng.below(2) == 0 && !b.is_empty() {
            b[0] = [0, 129, 8, 128][rng.below(4)];
        }
        for v6 in [false, true] {
            if let Some(seq) = ping::reply_seq(v6, &b) {
                assert!(b.len() >= ping::HEADER_LEN);
                assert_eq!(b[0], if v6 { 129 } else { 0 });
                assert_eq!(seq, u16::from_be_bytes([b[6], b[7]]));
            }
        }
    }
    // A request turned into a reply is recognised with its sequence.
    for seq in [0u16, 1, 0xffff, rng.next_u64() as u16] {
        for v6 in [false, true] {
            let mut r = ping::echo_request(v6, seq);
            r[0] = if v6 { 129 } else { 0 };
            assert_eq!(ping::reply_seq(v6, &r), Some(seq));
        }
    }
}

#[test]
fn dns_responses_from_random_bytes() {
    let mut rng = Rng::new(0x9196_0002);
    for _ in 0..20_000 {
        let mut b = vec![0u8; rng.below(64)];
        rng.fill(&mut b);
        let id = if b.len() >= 2 && rng.below(2) == 0 {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            rng.next_u64() as u16
        };
        if let dns::Response::Rcode(rc) = dns::decode_response(&b, id) {
            assert!(b.len() >= dns::HEADER_LEN);
            assert_eq!(u16::from_be_bytes([b[0], b[1]]), id);
            assert!(b[2] & 0x80 != 0);
            assert_eq!(rc, b[3] & 0x0f);
        }
    }
}

#[test]
fn dns_queries_from_random_names() {
    let mut rng = Rng::new(0x9196_0003);
    for _ in 0..5_000 {
        let mut name = String::new();
        for _ in 0..rng.below(8) {
            let len = rng.below(80);
            let label: String = (0..len)
                .map(|_| [b'a', b'z', b'-', b'0', b'.'][rng.below(5)] as char)
                .collect();
            name.push_str(&label);
            name.push('.');
        }
        let cfg = DnsCheck {
            qtype: DnsType::ALL[rng.below(DnsType::ALL.len())],
            name,
        };
        let id = rng.next_u64() as u16;
        let q = dns::encode_query(&cfg, id);
        assert_eq!(u16::from_be_bytes([q[0], q[1]]), id);
        assert_eq!(&q[2..12], &[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        // The question reads back: labels of at most 63 bytes, then the root, type, class.
        let mut i = 12;
        while q[i] != 0 {
            assert!(q[i] <= 63);
            i += 1 + q[i] as usize;
        }
        assert_eq!(q.len(), i + 5);
        assert_eq!(u16::from_be_bytes([q[i + 1], q[i + 2]]), cfg.qtype.code());
        assert_eq!(&q[i + 3..], &[0, 1]);
    }
}

#[test]
fn udp_replies_from_random_bytes() {
    let mut rng = Rng::new(0x9196_0004);
    for _ in 0..20_000 {
        let n = rng.below(8);
        let mut data = vec![0u8; n];
        rng.fill(&mut data);
        let mut mask = vec![0u8; n];
        rng.fill(&mut mask);
        let (min, max) = (rng.below(10) as u16, rng.below(300) as u16);
        let cfg = UdpCheck {
            payload: vec![],
            payload_configured: false,
            require_reply: true,
            reply: Some(ReplyPattern { data, mask }),
            min_reply_length: min,
            max_reply_length: max,
        };
        let mut r = vec![0u8; rng.below(400)];
        rng.fill(&mut r);
        if udp::reply_ok(&cfg, &r) {
            assert!(r.len() >= min as usize && r.len() <= max as usize);
        }
    }
}

/// An SMTP_CHECK checker built from configuration text.
fn smtp_checker() -> keepalived_rs::config::model::lvs::Checker {
    use keepalived_rs::config::diag::Diagnostics;
    use keepalived_rs::config::semantic::{self, PermissiveHost, SemanticOptions};
    use keepalived_rs::config::{parse_str, LoadOptions};
    let text = "virtual_server 192.0.2.50 80 {\n lb_kind NAT\n protocol TCP\n \
                real_server 198.18.1.2 25 {\n  SMTP_CHECK {\n   retry 2\n  }\n }\n}\n";
    let mut diags = Diagnostics::new();
    let tree = parse_str(text, "t.conf", &LoadOptions::default(), &mut diags);
    let cfg = semantic::build(
        &tree,
        &PermissiveHost,
        &SemanticOptions::default(),
        &mut diags,
    );
    cfg.lvs.virtual_servers[0].real_servers[0].checkers[0].clone()
}

#[test]
fn smtp_conversations_from_random_bytes() {
    use keepalived_rs::check::smtp::{SmtpCheck, SmtpEvent, SmtpNext};
    let c = smtp_checker();
    let mut rng = Rng::new(0x9196_0005);
    let lines: [&[u8]; 6] = [
        b"220 hi\r\n",
        b"250 ok\r\n",
        b"221 bye\r\n",
        b"\r\n",
        b"2",
        b"\n",
    ];
    for _ in 0..5_000 {
        let mut k = SmtpCheck::new();
        assert_eq!(
            k.on_event(&c, "h", SmtpEvent::Connected, true, true, false, "t", "r")
                .0,
            SmtpNext::Read
        );
        // Random chunks, often of well-formed lines, until the attempt ends.
        for _ in 0..20 {
            let chunk = if rng.below(2) == 0 {
                lines[rng.below(lines.len())].to_vec()
            } else {
                let mut b = vec![0u8; rng.below(700)];
                rng.fill(&mut b);
                b
            };
            let (next, step) = k.on_event(
                &c,
                "h",
                SmtpEvent::Data(&chunk),
                true,
                true,
                false,
                "t",
                "r",
            );
            match next {
                SmtpNext::Read | SmtpNext::Send(_) => assert!(step.is_none()),
                SmtpNext::Next(us) => {
                    assert_eq!(step.map(|s| s.next_in_us), Some(us));
                    break;
                }
            }
        }
    }
}
