//! What `vrrp-bench` and `bfd-bench` share: the two implementations, the cleanup registry
//! (everything started is torn down at exit, on error, on panic — the release profile aborts
//! on panic, so the panic hook does it — and on SIGINT/SIGTERM/SIGHUP), network namespaces
//! named `<NS_PREFIX><PID>-<tag>` (each program defines `NS_PREFIX`), commands, and the
//! `/proc` readings the CPU figures come from. Included by each program with `#[path]`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, SigSet, Signal};
use nix::unistd::Pid;

use super::NS_PREFIX;

pub type R<T> = Result<T, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    Ours,
    Keepalived,
}

impl Impl {
    pub fn name(self) -> &'static str {
        match self {
            Impl::Ours => "keepalived-rs",
            Impl::Keepalived => "keepalived",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cleanup

struct Registry {
    netns: Vec<String>,
    pids: Vec<i32>,
    /// The work directory, removed at the end unless `--keep`.
    work: Option<PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    netns: Vec::new(),
    pids: Vec::new(),
    work: None,
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// A process to terminate at the end (if it is still running then).
pub fn register_pid(pid: i32) {
    registry().pids.push(pid);
}

pub fn unregister_pid(pid: i32) {
    registry().pids.retain(|p| *p != pid);
}

/// The work directory to remove at the end.
pub fn register_work_dir(dir: PathBuf) {
    registry().work = Some(dir);
}

/// The process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

/// SIGCONT (a frozen process cannot act on SIGTERM), SIGTERM, then SIGKILL after `grace`.
pub fn terminate(pid: i32, grace: Duration) {
    let p = Pid::from_raw(pid);
    let _ = kill(p, Signal::SIGCONT);
    let _ = kill(p, Signal::SIGTERM);
    let t0 = Instant::now();
    while alive(pid) && t0.elapsed() < grace {
        std::thread::sleep(Duration::from_millis(20));
    }
    if alive(pid) {
        let _ = kill(p, Signal::SIGKILL);
    }
}

fn delete_netns(name: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stderr(Stdio::null())
        .status();
}

/// Terminates the registered processes, deletes the namespaces and the work directory.
pub fn cleanup_all() {
    let (pids, netns, work) = {
        let mut r = registry();
        (
            std::mem::take(&mut r.pids),
            std::mem::take(&mut r.netns),
            r.work.take(),
        )
    };
    for pid in pids {
        terminate(pid, Duration::from_secs(2));
    }
    for ns in netns {
        delete_netns(&ns);
    }
    if let Some(w) = work {
        let _ = std::fs::remove_dir_all(w);
    }
}

/// Namespaces `<NS_PREFIX><PID>-*` of runs whose process is gone.
pub fn remove_stale_netns() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some((pid, _)) = name.strip_prefix(NS_PREFIX).and_then(|r| r.split_once('-')) else {
            continue;
        };
        if pid.parse::<i32>().is_ok_and(|p| !alive(p)) {
            eprintln!("removing stale namespace {name}");
            delete_netns(name);
        }
    }
}

pub fn install_cleanup_handlers() -> R<()> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        prev(info);
        cleanup_all();
    }));
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    // Blocked here, before any other thread exists, so every thread inherits the mask and
    // only the waiter below sees these signals (children get a clean mask from std).
    set.thread_block()
        .map_err(|e| format!("sigprocmask: {e}"))?;
    std::thread::spawn(move || {
        if let Ok(sig) = set.wait() {
            eprintln!("\n{sig:?}: cleaning up");
            cleanup_all();
            std::process::exit(130);
        }
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Namespaces and commands

/// The run around a bench's parts, the same for every bench: cleanup handlers installed,
/// namespaces of a killed run removed, the work directory registered for removal unless
/// `keep`, the parts run, everything started removed, and the report printed (exit status 1
/// with the error on stderr otherwise).
pub fn run_bench(name: &str, keep: bool, work: &Path, bench: impl FnOnce() -> R<String>) {
    if let Err(e) = install_cleanup_handlers() {
        eprintln!("{name}: {e}");
        std::process::exit(1);
    }
    remove_stale_netns();
    if !keep {
        register_work_dir(work.to_path_buf());
    }
    let res = bench();
    cleanup_all();
    if keep {
        eprintln!("work directory kept: {}", work.display());
    }
    match res {
        Ok(report) => print!("{report}"),
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
    }
}

pub fn run(cmd: &mut Command) -> R<String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A network namespace of this run, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// `<NS_PREFIX><PID>-<tag>`, registered for cleanup, loopback up.
    pub fn new(tag: &str) -> R<Netns> {
        let name = format!("{NS_PREFIX}{}-{tag}", std::process::id());
        delete_netns(&name);
        run(Command::new("ip").args(["netns", "add", &name]))?;
        registry().netns.push(name.clone());
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn ip(&self, args: &[&str]) -> R<String> {
        run(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    pub fn exec(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        delete_netns(&self.name);
        registry().netns.retain(|n| *n != self.name);
    }
}

/// Polls `f` every `step` until it holds or `timeout` passes; the last answer.
pub fn wait_until(timeout: Duration, step: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(step);
    }
    f()
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------------------------------------
// CPU from /proc

/// Fields of `/proc/PID/stat` after the command name: [0] state, [1] ppid, ... [11] utime,
/// [12] stime.
pub fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.rsplit_once(')')?.1;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// utime + stime, in clock ticks.
pub fn cpu_ticks(pid: i32) -> u64 {
    stat_fields(pid)
        .map(|f| {
            let g = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
            g(11) + g(12)
        })
        .unwrap_or(0)
}

/// CPU time in ns from the scheduler's own accounting (`se.sum_exec_runtime` of every
/// thread in `/proc/PID/task/*/sched`), when the kernel has it (CONFIG_SCHED_DEBUG).
pub fn sched_ns(pid: i32) -> Option<u64> {
    let mut total = 0u64;
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let text = std::fs::read_to_string(t.path().join("sched")).ok()?;
        let ms: f64 = text
            .lines()
            .find(|l| l.starts_with("se.sum_exec_runtime"))?
            .split(':')
            .nth(1)?
            .trim()
            .parse()
            .ok()?;
        total += (ms * 1e6) as u64;
    }
    Some(total)
}

pub fn clk_tck() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}
