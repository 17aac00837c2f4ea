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

/// One non-blocking write (`MSG_NOSIGNAL`): `Ok(Some(n))` bytes written, `Ok(None)` when
/// the socket's buffer is full.
pub fn send_some(fd: &impl AsFd, buf: &[u8]) -> std::io::Result<Option<usize>> {
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd());
    let flags = socket::MsgFlags::MSG_NOSIGNAL | socket::MsgFlags::MSG_DONTWAIT;
    match socket::send(raw, buf, flags) {
        Ok(n) => Ok(Some(n)),
        Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The datagram sockets of PING_CHECK, UDP_CHECK and DNS_CHECK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DgramKind {
    /// An unprivileged ICMP echo ("ping") socket.
    Ping,
    /// A UDP socket reporting ICMP errors (`IP_RECVERR` / `IPV6_RECVERR`).
    Udp,
}

/// A non-blocking datagram socket with the checker's options, connected to its target
/// (port 0 for a ping socket, which has none). A ping socket needs the process's group in
/// `net.ipv4.ping_group_range`: when it is refused for that reason the range is widened
/// to take in group 0, as keepalived does, and the socket tried once more.
pub fn dgram_connect(c: &ConnOpts, kind: DgramKind) -> std::io::Result<OwnedFd> {
    let v4 = c.dst_addr.is_ipv4();
    let family = if v4 {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let proto = match (kind, v4) {
        (DgramKind::Ping, true) => Some(socket::SockProtocol::Icmp),
        (DgramKind::Ping, false) => Some(socket::SockProtocol::IcmpV6),
        (DgramKind::Udp, _) => None,
    };
    let open = || {
        socket::socket(
            family,
            SockType::Datagram,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            proto,
        )
    };
    let fd = match open() {
        Err(nix::errno::Errno::EACCES) if kind == DgramKind::Ping && widen_ping_group_range() => {
            open()
        }
        r => r,
    }
    .map_err(|e| {
        if kind == DgramKind::Ping {
            std::io::Error::other(format!(
                "cannot open an ICMP ping socket ({e}); is group 0 in net.ipv4.ping_group_range?"
            ))
        } else {
            e.into()
        }
    })?;
    if kind == DgramKind::Udp {
        if v4 {
            setsockopt(&fd, sockopt::Ipv4RecvErr, &true)?;
        } else {
            setsockopt(&fd, sockopt::Ipv6RecvErr, &true)?;
        }
    }
    if c.fwmark != 0 {
        setsockopt(&fd, sockopt::Mark, &c.fwmark)?;
    }
    if let Some(dev) = &c.bind_if {
        setsockopt(&fd, sockopt::BindToDevice, &OsString::from(dev))?;
    }
    let port = |p: u16| if kind == DgramKind::Ping { 0 } else { p };
    if c.bind_addr.is_some() || (c.bind_port.is_some() && kind == DgramKind::Udp) {
        let ip = c.bind_addr.unwrap_or(if v4 {
            IpAddr::from([0u8; 4])
        } else {
            IpAddr::from([0u16; 8])
        });
        let local = SockaddrStorage::from(SocketAddr::new(ip, port(c.bind_port.unwrap_or(0))));
        socket::bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &local)?;
    }
    let dst = SocketAddr::new(c.dst_addr, port(c.dst_port));
    socket::connect(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrStorage::from(dst),
    )?;
    Ok(fd)
}

/// Widens `net.ipv4.ping_group_range` (of the current network namespace) to take in group
/// 0 when it does not; whether it was changed.
fn widen_ping_group_range() -> bool {
    const PATH: &str = "/proc/sys/net/ipv4/ping_group_range";
    let Ok(text) = std::fs::read_to_string(PATH) else {
        return false;
    };
    let mut it = text.split_whitespace().map(str::parse::<u32>);
    let (lo, hi) = match (it.next(), it.next()) {
        (Some(Ok(lo)), Some(Ok(hi))) => (lo, hi),
        _ => return false,
    };
    if lo == 0 && hi >= lo {
        return false;
    }
    // The kernel's "nobody" default is "1 0"; keep a valid upper bound when there is one.
    let hi = if hi >= lo { hi } else { 0 };
    let ok = std::fs::write(PATH, format!("0\t{hi}\n")).is_ok();
    if ok {
        log::info!(target: "check", "set net.ipv4.ping_group_range to 0 {hi} for PING_CHECK");
    }
    ok
}

/// One non-blocking read of a datagram socket: `Ok(Some(n))` bytes, `Ok(None)` when
/// nothing is there, `Err(errno)` for a pending socket error (an ICMP error reported by
/// `IP_RECVERR`, e.g. `ECONNREFUSED`).
pub fn recv_dgram(fd: &impl AsFd, buf: &mut [u8]) -> Result<Option<usize>, i32> {
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd());
    match socket::recv(raw, buf, socket::MsgFlags::MSG_DONTWAIT) {
        Ok(n) => Ok(Some(n)),
        Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => Ok(None),
        Err(e) => Err(e as i32),
    }
}
