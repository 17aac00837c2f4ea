//! End to end: the real daemon (`keepalived-rs -n --record FILE`) runs in a network
//! namespace against a second daemon over a veth pair; it is made BACKUP, MASTER, BACKUP
//! again, FAULT (carrier lost), BACKUP, then stopped. The simulator replays its recording
//! through the same `VrrpService` and must find the same transitions at the same instants,
//! and the same sequence the daemon logged ("(VI_1) Entering MASTER STATE").
//!
//! Needs root and iproute2; says so loudly when it cannot run, and fails then under
//! `KVRS_REQUIRE_E2E=1` (DESIGN.md section 7).

// The test waits for a real daemon in real time.
#![allow(clippy::disallowed_methods)]

use sim::replay;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn ready() -> bool {
    let mut missing = Vec::new();
    let uid = Command::new("id").arg("-u").output().ok();
    if uid.map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0") != Some(true) {
        missing.push("root");
    }
    if Command::new("ip").arg("-V").output().is_err() {
        missing.push("iproute2 (`ip`)");
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "END-TO-END TEST replay_netns CANNOT RUN: missing {}",
        missing.join(", ")
    );
    if std::env::var("KVRS_REQUIRE_E2E").as_deref() == Ok("1") {
        panic!("{msg} (KVRS_REQUIRE_E2E=1: this is a failure)");
    }
    eprintln!("\n*** {msg} -- NOT RUN ***\n");
    false
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The daemon binary of this workspace, built (or found up to date) by cargo.
fn daemon_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/replay_netns-HASH
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let target = profile_dir.parent().unwrap();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    // A workspace test run has built it already; rebuilding here could relink the binary
    // while other tests are executing it.
    let built = profile_dir.join("keepalived-rs");
    if built.exists() {
        return built;
    }
    let mut c = Command::new(option_env!("CARGO").unwrap_or("cargo"));
    c.args([
        "build",
        "-q",
        "-p",
        "keepalived-rs",
        "--bin",
        "keepalived-rs",
    ])
    .arg("--target-dir")
    .arg(target)
    .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    if release {
        c.arg("--release");
    }
    let st = c.status().unwrap();
    assert!(st.success(), "building keepalived-rs failed");
    let bin = profile_dir.join("keepalived-rs");
    assert!(bin.exists(), "{}", bin.display());
    bin
}

/// Two namespaces joined by a veth pair (eth0 on both sides), removed on drop with
/// everything this test started in them.
struct Topo {
    a: String,
    b: String,
    dir: PathBuf,
    children: Vec<Child>,
}

impl Topo {
    fn new() -> Topo {
        let id = std::process::id();
        let t = Topo {
            a: format!("kvsim-a-{id}"),
            b: format!("kvsim-b-{id}"),
            dir: std::env::temp_dir().join(format!("kvsim-replay-{id}")),
            children: Vec::new(),
        };
        let _ = std::fs::remove_dir_all(&t.dir);
        std::fs::create_dir_all(&t.dir).unwrap();
        for (ns, addr) in [(&t.a, "192.0.2.1/24"), (&t.b, "192.0.2.2/24")] {
            sh(&["ip", "netns", "add", ns]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            let _ = addr;
        }
        sh(&[
            "ip", "-n", &t.a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
            "netns", &t.b,
        ]);
        for (ns, addr) in [(&t.a, "192.0.2.1/24"), (&t.b, "192.0.2.2/24")] {
            sh(&["ip", "-n", ns, "addr", "add", addr, "dev", "eth0"]);
            sh(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
        }
        t
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Starts the daemon `name` in namespace `ns` with `conf`; returns its index.
    fn start(&mut self, bin: &Path, ns: &str, name: &str, conf: &str, record: bool) -> usize {
        let cf = self.path(&format!("{name}.conf"));
        std::fs::write(&cf, conf).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(&format!("{name}.log")))
            .unwrap();
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns])
            .arg(bin)
            .args(["-n", "-l", "-D", "-G", "-f"])
            .arg(&cf);
        for (flag, f) in [
            ("-p", "pid"),
            ("-r", "vrrp.pid"),
            ("-c", "check.pid"),
            ("-b", "bfd.pid"),
        ] {
            c.arg(flag).arg(self.path(&format!("{name}.{f}")));
        }
        if record {
            c.arg("--record").arg(self.path(&format!("{name}.rec")));
        }
        c.stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.children.push(c.spawn().unwrap());
        self.children.len() - 1
    }

    fn signal(&mut self, k: usize, sig: &str) {
        let pid = self.children[k].id().to_string();
        let _ = Command::new("kill").args([sig, &pid]).status();
    }

    /// SIGTERM (or SIGKILL) and wait for the exit.
    fn stop(&mut self, k: usize, sig: &str) {
        self.signal(k, sig);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.children[k].try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("daemon {k} did not exit on {sig}");
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.log"))).unwrap_or_default()
    }

    /// Waits until `name`'s log has `n` lines containing `needle`.
    fn wait_log(&self, name: &str, needle: &str, n: usize) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if self.log(name).matches(needle).count() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{name}: no {n}x {needle:?} after 15 s; log:\n{}",
            self.log(name)
        );
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        for c in &mut self.children {
            if let Ok(None) = c.try_wait() {
                let _ = Command::new("kill")
                    .args(["-9", &c.id().to_string()])
                    .status();
                let _ = c.wait();
            }
        }
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        if std::env::var("KVRS_E2E_KEEP").as_deref() != Ok("1") {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn conf(prio: u8) -> String {
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    version 3
    priority {prio}
    advert_int 0.2
    virtual_ipaddress {{
        192.0.2.100/24
    }}
}}
"
    )
}

/// The states the daemon logged, in order ("(VI_1) Entering MASTER STATE").
fn logged_states(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            let i = l.find("(VI_1) Entering ")?;
            let rest = &l[i + "(VI_1) Entering ".len()..];
            Some(rest.split_whitespace().next()?.to_string())
        })
        .collect()
}

#[test]
fn a_daemon_recording_made_in_a_namespace_replays_to_the_same_transitions() {
    if !ready() {
        return;
    }
    let bin = daemon_binary();
    let mut t = Topo::new();
    let b = t.start(&bin, &t.b.clone(), "r2", &conf(150), false);
    t.wait_log("r2", "(VI_1) Entering MASTER STATE", 1);
    let a = t.start(&bin, &t.a.clone(), "r1", &conf(100), true);
    t.wait_log("r1", "(VI_1) Entering BACKUP STATE", 1);
    // The master dies without a word: r1 takes over after its master-down interval.
    t.stop(b, "-9");
    t.wait_log("r1", "(VI_1) Entering MASTER STATE", 1);
    // It comes back with its higher priority: r1 yields.
    let b2 = t.start(&bin, &t.b.clone(), "r2", &conf(150), false);
    t.wait_log("r1", "(VI_1) Entering BACKUP STATE", 2);
    // Carrier lost on r1's side (the peer end goes down), then back.
    sh(&["ip", "-n", &t.b, "link", "set", "eth0", "down"]);
    t.wait_log("r1", "(VI_1) Entering FAULT STATE", 1);
    sh(&["ip", "-n", &t.b, "link", "set", "eth0", "up"]);
    t.wait_log("r1", "(VI_1) Entering BACKUP STATE", 3);
    std::thread::sleep(Duration::from_millis(500));
    t.stop(a, "-TERM");
    t.stop(b2, "-TERM");

    let rec = std::fs::read_to_string(t.path("r1.rec")).unwrap();
    assert!(rec.contains(" START "), "{rec}");
    assert!(rec.contains(" PACKET "), "no packet recorded");
    assert!(rec.contains(" TIMEOUT"), "no timer call recorded");
    assert!(rec.contains(" IFACE "), "no link change recorded");
    assert!(rec.contains(" SHUTDOWN"), "no stop recorded");
    let r = replay::replay(&rec, None, false).unwrap();
    assert!(r.matches, "replay:\n{}\nlog:\n{}", r.output, t.log("r1"));
    assert!(
        r.output.contains("the same as recorded (same instants)"),
        "{}",
        r.output
    );
    // The replayed sequence is the one the daemon logged (its STOP is not logged).
    let replayed: Vec<String> = r
        .replayed
        .iter()
        .filter(|(_, name, st)| name == "VI_1" && st.name() != "STOP" && st.name() != "INIT")
        .map(|(_, _, st)| st.name().to_string())
        .collect();
    let logged = logged_states(&t.log("r1"));
    assert_eq!(replayed, logged, "replay:\n{}", r.output);
    assert!(
        logged.len() >= 5,
        "BACKUP MASTER BACKUP FAULT BACKUP expected, got {logged:?}"
    );
}
