//! Network namespaces: entering one by name (`ip netns` names under /run/netns) or path, for
//! keepalived's `net_namespace` and for tests that open sockets inside a namespace.
//!
//! `setns` moves only the calling thread. Sockets opened afterwards belong to the namespace
//! for their whole life, whichever thread uses them later; /proc/sys/net files opened by the
//! thread are the namespace's.

use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use super::sys;

/// Where `ip netns` keeps named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// The path of a namespace given by name (`/run/netns/NAME`) or by path (anything with a `/`).
pub fn path_of(name: &str) -> PathBuf {
    if name.contains('/') {
        PathBuf::from(name)
    } else {
        Path::new(NETNS_RUN_DIR).join(name)
    }
}

/// Moves the calling thread into the network namespace `name` (or path).
pub fn enter(name: &str) -> io::Result<()> {
    let path = path_of(name);
    let f = std::fs::File::open(&path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("open network namespace {}: {e}", path.display()),
        )
    })?;
    sys::setns_net(f.as_fd()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("enter network namespace {}: {e}", path.display()),
        )
    })
}

/// Runs `f` on a new thread inside the namespace and returns its result. Whatever `f` opens
/// (sockets, netlink clients) stays in that namespace and may be returned and used from any
/// thread.
pub fn run_in<T, F>(name: &str, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let name = name.to_string();
    std::thread::spawn(move || -> io::Result<T> {
        enter(&name)?;
        Ok(f())
    })
    .join()
    .map_err(|_| io::Error::other("thread in network namespace panicked"))?
}
