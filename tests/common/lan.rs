//! End-to-end building blocks for VRRP tests on the real kernel: a LAN of host namespaces
//! around a bridge namespace (as `../shared/tools/topo.sh` builds it), a daemon process
//! (ours or the distribution's keepalived) that is killed on drop, a per-test directory,
//! a tcpdump capture and polling helpers with generous deadlines.
//!
//! Every name carries the test's tag, the pid and a counter, so tests on parallel threads
//! and in parallel binaries never share a namespace; all of it goes away on drop, also when
//! the test panics. Addresses: 192.0.2.0/24 and fd00::/64 (plus link-local).

// Polling waits use the real clock.
#![allow(clippy::disallowed_methods)]

use super::Netns;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn unique(tag: &str) -> String {
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

/// A root-owned directory with mode 0755 (so keepalived's script security accepts scripts
/// in it), removed on drop unless `KVRS_E2E_KEEP=1`.
pub struct TestDir {
    pub path: PathBuf,
}

impl TestDir {
    pub fn new(tag: &str) -> TestDir {
        let path = std::env::temp_dir().join(format!("kvrs-e2e-{}", unique(tag)));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        TestDir { path }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `name` with `text`; `exec` makes it an executable script (mode 0755).
    pub fn write(&self, name: &str, text: &str, exec: bool) -> PathBuf {
        let p = self.join(name);
        std::fs::write(&p, text).unwrap();
        let mode = if exec { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    /// A subdirectory (mode 0755).
    pub fn subdir(&self, name: &str) -> PathBuf {
        let p = self.join(name);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::env::var("KVRS_E2E_KEEP").as_deref() == Ok("1") {
            eprintln!("kept {}", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// One L2 segment: a bridge `br0` in its own namespace and hosts 1..=n, each with `eth0`
/// = 192.0.2.i/24 and fd00::i/64, DAD off (so link-local addresses are usable at once).
pub struct Lan {
    pub bridge: Netns,
    pub hosts: Vec<Netns>,
}

impl Lan {
    pub fn new(tag: &str, n: usize) -> Lan {
        let bridge = Netns::new(&format!("{tag}-br"));
        bridge.ip(&["link", "add", "br0", "type", "bridge"]);
        // No multicast snooping: VRRP multicast must reach every port at once.
        bridge.ip(&[
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        bridge.ip(&["link", "set", "br0", "up"]);
        let mut lan = Lan {
            bridge,
            hosts: Vec::new(),
        };
        for i in 1..=n {
            let h = Netns::new(&format!("{tag}-h{i}"));
            no_dad(&h);
            let port = format!("p{i}");
            lan.bridge.ip(&[
                "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &h.name,
            ]);
            lan.bridge
                .ip(&["link", "set", &port, "master", "br0", "up"]);
            h.ip(&["addr", "add", &format!("192.0.2.{i}/24"), "dev", "eth0"]);
            h.ip(&[
                "addr",
                "add",
                &format!("fd00::{i}/64"),
                "dev",
                "eth0",
                "nodad",
            ]);
            h.ip(&["link", "set", "eth0", "up"]);
            lan.hosts.push(h);
        }
        for h in &lan.hosts {
            wait_link_local(h, "eth0");
        }
        lan
    }

    /// Host `i`, counted from 1 as its addresses are.
    pub fn host(&self, i: usize) -> &Netns {
        &self.hosts[i - 1]
    }
}

/// DAD off for every interface created from now on in `ns`.
pub fn no_dad(ns: &Netns) {
    for k in ["all", "default"] {
        super::sh(&[
            "ip",
            "netns",
            "exec",
            &ns.name,
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{k}.accept_dad=0"),
        ]);
    }
}

/// Waits until `dev` has a non-tentative link-local address.
pub fn wait_link_local(ns: &Netns, dev: &str) {
    wait_until(
        &format!("link-local address on {} {dev}", ns.name),
        Duration::from_secs(10),
        || {
            let out = ns.ip(&["-6", "-o", "addr", "show", "dev", dev, "scope", "link"]);
            let s = String::from_utf8_lossy(&out.stdout);
            s.contains("fe80::") && !s.contains("tentative")
        },
        String::new,
    );
}

/// The addresses on `dev` in `ns`.
pub fn addrs(ns: &Netns, dev: &str) -> Vec<IpAddr> {
    let out = Command::new("ip")
        .args(["-n", &ns.name, "-o", "addr", "show", "dev", dev])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    let mut v = Vec::new();
    for line in s.lines() {
        let mut words = line.split_whitespace();
        while let Some(w) = words.next() {
            if w == "inet" || w == "inet6" {
                if let Some(a) = words.next() {
                    if let Ok(ip) = a.split('/').next().unwrap_or("").parse() {
                        v.push(ip);
                    }
                }
            }
        }
    }
    v
}

pub fn has_addr(ns: &Netns, dev: &str, addr: &str) -> bool {
    let want: IpAddr = addr.parse().unwrap();
    addrs(ns, dev).contains(&want)
}

/// Polls `cond` every 50 ms until it holds or `limit` passes; then panics with `what` and
/// `diag()` (logs of the daemons involved, typically). Returns the time it took.
pub fn wait_until(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
    diag: impl Fn() -> String,
) -> Duration {
    let start = Instant::now();
    loop {
        if cond() {
            return start.elapsed();
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}\n{}", diag());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Checks that `cond` holds at every poll for the whole of `span` (a negative assertion:
/// "nothing changes for a while"); panics with `what` at the first poll where it does not.
pub fn holds_for(
    what: &str,
    span: Duration,
    mut cond: impl FnMut() -> bool,
    diag: impl Fn() -> String,
) {
    let start = Instant::now();
    while start.elapsed() < span {
        if !cond() {
            panic!(
                "{what} stopped holding after {:?}\n{}",
                start.elapsed(),
                diag()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Which daemon a [`Daemon`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ours,
    Keepalived,
}

/// A VRRP daemon in a namespace, started in the foreground with console logging into
/// `<dir>/<name>.log`, with its own pid files and `TMPDIR=<dir>/<name>.tmp` (dumps land
/// there). Dropping it resumes it if frozen and kills it (and keepalived's children).
pub struct Daemon {
    pub kind: Kind,
    pub name: String,
    pub ns: String,
    pub conf: PathBuf,
    pub log: PathBuf,
    pub tmp: PathBuf,
    pid_file: PathBuf,
    vrrp_pid_file: PathBuf,
    extra_pid_files: Vec<PathBuf>,
    child: Option<Child>,
}

impl Daemon {
    /// Starts `kind` in `ns` with configuration file `conf`; `name` names its files in `dir`.
    pub fn start(kind: Kind, ns: &Netns, dir: &TestDir, name: &str, conf: &Path) -> Daemon {
        let tmp = dir.subdir(&format!("{name}.tmp"));
        let mut d = Daemon {
            kind,
            name: name.to_string(),
            ns: ns.name.clone(),
            conf: conf.to_path_buf(),
            log: dir.join(&format!("{name}.log")),
            tmp,
            pid_file: dir.join(&format!("{name}.pid")),
            vrrp_pid_file: dir.join(&format!("{name}.vrrp.pid")),
            extra_pid_files: vec![
                dir.join(&format!("{name}.check.pid")),
                dir.join(&format!("{name}.bfd.pid")),
            ],
            child: None,
        };
        d.spawn();
        d
    }

    pub fn ours(ns: &Netns, dir: &TestDir, name: &str, conf_text: &str) -> Daemon {
        let conf = dir.write(&format!("{name}.conf"), conf_text, false);
        Daemon::start(Kind::Ours, ns, dir, name, &conf)
    }

    pub fn keepalived(ns: &Netns, dir: &TestDir, name: &str, conf_text: &str) -> Daemon {
        let conf = dir.write(&format!("{name}.conf"), conf_text, false);
        Daemon::start(Kind::Keepalived, ns, dir, name, &conf)
    }

    /// (Re)starts the process (after [`Daemon::kill`] or [`Daemon::stop`]); the log is
    /// appended to.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} already running", self.name);
        for p in std::iter::once(&self.pid_file)
            .chain(std::iter::once(&self.vrrp_pid_file))
            .chain(self.extra_pid_files.iter())
        {
            let _ = std::fs::remove_file(p);
        }
        let bin = match self.kind {
            Kind::Ours => super::our_bin(),
            Kind::Keepalived => "keepalived",
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, bin, "-n", "-l", "-D", "-G", "-f"])
            .arg(&self.conf)
            .arg("-p")
            .arg(&self.pid_file)
            .arg("-r")
            .arg(&self.vrrp_pid_file)
            .arg("-c")
            .arg(&self.extra_pid_files[0])
            .arg("-b")
            .arg(&self.extra_pid_files[1])
            .env("TMPDIR", &self.tmp)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if self.kind == Kind::Keepalived {
            c.arg("-P");
        }
        self.child = Some(c.spawn().unwrap_or_else(|e| panic!("start {bin}: {e}")));
        // Running means: the VRRP pid file (or, for a configuration without VRRP, the
        // checkers' or BFD's) names a live process.
        let name = self.name.clone();
        let pid_files: Vec<PathBuf> = std::iter::once(self.vrrp_pid_file.clone())
            .chain(self.extra_pid_files.iter().cloned())
            .collect();
        wait_until(
            &format!("{name} to start (VRRP, checkers or BFD pid file)"),
            Duration::from_secs(10),
            || pid_files.iter().any(|p| read_pid(p).is_some_and(alive)),
            || self.log_text(),
        );
    }

    /// The pid that runs VRRP (ours: the one process; keepalived: its VRRP child).
    pub fn vrrp_pid(&self) -> i32 {
        read_pid(&self.vrrp_pid_file)
            .unwrap_or_else(|| panic!("{}: no VRRP pid file\n{}", self.name, self.log_text()))
    }

    pub fn main_pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    pub fn signal_vrrp(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.vrrp_pid()), sig);
    }

    pub fn signal_main(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.main_pid()), sig);
    }

    /// SIGSTOP to the VRRP process: it stops sending adverts, its VIPs stay.
    pub fn freeze(&self) {
        self.signal_vrrp(nix::sys::signal::Signal::SIGSTOP);
    }

    pub fn thaw(&self) {
        self.signal_vrrp(nix::sys::signal::Signal::SIGCONT);
    }

    /// SIGHUP to the main process (keepalived forwards it to its children).
    pub fn reload(&self) {
        self.signal_main(nix::sys::signal::Signal::SIGHUP);
    }

    /// SIGKILL: nothing is cleaned up (VIPs stay on the interface).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let vrrp = read_pid(&self.vrrp_pid_file);
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            if let Some(v) = vrrp.filter(|v| *v != c.id() as i32) {
                let v = nix::unistd::Pid::from_raw(v);
                let _ = nix::sys::signal::kill(v, nix::sys::signal::Signal::SIGCONT);
                let _ = nix::sys::signal::kill(v, nix::sys::signal::Signal::SIGKILL);
            }
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait (up to 10 s) for the exit; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(c.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let start = Instant::now();
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = c.kill();
                let _ = c.wait();
                panic!("{} did not stop on SIGTERM\n{}", self.name, self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    pub fn log_text(&self) -> String {
        let s = std::fs::read(&self.log).unwrap_or_default();
        String::from_utf8_lossy(&s).into_owned()
    }

    /// The log, last `n` lines, headed by the daemon's name (for failure messages).
    pub fn tail(&self, n: usize) -> String {
        let t = self.log_text();
        let lines: Vec<&str> = t.lines().collect();
        let from = lines.len().saturating_sub(n);
        format!(
            "----- {} ({:?}) log, last {} lines -----\n{}\n",
            self.name,
            self.kind,
            lines.len() - from,
            lines[from..].join("\n")
        )
    }

    /// How many log lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.log_text()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Log lines containing `needle`, in order.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn read_pid(p: &Path) -> Option<i32> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !s.contains(") Z ") && !s.contains(") X "))
}

/// A tcpdump capture in a namespace (`-n -v`, one packet per line with `-l`), killed on
/// drop. Needs tcpdump (tests/run-all.sh installs it).
pub struct Capture {
    child: Option<Child>,
    pub out: PathBuf,
}

impl Capture {
    /// Starts capturing on `dev` in `ns` with a pcap `filter`, and waits until it listens.
    pub fn start(ns: &Netns, dir: &TestDir, name: &str, dev: &str, filter: &str) -> Capture {
        Capture::start_with(ns, dir, name, dev, &["-v"], filter)
    }

    /// The same with other tcpdump options besides `-l -n -tt` (`-v` is not implied).
    pub fn start_with(
        ns: &Netns,
        dir: &TestDir,
        name: &str,
        dev: &str,
        options: &[&str],
        filter: &str,
    ) -> Capture {
        let out = dir.join(&format!("{name}.cap"));
        let err = dir.join(&format!("{name}.cap.err"));
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "tcpdump", "-l", "-n", "-tt"])
            .args(options)
            .args(["-i", dev])
            .args(filter.split_whitespace())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("start tcpdump (apt-get install tcpdump)");
        let c = Capture {
            child: Some(child),
            out,
        };
        wait_until(
            "tcpdump to listen",
            Duration::from_secs(10),
            || std::fs::read_to_string(&err).is_ok_and(|s| s.contains("listening on")),
            || std::fs::read_to_string(&err).unwrap_or_default(),
        );
        c
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Stops tcpdump and returns what it printed. tcpdump exits on SIGINT without printing
    /// packets still queued in its ring, so first wait until its output stops growing.
    pub fn stop(&mut self) -> String {
        let size = || std::fs::metadata(&self.out).map_or(0, |m| m.len());
        let (start, mut last, mut quiet) = (Instant::now(), size(), 0);
        while quiet < 3 && start.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(100));
            let now = size();
            quiet = if now == last { quiet + 1 } else { 0 };
            last = now;
        }
        if let Some(mut c) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
            let start = Instant::now();
            while !matches!(c.try_wait(), Ok(Some(_))) {
                if start.elapsed() > Duration::from_secs(5) {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.text()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// True if `tool` runs; otherwise says so loudly and, with `KVRS_REQUIRE_E2E=1`, fails.
pub fn tool_ready(test: &str, tool: &str) -> bool {
    if Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
    {
        return true;
    }
    let msg = format!("END-TO-END TEST {test} CANNOT RUN: missing {tool}");
    if std::env::var("KVRS_REQUIRE_E2E").as_deref() == Ok("1") {
        panic!("{msg} (KVRS_REQUIRE_E2E=1: this is a failure)");
    }
    eprintln!("\n*** {msg} -- NOT RUN ***\n");
    false
}

/// The reading end of a notify FIFO, created by the test before the daemon starts (the
/// daemon opens the existing FIFO) and read without blocking.
pub struct FifoReader {
    file: std::fs::File,
    pub path: PathBuf,
    got: std::cell::RefCell<String>,
}

impl FifoReader {
    pub fn new(path: &Path) -> FifoReader {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::remove_file(path);
        nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc_o_nonblock())
            .open(path)
            .unwrap();
        FifoReader {
            file,
            path: path.to_path_buf(),
            got: std::cell::RefCell::new(String::new()),
        }
    }

    /// Everything read so far, complete lines only.
    pub fn lines(&self) -> Vec<String> {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        let mut got = self.got.borrow_mut();
        loop {
            match (&self.file).read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(_) => break,
            }
        }
        let end = got.rfind('\n').map_or(0, |i| i + 1);
        got[..end].lines().map(str::to_string).collect()
    }
}

fn libc_o_nonblock() -> i32 {
    nix::fcntl::OFlag::O_NONBLOCK.bits()
}
