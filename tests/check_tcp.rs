//! TCP_CHECK end to end on the real kernel (network namespaces; needs root): our daemon
//! checks a real server in another namespace whose listener comes and goes, and a real
//! server that does not exist. The checker's lines are keepalived 2.2.7's, the real server
//! leaves and rejoins its virtual server with keepalived's lines, and its notify_down and
//! notify_up scripts run. (The kernel's IPVS table is not needed: on a kernel without it
//! the engine runs on; tests/check_bfd_vm.rs covers the table under QEMU.)

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::e2e_ready;
use common::lan::{wait_until, Daemon, Lan, TestDir};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);

/// A TCP listener at `addr` inside namespace `ns`, accepting and dropping connections
/// until dropped itself.
struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    fn start(ns: &str, addr: &str) -> Listener {
        let (ns, addr) = (ns.to_string(), addr.to_string());
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            // This thread moves into the namespace; its sockets are created there.
            keepalived_rs::os::netns::enter(&ns).expect("enter the namespace");
            let l = TcpListener::bind(&addr).expect("bind the real server");
            l.set_nonblocking(true).unwrap();
            tx.send(()).unwrap();
            while !flag.load(Ordering::Relaxed) {
                while let Ok((c, _)) = l.accept() {
                    drop(c);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("listener started");
        Listener {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

#[test]
fn tcp_check_follows_the_real_server() {
    if !e2e_ready("tcp_check_follows_the_real_server", false) {
        return;
    }
    let lan = Lan::new("tck", 2);
    let dir = TestDir::new("tck");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let up_log = dir.join("up.log");
    let down_log = dir.join("down.log");
    let up = dir.write(
        "up.sh",
        &format!("#!/bin/sh\necho up >> {}\n", up_log.display()),
        true,
    );
    let down = dir.write(
        "down.sh",
        &format!("#!/bin/sh\necho down >> {}\n", down_log.display()),
        true,
    );
    let conf = format!(
        "virtual_server 192.0.2.180 80 {{\n    delay_loop 1\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 192.0.2.2 8080 {{\n        notify_up {}\n        notify_down {}\n        \
         TCP_CHECK {{\n            connect_timeout 1\n            retry 1\n            \
         delay_before_retry 1\n        }}\n    }}\n    \
         real_server 192.0.2.99 80 {{\n        TCP_CHECK {{\n            connect_timeout 1\n            \
         log_all_failures\n        }}\n    }}\n}}\n",
        up.display(),
        down.display()
    );
    let server = Listener::start(&h2.name, "192.0.2.2:8080");
    let ours = Daemon::ours(h1, &dir, "ours", &conf);
    // Start: the first attempt (1 s + warmup) connects.
    wait_until(
        "the first TCP_CHECK success",
        LIMIT,
        || ours.count("TCP connection to [192.0.2.2]:tcp:8080 success.") == 1,
        || ours.tail(30),
    );
    // The absent real server times out and fails at once (its first failure is final).
    wait_until(
        "the absent real server down",
        LIMIT,
        || {
            ours.count("TCP connection to [192.0.2.99]:tcp:80 timeout.") >= 1
                && ours.count("TCP_CHECK on service [192.0.2.99]:tcp:80 failed.") == 1
        },
        || ours.tail(30),
    );
    assert_eq!(
        ours.count("TCP_CHECK on service [192.0.2.2]"),
        0,
        "{}",
        ours.tail(30)
    );
    // The listener goes: one retry, then down, out of its virtual server, notify_down.
    drop(server);
    wait_until(
        "the real server down after its retry",
        LIMIT,
        || {
            ours.count("TCP_CHECK on service [192.0.2.2]:tcp:8080 failed after 1 retries.") == 1
                && lines(&down_log) == 1
        },
        || ours.tail(30),
    );
    assert_eq!(
        ours.count("Removing service [192.0.2.2]:tcp:8080 from VS [192.0.2.180]:tcp:80"),
        1,
        "{}",
        ours.tail(30)
    );
    // Down: re-tested every delay_loop without more lines.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        ours.count("TCP_CHECK on service [192.0.2.2]:tcp:8080 failed"),
        1,
        "{}",
        ours.tail(30)
    );
    // It comes back: one success brings it up, back in, notify_up.
    let _server = Listener::start(&h2.name, "192.0.2.2:8080");
    wait_until(
        "the real server up again",
        LIMIT,
        || {
            ours.count("TCP connection to [192.0.2.2]:tcp:8080 success.") == 2
                && lines(&up_log) == 1
        },
        || ours.tail(30),
    );
    assert!(
        ours.count("Adding service [192.0.2.2]:tcp:8080 to VS [192.0.2.180]:tcp:80") >= 1,
        "{}",
        ours.tail(30)
    );
    // A reload keeps its health: no new down.
    ours.reload();
    std::thread::sleep(Duration::from_millis(3000));
    assert_eq!(lines(&down_log), 1, "{}", ours.tail(30));
    assert!(ours.running());
}
