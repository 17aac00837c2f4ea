//! L4: the daemon. Command line, logging, pid files, configuration load and reload, and the
//! event loop that routes inputs to the engines.

pub mod cli;
pub mod log;
pub mod pidfile;
