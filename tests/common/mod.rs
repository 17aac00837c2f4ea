//! Helpers shared by the end-to-end tests: network namespaces with per-test names that are
//! removed on drop (even when the test fails), and the "can this test run here" policy.
//!
//! Policy (DESIGN.md section 7): an end-to-end test that cannot run (not root, `ip` or
//! keepalived missing) says so loudly. With `KVRS_REQUIRE_E2E=1` (set by the README's test
//! command, so always in CI) that is a failure, not a skip.
#![allow(dead_code)]

pub mod lan;
pub mod rng;
pub mod vm;

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// True if end-to-end prerequisites are present; otherwise prints why and either panics
/// (KVRS_REQUIRE_E2E=1) or returns false so the caller returns early.
pub fn e2e_ready(test: &str, needs_keepalived: bool) -> bool {
    let mut missing = Vec::new();
    if !nix::unistd::geteuid().is_root() {
        missing.push("root".to_string());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        missing.push("iproute2 (`ip`)".to_string());
    }
    if needs_keepalived && Command::new("keepalived").arg("-v").output().is_err() {
        missing.push("keepalived (apt-get install keepalived)".to_string());
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "END-TO-END TEST {test} CANNOT RUN: missing {}",
        missing.join(", ")
    );
    if std::env::var("KVRS_REQUIRE_E2E").as_deref() == Ok("1") {
        panic!("{msg} (KVRS_REQUIRE_E2E=1: this is a failure)");
    }
    eprintln!("\n*** {msg} -- NOT RUN ***\n");
    false
}

/// Runs a command, panicking with its output if it fails.
pub fn sh(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A network namespace named after the test, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// `tag` should be short and unique per test; the pid and a counter make it unique
    /// across parallel test binaries and threads.
    pub fn new(tag: &str) -> Netns {
        let name = format!(
            "kvrs-{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NS ARGS...`
    pub fn ip(&self, args: &[&str]) -> Output {
        let mut v = vec!["ip", "-n", &self.name];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// Adds an interface named `ifname` (a veth whose peer `peer` stays in the namespace),
    /// up. The kernel here has no dummy or vlan modules; veth always works.
    pub fn add_veth(&self, ifname: &str, peer: &str) {
        self.ip(&["link", "add", ifname, "type", "veth", "peer", "name", peer]);
        self.ip(&["link", "set", ifname, "up"]);
        self.ip(&["link", "set", peer, "up"]);
    }

    /// A command to run inside the namespace.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Kill anything left inside, then delete the namespace.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Path of our daemon binary.
pub fn our_bin() -> &'static str {
    env!("CARGO_BIN_EXE_keepalived-rs")
}
