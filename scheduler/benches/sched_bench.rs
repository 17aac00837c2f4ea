//! `sched-bench`: throughput of the timer wheel and precision of the real loop's timers.
//!
//! Run in release: `cargo run --release -p scheduler --bin sched-bench`.
//!
//! 1. Wheel throughput for 100,000 and 1,000,000 timers with deadlines uniform over 0..10 s and
//!    0..1 h (default 16 µs tick): insert all, cancel all in random order, and fire all by
//!    walking time from expiry to expiry as the loop does (`next_expiry` then a bounded poll).
//! 2. Loop overhead: add_timer (a boxed closure capturing an index) plus dispatch, through the
//!    virtual loop, for 1,000,000 timers.
//! 3. Real loop precision: 1000 timers at random 1..20 ms deadlines outstanding together, then
//!    200 timers of 1..5 ms one at a time on an idle loop. Lateness is measured with our own
//!    clock read inside the callback (so it includes the wake-up and dispatch), reported as
//!    median, p99 and max in microseconds, with a count of timers fired early (must be 0).
//!
//! The PRNG is SplitMix64 with a fixed seed, so runs are comparable.

use std::hint::black_box;

use scheduler::{
    Clock, Ctx, Duration, Expired, Instant, Loop, MonotonicClock, TimerId, TimerWheel,
    VirtualClock, VirtualLoop,
};

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

fn elapsed_ns(t0: Instant) -> u64 {
    MonotonicClock.now().duration_since(t0).as_nanos() as u64
}

fn row(op: &str, n: usize, range: &str, ns: u64) {
    let per = ns as f64 / n as f64;
    println!(
        "{op:<22} {n:>9} {range:>6} {:>10.1} {:>12.0} {:>8.1}",
        ns as f64 / 1e6,
        1e9 / per,
        per
    );
}

fn wheel_bench(n: usize, range_us: u64, range: &str, rng: &mut SplitMix64) {
    let start = Instant::from_secs(1_000);
    let deadlines: Vec<Instant> = (0..n)
        .map(|_| start.saturating_add_micros(rng.next() % range_us))
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }

    // Insert.
    let mut w: TimerWheel<u32> = TimerWheel::new(start);
    let mut ids: Vec<TimerId> = Vec::with_capacity(n);
    let t0 = MonotonicClock.now();
    for (i, d) in deadlines.iter().enumerate() {
        ids.push(w.insert(*d, i as u32));
    }
    row("wheel insert", n, range, elapsed_ns(t0));

    // Cancel, in random order.
    let t0 = MonotonicClock.now();
    for &i in &order {
        black_box(w.cancel(ids[i]));
    }
    row("wheel cancel", n, range, elapsed_ns(t0));
    assert!(w.is_empty());

    // Fire: insert again (slab warm), then walk time from expiry to expiry.
    let mut w: TimerWheel<u32> = TimerWheel::new(start);
    for (i, d) in deadlines.iter().enumerate() {
        w.insert(*d, i as u32);
    }
    let mut out: Vec<Expired<u32>> = Vec::with_capacity(256);
    let mut fired = 0usize;
    let mut last = start;
    let t0 = MonotonicClock.now();
    while let Some(t) = w.next_expiry_scan(32) {
        out.clear();
        fired += w.poll_expired_into(t, 256, &mut out);
        for x in &out {
            assert!(x.deadline <= t, "fired early");
            last = last.max(x.deadline);
        }
    }
    row("wheel fire (walk)", n, range, elapsed_ns(t0));
    assert_eq!(fired, n);
    black_box(last);
}

fn loop_overhead_bench(n: usize, rng: &mut SplitMix64) {
    let clock = VirtualClock::new(Instant::from_secs(1));
    let mut l: VirtualLoop<u64> = VirtualLoop::new(clock);
    let deadlines: Vec<u64> = (0..n).map(|_| rng.next() % 10_000_000).collect();
    let t0 = MonotonicClock.now();
    for (i, d) in deadlines.iter().enumerate() {
        let idx = i as u64;
        l.add_timer(
            Duration::from_micros(*d),
            move |_: &mut Ctx<u64>, s: &mut u64, _| *s = s.wrapping_add(idx),
        );
    }
    let add_ns = elapsed_ns(t0);
    let mut sum = 0u64;
    let t0 = MonotonicClock.now();
    let ran = l.run_until(Instant::from_secs(12), &mut sum);
    let fire_ns = elapsed_ns(t0);
    assert_eq!(ran, n);
    row("loop add_timer (box)", n, "10s", add_ns);
    row("loop dispatch (virt)", n, "10s", fire_ns);
    black_box(sum);
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(name: &str, mut late: Vec<u64>, early: usize) {
    late.sort_unstable();
    println!(
        "{name:<34} {:>6} {:>8} {:>8} {:>8} {:>6}",
        late.len(),
        percentile(&late, 0.5),
        percentile(&late, 0.99),
        late.last().copied().unwrap_or(0),
        early
    );
}

struct Precision {
    late: Vec<u64>,
    early: usize,
    remaining: usize,
}

fn on_fire(deadline: Instant) -> impl FnMut(&mut Ctx<Precision>, &mut Precision, scheduler::Fired) {
    move |ctx, p, _| {
        let now = MonotonicClock.now();
        if now < deadline {
            p.early += 1;
        }
        p.late.push(now.micros_since(deadline));
        p.remaining -= 1;
        if p.remaining == 0 {
            ctx.stop();
        }
    }
}

/// A real loop, waiting the default way (`epoll_pwait2`, a timerfd for waits over 16 ms) or
/// always through the timerfd (the fallback for kernels without `epoll_pwait2`).
fn real_loop(timerfd: bool) -> Loop<Precision> {
    let mut l: Loop<Precision> = Loop::new().expect("loop");
    if timerfd {
        l.use_timerfd();
    }
    l
}

fn precision_bench(rng: &mut SplitMix64, timerfd: bool) {
    let how = if timerfd { "timerfd" } else { "pwait2" };
    // 1000 timers outstanding together.
    let mut l = real_loop(timerfd);
    let n = 1000;
    let base = MonotonicClock.now();
    for _ in 0..n {
        let d = base.saturating_add_micros(1_000 + rng.next() % 19_000);
        l.add_timer_at(d, on_fire(d));
    }
    let mut p = Precision {
        late: Vec::new(),
        early: 0,
        remaining: n,
    };
    l.run(&mut p).expect("run");
    report(&format!("{how}: 1000 concurrent, 1-20 ms"), p.late, p.early);

    // One at a time on an idle loop: pure wake-up latency.
    let mut l = real_loop(timerfd);
    let mut p = Precision {
        late: Vec::new(),
        early: 0,
        remaining: 0,
    };
    for _ in 0..200 {
        let d = MonotonicClock
            .now()
            .saturating_add_micros(1_000 + rng.next() % 4_000);
        p.remaining = 1;
        l.add_timer_at(d, on_fire(d));
        l.run(&mut p).expect("run");
        // run() stops after the turn in which the callback called stop; clear the flag.
        l.clear_stop();
    }
    report(&format!("{how}: 200 sequential, 1-5 ms"), p.late, p.early);
}

fn main() {
    let mut rng = SplitMix64(0x5CED_BE4C);
    // Lateness tails depend on what else the machine runs: say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "machine: {cpus} cpus, load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("sched-bench: timer wheel throughput (tick 16 us, times are wall time)");
    println!(
        "{:<22} {:>9} {:>6} {:>10} {:>12} {:>8}",
        "operation", "timers", "range", "total ms", "ops/s", "ns/op"
    );
    for &n in &[100_000usize, 1_000_000] {
        wheel_bench(n, 10_000_000, "10s", &mut rng);
        wheel_bench(n, 3_600_000_000, "1h", &mut rng);
    }
    loop_overhead_bench(1_000_000, &mut rng);
    println!();
    println!(
        "sched-bench: real loop timer lateness (pwait2: epoll_pwait2, a timerfd for waits over \
         16 ms; timerfd: the fallback), microseconds"
    );
    println!(
        "{:<34} {:>6} {:>8} {:>8} {:>8} {:>6}",
        "scenario", "n", "median", "p99", "max", "early"
    );
    precision_bench(&mut rng, false);
    precision_bench(&mut rng, true);
}
