//! PING_CHECK, UDP_CHECK and DNS_CHECK end to end on the real kernel (network namespaces;
//! needs root): our daemon checks real servers in another namespace whose answers come and
//! go (the kernel's echo replies, a UDP responder, a tiny DNS responder written here). The
//! lines are keepalived 2.2.7's, as captured from it in the QEMU guest
//! (/work/scratch/ka-check2), and the real servers leave and rejoin their virtual server.
//! (The kernel's IPVS table is not needed: on a kernel without it the engine runs on.)

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::e2e_ready;
use common::lan::{wait_until, Daemon, Lan, TestDir};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);

/// Writes a sysctl of namespace `ns`.
fn sysctl(ns: &common::Netns, path: &str, value: &str) {
    let out = ns
        .cmd("sh")
        .args(["-c", &format!("echo {value} > /proc/sys/{path}")])
        .output()
        .expect("run sh");
    assert!(out.status.success(), "{path}: {out:?}");
}

/// A UDP responder at `addr` inside namespace `ns`: each datagram gets `answer(datagram,
/// mode)` back (nothing when it returns no datagrams), `mode` being set by the test.
struct Responder {
    stop: Arc<AtomicBool>,
    mode: Arc<AtomicU32>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Responder {
    fn start(ns: &str, addr: &str, answer: fn(&[u8], u32) -> Vec<Vec<u8>>) -> Responder {
        let (ns, addr) = (ns.to_string(), addr.to_string());
        let stop = Arc::new(AtomicBool::new(false));
        let mode = Arc::new(AtomicU32::new(0));
        let (flag, m) = (stop.clone(), mode.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            // This thread moves into the namespace; its sockets are created there.
            keepalived_rs::os::netns::enter(&ns).expect("enter the namespace");
            let s = UdpSocket::bind(&addr).expect("bind the real server");
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            tx.send(()).unwrap();
            let mut buf = [0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = s.recv_from(&mut buf) {
                    for r in answer(&buf[..n], m.load(Ordering::Relaxed)) {
                        let _ = s.send_to(&r, from);
                    }
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("responder started");
        Responder {
            stop,
            mode,
            thread: Some(thread),
        }
    }

    fn set(&self, mode: u32) {
        self.mode.store(mode, Ordering::Relaxed);
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn ping_check_follows_the_real_server() {
    if !e2e_ready("ping_check_follows_the_real_server", false) {
        return;
    }
    let lan = Lan::new("pck", 2);
    let dir = TestDir::new("pck");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let conf = "virtual_server 192.0.2.180 80 {\n    delay_loop 1\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 192.0.2.2 80 {\n        PING_CHECK {\n            connect_timeout 1\n            \
         retry 1\n            delay_before_retry 1\n            log_all_failures\n        }\n    }\n    \
         real_server 192.0.2.99 80 {\n        PING_CHECK {\n            connect_timeout 1\n        }\n    }\n}\n";
    let ours = Daemon::ours(h1, &dir, "ours", conf);
    let vs = "[192.0.2.180]:tcp:80";
    let t = "[192.0.2.2]:tcp:80";
    wait_until(
        "the first PING_CHECK success",
        LIMIT,
        || ours.count(&format!("ICMP connection to {t} success.")) == 1,
        || ours.tail(30),
    );
    wait_until(
        "the absent real server down",
        LIMIT,
        || ours.count("ICMP CHECK on service [192.0.2.99]:tcp:80 failed.") == 1,
        || ours.tail(30),
    );
    // The real server stops answering: one retry, then down.
    sysctl(h2, "net/ipv4/icmp_echo_ignore_all", "1");
    wait_until(
        "the real server down after its retry",
        LIMIT,
        || {
            ours.count(&format!(
                "ICMP CHECK on service {t} of {vs} failed after 1 retries."
            )) == 1
                && ours.count(&format!("Removing service {t} from VS {vs}")) == 1
        },
        || ours.tail(30),
    );
    assert_eq!(
        ours.count(&format!("ICMP connection to address {t} timeout.")),
        2,
        "{}",
        ours.tail(30)
    );
    sysctl(h2, "net/ipv4/icmp_echo_ignore_all", "0");
    wait_until(
        "the real server up again",
        LIMIT,
        || {
            ours.count(&format!("ICMP connection to {t} success.")) == 2
                && ours.count(&format!("Adding service {t} to VS {vs}")) == 1
        },
        || ours.tail(30),
    );
    assert!(ours.running());
}

#[test]
fn ping_check_ipv6() {
    if !e2e_ready("ping_check_ipv6", false) {
        return;
    }
    let lan = Lan::new("pc6", 2);
    let dir = TestDir::new("pc6");
    let conf = "virtual_server fd00::180 80 {\n    delay_loop 1\n    lb_kind NAT\n    protocol TCP\n    \
         real_server fd00::2 80 {\n        PING_CHECK {\n            connect_timeout 1\n        }\n    }\n}\n";
    let ours = Daemon::ours(lan.host(1), &dir, "ours", conf);
    wait_until(
        "the first PING_CHECK success over IPv6",
        LIMIT,
        || ours.count("ICMP connection to [fd00::2]:tcp:80 success.") == 1,
        || ours.tail(30),
    );
}

/// UDP answers: mode 0 says "ok", 1 says "no", 2 stays silent.
fn udp_answer(_: &[u8], mode: u32) -> Vec<Vec<u8>> {
    match mode {
        0 => vec![b"ok".to_vec()],
        1 => vec![b"no".to_vec()],
        _ => vec![],
    }
}

#[test]
fn udp_check_follows_the_real_server() {
    if !e2e_ready("udp_check_follows_the_real_server", false) {
        return;
    }
    let lan = Lan::new("uck", 2);
    let dir = TestDir::new("uck");
    let (h1, h2) = (lan.host(1), lan.host(2));
    // Every port unreachable must come back (the kernel rate-limits them per peer).
    sysctl(h2, "net/ipv4/icmp_ratelimit", "0");
    let conf = "virtual_server 192.0.2.180 53 {\n    delay_loop 1\n    lb_kind NAT\n    protocol UDP\n    \
         real_server 192.0.2.2 5001 {\n        UDP_CHECK {\n            connect_timeout 1\n            \
         retry 1\n            delay_before_retry 1\n            log_all_failures\n        }\n    }\n    \
         real_server 192.0.2.2 5002 {\n        UDP_CHECK {\n            connect_timeout 1\n            \
         retry 0\n            require_reply 6fXX\n        }\n    }\n}\n";
    let silent = Responder::start(&h2.name, "192.0.2.2:5001", udp_answer);
    silent.set(2);
    let replier = Responder::start(&h2.name, "192.0.2.2:5002", udp_answer);
    let ours = Daemon::ours(h1, &dir, "ours", conf);
    let vs = "[192.0.2.180]:udp:53";
    let (t1, t2) = ("[192.0.2.2]:udp:5001", "[192.0.2.2]:udp:5002");
    wait_until(
        "the first successes (a silent server, a matching reply)",
        LIMIT,
        || {
            ours.count(&format!("UDP connection to {t1} success.")) == 1
                && ours.count(&format!("UDP connection to {t2} success.")) == 1
        },
        || ours.tail(30),
    );
    // The silent server goes: port unreachable, one retry, then down.
    drop(silent);
    // The replier answers wrong: down at once (retry 0), no attempt line without log_all.
    replier.set(1);
    wait_until(
        "both down",
        LIMIT,
        || {
            ours.count(&format!(
                "UDP_CHECK on service {t1} failed after 1 retries."
            )) == 1
                && ours.count(&format!("Removing service {t1} from VS {vs}")) == 1
                && ours.count(&format!("UDP_CHECK on service {t2} failed.")) == 1
                && ours.count(&format!("Removing service {t2} from VS {vs}")) == 1
        },
        || ours.tail(30),
    );
    assert_eq!(
        ours.count(&format!("UDP connection to {t1} failed.")),
        2,
        "{}",
        ours.tail(30)
    );
    assert_eq!(ours.count("reply data mismatch"), 0, "{}", ours.tail(30));
    // Silence is a failure when a reply is required.
    replier.set(2);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        ours.count(&format!("Adding service {t2}")),
        0,
        "{}",
        ours.tail(30)
    );
    let _back = Responder::start(&h2.name, "192.0.2.2:5001", udp_answer);
    replier.set(0);
    wait_until(
        "both up again",
        LIMIT,
        || {
            ours.count(&format!("Adding service {t1} to VS {vs}")) == 1
                && ours.count(&format!("Adding service {t2} to VS {vs}")) == 1
        },
        || ours.tail(30),
    );
    assert!(ours.running());
}

/// DNS answers: the query's header turned into a response with RCODE `mode` (0..15); mode
/// 16 stays silent; mode 17 first answers with another ID (not ours: ignored), then right.
fn dns_answer(q: &[u8], mode: u32) -> Vec<Vec<u8>> {
    if q.len() < 12 || mode == 16 {
        return vec![];
    }
    let mut r = q.to_vec();
    r[2] = 0x81;
    r[3] = 0x80 | (mode as u8 & 0x0f);
    if mode == 17 {
        r[3] = 0x80;
        let mut other = r.clone();
        other[0] ^= 0x55;
        return vec![other, r];
    }
    vec![r]
}

#[test]
fn dns_check_follows_the_real_server() {
    if !e2e_ready("dns_check_follows_the_real_server", false) {
        return;
    }
    let lan = Lan::new("dck", 2);
    let dir = TestDir::new("dck");
    let (h1, h2) = (lan.host(1), lan.host(2));
    sysctl(h2, "net/ipv4/icmp_ratelimit", "0");
    let conf = "virtual_server 192.0.2.180 53 {\n    delay_loop 1\n    lb_kind NAT\n    protocol UDP\n    \
         real_server 192.0.2.2 53 {\n        DNS_CHECK {\n            connect_timeout 1\n            \
         retry 1\n            delay_before_retry 1\n            type A\n            name www.example.test\n        }\n    }\n    \
         real_server 192.0.2.2 5354 {\n        DNS_CHECK {\n            connect_timeout 1\n        }\n    }\n}\n";
    let dns = Responder::start(&h2.name, "192.0.2.2:53", dns_answer);
    let ours = Daemon::ours(h1, &dir, "ours", conf);
    let vs = "[192.0.2.180]:udp:53";
    let t = "[192.0.2.2]:udp:53";
    wait_until(
        "the closed port down at once",
        LIMIT,
        || {
            ours.count(
                "DNS_CHECK ([192.0.2.2]:udp:5354) failed to read socket; errno 111 (Connection refused)",
            ) == 1
        },
        || ours.tail(30),
    );
    // DNS_CHECK logs no success: up is the absence of lines for a few cycles.
    dns.set(17);
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(
        ours.count(&format!("DNS_CHECK ({t})")),
        0,
        "{}",
        ours.tail(30)
    );
    dns.set(3);
    wait_until(
        "down on RCODE 3 after one retry",
        LIMIT,
        || {
            ours.count(&format!(
                "DNS_CHECK ({t}) read error occurred. (rcode = 3) after 1 retries"
            )) == 1
                && ours.count(&format!("Removing service {t} from VS {vs}")) == 1
        },
        || ours.tail(30),
    );
    dns.set(0);
    wait_until(
        "up again",
        LIMIT,
        || ours.count(&format!("Adding service {t} to VS {vs}")) == 1,
        || ours.tail(30),
    );
    dns.set(16);
    wait_until(
        "down on silence",
        LIMIT,
        || {
            ours.count(&format!(
                "DNS_CHECK ({t}) read timeout from socket after 1 retries"
            )) == 1
        },
        || ours.tail(30),
    );
    assert!(ours.running());
}
