//! keepalived-rs scheduler (L2): time, timers and the event loop. It knows no protocol.
//!
//! * [`Instant`] (our own microsecond `u64`), [`Clock`], [`MonotonicClock`], [`VirtualClock`],
//!   and [`realtime`] for L4's wall-clock stamps: [`clock`].
//! * [`TimerWheel`]: a hierarchical timer wheel with O(1) insert and cancel, deadlines rounded
//!   up to a fine tick, and a documented firing order: [`wheel`].
//! * [`Loop`] and [`VirtualLoop`]: keepalived's I/O multiplexer "threads" (timers, fd readiness
//!   with timeouts, events, signals through signalfd, children with timeouts) over mio, a
//!   CLOCK_MONOTONIC timerfd and signalfd, or over a virtual clock for the simulator:
//!   [`event_loop`].
//!
//! The only `unsafe` code is in the private `sys` module (signal sets that hold real-time
//! signals, `waitpid`, `kill`); everything else goes through nix's safe wrappers.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod arena;
pub mod clock;
pub mod event_loop;
mod sys;
pub mod wheel;

pub use clock::{
    duration_to_micros_ceil, realtime, Clock, Instant, MonotonicClock, VirtualClock, WallClock,
};
pub use event_loop::{
    signals, Callback, ChildStatus, Ctx, Fired, Loop, LoopConfig, Ready, ThreadId, VirtualLoop,
    DEFAULT_CHILD_KILL_GRACE, DEFAULT_CHILD_POLL_INTERVAL, DEFAULT_MAX_IO_EVENTS,
    DEFAULT_MAX_TIMERS_PER_TURN, READ_BUDGET,
};
pub use std::time::Duration;
pub use wheel::{Expired, TimerId, TimerWheel, DEFAULT_TICK, LEVELS};
