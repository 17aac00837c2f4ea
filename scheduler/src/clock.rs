//! Time for the whole daemon: our own microsecond [`Instant`], the [`Clock`] trait and its
//! implementations.
//!
//! [`Instant`] is a plain `u64` of microseconds on a monotonic time line. It is constructible at
//! any value ([`Instant::from_micros`]) so that engines, the timer wheel and the simulator can be
//! tested at arbitrary points in time, including just below `u64::MAX`. Engines never read a
//! clock (DESIGN.md section 1): they receive `now: Instant` as a parameter. Only two things read
//! the OS clock, both in this file:
//!
//! * [`MonotonicClock`] reads `CLOCK_MONOTONIC`, the same clock the event loop's timerfd is armed
//!   on, so an [`Instant`] converts to an absolute timerfd expiry without any offset;
//! * [`realtime`] / [`WallClock`] read `CLOCK_REALTIME`, for the wall stamps that L4 adds to
//!   notify scripts and dumps. Wall time never drives a timer.
//!
//! [`VirtualClock`] is a settable clock shared through an `Rc<Cell<u64>>` handle: the simulator
//! owns one per node and drives a [`crate::VirtualLoop`] with it.
//!
//! Durations are `std::time::Duration`. Converting one to microseconds rounds sub-microsecond
//! parts UP (see [`duration_to_micros_ceil`]): a deadline computed as `now + d` is therefore never
//! earlier than the caller asked for, which is the property the timer wheel promises too.

use std::cell::Cell;
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::time::{clock_gettime, ClockId};

/// A point on the monotonic time line, in microseconds since an arbitrary origin (the boot of the
/// machine for [`MonotonicClock`], zero for a fresh [`VirtualClock`]).
///
/// Arithmetic with [`Duration`] rounds the duration up to whole microseconds. The `+`/`-`
/// operators panic on overflow like `std::time::Instant`'s; the `checked_*` and `saturating_*`
/// methods do not.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

/// Converts a duration to whole microseconds, rounding a sub-microsecond remainder up and
/// saturating at `u64::MAX` (about 584,000 years).
pub fn duration_to_micros_ceil(d: Duration) -> u64 {
    let us = d.as_secs() as u128 * 1_000_000 + (d.subsec_nanos() as u128).div_ceil(1000);
    u64::try_from(us).unwrap_or(u64::MAX)
}

impl Instant {
    /// The origin of the time line.
    pub const ZERO: Instant = Instant(0);
    /// The largest representable instant; useful as "never".
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `us` microseconds after the origin.
    pub const fn from_micros(us: u64) -> Instant {
        Instant(us)
    }

    /// An instant `ms` milliseconds after the origin (saturating).
    pub const fn from_millis(ms: u64) -> Instant {
        Instant(ms.saturating_mul(1_000))
    }

    /// An instant `s` seconds after the origin (saturating).
    pub const fn from_secs(s: u64) -> Instant {
        Instant(s.saturating_mul(1_000_000))
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Whole milliseconds since the origin (rounded down).
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }

    /// This instant as a duration since the origin.
    pub const fn as_duration(self) -> Duration {
        Duration::from_micros(self.0)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        let us = d.as_micros();
        let us = if d.subsec_nanos() % 1000 != 0 {
            us + 1
        } else {
            us
        };
        u64::try_from(us)
            .ok()
            .and_then(|us| self.0.checked_add(us))
            .map(Instant)
    }

    /// `self - d`, or `None` if that would be before the origin.
    pub fn checked_sub(self, d: Duration) -> Option<Instant> {
        let us = duration_to_micros_ceil(d);
        self.0.checked_sub(us).map(Instant)
    }

    /// `self + d`, clamped to [`Instant::MAX`].
    pub fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_to_micros_ceil(d)))
    }

    /// `self - d`, clamped to [`Instant::ZERO`].
    pub fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(duration_to_micros_ceil(d)))
    }

    /// `self + us` microseconds, clamped to [`Instant::MAX`].
    pub const fn saturating_add_micros(self, us: u64) -> Instant {
        Instant(self.0.saturating_add(us))
    }

    /// The time elapsed from `earlier` to `self`, or `None` if `earlier` is later than `self`.
    pub fn checked_duration_since(self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0).map(Duration::from_micros)
    }

    /// The time elapsed from `earlier` to `self`, zero if `earlier` is later (as
    /// `std::time::Instant::duration_since` does since Rust 1.60).
    pub fn duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }

    /// Same as [`Instant::duration_since`]; named like std's for readers who look for it.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }

    /// Microseconds from `earlier` to `self`, zero if `earlier` is later.
    pub const fn micros_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Panics on overflow, like `std::time::Instant`.
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d)
            .expect("overflow when adding duration to instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Panics on underflow, like `std::time::Instant`.
    fn sub(self, d: Duration) -> Instant {
        self.checked_sub(d)
            .expect("overflow when subtracting duration from instant")
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero, like `std::time::Instant` does.
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl fmt::Display for Instant {
    /// Seconds with six decimals, e.g. `12.000345s`: the form used in logs and traces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({self})")
    }
}

/// A source of monotonic time.
pub trait Clock {
    /// The current instant. Successive calls never go backwards.
    fn now(&self) -> Instant;
}

/// Reads `CLOCK_MONOTONIC`, the clock the event loop's timerfd uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct MonotonicClock;

/// Converts a `CLOCK_*` reading to microseconds, rounding nanoseconds down. Rounding down keeps
/// the invariant the loop relies on: when a timerfd armed at `Instant(us)` (i.e. `us * 1000` ns)
/// expires, a clock read afterwards yields an instant `>= Instant(us)`.
fn read_clock_micros(id: ClockId) -> u64 {
    // clock_gettime on CLOCK_MONOTONIC/CLOCK_REALTIME cannot fail on Linux with a valid pointer
    // (the vDSO answers it); if it ever did, a zero time would be worse than a panic that says
    // why, so we panic.
    let ts = clock_gettime(id).expect("clock_gettime failed");
    (ts.tv_sec() as u64) * 1_000_000 + (ts.tv_nsec() as u64) / 1_000
}

impl Clock for MonotonicClock {
    // This is one of the two places allowed to read the OS clock (DESIGN.md section 1): the L2
    // scheduler turns OS time into our `Instant` here and hands it to everything else. We read
    // CLOCK_MONOTONIC through nix rather than std::time::Instant so that the value is on the
    // same time line as the timerfd (absolute expiries) and convertible to our u64 directly.
    fn now(&self) -> Instant {
        Instant(read_clock_micros(ClockId::CLOCK_MONOTONIC))
    }
}

/// A settable, advanceable clock for tests and the simulator. Clones share the same time.
///
/// It is deliberately not `Send`: the simulator is single-threaded and deterministic.
#[derive(Clone, Default)]
pub struct VirtualClock {
    now: Rc<Cell<u64>>,
}

impl VirtualClock {
    /// A clock reading `start`.
    pub fn new(start: Instant) -> VirtualClock {
        VirtualClock {
            now: Rc::new(Cell::new(start.0)),
        }
    }

    /// Sets the time. Going backwards is allowed here (a test may want it) but the event loop and
    /// the timer wheel treat an earlier `now` as "no time passed".
    pub fn set(&self, t: Instant) {
        self.now.set(t.0);
    }

    /// Moves the time forward by `d` (saturating).
    pub fn advance(&self, d: Duration) {
        self.set(Instant(self.now.get()).saturating_add(d));
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        Instant(self.now.get())
    }
}

impl fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtualClock({})", self.now())
    }
}

/// The wall clock (`CLOCK_REALTIME`), for L4's stamps on notify scripts and dumps only.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl WallClock {
    /// The current wall-clock time.
    pub fn now(&self) -> SystemTime {
        realtime()
    }
}

/// The current wall-clock time (`CLOCK_REALTIME`). Never use it for timers: it jumps.
pub fn realtime() -> SystemTime {
    // The other permitted OS clock read (see MonotonicClock::now). Read through clock_gettime
    // rather than SystemTime::now so the workspace lint keeps every other caller out.
    UNIX_EPOCH + Duration::from_micros(read_clock_micros(ClockId::CLOCK_REALTIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_rounds_durations_up() {
        let t = Instant::from_micros(10);
        assert_eq!(t + Duration::from_nanos(1), Instant::from_micros(11));
        assert_eq!(t + Duration::from_nanos(1000), Instant::from_micros(11));
        assert_eq!(t + Duration::from_nanos(1001), Instant::from_micros(12));
        assert_eq!(t.saturating_add(Duration::MAX), Instant::MAX);
        assert_eq!(Instant::MAX.checked_add(Duration::from_micros(1)), None);
        assert_eq!(t.checked_sub(Duration::from_micros(11)), None);
        assert_eq!(t.saturating_sub(Duration::from_micros(11)), Instant::ZERO);
        assert_eq!(
            t.duration_since(Instant::from_micros(4)),
            Duration::from_micros(6)
        );
        assert_eq!(Instant::from_micros(4).duration_since(t), Duration::ZERO);
        assert_eq!(Instant::from_micros(4).checked_duration_since(t), None);
        assert_eq!(t - Instant::from_micros(3), Duration::from_micros(7));
        assert_eq!(duration_to_micros_ceil(Duration::MAX), u64::MAX);
    }

    #[test]
    fn display_and_debug() {
        assert_eq!(Instant::from_micros(12_000_345).to_string(), "12.000345s");
        assert_eq!(
            format!("{:?}", Instant::from_millis(1)),
            "Instant(0.001000s)"
        );
    }

    #[test]
    fn virtual_clock_is_shared() {
        let a = VirtualClock::new(Instant::from_secs(5));
        let b = a.clone();
        a.advance(Duration::from_millis(3));
        assert_eq!(b.now(), Instant::from_micros(5_003_000));
        b.set(Instant::ZERO);
        assert_eq!(a.now(), Instant::ZERO);
    }

    #[test]
    fn monotonic_clock_moves_forward() {
        let c = MonotonicClock;
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
        assert!(realtime() > UNIX_EPOCH + Duration::from_secs(1_600_000_000));
    }
}
