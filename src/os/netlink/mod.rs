//! rtnetlink (NETLINK_ROUTE) for the VRRP side: a synchronous command client (addresses,
//! routes, rules, links, dumps) and, in [`crate::os::link_monitor`], a non-blocking monitor.
//!
//! The command client sends one request with `NLM_F_ACK` and reads until the `NLMSG_ERROR`
//! whose sequence number matches; stale replies (an earlier timed-out request) are skipped.
//! Kernel errors become `io::Error`s naming the operation and its target, with the kernel's
//! extended-ack text when it gives one: `add address 192.0.2.100/32 dev eth0: File exists
//! (os error 17)`. The raw errno stays available through [`errno`].
//!
//! The codec ([`codec`]) is pure and never panics on kernel input; messages it cannot parse
//! are counted in [`NetlinkClient::malformed`] and skipped.

pub mod codec;
pub mod genl;

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::sys::socket::{
    bind, getsockname, recv, send, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
    SockType,
};

pub use codec::{
    AddrInfo, AddrRequest, LinkInfo, MacvlanMode, MacvlanRequest, NextHop, RouteAddMode, RouteInfo,
    RouteRequest, RuleInfo, RuleRequest,
};
use codec::{MsgBuilder, NlMsgIter};

use super::sys;

/// `SOL_NETLINK` option numbers.
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;
/// Receive buffer for command replies and dumps (one datagram holds many messages).
pub(crate) const RX_BUF: usize = 64 * 1024;
/// How long a command waits for the kernel before giving up (it always answers; this only
/// keeps a wedged kernel from wedging the daemon).
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The error of an OS operation, with what was attempted on what. Carried inside an
/// `io::Error` (of the errno's kind); [`errno`] gets the number back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsOpError {
    /// `add address 192.0.2.100/32 dev eth0`.
    pub what: String,
    /// Positive errno.
    pub errno: i32,
    /// The kernel's extended-ack message, if any.
    pub kernel_msg: Option<String>,
}

impl fmt::Display for OsOpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let os = io::Error::from_raw_os_error(self.errno);
        write!(f, "{}: {os}", self.what)?;
        if let Some(m) = &self.kernel_msg {
            write!(f, " ({m})")?;
        }
        Ok(())
    }
}

impl std::error::Error for OsOpError {}

impl OsOpError {
    fn into_io(self) -> io::Error {
        let kind = io::Error::from_raw_os_error(self.errno).kind();
        io::Error::new(kind, self)
    }
}

/// The errno of an error from this module (or any raw OS error).
pub fn errno(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<OsOpError>())
            .map(|o| o.errno)
    })
}

fn with_context(e: io::Error, what: impl fmt::Display) -> io::Error {
    match e.raw_os_error() {
        Some(errno) => OsOpError {
            what: what.to_string(),
            errno,
            kernel_msg: None,
        }
        .into_io(),
        None => io::Error::new(e.kind(), format!("{what}: {e}")),
    }
}

/// Opens a NETLINK_ROUTE socket bound to `groups` (0 for a command socket).
pub(crate) fn open_route_socket(groups: u32, nonblocking: bool) -> io::Result<(OwnedFd, u32)> {
    let mut flags = SockFlag::SOCK_CLOEXEC;
    if nonblocking {
        flags |= SockFlag::SOCK_NONBLOCK;
    }
    let fd = nix::sys::socket::socket(
        AddressFamily::Netlink,
        SockType::Raw,
        flags,
        SockProtocol::NetlinkRoute,
    )?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
    let local: NetlinkAddr = getsockname(fd.as_raw_fd())?;
    Ok((fd, local.pid()))
}

/// A blocking request/reply netlink socket of `protocol` (rtnetlink, generic netlink):
/// extended and capped acks where the kernel has them, and a reply timeout so that a kernel
/// that never answers cannot hang the caller. Returns the socket and its port id.
pub(crate) fn open_command_socket(protocol: SockProtocol) -> io::Result<(OwnedFd, u32)> {
    let fd = nix::sys::socket::socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        protocol,
    )?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
    let local: NetlinkAddr = getsockname(fd.as_raw_fd())?;
    // Best effort: older kernels lack these.
    let _ = sys::setsockopt_int(fd.as_fd(), libc::SOL_NETLINK, NETLINK_EXT_ACK, 1);
    let _ = sys::setsockopt_int(fd.as_fd(), libc::SOL_NETLINK, NETLINK_CAP_ACK, 1);
    let tv = libc::timeval {
        tv_sec: REPLY_TIMEOUT.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    sys::setsockopt(fd.as_fd(), libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
    Ok((fd, local.pid()))
}

/// A synchronous rtnetlink command client. Not for the event loop: each call blocks until
/// the kernel answers (microseconds).
pub struct NetlinkClient {
    fd: OwnedFd,
    pid: u32,
    seq: u32,
    tx: MsgBuilder,
    rx: Vec<u8>,
    malformed: u64,
}

impl NetlinkClient {
    /// Opens the command socket (extended acks on, echoed requests capped).
    pub fn open() -> io::Result<NetlinkClient> {
        let (fd, pid) = open_command_socket(SockProtocol::NetlinkRoute)?;
        Ok(NetlinkClient {
            fd,
            pid,
            seq: 1,
            tx: MsgBuilder::default(),
            rx: vec![0; RX_BUF],
            malformed: 0,
        })
    }

    /// Kernel messages that could not be parsed and were skipped.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// The socket, for diagnostics.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    fn send_built(&mut self) -> io::Result<()> {
        let msg = self.tx.finish();
        send(self.fd.as_raw_fd(), msg, MsgFlags::empty())?;
        Ok(())
    }

    fn recv_datagram(&mut self) -> io::Result<usize> {
        loop {
            match recv(self.fd.as_raw_fd(), &mut self.rx, MsgFlags::empty()) {
                Ok(n) => return Ok(n),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends the built request and waits for its ACK: `Ok(None)` on success,
    /// `Ok(Some((errno, kernel message)))` when the kernel refused, `Err` on a socket error.
    fn transact(&mut self, seq: u32) -> io::Result<Option<(i32, Option<String>)>> {
        self.send_built()?;
        loop {
            let n = self.recv_datagram()?;
            for m in NlMsgIter::new(&self.rx[..n]) {
                let Ok(m) = m else {
                    self.malformed += 1;
                    continue;
                };
                if m.ty != codec::NLMSG_ERROR || m.seq != seq || m.pid != self.pid {
                    continue;
                }
                match codec::parse_ack(m.flags, m.payload) {
                    Ok(ack) if ack.error == 0 => return Ok(None),
                    Ok(ack) => return Ok(Some((ack.error.saturating_neg(), ack.message))),
                    Err(_) => self.malformed += 1,
                }
            }
        }
    }

    /// Sends the built dump request and collects every message of the reply, parsed by
    /// `parse`. A dump interrupted by a concurrent change (`NLM_F_DUMP_INTR`) is retried by
    /// the caller through `Interrupted`.
    fn dump<T>(
        &mut self,
        seq: u32,
        what: &str,
        mut parse: impl FnMut(u16, &[u8]) -> Option<Result<T, codec::NlParseError>>,
    ) -> io::Result<Vec<T>> {
        self.send_built().map_err(|e| with_context(e, what))?;
        let mut out = Vec::new();
        let mut interrupted = false;
        loop {
            let n = self.recv_datagram().map_err(|e| with_context(e, what))?;
            for m in NlMsgIter::new(&self.rx[..n]) {
                let m = match m {
                    Ok(m) => m,
                    Err(_) => {
                        self.malformed += 1;
                        continue;
                    }
                };
                if m.seq != seq || m.pid != self.pid {
                    continue;
                }
                if m.flags & codec::NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match m.ty {
                    codec::NLMSG_DONE => {
                        if interrupted {
                            return Err(io::Error::new(
                                io::ErrorKind::Interrupted,
                                format!("{what}: dump interrupted by a concurrent change"),
                            ));
                        }
                        return Ok(out);
                    }
                    codec::NLMSG_ERROR => match codec::parse_ack(m.flags, m.payload) {
                        Ok(ack) if ack.error != 0 => {
                            return Err(OsOpError {
                                what: what.to_string(),
                                errno: ack.error.saturating_neg(),
                                kernel_msg: ack.message,
                            }
                            .into_io())
                        }
                        Ok(_) => return Ok(out),
                        Err(_) => self.malformed += 1,
                    },
                    ty => match parse(ty, m.payload) {
                        Some(Ok(v)) => out.push(v),
                        Some(Err(_)) => self.malformed += 1,
                        None => {}
                    },
                }
            }
        }
    }

    fn dump_retrying<T>(
        &mut self,
        ty: u16,
        family: u8,
        what: &str,
        parse: impl Fn(u16, &[u8]) -> Option<Result<T, codec::NlParseError>>,
    ) -> io::Result<Vec<T>> {
        let mut tries = 0;
        loop {
            let seq = self.next_seq();
            codec::build_dump(&mut self.tx, ty, family, seq);
            match self.dump(seq, what, &parse) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted && tries < 5 => tries += 1,
                r => return r,
            }
        }
    }

    /// Every interface.
    pub fn dump_links(&mut self) -> io::Result<Vec<LinkInfo>> {
        self.dump_retrying(
            codec::RTM_GETLINK,
            codec::AF_UNSPEC,
            "dump links",
            |ty, p| (ty == codec::RTM_NEWLINK).then(|| codec::parse_link(p)),
        )
    }

    /// Every address of `family` (`None`: both).
    pub fn dump_addresses(&mut self, family: Option<u8>) -> io::Result<Vec<AddrInfo>> {
        self.dump_retrying(
            codec::RTM_GETADDR,
            family.unwrap_or(codec::AF_UNSPEC),
            "dump addresses",
            |ty, p| (ty == codec::RTM_NEWADDR).then(|| codec::parse_addr(p)),
        )
    }

    /// Every route of `family` (`None`: both), all tables.
    pub fn dump_routes(&mut self, family: Option<u8>) -> io::Result<Vec<RouteInfo>> {
        self.dump_retrying(
            codec::RTM_GETROUTE,
            family.unwrap_or(codec::AF_UNSPEC),
            "dump routes",
            |ty, p| (ty == codec::RTM_NEWROUTE).then(|| codec::parse_route(p)),
        )
    }

    /// Every rule of `family` (`None`: both).
    pub fn dump_rules(&mut self, family: Option<u8>) -> io::Result<Vec<RuleInfo>> {
        self.dump_retrying(
            codec::RTM_GETRULE,
            family.unwrap_or(codec::AF_UNSPEC),
            "dump rules",
            |ty, p| (ty == codec::RTM_NEWRULE).then(|| codec::parse_rule(p)),
        )
    }

    /// One interface by index; `Ok(None)` if there is none.
    pub fn link_by_index(&mut self, ifindex: u32) -> io::Result<Option<LinkInfo>> {
        self.get_link(ifindex, None)
    }

    /// One interface by name; `Ok(None)` if there is none.
    pub fn link_by_name(&mut self, name: &str) -> io::Result<Option<LinkInfo>> {
        self.get_link(0, Some(name))
    }

    fn get_link(&mut self, ifindex: u32, name: Option<&str>) -> io::Result<Option<LinkInfo>> {
        let seq = self.next_seq();
        codec::build_get_link(&mut self.tx, seq, ifindex, name);
        let what = match name {
            Some(n) => format!("get link {n}"),
            None => format!("get link ifindex {ifindex}"),
        };
        match self.dump(seq, &what, |ty, p| {
            (ty == codec::RTM_NEWLINK).then(|| codec::parse_link(p))
        }) {
            Ok(mut v) => Ok(v.pop()),
            Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The name of `ifindex` for messages ("ifindex N" when it cannot be found).
    fn dev_name(&mut self, ifindex: u32) -> String {
        match self.get_link(ifindex, None) {
            Ok(Some(l)) if !l.name.is_empty() => l.name,
            _ => format!("ifindex {ifindex}"),
        }
    }

    /// Runs the built command; on failure names it with `what`, which may look the interface
    /// name up (only then).
    fn run(&mut self, seq: u32, what: impl Fn(&mut Self) -> String) -> io::Result<()> {
        match self.transact(seq) {
            Ok(None) => Ok(()),
            Ok(Some((errno, kernel_msg))) => Err(OsOpError {
                what: what(self),
                errno,
                kernel_msg,
            }
            .into_io()),
            Err(e) => Err(with_context(e, what(self))),
        }
    }

    /// `ip addr add`.
    pub fn add_address(&mut self, req: &AddrRequest) -> io::Result<()> {
        self.address(req, true)
    }

    /// `ip addr del`.
    pub fn del_address(&mut self, req: &AddrRequest) -> io::Result<()> {
        self.address(req, false)
    }

    fn address(&mut self, req: &AddrRequest, add: bool) -> io::Result<()> {
        let seq = self.next_seq();
        codec::build_addr(&mut self.tx, seq, req, add);
        self.run(seq, |c| {
            format!(
                "{} address {}/{} dev {}",
                if add { "add" } else { "delete" },
                req.addr,
                req.prefix_len,
                c.dev_name(req.ifindex)
            )
        })
    }

    /// `ip route add|prepend|append|replace`.
    pub fn add_route(&mut self, req: &RouteRequest) -> io::Result<()> {
        self.route(req, true)
    }

    /// `ip route del`.
    pub fn del_route(&mut self, req: &RouteRequest) -> io::Result<()> {
        self.route(req, false)
    }

    fn route(&mut self, req: &RouteRequest, add: bool) -> io::Result<()> {
        let seq = self.next_seq();
        codec::build_route(&mut self.tx, seq, req, add);
        self.run(seq, |c| {
            let mut s = format!("{} route {}", if add { "add" } else { "delete" }, dst(req));
            if let Some(g) = req.gateway {
                s += &format!(" via {g}");
            }
            if let Some(o) = req.oif {
                s += &format!(" dev {}", c.dev_name(o));
            }
            if req.table != codec::RT_TABLE_MAIN {
                s += &format!(" table {}", req.table);
            }
            s
        })
    }

    /// `ip rule add`.
    pub fn add_rule(&mut self, req: &RuleRequest) -> io::Result<()> {
        self.rule(req, true)
    }

    /// `ip rule del`.
    pub fn del_rule(&mut self, req: &RuleRequest) -> io::Result<()> {
        self.rule(req, false)
    }

    fn rule(&mut self, req: &RuleRequest, add: bool) -> io::Result<()> {
        let seq = self.next_seq();
        codec::build_rule(&mut self.tx, seq, req, add);
        self.run(seq, |_| {
            let mut s = format!("{} rule", if add { "add" } else { "delete" });
            if let Some((a, l)) = req.src {
                s += &format!(" from {a}/{l}");
            }
            if let Some((a, l)) = req.dst {
                s += &format!(" to {a}/{l}");
            }
            if let Some(m) = req.fwmark {
                s += &format!(" fwmark {m:#x}");
            }
            if let Some(p) = req.priority {
                s += &format!(" priority {p}");
            }
            s + &format!(" table {}", req.table)
        })
    }

    /// `ip link set dev up|down`.
    pub fn set_link_up(&mut self, ifindex: u32, up: bool) -> io::Result<()> {
        let seq = self.next_seq();
        codec::build_set_link_up(&mut self.tx, seq, ifindex, up);
        self.run(seq, |c| {
            format!(
                "set link {} {}",
                c.dev_name(ifindex),
                if up { "up" } else { "down" }
            )
        })
    }

    /// `ip link set dev addrgenmode none` (no automatic IPv6 link-local address).
    pub fn set_addr_gen_mode_none(&mut self, ifindex: u32) -> io::Result<()> {
        let seq = self.next_seq();
        codec::build_set_addr_gen_mode(&mut self.tx, seq, ifindex, codec::IN6_ADDR_GEN_MODE_NONE);
        self.run(seq, |c| {
            format!("set addrgenmode none on {}", c.dev_name(ifindex))
        })
    }

    /// `ip link add NAME link PARENT address MAC type macvlan mode MODE`.
    pub fn add_macvlan(&mut self, req: &MacvlanRequest) -> io::Result<()> {
        let seq = self.next_seq();
        codec::build_new_macvlan(&mut self.tx, seq, req);
        self.run(seq, |c| {
            format!(
                "create macvlan {} on {}",
                req.name,
                c.dev_name(req.parent_ifindex)
            )
        })
    }

    /// `ip link del`.
    pub fn del_link(&mut self, ifindex: u32) -> io::Result<()> {
        let name = self.dev_name(ifindex);
        let seq = self.next_seq();
        codec::build_del_link(&mut self.tx, seq, ifindex);
        self.run(seq, |_| format!("delete link {name}"))
    }
}

fn dst(req: &RouteRequest) -> String {
    match req.dst {
        None => "default".into(),
        Some((a, l)) => format!("{a}/{l}"),
    }
}

/// The family constant of an address (`AF_INET`, `AF_INET6`).
pub fn family_of(ip: &IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => codec::AF_INET,
        IpAddr::V6(_) => codec::AF_INET6,
    }
}
