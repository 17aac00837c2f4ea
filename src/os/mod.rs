//! L3: Linux adapters. They translate between the kernel and the engines and make no
//! protocol decisions.
//!
//! All `unsafe` is confined to `sys` (system calls nix does not wrap safely).
#![deny(unsafe_code)]

pub mod bfd_socket;
pub mod check_socket;
pub mod host;
pub mod ipvs;
pub mod link_monitor;
pub mod netlink;
pub mod netns;
pub mod nft;
pub mod packet;
pub mod pm_qos;
#[allow(unsafe_code)]
mod sys;
pub mod sysctl;
pub mod syslog;
pub mod tls;
pub mod vmac;
pub mod vrrp_socket;

pub use sys::{lock_memory, release_free_memory, set_nice, set_realtime};
