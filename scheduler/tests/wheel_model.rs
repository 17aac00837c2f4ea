//! Model-based test of the timer wheel (DESIGN.md section 4).
//!
//! Seeded random sequences of insert / cancel (live and stale ids) / reschedule / advance with
//! bounded polls run against a reference `BTreeMap<(deadline, seq), value>`. The guarantee
//! checked is exactly the one documented in `wheel.rs`:
//!
//! * a timer is due once `now >= ceil(deadline / tick) * tick` (never early, at most `tick - 1`
//!   µs late), where `now` is the largest time passed so far;
//! * every poll yields the least due timer by `(deadline µs, insertion sequence)`, so a bounded
//!   poll of K yields exactly the first K of the due set in that order;
//! * cancelling or rescheduling a fired or cancelled id is a no-op returning false, also after
//!   its slab slot was reused by a new timer (generation check);
//! * `next_deadline()` is `None` iff empty, not after `now` when something is due, and otherwise
//!   never after the earliest rounded deadline (so a loop sleeping until it never oversleeps);
//!   `next_expiry()` is exactly that earliest rounded deadline (the simulator jumps to it).
//!
//! Advance steps vary from sub-tick to jumps of years. The PRNG is our own SplitMix64 so the
//! stream never changes under us; a failure prints the seed.

use std::collections::BTreeMap;

use scheduler::{Duration, Expired, Instant, TimerId, TimerWheel};

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const YEAR: u64 = 365 * 86_400_000_000;

/// A delay drawn from a mixture: zero and past, sub-tick, level edges, realistic protocol
/// intervals, far, and beyond the top level.
fn draw_delay(r: &mut SplitMix64, tick: u64) -> i64 {
    match r.below(10) {
        0 => -(r.below(5_000) as i64),
        1 => r.below(tick + 1) as i64,
        2 => {
            let level = r.below(8) as u32;
            let edge = (1u64 << (6 * (level + 1)).min(62)).saturating_mul(tick);
            (edge as i64).saturating_add(r.below(3) as i64 - 1).max(0)
        }
        3 | 4 => r.below(20_000) as i64,
        5 | 6 => r.below(3_000_000) as i64,
        7 => r.below(3_600_000_000) as i64,
        8 => r.below(3 * YEAR) as i64,
        _ => (r.below(50 * YEAR) + 1) as i64,
    }
}

fn draw_step(r: &mut SplitMix64, tick: u64) -> u64 {
    match r.below(8) {
        0 => 0,
        1 => r.below(tick),
        2 => r.below(10 * tick),
        3 => r.below(5_000),
        4 => r.below(2_000_000),
        5 => r.below(600_000_000),
        6 => r.below(2 * YEAR),
        _ => r.below(60 * YEAR),
    }
}

struct Model {
    tick: u64,
    now: u64,
    /// (deadline, seq) -> (value, id)
    pending: BTreeMap<(u64, u64), (u64, TimerId)>,
    by_value: BTreeMap<u64, (u64, u64)>,
    seq: u64,
}

impl Model {
    fn due_key(&self, d: u64) -> Option<u64> {
        d.div_ceil(self.tick).checked_mul(self.tick)
    }
    fn is_due(&self, d: u64) -> bool {
        self.due_key(d).is_some_and(|r| r <= self.now)
    }
    fn insert(&mut self, d: u64, value: u64, id: TimerId) {
        self.pending.insert((d, self.seq), (value, id));
        self.by_value.insert(value, (d, self.seq));
        self.seq += 1;
    }
    fn remove(&mut self, value: u64) -> Option<(u64, TimerId)> {
        let k = self.by_value.remove(&value)?;
        let (_, id) = self.pending.remove(&k).unwrap();
        Some((k.0, id))
    }
    /// The first `max` due timers in order.
    fn expected(&self, max: usize) -> Vec<(u64, u64)> {
        self.pending
            .iter()
            .filter(|((d, _), _)| self.is_due(*d))
            .take(max)
            .map(|((d, _), (v, _))| (*d, *v))
            .collect()
    }
}

fn run_seed(seed: u64, ops: usize) {
    let mut r = SplitMix64(seed);
    let tick = [1u64, 16, 16, 64, 10][r.below(5) as usize];
    let start = match r.below(3) {
        0 => 0,
        1 => r.below(1 << 40),
        _ => r.below(20 * YEAR),
    };
    let mut w = TimerWheel::with_tick(Duration::from_micros(tick), Instant::from_micros(start));
    let mut m = Model {
        tick,
        now: start,
        pending: BTreeMap::new(),
        by_value: BTreeMap::new(),
        seq: 0,
    };
    let mut live: Vec<u64> = Vec::new(); // values of live timers
    let mut stale: Vec<TimerId> = Vec::new();
    let mut next_value = 0u64;
    let mut out: Vec<Expired<u64>> = Vec::new();
    for op in 0..ops {
        let ctx = || format!("seed {seed:#x} op {op} tick {tick}");
        match r.below(100) {
            0..=44 => {
                let d = m.now.saturating_add_signed(draw_delay(&mut r, tick));
                let v = next_value;
                next_value += 1;
                let id = w.insert(Instant::from_micros(d), v);
                assert!(
                    !stale.contains(&id),
                    "{}: reused id {id:?} without new generation",
                    ctx()
                );
                m.insert(d, v, id);
                live.push(v);
            }
            45..=54 if !live.is_empty() => {
                let v = live.swap_remove(r.below(live.len() as u64) as usize);
                let (_, id) = m.remove(v).unwrap();
                assert_eq!(w.remove(id), Some(v), "{}: cancel of live timer", ctx());
                stale.push(id);
            }
            55..=61 if !stale.is_empty() => {
                let id = stale[r.below(stale.len() as u64) as usize];
                let len = w.len();
                assert!(
                    !w.cancel(id),
                    "{}: stale cancel {id:?} returned true",
                    ctx()
                );
                assert!(
                    !w.reschedule(id, Instant::from_micros(m.now)),
                    "{}: stale resched",
                    ctx()
                );
                assert_eq!(w.len(), len);
            }
            62..=69 if !live.is_empty() => {
                let v = live[r.below(live.len() as u64) as usize];
                let (_, id) = m.remove(v).unwrap();
                let d = m.now.saturating_add_signed(draw_delay(&mut r, tick));
                assert!(
                    w.reschedule(id, Instant::from_micros(d)),
                    "{}: reschedule",
                    ctx()
                );
                m.insert(d, v, id);
            }
            _ => {
                m.now = m.now.saturating_add(draw_step(&mut r, tick));
                let max = match r.below(4) {
                    0 => 1,
                    1 => 1 + r.below(8) as usize,
                    _ => usize::MAX,
                };
                out.clear();
                w.poll_expired_into(Instant::from_micros(m.now), max, &mut out);
                let expected = m.expected(max);
                let got: Vec<(u64, u64)> = out
                    .iter()
                    .map(|x| (x.deadline.as_micros(), x.value))
                    .collect();
                assert_eq!(
                    got,
                    expected,
                    "{}: fired set/order differs at now {}",
                    ctx(),
                    m.now
                );
                for x in &out {
                    let due = m.due_key(x.deadline.as_micros()).unwrap();
                    assert!(due <= m.now, "{}: early", ctx());
                    assert!(
                        due - x.deadline.as_micros() < tick,
                        "{}: rounding > tick",
                        ctx()
                    );
                    let (_, id) = m.remove(x.value).unwrap();
                    assert_eq!(id, x.id);
                    live.retain(|&v| v != x.value);
                    stale.push(x.id);
                }
            }
        }
        if stale.len() > 256 {
            stale.drain(..128);
        }
        // next_deadline contract.
        assert_eq!(w.len(), m.pending.len(), "{}: len", ctx());
        let nd = w.next_deadline().map(|i| i.as_micros());
        if m.pending.is_empty() {
            assert_eq!(nd, None, "{}: next_deadline on empty wheel", ctx());
        } else {
            let nd = nd.unwrap_or_else(|| panic!("{}: next_deadline None while pending", ctx()));
            let any_due = m.pending.keys().any(|(d, _)| m.is_due(*d));
            if any_due {
                assert!(
                    nd <= m.now,
                    "{}: due timers but next_deadline {nd} > now",
                    ctx()
                );
                let ne = w.next_expiry().unwrap().as_micros();
                assert!(
                    ne <= m.now,
                    "{}: due timers but next_expiry {ne} > now",
                    ctx()
                );
            } else if let Some(earliest) = m.pending.keys().filter_map(|(d, _)| m.due_key(*d)).min()
            {
                assert!(
                    nd <= earliest,
                    "{}: next_deadline {nd} after {earliest}",
                    ctx()
                );
                let exact = w.next_expiry().map(|i| i.as_micros());
                assert_eq!(exact, Some(earliest), "{}: next_expiry not exact", ctx());
                let bounded = w.next_expiry_scan(2).unwrap().as_micros();
                assert!(
                    nd <= bounded && bounded <= earliest,
                    "{}: next_expiry_scan",
                    ctx()
                );
            }
        }
    }
    // Drain everything that can ever fire and compare with the model.
    m.now = u64::MAX;
    out.clear();
    w.poll_expired_into(Instant::MAX, usize::MAX, &mut out);
    let got: Vec<(u64, u64)> = out
        .iter()
        .map(|x| (x.deadline.as_micros(), x.value))
        .collect();
    assert_eq!(got, m.expected(usize::MAX), "seed {seed:#x}: final drain");
}

#[test]
fn random_sequences_match_the_reference_model() {
    // 300 seeds x 600 operations: about 180,000 operations, well under a second in debug.
    for i in 0..300u64 {
        run_seed(0x5EED_0000 + i, 600);
    }
}

#[test]
fn long_sequences_match_the_reference_model() {
    for i in 0..6u64 {
        run_seed(0xB16_0000 + i, 8_000);
    }
}

#[test]
fn equal_deadlines_fire_in_insertion_order_and_same_tick_in_deadline_order() {
    let mut w = TimerWheel::with_tick(Duration::from_micros(64), Instant::ZERO);
    // Same tick (65..=128), different µs deadlines, inserted in reverse deadline order, with
    // ties at 100.
    let a = w.insert(Instant::from_micros(120), 'a');
    let b = w.insert(Instant::from_micros(100), 'b');
    let c = w.insert(Instant::from_micros(70), 'c');
    let d = w.insert(Instant::from_micros(100), 'd');
    assert_eq!(w.poll_expired(Instant::from_micros(127)), None);
    let order: Vec<_> = std::iter::from_fn(|| w.poll_expired(Instant::from_micros(128)))
        .map(|x| (x.id, x.value))
        .collect();
    assert_eq!(order, vec![(c, 'c'), (b, 'b'), (d, 'd'), (a, 'a')]);
}
