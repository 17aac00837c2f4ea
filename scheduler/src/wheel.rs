//! Hierarchical timer wheel: O(1) insert and cancel, cheap `next_deadline`, bounded expiry.
//!
//! # Layout
//!
//! Time is cut into ticks of `tick` microseconds (constructor parameter; default
//! [`DEFAULT_TICK`] = 16 µs, so rounding costs at most 15 µs: DESIGN.md section 4 asks for
//! tens of microseconds). A deadline `d` is placed at tick `ceil(d / tick)`: it is rounded UP, so
//! a timer is never due before its deadline.
//!
//! There are [`LEVELS`] levels of 64 slots. A level-`l` slot spans `64^l` ticks, so the levels
//! span, with the default tick: 1.024 ms, 65.5 ms, 4.19 s, 4.47 min, 4.77 h, 12.7 days and
//! 2.23 years. Each level has a `u64` occupancy bitmap, so finding the next non-empty slot is a
//! rotate and a `trailing_zeros`. An entry is placed at the level of the highest 6-bit digit in
//! which its tick differs from the wheel's current tick (the scheme of tokio's wheel): entries at
//! level `l` all expire after every entry at levels below `l`, so the earliest slot is found by
//! looking at the levels bottom-up. When the current tick reaches a slot of level `l > 0`, its
//! entries are "cascaded": re-placed at lower levels. Each entry cascades at most `LEVELS` times
//! in its life, so the amortised cost per timer stays O(1).
//!
//! Deadlines beyond the top level's span (more than 2.23 years ahead with the default tick) go
//! to an overflow list. The overflow is re-cascaded when the wheel's current tick enters the top
//! level block that holds the earliest overflow deadline; until then it costs nothing.
//!
//! Entries live in a generational slab (the private `arena` module); each slot is an intrusive doubly
//! linked list of slab keys, so cancel is an unlink. A [`TimerId`] is `(key, generation)`;
//! cancelling a fired or cancelled timer finds a different generation and is a no-op returning
//! `false`.
//!
//! # Expiry and ordering guarantee (the simulator relies on this)
//!
//! A timer with deadline `d` is *due* once the wheel has been advanced to a `now` with
//! `now >= ceil(d / tick) * tick`. Due timers are moved to a ready queue ordered by
//! `(deadline in µs, insertion sequence)`, where the insertion sequence is the order of the
//! [`TimerWheel::insert`] / [`TimerWheel::reschedule`] calls. Every pop returns the least due
//! timer in that order. Consequently:
//!
//! * a timer is never yielded before its deadline, and at most `tick - 1` µs after it relative to
//!   the `now` passed in (so "never more than one tick late");
//! * timers with the same microsecond deadline fire in insertion order;
//! * timers in the same tick with different microsecond deadlines fire in deadline order;
//! * the bounded [`TimerWheel::poll_expired_into`] yields a prefix of that order and the next call
//!   continues it; a timer inserted in between that is already due takes its place in the order
//!   (it may fire before older due timers with later deadlines).
//!
//! A `now` earlier than one already seen counts as no time passing.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::time::Duration;

use crate::arena::{Arena, NIL};
use crate::clock::{duration_to_micros_ceil, Instant};

/// Number of levels of 64 slots. Seven levels at the default tick reach 2.23 years; the
/// overflow list holds anything further.
pub const LEVELS: usize = 7;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;

/// Default first-level tick: 16 µs. Timers fire at most 15 µs after their deadline plus the
/// wake-up latency of the loop.
pub const DEFAULT_TICK: Duration = Duration::from_micros(16);

/// Names a timer in a [`TimerWheel`]: slab key plus generation. Stale ids are harmless.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId {
    key: u32,
    gen: u32,
}

impl fmt::Debug for TimerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimerId({}v{})", self.key, self.gen)
    }
}

/// A timer yielded by the wheel once due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired<T> {
    /// The id it had (now stale).
    pub id: TimerId,
    /// Its exact deadline as inserted (not rounded to the tick).
    pub deadline: Instant,
    /// Its payload.
    pub value: T,
}

/// Where an entry currently is; kept in the entry so cancel knows which list to unlink from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    Slot { level: u8, slot: u8 },
    Overflow,
    Ready,
}

struct Entry<T> {
    deadline: u64,
    tick: u64,
    seq: u64,
    prev: u32,
    next: u32,
    place: Place,
    value: T,
}

/// A ready-queue reference. Ordered by `(deadline, seq)`; `key`/`gen` find the entry, and a
/// mismatch on `seq` means the entry was rescheduled since (the reference is stale).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ReadyRef {
    deadline: u64,
    seq: u64,
    key: u32,
    gen: u32,
}

/// The next slot to expire: `level == LEVELS` means the overflow list.
#[derive(Clone, Copy, Debug)]
struct Expiration {
    level: usize,
    slot: usize,
    tick: u64,
}

/// A hierarchical timer wheel holding payloads of type `T`. See the module docs for the
/// guarantees.
pub struct TimerWheel<T> {
    tick_us: u64,
    entries: Arena<Entry<T>>,
    heads: [[u32; SLOTS]; LEVELS],
    occupied: [u64; LEVELS],
    overflow_head: u32,
    /// Least tick in the overflow list (meaningful only when the list is non-empty).
    overflow_min: u64,
    /// Every entry with `tick <= elapsed` is in the ready queue.
    elapsed: u64,
    ready: BinaryHeap<Reverse<ReadyRef>>,
    ready_live: usize,
    next_seq: u64,
}

impl<T> fmt::Debug for TimerWheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWheel")
            .field("tick_us", &self.tick_us)
            .field("len", &self.len())
            .field("now", &self.now())
            .field("ready", &self.ready_live)
            .finish()
    }
}

impl<T> TimerWheel<T> {
    /// A wheel with the [`DEFAULT_TICK`] whose current time is `now`.
    pub fn new(now: Instant) -> Self {
        Self::with_tick(DEFAULT_TICK, now)
    }

    /// A wheel with a first-level tick of `tick` (rounded up to whole microseconds, at least
    /// 1 µs) whose current time is `now`. The simulator uses a 1 µs tick so that virtual time is
    /// exact; the daemon uses the default.
    pub fn with_tick(tick: Duration, now: Instant) -> Self {
        let tick_us = duration_to_micros_ceil(tick).max(1);
        TimerWheel {
            tick_us,
            entries: Arena::new(),
            heads: [[NIL; SLOTS]; LEVELS],
            occupied: [0; LEVELS],
            overflow_head: NIL,
            overflow_min: u64::MAX,
            elapsed: now.as_micros() / tick_us,
            ready: BinaryHeap::new(),
            ready_live: 0,
            next_seq: 0,
        }
    }

    /// The first-level tick.
    pub fn tick(&self) -> Duration {
        Duration::from_micros(self.tick_us)
    }

    /// The time the wheel has been advanced to, rounded down to the tick.
    pub fn now(&self) -> Instant {
        Instant::from_micros(self.elapsed.saturating_mul(self.tick_us))
    }

    /// Number of pending timers (in the wheel or due but not yet yielded).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No pending timer.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// Is `id` still pending?
    pub fn contains(&self, id: TimerId) -> bool {
        self.entries.get(id.key, id.gen).is_some()
    }

    /// The deadline of a pending timer.
    pub fn deadline(&self, id: TimerId) -> Option<Instant> {
        self.entries
            .get(id.key, id.gen)
            .map(|e| Instant::from_micros(e.deadline))
    }

    /// The payload of a pending timer.
    pub fn get(&self, id: TimerId) -> Option<&T> {
        self.entries.get(id.key, id.gen).map(|e| &e.value)
    }

    /// Mutable payload of a pending timer.
    pub fn get_mut(&mut self, id: TimerId) -> Option<&mut T> {
        self.entries.get_mut(id.key, id.gen).map(|e| &mut e.value)
    }

    fn tick_of(&self, deadline: Instant) -> u64 {
        deadline.as_micros().div_ceil(self.tick_us)
    }

    /// Schedules `value` at `deadline`. O(1). A deadline already due is yielded by the next
    /// poll.
    pub fn insert(&mut self, deadline: Instant, value: T) -> TimerId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            deadline: deadline.as_micros(),
            tick: self.tick_of(deadline),
            seq,
            prev: NIL,
            next: NIL,
            place: Place::Ready,
            value,
        };
        let (key, gen) = self.entries.insert(entry);
        self.place(key);
        TimerId { key, gen }
    }

    /// Moves a pending timer to a new deadline, keeping its id; for ordering it counts as a new
    /// insertion. Returns `false` (and does nothing) if `id` is stale. O(1).
    pub fn reschedule(&mut self, id: TimerId, deadline: Instant) -> bool {
        if !self.contains(id) {
            return false;
        }
        self.detach(id.key);
        let seq = self.next_seq;
        self.next_seq += 1;
        let tick = self.tick_of(deadline);
        let e = self.entries.at_mut(id.key);
        e.deadline = deadline.as_micros();
        e.tick = tick;
        e.seq = seq;
        self.place(id.key);
        true
    }

    /// Cancels a pending timer. Returns `false` if `id` already fired or was cancelled. O(1).
    pub fn cancel(&mut self, id: TimerId) -> bool {
        self.remove(id).is_some()
    }

    /// Cancels a pending timer and returns its payload; `None` if `id` is stale. O(1).
    pub fn remove(&mut self, id: TimerId) -> Option<T> {
        if !self.contains(id) {
            return None;
        }
        self.detach(id.key);
        self.compact_ready();
        self.entries.remove(id.key, id.gen).map(|e| e.value)
    }

    /// The earliest instant at which something may need doing: the tick boundary of the earliest
    /// level-0 slot, the start of the earliest higher-level slot (where it cascades, so the
    /// caller may wake once without anything firing), or, if timers are already due, an instant
    /// not after the last `now` the wheel saw. `None` if the wheel is empty. O(LEVELS), using
    /// the bitmaps.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.ready_live > 0 {
            return Some(self.now());
        }
        self.next_expiration()
            .map(|e| Instant::from_micros(e.tick.saturating_mul(self.tick_us)))
    }

    /// The exact earliest instant at which a pending timer becomes due (its deadline rounded up
    /// to the tick), or an instant not after the last `now` if timers are already due; `None`
    /// if empty. Unlike [`TimerWheel::next_deadline`] it never returns a mere cascade point, at
    /// the cost of scanning the one slot that holds the earliest timers (O(entries in that
    /// slot)). The virtual loop uses it so simulated time jumps straight to real deadlines.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.next_expiry_scan(usize::MAX)
    }

    /// [`TimerWheel::next_expiry`] if the slot to scan holds at most `max_scan` entries, else
    /// [`TimerWheel::next_deadline`]. The real loop arms its timerfd with this (small slots are
    /// the common case) so that most far timers do not cost an extra wake-up at a cascade.
    pub fn next_expiry_scan(&self, max_scan: usize) -> Option<Instant> {
        if self.ready_live > 0 {
            return Some(self.now());
        }
        let exp = self.next_expiration()?;
        let tick = if exp.level == 0 {
            exp.tick
        } else if exp.level == LEVELS {
            self.overflow_min
        } else {
            let mut k = self.heads[exp.level][exp.slot];
            let mut min = u64::MAX;
            let mut n = 0;
            while k != NIL {
                if n == max_scan {
                    min = exp.tick;
                    break;
                }
                let e = self.entries.at(k);
                min = min.min(e.tick);
                k = e.next;
                n += 1;
            }
            min
        };
        Some(Instant::from_micros(tick.saturating_mul(self.tick_us)))
    }

    /// Advances the wheel to `now`, moving every timer due at `now` to the ready queue
    /// (cascading higher levels as their slots are reached). It is called by the poll methods;
    /// calling it directly is only useful to do the cascading work ahead of time.
    pub fn advance(&mut self, now: Instant) {
        let target = now.as_micros() / self.tick_us;
        if target <= self.elapsed {
            return;
        }
        while let Some(exp) = self.next_expiration() {
            if exp.tick > target {
                break;
            }
            self.elapsed = exp.tick;
            self.process(exp);
        }
        self.elapsed = target;
    }

    /// Advances to `now` and yields the least due timer, if any.
    pub fn poll_expired(&mut self, now: Instant) -> Option<Expired<T>> {
        self.advance(now);
        while let Some(Reverse(r)) = self.ready.pop() {
            let live = matches!(
                self.entries.get(r.key, r.gen),
                Some(e) if e.seq == r.seq && e.place == Place::Ready
            );
            if live {
                self.ready_live -= 1;
                let e = self.entries.remove(r.key, r.gen).expect("live ready entry");
                return Some(Expired {
                    id: TimerId {
                        key: r.key,
                        gen: r.gen,
                    },
                    deadline: Instant::from_micros(e.deadline),
                    value: e.value,
                });
            }
        }
        None
    }

    /// Advances to `now` and appends at most `max` due timers to `out`, in order. Returns how
    /// many were appended. This is what bounds the work of one loop turn.
    pub fn poll_expired_into(
        &mut self,
        now: Instant,
        max: usize,
        out: &mut Vec<Expired<T>>,
    ) -> usize {
        let mut n = 0;
        while n < max {
            match self.poll_expired(now) {
                Some(x) => {
                    out.push(x);
                    n += 1;
                }
                None => break,
            }
        }
        n
    }

    /// Where a pending timer is, for white-box tests.
    #[cfg(test)]
    pub(crate) fn place_of(&self, id: TimerId) -> Option<Place> {
        self.entries.get(id.key, id.gen).map(|e| e.place)
    }

    // ----- internals -----

    /// Puts entry `key` (unlinked) where its tick belongs relative to `elapsed`.
    fn place(&mut self, key: u32) {
        let (tick, deadline, seq) = {
            let e = self.entries.at(key);
            (e.tick, e.deadline, e.seq)
        };
        if tick <= self.elapsed {
            let gen = self.entries.gen_of(key);
            let e = self.entries.at_mut(key);
            e.place = Place::Ready;
            e.prev = NIL;
            e.next = NIL;
            self.ready.push(Reverse(ReadyRef {
                deadline,
                seq,
                key,
                gen,
            }));
            self.ready_live += 1;
            return;
        }
        let level = level_for(self.elapsed, tick);
        if level >= LEVELS {
            if self.overflow_head == NIL || tick < self.overflow_min {
                self.overflow_min = tick;
            }
            let head = self.overflow_head;
            self.link_front(key, head, Place::Overflow);
            self.overflow_head = key;
        } else {
            let slot = ((tick >> (SLOT_BITS as usize * level)) & SLOT_MASK) as usize;
            let head = self.heads[level][slot];
            self.link_front(
                key,
                head,
                Place::Slot {
                    level: level as u8,
                    slot: slot as u8,
                },
            );
            self.heads[level][slot] = key;
            self.occupied[level] |= 1 << slot;
        }
    }

    fn link_front(&mut self, key: u32, head: u32, place: Place) {
        if head != NIL {
            self.entries.at_mut(head).prev = key;
        }
        let e = self.entries.at_mut(key);
        e.prev = NIL;
        e.next = head;
        e.place = place;
    }

    /// Unlinks entry `key` from wherever it is. A ready entry is only uncounted: its heap
    /// reference goes stale and is skipped (or compacted away) later.
    fn detach(&mut self, key: u32) {
        let (prev, next, place, tick) = {
            let e = self.entries.at(key);
            (e.prev, e.next, e.place, e.tick)
        };
        match place {
            Place::Ready => {
                // The heap reference goes stale: remove bumps the generation and reschedule
                // assigns a new sequence number.
                self.ready_live -= 1;
                return;
            }
            Place::Slot { level, slot } => {
                if prev == NIL {
                    self.heads[level as usize][slot as usize] = next;
                    if next == NIL {
                        self.occupied[level as usize] &= !(1u64 << slot);
                    }
                }
            }
            Place::Overflow => {
                if prev == NIL {
                    self.overflow_head = next;
                }
            }
        }
        if prev != NIL {
            self.entries.at_mut(prev).next = next;
        }
        if next != NIL {
            self.entries.at_mut(next).prev = prev;
        }
        let e = self.entries.at_mut(key);
        e.prev = NIL;
        e.next = NIL;
        if place == Place::Overflow && tick == self.overflow_min {
            self.recompute_overflow_min();
        }
    }

    /// O(overflow length); only runs when the least overflow timer is cancelled, and the
    /// overflow only holds timers more than two years ahead.
    fn recompute_overflow_min(&mut self) {
        let mut min = u64::MAX;
        let mut k = self.overflow_head;
        while k != NIL {
            let e = self.entries.at(k);
            min = min.min(e.tick);
            k = e.next;
        }
        self.overflow_min = min;
    }

    /// Drops stale heap references once they outnumber live ones, so that a pattern of
    /// insert-already-due-then-cancel cannot grow the heap without bound between polls.
    fn compact_ready(&mut self) {
        if self.ready.len() > 64 && self.ready.len() > 2 * self.ready_live + 2 {
            let entries = &self.entries;
            self.ready.retain(|Reverse(r)| {
                matches!(entries.get(r.key, r.gen),
                    Some(e) if e.seq == r.seq && e.place == Place::Ready)
            });
        }
    }

    fn next_expiration(&self) -> Option<Expiration> {
        for level in 0..LEVELS {
            let occ = self.occupied[level];
            if occ == 0 {
                continue;
            }
            let shift = SLOT_BITS as usize * level;
            let now_slot = (self.elapsed >> shift) & SLOT_MASK;
            let dist = occ.rotate_right(now_slot as u32).trailing_zeros() as u64;
            let slot = (now_slot + dist) & SLOT_MASK;
            let level_range_mask = (1u64 << (shift + SLOT_BITS as usize)) - 1;
            let level_start = self.elapsed & !level_range_mask;
            let tick = level_start + (slot << shift);
            debug_assert!(tick > self.elapsed, "occupied slot behind the wheel");
            return Some(Expiration {
                level,
                slot: slot as usize,
                tick,
            });
        }
        if self.overflow_head != NIL {
            // The start of the top-level block holding the earliest overflow tick: from there on
            // that timer fits in the levels.
            let top_shift = SLOT_BITS as usize * LEVELS;
            let tick = (self.overflow_min >> top_shift) << top_shift;
            return Some(Expiration {
                level: LEVELS,
                slot: 0,
                tick: tick.max(self.elapsed + 1),
            });
        }
        None
    }

    /// Empties the expiring slot (or the overflow list) and re-places its entries relative to
    /// the new `elapsed`: due ones go to the ready queue, others to lower levels.
    fn process(&mut self, exp: Expiration) {
        let mut k = if exp.level == LEVELS {
            let head = self.overflow_head;
            self.overflow_head = NIL;
            self.overflow_min = u64::MAX;
            head
        } else {
            let head = self.heads[exp.level][exp.slot];
            self.heads[exp.level][exp.slot] = NIL;
            self.occupied[exp.level] &= !(1u64 << exp.slot);
            head
        };
        while k != NIL {
            let next = self.entries.at(k).next;
            self.place(k);
            k = next;
        }
    }
}

/// The level at which a timer at `tick` is placed when the wheel is at `elapsed`: the index of
/// the highest 6-bit digit in which they differ. `>= LEVELS` means the overflow list.
fn level_for(elapsed: u64, tick: u64) -> usize {
    let masked = (elapsed ^ tick) | SLOT_MASK;
    let significant = 63 - masked.leading_zeros() as usize;
    significant / SLOT_BITS as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    #[test]
    fn level_for_digits() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 64 * 64 - 1), 1);
        assert_eq!(level_for(0, 64 * 64), 2);
        assert_eq!(level_for(0, 1 << 42), LEVELS);
        assert_eq!(level_for(63, 64), 1);
        assert_eq!(level_for(u64::MAX - 1, u64::MAX), 0);
    }

    #[test]
    fn placement_at_level_edges() {
        let mut w = TimerWheel::with_tick(Duration::from_micros(1), at(0));
        for level in 0..LEVELS {
            let span = 1u64 << (6 * (level + 1));
            let last = w.insert(at(span - 1), ());
            assert_eq!(
                w.place_of(last)
                    .map(|p| matches!(p, Place::Slot { level: l, .. } if l as usize == level)),
                Some(true),
                "level {level}"
            );
        }
        let far = w.insert(at(1 << 42), ());
        assert_eq!(w.place_of(far), Some(Place::Overflow));
        let due = w.insert(at(0), ());
        assert_eq!(w.place_of(due), Some(Place::Ready));
    }

    #[test]
    fn cancel_and_reschedule() {
        let mut w = TimerWheel::with_tick(Duration::from_micros(10), at(0));
        let a = w.insert(at(100), 'a');
        let b = w.insert(at(100), 'b');
        assert!(w.cancel(a));
        assert!(!w.cancel(a));
        assert!(w.reschedule(b, at(5)));
        assert_eq!(w.deadline(b), Some(at(5)));
        assert_eq!(w.next_deadline(), Some(at(10)));
        assert_eq!(w.poll_expired(at(9)), None);
        let x = w.poll_expired(at(10)).unwrap();
        assert_eq!((x.id, x.value, x.deadline), (b, 'b', at(5)));
        assert!(w.is_empty());
        assert!(!w.reschedule(b, at(7)));
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn ready_heap_compacts() {
        let mut w = TimerWheel::new(at(1_000_000));
        for _ in 0..1000 {
            let id = w.insert(at(5), ());
            w.cancel(id);
        }
        assert!(
            w.ready.len() <= 130,
            "heap kept {} stale refs",
            w.ready.len()
        );
        assert_eq!(w.poll_expired(at(2_000_000)), None);
    }
}
