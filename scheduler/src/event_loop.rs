//! The event loop: keepalived's I/O multiplexer "threads" in Rust terms.
//!
//! A *thread* is a registered callback waiting for one thing: a deadline, a readable or writable
//! fd, a child's exit, a signal, or simply the next turn of the loop (an *event*). Threads live in
//! a generational slab and are named by a [`ThreadId`]; cancelling a thread that already ran is a
//! no-op that returns `false`, exactly like cancelling a stale timer.
//!
//! # Callbacks and their argument
//!
//! A callback is `FnMut(&mut Ctx<S>, &mut S, Fired)`: the loop context (to add and cancel threads,
//! read `now`, stop the loop), the user state `S` the loop was run with (the daemon), and what
//! happened. keepalived's `thread->arg` is whatever the closure captures. Callbacks are boxed:
//! a closure that captures nothing (or a plain `fn`) is zero-sized and the box does not
//! allocate; one that captures an index costs one small allocation per add, like keepalived's
//! per-thread `malloc`, which is small next to the system call each I/O thread costs anyway.
//! Thread records themselves are reused through the slab's free list.
//!
//! # Thread kinds and their lifetimes
//!
//! | add | fires with | lifetime |
//! |---|---|---|
//! | [`Ctx::add_timer`], [`Ctx::add_timer_at`] | [`Fired::Timer`] | one-shot |
//! | [`Ctx::add_event`] | [`Fired::Event`] on the next turn, in add order | one-shot |
//! | [`Ctx::add_read`], [`Ctx::add_write`] | [`Fired::Io`] with [`Ready::Readable`] / [`Ready::Writable`], or [`Ready::TimedOut`] once if the timeout passes first | one-shot: re-add to keep reading, as in keepalived |
//! | [`Ctx::add_child`], [`Ctx::spawn_child`] | [`Fired::Child`] with the [`ChildStatus`] | one-shot |
//! | [`Ctx::add_signal`] | [`Fired::Signal`] each time the signal arrives | persistent until cancelled |
//!
//! One-shot threads are removed *before* their callback runs, so inside it the thread's own id
//! is already stale and the callback may freely add a new thread on the same fd, pid or signal.
//! An fd may have one read thread and one write thread at a time (keepalived's rule); one signal
//! has at most one thread (adding another replaces it); one pid has at most one thread.
//!
//! # One turn
//!
//! [`Loop::turn`] does, in order:
//! 1. bring epoll registrations in line with the threads (see "fds" below) and arm the timerfd at
//!    the wheel's next deadline (absolute, CLOCK_MONOTONIC);
//! 2. `epoll_wait` through mio, with at most [`LoopConfig::max_io_events`] events, blocking only
//!    if nothing is already due, retrying on `EINTR`;
//! 3. dispatch I/O readiness, then signals (signalfd; SIGCHLD reaps children with
//!    `waitpid(pid, WNOHANG)`), in the order epoll reported them;
//! 4. dispatch reaped children's exits, then at most [`LoopConfig::max_timers_per_turn`] expired
//!    timers (read/write/child timeouts included) in the wheel's order, then the events that were
//!    queued before the turn began (events added during a turn run on the next one).
//!
//! Steps 3 and 4 read the clock before each callback so [`Ctx::now`] is fresh; the bound of
//! step 4 uses the time read when the step began.
//!
//! # Timer precision
//!
//! mio's `poll` rounds its timeout up to whole milliseconds, so the loop waits with
//! `epoll_pwait2` (Linux 5.11) on mio's epoll instance instead, with a nanosecond timeout to
//! the wheel's next deadline, and dispatches the raw events itself (mio's token is the epoll
//! data, the fd number here). The timer slack of the thread is set to 1 ns, so the kernel does
//! not defer the wake-up by its default 50 µs; it may still end a timeout late by 0.1 % of its
//! length, so only waits up to 16 ms (one wheel tick of slack) go that way, and a longer one
//! arms a timerfd at the deadline (absolute, CLOCK_MONOTONIC, `TFD_TIMER_ABSTIME`) and waits
//! for it. A short wake-up, the common one at BFD or fast VRRP rates, thus costs one system
//! call where a timerfd costs three (the wait, reading the expiry, re-arming it).
//! With the default 16 µs tick a timer fires within 16 µs plus the kernel's wake-up latency
//! (`sched-bench` measures it). The deadline waited for is exact unless the earliest timers
//! share a higher-level wheel slot with more than 32 others; then the loop wakes once, early,
//! where that slot cascades, and waits again exactly.
//!
//! On a kernel without `epoll_pwait2` (ENOSYS) the loop falls back to a timerfd on
//! CLOCK_MONOTONIC, armed at the deadline with `TFD_TIMER_ABSTIME`, and mio's `poll` without a
//! timeout.
//!
//! # fds and epoll
//!
//! mio registers fds edge-triggered. A one-shot read thread whose callback did not drain its
//! socket (it should read until `WouldBlock` but at most [`READ_BUDGET`] packets per turn, so one
//! flooded socket cannot starve the others) would never be told again; so when a thread re-adds
//! itself on an fd that just fired, the registration is re-armed with `EPOLL_CTL_MOD`, which makes
//! epoll report data still queued. Removing interest is deferred to the end of the turn, so the
//! usual fire-then-re-add costs one `epoll_ctl`, not two. The token of an fd is the fd number.
//!
//! # Signals
//!
//! Signals arrive through a signalfd. [`Ctx::add_signal`] blocks the signal in the *calling
//! thread's* mask (threads spawned later inherit it); create the loop and add signals before
//! starting other threads, or a process-directed signal may be delivered to a thread that does
//! not block it. [`signals`] names the daemon's set, including keepalived's real-time signals.
//! Cancelling a signal thread discards occurrences still pending and unblocks the signal if the
//! loop had blocked it; dropping the loop does so for all of them.
//!
//! # Children
//!
//! [`Ctx::spawn_child`] runs a `std::process::Command` in its own process group (std resets the
//! child's signal mask, so a script is not born with our blocked signals). Exits are collected
//! on SIGCHLD with `waitpid(pid, WNOHANG)` for each registered pid (never `waitpid(-1)`, which
//! would steal other code's children), plus a coarse periodic check
//! ([`LoopConfig::child_poll_interval`]) as a safety net for a SIGCHLD consumed elsewhere. When a
//! child's timeout passes, its callback runs at once with [`ChildStatus::TimedOut`] (as
//! keepalived's `THREAD_CHILD_TIMEOUT`) and the loop takes over the corpse: SIGTERM to the child
//! (its process group for spawned children), SIGKILL after [`LoopConfig::child_kill_grace`]
//! (keepalived: 2 s), and a reap, so no zombie is left. Cancelling a child thread forgets the
//! callback but still reaps the child.
//!
//! # Virtual mode
//!
//! [`VirtualLoop`] is the same context without the OS: time comes from a [`VirtualClock`],
//! timers and events run exactly as in [`Loop`], and the simulator injects what the OS would
//! deliver ([`VirtualLoop::inject_io`], [`VirtualLoop::inject_signal`],
//! [`VirtualLoop::inject_child_exit`]). Daemon code written against [`Ctx`] runs unchanged in
//! both.
//!
//! Logging goes to target `sched` at debug level only.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use log::debug;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

use crate::arena::Arena;
use crate::clock::{Clock, Instant, MonotonicClock, VirtualClock};
use crate::sys::{self, RawSigSet, Reaped};
use crate::wheel::{TimerId, TimerWheel, DEFAULT_TICK};

/// Arming the timerfd scans at most this many entries of a higher-level wheel slot to find the
/// exact next expiry; beyond that it wakes at the slot's cascade point instead.
const TIMERFD_SCAN: usize = 32;

/// The longest wait given to `epoll_pwait2` as its timeout. The kernel may end a timeout
/// late by 0.1 % of its length (`select_estimate_accuracy`, unless the thread is real-time),
/// so up to here that is at most one 16 µs wheel tick; longer waits arm the timerfd.
const PWAIT2_MAX: Duration = Duration::from_millis(16);

/// Default bound on timers fired per turn (K).
pub const DEFAULT_MAX_TIMERS_PER_TURN: usize = 256;
/// Default capacity of the epoll event buffer per turn.
pub const DEFAULT_MAX_IO_EVENTS: usize = 256;
/// Per-fd budget (M): a read callback should read until `WouldBlock` but at most this many
/// packets per call, then re-add itself; the loop re-arms the fd so the rest is read next turn.
pub const READ_BUDGET: usize = 64;
/// Default grace between SIGTERM and SIGKILL for a timed-out child (keepalived's 2 s).
pub const DEFAULT_CHILD_KILL_GRACE: Duration = Duration::from_secs(2);
/// Default period of the safety-net reap while children are outstanding.
pub const DEFAULT_CHILD_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Signal numbers the daemon handles, as keepalived defines them.
pub mod signals {
    pub use crate::sys::{sigrtmax, sigrtmin};
    /// Reload the configuration.
    pub const SIGHUP: i32 = libc::SIGHUP;
    /// Stop.
    pub const SIGTERM: i32 = libc::SIGTERM;
    /// Stop.
    pub const SIGINT: i32 = libc::SIGINT;
    /// Dump data (`/tmp/keepalived.data`).
    pub const SIGUSR1: i32 = libc::SIGUSR1;
    /// Dump statistics (`/tmp/keepalived.stats`).
    pub const SIGUSR2: i32 = libc::SIGUSR2;
    /// A child changed state; the loop reaps it.
    pub const SIGCHLD: i32 = libc::SIGCHLD;
    /// keepalived's JSON dump signal, `SIGRTMIN + 2`.
    pub fn sigjson() -> i32 {
        sigrtmin() + 2
    }
    /// keepalived's statistics-clear signal, `SIGRTMAX - 1`.
    pub fn sigstats_clear() -> i32 {
        sigrtmax() - 1
    }
    /// The daemon's full set: HUP, TERM, INT, USR1, USR2, CHLD, JSON, STATS_CLEAR.
    pub fn daemon_set() -> [i32; 8] {
        [
            SIGHUP,
            SIGTERM,
            SIGINT,
            SIGUSR1,
            SIGUSR2,
            SIGCHLD,
            sigjson(),
            sigstats_clear(),
        ]
    }
}

/// Names a thread. Carries a generation: ids of threads that ran or were cancelled are stale
/// and every operation on them is a no-op.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId {
    key: u32,
    gen: u32,
}

impl fmt::Debug for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ThreadId({}v{})", self.key, self.gen)
    }
}

/// What an I/O thread is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ready {
    /// The fd is readable (or at EOF, or in error: the read says which).
    Readable,
    /// The fd is writable (or in error: the write says which).
    Writable,
    /// The thread's timeout passed first.
    TimedOut,
}

/// How a child thread ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChildStatus {
    /// It exited with this code.
    Exited(i32),
    /// It was killed by this signal (not by us after a timeout).
    Signaled(i32),
    /// Its timeout passed; the loop terminates and reaps it.
    TimedOut,
    /// `waitpid` said it is not our child any more (reaped by other code).
    Lost,
}

/// Why a callback runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fired {
    /// A timer thread's deadline passed.
    Timer,
    /// An event thread's turn came.
    Event,
    /// A read or write thread's fd is ready, or its timeout passed.
    Io(Ready),
    /// A child thread's child ended or timed out.
    Child {
        /// The child's pid.
        pid: i32,
        /// How it ended.
        status: ChildStatus,
    },
    /// A signal arrived (signal number).
    Signal(i32),
}

/// The callback type. See the module docs for why boxing is acceptable.
pub type Callback<S> = Box<dyn FnMut(&mut Ctx<S>, &mut S, Fired)>;

/// Loop tunables. `Default` suits the daemon; [`LoopConfig::virtual_default`] suits the simulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopConfig {
    /// First-level tick of the timer wheel.
    pub tick: Duration,
    /// At most this many timers fire per turn (K; at least 1).
    pub max_timers_per_turn: usize,
    /// Capacity of the epoll event buffer (events handled per turn).
    pub max_io_events: usize,
    /// SIGTERM-to-SIGKILL grace for timed-out children.
    pub child_kill_grace: Duration,
    /// Safety-net reap period while children are outstanding (`None`: SIGCHLD only).
    pub child_poll_interval: Option<Duration>,
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            tick: DEFAULT_TICK,
            max_timers_per_turn: DEFAULT_MAX_TIMERS_PER_TURN,
            max_io_events: DEFAULT_MAX_IO_EVENTS,
            child_kill_grace: DEFAULT_CHILD_KILL_GRACE,
            child_poll_interval: Some(DEFAULT_CHILD_POLL_INTERVAL),
        }
    }
}

impl LoopConfig {
    /// The simulator's defaults: a 1 µs tick so virtual time is exact.
    pub fn virtual_default() -> Self {
        LoopConfig {
            tick: Duration::from_micros(1),
            ..LoopConfig::default()
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Timer,
    Event,
    Read(RawFd),
    Write(RawFd),
    Child(i32),
    Signal(i32),
}

struct Thread<S> {
    kind: Kind,
    timer: Option<TimerId>,
    /// `None` only while a persistent thread's callback runs.
    cb: Option<Callback<S>>,
}

/// What a wheel entry stands for.
#[derive(Clone, Copy, Debug)]
enum TimerTag {
    Thread(ThreadId),
    ChildKill(i32),
    ChildPoll,
}

#[derive(Clone, Copy, Default)]
struct FdSlot {
    read: Option<ThreadId>,
    write: Option<ThreadId>,
    registered: Option<Interest>,
    /// The fd fired this turn: re-arm it (EPOLL_CTL_MOD) if interest remains.
    rearm: bool,
    dirty: bool,
}

struct Child {
    thread: Option<ThreadId>,
    group: bool,
    kill_timer: Option<TimerId>,
}

enum ClockSource {
    Monotonic(MonotonicClock),
    Virtual(VirtualClock),
}

impl ClockSource {
    fn now(&self) -> Instant {
        match self {
            ClockSource::Monotonic(c) => c.now(),
            ClockSource::Virtual(c) => c.now(),
        }
    }
}

/// OS resources owned by a real loop's context.
struct Os {
    registry: mio::Registry,
    signalfd: SignalFd,
    /// Signals currently in the signalfd's mask.
    fd_mask: RawSigSet,
    /// Signals this loop blocked (and will unblock when done with them).
    blocked_by_us: RawSigSet,
    /// The thread's mask when the loop was created.
    orig_mask: RawSigSet,
}

impl Os {
    fn watch_signal(&mut self, signo: i32) -> io::Result<()> {
        if !self.orig_mask.contains(signo) && !self.blocked_by_us.contains(signo) {
            let mut one = RawSigSet::empty();
            one.add(signo);
            one.apply_to_thread(true)?;
            self.blocked_by_us.add(signo);
        }
        self.fd_mask.add(signo);
        self.signalfd
            .set_mask(&self.fd_mask.to_nix())
            .map_err(io::Error::from)
    }

    /// Stops watching `signo`: drops occurrences still pending, then restores its blocked state.
    fn unwatch_signal(&mut self, signo: i32) {
        self.fd_mask.remove(signo);
        let mut one = RawSigSet::empty();
        one.add(signo);
        self.drain(one);
        let _ = self.signalfd.set_mask(&self.fd_mask.to_nix());
        if self.blocked_by_us.contains(signo) {
            let _ = one.apply_to_thread(false);
            self.blocked_by_us.remove(signo);
        }
    }

    fn drain(&mut self, set: RawSigSet) {
        if self.signalfd.set_mask(&set.to_nix()).is_ok() {
            while let Ok(Some(_)) = self.signalfd.read_signal() {}
        }
    }
}

impl Drop for Os {
    fn drop(&mut self) {
        // Pending signals we blocked would hit their default action (SIGTERM: death) once
        // unblocked; the loop that wanted them is going away, so they are discarded.
        let blocked = self.blocked_by_us;
        self.drain(blocked);
        let _ = blocked.apply_to_thread(false);
    }
}

/// The loop context every callback receives: thread registration, time, stop. Shared by
/// [`Loop`] and [`VirtualLoop`], which both dereference to it.
pub struct Ctx<S> {
    now: Instant,
    clock: ClockSource,
    config: LoopConfig,
    threads: Arena<Thread<S>>,
    wheel: TimerWheel<TimerTag>,
    events: VecDeque<ThreadId>,
    fds: Vec<FdSlot>,
    dirty_fds: Vec<RawFd>,
    signals: BTreeMap<i32, ThreadId>,
    children: BTreeMap<i32, Child>,
    /// Reaped (or injected) exits waiting for dispatch, with the thread to tell.
    child_exits: VecDeque<(ThreadId, i32, ChildStatus)>,
    child_poll: Option<TimerId>,
    sigchld_watched: bool,
    os: Option<Os>,
    stopped: bool,
}

impl<S> fmt::Debug for Ctx<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("now", &self.now)
            .field("threads", &self.threads.len())
            .field("timers", &self.wheel.len())
            .field("events", &self.events.len())
            .field("children", &self.children.len())
            .field("stopped", &self.stopped)
            .finish()
    }
}

impl<S> Ctx<S> {
    fn new(clock: ClockSource, mut config: LoopConfig, os: Option<Os>) -> Self {
        // Zero would never fire a timer again.
        config.max_timers_per_turn = config.max_timers_per_turn.max(1);
        let now = clock.now();
        Ctx {
            now,
            wheel: TimerWheel::with_tick(config.tick, now),
            clock,
            config,
            threads: Arena::with_capacity(64),
            events: VecDeque::new(),
            fds: Vec::new(),
            dirty_fds: Vec::new(),
            signals: BTreeMap::new(),
            children: BTreeMap::new(),
            child_exits: VecDeque::new(),
            child_poll: None,
            sigchld_watched: false,
            os,
            stopped: false,
        }
    }

    /// The time of the current callback (read just before it was called), or of the last turn.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Re-reads the clock; useful for code that ran long inside one callback.
    pub fn update_now(&mut self) -> Instant {
        self.now = self.now.max(self.clock.now());
        self.now
    }

    /// The configuration the loop was built with.
    pub fn config(&self) -> &LoopConfig {
        &self.config
    }

    /// Makes [`Loop::run`] return after the current turn.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Clears a previous [`Ctx::stop`] so [`Loop::run`] can be called again.
    pub fn clear_stop(&mut self) {
        self.stopped = false;
    }

    /// Has [`Ctx::stop`] been called?
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Number of live threads of all kinds.
    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }

    /// Is `id` still waiting (not run, not cancelled)?
    pub fn is_pending(&self, id: ThreadId) -> bool {
        self.threads.get(id.key, id.gen).is_some()
    }

    /// The deadline of a timer thread, or the timeout of an I/O or child thread.
    pub fn deadline(&self, id: ThreadId) -> Option<Instant> {
        let t = self.threads.get(id.key, id.gen)?;
        self.wheel.deadline(t.timer?)
    }

    /// The earliest time something needs doing: `now` if events or child exits are queued,
    /// else the exact earliest timer expiry (deadline rounded up to the tick). O(timers sharing
    /// the earliest wheel slot); see [`TimerWheel::next_expiry`].
    pub fn next_wakeup(&self) -> Option<Instant> {
        if !self.events.is_empty() || !self.child_exits.is_empty() {
            return Some(self.now);
        }
        self.wheel.next_expiry()
    }

    // ----- adding threads -----

    fn new_thread(&mut self, kind: Kind, cb: Callback<S>) -> ThreadId {
        let (key, gen) = self.threads.insert(Thread {
            kind,
            timer: None,
            cb: Some(cb),
        });
        ThreadId { key, gen }
    }

    fn set_timeout(&mut self, id: ThreadId, deadline: Instant) {
        let timer = self.wheel.insert(deadline, TimerTag::Thread(id));
        if let Some(t) = self.threads.get_mut(id.key, id.gen) {
            t.timer = Some(timer);
        }
    }

    /// Runs `cb` once, `after` from now (the clock is re-read, so this is right outside
    /// callbacks too; rounded up to the tick; never early).
    pub fn add_timer<F>(&mut self, after: Duration, cb: F) -> ThreadId
    where
        F: FnMut(&mut Ctx<S>, &mut S, Fired) + 'static,
    {
        let deadline = self.update_now().saturating_add(after);
        self.add_timer_at(deadline, cb)
    }

    /// Runs `cb` once at `deadline` (rounded up to the tick; never early). Timers with equal
    /// deadlines run in the order they were added.
    pub fn add_timer_at<F>(&mut self, deadline: Instant, cb: F) -> ThreadId
    where
        F: FnMut(&mut Ctx<S>, &mut S, Fired) + 'static,
    {
        let id = self.new_thread(Kind::Timer, Box::new(cb));
        self.set_timeout(id, deadline);
        id
    }

    /// Moves a timer thread's deadline, or an I/O or child thread's timeout, keeping its id
    /// (keepalived's `timer_thread_update_timeout`). For ordering it counts as a new add.
    /// `false` if the thread is stale or has no timer.
    pub fn reschedule(&mut self, id: ThreadId, deadline: Instant) -> bool {
        match self.threads.get(id.key, id.gen).and_then(|t| t.timer) {
            Some(timer) => self.wheel.reschedule(timer, deadline),
            None => false,
        }
    }

    /// Runs `cb` once on the next turn. Events run in the order they were added.
    pub fn add_event<F>(&mut self, cb: F) -> ThreadId
    where
        F: FnMut(&mut Ctx<S>, &mut S, Fired) + 'static,
    {
        let id = self.new_thread(Kind::Event, Box::new(cb));
        self.events.push_back(id);
        id
    }

    /// Says that the read callback now running for `fd` read it until the kernel had nothing
    /// left: the next datagram raises a fresh edge, so re-watching the fd needs no
    /// `EPOLL_CTL_MOD` (which is otherwise done after every readiness, in case the callback
    /// left data behind under its budget). Only call it when that is true.
    pub fn fd_drained(&mut self, fd: RawFd) {
        if let Some(slot) = usize::try_from(fd).ok().and_then(|i| self.fds.get_mut(i)) {
            slot.rearm = false;
        }
    }

    /// Runs `cb` once when `fd` is readable, or with [`Ready::TimedOut`] if `timeout` passes
    /// first. One-shot; at most one read thread per fd (`AlreadyExists` otherwise). The fd must
    /// stay open while the thread waits. Registration errors (e.g. a regular file) are returned.
    pub fn add_read<F>(
        &mut self,
        fd: RawFd,
        timeout: Option<Duration>,
        cb: F,
    ) -> io::Result<ThreadId>
    where
        F: FnMut(&mut Ctx<S>, &mut S, Fired) + 'static,
    {
        self.add_io(fd, true, timeout, Box::new(cb))
    }

    /// Runs `cb` once when `fd` is writable, or with [`Ready::TimedOut`] if `timeout` passes
    /// first. Same rules as [`Ctx::add_read`].
    pub fn add_write<F>(
        &mut self,
        fd: RawFd,
        timeout: Option<Duration>,
        cb: F,
    ) -> io::Result<ThreadId>
    where
        F: FnMut(&mut Ctx<S>, &mut S, Fired) + 'static,
    {
        self.add_io(fd, false, timeout, Box::new(cb))
    }

    fn add_io(
        &mut self,
        fd: RawFd,
        read: bool,
        timeout: Option<Duration>,
        cb: Callback<S>,
    ) -> io::Result<ThreadId> {
        let idx = usize::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        if self.fds.len() <= idx {
            self.fds.resize(idx + 1, FdSlot::default());
        }
        let slot = &self.fds[idx];
        if (read && slot.read.is_some()) || (!read && slot.write.is_some()) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "fd {fd} already has a {} thread",
                    if read { "read" } else { "write" }
                ),
            ));
        }
        let kind = if read {
            Kind::Read(fd)
        } else {
            Kind::Write(fd)
        };
        let id = self.new_thread(kind, cb);
        let slot = &mut self.fds[idx];
        if read {
            slot.read = Some(id);
        } else {
            slot.write = Some(id);
        }
        if let Err(e) = self.sync_fd(fd) {
            self.take_thread(id);
            self.fds[idx].dirty = false;
            self.dirty_fds.retain(|&d| d != fd);
            return Err(e);
        }
        if let Some(t) = timeout {
            let deadline = self.update_now().saturating_add(t);
            self.set_timeout(id, deadline);
        }
        Ok(id)
    }

    /// Runs `cb` once when child `pid` exits, or with [`ChildStatus::TimedOut`] if `timeout`
    /// passes first (then SIGTERM, SIGKILL after the grace, and reap: see the module docs).
    /// `pid` must be a child of this process; only `pid` itself is signalled on timeout.
    pub fn add_child<F>(
        &mut self,
        pid: i32,
        timeout: Option<Duration>,
        cb: F,
    ) -> io::Result<ThreadId>
    where
        F: FnMut(&mut Ctx<S>, &mut S, Fired) + 'static,
    {
        self.watch_sigchld()?;
        self.register_child(pid, false, timeout, Box::new(cb))
    }

    /// Spawns `cmd` in a new process group and adds a child thread for it (see
    /// [`Ctx::add_child`]; on timeout the whole group is signalled). Returns the thread and the
    /// pid. In a [`VirtualLoop`] this fails with `Unsupported`.
    pub fn spawn_child<F>(
        &mut self,
        cmd: &mut Command,
        timeout: Option<Duration>,
        cb: F,
    ) -> io::Result<(ThreadId, i32)>
    where
        F: FnMut(&mut Ctx<S>, &mut S, Fired) + 'static,
    {
        if self.os.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no processes in virtual mode",
            ));
        }
        // SIGCHLD must be blocked before the fork, or an early exit's signal could be lost.
        self.watch_sigchld()?;
        let child = cmd.process_group(0).spawn()?;
        let pid = child.id() as i32;
        // std's Child does not wait on drop; we reap the pid ourselves.
        drop(child);
        let id = self.register_child(pid, true, timeout, Box::new(cb))?;
        debug!(target: "sched", "spawned child {pid} ({:?})", cmd.get_program());
        Ok((id, pid))
    }

    fn register_child(
        &mut self,
        pid: i32,
        group: bool,
        timeout: Option<Duration>,
        cb: Callback<S>,
    ) -> io::Result<ThreadId> {
        if self.children.get(&pid).is_some_and(|c| c.thread.is_some()) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("pid {pid} already has a child thread"),
            ));
        }
        let id = self.new_thread(Kind::Child(pid), cb);
        let entry = self.children.entry(pid).or_insert(Child {
            thread: None,
            group,
            kill_timer: None,
        });
        entry.thread = Some(id);
        entry.group |= group;
        if let Some(t) = timeout {
            let deadline = self.update_now().saturating_add(t);
            self.set_timeout(id, deadline);
        }
        if self.os.is_some() {
            // It may have exited before SIGCHLD was blocked: look once now.
            self.reap_one(pid);
            self.arm_child_poll();
        }
        Ok(id)
    }

    /// Runs `cb` each time signal `signo` arrives, until cancelled. Blocks the signal in the
    /// calling thread and adds it to the loop's signalfd. Adding a second thread for the same
    /// signal replaces the first. Real-time signals are accepted (see [`signals`]).
    pub fn add_signal<F>(&mut self, signo: i32, cb: F) -> io::Result<ThreadId>
    where
        F: FnMut(&mut Ctx<S>, &mut S, Fired) + 'static,
    {
        let mut probe = RawSigSet::empty();
        if !probe.add(signo) || signo == libc::SIGKILL || signo == libc::SIGSTOP {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        if let Some(old) = self.signals.get(&signo).copied() {
            self.take_thread(old);
        }
        if let Some(os) = self.os.as_mut() {
            os.watch_signal(signo)?;
        }
        let id = self.new_thread(Kind::Signal(signo), Box::new(cb));
        self.signals.insert(signo, id);
        Ok(id)
    }

    /// Cancels a thread of any kind; its callback is dropped without running. `false` if the
    /// thread already ran or was cancelled.
    pub fn cancel(&mut self, id: ThreadId) -> bool {
        self.take_thread(id).is_some()
    }

    // ----- internals shared by both loops -----

    /// Removes a thread and undoes its registrations (timer, fd slot, signal, child callback).
    fn take_thread(&mut self, id: ThreadId) -> Option<Thread<S>> {
        let t = self.threads.remove(id.key, id.gen)?;
        if let Some(timer) = t.timer {
            self.wheel.cancel(timer);
        }
        match t.kind {
            Kind::Timer | Kind::Event => {}
            Kind::Read(fd) | Kind::Write(fd) => {
                let slot = &mut self.fds[fd as usize];
                if slot.read == Some(id) {
                    slot.read = None;
                }
                if slot.write == Some(id) {
                    slot.write = None;
                }
                self.mark_dirty(fd);
            }
            Kind::Signal(signo) => {
                if self.signals.get(&signo) == Some(&id) {
                    self.signals.remove(&signo);
                    let keep = signo == libc::SIGCHLD && self.sigchld_watched;
                    if let (Some(os), false) = (self.os.as_mut(), keep) {
                        os.unwatch_signal(signo);
                    }
                }
            }
            Kind::Child(pid) => {
                if let Some(c) = self.children.get_mut(&pid) {
                    if c.thread == Some(id) {
                        c.thread = None;
                    }
                }
            }
        }
        Some(t)
    }

    fn mark_dirty(&mut self, fd: RawFd) {
        let slot = &mut self.fds[fd as usize];
        if !slot.dirty {
            slot.dirty = true;
            self.dirty_fds.push(fd);
        }
    }

    /// Brings the epoll registration of `fd` in line with its threads.
    fn sync_fd(&mut self, fd: RawFd) -> io::Result<()> {
        let slot = &mut self.fds[fd as usize];
        slot.dirty = false;
        let desired = match (slot.read.is_some(), slot.write.is_some()) {
            (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
            (true, false) => Some(Interest::READABLE),
            (false, true) => Some(Interest::WRITABLE),
            (false, false) => None,
        };
        let rearm = std::mem::take(&mut slot.rearm);
        let registered = slot.registered;
        let Some(os) = self.os.as_ref() else {
            slot.registered = desired;
            return Ok(());
        };
        let token = Token(fd as usize);
        let reg = &os.registry;
        let res = match (registered, desired) {
            (None, None) => Ok(()),
            (Some(_), None) => {
                // The fd may already be closed (epoll then forgot it): nothing to undo.
                let _ = reg.deregister(&mut SourceFd(&fd));
                Ok(())
            }
            (None, Some(i)) => match reg.register(&mut SourceFd(&fd), token, i) {
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                    reg.reregister(&mut SourceFd(&fd), token, i)
                }
                r => r,
            },
            (Some(r), Some(i)) if r != i || rearm => {
                match reg.reregister(&mut SourceFd(&fd), token, i) {
                    // Closed and reopened under the same number: register afresh.
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                        reg.register(&mut SourceFd(&fd), token, i)
                    }
                    r => r,
                }
            }
            (Some(_), Some(_)) => Ok(()),
        };
        let slot = &mut self.fds[fd as usize];
        slot.registered = if res.is_ok() { desired } else { None };
        res
    }

    fn sync_fds(&mut self) {
        while let Some(fd) = self.dirty_fds.pop() {
            if self.fds[fd as usize].dirty {
                if let Err(e) = self.sync_fd(fd) {
                    debug!(target: "sched", "epoll_ctl on fd {fd} failed: {e}");
                }
            }
        }
    }

    fn watch_sigchld(&mut self) -> io::Result<()> {
        if self.sigchld_watched {
            return Ok(());
        }
        if let Some(os) = self.os.as_mut() {
            os.watch_signal(libc::SIGCHLD)?;
        }
        self.sigchld_watched = true;
        Ok(())
    }

    fn arm_child_poll(&mut self) {
        if self.child_poll.is_some_and(|t| self.wheel.contains(t)) || self.children.is_empty() {
            return;
        }
        if let Some(p) = self.config.child_poll_interval {
            let deadline = self.now.saturating_add(p);
            self.child_poll = Some(self.wheel.insert(deadline, TimerTag::ChildPoll));
        }
    }

    /// `waitpid(pid, WNOHANG)`; a reaped child is queued for dispatch and forgotten.
    fn reap_one(&mut self, pid: i32) {
        let status = match sys::waitpid_nohang(pid) {
            Ok(None) => return,
            Ok(Some(Reaped::Exited(code))) => ChildStatus::Exited(code),
            Ok(Some(Reaped::Signaled(sig))) => ChildStatus::Signaled(sig),
            Err(_) => ChildStatus::Lost,
        };
        if let Some(c) = self.children.remove(&pid) {
            if let Some(t) = c.kill_timer {
                self.wheel.cancel(t);
            }
            debug!(target: "sched", "reaped child {pid}: {status:?}");
            if let Some(id) = c.thread {
                self.child_exits.push_back((id, pid, status));
            }
        }
    }

    fn reap_children(&mut self) {
        // Collect first: reap_one mutates the map. BTreeMap order keeps this deterministic.
        let pids: Vec<i32> = self.children.keys().copied().collect();
        for pid in pids {
            self.reap_one(pid);
        }
    }

    /// Calls the callback of thread `id` with `fired`. One-shot threads are removed first;
    /// a persistent (signal) thread keeps its callback unless it was cancelled meanwhile.
    fn run_thread(&mut self, id: ThreadId, fired: Fired, state: &mut S) -> bool {
        let persistent = match self.threads.get(id.key, id.gen) {
            None => return false,
            Some(t) => matches!(t.kind, Kind::Signal(_)),
        };
        if persistent {
            let Some(mut cb) = self
                .threads
                .get_mut(id.key, id.gen)
                .and_then(|t| t.cb.take())
            else {
                return false;
            };
            self.update_now();
            cb(self, state, fired);
            if let Some(t) = self.threads.get_mut(id.key, id.gen) {
                t.cb.get_or_insert(cb);
            }
        } else {
            let Some(t) = self.take_thread(id) else {
                return false;
            };
            let Some(mut cb) = t.cb else { return false };
            self.update_now();
            cb(self, state, fired);
        }
        true
    }

    /// Dispatches readiness of `fd` to its read and/or write thread.
    fn fire_io(&mut self, fd: RawFd, readable: bool, writable: bool, state: &mut S) -> usize {
        let Some(slot) = usize::try_from(fd).ok().and_then(|i| self.fds.get_mut(i)) else {
            return 0;
        };
        slot.rearm = true;
        let mut n = 0;
        if readable {
            if let Some(id) = self.fds[fd as usize].read {
                n += usize::from(self.run_thread(id, Fired::Io(Ready::Readable), state));
            }
        }
        if writable {
            if let Some(id) = self.fds[fd as usize].write {
                n += usize::from(self.run_thread(id, Fired::Io(Ready::Writable), state));
            }
        }
        self.mark_dirty(fd);
        n
    }

    fn fire_signal(&mut self, signo: i32, state: &mut S) -> usize {
        debug!(target: "sched", "signal {signo} received");
        if signo == libc::SIGCHLD && self.os.is_some() {
            self.reap_children();
        }
        match self.signals.get(&signo).copied() {
            Some(id) => usize::from(self.run_thread(id, Fired::Signal(signo), state)),
            None => 0,
        }
    }

    fn fire_timer(&mut self, tag: TimerTag, state: &mut S) -> usize {
        match tag {
            TimerTag::Thread(id) => {
                let Some(kind) = self.threads.get(id.key, id.gen).map(|t| t.kind) else {
                    return 0;
                };
                let fired = match kind {
                    Kind::Timer => Fired::Timer,
                    Kind::Read(_) | Kind::Write(_) => Fired::Io(Ready::TimedOut),
                    Kind::Child(pid) => {
                        self.child_timed_out(pid);
                        Fired::Child {
                            pid,
                            status: ChildStatus::TimedOut,
                        }
                    }
                    Kind::Event | Kind::Signal(_) => return 0,
                };
                usize::from(self.run_thread(id, fired, state))
            }
            TimerTag::ChildKill(pid) => {
                if let Some(c) = self.children.get_mut(&pid) {
                    c.kill_timer = None;
                    let group = c.group;
                    debug!(target: "sched", "child {pid} outlived its grace: SIGKILL");
                    let _ = sys::send_signal(pid, libc::SIGKILL, group);
                }
                0
            }
            TimerTag::ChildPoll => {
                self.child_poll = None;
                self.reap_children();
                self.arm_child_poll();
                0
            }
        }
    }

    /// A child's timeout passed: SIGTERM now, SIGKILL after the grace, reap whenever it dies.
    fn child_timed_out(&mut self, pid: i32) {
        if self.os.is_none() {
            // Nothing to kill in virtual mode: forget it.
            self.children.remove(&pid);
            return;
        }
        let grace = self.config.child_kill_grace;
        let now = self.now;
        let Some(c) = self.children.get_mut(&pid) else {
            return;
        };
        debug!(target: "sched", "child {pid} timed out: SIGTERM");
        let _ = sys::send_signal(pid, libc::SIGTERM, c.group);
        let deadline = now.saturating_add(grace);
        let kill = self.wheel.insert(deadline, TimerTag::ChildKill(pid));
        if let Some(c) = self.children.get_mut(&pid) {
            if let Some(old) = c.kill_timer.replace(kill) {
                self.wheel.cancel(old);
            }
        }
    }

    /// Step 4 of a turn: child exits, at most K timers, then the `events_before` events that were
    /// queued when the turn began. Returns the number of callbacks run.
    fn run_due(&mut self, events_before: usize, state: &mut S) -> usize {
        let mut n = 0;
        while let Some((id, pid, status)) = self.child_exits.pop_front() {
            // A thread cancelled since the reap is stale and skipped.
            n += usize::from(self.run_thread(id, Fired::Child { pid, status }, state));
        }
        let limit = self.update_now();
        let mut fired = 0;
        while fired < self.config.max_timers_per_turn {
            let Some(x) = self.wheel.poll_expired(limit) else {
                break;
            };
            fired += 1;
            n += self.fire_timer(x.value, state);
        }
        for _ in 0..events_before {
            let Some(id) = self.events.pop_front() else {
                break;
            };
            n += usize::from(self.run_thread(id, Fired::Event, state));
        }
        n
    }
}

/// The real event loop: mio (epoll), a CLOCK_MONOTONIC timerfd and a signalfd. Dereferences to
/// [`Ctx`] for adding threads from outside callbacks. Not `Send`: signal masks are per thread.
pub struct Loop<S> {
    ctx: Ctx<S>,
    poll: Poll,
    events: Events,
    /// Events of `epoll_pwait2`, while the kernel has it.
    raw_events: Vec<libc::epoll_event>,
    pwait2: bool,
    timerfd: TimerFd,
    armed: Option<Instant>,
    signals_buf: Vec<i32>,
}

/// One fd's readiness, from either wait.
struct OsReady {
    fd: RawFd,
    readable: bool,
    writable: bool,
}

impl OsReady {
    fn of_mio(ev: &mio::event::Event) -> OsReady {
        let err = ev.is_error();
        OsReady {
            fd: ev.token().0 as RawFd,
            readable: ev.is_readable() || ev.is_read_closed() || err,
            writable: ev.is_writable() || ev.is_write_closed() || err,
        }
    }

    /// As [`OsReady::of_mio`] reads mio's event: closed and error conditions wake both
    /// directions (a peer's RDHUP only with data to read).
    fn of_raw(ev: &libc::epoll_event) -> OsReady {
        let (flags, data) = (ev.events as libc::c_int, ev.u64);
        let any = |m: libc::c_int| flags & m != 0;
        OsReady {
            fd: data as RawFd,
            readable: any(libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLHUP | libc::EPOLLERR),
            writable: any(libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR),
        }
    }
}

impl<S> fmt::Debug for Loop<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loop")
            .field("ctx", &self.ctx)
            .field("armed", &self.armed)
            .finish()
    }
}

impl<S> Deref for Loop<S> {
    type Target = Ctx<S>;
    fn deref(&self) -> &Ctx<S> {
        &self.ctx
    }
}

impl<S> DerefMut for Loop<S> {
    fn deref_mut(&mut self) -> &mut Ctx<S> {
        &mut self.ctx
    }
}

impl<S> Loop<S> {
    /// A loop with the default configuration.
    pub fn new() -> io::Result<Self> {
        Self::with_config(LoopConfig::default())
    }

    /// A loop with `config`.
    pub fn with_config(config: LoopConfig) -> io::Result<Self> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let flags = TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC;
        let timerfd = TimerFd::new(ClockId::CLOCK_MONOTONIC, flags)?;
        let sfd_flags = SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC;
        let signalfd = SignalFd::with_flags(&RawSigSet::empty().to_nix(), sfd_flags)?;
        let tfd = timerfd.as_fd_raw();
        registry.register(&mut SourceFd(&tfd), Token(tfd as usize), Interest::READABLE)?;
        let sfd = signalfd.as_raw_fd();
        registry.register(&mut SourceFd(&sfd), Token(sfd as usize), Interest::READABLE)?;
        let os = Os {
            registry,
            signalfd,
            fd_mask: RawSigSet::empty(),
            blocked_by_us: RawSigSet::empty(),
            orig_mask: RawSigSet::thread_mask()?,
        };
        let events = Events::with_capacity(config.max_io_events.max(1));
        let raw_events = Vec::with_capacity(config.max_io_events.max(1));
        // Timers are waited for to the nanosecond (see "Timer precision"); without this the
        // kernel may defer each wake-up by the thread's default slack of 50 µs.
        let _ = nix::sys::prctl::set_timerslack(1);
        let ctx = Ctx::new(ClockSource::Monotonic(MonotonicClock), config, Some(os));
        Ok(Loop {
            ctx,
            poll,
            events,
            raw_events,
            pwait2: true,
            timerfd,
            armed: None,
            signals_buf: Vec::new(),
        })
    }

    /// Waits with a timerfd, as on a kernel without `epoll_pwait2` (for tests).
    #[doc(hidden)]
    pub fn use_timerfd(&mut self) {
        self.pwait2 = false;
    }

    /// Runs turns until a callback calls [`Ctx::stop`]. Returns `Err` only if epoll fails.
    pub fn run(&mut self, state: &mut S) -> io::Result<()> {
        while !self.ctx.stopped {
            self.turn(state, None)?;
        }
        Ok(())
    }

    /// One turn (see the module docs). Blocks until something happens, or at most `max_wait`
    /// (millisecond granularity, for tests) when nothing is due. Returns the number of
    /// callbacks run.
    pub fn turn(&mut self, state: &mut S, max_wait: Option<Duration>) -> io::Result<usize> {
        let events_before = self.ctx.events.len();
        self.ctx.sync_fds();
        self.ctx.update_now();
        let next = self.ctx.wheel.next_expiry_scan(TIMERFD_SCAN);
        let due_now = events_before > 0
            || !self.ctx.child_exits.is_empty()
            || next.is_some_and(|d| d <= self.ctx.now);
        if self.pwait2 {
            let wait = if due_now {
                Some(Duration::ZERO)
            } else {
                let mut to_next =
                    next.map(|t| Duration::from_micros(t.as_micros() - self.ctx.now.as_micros()));
                if to_next.is_some_and(|d| d > PWAIT2_MAX) {
                    // The kernel lets a timeout run late by 0.1 % of its length: a long wait
                    // goes to the exact timerfd instead.
                    self.arm_timerfd(next)?;
                    to_next = None;
                }
                match (to_next, max_wait) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            };
            let epfd = self.poll.as_raw_fd();
            loop {
                match sys::epoll_pwait2(epfd, &mut self.raw_events, wait) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                        debug!(target: "sched", "no epoll_pwait2: timers use a timerfd");
                        self.pwait2 = false;
                        self.raw_events.clear();
                        return Ok(self.ctx.run_due(events_before, state));
                    }
                    Err(e) => return Err(e),
                }
            }
            let mut n = 0;
            for i in 0..self.raw_events.len() {
                let r = OsReady::of_raw(&self.raw_events[i]);
                n += self.dispatch_ready(r, state);
            }
            n += self.ctx.run_due(events_before, state);
            return Ok(n);
        }
        if !due_now {
            self.arm_timerfd(next)?;
        }
        let wait = if due_now {
            Some(Duration::ZERO)
        } else {
            max_wait
        };
        loop {
            match self.poll.poll(&mut self.events, wait) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let mut n = 0;
        let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        for ev in events.iter() {
            n += self.dispatch_ready(OsReady::of_mio(ev), state);
        }
        self.events = events;
        n += self.ctx.run_due(events_before, state);
        Ok(n)
    }

    fn arm_timerfd(&mut self, next: Option<Instant>) -> io::Result<()> {
        if next == self.armed {
            return Ok(());
        }
        // An expiry already armed at or before `next` stays: waking early costs one empty
        // turn, which then arms the right time, whereas re-arming whenever the earliest
        // deadline moves later costs a system call each time (a backup's Master_Down_Timers
        // all move at every advert). The wheel, not the timerfd, decides what is due, so an
        // early wake-up never fires a timer early.
        if let Some(armed) = self.armed {
            if next.map_or(true, |n| armed <= n) {
                return Ok(());
            }
        }
        match next {
            Some(t) => {
                // An all-zero expiry would disarm the timer: use at least 1 ns.
                let ns = (t.as_micros() as u128 * 1000).max(1);
                let ts = TimeSpec::new((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as i64);
                self.timerfd
                    .set(
                        Expiration::OneShot(ts),
                        TimerSetTimeFlags::TFD_TIMER_ABSTIME,
                    )
                    .map_err(io::Error::from)?;
            }
            None => self.timerfd.unset().map_err(io::Error::from)?,
        }
        self.armed = next;
        Ok(())
    }

    /// Runs what one fd's readiness calls for: the timerfd's expiry is consumed, the
    /// signalfd's signals fire their threads, any other fd fires its I/O threads.
    fn dispatch_ready(&mut self, r: OsReady, state: &mut S) -> usize {
        let tfd = self.timerfd.as_fd_raw();
        let sfd = self
            .ctx
            .os
            .as_ref()
            .map_or(-1, |os| os.signalfd.as_raw_fd());
        let mut n = 0;
        {
            let fd = r.fd;
            if fd == tfd {
                // Consume the expiration count; the wheel decides what is due.
                let mut buf = [0u8; 8];
                let _ = nix::unistd::read(tfd, &mut buf);
                self.armed = None;
            } else if fd == sfd {
                self.signals_buf.clear();
                if let Some(os) = self.ctx.os.as_mut() {
                    // Drain fully: the signalfd is edge-triggered under mio.
                    while let Ok(Some(info)) = os.signalfd.read_signal() {
                        self.signals_buf.push(info.ssi_signo as i32);
                    }
                }
                for i in 0..self.signals_buf.len() {
                    let signo = self.signals_buf[i];
                    n += self.ctx.fire_signal(signo, state);
                }
            } else {
                n += self.ctx.fire_io(fd, r.readable, r.writable, state);
            }
        }
        n
    }
}

/// Raw fd of a nix `TimerFd` (it implements `AsFd` but not `AsRawFd`).
trait AsFdRaw {
    fn as_fd_raw(&self) -> RawFd;
}

impl AsFdRaw for TimerFd {
    fn as_fd_raw(&self) -> RawFd {
        use std::os::fd::AsFd;
        self.as_fd().as_raw_fd()
    }
}

/// The loop without the OS, driven by a [`VirtualClock`], for the simulator and for tests.
/// Dereferences to [`Ctx`], so daemon code adds threads exactly as with [`Loop`].
pub struct VirtualLoop<S> {
    ctx: Ctx<S>,
    clock: VirtualClock,
}

impl<S> fmt::Debug for VirtualLoop<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualLoop")
            .field("ctx", &self.ctx)
            .finish()
    }
}

impl<S> Deref for VirtualLoop<S> {
    type Target = Ctx<S>;
    fn deref(&self) -> &Ctx<S> {
        &self.ctx
    }
}

impl<S> DerefMut for VirtualLoop<S> {
    fn deref_mut(&mut self) -> &mut Ctx<S> {
        &mut self.ctx
    }
}

impl<S> VirtualLoop<S> {
    /// A virtual loop on `clock` with [`LoopConfig::virtual_default`] (1 µs tick).
    pub fn new(clock: VirtualClock) -> Self {
        Self::with_config(clock, LoopConfig::virtual_default())
    }

    /// A virtual loop on `clock` with `config`.
    pub fn with_config(clock: VirtualClock, config: LoopConfig) -> Self {
        let ctx = Ctx::new(ClockSource::Virtual(clock.clone()), config, None);
        VirtualLoop { ctx, clock }
    }

    /// The clock driving this loop.
    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// One turn at the clock's current time: queued child exits, at most K due timers, then the
    /// events queued before the turn. Returns the number of callbacks run.
    pub fn turn(&mut self, state: &mut S) -> usize {
        let events_before = self.ctx.events.len();
        self.ctx.update_now();
        self.ctx.run_due(events_before, state)
    }

    /// If something is due at or before `limit`, moves the clock to that time (never
    /// backwards), runs one turn and returns the time; otherwise moves the clock to `limit` and
    /// returns `None`. Lets the simulator interleave its own inputs and bound the steps.
    pub fn step(&mut self, limit: Instant, state: &mut S) -> Option<Instant> {
        self.ctx.update_now();
        match self.ctx.next_wakeup() {
            Some(w) if w <= limit => {
                if w > self.clock.now() {
                    self.clock.set(w);
                }
                self.turn(state);
                Some(self.clock.now())
            }
            _ => {
                if limit > self.clock.now() {
                    self.clock.set(limit);
                }
                self.ctx.update_now();
                None
            }
        }
    }

    /// Runs every thread due up to and including `t`, jumping the clock from deadline to
    /// deadline, and leaves the clock at `t`. Returns the number of callbacks run. Threads that
    /// keep re-adding themselves at the same instant make this loop forever: use
    /// [`VirtualLoop::step`] to bound the work.
    pub fn run_until(&mut self, t: Instant, state: &mut S) -> usize {
        let mut n = 0;
        loop {
            let events_before = self.ctx.events.len();
            self.ctx.update_now();
            match self.ctx.next_wakeup() {
                Some(w) if w <= t => {
                    if w > self.clock.now() {
                        self.clock.set(w);
                    }
                    self.ctx.update_now();
                    n += self.ctx.run_due(events_before, state);
                }
                _ => break,
            }
        }
        if t > self.clock.now() {
            self.clock.set(t);
        }
        self.ctx.update_now();
        n
    }

    /// Delivers readiness of virtual fd `fd` as epoll would. Returns callbacks run.
    pub fn inject_io(&mut self, fd: RawFd, readable: bool, writable: bool, state: &mut S) -> usize {
        self.ctx.update_now();
        let n = self.ctx.fire_io(fd, readable, writable, state);
        self.ctx.sync_fds();
        n
    }

    /// Delivers signal `signo` to its signal thread, if any. Returns callbacks run.
    pub fn inject_signal(&mut self, signo: i32, state: &mut S) -> usize {
        self.ctx.update_now();
        self.ctx.fire_signal(signo, state)
    }

    /// Reports that child `pid` ended with `status`; its thread runs on the next turn. Returns
    /// `false` if no child thread waits for `pid`.
    pub fn inject_child_exit(&mut self, pid: i32, status: ChildStatus) -> bool {
        match self.ctx.children.remove(&pid).and_then(|c| c.thread) {
            Some(id) => {
                self.ctx.child_exits.push_back((id, pid, status));
                true
            }
            None => false,
        }
    }
}
