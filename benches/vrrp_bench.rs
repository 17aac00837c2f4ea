//! `vrrp-bench`: keepalived-rs against the distribution's keepalived (2.2.7), side by side in
//! one run, on the real kernel, in network namespaces joined by veth pairs.
//!
//! Command (root is needed for the namespaces; build both binaries, then run):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo build --release --bins
//! sudo /work/target-bench/release/vrrp-bench            # all three parts, full length (~6 min)
//! sudo /work/target-bench/release/vrrp-bench --quick    # smoke test (~1 min)
//! sudo /work/target-bench/release/vrrp-bench --part takeover   # or scale, timing (comma list)
//! ```
//!
//! Options: `--quick`, `--part takeover,scale,timing`, `--impl ours|keepalived|both`,
//! `--trials N`, `--scale-secs S`, `--timing-secs S`, `--ours PATH` (default: `keepalived-rs`
//! beside this program), `--keepalived PATH` (default: `keepalived` from `PATH`), `--keep`
//! (leave the work directory with configurations and daemon logs).
//!
//! Both daemons run as `BIN -n -l -G -f CONF -p PID -r VRRPPID` (keepalived also gets `-c` and
//! `-b` so that its pid files never collide with another run), each in its own namespace, with
//! the default settings of each implementation (no real-time priority, no tuning).
//!
//! 1. Takeover precision (VRRPv3, advert_int 0.1 s): a master (priority 200) and a backup
//!    (priority 100) of the same implementation on a veth. The master's VRRP process is frozen
//!    with SIGSTOP at a random phase of its advert cycle; an AF_PACKET socket with kernel
//!    timestamps (`SO_TIMESTAMPNS`) in the backup's namespace, on its end of the veth, measures
//!    the gap between the master's last advert (as received) and the backup's first advert (as
//!    sent), minus the RFC 5798 master-down interval, 3 x 100 ms + (256 - 100) x 100 ms / 256
//!    = 360.9375 ms. The master is then resumed (it preempts back) and the next trial starts
//!    when the backup has been silent for 0.5 s. Median of 10 trials, IPv4 and IPv6.
//! 2. 255 instances at advert_int 0.1 s (v3) on one veth pair: master side (priority 200) and
//!    backup side (priority 100) of the same implementation. After the start-up transients
//!    (election, then the second gratuitous ARP burst at garp_master_delay 5 s), CPU time
//!    (utime + stime from `/proc/PID/stat`, all the daemon's processes summed: keepalived has a
//!    parent and a VRRP child) is measured over 10 s on each side, and resident memory (VmRSS,
//!    all processes summed) at the end. The VIP count on each side is checked (master 255,
//!    backup 0) so that a broken election cannot pass for a cheap one.
//! 3. 1,000 instances over 4 interfaces (VRIDs 1..250 on each) at advert_int 1 s, the daemon
//!    under test alone as master; the far ends of the 4 veths are captured for 60 s after a
//!    10 s settling time (master-down interval, then the garp_master_delay burst). For every
//!    advert, lateness = its time - (the previous advert of that interface and VRID + 1 s);
//!    reported: median, p99, max, and the count later than 1 ms. Each implementation runs
//!    twice: as is, and under a PM QoS CPU wake-up latency request of 0 µs
//!    (`/dev/cpu_dma_latency`): ours asks for it itself (`cpu_dma_latency 0`, our
//!    extension), for keepalived the bench holds the same request while it runs, so both are
//!    measured on the same system setting. In a VM whose halted vCPUs wake late, that request
//!    is what separates a timely advert from a late one.
//!
//! Addresses: 192.0.2.0/24, 198.18.0.0/15, fd00::/8 and link-local only. Namespaces are named
//! `vb<PID>-...`; they and every process started are removed at exit, on error, on panic and
//! on SIGINT/SIGTERM/SIGHUP (stale ones of a killed run are removed at the next start). The
//! machine's load average is printed before and after each part: re-run on a quiet machine
//! for figures worth quoting.

// A benchmark reads the wall and monotonic clocks; the deterministic core's ban does not apply.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[path = "harness.rs"]
mod harness;
use harness::{
    alive, clk_tck, cpu_ticks, loadavg, register_pid, run, run_bench, stat_fields, terminate,
    unregister_pid, Impl, Netns, R,
};

/// Namespaces are `vb<PID>-<tag>`.
const NS_PREFIX: &str = "vb";

// ---------------------------------------------------------------------------------------------
// Options

struct Opts {
    quick: bool,
    takeover: bool,
    scale: bool,
    timing: bool,
    impls: Vec<Impl>,
    trials: usize,
    scale_settle: Duration,
    scale_secs: Duration,
    timing_settle: Duration,
    timing_secs: Duration,
    timing_vrids: u8,
    ours: PathBuf,
    keepalived: PathBuf,
    keep: bool,
    work: PathBuf,
    command: String,
}

fn parse_opts(args: &[String]) -> R<Opts> {
    let mut o = getopts::Options::new();
    o.optflag("", "quick", "short smoke-test variant");
    o.optopt("", "part", "parts to run", "takeover,scale,timing");
    o.optopt("", "impl", "implementations to run", "ours|keepalived|both");
    o.optopt("", "trials", "takeover trials per row (default 10)", "N");
    o.optopt(
        "",
        "scale-secs",
        "CPU measurement window of part 2 (default 10)",
        "S",
    );
    o.optopt(
        "",
        "timing-secs",
        "capture window of part 3 (default 60)",
        "S",
    );
    o.optopt("", "ours", "keepalived-rs binary", "PATH");
    o.optopt("", "keepalived", "keepalived binary", "PATH");
    o.optflag("", "keep", "keep the work directory (configs, logs)");
    o.optflag("h", "help", "this help");
    let m = o.parse(&args[1..]).map_err(|e| e.to_string())?;
    if m.opt_present("h") {
        print!("{}", o.usage("Usage: vrrp-bench [options]  (as root)"));
        std::process::exit(0);
    }
    let quick = m.opt_present("quick");
    let parts = m
        .opt_str("part")
        .unwrap_or_else(|| "takeover,scale,timing".into());
    let mut p = (false, false, false);
    for w in parts.split(',') {
        match w.trim() {
            "takeover" | "1" => p.0 = true,
            "scale" | "2" => p.1 = true,
            "timing" | "3" => p.2 = true,
            "all" => p = (true, true, true),
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
    let work = PathBuf::from(format!("/tmp/vrrp-bench-{}", std::process::id()));
    Ok(Opts {
        quick,
        takeover: p.0,
        scale: p.1,
        timing: p.2,
        impls,
        trials: num("trials", if quick { 3 } else { 10 })? as usize,
        scale_settle: Duration::from_secs(if quick { 6 } else { 8 }),
        scale_secs: Duration::from_secs(num("scale-secs", if quick { 3 } else { 10 })?),
        timing_settle: Duration::from_secs(10),
        timing_secs: Duration::from_secs(num("timing-secs", if quick { 10 } else { 60 })?),
        timing_vrids: if quick { 25 } else { 250 },
        ours,
        keepalived: PathBuf::from(
            m.opt_str("keepalived")
                .unwrap_or_else(|| "keepalived".into()),
        ),
        keep: m.opt_present("keep"),
        work,
        command: args.join(" "),
    })
}

/// A namespace of this run (see `harness::Netns`) without duplicate address detection, so
/// that link-local addresses are usable at once.
fn netns(tag: &str) -> R<Netns> {
    let ns = Netns::new(tag)?;
    run(ns.exec("sh").args([
        "-c",
        "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; \
         echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad",
    ]))?;
    Ok(ns)
}

impl Netns {
    /// A veth `ifname` here whose peer `peer_ifname` lives in `peer`; both up.
    fn veth(&self, ifname: &str, peer: &Netns, peer_ifname: &str) -> R<()> {
        self.ip(&[
            "link",
            "add",
            ifname,
            "type",
            "veth",
            "peer",
            "name",
            peer_ifname,
            "netns",
            &peer.name,
        ])?;
        self.ip(&["link", "set", ifname, "up"])?;
        peer.ip(&["link", "set", peer_ifname, "up"])?;
        Ok(())
    }

    /// Datagrams the kernel dropped on the namespace's raw sockets (receive buffer full):
    /// the `drops` column of `/proc/net/raw` and `/proc/net/raw6`.
    fn raw_drops(&self) -> u64 {
        let out =
            run(self.exec("cat").args(["/proc/net/raw", "/proc/net/raw6"])).unwrap_or_default();
        out.lines()
            .filter(|l| !l.trim_start().starts_with("sl"))
            .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
            .sum()
    }

    /// Addresses on `ifname` (`ip -o addr show`), counting those in `prefix`.
    fn count_addrs(&self, ifname: &str, prefix: &str) -> R<usize> {
        let out = self.ip(&["-o", "addr", "show", "dev", ifname])?;
        Ok(out
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .nth(3)
                    .is_some_and(|a| a.starts_with(prefix))
            })
            .count())
    }
}

fn sleep(d: Duration) {
    std::thread::sleep(d);
}

// ---------------------------------------------------------------------------------------------
// Daemons

struct Inst {
    name: String,
    iface: String,
    vrid: u8,
    prio: u8,
    advert_int: &'static str,
    vip: String,
}

fn config(router_id: &str, insts: &[Inst]) -> String {
    config_with(router_id, "", insts)
}

/// As [`config`], with more `global_defs` lines.
fn config_with(router_id: &str, global: &str, insts: &[Inst]) -> String {
    let mut s = format!("global_defs {{\n    router_id {router_id}\n{global}}}\n");
    for i in insts {
        let _ = write!(
            s,
            "vrrp_instance {} {{\n    state BACKUP\n    interface {}\n    virtual_router_id {}\n    \
             priority {}\n    advert_int {}\n    version 3\n    virtual_ipaddress {{\n        {}\n    \
             }}\n}}\n",
            i.name, i.iface, i.vrid, i.prio, i.advert_int, i.vip
        );
    }
    s
}

struct Daemon {
    imp: Impl,
    child: Child,
    pidfile: PathBuf,
    vrrp_pidfile: PathBuf,
    log: PathBuf,
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
        if imp == Impl::Keepalived {
            cmd.arg("-c").arg(p("checkers.pid"));
            cmd.arg("-b").arg(p("bfd.pid"));
        }
        cmd.stdin(Stdio::null())
            .stdout(logf.try_clone().map_err(|e| e.to_string())?)
            .stderr(logf)
            .process_group(0);
        let child = cmd.spawn().map_err(|e| format!("{bin}: {e}"))?;
        register_pid(child.id() as i32);
        let d = Daemon {
            imp,
            child,
            pidfile: p("pid"),
            vrrp_pidfile: p("vrrp.pid"),
            log,
        };
        // `ip netns exec` execs the daemon in place: the child is the daemon.
        let t0 = Instant::now();
        while d.vrrp_pid().is_none() {
            if t0.elapsed() > Duration::from_secs(10) || !alive(d.child.id() as i32) {
                return Err(format!(
                    "{} did not start; log:\n{}",
                    imp.name(),
                    std::fs::read_to_string(&d.log).unwrap_or_default()
                ));
            }
            sleep(Duration::from_millis(20));
        }
        Ok(d)
    }

    fn read_pid(path: &Path) -> Option<i32> {
        let s = std::fs::read_to_string(path).ok()?;
        let pid = s.trim().parse().ok()?;
        alive(pid).then_some(pid)
    }

    fn main_pid(&self) -> i32 {
        Self::read_pid(&self.pidfile).unwrap_or(self.child.id() as i32)
    }

    /// The process running the VRRP engine (keepalived's VRRP child; ours: the only one).
    fn vrrp_pid(&self) -> Option<i32> {
        Self::read_pid(&self.vrrp_pidfile).or_else(|| match self.imp {
            Impl::Ours => Self::read_pid(&self.pidfile),
            Impl::Keepalived => None,
        })
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
        let mut out = vec![self.main_pid()];
        let mut i = 0;
        while i < out.len() {
            if let Some(kids) = parents.get(&out[i]) {
                out.extend(kids.iter().copied());
            }
            i += 1;
        }
        out
    }

    fn cpu_ticks(&self) -> u64 {
        self.all_pids().iter().map(|p| cpu_ticks(*p)).sum()
    }

    /// CPU time in ns from the scheduler's own accounting (`se.sum_exec_runtime` of every
    /// thread in `/proc/PID/task/*/sched`), when the kernel has it (CONFIG_SCHED_DEBUG).
    fn sched_ns(&self) -> Option<u64> {
        self.all_pids().into_iter().map(harness::sched_ns).sum()
    }

    fn rss_kb(&self) -> u64 {
        self.all_pids().iter().map(|p| rss_kb(*p)).sum()
    }

    fn signal_vrrp(&self, sig: Signal) -> R<()> {
        let pid = self.vrrp_pid().ok_or("no VRRP process")?;
        kill(Pid::from_raw(pid), sig).map_err(|e| format!("kill {pid} {sig:?}: {e}"))
    }

    fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    fn log_count(&self, needle: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .map(|s| s.matches(needle).count())
            .unwrap_or(0)
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

fn rss_kb(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Capture: this program re-executed inside a namespace (`--capture-helper IF,IF,...`) reads an
// AF_PACKET socket with SO_TIMESTAMPNS and prints one line per VRRP advert seen on the listed
// interfaces, incoming or outgoing: `ts_ns if_pos outgoing src vrid prio`.

#[derive(Clone, Copy, Debug)]
struct Rec {
    /// Kernel timestamp (CLOCK_REALTIME), ns.
    ts: u64,
    /// Position of the interface in the list the capture was started with.
    ifpos: u8,
    /// Sent from this namespace (PACKET_OUTGOING) rather than received.
    outgoing: bool,
    src: IpAddr,
    vrid: u8,
    prio: u8,
}

fn parse_rec(line: &str) -> Option<Rec> {
    let mut w = line.split_whitespace();
    Some(Rec {
        ts: w.next()?.parse().ok()?,
        ifpos: w.next()?.parse().ok()?,
        outgoing: w.next()? == "1",
        src: w.next()?.parse().ok()?,
        vrid: w.next()?.parse().ok()?,
        prio: w.next()?.parse().ok()?,
    })
}

/// Source, VRID and priority of a VRRP advert in an Ethernet frame.
fn parse_frame(f: &[u8]) -> Option<(IpAddr, u8, u8)> {
    let ethertype = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
    let (src, vrrp) = match ethertype {
        0x0800 => {
            let ip = f.get(14..)?;
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            if *ip.get(9)? != 112 || ihl < 20 {
                return None;
            }
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            (IpAddr::from(s), ip.get(ihl..)?)
        }
        0x86dd => {
            let ip = f.get(14..)?;
            if *ip.get(6)? != 112 {
                return None;
            }
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            (IpAddr::from(s), ip.get(40..)?)
        }
        _ => return None,
    };
    // Version 2 or 3, type 1 (advertisement).
    if vrrp.len() < 8 || vrrp[0] & 0x0f != 1 {
        return None;
    }
    Some((src, vrrp[1], vrrp[2]))
}

fn capture_helper(ifnames: &str) -> R<()> {
    use nix::sys::socket::{
        recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, LinkAddr,
        MsgFlags, SockFlag, SockProtocol, SockType,
    };
    let mut want: BTreeMap<usize, usize> = BTreeMap::new();
    for (pos, name) in ifnames.split(',').enumerate() {
        let idx = nix::net::if_::if_nametoindex(name).map_err(|e| format!("{name}: {e}"))?;
        want.insert(idx as usize, pos);
    }
    let fd = socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::empty(),
        SockProtocol::EthAll,
    )
    .map_err(|e| format!("AF_PACKET socket: {e}"))?;
    setsockopt(&fd, sockopt::ReceiveTimestampns, &true).map_err(|e| e.to_string())?;
    setsockopt(&fd, sockopt::RcvBufForce, &(16 << 20)).map_err(|e| e.to_string())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    writeln!(out, "ready").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    let mut buf = [0u8; 2048];
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    loop {
        // Drain without blocking, then sleep: the timestamps are the kernel's, so reading late
        // costs nothing, and a capture woken by every packet would compete for the CPU with
        // the daemon under test (the 16 MiB buffer holds several seconds of adverts).
        let (len, addr, ts) = loop {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let flags = MsgFlags::MSG_DONTWAIT;
            match recvmsg::<LinkAddr>(fd.as_raw_fd(), &mut iov, Some(&mut cmsg), flags) {
                Ok(m) => {
                    let mut ts = 0u64;
                    if let Ok(cms) = m.cmsgs() {
                        for c in cms {
                            if let ControlMessageOwned::ScmTimestampns(t) = c {
                                ts = t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64;
                            }
                        }
                    }
                    break (m.bytes, m.address, ts);
                }
                Err(nix::errno::Errno::EAGAIN) => {
                    out.flush().map_err(|e| e.to_string())?;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(format!("recvmsg: {e}")),
            }
        };
        let Some(addr) = addr else { continue };
        let Some(&pos) = want.get(&addr.ifindex()) else {
            continue;
        };
        let Some((src, vrid, prio)) = parse_frame(&buf[..len.min(buf.len())]) else {
            continue;
        };
        // linux/if_packet.h PACKET_OUTGOING.
        let outgoing = u8::from(addr.pkttype() == 4);
        if writeln!(out, "{ts} {pos} {outgoing} {src} {vrid} {prio}").is_err() {
            return Ok(()); // the reader went away
        }
    }
}

struct Capture {
    child: Child,
    recs: Arc<Mutex<Vec<Rec>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Capture {
    fn start(ns: &Netns, ifnames: &[&str]) -> R<Capture> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = ns.exec(&exe.to_string_lossy());
        cmd.arg("--capture-helper")
            .arg(ifnames.join(","))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| format!("capture helper: {e}"))?;
        register_pid(child.id() as i32);
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut rd = BufReader::new(stdout);
        let mut line = String::new();
        rd.read_line(&mut line).map_err(|e| e.to_string())?;
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("capture helper did not start: {line:?}"));
        }
        let recs = Arc::new(Mutex::new(Vec::with_capacity(1 << 16)));
        let r2 = recs.clone();
        let reader = std::thread::spawn(move || {
            for line in rd.lines() {
                let Ok(line) = line else { break };
                if let Some(r) = parse_rec(&line) {
                    r2.lock().unwrap_or_else(|e| e.into_inner()).push(r);
                }
            }
        });
        Ok(Capture {
            child,
            recs,
            reader: Some(reader),
        })
    }

    fn len(&self) -> usize {
        self.recs.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn since(&self, from: usize) -> Vec<Rec> {
        let r = self.recs.lock().unwrap_or_else(|e| e.into_inner());
        r.get(from..).map(<[Rec]>::to_vec).unwrap_or_default()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = self.child.wait();
        unregister_pid(pid);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

// ---------------------------------------------------------------------------------------------
// Part 1: takeover precision

/// RFC 5798 §6.1: 3 x Master_Adver_Interval + (256 - Priority) x Master_Adver_Interval / 256,
/// for priority 100 and 100 ms, in ms.
const MASTER_DOWN_MS: f64 = 3.0 * 100.0 + (256.0 - 100.0) * 100.0 / 256.0;

struct TakeoverRow {
    imp: Impl,
    v6: bool,
    /// gap - master-down interval, ms, per successful trial.
    offsets: Vec<f64>,
    failed: usize,
}

fn wait_until(timeout: Duration, f: impl FnMut() -> bool) -> bool {
    harness::wait_until(timeout, Duration::from_millis(10), f)
}

/// The master advertises and the backup has been silent for `quiet` (wire time).
fn steady(cap: &Capture, quiet: Duration) -> bool {
    let recs = cap.since(0);
    let Some(last) = recs.last() else {
        return false;
    };
    let horizon = last.ts.saturating_sub(quiet.as_nanos() as u64);
    let recent: Vec<&Rec> = recs.iter().filter(|r| r.ts >= horizon).collect();
    let master = recent
        .iter()
        .filter(|r| !r.outgoing && r.prio == 200)
        .count();
    let backup = recent.iter().filter(|r| r.outgoing).count();
    // At 10 adverts per second, require most of them in the window.
    master as f64 >= quiet.as_secs_f64() * 10.0 * 0.8 && backup == 0
}

fn takeover(opts: &Opts, imp: Impl, v6: bool, rng: &mut SplitMix64) -> R<TakeoverRow> {
    let tag = if v6 { "6" } else { "4" };
    let m = netns(&format!("tm{tag}"))?;
    let b = netns(&format!("tb{tag}"))?;
    m.veth("eth0", &b, "eth0")?;
    let (ma, ba, vip) = if v6 {
        ("fd00::1/64", "fd00::2/64", "fd00::100/64")
    } else {
        ("192.0.2.1/24", "192.0.2.2/24", "192.0.2.100/32")
    };
    m.ip(&["addr", "add", ma, "dev", "eth0", "nodad"])?;
    b.ip(&["addr", "add", ba, "dev", "eth0", "nodad"])?;
    let inst = |prio| Inst {
        name: "VI_1".into(),
        iface: "eth0".into(),
        vrid: 51,
        prio,
        advert_int: "0.1",
        vip: vip.into(),
    };
    let cap = Capture::start(&b, &["eth0"])?;
    let master = Daemon::start(
        opts,
        imp,
        &m,
        &format!("takeover-{}-v{tag}-master", imp.name()),
        &config("master", &[inst(200)]),
    )?;
    if !wait_until(Duration::from_secs(5), || {
        cap.since(0).iter().any(|r| r.prio == 200)
    }) {
        return Err(format!("{}: the master sends no adverts", imp.name()));
    }
    let backup = Daemon::start(
        opts,
        imp,
        &b,
        &format!("takeover-{}-v{tag}-backup", imp.name()),
        &config("backup", &[inst(100)]),
    )?;
    let quiet = Duration::from_millis(500);
    if !wait_until(Duration::from_secs(5), || steady(&cap, quiet)) {
        return Err(format!("{}: no steady master/backup pair", imp.name()));
    }
    let mut row = TakeoverRow {
        imp,
        v6,
        offsets: Vec::new(),
        failed: 0,
    };
    for trial in 0..opts.trials {
        // A random phase of the master's 100 ms advert cycle.
        sleep(Duration::from_micros(rng.next() % 100_000));
        let mark = cap.len();
        master.signal_vrrp(Signal::SIGSTOP)?;
        let mut found = None;
        wait_until(Duration::from_secs(3), || {
            let recs = cap.since(0);
            if let Some(i) = recs[mark..].iter().position(|r| r.outgoing) {
                let i = mark + i;
                found = recs[..i]
                    .iter()
                    .rev()
                    .find(|r| !r.outgoing)
                    .map(|last| (last.ts, recs[i].ts));
                return true;
            }
            false
        });
        master.signal_vrrp(Signal::SIGCONT)?;
        match found {
            Some((last, first)) => {
                let gap_ms = (first - last) as f64 / 1e6;
                row.offsets.push(gap_ms - MASTER_DOWN_MS);
            }
            None => {
                row.failed += 1;
                eprintln!(
                    "  trial {trial}: no takeover seen (or no master advert before it) within 3 s"
                );
            }
        }
        if !wait_until(Duration::from_secs(10), || steady(&cap, quiet)) {
            let recs = cap.since(0);
            let tail: Vec<String> = recs[recs.len().saturating_sub(12)..]
                .iter()
                .map(|r| {
                    format!(
                        "{}.{:09} {} prio {}",
                        r.ts / 1_000_000_000,
                        r.ts % 1_000_000_000,
                        if r.outgoing { "backup" } else { "master" },
                        r.prio
                    )
                })
                .collect();
            return Err(format!(
                "{}: the master did not take back over after SIGCONT; last adverts:\n{}\n\
                 master log:\n{}\nbackup log:\n{}",
                imp.name(),
                tail.join("\n"),
                master.log_tail(15),
                backup.log_tail(15)
            ));
        }
    }
    drop(backup);
    drop(master);
    Ok(row)
}

fn print_takeover(rows: &[TakeoverRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| backup (and master) | family | trials | median gap - {MASTER_DOWN_MS} ms | min | max \
         | target |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for r in rows {
        let v = sorted(r.offsets.clone());
        let med = percentile(&v, 0.5);
        let ok = if r.failed > 0 || v.is_empty() {
            "FAIL (trials failed)".to_string()
        } else if med.abs() <= 1.0 && v[0] >= 0.0 {
            "met (median within 1 ms, never early)".to_string()
        } else if med.abs() <= 1.0 {
            "median met, but early takeover seen".to_string()
        } else {
            "missed".to_string()
        };
        let target = if r.imp == Impl::Ours {
            ok
        } else {
            "(reference)".into()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {}{} | {:+.3} ms | {:+.3} ms | {:+.3} ms | {} |",
            r.imp.name(),
            if r.v6 { "IPv6" } else { "IPv4" },
            v.len(),
            if r.failed > 0 {
                format!(" ({} failed)", r.failed)
            } else {
                String::new()
            },
            med,
            v.first().copied().unwrap_or(f64::NAN),
            v.last().copied().unwrap_or(f64::NAN),
            target
        );
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Part 2: 255 instances at 0.1 s

struct ScaleRow {
    imp: Impl,
    secs: f64,
    /// CPU seconds over the window (utime + stime), master side then backup side.
    cpu: [f64; 2],
    /// The same from the scheduler's ns accounting, if available.
    sched: [Option<f64>; 2],
    rss_kb: [u64; 2],
    procs: [usize; 2],
    vips: [usize; 2],
    /// Adverts dropped by the kernel on the daemons' raw sockets (receive buffer full).
    drops: [u64; 2],
}

fn scale(opts: &Opts, imp: Impl) -> R<ScaleRow> {
    let m = netns("sm")?;
    let b = netns("sb")?;
    m.veth("eth0", &b, "eth0")?;
    m.ip(&["addr", "add", "192.0.2.1/24", "dev", "eth0"])?;
    b.ip(&["addr", "add", "192.0.2.2/24", "dev", "eth0"])?;
    let insts = |prio| -> Vec<Inst> {
        (1..=255u8)
            .map(|v| Inst {
                name: format!("VI_{v}"),
                iface: "eth0".into(),
                vrid: v,
                prio,
                advert_int: "0.1",
                vip: format!("198.19.0.{v}/32"),
            })
            .collect()
    };
    let master = Daemon::start(
        opts,
        imp,
        &m,
        &format!("scale-{}-master", imp.name()),
        &config("master", &insts(200)),
    )?;
    // Let the master win first, so the backup joins a settled segment.
    sleep(Duration::from_secs(1));
    let backup = Daemon::start(
        opts,
        imp,
        &b,
        &format!("scale-{}-backup", imp.name()),
        &config("backup", &insts(100)),
    )?;
    sleep(opts.scale_settle);
    let sides = [&master, &backup];
    let t0 = Instant::now();
    let c0 = sides.map(|d| d.cpu_ticks());
    let s0 = sides.map(|d| d.sched_ns());
    sleep(opts.scale_secs);
    let c1 = sides.map(|d| d.cpu_ticks());
    let s1 = sides.map(|d| d.sched_ns());
    let secs = t0.elapsed().as_secs_f64();
    let tck = clk_tck() as f64;
    let row = ScaleRow {
        imp,
        secs,
        cpu: [0, 1].map(|i| (c1[i] - c0[i]) as f64 / tck),
        sched: [0, 1].map(|i| match (s0[i], s1[i]) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / 1e9),
            _ => None,
        }),
        rss_kb: sides.map(|d| d.rss_kb()),
        procs: sides.map(|d| d.all_pids().len()),
        vips: [
            m.count_addrs("eth0", "198.19.")?,
            b.count_addrs("eth0", "198.19.")?,
        ],
        drops: [m.raw_drops(), b.raw_drops()],
    };
    if row.vips != [255, 0] {
        eprintln!(
            "  WARNING {}: VIPs master {} backup {} (expected 255 and 0); master log has {} \
             MASTER transitions, backup {}",
            imp.name(),
            row.vips[0],
            row.vips[1],
            master.log_count("Entering MASTER STATE"),
            backup.log_count("Entering MASTER STATE"),
        );
    }
    drop(backup);
    drop(master);
    Ok(row)
}

fn print_scale(rows: &[ScaleRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| implementation | window | master CPU (utime+stime) | backup CPU (utime+stime) \
         | master / backup CPU (sched ns) | master RSS | backup RSS | processes (m/b) \
         | VIPs (m/b) | rx drops (m/b) |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    let fmt_sched = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{:.3} s", v));
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {:.1} s | {:.2} s ({:.1} %) | {:.2} s ({:.1} %) | {} / {} | {} KiB | {} KiB \
             | {}/{} | {}/{} | {}/{} |",
            r.imp.name(),
            r.secs,
            r.cpu[0],
            100.0 * r.cpu[0] / r.secs,
            r.cpu[1],
            100.0 * r.cpu[1] / r.secs,
            fmt_sched(r.sched[0]),
            fmt_sched(r.sched[1]),
            r.rss_kb[0],
            r.rss_kb[1],
            r.procs[0],
            r.procs[1],
            r.vips[0],
            r.vips[1],
            r.drops[0],
            r.drops[1]
        );
    }
    let ours = rows.iter().find(|r| r.imp == Impl::Ours);
    let theirs = rows.iter().find(|r| r.imp == Impl::Keepalived);
    if let (Some(o), Some(k)) = (ours, theirs) {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        let verdict = |r: f64| if r <= 0.5 { "met" } else { "MISSED" };
        let cm = ratio(o.cpu[0], k.cpu[0]);
        let cb = ratio(o.cpu[1], k.cpu[1]);
        let rss = ratio(
            (o.rss_kb[0] + o.rss_kb[1]) as f64,
            (k.rss_kb[0] + k.rss_kb[1]) as f64,
        );
        let rm = ratio(o.rss_kb[0] as f64, k.rss_kb[0] as f64);
        let rb = ratio(o.rss_kb[1] as f64, k.rss_kb[1] as f64);
        let _ = writeln!(
            s,
            "\nours / keepalived: master CPU {cm:.2} ({}), backup CPU {cb:.2} ({}), \
             RSS master {rm:.2} backup {rb:.2} ({}); target <= 0.5 each",
            verdict(cm),
            verdict(cb),
            verdict(rss.max(rm).max(rb)),
        );
        if let ([Some(om), Some(ob)], [Some(km), Some(kb)]) = (o.sched, k.sched) {
            let _ = writeln!(
                s,
                "(by the scheduler's ns accounting: master CPU {:.2}, backup CPU {:.2})",
                ratio(om, km),
                ratio(ob, kb)
            );
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Part 3: 1,000 instances over 4 interfaces at 1 s

struct TimingRow {
    imp: Impl,
    /// Whether a 0 µs PM QoS request was held while it ran.
    pm_qos: bool,
    instances: usize,
    secs: f64,
    /// Lateness of each advert against its deadline, µs.
    late: Vec<f64>,
    vrids_seen: usize,
}

fn timing(opts: &Opts, imp: Impl, pm_qos: bool) -> R<TimingRow> {
    let m = netns("lm")?;
    let c = netns("lc")?;
    let ifs = ["eth0", "eth1", "eth2", "eth3"];
    let mut insts = Vec::new();
    for (k, ifname) in ifs.iter().enumerate() {
        m.veth(ifname, &c, ifname)?;
        m.ip(&["addr", "add", &format!("198.18.{k}.1/24"), "dev", ifname])?;
        c.ip(&["addr", "add", &format!("198.18.{k}.2/24"), "dev", ifname])?;
        for v in 1..=opts.timing_vrids {
            insts.push(Inst {
                name: format!("VI_{k}_{v}"),
                iface: ifname.to_string(),
                vrid: v,
                prio: 200,
                advert_int: "1",
                vip: format!("198.19.{k}.{v}/32"),
            });
        }
    }
    let cap = Capture::start(&c, &ifs)?;
    // Ours asks for the request in its configuration; keepalived cannot, so the bench holds
    // it for keepalived's run.
    let (global, _held) = match (pm_qos, imp) {
        (false, _) => ("", None),
        (true, Impl::Ours) => ("    cpu_dma_latency 0\n", None),
        (true, Impl::Keepalived) => ("", Some(hold_cpu_latency_zero()?)),
    };
    let tag = if pm_qos { "-pmqos" } else { "" };
    let d = Daemon::start(
        opts,
        imp,
        &m,
        &format!("timing-{}{tag}", imp.name()),
        &config_with("timing", global, &insts),
    )?;
    sleep(opts.timing_settle);
    // The window starts here; the advert before it (if any) is the first deadline's base.
    let first = cap.len();
    let t0 = Instant::now();
    sleep(opts.timing_secs);
    let recs = cap.since(0);
    let secs = t0.elapsed().as_secs_f64();
    drop(d);
    drop(cap);
    if opts.keep {
        // For a closer look: every advert of the run, `ts_ns if_pos vrid prio`.
        let mut txt = String::new();
        for r in &recs {
            let _ = writeln!(txt, "{} {} {} {}", r.ts, r.ifpos, r.vrid, r.prio);
        }
        let f = opts
            .work
            .join(format!("timing-{}{tag}", imp.name()))
            .join("adverts.txt");
        let _ = std::fs::write(f, txt);
    }
    let mut last: BTreeMap<(u8, u8), u64> = BTreeMap::new();
    for r in &recs[..first.min(recs.len())] {
        last.insert((r.ifpos, r.vrid), r.ts);
    }
    let mut late = Vec::new();
    for r in &recs[first.min(recs.len())..] {
        if r.outgoing || r.src.is_ipv6() {
            continue;
        }
        if let Some(prev) = last.insert((r.ifpos, r.vrid), r.ts) {
            let gap_us = (r.ts as f64 - prev as f64) / 1e3;
            late.push(gap_us - 1e6);
        }
    }
    Ok(TimingRow {
        imp,
        pm_qos,
        instances: insts.len(),
        secs,
        late,
        vrids_seen: last.len(),
    })
}

/// A PM QoS request of 0 µs, held while the returned file stays open.
fn hold_cpu_latency_zero() -> R<std::fs::File> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/cpu_dma_latency")
        .map_err(|e| format!("/dev/cpu_dma_latency: {e}"))?;
    f.write_all(&0i32.to_ne_bytes())
        .map_err(|e| format!("/dev/cpu_dma_latency: {e}"))?;
    Ok(f)
}

fn print_timing(rows: &[TimingRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| master | PM QoS 0 µs | instances (seen) | window | adverts | median lateness | p99 \
         | max | min | > 1 ms late | target |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let v = sorted(r.late.clone());
        let over = v.iter().filter(|x| **x > 1000.0).count();
        // Every instance should advertise about once per second of the window.
        let expected = r.instances as f64 * r.secs;
        let complete = v.len() as f64 >= expected * 0.95;
        let verdict = if !complete {
            "FAIL (adverts missing)"
        } else if over == 0 {
            "met"
        } else {
            "MISSED"
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} ({}) | {:.0} s | {} | {:+.0} µs | {:+.0} µs | {:+.0} µs | {:+.0} µs | {} | {} |",
            r.imp.name(),
            match (r.pm_qos, r.imp) {
                (false, _) => "no",
                (true, Impl::Ours) => "yes (`cpu_dma_latency 0`)",
                (true, Impl::Keepalived) => "yes (held by the bench)",
            },
            r.instances,
            r.vrids_seen,
            r.secs,
            v.len(),
            percentile(&v, 0.5),
            percentile(&v, 0.99),
            v.last().copied().unwrap_or(f64::NAN),
            v.first().copied().unwrap_or(f64::NAN),
            over,
            if r.imp == Impl::Ours && r.pm_qos {
                verdict
            } else {
                "(reference)"
            }
        );
    }
    s
}

// ---------------------------------------------------------------------------------------------

fn bench(opts: &Opts) -> R<String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("vrrp-bench needs root (network namespaces)".into());
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
    let mut rng = SplitMix64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    );
    let mut report = String::new();
    let _ = writeln!(report, "## vrrp-bench results\n");
    let _ = writeln!(report, "command: `{}`", opts.command);
    let _ = writeln!(
        report,
        "daemons: `{} -n -l -G -f CONF -p PID -r VRRPPID` vs `{} ... -c CPID -b BPID`; {} CPUs; \
         kernel {}\n",
        opts.ours.display(),
        opts.keepalived.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    if opts.takeover {
        let la0 = loadavg();
        eprintln!("part 1: takeover precision (load {la0})");
        let mut rows = Vec::new();
        for v6 in [false, true] {
            for &imp in &opts.impls {
                eprintln!("  {} IPv{}", imp.name(), if v6 { 6 } else { 4 });
                rows.push(takeover(opts, imp, v6, &mut rng)?);
            }
        }
        let _ = writeln!(
            report,
            "### 1. Takeover precision (VRRPv3, advert_int 0.1 s, master 200 frozen by SIGSTOP, \
             backup 100; master-down {MASTER_DOWN_MS} ms)\n\nload average before {la0}, after {}\n",
            loadavg()
        );
        report.push_str(&print_takeover(&rows));
        report.push('\n');
    }
    if opts.scale {
        let la0 = loadavg();
        eprintln!("part 2: 255 instances at 0.1 s (load {la0})");
        let mut rows = Vec::new();
        for &imp in &opts.impls {
            eprintln!("  {}", imp.name());
            rows.push(scale(opts, imp)?);
        }
        let _ = writeln!(
            report,
            "### 2. 255 instances, VRRPv3, advert_int 0.1 s, one veth (master side 200, backup \
             side 100)\n\nload average before {la0}, after {}\n",
            loadavg()
        );
        report.push_str(&print_scale(&rows));
        report.push('\n');
    }
    if opts.timing {
        let la0 = loadavg();
        eprintln!(
            "part 3: {} instances over 4 interfaces at 1 s, {} s (load {la0})",
            4 * usize::from(opts.timing_vrids),
            opts.timing_secs.as_secs()
        );
        let mut rows = Vec::new();
        for pm_qos in [false, true] {
            for &imp in &opts.impls {
                eprintln!("  {}{}", imp.name(), if pm_qos { ", PM QoS 0" } else { "" });
                rows.push(timing(opts, imp, pm_qos)?);
            }
        }
        let _ = writeln!(
            report,
            "### 3. {} instances over 4 interfaces, VRRPv3, advert_int 1 s, alone as master \
             (lateness = advert - (previous advert of the VRID + 1 s), wire time)\n\nload \
             average before {la0}, after {}\n",
            4 * usize::from(opts.timing_vrids),
            loadavg()
        );
        report.push_str(&print_timing(&rows));
        report.push('\n');
    }
    if opts.quick {
        report.push_str("(--quick: shortened smoke-test run; figures are indicative only)\n");
    }
    Ok(report)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--capture-helper") {
        if let Err(e) = capture_helper(args.get(2).map(String::as_str).unwrap_or("eth0")) {
            eprintln!("capture helper: {e}");
            std::process::exit(1);
        }
        return;
    }
    let opts = match parse_opts(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vrrp-bench: {e}");
            std::process::exit(2);
        }
    };
    run_bench("vrrp-bench", opts.keep, &opts.work, || bench(&opts));
}
