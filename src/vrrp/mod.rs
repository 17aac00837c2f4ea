//! L1 VRRP engine (sans-IO): VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798, RFC 9568) for IPv4
//! and IPv6, with keepalived's behaviour (reference §3): its receive checks and counters,
//! preemption rules, priority 0 and owner handling, tracking and effective priority, sync
//! groups, GARP/NA scheduling, notifications in keepalived's order and reload matching.
//!
//! The engine never reads a clock, opens a socket or iterates a hash map (DESIGN.md §1):
//! [`Router::handle`] takes an owned [`Input`] and the current [`scheduler::Instant`],
//! [`Router::handle_timeout`] runs the timers that are due, [`Router::poll_timeout`] says
//! when to call it next, and everything to do comes out as [`Action`]s in a reused
//! [`Outbox`]. Timer arithmetic is integer microseconds ([`skew_time_us`],
//! [`master_down_interval_us`]).
//!
//! | module | what | keepalived / RFC |
//! |---|---|---|
//! | [`params`] | [`RouterConfig`], built from the typed model | `vrrp_data.c`, `vrrp.c:vrrp_complete_instance` |
//! | `router` | dispatch, trackers, timers, notifications, shutdown | `vrrp_scheduler.c`, `vrrp_notify.c` |
//! | `fsm` | the state machine and sync groups | `vrrp.c`, `vrrp_sync.c`; RFC 5798 §6.4 |
//! | `rx` | receive checks, BACKUP and MASTER handlers | `vrrp.c:vrrp_check_packet`; RFC 5798 §7.1 |
//! | `tx` | adverts, GARP/NA bursts and pacing | `vrrp_send_adv`, `vrrp_arp.c`, `vrrp_ndisc.c` |
//! | `reload` | SIGHUP matching and diffs | `vrrp_daemon.c:reload_vrrp_thread` |
//!
//! Logging uses target `vrrp` with keepalived's wording; what keepalived logs only with
//! `-D` (detail) is at debug level.
#![forbid(unsafe_code)]

mod fsm;
mod instance;
mod io;
pub mod params;
mod reload;
mod router;
mod rx;
mod stats;
mod tx;

pub use instance::{master_down_interval_us, skew_min_us, skew_time_us, Instance};
pub use io::{Action, Input, InterfaceInfo, NotifyKind, NotifyState, Outbox, State};
pub use params::{
    Auth, FileConfig, GarpGroupConfig, GarpParams, InstanceConfig, ProcessConfig, RouterConfig,
    ScriptConfig, SyncGroupConfig, UnicastPeer, VipSpec,
};
pub use router::{Router, SyncGroup};
pub use stats::{DecodeErrorKind, InstanceStats, RouterCounters};

pub use crate::track::{BfdId, FileId, ProcId, ScriptId, Target, TrackRef};
