//! Signals (signalfd) and children (spawn, reap, timeout, kill) on the real loop.
//!
//! Signal masks and SIGCHLD are process-wide matters, and libtest runs tests on spawned threads
//! while its main thread waits unblocked: a process-directed signal (SIGCHLD, a `kill` from
//! another process) could be delivered to that thread and be lost. So this binary has
//! `harness = false` and this `main` runs the tests one after the other on the main thread, the
//! only thread, as the daemon itself runs. It prints libtest's summary line. Arguments that do
//! not start with `-` filter tests by substring. None needs root.

use std::cell::Cell;
use std::panic;
use std::path::Path;
use std::process::Command;
use std::rc::Rc;

use scheduler::{
    signals, ChildStatus, Clock, Ctx, Duration, Fired, Loop, LoopConfig, MonotonicClock,
};

type Log = Vec<Fired>;

fn rec(ctx: &mut Ctx<Log>, log: &mut Log, f: Fired) {
    let _ = ctx;
    log.push(f);
}

fn turn_until<S>(l: &mut Loop<S>, s: &mut S, limit: Duration, done: impl Fn(&S) -> bool) {
    let end = MonotonicClock.now() + limit;
    while !done(s) && MonotonicClock.now() < end {
        l.turn(s, Some(Duration::from_millis(20))).unwrap();
    }
}

fn raise(signo: i32) {
    // A thread-directed signal to ourselves; any signal number, real-time included.
    #[allow(unsafe_code)]
    // SAFETY: raise has no memory-safety preconditions.
    let rc = unsafe { libc::raise(signo) };
    assert_eq!(rc, 0);
}

fn is_blocked(signo: i32) -> bool {
    #[allow(unsafe_code)]
    // SAFETY: a null new set only queries the mask into a valid, initialised sigset_t.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut set);
        libc::sigismember(&set, signo) == 1
    }
}

/// Is `pid` gone (reaped)? A zombie still has a /proc entry.
fn gone(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

fn sigusr1_raised_to_self_runs_the_signal_thread() {
    let mut l: Loop<Log> = Loop::new().unwrap();
    l.add_signal(signals::SIGUSR1, rec).unwrap();
    assert!(is_blocked(libc::SIGUSR1));
    raise(libc::SIGUSR1);
    let mut log = Log::new();
    turn_until(&mut l, &mut log, Duration::from_secs(2), |g| !g.is_empty());
    assert_eq!(log, vec![Fired::Signal(libc::SIGUSR1)]);
    // Persistent: a second signal runs it again.
    raise(libc::SIGUSR1);
    turn_until(&mut l, &mut log, Duration::from_secs(2), |g| g.len() == 2);
    assert_eq!(log.len(), 2);
    drop(l);
    assert!(
        !is_blocked(libc::SIGUSR1),
        "dropping the loop restores the mask"
    );
}

fn signal_from_another_process_is_delivered() {
    let mut l: Loop<Log> = Loop::new().unwrap();
    l.add_signal(signals::SIGUSR2, rec).unwrap();
    let pid = std::process::id().to_string();
    // The shell's builtin kill: a process-directed signal from another process.
    let st = Command::new("sh")
        .args(["-c", &format!("kill -USR2 {pid}")])
        .status()
        .unwrap();
    assert!(st.success());
    let mut log = Log::new();
    turn_until(&mut l, &mut log, Duration::from_secs(2), |g| !g.is_empty());
    assert_eq!(log, vec![Fired::Signal(libc::SIGUSR2)]);
}

fn daemon_signal_set_including_realtime_ones() {
    let mut l: Loop<Log> = Loop::new().unwrap();
    for signo in signals::daemon_set() {
        l.add_signal(signo, rec).unwrap();
    }
    assert_eq!(signals::sigjson(), libc::SIGRTMIN() + 2);
    assert_eq!(signals::sigstats_clear(), libc::SIGRTMAX() - 1);
    let mut log = Log::new();
    for signo in [
        signals::sigjson(),
        signals::SIGHUP,
        signals::sigstats_clear(),
        libc::SIGTERM,
    ] {
        raise(signo);
        turn_until(&mut l, &mut log, Duration::from_secs(2), |g| {
            g.last() == Some(&Fired::Signal(signo))
        });
        assert_eq!(log.last(), Some(&Fired::Signal(signo)));
    }
    assert_eq!(log.len(), 4);
}

fn cancelled_signal_is_discarded_and_unblocked() {
    let mut l: Loop<Log> = Loop::new().unwrap();
    let id = l.add_signal(libc::SIGUSR1, rec).unwrap();
    raise(libc::SIGUSR1); // pending, not yet read
    assert!(l.cancel(id));
    // Were it still pending, unblocking would have run SIGUSR1's default action: death.
    assert!(!is_blocked(libc::SIGUSR1));
    let mut log = Log::new();
    l.turn(&mut log, Some(Duration::from_millis(20))).unwrap();
    assert!(log.is_empty());
    // Replacing keeps the signal blocked and delivers to the new thread.
    l.add_signal(libc::SIGUSR1, |_, log: &mut Log, _| log.push(Fired::Event))
        .unwrap();
    l.add_signal(libc::SIGUSR1, rec).unwrap();
    raise(libc::SIGUSR1);
    turn_until(&mut l, &mut log, Duration::from_secs(2), |g| !g.is_empty());
    assert_eq!(log, vec![Fired::Signal(libc::SIGUSR1)]);
}

fn child_bin_true_exits_zero() {
    let mut l: Loop<Log> = Loop::new().unwrap();
    let (_, pid) = l
        .spawn_child(
            &mut Command::new("/bin/true"),
            Some(Duration::from_secs(5)),
            rec,
        )
        .unwrap();
    let mut log = Log::new();
    turn_until(&mut l, &mut log, Duration::from_secs(5), |g| !g.is_empty());
    assert_eq!(
        log,
        vec![Fired::Child {
            pid,
            status: ChildStatus::Exited(0)
        }]
    );
    assert!(gone(pid));
    assert_eq!(l.thread_count(), 0);
}

fn child_exit_code_three() {
    let mut l: Loop<Log> = Loop::new().unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exit 3"]);
    let (_, pid) = l.spawn_child(&mut cmd, None, rec).unwrap();
    let mut log = Log::new();
    turn_until(&mut l, &mut log, Duration::from_secs(5), |g| !g.is_empty());
    assert_eq!(
        log,
        vec![Fired::Child {
            pid,
            status: ChildStatus::Exited(3)
        }]
    );
}

fn child_killed_by_a_signal() {
    let mut l: Loop<Log> = Loop::new().unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "kill -KILL $$"]);
    let (_, pid) = l.spawn_child(&mut cmd, None, rec).unwrap();
    let mut log = Log::new();
    turn_until(&mut l, &mut log, Duration::from_secs(5), |g| !g.is_empty());
    assert_eq!(
        log,
        vec![Fired::Child {
            pid,
            status: ChildStatus::Signaled(libc::SIGKILL)
        }]
    );
}

fn hanging_child_times_out_is_killed_and_reaped() {
    let mut l: Loop<Log> = Loop::new().unwrap();
    let t0 = MonotonicClock.now();
    let mut cmd = Command::new("sleep");
    cmd.arg("30");
    let (_, pid) = l
        .spawn_child(&mut cmd, Some(Duration::from_millis(200)), rec)
        .unwrap();
    let mut log = Log::new();
    turn_until(&mut l, &mut log, Duration::from_secs(5), |g| !g.is_empty());
    let waited = MonotonicClock.now().duration_since(t0);
    assert_eq!(
        log,
        vec![Fired::Child {
            pid,
            status: ChildStatus::TimedOut
        }]
    );
    assert!(
        waited >= Duration::from_millis(200),
        "timed out early: {waited:?}"
    );
    assert!(
        waited < Duration::from_millis(1500),
        "timed out late: {waited:?}"
    );
    // The loop reaps it (SIGTERM suffices for sleep): no zombie remains.
    let end = MonotonicClock.now() + Duration::from_secs(3);
    while !gone(pid) && MonotonicClock.now() < end {
        l.turn(&mut log, Some(Duration::from_millis(20))).unwrap();
    }
    assert!(gone(pid), "child {pid} left behind");
    assert_eq!(log.len(), 1, "the callback runs once");
}

fn child_ignoring_sigterm_gets_sigkill_after_the_grace() {
    let cfg = LoopConfig {
        child_kill_grace: Duration::from_millis(300),
        ..LoopConfig::default()
    };
    let mut l: Loop<Log> = Loop::with_config(cfg).unwrap();
    let mut cmd = Command::new("sh");
    // `exec` so the pid is the sleeping process; the ignored SIGTERM is inherited across exec.
    cmd.args(["-c", "trap '' TERM; exec sleep 30"]);
    let t0 = MonotonicClock.now();
    let (_, pid) = l
        .spawn_child(&mut cmd, Some(Duration::from_millis(100)), rec)
        .unwrap();
    let mut log = Log::new();
    let end = MonotonicClock.now() + Duration::from_secs(5);
    while !gone(pid) && MonotonicClock.now() < end {
        l.turn(&mut log, Some(Duration::from_millis(20))).unwrap();
    }
    let waited = MonotonicClock.now().duration_since(t0);
    assert!(gone(pid), "child {pid} survived");
    assert!(
        waited >= Duration::from_millis(400),
        "killed before the grace: {waited:?}"
    );
    assert_eq!(
        log,
        vec![Fired::Child {
            pid,
            status: ChildStatus::TimedOut
        }]
    );
}

fn add_child_for_a_pid_spawned_elsewhere() {
    let mut l: Loop<Log> = Loop::new().unwrap();
    let child = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
    let pid = child.id() as i32;
    // Let it exit before we register: the loop must still find it.
    std::thread::sleep(Duration::from_millis(50));
    l.add_child(pid, Some(Duration::from_secs(5)), rec).unwrap();
    let mut log = Log::new();
    turn_until(&mut l, &mut log, Duration::from_secs(5), |g| !g.is_empty());
    assert_eq!(
        log,
        vec![Fired::Child {
            pid,
            status: ChildStatus::Exited(7)
        }]
    );
    drop(child);
}

fn sigchld_alone_reaps_without_the_safety_net() {
    let cfg = LoopConfig {
        child_poll_interval: None,
        ..LoopConfig::default()
    };
    let mut l: Loop<Log> = Loop::with_config(cfg).unwrap();
    // A user SIGCHLD thread coexists with the loop's own reaping.
    l.add_signal(signals::SIGCHLD, rec).unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "sleep 0.1; exit 4"]);
    let (_, pid) = l.spawn_child(&mut cmd, None, rec).unwrap();
    let mut log = Log::new();
    let want = Fired::Child {
        pid,
        status: ChildStatus::Exited(4),
    };
    turn_until(&mut l, &mut log, Duration::from_secs(5), |g| {
        g.contains(&want)
    });
    assert!(log.contains(&want), "{log:?}");
    assert!(log.contains(&Fired::Signal(libc::SIGCHLD)), "{log:?}");
}

fn cancelled_child_thread_is_still_reaped() {
    let mut l: Loop<Log> = Loop::new().unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "sleep 0.05"]);
    let (id, pid) = l.spawn_child(&mut cmd, None, rec).unwrap();
    assert!(l.cancel(id));
    let mut log = Log::new();
    let end = MonotonicClock.now() + Duration::from_secs(3);
    while !gone(pid) && MonotonicClock.now() < end {
        l.turn(&mut log, Some(Duration::from_millis(20))).unwrap();
    }
    assert!(gone(pid));
    assert!(log.is_empty());
}

fn many_children_at_once() {
    let mut l: Loop<Log> = Loop::new().unwrap();
    let done = Rc::new(Cell::new(0));
    let mut pids = Vec::new();
    for i in 0..20 {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &format!("exit {i}")]);
        let d = done.clone();
        let (_, pid) = l
            .spawn_child(
                &mut cmd,
                Some(Duration::from_secs(5)),
                move |_, _: &mut Log, f| {
                    if let Fired::Child {
                        status: ChildStatus::Exited(_),
                        ..
                    } = f
                    {
                        d.set(d.get() + 1);
                    }
                },
            )
            .unwrap();
        pids.push(pid);
    }
    let mut log = Log::new();
    let end = MonotonicClock.now() + Duration::from_secs(5);
    while done.get() < 20 && MonotonicClock.now() < end {
        l.turn(&mut log, Some(Duration::from_millis(20))).unwrap();
    }
    assert_eq!(done.get(), 20);
    assert!(pids.iter().all(|&p| gone(p)));
}

fn main() {
    let tests: &[(&str, fn())] = &[
        (
            "sigusr1_raised_to_self_runs_the_signal_thread",
            sigusr1_raised_to_self_runs_the_signal_thread,
        ),
        (
            "signal_from_another_process_is_delivered",
            signal_from_another_process_is_delivered,
        ),
        (
            "daemon_signal_set_including_realtime_ones",
            daemon_signal_set_including_realtime_ones,
        ),
        (
            "cancelled_signal_is_discarded_and_unblocked",
            cancelled_signal_is_discarded_and_unblocked,
        ),
        ("child_bin_true_exits_zero", child_bin_true_exits_zero),
        ("child_exit_code_three", child_exit_code_three),
        ("child_killed_by_a_signal", child_killed_by_a_signal),
        (
            "hanging_child_times_out_is_killed_and_reaped",
            hanging_child_times_out_is_killed_and_reaped,
        ),
        (
            "child_ignoring_sigterm_gets_sigkill_after_the_grace",
            child_ignoring_sigterm_gets_sigkill_after_the_grace,
        ),
        (
            "add_child_for_a_pid_spawned_elsewhere",
            add_child_for_a_pid_spawned_elsewhere,
        ),
        (
            "sigchld_alone_reaps_without_the_safety_net",
            sigchld_alone_reaps_without_the_safety_net,
        ),
        (
            "cancelled_child_thread_is_still_reaped",
            cancelled_child_thread_is_still_reaped,
        ),
        ("many_children_at_once", many_children_at_once),
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The libtest protocol that cargo-nextest speaks: `--list [--ignored]` enumerates (none
    // of these tests is ignored), and a run names one test with `--exact`.
    let ignored_only = args.iter().any(|a| a == "--ignored");
    if args.iter().any(|a| a == "--list") {
        if !ignored_only {
            for (name, _) in tests {
                println!("{name}: test");
            }
        }
        return;
    }
    if ignored_only {
        println!("\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored\n");
        return;
    }
    let exact = args.iter().any(|a| a == "--exact");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let matches = |n: &str, f: &str| if exact { n == f } else { n.contains(f) };
    let selected: Vec<_> = tests
        .iter()
        .filter(|(n, _)| filters.is_empty() || filters.iter().any(|f| matches(n, f)))
        .collect();
    let t0 = MonotonicClock.now();
    println!("\nrunning {} tests", selected.len());
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, f) in &selected {
        match panic::catch_unwind(f) {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    let secs = MonotonicClock.now().duration_since(t0).as_secs_f64();
    if !failed.is_empty() {
        println!("\nfailures:");
        for name in &failed {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; 0 ignored; 0 measured; {} filtered out; \
         finished in {secs:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        tests.len() - selected.len(),
    );
    if !failed.is_empty() {
        std::process::exit(101);
    }
}
