//! The daemon process as keepalived's: pid files created and removed, a second instance
//! with the same pid file refuses to start, SIGHUP reloads (a broken configuration is
//! refused and the running one kept), SIGUSR1/SIGUSR2 do not kill it, SIGTERM stops it in
//! order, and without `-n` it backgrounds itself. No root needed (pid files under /tmp).

// End-to-end timing waits use the real clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Run {
    dir: PathBuf,
    conf: PathBuf,
    pid: PathBuf,
}

impl Run {
    fn new(tag: &str) -> Run {
        let dir = std::env::temp_dir().join(format!("kvrs-daemon-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("keepalived.conf");
        std::fs::write(&conf, GOOD).unwrap();
        Run {
            pid: dir.join("k.pid"),
            conf,
            dir,
        }
    }

    fn args(&self) -> Vec<String> {
        let p = |n: &str| self.dir.join(n).display().to_string();
        vec![
            "-l".into(),
            "-G".into(),
            "-f".into(),
            self.conf.display().to_string(),
            "-p".into(),
            self.pid.display().to_string(),
            "-r".into(),
            p("v.pid"),
            "-c".into(),
            p("c.pid"),
            "-b".into(),
            p("b.pid"),
        ]
    }

    fn spawn_foreground(&self) -> Child {
        let log = std::fs::File::create(self.dir.join("log")).unwrap();
        Command::new(common::our_bin())
            .arg("-n")
            .args(self.args())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.join("log")) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    fn wait_log(&self, needle: &str, n: usize) {
        wait_for(
            || self.log().matches(needle).count() >= n,
            &format!("log line '{needle}' x{n}"),
            || self.log(),
        );
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(pid) = read_pid(&self.pid) {
            let _ = signal(pid, "KILL");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const GOOD: &str = "global_defs {\n    router_id r1\n}\n";

fn wait_for(mut f: impl FnMut() -> bool, what: &str, ctx: impl Fn() -> String) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}\n{}",
            ctx()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_pid(p: &Path) -> Option<i32> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn signal(pid: i32, sig: &str) -> bool {
    Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

#[test]
fn pid_file_second_instance_reload_signals_stop() {
    let r = Run::new("main");
    let mut child = r.spawn_foreground();
    wait_for(
        || read_pid(&r.pid) == Some(child.id() as i32),
        "pid file",
        || r.log(),
    );
    r.wait_log("Configuration file", 1);
    let log = r.log();
    assert!(log.contains("Starting Keepalived-rs v"), "{log}");
    assert!(log.contains("Command line: '"), "{log}");

    // A second instance with the same pid file refuses to start (and leaves the file alone).
    let second = Command::new(common::our_bin())
        .arg("-n")
        .args(r.args())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&second.stderr).contains("daemon is already running"));
    assert_eq!(read_pid(&r.pid), Some(child.id() as i32));

    // SIGUSR1/SIGUSR2 are caught, not fatal.
    let pid = child.id() as i32;
    assert!(signal(pid, "USR1") && signal(pid, "USR2"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(alive(pid));

    // A good reload is applied.
    std::fs::write(&r.conf, "global_defs {\n    router_id r2\n}\n").unwrap();
    assert!(signal(pid, "HUP"));
    r.wait_log("Reload complete", 1);

    // A broken reload is refused and the running configuration kept.
    std::fs::write(&r.conf, "global_defs {\n    router_idd r3\n").unwrap();
    assert!(signal(pid, "HUP"));
    r.wait_log("Reload aborted", 1);
    assert!(
        r.log().contains("Unknown keyword 'router_idd'"),
        "{}",
        r.log()
    );
    assert!(alive(pid));

    // SIGTERM: orderly stop, pid file removed, exit 0.
    assert!(signal(pid, "TERM"));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", r.log());
    assert!(!r.pid.exists());
    let log = r.log();
    assert!(
        log.contains("Stopping") && log.contains("Stopped Keepalived-rs v"),
        "{log}"
    );
}

#[test]
fn sigint_stops_unless_ignored() {
    let r = Run::new("int");
    let mut child = r.spawn_foreground();
    wait_for(|| read_pid(&r.pid).is_some(), "pid file", || r.log());
    assert!(signal(child.id() as i32, "INT"));
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(!r.pid.exists());
}

#[test]
fn backgrounds_without_dont_fork() {
    let r = Run::new("bg");
    // Without `-l` the daemon detaches from our stderr once started. `status()` waits for
    // the launching process only, which returns as soon as the daemon reports that it started.
    let args: Vec<String> = r.args().into_iter().filter(|a| a != "-l").collect();
    let log = std::fs::File::create(r.dir.join("log")).unwrap();
    let status = Command::new(common::our_bin())
        .args(&args)
        .stderr(log)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0), "{}", r.log());
    // The parent returned; the daemon wrote its pid file and runs in its own session.
    wait_for(|| read_pid(&r.pid).is_some(), "pid file", || r.log());
    let pid = read_pid(&r.pid).unwrap();
    assert!(alive(pid));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    assert_eq!(
        fields[3],
        pid.to_string(),
        "daemon should lead its own session: {stat}"
    );
    assert!(signal(pid, "TERM"));
    wait_for(|| !alive(pid), "daemon exit", String::new);
    assert!(!r.pid.exists());
}

#[test]
fn missing_config_at_start_is_fatal() {
    let r = Run::new("nocfg");
    std::fs::remove_file(&r.conf).unwrap();
    let out = Command::new(common::our_bin())
        .arg("-n")
        .args(r.args())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!r.pid.exists());
}
