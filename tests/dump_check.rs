//! keepalived_check.data (SIGUSR1, the checker side) end to end (network namespaces; needs
//! root): our daemon runs the configuration keepalived 2.2.7 ran in the QEMU guest for
//! tests/fixtures/dump/keepalived_check.data (/work/scratch/ka-dump, conf-d1.conf: a
//! virtual server group, quorum/hysteresis, a sorry server, persistence, TCP_CHECK,
//! HTTP_GET with two urls, MISC_CHECK and BFD_CHECK, one real server refusing connections)
//! against the same real servers, and its file must be keepalived's up to the values that
//! differ between two runs (the MISC_CHECK's last run time). There is no IPVS here: the
//! real servers' states come from the checkers alone.

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::e2e_ready;
use common::lan::{wait_until, Daemon, Lan, TestDir};
use nix::sys::signal::Signal;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const INDEX: &str = "hello from the real server\n";
const PAGE: &str = "a page\n";

/// keepalived's configuration of the reference run, with the scripts in `bin`.
fn conf(bin: &str) -> String {
    format!(
        r#"global_defs {{
    router_id ka-dump
    enable_script_security
    script_user root
}}
bfd_instance bfd_rs {{
    neighbor_ip 198.18.1.2
    source_ip 198.18.1.1
    min_rx 100
    min_tx 100
    multiplier 3
}}
virtual_server_group vsg1 {{
    192.0.2.20 80
    192.0.2.21-23 80
    fwmark 7
}}
virtual_server group vsg1 {{
    delay_loop 3
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 198.18.1.2 8080 {{
        weight 2
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
virtual_server 192.0.2.10 80 {{
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    quorum 2
    hysteresis 1
    quorum_up "{bin}notify.sh quorum up"
    quorum_down "{bin}notify.sh quorum down"
    sorry_server 198.18.1.2 9000
    real_server 198.18.1.2 8080 {{
        weight 1
        notify_up "{bin}notify.sh rs8080 up"
        notify_down "{bin}notify.sh rs8080 down"
        TCP_CHECK {{
            connect_timeout 1
            retry 2
            delay_before_retry 1
        }}
    }}
    real_server 198.18.1.2 8081 {{
        weight 3
        HTTP_GET {{
            url {{
                path /index.html
                digest 12a2f67a6cf03d885f4eb03efc0228e9
            }}
            url {{
                path /page.html
                status_code 200
            }}
            connect_timeout 2
            retry 1
            delay_before_retry 1
        }}
    }}
    real_server 198.18.1.2 8082 {{
        weight 1
        MISC_CHECK {{
            misc_path "{bin}check.sh 0"
            misc_timeout 5
        }}
    }}
    real_server 198.18.1.2 8088 {{
        weight 1
        TCP_CHECK {{
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }}
    }}
    real_server 198.18.1.2 8090 {{
        weight 1
        BFD_CHECK {{
            name bfd_rs
        }}
    }}
}}
"#
    )
}

/// The real servers in namespace `ns`: TCP 8080 (accept and close) and an HTTP/1.0 server
/// on 8081 with /index.html and /page.html. Stops when dropped.
struct Servers {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Servers {
    fn start(ns: &str) -> Servers {
        let ns = ns.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            keepalived_rs::os::netns::enter(&ns).expect("enter the namespace");
            let tcp = TcpListener::bind("198.18.1.2:8080").expect("bind 8080");
            let http = TcpListener::bind("198.18.1.2:8081").expect("bind 8081");
            tcp.set_nonblocking(true).unwrap();
            http.set_nonblocking(true).unwrap();
            tx.send(()).unwrap();
            while !flag.load(Ordering::Relaxed) {
                while let Ok((c, _)) = tcp.accept() {
                    drop(c);
                }
                while let Ok((mut c, _)) = http.accept() {
                    let _ = c.set_nonblocking(false);
                    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut req = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        match c.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => req.extend_from_slice(&buf[..n]),
                        }
                    }
                    let req = String::from_utf8_lossy(&req);
                    let path = req.split_whitespace().nth(1).unwrap_or("");
                    let resp = match path {
                        "/index.html" => Some(INDEX),
                        "/page.html" => Some(PAGE),
                        _ => None,
                    };
                    let out = match resp {
                        Some(b) => {
                            format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{b}", b.len())
                        }
                        None => "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".into(),
                    };
                    let _ = c.write_all(out.as_bytes());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("servers started");
        Servers {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dump")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// What differs between two runs: the MISC_CHECK's last run.
fn mask(line: &str) -> String {
    match line.split_once(" = ") {
        Some((k, _)) if k == "   Last ran" => format!("{k} = <time>"),
        _ => line.to_string(),
    }
}

#[test]
fn check_data_matches_keepalived() {
    if !e2e_ready("check_data_matches_keepalived", false) {
        return;
    }
    let lan = Lan::new("kcd", 2);
    let (h1, h2) = (lan.host(1), lan.host(2));
    h1.ip(&["addr", "add", "198.18.1.1/24", "dev", "eth0"]);
    h2.ip(&["addr", "add", "198.18.1.2/24", "dev", "eth0"]);
    let dir = TestDir::new("kcd");
    let bin = dir.subdir("bin");
    let notify_log = dir.join("notify.log");
    std::fs::write(
        bin.join("notify.sh"),
        format!("#!/bin/sh\necho \"$*\" >> {}\n", notify_log.display()),
    )
    .unwrap();
    std::fs::write(bin.join("check.sh"), "#!/bin/sh\nexit $1\n").unwrap();
    for s in ["notify.sh", "check.sh"] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join(s), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let bin_s = format!("{}/", bin.display());
    let _servers = Servers::start(&h2.name);
    let ours = Daemon::ours(h1, &dir, "ours", &conf(&bin_s));
    let limit = Duration::from_secs(20);
    for (what, needle, n) in [
        (
            "the TCP_CHECKs up",
            "TCP connection to [198.18.1.2]:tcp:8080 success.",
            2,
        ),
        (
            "the HTTP_GET up",
            "Remote Web server [198.18.1.2]:tcp:8081 succeed on service.",
            1,
        ),
        ("the MISC_CHECK up", "by [", 1),
        (
            "the refused real server down",
            "TCP_CHECK on service [198.18.1.2]:tcp:8088 failed.",
            1,
        ),
    ] {
        wait_until(what, limit, || ours.count(needle) >= n, || ours.tail(40));
    }
    let file = ours.tmp.join("keepalived_check.data");
    let parent = ours.tmp.join("keepalived_parent.data");
    let _ = std::fs::remove_file(&file);
    ours.signal_main(Signal::SIGUSR1);
    wait_until(
        "keepalived_check.data",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(&file).is_ok_and(|s| s.contains("Checker Track BFD"))
                && parent.exists()
        },
        || ours.tail(40),
    );
    assert!(
        ours.count("Printing checker data for process(") == 1,
        "{}",
        ours.tail(20)
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let ours_text = std::fs::read_to_string(&file).unwrap();
    let parent_text = std::fs::read_to_string(&parent).unwrap();
    // The global definitions are the parent's, as keepalived's checker prints them.
    let (global, topology) = ours_text
        .split_once("------< LVS Topology >------\n")
        .expect("an LVS topology section");
    assert_eq!(global, parent_text, "global definitions");
    let theirs = fixture("keepalived_check.data").replace("/usr/local/bin/", &bin_s);
    // keepalived's BFD child reports its new session Down at once, and so does ours: the
    // BFD_CHECK's real server is down at start in both dumps.
    assert!(
        theirs.contains("[198.18.1.2]:tcp:8090\n   Enabled = yes\n   Up = no\n   Has run = yes")
    );
    let (_, their_topology) = theirs.split_once("------< LVS Topology >------\n").unwrap();
    let a: Vec<String> = topology.lines().map(mask).collect();
    let b: Vec<String> = their_topology.lines().map(mask).collect();
    let diff: Vec<String> = (0..a.len().max(b.len()))
        .filter(|&i| a.get(i) != b.get(i))
        .map(|i| {
            format!(
                "line {i}:\n  ours:   {:?}\n  theirs: {:?}",
                a.get(i),
                b.get(i)
            )
        })
        .take(20)
        .collect();
    assert!(
        diff.is_empty(),
        "{}\n--- ours:\n{ours_text}",
        diff.join("\n")
    );
}
