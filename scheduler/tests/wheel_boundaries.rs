//! Boundary tests for the timer wheel: deadlines exactly at, one below and one above every
//! level's span, the overflow boundary, far deadlines (days, years, `Instant::MAX`), for several
//! ticks and starting times. For each deadline we check that the timer is not yielded one
//! microsecond before its tick-rounded deadline, is yielded exactly at it, and that following
//! `next_deadline()` from wake-up to wake-up reaches it without ever sleeping past it.

use scheduler::{Duration, Instant, TimerWheel, LEVELS};

fn round_up(d: u64, tick: u64) -> Option<u64> {
    d.div_ceil(tick).checked_mul(tick)
}

/// Deadlines (in µs) around every level edge relative to `start`, for a wheel of tick `tick`.
fn edge_deadlines(start: u64, tick: u64) -> Vec<u64> {
    let mut v = Vec::new();
    let start_tick = start / tick;
    for level in 0..=LEVELS {
        // Span of the levels up to `level`, in ticks: 64^(level+1).
        let span_ticks = 1u64 << (6 * (level as u32 + 1)).min(63);
        for ticks in [span_ticks - 1, span_ticks, span_ticks + 1] {
            // Relative to the current tick, and aligned on absolute level boundaries.
            let rel = (start_tick + ticks).saturating_mul(tick);
            let aligned = ((start_tick / span_ticks + 1) * span_ticks).saturating_mul(tick);
            for base in [rel, aligned] {
                for delta in [-1i64, 0, 1] {
                    v.push(base.saturating_add_signed(delta));
                }
            }
        }
    }
    let day = 86_400_000_000u64;
    for far in [day, 7 * day, 365 * day, 3 * 365 * day, 100 * 365 * day] {
        v.push(start.saturating_add(far));
    }
    v.extend([
        start,
        start + 1,
        start.saturating_sub(1),
        u64::MAX / 2,
        u64::MAX - 1_000_000,
    ]);
    v
}

fn check_single(tick: u64, start: u64, d: u64) {
    let mut w = TimerWheel::with_tick(Duration::from_micros(tick), Instant::from_micros(start));
    let id = w.insert(Instant::from_micros(d), d);
    let due = round_up(d, tick).map(|r| r.max(start));
    match due {
        Some(due) => {
            if due > start {
                let mut w2 =
                    TimerWheel::with_tick(Duration::from_micros(tick), Instant::from_micros(start));
                w2.insert(Instant::from_micros(d), d);
                assert_eq!(
                    w2.poll_expired(Instant::from_micros(due - 1)),
                    None,
                    "tick {tick} start {start} d {d}: fired early (one jump)"
                );
            }
            // Follow the wake-ups the loop would take.
            let mut steps = 0;
            let fired = loop {
                let nd = w
                    .next_deadline()
                    .expect("pending timer has a deadline")
                    .as_micros();
                assert!(
                    nd <= due,
                    "tick {tick} start {start} d {d}: sleeps to {nd} past {due}"
                );
                if let Some(x) = w.poll_expired(Instant::from_micros(nd)) {
                    break (nd, x);
                }
                steps += 1;
                assert!(
                    steps <= LEVELS + 2,
                    "tick {tick} start {start} d {d}: too many wake-ups"
                );
            };
            if round_up(d, tick).unwrap() > start {
                assert_eq!(
                    fired.0, due,
                    "tick {tick} start {start} d {d}: fired at wrong time"
                );
            } else {
                // Already due when inserted: yielded by the very first poll.
                assert_eq!(
                    steps, 0,
                    "tick {tick} start {start} d {d}: past deadline delayed"
                );
            }
            assert_eq!((fired.1.id, fired.1.value), (id, d));
            assert_eq!(fired.1.deadline, Instant::from_micros(d));
            assert!(w.is_empty());
            assert!(!w.cancel(id), "fired id must be stale");
        }
        None => {
            // Rounded deadline beyond u64::MAX: never due.
            assert_eq!(w.poll_expired(Instant::MAX), None);
            assert!(w.cancel(id));
        }
    }
}

#[test]
fn every_level_edge_fires_exactly_on_time() {
    for tick in [1u64, 10, 16, 64] {
        for start in [
            0u64,
            1,
            123_456_789,
            (1 << 20) * tick - 1,
            86_400_000_000 * 3 + 17,
        ] {
            for d in edge_deadlines(start, tick) {
                check_single(tick, start, d);
            }
        }
    }
}

#[test]
fn edges_in_one_wheel_fire_in_deadline_order() {
    for tick in [1u64, 16] {
        let start = 1_000_003u64;
        let mut w = TimerWheel::with_tick(Duration::from_micros(tick), Instant::from_micros(start));
        let mut ds = edge_deadlines(start, tick);
        ds.retain(|&d| round_up(d, tick).is_some());
        for &d in &ds {
            w.insert(Instant::from_micros(d), d);
        }
        let mut expected = ds.clone();
        expected.sort(); // equal deadlines carry equal values, so insertion order is moot here
        let mut got = Vec::new();
        while let Some(nd) = w.next_deadline() {
            while let Some(x) = w.poll_expired(nd) {
                assert!(round_up(x.value, tick).unwrap().max(start) <= nd.as_micros().max(start));
                got.push(x.value);
            }
        }
        assert_eq!(got, expected);
    }
}

#[test]
fn overflow_boundary_and_recascade() {
    let tick = 16u64;
    let top = 1u64 << (6 * LEVELS as u32); // ticks spanned by all levels
    let start = 5 * tick;
    let mut w = TimerWheel::with_tick(Duration::from_micros(tick), Instant::from_micros(start));
    // Just inside the levels, exactly at the overflow edge, and far into the overflow.
    let ds = [
        (top - 1) * tick,
        top * tick,
        (top + 1) * tick,
        5 * top * tick + 3,
    ];
    for d in ds {
        w.insert(Instant::from_micros(d), d);
    }
    // A huge jump straight past everything yields all four, in order.
    let mut got = Vec::new();
    while let Some(x) = w.poll_expired(Instant::from_micros(6 * top * tick)) {
        got.push(x.value);
    }
    assert_eq!(got, ds);
    // Cancelling the earliest overflow timer keeps the next overflow deadline right.
    let mut w = TimerWheel::with_tick(Duration::from_micros(tick), Instant::from_micros(start));
    let a = w.insert(Instant::from_micros(2 * top * tick), 1);
    w.insert(Instant::from_micros(7 * top * tick), 2);
    assert_eq!(
        w.next_deadline(),
        Some(Instant::from_micros(2 * top * tick))
    );
    assert!(w.cancel(a));
    assert_eq!(
        w.next_deadline(),
        Some(Instant::from_micros(7 * top * tick))
    );
}

#[test]
fn huge_jump_over_many_levels_keeps_order() {
    let mut w = TimerWheel::with_tick(Duration::from_micros(16), Instant::ZERO);
    let year = 365 * 86_400_000_000u64;
    let mut expected = Vec::new();
    for i in 0..200u64 {
        let d = (i * 7919) % (3 * year) + i % 3;
        w.insert(Instant::from_micros(d), i);
        expected.push((d.div_ceil(16), d, i));
    }
    expected.sort();
    let mut got = Vec::new();
    while let Some(x) = w.poll_expired(Instant::from_micros(4 * year)) {
        got.push(x.value);
    }
    let mut exp: Vec<(u64, u64)> = expected.iter().map(|&(_, d, i)| (d, i)).collect();
    exp.sort();
    assert_eq!(got, exp.into_iter().map(|(_, i)| i).collect::<Vec<_>>());
}
