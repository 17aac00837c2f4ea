//! L3: Linux adapters. They translate between the kernel and the engines and make no
//! protocol decisions.

pub mod host;
pub mod syslog;
