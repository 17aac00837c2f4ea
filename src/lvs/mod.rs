//! The IPVS side as data (L1, sans-IO): the table of virtual services and their
//! destinations that the configuration and the real servers' health ask for, and the
//! operations that bring the kernel's table to it. `os::ipvs` carries the operations to the
//! kernel over generic netlink; the simulator applies them to a fake table.

pub mod table;

pub use table::{Dest, DestKey, IpvsOp, Service, ServiceKey};
