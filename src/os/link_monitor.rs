//! A non-blocking rtnetlink monitor: a NETLINK_ROUTE socket subscribed to link, address
//! (and optionally route and rule) notifications, turned into typed events for L4.
//!
//! The event loop watches [`NetlinkMonitor::as_raw_fd`] and, when it is readable, calls
//! [`NetlinkMonitor::read_events`] until it reports no more (or the loop's budget is spent).
//! When the kernel could not queue a notification (`ENOBUFS`: the socket overran), the
//! monitor emits [`NetEvent::ResyncNeeded`]: the caller re-dumps links and addresses with
//! [`crate::os::netlink::NetlinkClient`] because some change was lost.
//!
//! Messages that do not parse are counted ([`NetlinkMonitor::malformed`]) and skipped.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use nix::sys::socket::{recv, MsgFlags};

use super::netlink::codec::{self, AddrInfo, LinkInfo, NlMsgIter, RouteInfo, RuleInfo};
use super::netlink::open_route_socket;
use super::sys;

/// An interface appeared, changed or was deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEvent {
    pub link: LinkInfo,
    /// RTM_DELLINK.
    pub deleted: bool,
}

/// An address was added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrEvent {
    pub addr: AddrInfo,
    /// RTM_NEWADDR (true) or RTM_DELADDR (false).
    pub added: bool,
}

/// A route was added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEvent {
    pub route: RouteInfo,
    pub added: bool,
}

/// A rule was added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleEvent {
    pub rule: RuleInfo,
    pub added: bool,
}

/// What the monitor reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    Link(LinkEvent),
    Addr(AddrEvent),
    Route(RouteEvent),
    Rule(RuleEvent),
    /// Notifications were lost (socket overrun): re-dump links and addresses.
    ResyncNeeded,
}

/// Which notifications to subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorGroups {
    pub links: bool,
    pub addresses: bool,
    pub routes: bool,
    pub rules: bool,
}

impl Default for MonitorGroups {
    /// Links and addresses (both families).
    fn default() -> Self {
        MonitorGroups {
            links: true,
            addresses: true,
            routes: false,
            rules: false,
        }
    }
}

impl MonitorGroups {
    fn mask(self) -> u32 {
        let mut m = 0;
        if self.links {
            m |= codec::RTMGRP_LINK;
        }
        if self.addresses {
            m |= codec::RTMGRP_IPV4_IFADDR | codec::RTMGRP_IPV6_IFADDR;
        }
        if self.routes {
            m |= codec::RTMGRP_IPV4_ROUTE | codec::RTMGRP_IPV6_ROUTE;
        }
        if self.rules {
            m |= codec::RTMGRP_IPV4_RULE;
        }
        m
    }
}

/// IPv6 rules are notified on group RTNLGRP_IPV6_RULE (19), which has no RTMGRP_ bit.
const RTNLGRP_IPV6_RULE: libc::c_int = 19;
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;
/// A large receive buffer: link flaps on many VLANs produce bursts (keepalived #390).
const RCVBUF: libc::c_int = 4 * 1024 * 1024;

/// The monitor socket.
pub struct NetlinkMonitor {
    fd: OwnedFd,
    buf: Vec<u8>,
    malformed: u64,
    overruns: u64,
}

impl NetlinkMonitor {
    /// Opens a non-blocking monitor subscribed to `groups`.
    pub fn open(groups: MonitorGroups) -> io::Result<NetlinkMonitor> {
        let (fd, _pid) = open_route_socket(groups.mask(), true)?;
        if groups.rules {
            sys::setsockopt_int(
                fd.as_fd(),
                libc::SOL_NETLINK,
                NETLINK_ADD_MEMBERSHIP,
                RTNLGRP_IPV6_RULE,
            )?;
        }
        // SO_RCVBUFFORCE needs CAP_NET_ADMIN, which the daemon has; fall back otherwise.
        if sys::setsockopt_int(fd.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF).is_err()
        {
            let _ = sys::setsockopt_int(fd.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF);
        }
        Ok(NetlinkMonitor {
            fd,
            buf: vec![0; 64 * 1024],
            malformed: 0,
            overruns: 0,
        })
    }

    /// Sets the socket receive buffer (`SO_RCVBUFFORCE`, else `SO_RCVBUF`, which the kernel
    /// doubles and caps at `net.core.rmem_max`).
    pub fn set_rcvbuf(&self, bytes: usize) -> io::Result<()> {
        let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        sys::setsockopt_int(self.fd.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, v)
            .or_else(|_| sys::setsockopt_int(self.fd.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, v))
    }

    /// The fd for the event loop (readable when notifications are queued).
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Notifications that could not be parsed.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Times the socket overran (each produced a [`NetEvent::ResyncNeeded`]).
    pub fn overruns(&self) -> u64 {
        self.overruns
    }

    /// Reads at most `max_datagrams` datagrams (each may hold many messages) and appends
    /// their events to `out`. Returns `Ok(true)` if it stopped at the budget (more may be
    /// queued), `Ok(false)` once the socket is drained.
    pub fn read_events(
        &mut self,
        out: &mut Vec<NetEvent>,
        max_datagrams: usize,
    ) -> io::Result<bool> {
        for _ in 0..max_datagrams {
            match recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::empty()) {
                Ok(n) => self.decode(n, out),
                Err(nix::errno::Errno::EAGAIN) => return Ok(false),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::ENOBUFS) => {
                    self.overruns += 1;
                    if out.last() != Some(&NetEvent::ResyncNeeded) {
                        out.push(NetEvent::ResyncNeeded);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }

    fn decode(&mut self, n: usize, out: &mut Vec<NetEvent>) {
        for m in NlMsgIter::new(&self.buf[..n]) {
            let Ok(m) = m else {
                self.malformed += 1;
                continue;
            };
            let ev = match m.ty {
                codec::RTM_NEWLINK | codec::RTM_DELLINK => {
                    codec::parse_link(m.payload).map(|link| {
                        NetEvent::Link(LinkEvent {
                            link,
                            deleted: m.ty == codec::RTM_DELLINK,
                        })
                    })
                }
                codec::RTM_NEWADDR | codec::RTM_DELADDR => {
                    codec::parse_addr(m.payload).map(|addr| {
                        NetEvent::Addr(AddrEvent {
                            addr,
                            added: m.ty == codec::RTM_NEWADDR,
                        })
                    })
                }
                codec::RTM_NEWROUTE | codec::RTM_DELROUTE => {
                    codec::parse_route(m.payload).map(|route| {
                        NetEvent::Route(RouteEvent {
                            route,
                            added: m.ty == codec::RTM_NEWROUTE,
                        })
                    })
                }
                codec::RTM_NEWRULE | codec::RTM_DELRULE => {
                    codec::parse_rule(m.payload).map(|rule| {
                        NetEvent::Rule(RuleEvent {
                            rule,
                            added: m.ty == codec::RTM_NEWRULE,
                        })
                    })
                }
                codec::NLMSG_OVERRUN => Ok(NetEvent::ResyncNeeded),
                _ => continue,
            };
            match ev {
                Ok(e) => out.push(e),
                Err(_) => self.malformed += 1,
            }
        }
    }
}
