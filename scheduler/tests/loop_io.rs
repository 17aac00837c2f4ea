//! The real loop (mio, timerfd) with real fds: read and write threads, timeouts, cancel, events,
//! re-arming of partially drained sockets, stop, and a loose timer-precision check (precise
//! figures belong to `sched-bench`). No signals or children here (see `os_signals.rs`), so these
//! tests may run on parallel threads. None needs root.

use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::rc::Rc;

use scheduler::{
    Clock, Ctx, Duration, Fired, Instant, Loop, LoopConfig, MonotonicClock, Ready,
    DEFAULT_MAX_TIMERS_PER_TURN,
};

fn pair() -> (UnixDatagram, UnixDatagram) {
    let (a, b) = UnixDatagram::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Turns the loop until `done` or `limit` passes; returns the callbacks run.
fn turn_until<S>(l: &mut Loop<S>, s: &mut S, limit: Duration, done: impl Fn(&S) -> bool) -> usize {
    let end = MonotonicClock.now() + limit;
    let mut n = 0;
    while !done(s) && MonotonicClock.now() < end {
        n += l.turn(s, Some(Duration::from_millis(20))).unwrap();
    }
    n
}

#[test]
fn read_thread_fires_on_data() {
    let (a, b) = pair();
    let a = Rc::new(a);
    let mut l: Loop<Vec<(Fired, Vec<u8>)>> = Loop::new().unwrap();
    let sock = a.clone();
    l.add_read(
        a.as_raw_fd(),
        Some(Duration::from_secs(5)),
        move |_, got: &mut Vec<_>, f| {
            let mut buf = [0u8; 64];
            let n = sock.recv(&mut buf).unwrap();
            got.push((f, buf[..n].to_vec()));
        },
    )
    .unwrap();
    let mut got = Vec::new();
    assert_eq!(
        l.turn(&mut got, Some(Duration::from_millis(30))).unwrap(),
        0
    );
    b.send(b"hello").unwrap();
    turn_until(&mut l, &mut got, Duration::from_secs(2), |g| !g.is_empty());
    assert_eq!(got, vec![(Fired::Io(Ready::Readable), b"hello".to_vec())]);
    assert_eq!(l.thread_count(), 0, "one-shot; its timeout went with it");
    assert_eq!(l.next_wakeup(), None);
}

#[test]
fn read_timeout_fires_once_timed_out() {
    let (a, b) = pair();
    let mut l: Loop<Vec<(Fired, Instant)>> = Loop::new().unwrap();
    let start = MonotonicClock.now();
    l.add_read(
        a.as_raw_fd(),
        Some(Duration::from_millis(50)),
        |ctx, got: &mut Vec<_>, f| got.push((f, ctx.now())),
    )
    .unwrap();
    let mut got = Vec::new();
    turn_until(&mut l, &mut got, Duration::from_secs(2), |g| !g.is_empty());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, Fired::Io(Ready::TimedOut));
    let waited = got[0].1.duration_since(start);
    assert!(
        waited >= Duration::from_millis(50),
        "timed out early: {waited:?}"
    );
    assert!(
        waited < Duration::from_millis(500),
        "timed out late: {waited:?}"
    );
    // Data arriving afterwards reaches nobody.
    b.send(b"late").unwrap();
    l.turn(&mut got, Some(Duration::from_millis(30))).unwrap();
    assert_eq!(got.len(), 1);
}

#[test]
fn write_thread_fires_when_writable_and_shares_the_fd_with_a_read_thread() {
    let (a, b) = pair();
    let mut l: Loop<Vec<Fired>> = Loop::new().unwrap();
    let fd = a.as_raw_fd();
    l.add_read(fd, None, |_, got: &mut Vec<Fired>, f| got.push(f))
        .unwrap();
    l.add_write(
        fd,
        Some(Duration::from_secs(5)),
        |_, got: &mut Vec<Fired>, f| got.push(f),
    )
    .unwrap();
    assert!(
        l.add_write(fd, None, |_, _: &mut Vec<Fired>, _| {})
            .is_err(),
        "one per fd"
    );
    let mut got = Vec::new();
    turn_until(&mut l, &mut got, Duration::from_secs(2), |g| !g.is_empty());
    assert_eq!(got, vec![Fired::Io(Ready::Writable)]);
    // The read thread is still registered and still works after the write interest went away.
    b.send(b"x").unwrap();
    turn_until(&mut l, &mut got, Duration::from_secs(2), |g| g.len() == 2);
    assert_eq!(
        got,
        vec![Fired::Io(Ready::Writable), Fired::Io(Ready::Readable)]
    );
}

#[test]
fn cancelled_threads_never_run() {
    let (a, b) = pair();
    let mut l: Loop<u32> = Loop::new().unwrap();
    let r = l
        .add_read(a.as_raw_fd(), None, |_, n: &mut u32, _| *n += 1)
        .unwrap();
    let t = l.add_timer(Duration::from_millis(10), |_, n: &mut u32, _| *n += 100);
    let e = l.add_event(|_, n: &mut u32, _| *n += 1000);
    assert!(l.cancel(r) && l.cancel(t) && l.cancel(e));
    assert!(!l.cancel(r));
    b.send(b"x").unwrap();
    let mut n = 0;
    let end = MonotonicClock.now() + Duration::from_millis(60);
    while MonotonicClock.now() < end {
        l.turn(&mut n, Some(Duration::from_millis(10))).unwrap();
    }
    assert_eq!(n, 0);
    // The fd can get a new read thread afterwards, and the queued datagram is seen.
    l.add_read(a.as_raw_fd(), None, |_, n: &mut u32, _| *n += 1)
        .unwrap();
    turn_until(&mut l, &mut n, Duration::from_secs(2), |n| *n == 1);
    assert_eq!(n, 1);
}

#[test]
fn events_run_in_order_on_the_next_turn_without_blocking() {
    let mut l: Loop<Vec<u32>> = Loop::new().unwrap();
    for i in 0..3 {
        l.add_event(move |ctx: &mut Ctx<Vec<u32>>, v: &mut Vec<u32>, f| {
            assert_eq!(f, Fired::Event);
            v.push(i);
            if i == 1 {
                ctx.add_event(|_, v: &mut Vec<u32>, _| v.push(99));
            }
        });
    }
    let mut v = Vec::new();
    let t0 = MonotonicClock.now();
    // A long max_wait must not block: events are due.
    assert_eq!(l.turn(&mut v, Some(Duration::from_secs(5))).unwrap(), 3);
    assert_eq!(v, [0, 1, 2]);
    assert_eq!(l.turn(&mut v, Some(Duration::from_secs(5))).unwrap(), 1);
    assert_eq!(v, [0, 1, 2, 99]);
    assert!(MonotonicClock.now().duration_since(t0) < Duration::from_secs(1));
}

/// A callback that reads one datagram per call (a budget of 1) and re-adds itself: the loop
/// must re-arm the edge-triggered registration so the rest is reported on later turns.
#[test]
fn partially_drained_socket_is_reported_again() {
    fn reader(sock: Rc<UnixDatagram>) -> impl FnMut(&mut Ctx<Vec<u8>>, &mut Vec<u8>, Fired) {
        move |ctx, got, f| {
            assert_eq!(f, Fired::Io(Ready::Readable));
            let mut buf = [0u8; 8];
            let n = sock.recv(&mut buf).unwrap();
            got.push(buf[n - 1]);
            ctx.add_read(sock.as_raw_fd(), None, reader(sock.clone()))
                .unwrap();
        }
    }
    let (a, b) = pair();
    let a = Rc::new(a);
    let mut l: Loop<Vec<u8>> = Loop::new().unwrap();
    l.add_read(a.as_raw_fd(), None, reader(a.clone())).unwrap();
    for i in 1..=3u8 {
        b.send(&[i]).unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        let t0 = MonotonicClock.now();
        assert_eq!(l.turn(&mut got, Some(Duration::from_secs(2))).unwrap(), 1);
        assert!(
            MonotonicClock.now().duration_since(t0) < Duration::from_secs(1),
            "not re-armed"
        );
    }
    assert_eq!(got, [1, 2, 3]);
}

#[test]
fn run_returns_after_stop() {
    let mut l: Loop<u32> = Loop::new().unwrap();
    fn tick(ctx: &mut Ctx<u32>, n: &mut u32, _: Fired) {
        *n += 1;
        if *n == 5 {
            ctx.stop();
        } else {
            ctx.add_timer(Duration::from_millis(1), tick);
        }
    }
    l.add_timer(Duration::from_millis(1), tick);
    let mut n = 0;
    l.run(&mut n).unwrap();
    assert_eq!(n, 5);
    assert!(l.is_stopped());
}

#[test]
fn regular_files_are_refused() {
    let f = std::fs::File::open("/proc/self/status")
        .unwrap_or_else(|_| std::fs::File::open(std::env::current_exe().unwrap()).unwrap());
    let mut l: Loop<()> = Loop::new().unwrap();
    assert!(l
        .add_read(f.as_raw_fd(), None, |_, _: &mut (), _| {})
        .is_err());
    assert_eq!(l.thread_count(), 0);
    // The fd slot is clean: a later attempt reports the same error rather than "busy".
    let e = l
        .add_read(f.as_raw_fd(), None, |_, _: &mut (), _| {})
        .unwrap_err();
    assert_ne!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(l.add_read(-1, None, |_, _: &mut (), _| {}).is_err());
}

#[test]
fn a_turn_fires_at_most_k_timers() {
    let mut l: Loop<u32> = Loop::new().unwrap();
    let k = DEFAULT_MAX_TIMERS_PER_TURN;
    // Deadlines already past, so every timer is due at the first turn (a zero delay from a
    // fresh clock read rounds up to the next 16 µs tick boundary, which may not have come yet).
    let past = MonotonicClock.now() - Duration::from_millis(1);
    for _ in 0..(2 * k + 10) {
        l.add_timer_at(past, |_, n: &mut u32, _| *n += 1);
    }
    let mut n = 0;
    assert_eq!(l.turn(&mut n, Some(Duration::ZERO)).unwrap(), k);
    assert_eq!(l.turn(&mut n, Some(Duration::ZERO)).unwrap(), k);
    assert_eq!(l.turn(&mut n, Some(Duration::ZERO)).unwrap(), 10);
    let cfg = LoopConfig {
        max_timers_per_turn: 3,
        ..LoopConfig::default()
    };
    let mut l: Loop<u32> = Loop::with_config(cfg).unwrap();
    for _ in 0..5 {
        l.add_timer_at(past, |_, n: &mut u32, _| *n += 1);
    }
    assert_eq!(l.turn(&mut n, Some(Duration::ZERO)).unwrap(), 3);
}

/// Loose: on an idle loop a 5 ms timer fires within about a millisecond of its deadline (the
/// median of several tries, so a busy CI machine does not make it flaky), and never early.
#[test]
fn timer_precision_is_sub_millisecond() {
    precision(Loop::new().unwrap());
}

/// The same through the fallback for kernels without `epoll_pwait2`: a timerfd.
#[test]
fn timer_precision_is_sub_millisecond_with_a_timerfd() {
    let mut l = Loop::new().unwrap();
    l.use_timerfd();
    precision(l);
}

fn precision(mut l: Loop<Vec<i64>>) {
    let mut lateness = Vec::new();
    for _ in 0..9 {
        let deadline = MonotonicClock.now() + Duration::from_millis(5);
        let seen = Rc::new(RefCell::new(false));
        let seen2 = seen.clone();
        l.add_timer_at(deadline, move |ctx, v: &mut Vec<i64>, _| {
            // Read the clock ourselves: the strictest measure.
            let now = MonotonicClock.now();
            assert!(ctx.now() >= deadline && now >= deadline, "fired early");
            v.push((now.as_micros() - deadline.as_micros()) as i64);
            *seen2.borrow_mut() = true;
        });
        while !*seen.borrow() {
            l.turn(&mut lateness, Some(Duration::from_secs(1))).unwrap();
        }
    }
    lateness.sort();
    let median = lateness[lateness.len() / 2];
    assert!(
        median <= 1_000,
        "median lateness {median} µs (all: {lateness:?})"
    );
}
