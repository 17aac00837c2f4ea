//! The loop in virtual mode: timers, events, I/O, signal and child threads driven by a
//! `VirtualClock`, with the simulator injecting what the OS would deliver. No OS resources.

use std::cell::RefCell;
use std::rc::Rc;

use scheduler::{
    ChildStatus, Clock, Ctx, Duration, Fired, Instant, LoopConfig, Ready, VirtualClock, VirtualLoop,
};

type Log = Vec<(Instant, &'static str, Fired)>;

fn vloop(start: u64) -> VirtualLoop<Log> {
    VirtualLoop::new(VirtualClock::new(Instant::from_micros(start)))
}

fn rec(name: &'static str) -> impl FnMut(&mut Ctx<Log>, &mut Log, Fired) + 'static {
    move |ctx, log, f| log.push((ctx.now(), name, f))
}

#[test]
fn timers_fire_at_their_exact_virtual_deadlines_in_order() {
    let mut l = vloop(1_000);
    let mut log = Log::new();
    l.add_timer(Duration::from_micros(500), rec("b"));
    l.add_timer_at(Instant::from_micros(1_200), rec("a"));
    l.add_timer(Duration::from_micros(500), rec("c")); // tie with b: insertion order
    l.add_timer(Duration::from_secs(3600), rec("far"));
    assert_eq!(l.next_wakeup(), Some(Instant::from_micros(1_200)));
    let n = l.run_until(Instant::from_micros(1_500), &mut log);
    assert_eq!(n, 3);
    let got: Vec<_> = log.iter().map(|(t, n, _)| (t.as_micros(), *n)).collect();
    assert_eq!(got, vec![(1_200, "a"), (1_500, "b"), (1_500, "c")]);
    assert!(log.iter().all(|(_, _, f)| *f == Fired::Timer));
    assert_eq!(l.clock().now(), Instant::from_micros(1_500));
    assert_eq!(l.thread_count(), 1);
    l.run_until(Instant::from_secs(3601), &mut log);
    assert_eq!(
        log.last().unwrap().0,
        Instant::from_micros(1_000 + 3_600_000_000)
    );
}

#[test]
fn events_run_next_turn_in_add_order() {
    let mut l = vloop(0);
    let mut log = Log::new();
    l.add_event(rec("e1"));
    l.add_event(move |ctx: &mut Ctx<Log>, log: &mut Log, f| {
        log.push((ctx.now(), "e2", f));
        // Added during a turn: runs on the next turn, after e3.
        ctx.add_event(rec("e4"));
    });
    l.add_event(rec("e3"));
    assert_eq!(l.turn(&mut log), 3);
    assert_eq!(l.turn(&mut log), 1);
    let names: Vec<_> = log.iter().map(|(_, n, _)| *n).collect();
    assert_eq!(names, ["e1", "e2", "e3", "e4"]);
    assert!(log.iter().all(|(_, _, f)| *f == Fired::Event));
}

#[test]
fn cancel_and_stale_ids() {
    let mut l = vloop(0);
    let mut log = Log::new();
    let t = l.add_timer(Duration::from_millis(1), rec("t"));
    let e = l.add_event(rec("e"));
    let r = l
        .add_read(7, Some(Duration::from_millis(1)), rec("r"))
        .unwrap();
    assert!(l.cancel(t) && l.cancel(e) && l.cancel(r));
    assert!(!l.cancel(t) && !l.cancel(e) && !l.cancel(r));
    l.run_until(Instant::from_secs(1), &mut log);
    assert!(log.is_empty());
    assert_eq!(l.inject_io(7, true, true, &mut log), 0);
    // A fired id is stale too, even after its slot is reused.
    let a = l.add_timer(Duration::ZERO, rec("a"));
    l.turn(&mut log);
    let b = l.add_timer(Duration::from_millis(5), rec("b"));
    assert!(!l.cancel(a));
    assert!(l.is_pending(b));
}

#[test]
fn reschedule_moves_a_timer_keeping_its_id() {
    let mut l = vloop(0);
    let mut log = Log::new();
    let t = l.add_timer(Duration::from_millis(10), rec("t"));
    assert!(l.reschedule(t, Instant::from_millis(3)));
    assert_eq!(l.deadline(t), Some(Instant::from_millis(3)));
    l.run_until(Instant::from_millis(20), &mut log);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, Instant::from_millis(3));
    assert!(!l.reschedule(t, Instant::from_millis(30)));
    let e = l.add_event(rec("e"));
    assert!(
        !l.reschedule(e, Instant::from_millis(30)),
        "events have no timer"
    );
}

#[test]
fn io_threads_are_one_shot_with_timeout() {
    let mut l = vloop(0);
    let mut log = Log::new();
    l.add_read(3, Some(Duration::from_millis(2)), rec("r3"))
        .unwrap();
    l.add_write(3, None, rec("w3")).unwrap();
    assert!(
        l.add_read(3, None, rec("dup")).is_err(),
        "one read thread per fd"
    );
    l.add_read(4, Some(Duration::from_millis(2)), rec("r4"))
        .unwrap();
    assert_eq!(l.inject_io(3, true, true, &mut log), 2);
    assert_eq!(l.inject_io(3, true, true, &mut log), 0, "one-shot");
    l.run_until(Instant::from_millis(5), &mut log);
    let got: Vec<_> = log
        .iter()
        .map(|(t, n, f)| (t.as_micros(), *n, *f))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, "r3", Fired::Io(Ready::Readable)),
            (0, "w3", Fired::Io(Ready::Writable)),
            (2_000, "r4", Fired::Io(Ready::TimedOut)),
        ]
    );
    assert_eq!(
        l.inject_io(4, true, false, &mut log),
        0,
        "timed out thread is gone"
    );
    assert_eq!(l.thread_count(), 0);
}

#[test]
fn read_callback_can_re_add_itself() {
    fn reader(ctx: &mut Ctx<u32>, n: &mut u32, f: Fired) {
        assert_eq!(f, Fired::Io(Ready::Readable));
        *n += 1;
        ctx.add_read(9, None, reader).unwrap();
    }
    let mut l: VirtualLoop<u32> = VirtualLoop::new(VirtualClock::default());
    let mut n = 0;
    l.add_read(9, None, reader).unwrap();
    for _ in 0..5 {
        assert_eq!(l.inject_io(9, true, false, &mut n), 1);
    }
    assert_eq!(n, 5);
}

#[test]
fn signals_are_persistent_and_replaceable() {
    let mut l = vloop(0);
    let mut log = Log::new();
    let s = l.add_signal(libc::SIGHUP, rec("hup")).unwrap();
    assert_eq!(l.inject_signal(libc::SIGHUP, &mut log), 1);
    assert_eq!(l.inject_signal(libc::SIGHUP, &mut log), 1);
    assert_eq!(l.inject_signal(libc::SIGUSR1, &mut log), 0);
    let s2 = l.add_signal(libc::SIGHUP, rec("hup2")).unwrap();
    assert!(!l.is_pending(s), "replaced");
    l.inject_signal(libc::SIGHUP, &mut log);
    assert!(l.cancel(s2));
    assert_eq!(l.inject_signal(libc::SIGHUP, &mut log), 0);
    let names: Vec<_> = log.iter().map(|(_, n, _)| *n).collect();
    assert_eq!(names, ["hup", "hup", "hup2"]);
    assert!(l.add_signal(libc::SIGKILL, rec("x")).is_err());
    assert!(l.add_signal(10_000, rec("x")).is_err());
    // A signal callback can cancel itself.
    let mut l2: VirtualLoop<u32> = VirtualLoop::new(VirtualClock::default());
    let id = Rc::new(RefCell::new(None));
    let id2 = id.clone();
    let sid = l2
        .add_signal(libc::SIGUSR2, move |ctx: &mut Ctx<u32>, n: &mut u32, _| {
            *n += 1;
            assert!(ctx.cancel(id2.borrow().unwrap()));
        })
        .unwrap();
    *id.borrow_mut() = Some(sid);
    let mut n = 0;
    l2.inject_signal(libc::SIGUSR2, &mut n);
    l2.inject_signal(libc::SIGUSR2, &mut n);
    assert_eq!(n, 1);
}

#[test]
fn children_exit_or_time_out() {
    let mut l = vloop(0);
    let mut log = Log::new();
    l.add_child(100, Some(Duration::from_millis(10)), rec("c100"))
        .unwrap();
    l.add_child(200, Some(Duration::from_millis(10)), rec("c200"))
        .unwrap();
    assert!(l.add_child(100, None, rec("dup")).is_err());
    assert!(l.inject_child_exit(100, ChildStatus::Exited(3)));
    assert!(!l.inject_child_exit(999, ChildStatus::Exited(0)));
    l.run_until(Instant::from_millis(20), &mut log);
    let got: Vec<_> = log
        .iter()
        .map(|(t, n, f)| (t.as_micros(), *n, *f))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                "c100",
                Fired::Child {
                    pid: 100,
                    status: ChildStatus::Exited(3)
                }
            ),
            (
                10_000,
                "c200",
                Fired::Child {
                    pid: 200,
                    status: ChildStatus::TimedOut
                }
            ),
        ]
    );
    let mut cmd = std::process::Command::new("/bin/true");
    assert!(
        l.spawn_child(&mut cmd, None, rec("x")).is_err(),
        "no processes in virtual mode"
    );
}

#[test]
fn turns_are_bounded_to_k_timers() {
    let cfg = LoopConfig {
        max_timers_per_turn: 10,
        ..LoopConfig::virtual_default()
    };
    let mut l: VirtualLoop<u32> = VirtualLoop::with_config(VirtualClock::default(), cfg);
    for _ in 0..25 {
        l.add_timer(
            Duration::from_micros(5),
            |_: &mut Ctx<u32>, n: &mut u32, _| *n += 1,
        );
    }
    let mut n = 0;
    l.clock().set(Instant::from_micros(5));
    assert_eq!(l.turn(&mut n), 10);
    assert_eq!(l.turn(&mut n), 10);
    assert_eq!(l.next_wakeup(), Some(Instant::from_micros(5)));
    assert_eq!(l.turn(&mut n), 5);
    assert_eq!(n, 25);
    assert_eq!(l.next_wakeup(), None);
}

#[test]
fn step_jumps_from_deadline_to_deadline() {
    let mut l = vloop(0);
    let mut log = Log::new();
    l.add_timer(Duration::from_millis(1), rec("a"));
    l.add_timer(Duration::from_millis(3), rec("b"));
    assert_eq!(
        l.step(Instant::from_millis(10), &mut log),
        Some(Instant::from_millis(1))
    );
    assert_eq!(l.step(Instant::from_millis(2), &mut log), None);
    assert_eq!(l.clock().now(), Instant::from_millis(2));
    assert_eq!(
        l.step(Instant::from_millis(10), &mut log),
        Some(Instant::from_millis(3))
    );
    assert_eq!(l.step(Instant::from_millis(10), &mut log), None);
    assert_eq!(log.len(), 2);
}

#[test]
fn stop_is_visible() {
    let mut l = vloop(0);
    let mut log = Log::new();
    l.add_event(|ctx: &mut Ctx<Log>, _: &mut Log, _| ctx.stop());
    assert!(!l.is_stopped());
    l.turn(&mut log);
    assert!(l.is_stopped());
}

/// Seeded random workload on the virtual loop (1 µs tick), with timers added, cancelled and
/// rescheduled from inside callbacks: every timer runs exactly once unless cancelled, at a
/// virtual `now` equal to its deadline (or the add time, if that deadline was already past),
/// and timers run in (deadline, add order) order, which is what the simulator relies on.
#[test]
fn random_workload_runs_at_exact_virtual_deadlines_in_order() {
    struct St {
        rng: u64,
        seq: u64,
        /// (deadline, seq, ran at, added at)
        ran: Vec<(u64, u64, u64, u64)>,
        cancelled: std::collections::BTreeSet<u64>,
        live: Vec<(scheduler::ThreadId, u64)>,
        budget: u32,
    }
    fn rnd(s: &mut St) -> u64 {
        s.rng ^= s.rng << 13;
        s.rng ^= s.rng >> 7;
        s.rng ^= s.rng << 17;
        s.rng
    }
    fn add(ctx: &mut Ctx<St>, s: &mut St) {
        let now = ctx.now().as_micros();
        let d = match rnd(s) % 4 {
            0 => now.saturating_sub(rnd(s) % 50),
            1 => now + rnd(s) % 10,
            2 => now + rnd(s) % 5_000,
            _ => now + rnd(s) % 3_000_000,
        };
        let seq = s.seq;
        s.seq += 1;
        let id = ctx.add_timer_at(Instant::from_micros(d), move |ctx, s: &mut St, f| {
            assert_eq!(f, Fired::Timer);
            s.ran.push((d, seq, ctx.now().as_micros(), now));
            while s.budget > 0 && rnd(s) % 3 != 0 {
                s.budget -= 1;
                match rnd(s) % 5 {
                    0 if !s.live.is_empty() => {
                        let i = (rnd(s) % s.live.len() as u64) as usize;
                        let (id, q) = s.live.swap_remove(i);
                        if ctx.cancel(id) {
                            s.cancelled.insert(q);
                        }
                    }
                    _ => add(ctx, s),
                }
            }
        });
        s.live.push((id, seq));
    }
    for seed in 1..=20u64 {
        let mut l: VirtualLoop<St> =
            VirtualLoop::new(VirtualClock::new(Instant::from_micros(seed * 1_000_003)));
        let mut s = St {
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            seq: 0,
            ran: Vec::new(),
            cancelled: Default::default(),
            live: Vec::new(),
            budget: 3_000,
        };
        for _ in 0..100 {
            add(&mut l, &mut s);
        }
        l.run_until(Instant::from_secs(100_000), &mut s);
        assert_eq!(l.thread_count(), 0, "seed {seed}: threads left");
        assert!(
            s.ran.len() > 1_000,
            "seed {seed}: only {} timers ran",
            s.ran.len()
        );
        assert_eq!(
            s.ran.len() + s.cancelled.len(),
            s.seq as usize,
            "seed {seed}: lost timers"
        );
        for w in s.ran.windows(2) {
            let (a, b) = (w[0], w[1]);
            assert!(b.2 >= a.2, "seed {seed}: virtual time went backwards");
            // Among timers not already due when added, order is (deadline, add order).
            if a.0 >= a.3 && b.0 >= b.3 {
                assert!(
                    (a.0, a.1) < (b.0, b.1),
                    "seed {seed}: order {a:?} then {b:?}"
                );
            }
        }
        for &(d, q, at, added) in &s.ran {
            assert!(
                !s.cancelled.contains(&q),
                "seed {seed}: cancelled timer ran"
            );
            // Exactly at its deadline, or at once if that had already passed.
            assert_eq!(
                at,
                d.max(added),
                "seed {seed}: timer {q} ran at the wrong time"
            );
        }
    }
}
