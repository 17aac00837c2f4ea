//! `bfd-bench`: keepalived-rs's BFD against the distribution's keepalived (2.2.7, built with
//! BFD), side by side in one run, on the real kernel, in network namespaces joined by veths.
//!
//! Command (root is needed for the namespaces; build both binaries, then run):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo build --release --bins
//! sudo /work/target-bench/release/bfd-bench            # both parts, full length (~4 min)
//! sudo /work/target-bench/release/bfd-bench --quick    # smoke test (~1 min)
//! ```
//!
//! Options: `--quick`, `--part one,many`, `--impl ours|keepalived|both`, `--secs S` (part 1
//! window, default 10), `--rounds N` (part 1 windows, default 3), `--many-secs S` (part 2
//! window, default 60), `--sessions N` (part 2, default 500), `--ours PATH` (default:
//! `keepalived-rs` beside this program), `--keepalived PATH`, `--keep` (leave the work
//! directory with configurations and logs).
//!
//! Both daemons run as `BIN -n -l -G -f CONF -p PID -r VRRPPID -c CPID -b BPID` in their own
//! namespaces with a BFD-only configuration and default settings (no real-time priority).
//! keepalived runs a parent and a BFD child; ours one process.
//!
//! 1. One session at min_rx 10 ms, min_tx 10 ms, multiplier 3 between two namespaces, the
//!    same implementation at both ends; ours and keepalived's pairs run at the same time (on
//!    separate veths), with two floor pairs beside them that carry no protocol (a loop that
//!    sleeps, sends and drains once per jittered period, and one whose sends the kernel times
//!    through io_uring while user space wakes only per Detection Time; see `floor_loop` and
//!    `floor_uring.rs`). Once both sessions are Up (and the Poll Sequence to 10 ms is over),
//!    the CPU time of each end (utime + stime of all its processes from `/proc/PID/stat`, and
//!    the scheduler's ns accounting `se.sum_exec_runtime` where the kernel has it, which ticks
//!    cannot resolve at these loads) is measured over `--rounds` windows (default 3) in
//!    which every pair runs, so that they share whatever else the machine does. Printed per
//!    window and as medians: ours / keepalived (target <= 0.5), each floor / keepalived (the
//!    least any end of that design can reach on this machine) and ours / the first floor.
//!    Down transitions during the windows are counted.
//! 2. N sessions (default 500) at 10 ms x 3 between two namespaces, one implementation at
//!    both ends, addresses 198.18.0.0/16 on one side and 198.19.0.0/16 on the other (one
//!    pair per session). After all sessions are Up on both sides (and a settling second), the
//!    Down transitions over the window are counted (false Downs: nothing failed; target 0),
//!    and CPU is reported. Ours first, then keepalived's if it copes (its sessions must all
//!    come Up within the start-up bound; otherwise that is reported).
//!
//! Namespaces are named `bb<PID>-...`; they and every process started are removed at exit,
//! on error, on panic and on SIGINT/SIGTERM/SIGHUP (stale ones of a killed run are removed
//! at the next start). The load average is printed with each part.

// A benchmark reads the wall and monotonic clocks; the deterministic core's ban does not apply.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "floor_uring.rs"]
mod floor_uring;
#[path = "harness.rs"]
mod harness;
use harness::{
    alive, clk_tck, cpu_ticks, loadavg, register_pid, run, run_bench, sched_ns, stat_fields,
    terminate, unregister_pid, Impl, Netns, R,
};

/// Namespaces are `bb<PID>-<tag>`.
const NS_PREFIX: &str = "bb";

struct Opts {
    quick: bool,
    one: bool,
    many: bool,
    impls: Vec<Impl>,
    secs: Duration,
    rounds: usize,
    many_secs: Duration,
    sessions: usize,
    ours: PathBuf,
    keepalived: PathBuf,
    keep: bool,
    work: PathBuf,
    command: String,
}

fn parse_opts(args: &[String]) -> R<Opts> {
    let mut o = getopts::Options::new();
    o.optflag("", "quick", "short smoke-test variant");
    o.optopt("", "part", "parts to run", "one,many");
    o.optopt("", "impl", "implementations to run", "ours|keepalived|both");
    o.optopt("", "secs", "CPU window of part 1 (default 10)", "S");
    o.optopt(
        "",
        "rounds",
        "windows of part 1, all pairs running (default 3)",
        "N",
    );
    o.optopt("", "many-secs", "window of part 2 (default 60)", "S");
    o.optopt("", "sessions", "sessions of part 2 (default 500)", "N");
    o.optopt("", "ours", "keepalived-rs binary", "PATH");
    o.optopt("", "keepalived", "keepalived binary", "PATH");
    o.optflag("", "keep", "keep the work directory (configs, logs)");
    o.optflag("h", "help", "this help");
    let m = o.parse(&args[1..]).map_err(|e| e.to_string())?;
    if m.opt_present("h") {
        print!("{}", o.usage("Usage: bfd-bench [options]  (as root)"));
        std::process::exit(0);
    }
    let quick = m.opt_present("quick");
    let (mut one, mut many) = (false, false);
    for w in m
        .opt_str("part")
        .unwrap_or_else(|| "one,many".into())
        .split(',')
    {
        match w.trim() {
            "one" | "1" => one = true,
            "many" | "2" => many = true,
            "all" => (one, many) = (true, true),
            x => return Err(format!("unknown part {x:?}")),
        }
    }
    let impls = match m.opt_str("impl").as_deref().unwrap_or("both") {
        "ours" => vec![Impl::Ours],
        "keepalived" => vec![Impl::Keepalived],
        "both" => vec![Impl::Ours, Impl::Keepalived],
        x => return Err(format!("unknown --impl {x:?}")),
    };
    let num = |name: &str, dflt: u64| -> R<u64> {
        match m.opt_str(name) {
            Some(s) => s
                .parse()
                .map_err(|_| format!("--{name}: not a number: {s}")),
            None => Ok(dflt),
        }
    };
    let ours = match m.opt_str("ours") {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("keepalived-rs"),
    };
    let sessions = num("sessions", if quick { 100 } else { 500 })? as usize;
    if sessions == 0 || sessions > 20_000 {
        return Err("--sessions: 1..=20000".into());
    }
    Ok(Opts {
        quick,
        one,
        many,
        impls,
        secs: Duration::from_secs(num("secs", if quick { 3 } else { 10 })?),
        rounds: (num("rounds", if quick { 1 } else { 3 })? as usize).clamp(1, 100),
        many_secs: Duration::from_secs(num("many-secs", if quick { 10 } else { 60 })?),
        sessions,
        ours,
        keepalived: PathBuf::from(
            m.opt_str("keepalived")
                .unwrap_or_else(|| "keepalived".into()),
        ),
        keep: m.opt_present("keep"),
        work: PathBuf::from(format!("/tmp/bfd-bench-{}", std::process::id())),
        command: args.join(" "),
    })
}

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started is registered and torn down at exit, on error, on panic and on
// SIGINT/SIGTERM/SIGHUP.

impl Netns {
    /// UDP datagrams the kernel dropped for want of receive buffer (`RcvbufErrors` of
    /// `/proc/net/snmp`).
    fn udp_rcvbuf_errors(&self) -> u64 {
        let out = run(self.exec("cat").arg("/proc/net/snmp")).unwrap_or_default();
        let mut udp = out.lines().filter(|l| l.starts_with("Udp:"));
        let (Some(h), Some(v)) = (udp.next(), udp.next()) else {
            return 0;
        };
        h.split_whitespace()
            .zip(v.split_whitespace())
            .find(|(k, _)| *k == "RcvbufErrors")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0)
    }

    /// `ip -n NS -batch FILE`.
    fn batch(&self, dir: &Path, name: &str, lines: &str) -> R<()> {
        let f = dir.join(name);
        std::fs::write(&f, lines).map_err(|e| e.to_string())?;
        run(Command::new("ip")
            .arg("-n")
            .arg(&self.name)
            .arg("-batch")
            .arg(&f))
        .map(|_| ())
    }
}

/// Two namespaces joined by a veth `eth0`..`eth0`, up.
fn pair(tag: &str) -> R<(Netns, Netns)> {
    let a = Netns::new(&format!("{tag}a"))?;
    let b = Netns::new(&format!("{tag}b"))?;
    a.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", &b.name,
    ])?;
    a.ip(&["link", "set", "eth0", "up"])?;
    b.ip(&["link", "set", "eth0", "up"])?;
    // Until linkwatch has run, a veth drops what it is given.
    let t0 = Instant::now();
    for ns in [&a, &b] {
        while !ns
            .ip(&["link", "show", "dev", "eth0"])?
            .contains("state UP")
        {
            if t0.elapsed() > Duration::from_secs(10) {
                return Err(format!("{} eth0 never came up", ns.name));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok((a, b))
}

// ---------------------------------------------------------------------------------------------
// Daemons and their CPU

struct Daemon {
    child: Child,
    pidfile: PathBuf,
    log: PathBuf,
}

fn session_conf(name: &str, me: &str, peer: &str) -> String {
    format!(
        "bfd_instance {name} {{\n    neighbor_ip {peer}\n    source_ip {me}\n    min_rx 10\n    \
         min_tx 10\n    multiplier 3\n}}\n"
    )
}

impl Daemon {
    fn start(opts: &Opts, imp: Impl, ns: &Netns, tag: &str, conf: &str) -> R<Daemon> {
        let dir = opts.work.join(tag);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let cf = dir.join("keepalived.conf");
        std::fs::write(&cf, conf).map_err(|e| format!("{}: {e}", cf.display()))?;
        let p = |n: &str| dir.join(n);
        for f in ["pid", "vrrp.pid", "checkers.pid", "bfd.pid"] {
            let _ = std::fs::remove_file(p(f));
        }
        let log = p("log");
        let logf = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let bin = match imp {
            Impl::Ours => opts.ours.to_string_lossy().into_owned(),
            Impl::Keepalived => opts.keepalived.to_string_lossy().into_owned(),
        };
        let mut cmd = ns.exec(&bin);
        cmd.args(["-n", "-l", "-G", "-f"]).arg(&cf);
        cmd.arg("-p").arg(p("pid")).arg("-r").arg(p("vrrp.pid"));
        cmd.arg("-c").arg(p("checkers.pid"));
        cmd.arg("-b").arg(p("bfd.pid"));
        cmd.stdin(Stdio::null())
            .stdout(logf.try_clone().map_err(|e| e.to_string())?)
            .stderr(logf)
            .process_group(0);
        let child = cmd.spawn().map_err(|e| format!("{bin}: {e}"))?;
        register_pid(child.id() as i32);
        let d = Daemon {
            child,
            pidfile: p("bfd.pid"),
            log,
        };
        let t0 = Instant::now();
        while read_pid(&d.pidfile).is_none() {
            if t0.elapsed() > Duration::from_secs(10) || !alive(d.child.id() as i32) {
                return Err(format!(
                    "{} did not start; log:\n{}",
                    imp.name(),
                    std::fs::read_to_string(&d.log).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(d)
    }

    /// The daemon's process and all its descendants.
    fn all_pids(&self) -> Vec<i32> {
        let mut parents: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        if let Ok(rd) = std::fs::read_dir("/proc") {
            for e in rd.flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1)?.parse().ok()) {
                    parents.entry(ppid).or_default().push(pid);
                }
            }
        }
        let mut out = vec![self.child.id() as i32];
        let mut i = 0;
        while i < out.len() {
            if let Some(kids) = parents.get(&out[i]) {
                out.extend(kids.iter().copied());
            }
            i += 1;
        }
        out
    }

    fn cpu(&self) -> Cpu {
        let pids = self.all_pids();
        let ticks = pids.iter().map(|p| cpu_ticks(*p)).sum();
        let mut ns = Some(0u64);
        for pid in &pids {
            ns = ns.and_then(|t| sched_ns(*pid).map(|n| t + n));
        }
        Cpu { ticks, ns }
    }

    /// Lines with `needle` in keepalived 2.2.7's `(NAME) ...` form. (Lines of the newer
    /// `BFD_Instance(NAME) ...` form, which our engine also logs, are not counted, so that
    /// each transition counts once.)
    fn log_count(&self, needle: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .map(|s| {
                s.lines()
                    .filter(|l| l.contains(needle) && !l.contains("BFD_Instance("))
                    .count()
            })
            .unwrap_or(0)
    }

    fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        terminate(pid, Duration::from_secs(5));
        let _ = self.child.wait();
        unregister_pid(pid);
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    let pid = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    alive(pid).then_some(pid)
}

#[derive(Clone, Copy, Debug, Default)]
struct Cpu {
    ticks: u64,
    ns: Option<u64>,
}

impl Cpu {
    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            ticks: self.ticks.saturating_sub(before.ticks),
            ns: self.ns.zip(before.ns).map(|(a, b)| a.saturating_sub(b)),
        }
    }

    fn plus(self, o: Cpu) -> Cpu {
        Cpu {
            ticks: self.ticks + o.ticks,
            ns: self.ns.zip(o.ns).map(|(a, b)| a + b),
        }
    }

    /// CPU seconds: the scheduler's figure when there is one, else the ticks.
    fn secs(self) -> f64 {
        match self.ns {
            Some(ns) => ns as f64 / 1e9,
            None => self.ticks as f64 / clk_tck() as f64,
        }
    }

    fn show(self, window: Duration) -> String {
        let w = window.as_secs_f64();
        format!(
            "{:.3} s ({:.2} % of a CPU; ticks {:.2} s)",
            self.secs(),
            100.0 * self.secs() / w,
            self.ticks as f64 / clk_tck() as f64
        )
    }
}

fn wait_until(timeout: Duration, f: impl FnMut() -> bool) -> bool {
    harness::wait_until(timeout, Duration::from_millis(50), f)
}

/// Both daemons of a pair logged `n` sessions Up (beyond `before`).
fn all_up(a: &Daemon, b: &Daemon, n: usize, timeout: Duration) -> bool {
    let up = "Entering Up state";
    wait_until(timeout, || a.log_count(up) >= n && b.log_count(up) >= n)
}

const DOWN: &str = "Entering Down state";

// ---------------------------------------------------------------------------------------------
// Part 1: one session, CPU

/// What runs at both ends of a part-1 pair.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Daemon(Impl),
    /// A floor loop (`floor_loop`): no protocol, only the work any user-space BFD end does.
    Floor(Floor),
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Daemon(i) => i.name(),
            Kind::Floor(Floor::Sleep) => "floor: sleep, send, drain (no protocol)",
            Kind::Floor(Floor::Uring) => "floor: kernel-timed send (io_uring, no protocol)",
        }
    }
}

/// One end of a part-1 pair.
enum End {
    Daemon(Daemon),
    Floor(FloorLoop),
}

impl End {
    fn cpu(&self) -> Cpu {
        match self {
            End::Daemon(d) => d.cpu(),
            End::Floor(f) => {
                let pid = f.child.id() as i32;
                Cpu {
                    ticks: cpu_ticks(pid),
                    ns: sched_ns(pid),
                }
            }
        }
    }

    fn alive(&self) -> bool {
        match self {
            End::Daemon(d) => alive(d.child.id() as i32),
            End::Floor(f) => alive(f.child.id() as i32),
        }
    }

    fn downs(&self) -> usize {
        match self {
            End::Daemon(d) => d.log_count(DOWN),
            End::Floor(_) => 0,
        }
    }
}

/// `bfd-bench --floor-loop ME PEER`, started by part 1 in each namespace of the floor pair.
struct FloorLoop {
    child: Child,
}

impl FloorLoop {
    fn start(ns: &Netns, mode: Floor, me: &str, peer: &str) -> R<FloorLoop> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = ns.exec(&exe.to_string_lossy());
        cmd.args(["--floor-loop", mode.arg(), me, peer])
            .stdin(Stdio::null())
            .process_group(0);
        let child = cmd.spawn().map_err(|e| format!("floor loop: {e}"))?;
        register_pid(child.id() as i32);
        Ok(FloorLoop { child })
    }
}

impl Drop for FloorLoop {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        terminate(pid, Duration::from_secs(5));
        let _ = self.child.wait();
        unregister_pid(pid);
    }
}

/// Which floor loop.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Floor {
    /// `floor_loop`: one wake-up per packet sent.
    Sleep,
    /// `floor_uring::run`: the kernel sends; user space wakes per Detection Time.
    Uring,
}

impl Floor {
    fn arg(self) -> &'static str {
        match self {
            Floor::Sleep => "sleep",
            Floor::Uring => "uring",
        }
    }
}

/// The first floor of part 1: the least any user-space BFD end must do per period at 10 ms,
/// with no protocol at all. It sleeps to an absolute deadline jittered like BFD's (75-100 % of 10 ms),
/// sends one 24-byte Up packet from a connected socket with TTL 255 to PEER:3784, and drains
/// its own port 3784 with one `recvmmsg`: one wake-up and three system calls per period, no
/// epoll, no timestamps, no timers other than the sleep. Both implementations do at least
/// this (keepalived does two wake-ups and seven calls), so floor / keepalived bounds from
/// below the ratio any design that wakes once per packet sent can reach on this machine.
fn floor_loop(mode: &str, me: &str, peer: &str) -> R<()> {
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    let e = |what: &str, err: std::io::Error| format!("floor loop: {what}: {err}");
    let rx = UdpSocket::bind((me, 3784)).map_err(|x| e("bind 3784", x))?;
    rx.set_nonblocking(true).map_err(|x| e("nonblocking", x))?;
    let tx = UdpSocket::bind((me, 49152)).map_err(|x| e("bind 49152", x))?;
    tx.set_ttl(255).map_err(|x| e("ttl", x))?;
    tx.connect((peer, 3784)).map_err(|x| e("connect", x))?;
    // Version 1, Up, multiplier 3, length 24, discriminators 1 and 1, 10 ms intervals.
    let mut pkt = [0u8; 24];
    pkt[..4].copy_from_slice(&[0x20, 0xc0, 3, 24]);
    pkt[4..8].copy_from_slice(&1u32.to_be_bytes());
    pkt[8..12].copy_from_slice(&1u32.to_be_bytes());
    pkt[12..16].copy_from_slice(&10_000u32.to_be_bytes());
    pkt[16..20].copy_from_slice(&10_000u32.to_be_bytes());
    if mode == Floor::Uring.arg() {
        return floor_uring::run(rx, tx, pkt).map_err(|x| format!("floor loop: {x}"));
    }
    const N: usize = 8;
    let mut bufs = [[0u8; 64]; N];
    let mut iovs: Vec<libc::iovec> = bufs
        .iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        })
        .collect();
    // SAFETY: mmsghdr is plain data; all-zero is a valid empty header.
    let mut msgs: Vec<libc::mmsghdr> = (0..N).map(|_| unsafe { std::mem::zeroed() }).collect();
    for (m, iov) in msgs.iter_mut().zip(iovs.iter_mut()) {
        m.msg_hdr.msg_iov = iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id());
    // SAFETY: timespec is plain data.
    let mut next: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: valid clock id and out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut next) };
    loop {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let ns = next.tv_nsec as u64 + 7_500_000 + x % 2_500_000;
        next.tv_sec += (ns / 1_000_000_000) as libc::time_t;
        next.tv_nsec = (ns % 1_000_000_000) as libc::c_long;
        // SAFETY: valid clock id, flags and deadline; no remainder is asked for.
        unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &next,
                std::ptr::null_mut(),
            )
        };
        let _ = tx.send(&pkt);
        // SAFETY: msgs/iovs/bufs outlive the call; vlen matches.
        unsafe {
            libc::recvmmsg(
                rx.as_raw_fd(),
                msgs.as_mut_ptr(),
                N as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
    }
}

struct Pair {
    kind: Kind,
    _ns: (Netns, Netns),
    a: End,
    b: End,
}

/// One window: CPU of both ends of each pair, and Down transitions.
struct Round {
    cpu: Vec<(Cpu, Cpu)>,
    downs: Vec<usize>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn part_one(opts: &Opts) -> R<String> {
    let mut kinds: Vec<Kind> = opts.impls.iter().map(|&i| Kind::Daemon(i)).collect();
    kinds.push(Kind::Floor(Floor::Sleep));
    kinds.push(Kind::Floor(Floor::Uring));
    let mut pairs = Vec::new();
    for (k, &kind) in kinds.iter().enumerate() {
        let tag = format!("o{k}");
        let (na, nb) = pair(&tag)?;
        na.ip(&["addr", "add", "192.0.2.1/24", "dev", "eth0"])?;
        nb.ip(&["addr", "add", "192.0.2.2/24", "dev", "eth0"])?;
        let (a, b) = match kind {
            Kind::Daemon(imp) => (
                End::Daemon(Daemon::start(
                    opts,
                    imp,
                    &na,
                    &format!("{tag}a"),
                    &session_conf("b1", "192.0.2.1", "192.0.2.2"),
                )?),
                End::Daemon(Daemon::start(
                    opts,
                    imp,
                    &nb,
                    &format!("{tag}b"),
                    &session_conf("b1", "192.0.2.2", "192.0.2.1"),
                )?),
            ),
            Kind::Floor(mode) => (
                End::Floor(FloorLoop::start(&na, mode, "192.0.2.1", "192.0.2.2")?),
                End::Floor(FloorLoop::start(&nb, mode, "192.0.2.2", "192.0.2.1")?),
            ),
        };
        pairs.push(Pair {
            kind,
            _ns: (na, nb),
            a,
            b,
        });
    }
    for p in &pairs {
        if let (End::Daemon(a), End::Daemon(b)) = (&p.a, &p.b) {
            if !all_up(a, b, 1, Duration::from_secs(20)) {
                return Err(format!(
                    "{}: session not Up\n{}\n{}",
                    p.kind.name(),
                    a.log_tail(20),
                    b.log_tail(20)
                ));
            }
        }
    }
    // The Poll Sequence to 10 ms, and start-up work, are over.
    std::thread::sleep(Duration::from_secs(2));
    // All pairs run through every window, so they share whatever else the machine does.
    let mut rounds = Vec::new();
    for r in 0..opts.rounds {
        eprintln!("part 1: window {}/{} ({:?})", r + 1, opts.rounds, opts.secs);
        let before: Vec<_> = pairs
            .iter()
            .map(|p| (p.a.cpu(), p.b.cpu(), p.a.downs() + p.b.downs()))
            .collect();
        std::thread::sleep(opts.secs);
        let mut round = Round {
            cpu: Vec::new(),
            downs: Vec::new(),
        };
        for (p, (ca, cb, d0)) in pairs.iter().zip(before) {
            round.cpu.push((p.a.cpu().since(ca), p.b.cpu().since(cb)));
            round.downs.push(p.a.downs() + p.b.downs() - d0);
        }
        rounds.push(round);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| window | implementation | side A CPU | side B CPU | A+B | Down transitions |\n\
         |---|---|---|---|---|---|"
    );
    for (r, round) in rounds.iter().enumerate() {
        for (k, p) in pairs.iter().enumerate() {
            let (a, b) = round.cpu[k];
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.3} s | {} |",
                r + 1,
                p.kind.name(),
                a.show(opts.secs),
                b.show(opts.secs),
                a.plus(b).secs(),
                if matches!(p.kind, Kind::Floor(_)) {
                    "-".to_string()
                } else {
                    round.downs[k].to_string()
                }
            );
        }
    }
    let index = |kind: Kind| pairs.iter().position(|p| p.kind == kind);
    let ratios = |num: usize, den: usize| -> Vec<f64> {
        rounds
            .iter()
            .map(|r| {
                let (n, d) = (r.cpu[num], r.cpu[den]);
                let d = d.0.plus(d.1).secs();
                if d > 0.0 {
                    n.0.plus(n.1).secs() / d
                } else {
                    f64::NAN
                }
            })
            .collect()
    };
    let show = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(k) = index(Kind::Daemon(Impl::Keepalived)) {
        if let Some(o) = index(Kind::Daemon(Impl::Ours)) {
            let v = ratios(o, k);
            let m = median(v.clone());
            let _ = writeln!(
                out,
                "\nratio ours / keepalived (CPU of both ends), per window: {}; median **{m:.2}** \
                 (target <= 0.5: {})",
                show(&v),
                if m <= 0.5 { "met" } else { "MISSED" }
            );
        }
        for (mode, what) in [
            (
                Floor::Sleep,
                "the least an end that wakes once per packet sent can cost here",
            ),
            (
                Floor::Uring,
                "the least an end that detects in user space can cost here, with the kernel \
                 timing its sends",
            ),
        ] {
            let Some(f) = index(Kind::Floor(mode)) else {
                continue;
            };
            if !pairs[f].a.alive() || !pairs[f].b.alive() {
                let _ = writeln!(
                    out,
                    "\n{}: did not run (see its error above)",
                    Kind::Floor(mode).name()
                );
                continue;
            }
            let v = ratios(f, k);
            let _ = writeln!(
                out,
                "\nratio {} / keepalived, per window: {}; median **{:.2}** ({what})",
                Kind::Floor(mode).name(),
                show(&v),
                median(v.clone())
            );
        }
    }
    if let (Some(o), Some(f)) = (
        index(Kind::Daemon(Impl::Ours)),
        index(Kind::Floor(Floor::Sleep)),
    ) {
        let v = ratios(o, f);
        let _ = writeln!(
            out,
            "\nratio ours / first floor, per window: {}; median **{:.2}** (what the protocol, \
             the event loop and the receive timestamps cost above it)",
            show(&v),
            median(v.clone())
        );
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Part 2: many sessions, false Downs

fn addr(side: u8, i: usize) -> String {
    // 198.18.0.0/16 on side A, 198.19.0.0/16 on side B; host part 1..=250 per /24.
    format!("198.{}.{}.{}", 17 + side, i / 250, i % 250 + 1)
}

fn part_many(opts: &Opts, imp: Impl) -> R<String> {
    let n = opts.sessions;
    let tag = format!("m{}", if imp == Impl::Ours { "o" } else { "k" });
    let (na, nb) = pair(&tag)?;
    std::fs::create_dir_all(&opts.work).map_err(|e| e.to_string())?;
    let mut conf = [String::new(), String::new()];
    for (side, ns) in [(1u8, &na), (2u8, &nb)] {
        let mut batch = String::new();
        for i in 0..n {
            let _ = writeln!(batch, "addr add {}/15 dev eth0", addr(side, i));
            conf[usize::from(side - 1)].push_str(&session_conf(
                &format!("b{i}"),
                &addr(side, i),
                &addr(3 - side, i),
            ));
        }
        ns.batch(&opts.work, &format!("{tag}{side}.batch"), &batch)?;
        // Room in the neighbour table for every peer address.
        let _ = run(ns.exec("sysctl").args([
            "-qw",
            "net.ipv4.neigh.default.gc_thresh1=4096",
            "net.ipv4.neigh.default.gc_thresh2=8192",
            "net.ipv4.neigh.default.gc_thresh3=16384",
        ]));
    }
    let da = Daemon::start(opts, imp, &na, &format!("{tag}a"), &conf[0])?;
    let db = Daemon::start(opts, imp, &nb, &format!("{tag}b"), &conf[1])?;
    let startup = Duration::from_secs(30 + n as u64 / 50);
    let t0 = Instant::now();
    let came_up = all_up(&da, &db, n, startup);
    let up_after = t0.elapsed();
    let up = "Entering Up state";
    if !came_up {
        return Ok(format!(
            "| {} | {n} | not all Up after {:.0} s ({} and {} Up transitions logged) | - | - | - | - |\n",
            imp.name(),
            startup.as_secs_f64(),
            da.log_count(up),
            db.log_count(up)
        ));
    }
    std::thread::sleep(Duration::from_secs(2));
    let (ca, cb) = (da.cpu(), db.cpu());
    let d0 = (da.log_count(DOWN), db.log_count(DOWN));
    let r0 = na.udp_rcvbuf_errors() + nb.udp_rcvbuf_errors();
    std::thread::sleep(opts.many_secs);
    let (ca, cb) = (da.cpu().since(ca), db.cpu().since(cb));
    let downs = (da.log_count(DOWN) - d0.0, db.log_count(DOWN) - d0.1);
    let drops = na.udp_rcvbuf_errors() + nb.udp_rcvbuf_errors() - r0;
    Ok(format!(
        "| {} | {n} | {:.1} s | {} + {} | {drops} | {} | {} |\n",
        imp.name(),
        up_after.as_secs_f64(),
        downs.0,
        downs.1,
        ca.show(opts.many_secs),
        cb.show(opts.many_secs),
    ))
}

// ---------------------------------------------------------------------------------------------

fn bench(opts: &Opts) -> R<String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("bfd-bench needs root (network namespaces)".into());
    }
    for imp in &opts.impls {
        let bin = match imp {
            Impl::Ours => opts.ours.clone(),
            Impl::Keepalived => opts.keepalived.clone(),
        };
        Command::new(&bin).arg("-v").output().map_err(|e| {
            format!(
                "{}: {e} (build with cargo build --release --bins)",
                bin.display()
            )
        })?;
    }
    std::fs::create_dir_all(&opts.work).map_err(|e| e.to_string())?;
    let mut report = String::new();
    let _ = writeln!(report, "## bfd-bench results\n");
    let _ = writeln!(report, "command: `{}`", opts.command);
    let _ = writeln!(
        report,
        "daemons: `{}` vs `{}`, `-n -l -G -f CONF -p PID -r VRRPPID -c CPID -b BPID`, BFD-only \
         configurations; {} CPUs; kernel {}\n",
        opts.ours.display(),
        opts.keepalived.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    if opts.one {
        let la0 = loadavg();
        eprintln!(
            "part 1: one session at 10 ms x 3, CPU over {:?} (load {la0})",
            opts.secs
        );
        let t = part_one(opts)?;
        let _ = writeln!(
            report,
            "### 1. One session, min_rx/min_tx 10 ms, multiplier 3, same implementation at both \
             ends, pairs side by side; CPU over {} s\n\nload average before {la0}, after {}\n",
            opts.secs.as_secs(),
            loadavg()
        );
        report.push_str(&t);
        report.push('\n');
    }
    if opts.many {
        let la0 = loadavg();
        let _ = writeln!(
            report,
            "### 2. {} sessions at 10 ms x 3 between two namespaces, same implementation at both \
             ends; Down transitions (all false: nothing fails) and CPU over {} s\n\nload average \
             before {la0}\n\n| implementation | sessions | all Up after | Down transitions (A + \
             B) | UDP receive-buffer drops | side A CPU | side B CPU |\n|---|---|---|---|---|---|---|",
            opts.sessions,
            opts.many_secs.as_secs()
        );
        for &imp in &opts.impls {
            eprintln!(
                "part 2: {} sessions, {} (load {})",
                opts.sessions,
                imp.name(),
                loadavg()
            );
            match part_many(opts, imp) {
                Ok(row) => report.push_str(&row),
                Err(e) => {
                    let _ = writeln!(
                        report,
                        "| {} | {} | failed: {e} | | | | |",
                        imp.name(),
                        opts.sessions
                    );
                }
            }
        }
        let _ = writeln!(report, "\nload average after {}\n", loadavg());
    }
    if opts.quick {
        report.push_str("(--quick: shortened smoke-test run; figures are indicative only)\n");
    }
    Ok(report)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--floor-loop") && args.len() == 5 {
        if let Err(e) = floor_loop(&args[2], &args[3], &args[4]) {
            eprintln!("bfd-bench: {e}");
            std::process::exit(1);
        }
        return;
    }
    let opts = match parse_opts(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bfd-bench: {e}");
            std::process::exit(2);
        }
    };
    run_bench("bfd-bench", opts.keep, &opts.work, || bench(&opts));
}
