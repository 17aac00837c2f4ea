//! The IPVS side as data (L1, sans-IO): the table of virtual services and their
//! destinations that the configuration and the real servers' health ask for, and the
//! operations that bring the kernel's table to it. `os::ipvs` carries the operations to the
//! kernel over generic netlink; the simulator applies them to a fake table.
//!
//! - [`table`]: the kernel's objects and operations.
//! - [`build`]: configuration to services and destinations (reference §4.1), reload keys.
//! - [`engine`]: [`Lvs`], the desired-state engine: health, quorum, sorry server, start,
//!   shutdown (§4.2, §4.3); [`reload`](Lvs::reload) lives in `reload.rs`.
//! - [`event`]: what the engine reports, with keepalived's log lines.

pub mod build;
pub mod engine;
pub mod event;
pub mod kernel;
mod reload;
pub mod table;

pub use build::{RsKey, ServiceEntry, VsKey};
pub use engine::{InstalledService, Lvs, LvsOptions, RsRef};
pub use event::{GroupEntryText, LvsEvent, Output, QuorumDownReason};
pub use table::{Dest, DestKey, IpvsOp, Service, ServiceKey};
