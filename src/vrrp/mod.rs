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
//! `-D` (detail) is at debug level, and so is "received lower priority (N) advert from X -
//! discarding" (keepalived logs it at info for every advert while preempting).
//!
//! Deliberate differences from keepalived 2.2.7:
//! * An invalid advert does not reset a master's adver timer (keepalived re-arms it after
//!   every packet read, so a stream of bad packets could silence a master); a backup's
//!   master-down timer is left alone by ignored adverts, as keepalived effectively does.
//! * A VRRPv3 count or VIP mismatch is logged and counted, not dropped (reference §3.2,
//!   keepalived ≥ 2.3); adverts with trailing bytes (Ethernet padding, HMAC trailers) are
//!   accepted and counted.
//! * Two owners (both 255): the one with the lower address yields at once (reduced to 254).
//! * A tracked VIP deleted behind our back sends the master to FAULT (priority 0, VIPs
//!   removed) and straight back to BACKUP; the VIPs return with the next MASTER transition.

// Not implemented here (yet): `timer_expired_backup`, `garp_extra_if` / VMAC and ipvlan
// interfaces, `auth_hmac`, static addresses/routes/rules and `track_group`,
// `unicast_fault_no_peer`, the AH sequence-number "cycle" reset.
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
