//! `genhash` (`-T`/`--genhash`, or argv[0] `genhash`) against an HTTP server thread on
//! loopback: the printed MD5 is the body's, `-v` dumps, usage errors. No root needed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived-rs");

/// A server answering `n` connections with `response`; returns its port and a handle
/// yielding the requests it read.
fn server(response: Vec<u8>, n: usize) -> (u16, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let mut reqs = Vec::new();
        for _ in 0..n {
            let (mut c, _) = l.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.ends_with(b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => req.extend_from_slice(&buf[..k]),
                }
            }
            c.write_all(&response).unwrap();
            reqs.push(req);
        }
        reqs
    });
    (port, h)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn response(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[test]
fn prints_md5_of_body() {
    let body: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (port, h) = server(response(&body), 2);
    let p = port.to_string();
    for first in ["-T", "--genhash"] {
        let o = run(&[first, "-s", "127.0.0.1", "-p", &p, "-u", "/page"]);
        assert!(o.status.success(), "{o:?}");
        let want = format!("{}\n", hex(&keepalived_rs::wire::md5::md5(&body)));
        assert_eq!(String::from_utf8_lossy(&o.stdout), want);
    }
    let reqs = h.join().unwrap();
    assert_eq!(
        reqs[0],
        format!(
            "GET /page HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{port}\r\n\r\n"
        )
        .into_bytes()
    );
}

#[test]
fn virtualhost_and_protocol() {
    let (port, h) = server(response(b"x"), 1);
    let o = run(&[
        "-T",
        "-s",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-u",
        "/",
        "-V",
        "www.example",
        "-P",
        "1.1",
    ]);
    assert!(o.status.success());
    assert_eq!(
        h.join().unwrap()[0],
        b"GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example\r\n\r\n"
    );
}

#[test]
fn verbose_shape() {
    let (port, h) = server(response(b"hello world\n"), 1);
    let o = run(&[
        "-T",
        "-s",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-u",
        "/x",
        "-v",
    ]);
    assert!(o.status.success());
    h.join().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let md5 = hex(&keepalived_rs::wire::md5::md5(b"hello world\n"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "-----------------------[    HTTP Header Buffer    ]-----------------------"
    );
    assert!(lines[1]
        .starts_with("0000  48 54 54 50 2f 31 2e 30 - 20 32 30 30 20 4f 4b 0d   HTTP/1.0 200 OK."));
    assert!(out.contains(
        "-----------------------[ HTTP Header Ascii Buffer ]-----------------------\nHTTP/1.0 200 OK\r\n"
    ));
    assert!(out.contains(
        "0000  68 65 6c 6c 6f 20 77 6f - 72 6c 64 0a               hello world.    \n\n"
    ));
    assert!(out.contains(&format!(
        "-----------------------[ HTML hash final resulting ]-----------------------\n{md5}\n\nGlobal response time for [/x] = "
    )));
    assert!(out.ends_with(" usecs\n"));
}

#[test]
fn connection_failed() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = run(&["-T", "-s", "127.0.0.1", "-p", &port.to_string(), "-u", "/x"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "Connection failed\n");
}

#[test]
fn usage_errors() {
    let o = run(&["-T", "-s", "127.0.0.1", "-p", "80"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("Usage: ") && err.contains(" --genhash COMMAND [OPTIONS]"),
        "{err}"
    );
    let o = run(&["-T", "-s", "foo", "-p", "80", "-u", "/"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).starts_with("server should be an IP, not foo\nUsage: ")
    );
    let o = run(&["--genhash", "-h"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--use-virtualhost -V"));
}

#[test]
fn argv0_genhash() {
    let dir = std::env::temp_dir().join(format!("kvrs-genhash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("genhash");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let (port, h) = server(response(b"abc"), 1);
    let o = Command::new(&link)
        .args(["-s", "127.0.0.1", "-p", &port.to_string(), "-u", "/"])
        .output()
        .unwrap();
    h.join().unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "900150983cd24fb0d6963f7d28e17f72\n"
    );
    let o = Command::new(&link).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with(&format!("Usage: {} COMMAND", link.display())),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
