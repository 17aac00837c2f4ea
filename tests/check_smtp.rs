//! SMTP_CHECK end to end on the real kernel (network namespaces; needs root): our daemon
//! talks to a small SMTP server in another namespace whose answers the test changes, and to
//! a port where nothing listens. The lines are keepalived 2.2.7's, as captured from it in
//! the QEMU guest (/work/scratch/ka-check2), and the real server leaves and rejoins its
//! virtual server. (The kernel's IPVS table is not needed.)

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::e2e_ready;
use common::lan::{wait_until, Daemon, Lan, TestDir};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);

/// Modes of the server: a good conversation, a bad HELO reply, a bad greeting.
const GOOD: u32 = 0;
const BAD_HELO: u32 = 1;
const BAD_GREETING: u32 = 2;

/// An SMTP server at `addr` inside namespace `ns`, one connection at a time; it records
/// the lines it receives.
struct Server {
    stop: Arc<AtomicBool>,
    mode: Arc<AtomicU32>,
    got: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(ns: &str, addr: &str) -> Server {
        let (ns, addr) = (ns.to_string(), addr.to_string());
        let stop = Arc::new(AtomicBool::new(false));
        let mode = Arc::new(AtomicU32::new(GOOD));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (flag, m, g) = (stop.clone(), mode.clone(), got.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            keepalived_rs::os::netns::enter(&ns).expect("enter the namespace");
            let l = TcpListener::bind(&addr).expect("bind the real server");
            l.set_nonblocking(true).unwrap();
            tx.send(()).unwrap();
            while !flag.load(Ordering::Relaxed) {
                let Ok((mut c, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                c.set_nonblocking(false).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mode = m.load(Ordering::Relaxed);
                let mut r = BufReader::new(c.try_clone().unwrap());
                let mut line = String::new();
                let greeting: &[u8] = if mode == BAD_GREETING {
                    b"554 go away\r\n"
                } else {
                    b"220 mx.test ESMTP\r\n"
                };
                let _ = c.write_all(greeting);
                for reply in [&b"250 hi\r\n"[..], b"221 bye\r\n"] {
                    line.clear();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    g.lock().unwrap().push(line.clone());
                    let reply: &[u8] = if mode == BAD_HELO && reply.starts_with(b"250") {
                        b"550 no\r\n"
                    } else {
                        reply
                    };
                    let _ = c.write_all(reply);
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("server started");
        Server {
            stop,
            mode,
            got,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn smtp_check_follows_the_real_server() {
    if !e2e_ready("smtp_check_follows_the_real_server", false) {
        return;
    }
    let lan = Lan::new("sck", 2);
    let dir = TestDir::new("sck");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let conf = "virtual_server 192.0.2.180 25 {\n    delay_loop 1\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 192.0.2.2 25 {\n        SMTP_CHECK {\n            connect_timeout 1\n            \
         retry 1\n            delay_before_retry 1\n            helo_name my.helo.test\n        }\n    }\n    \
         real_server 192.0.2.2 27 {\n        SMTP_CHECK {\n            connect_timeout 1\n            \
         retry 0\n        }\n    }\n}\n";
    let server = Server::start(&h2.name, "192.0.2.2:25");
    let ours = Daemon::ours(h1, &dir, "ours", conf);
    let vs = "[192.0.2.180]:tcp:25";
    let t = "[192.0.2.2]:tcp:25";
    wait_until(
        "the first SMTP_CHECK success, and the refused port down",
        LIMIT,
        || {
            ours.count(&format!("Remote SMTP server {t} succeed on service.")) == 1
                && ours.count("SMTP_CHECK Could not connect to server [192.0.2.2]:27") == 1
        },
        || ours.tail(30),
    );
    {
        let got = server.got.lock().unwrap();
        assert_eq!(
            got[..2],
            ["HELO my.helo.test\r\n".to_string(), "QUIT\r\n".to_string()]
        );
    }
    server.mode.store(BAD_HELO, Ordering::Relaxed);
    wait_until(
        "down on a bad HELO reply after one retry",
        LIMIT,
        || {
            ours.count("SMTP_CHECK Bad HELO response from server [192.0.2.2]:25") == 1
                && ours.count(&format!("Removing service {t} from VS {vs}")) == 1
        },
        || ours.tail(30),
    );
    server.mode.store(BAD_GREETING, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(2500));
    // Down: its failures are not logged.
    assert_eq!(ours.count("Bad greeting banner"), 0, "{}", ours.tail(30));
    server.mode.store(GOOD, Ordering::Relaxed);
    wait_until(
        "up again",
        LIMIT,
        || {
            ours.count(&format!("Remote SMTP server {t} succeed on service.")) == 2
                && ours.count(&format!("Adding service {t} to VS {vs}")) == 1
        },
        || ours.tail(30),
    );
    drop(server);
    wait_until(
        "down when the server goes",
        LIMIT,
        || ours.count("SMTP_CHECK Could not connect to server [192.0.2.2]:25") == 1,
        || ours.tail(30),
    );
    assert!(ours.running());
}
