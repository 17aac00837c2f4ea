//! keepalived-rs: a drop-in, memory-safe reimplementation of keepalived.
//!
//! Layers (DESIGN.md section 1): `config` (keepalived.conf front end), `os` (Linux adapters),
//! `daemon` (command line, logging, pid files, wiring). The scheduler lives in its own crate.
#![forbid(unsafe_code)]

pub mod config;
pub mod daemon;
pub mod os;
pub mod wire;
