//! SSL_GET end to end on the real kernel (network namespaces; needs root): our daemon
//! fetches pages over TLS from small servers in another namespace (rustls, the
//! self-signed certificate of tests/fixtures/tls, which keepalived's SSL_GET does not
//! verify): the right digest brings its real server up (with SNI from the virtualhost
//! under `enable_sni`), a wrong digest, a port where nothing listens and a server that
//! speaks plain HTTP (the handshake fails) take theirs down with keepalived 2.2.7's
//! HTTP_GET lines and their SSL variants, and the good server going away takes its real
//! server down after its retry. (The kernel's IPVS table is not needed.)

// End-to-end waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use common::e2e_ready;
use common::lan::{wait_until, Daemon, Lan, TestDir};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);
const PAGE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello";
/// MD5 of "hello".
const HELLO_MD5: &str = "5d41402abc4b2a76b9719d911017c592";

fn server_config() -> Arc<rustls::ServerConfig> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");
    let chain = CertificateDer::pem_file_iter(format!("{dir}/cert.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let c = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    Arc::new(c)
}

/// Reads a request up to its blank line (or EOF, or the socket's timeout).
fn read_request(r: &mut impl Read) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"\r\n\r\n") {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

/// A web server at `addr` inside namespace `ns`, answering every request with [`PAGE`],
/// over TLS (recording the SNI names it gets), or a plain web server answering 400.
struct Server {
    stop: Arc<AtomicBool>,
    sni: Arc<Mutex<Vec<Option<String>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(ns: &str, addr: &str, tls: bool) -> Server {
        let (ns, addr) = (ns.to_string(), addr.to_string());
        let stop = Arc::new(AtomicBool::new(false));
        let sni = Arc::new(Mutex::new(Vec::new()));
        let (flag, names) = (stop.clone(), sni.clone());
        let config = server_config();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            keepalived_rs::os::netns::enter(&ns).expect("enter the namespace");
            let l = TcpListener::bind(&addr).expect("bind the real server");
            l.set_nonblocking(true).unwrap();
            tx.send(()).unwrap();
            while !flag.load(Ordering::Relaxed) {
                let Ok((c, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                c.set_nonblocking(false).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                if tls {
                    serve_tls(&config, c, &names);
                } else {
                    // A web server answers the ClientHello as a bad request.
                    let mut c = c;
                    let _ = c.read(&mut [0u8; 1024]);
                    let _ = c.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n");
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("server started");
        Server {
            stop,
            sni,
            thread: Some(thread),
        }
    }
}

fn serve_tls(config: &Arc<rustls::ServerConfig>, c: TcpStream, names: &Mutex<Vec<Option<String>>>) {
    let conn = rustls::ServerConnection::new(config.clone()).unwrap();
    let mut s = rustls::StreamOwned::new(conn, c);
    let req = read_request(&mut s);
    names
        .lock()
        .unwrap()
        .push(s.conn.server_name().map(str::to_string));
    if req.starts_with(b"GET /") {
        let _ = s.write_all(PAGE);
        s.conn.send_close_notify();
        let _ = s.flush();
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
fn ssl_get_follows_the_real_servers() {
    if !e2e_ready("ssl_get_follows_the_real_servers", false) {
        return;
    }
    let lan = Lan::new("ssl", 2);
    let dir = TestDir::new("ssl");
    let (h1, h2) = (lan.host(1), lan.host(2));
    let rs = |port: u16, checker: &str| {
        format!(
            "    real_server 192.0.2.2 {port} {{\n        SSL_GET {{\n{checker}\n            \
             connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        \
             }}\n    }}\n"
        )
    };
    let conf = format!(
        "virtual_server 192.0.2.180 443 {{\n    delay_loop 1\n    lb_kind NAT\n    \
         protocol TCP\n{}{}{}{}}}\n",
        rs(
            8443,
            &format!(
                "            url {{\n                path /index.html\n                \
                 digest {HELLO_MD5}\n                virtualhost rs.example.test\n            \
                 }}\n            enable_sni\n            tls_compliant"
            )
        ),
        rs(
            8444,
            "            url {\n                path /\n                \
             digest 00000000000000000000000000000000\n            }\n            log_all_failures"
        ),
        rs(
            8445,
            "            url {\n                path /\n            }\n            log_all_failures"
        ),
        rs(
            8446,
            "            url {\n                path /\n            }\n            log_all_failures"
        ),
    );
    let good = Server::start(&h2.name, "192.0.2.2:8443", true);
    let _wrong = Server::start(&h2.name, "192.0.2.2:8444", true);
    let _plain = Server::start(&h2.name, "192.0.2.2:8446", false);
    let ours = Daemon::ours(h1, &dir, "ours", &conf);
    wait_until(
        "the first SSL_GET success, and the failing ones down",
        LIMIT,
        || {
            ours.count("Remote Web server [192.0.2.2]:tcp:8443 succeed on service.") == 1
                && ours.count("HTTP_CHECK on service [192.0.2.2]:tcp:8444 failed") == 1
                && ours.count("HTTP_CHECK on service [192.0.2.2]:tcp:8445 failed") == 1
                && ours.count("HTTP_CHECK on service [192.0.2.2]:tcp:8446 failed") == 1
        },
        || ours.tail(40),
    );
    let tail = ours.tail(60);
    assert!(
        ours.count("MD5 digest error to server [192.0.2.2]:tcp:8444.") >= 1,
        "{tail}"
    );
    assert!(
        ours.count("Connection failed server [192.0.2.2]:tcp:8445.") >= 1,
        "{tail}"
    );
    assert!(
        ours.count("SSL handshake/communication error connecting to server [192.0.2.2]:tcp:8446.")
            >= 1,
        "{tail}"
    );
    assert_eq!(
        ours.count("HTTP_CHECK on service [192.0.2.2]:tcp:8443"),
        0,
        "{tail}"
    );
    assert_eq!(
        good.sni.lock().unwrap().first(),
        Some(&Some("rs.example.test".to_string())),
        "SNI from the virtualhost with enable_sni"
    );
    assert!(
        _wrong.sni.lock().unwrap().iter().all(Option::is_none),
        "no SNI without enable_sni"
    );
    // The good server stays up over several fetches.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        ours.count("HTTP_CHECK on service [192.0.2.2]:tcp:8443"),
        0,
        "{}",
        ours.tail(40)
    );
    assert!(good.sni.lock().unwrap().len() >= 2);
    // It goes away: one retry, then down and out of its virtual server.
    drop(good);
    wait_until(
        "the real server down after its retry",
        LIMIT,
        || ours.count("HTTP_CHECK on service [192.0.2.2]:tcp:8443 failed after 1 retries.") == 1,
        || ours.tail(40),
    );
    assert_eq!(
        ours.count("Removing service [192.0.2.2]:tcp:8443 from VS [192.0.2.180]:tcp:443"),
        1,
        "{}",
        ours.tail(40)
    );
    // It comes back: up again.
    let _good = Server::start(&h2.name, "192.0.2.2:8443", true);
    wait_until(
        "the real server up again",
        LIMIT,
        || ours.count("Remote Web server [192.0.2.2]:tcp:8443 succeed on service.") == 2,
        || ours.tail(40),
    );
    assert!(ours.running());
}
