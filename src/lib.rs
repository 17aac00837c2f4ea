//! keepalived-rs: a drop-in, memory-safe reimplementation of keepalived.
//!
//! Layers (DESIGN.md section 1): `config` (keepalived.conf front end), `os` (Linux adapters),
//! `daemon` (command line, logging, pid files, wiring). The scheduler lives in its own crate.
// unsafe is denied everywhere except in `os` (DESIGN.md §8), whose system-call helpers
// live in `os::sys`.
#![deny(unsafe_code)]

pub mod bfd;
pub mod check;
pub mod config;
pub mod daemon;
pub mod lvs;
#[allow(unsafe_code)]
pub mod os;
pub mod track;
pub mod vrrp;
pub mod wire;
