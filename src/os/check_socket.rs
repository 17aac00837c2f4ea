//! Sockets of the checkers that probe: a non-blocking TCP connect with keepalived's
//! per-checker options (`bindto`, `bind_port`, `bind_if`, `fwmark`), and its outcome.

use crate::config::model::lvs::ConnOpts;
use nix::sys::socket::{
    self, setsockopt, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage,
};
use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};

/// Where a non-blocking connect stands right after `connect()`.
pub enum Connect {
    /// Connected already (a local peer may accept at once).
    Done(OwnedFd),
    /// Wait for the socket to become writable, then read [`connect_error`].
    InProgress(OwnedFd),
}

/// A non-blocking TCP socket with the checker's options, connecting to its target.
pub fn tcp_connect(c: &ConnOpts) -> std::io::Result<Connect> {
    let dst = SocketAddr::new(c.dst_addr, c.dst_port);
    let family = if dst.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket::socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    if c.fwmark != 0 {
        setsockopt(&fd, sockopt::Mark, &c.fwmark)?;
    }
    if let Some(dev) = &c.bind_if {
        setsockopt(&fd, sockopt::BindToDevice, &OsString::from(dev))?;
    }
    if c.bind_addr.is_some() || c.bind_port.is_some() {
        let ip = c.bind_addr.unwrap_or(if dst.is_ipv4() {
            IpAddr::from([0u8; 4])
        } else {
            IpAddr::from([0u16; 8])
        });
        let local = SockaddrStorage::from(SocketAddr::new(ip, c.bind_port.unwrap_or(0)));
        socket::bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &local)?;
    }
    match socket::connect(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrStorage::from(dst),
    ) {
        Ok(()) => Ok(Connect::Done(fd)),
        Err(nix::errno::Errno::EINPROGRESS) => Ok(Connect::InProgress(fd)),
        Err(e) => Err(e.into()),
    }
}

/// The outcome of a connect that was in progress: `Ok` when it succeeded.
pub fn connect_error(fd: &impl AsFd) -> std::io::Result<()> {
    match socket::getsockopt(fd, sockopt::SocketError)? {
        0 => Ok(()),
        e => Err(std::io::Error::from_raw_os_error(e)),
    }
}

/// Writes `buf` to a connected non-blocking socket in one go (a checker's request is small;
/// a short write counts as a failure). `MSG_NOSIGNAL`: a peer that already closed must not
/// raise SIGPIPE.
pub fn send_all(fd: &impl AsFd, buf: &[u8]) -> std::io::Result<()> {
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd());
    match socket::send(raw, buf, socket::MsgFlags::MSG_NOSIGNAL) {
        Ok(n) if n == buf.len() => Ok(()),
        Ok(n) => Err(std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            format!("short write ({n} of {} bytes)", buf.len()),
        )),
        Err(e) => Err(e.into()),
    }
}

/// One non-blocking read: `Ok(Some(n))` bytes (0 at EOF), `Ok(None)` when nothing is there
/// yet.
pub fn read_some(fd: &impl AsFd, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd());
    match socket::recv(raw, buf, socket::MsgFlags::MSG_DONTWAIT) {
        Ok(n) => Ok(Some(n)),
        Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
