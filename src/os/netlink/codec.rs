//! rtnetlink message codec: building requests and parsing kernel messages, pure byte work
//! with no socket. Every read is bounds-checked first; a malformed message is an
//! [`NlParseError`], never a panic (a seeded random-bytes test below holds it to that).
//!
//! Layouts (linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h, linux/fib_rules.h, all in
//! host byte order): `nlmsghdr` (16 bytes) then a family header (`ifinfomsg` 16, `ifaddrmsg`
//! 8, `rtmsg` 12, `fib_rule_hdr` 12) then `rtattr`s (`u16 len, u16 type`, data, 4-byte
//! aligned), possibly nested.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::MacAddr;

// --- constants (linux uapi) -------------------------------------------------------------

pub const NLMSG_HDR_LEN: usize = 16;
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLM_F_APPEND: u16 = 0x800;
/// In an NLMSG_ERROR: the original request's payload was not echoed.
pub const NLM_F_CAPPED: u16 = 0x100;
/// In an NLMSG_ERROR: extended-ack attributes follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;

pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_DELROUTE: u16 = 25;
pub const RTM_GETROUTE: u16 = 26;
pub const RTM_NEWRULE: u16 = 32;
pub const RTM_DELRULE: u16 = 33;
pub const RTM_GETRULE: u16 = 34;

pub const AF_UNSPEC: u8 = 0;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

pub const IFF_UP: u32 = 0x1;
pub const IFF_RUNNING: u32 = 0x40;
pub const IFF_LOWER_UP: u32 = 0x1_0000;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
const IFLA_AF_SPEC: u16 = 26;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_MACVLAN_MODE: u16 = 1;
const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
/// `IN6_ADDR_GEN_MODE_NONE`: no automatic link-local address (RFC 5798 §7.4 via keepalived).
pub const IN6_ADDR_GEN_MODE_NONE: u8 = 1;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;

pub const IFA_F_SECONDARY: u32 = 0x01;
pub const IFA_F_NODAD: u32 = 0x02;
pub const IFA_F_OPTIMISTIC: u32 = 0x04;
pub const IFA_F_DADFAILED: u32 = 0x08;
pub const IFA_F_HOMEADDRESS: u32 = 0x10;
pub const IFA_F_DEPRECATED: u32 = 0x20;
pub const IFA_F_TENTATIVE: u32 = 0x40;
pub const IFA_F_PERMANENT: u32 = 0x80;
pub const IFA_F_MANAGETEMPADDR: u32 = 0x100;
pub const IFA_F_NOPREFIXROUTE: u32 = 0x200;
pub const IFA_F_MCAUTOJOIN: u32 = 0x400;
/// Lifetime value meaning "forever".
pub const INFINITY_LIFE_TIME: u32 = 0xffff_ffff;

const RTA_DST: u16 = 1;
const RTA_SRC: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_METRICS: u16 = 8;
const RTA_MULTIPATH: u16 = 9;
const RTA_FLOW: u16 = 11;
const RTA_TABLE: u16 = 15;
const RTA_PREF: u16 = 20;
const RTAX_LOCK: u16 = 1;

pub const RT_TABLE_UNSPEC: u32 = 0;
pub const RT_TABLE_MAIN: u32 = 254;
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_LINK: u8 = 253;
pub const RT_SCOPE_HOST: u8 = 254;
pub const RT_SCOPE_NOWHERE: u8 = 255;
pub const RTPROT_BOOT: u8 = 3;
pub const RTN_UNSPEC: u8 = 0;
pub const RTN_UNICAST: u8 = 1;
pub const RTN_LOCAL: u8 = 2;
pub const RTN_BROADCAST: u8 = 3;
pub const RTN_ANYCAST: u8 = 4;
pub const RTN_MULTICAST: u8 = 5;
pub const RTN_BLACKHOLE: u8 = 6;
pub const RTN_UNREACHABLE: u8 = 7;
pub const RTN_PROHIBIT: u8 = 8;
pub const RTN_THROW: u8 = 9;
pub const RTN_NAT: u8 = 10;
pub const RTNH_F_ONLINK: u8 = 4;

const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_GOTO: u16 = 4;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_FLOW: u16 = 11;
const FRA_TUN_ID: u16 = 12;
const FRA_SUPPRESS_IFGROUP: u16 = 13;
const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
const FRA_L3MDEV: u16 = 19;
const FRA_UID_RANGE: u16 = 20;
const FRA_PROTOCOL: u16 = 21;
const FRA_IP_PROTO: u16 = 22;
const FRA_SPORT_RANGE: u16 = 23;
const FRA_DPORT_RANGE: u16 = 24;
pub const FIB_RULE_INVERT: u32 = 0x2;
pub const FR_ACT_TO_TBL: u8 = 1;
pub const FR_ACT_GOTO: u8 = 2;
pub const FR_ACT_NOP: u8 = 3;
pub const FR_ACT_BLACKHOLE: u8 = 6;
pub const FR_ACT_UNREACHABLE: u8 = 7;
pub const FR_ACT_PROHIBIT: u8 = 8;

const NLA_TYPE_MASK: u16 = 0x3fff;
const NLA_F_NESTED: u16 = 0x8000;

/// Netlink multicast groups (`RTMGRP_*` bit masks for `sockaddr_nl.nl_groups`).
pub const RTMGRP_LINK: u32 = 0x1;
pub const RTMGRP_IPV4_IFADDR: u32 = 0x10;
pub const RTMGRP_IPV4_ROUTE: u32 = 0x40;
pub const RTMGRP_IPV4_RULE: u32 = 0x80;
pub const RTMGRP_IPV6_IFADDR: u32 = 0x100;
pub const RTMGRP_IPV6_ROUTE: u32 = 0x400;

// --- parse errors ------------------------------------------------------------------------

/// Why a kernel message was not understood (counted and dropped by the callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NlParseError {
    /// A header or structure claims more bytes than there are.
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    /// A header length below its minimum.
    BadLength { what: &'static str, len: usize },
    /// An address attribute whose length fits no family.
    BadAddress { len: usize },
}

impl fmt::Display for NlParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NlParseError::Truncated { what, need, have } => {
                write!(f, "truncated {what}: need {need} bytes, have {have}")
            }
            NlParseError::BadLength { what, len } => write!(f, "bad {what} length {len}"),
            NlParseError::BadAddress { len } => write!(f, "bad address length {len}"),
        }
    }
}

impl std::error::Error for NlParseError {}

fn need(what: &'static str, buf: &[u8], n: usize) -> Result<(), NlParseError> {
    if buf.len() < n {
        return Err(NlParseError::Truncated {
            what,
            need: n,
            have: buf.len(),
        });
    }
    Ok(())
}

fn ne_u16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn ne_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

// --- message iteration ------------------------------------------------------------------

/// One netlink message, borrowed from the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlMsg<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
    /// The bytes after the 16-byte header, up to the header's length.
    pub payload: &'a [u8],
}

/// Iterates over the messages of one datagram. After an error it yields nothing more (the
/// rest of the datagram cannot be framed).
pub struct NlMsgIter<'a> {
    rest: &'a [u8],
}

impl<'a> NlMsgIter<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        NlMsgIter { rest: buf }
    }
}

impl<'a> Iterator for NlMsgIter<'a> {
    type Item = Result<NlMsg<'a>, NlParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        if let Err(e) = need("nlmsghdr", b, NLMSG_HDR_LEN) {
            self.rest = &[];
            return Some(Err(e));
        }
        let len = ne_u32(b, 0) as usize;
        if len < NLMSG_HDR_LEN {
            self.rest = &[];
            return Some(Err(NlParseError::BadLength {
                what: "nlmsghdr",
                len,
            }));
        }
        if len > b.len() {
            self.rest = &[];
            return Some(Err(NlParseError::Truncated {
                what: "netlink message",
                need: len,
                have: b.len(),
            }));
        }
        let msg = NlMsg {
            ty: ne_u16(b, 4),
            flags: ne_u16(b, 6),
            seq: ne_u32(b, 8),
            pid: ne_u32(b, 12),
            payload: &b[NLMSG_HDR_LEN..len],
        };
        self.rest = &b[align4(len).min(b.len())..];
        Some(Ok(msg))
    }
}

/// Iterates over `rtattr`s: `(type without the NESTED/BYTEORDER bits, data)`. Stops at the
/// first malformed attribute and records it in [`AttrIter::error`].
pub struct AttrIter<'a> {
    rest: &'a [u8],
    pub error: Option<NlParseError>,
}

impl<'a> AttrIter<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        AttrIter {
            rest: buf,
            error: None,
        }
    }
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.rest;
        if b.len() < 4 {
            // Fewer than 4 trailing bytes is alignment slack, not an error.
            self.rest = &[];
            return None;
        }
        let len = usize::from(ne_u16(b, 0));
        let ty = ne_u16(b, 2) & NLA_TYPE_MASK;
        if len < 4 || len > b.len() {
            self.error = Some(NlParseError::BadLength {
                what: "rtattr",
                len,
            });
            self.rest = &[];
            return None;
        }
        self.rest = &b[align4(len).min(b.len())..];
        Some((ty, &b[4..len]))
    }
}

fn attr_u32(data: &[u8]) -> Option<u32> {
    (data.len() >= 4).then(|| ne_u32(data, 0))
}

fn attr_str(data: &[u8]) -> String {
    let end = data.iter().position(|&c| c == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

fn attr_ip(data: &[u8]) -> Result<IpAddr, NlParseError> {
    match data.len() {
        4 => Ok(IpAddr::V4(Ipv4Addr::new(
            data[0], data[1], data[2], data[3],
        ))),
        16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(data);
            Ok(IpAddr::V6(Ipv6Addr::from(o)))
        }
        len => Err(NlParseError::BadAddress { len }),
    }
}

// --- typed kernel objects ----------------------------------------------------------------

/// An interface as the kernel reports it (RTM_NEWLINK / RTM_DELLINK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub name: String,
    /// `IFF_*` flags.
    pub flags: u32,
    /// IFF_UP: administratively up.
    pub up: bool,
    /// IFF_RUNNING: operationally up.
    pub running: bool,
    /// IFF_LOWER_UP: carrier.
    pub lower_up: bool,
    /// The hardware address when it is 6 bytes (Ethernet).
    pub mac: Option<MacAddr>,
    pub mtu: Option<u32>,
    /// `IFLA_INFO_KIND` (`veth`, `macvlan`, ...).
    pub kind: Option<String>,
    /// `IFLA_LINK`: the lower device (a macvlan's parent, a veth's peer index).
    pub link: Option<u32>,
    /// `IFLA_OPERSTATE` (RFC 2863 `IF_OPER_*`).
    pub operstate: Option<u8>,
    /// The `ifi_type` (ARPHRD_*).
    pub hw_type: u16,
}

impl LinkInfo {
    /// Up for VRRP (keepalived's `IF_FLAGS_UP`): administratively up, and running or with
    /// carrier.
    pub fn is_up(&self) -> bool {
        self.up && (self.running || self.lower_up)
    }
}

/// Parses an `ifinfomsg` message payload.
pub fn parse_link(payload: &[u8]) -> Result<LinkInfo, NlParseError> {
    need("ifinfomsg", payload, 16)?;
    let flags = ne_u32(payload, 8);
    let mut link = LinkInfo {
        ifindex: ne_u32(payload, 4),
        name: String::new(),
        flags,
        up: flags & IFF_UP != 0,
        running: flags & IFF_RUNNING != 0,
        lower_up: flags & IFF_LOWER_UP != 0,
        mac: None,
        mtu: None,
        kind: None,
        link: None,
        operstate: None,
        hw_type: ne_u16(payload, 2),
    };
    let mut attrs = AttrIter::new(&payload[16..]);
    for (ty, data) in attrs.by_ref() {
        match ty {
            IFLA_ADDRESS if data.len() == 6 => {
                let mut m = [0u8; 6];
                m.copy_from_slice(data);
                link.mac = Some(m);
            }
            IFLA_IFNAME => link.name = attr_str(data),
            IFLA_MTU => link.mtu = attr_u32(data),
            IFLA_LINK => link.link = attr_u32(data),
            IFLA_OPERSTATE => link.operstate = data.first().copied(),
            IFLA_LINKINFO => {
                let mut inner = AttrIter::new(data);
                for (ity, idata) in inner.by_ref() {
                    if ity == IFLA_INFO_KIND {
                        link.kind = Some(attr_str(idata));
                    }
                }
                if let Some(e) = inner.error {
                    return Err(e);
                }
            }
            _ => {}
        }
    }
    if let Some(e) = attrs.error {
        return Err(e);
    }
    Ok(link)
}

/// An address as the kernel reports it (RTM_NEWADDR / RTM_DELADDR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    pub ifindex: u32,
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// The local address (`IFA_LOCAL`, else `IFA_ADDRESS`).
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// `IFA_F_*` (from `IFA_FLAGS` when present, which has all 32 bits).
    pub flags: u32,
    pub scope: u8,
    pub label: Option<String>,
    /// The peer (`IFA_ADDRESS` when it differs from `IFA_LOCAL`).
    pub peer: Option<IpAddr>,
    pub broadcast: Option<Ipv4Addr>,
    /// (preferred, valid) lifetimes in seconds; [`INFINITY_LIFE_TIME`] is forever.
    pub lifetimes: Option<(u32, u32)>,
}

/// Parses an `ifaddrmsg` message payload.
pub fn parse_addr(payload: &[u8]) -> Result<AddrInfo, NlParseError> {
    need("ifaddrmsg", payload, 8)?;
    let family = payload[0];
    let mut flags = u32::from(payload[2]);
    let (mut local, mut address, mut label, mut broadcast, mut lifetimes) =
        (None, None, None, None, None);
    let mut attrs = AttrIter::new(&payload[8..]);
    for (ty, data) in attrs.by_ref() {
        match ty {
            IFA_ADDRESS => address = Some(attr_ip(data)?),
            IFA_LOCAL => local = Some(attr_ip(data)?),
            IFA_LABEL => label = Some(attr_str(data)),
            IFA_BROADCAST => {
                if let IpAddr::V4(b) = attr_ip(data)? {
                    broadcast = Some(b);
                }
            }
            IFA_CACHEINFO if data.len() >= 8 => {
                lifetimes = Some((ne_u32(data, 0), ne_u32(data, 4)));
            }
            IFA_FLAGS => flags = attr_u32(data).unwrap_or(flags),
            _ => {}
        }
    }
    if let Some(e) = attrs.error {
        return Err(e);
    }
    let addr = local
        .or(address)
        .ok_or(NlParseError::BadAddress { len: 0 })?;
    let peer = match (local, address) {
        (Some(l), Some(a)) if l != a => Some(a),
        _ => None,
    };
    Ok(AddrInfo {
        ifindex: ne_u32(payload, 4),
        family,
        addr,
        prefix_len: payload[1],
        flags,
        scope: payload[3],
        label,
        peer,
        broadcast,
        lifetimes,
    })
}

/// A route as the kernel reports it (the fields the daemon tracks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub family: u8,
    /// `None` for a default route.
    pub dst: Option<IpAddr>,
    pub dst_len: u8,
    pub table: u32,
    pub protocol: u8,
    pub scope: u8,
    pub route_type: u8,
    pub oif: Option<u32>,
    pub gateway: Option<IpAddr>,
    pub priority: Option<u32>,
    pub pref_src: Option<IpAddr>,
}

/// Parses an `rtmsg` message payload.
pub fn parse_route(payload: &[u8]) -> Result<RouteInfo, NlParseError> {
    need("rtmsg", payload, 12)?;
    let mut r = RouteInfo {
        family: payload[0],
        dst: None,
        dst_len: payload[1],
        table: u32::from(payload[4]),
        protocol: payload[5],
        scope: payload[6],
        route_type: payload[7],
        oif: None,
        gateway: None,
        priority: None,
        pref_src: None,
    };
    let mut attrs = AttrIter::new(&payload[12..]);
    for (ty, data) in attrs.by_ref() {
        match ty {
            RTA_DST => r.dst = Some(attr_ip(data)?),
            RTA_OIF => r.oif = attr_u32(data),
            RTA_GATEWAY => r.gateway = Some(attr_ip(data)?),
            RTA_PRIORITY => r.priority = attr_u32(data),
            RTA_PREFSRC => r.pref_src = Some(attr_ip(data)?),
            RTA_TABLE => r.table = attr_u32(data).unwrap_or(r.table),
            _ => {}
        }
    }
    if let Some(e) = attrs.error {
        return Err(e);
    }
    Ok(r)
}

/// A policy-routing rule as the kernel reports it (the fields the daemon tracks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    pub family: u8,
    pub action: u8,
    pub table: u32,
    pub priority: Option<u32>,
    pub src: Option<(IpAddr, u8)>,
    pub dst: Option<(IpAddr, u8)>,
    pub fwmark: Option<u32>,
    pub iifname: Option<String>,
    pub oifname: Option<String>,
    pub flags: u32,
}

/// Parses a `fib_rule_hdr` message payload.
pub fn parse_rule(payload: &[u8]) -> Result<RuleInfo, NlParseError> {
    need("fib_rule_hdr", payload, 12)?;
    let (dst_len, src_len) = (payload[1], payload[2]);
    let mut r = RuleInfo {
        family: payload[0],
        action: payload[7],
        table: u32::from(payload[4]),
        priority: None,
        src: None,
        dst: None,
        fwmark: None,
        iifname: None,
        oifname: None,
        flags: ne_u32(payload, 8),
    };
    let mut attrs = AttrIter::new(&payload[12..]);
    for (ty, data) in attrs.by_ref() {
        match ty {
            FRA_DST => r.dst = Some((attr_ip(data)?, dst_len)),
            FRA_SRC => r.src = Some((attr_ip(data)?, src_len)),
            FRA_PRIORITY => r.priority = attr_u32(data),
            FRA_TABLE => r.table = attr_u32(data).unwrap_or(r.table),
            FRA_FWMARK => r.fwmark = attr_u32(data),
            FRA_IIFNAME => r.iifname = Some(attr_str(data)),
            FRA_OIFNAME => r.oifname = Some(attr_str(data)),
            _ => {}
        }
    }
    if let Some(e) = attrs.error {
        return Err(e);
    }
    Ok(r)
}

/// An `NLMSG_ERROR` payload: the errno (0 for an ACK), the sequence of the request it
/// answers, and the kernel's extended-ack message when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlAck {
    /// Negative errno as the kernel sends it; 0 is success.
    pub error: i32,
    pub request_seq: u32,
    pub message: Option<String>,
}

/// Parses an `NLMSG_ERROR` payload (`int error; struct nlmsghdr msg; [payload]; [TLVs]`).
pub fn parse_ack(flags: u16, payload: &[u8]) -> Result<NlAck, NlParseError> {
    need("nlmsgerr", payload, 4 + NLMSG_HDR_LEN)?;
    let error = i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
    let orig_len = ne_u32(payload, 4) as usize;
    let request_seq = ne_u32(payload, 12);
    let mut message = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        let echoed = if flags & NLM_F_CAPPED != 0 || error == 0 {
            NLMSG_HDR_LEN
        } else {
            orig_len.max(NLMSG_HDR_LEN)
        };
        let start = 4 + align4(echoed);
        if let Some(tlvs) = payload.get(start..) {
            for (ty, data) in AttrIter::new(tlvs) {
                if ty == NLMSGERR_ATTR_MSG {
                    let m = attr_str(data);
                    if !m.is_empty() {
                        message = Some(m);
                    }
                }
            }
        }
    }
    Ok(NlAck {
        error,
        request_seq,
        message,
    })
}

// --- message building --------------------------------------------------------------------

/// Builds one netlink request in a reusable buffer.
#[derive(Debug, Default)]
pub struct MsgBuilder {
    buf: Vec<u8>,
}

impl MsgBuilder {
    /// Starts a message (the length is filled by [`MsgBuilder::finish`]).
    pub fn start(&mut self, ty: u16, flags: u16, seq: u32) {
        self.buf.clear();
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
    }

    /// Appends raw bytes (a family header), padded to 4 bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.pad();
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    /// Appends one attribute.
    pub fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    pub fn attr_u32(&mut self, ty: u16, v: u32) {
        self.attr(ty, &v.to_ne_bytes());
    }

    /// A NUL-terminated string attribute.
    pub fn attr_str(&mut self, ty: u16, s: &str) {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.attr(ty, &v);
    }

    pub fn attr_ip(&mut self, ty: u16, ip: IpAddr) {
        match ip {
            IpAddr::V4(a) => self.attr(ty, &a.octets()),
            IpAddr::V6(a) => self.attr(ty, &a.octets()),
        }
    }

    /// Opens a nested attribute; close it with [`MsgBuilder::nest_end`].
    pub fn nest_start(&mut self, ty: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        at
    }

    pub fn nest_end(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// Sets the length and returns the message.
    pub fn finish(&mut self) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        &self.buf
    }
}

fn ifinfomsg(family: u8, ifindex: u32, flags: u32, change: u32) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0] = family;
    h[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    h[8..12].copy_from_slice(&flags.to_ne_bytes());
    h[12..16].copy_from_slice(&change.to_ne_bytes());
    h
}

fn family_of(ip: &IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    }
}

/// A dump request (`RTM_GET*` with `NLM_F_DUMP`) for `family` (AF_UNSPEC for all).
pub fn build_dump(b: &mut MsgBuilder, ty: u16, family: u8, seq: u32) {
    b.start(ty, NLM_F_REQUEST | NLM_F_DUMP, seq);
    match ty {
        RTM_GETLINK => b.push(&ifinfomsg(family, 0, 0, 0)),
        RTM_GETADDR => b.push(&[family, 0, 0, 0, 0, 0, 0, 0]),
        _ => b.push(&[family, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    }
}

/// `RTM_GETLINK` for one interface, by index (when non-zero) or by name.
pub fn build_get_link(b: &mut MsgBuilder, seq: u32, ifindex: u32, name: Option<&str>) {
    b.start(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    b.push(&ifinfomsg(AF_UNSPEC, ifindex, 0, 0));
    if let Some(n) = name {
        b.attr_str(IFLA_IFNAME, n);
    }
}

/// `RTM_NEWLINK` changing IFF_UP of an interface.
pub fn build_set_link_up(b: &mut MsgBuilder, seq: u32, ifindex: u32, up: bool) {
    b.start(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    b.push(&ifinfomsg(
        AF_UNSPEC,
        ifindex,
        if up { IFF_UP } else { 0 },
        IFF_UP,
    ));
}

/// `RTM_NEWLINK` setting the IPv6 address generation mode (`ip link set DEV addrgenmode`).
pub fn build_set_addr_gen_mode(b: &mut MsgBuilder, seq: u32, ifindex: u32, mode: u8) {
    b.start(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    b.push(&ifinfomsg(AF_UNSPEC, ifindex, 0, 0));
    let spec = b.nest_start(IFLA_AF_SPEC);
    let inet6 = b.nest_start(u16::from(AF_INET6));
    b.attr(IFLA_INET6_ADDR_GEN_MODE, &[mode]);
    b.nest_end(inet6);
    b.nest_end(spec);
}

/// `RTM_DELLINK`.
pub fn build_del_link(b: &mut MsgBuilder, seq: u32, ifindex: u32) {
    b.start(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    b.push(&ifinfomsg(AF_UNSPEC, ifindex, 0, 0));
}

/// macvlan modes (`MACVLAN_MODE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacvlanMode {
    Private,
    Vepa,
    Bridge,
    Passthru,
    Source,
}

impl MacvlanMode {
    fn value(self) -> u32 {
        match self {
            MacvlanMode::Private => 1,
            MacvlanMode::Vepa => 2,
            MacvlanMode::Bridge => 4,
            MacvlanMode::Passthru => 8,
            MacvlanMode::Source => 16,
        }
    }
}

/// A macvlan interface to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacvlanRequest {
    pub parent_ifindex: u32,
    pub name: String,
    pub mac: MacAddr,
    pub mode: MacvlanMode,
}

/// `RTM_NEWLINK` creating a macvlan (`ip link add NAME link PARENT address MAC type macvlan
/// mode MODE`), exclusive.
pub fn build_new_macvlan(b: &mut MsgBuilder, seq: u32, req: &MacvlanRequest) {
    b.start(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq,
    );
    b.push(&ifinfomsg(AF_UNSPEC, 0, 0, 0));
    let info = b.nest_start(IFLA_LINKINFO);
    b.attr(IFLA_INFO_KIND, b"macvlan");
    let data = b.nest_start(IFLA_INFO_DATA);
    b.attr_u32(IFLA_MACVLAN_MODE, req.mode.value());
    b.nest_end(data);
    b.nest_end(info);
    b.attr_u32(IFLA_LINK, req.parent_ifindex);
    b.attr_str(IFLA_IFNAME, &req.name);
    b.attr(IFLA_ADDRESS, &req.mac);
}

/// An address to add or delete (`ip addr add|del ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrRequest {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// IPv4 broadcast (`brd`); the caller computes `+`/`-`.
    pub broadcast: Option<Ipv4Addr>,
    /// IPv4 label (`eth0:vip`).
    pub label: Option<String>,
    /// `RT_SCOPE_*`; `None` lets the kernel choose (universe).
    pub scope: Option<u8>,
    pub peer: Option<IpAddr>,
    /// `IFA_F_*` (NODAD, HOMEADDRESS, MANAGETEMPADDR, NOPREFIXROUTE, MCAUTOJOIN).
    pub flags: u32,
    /// Preferred lifetime in seconds (0 = deprecated); `None` = forever. Sent with a valid
    /// lifetime of forever in `IFA_CACHEINFO`.
    pub preferred_lft: Option<u32>,
}

impl AddrRequest {
    /// A plain `ADDR/LEN dev IFINDEX`.
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> AddrRequest {
        AddrRequest {
            ifindex,
            addr,
            prefix_len,
            broadcast: None,
            label: None,
            scope: None,
            peer: None,
            flags: 0,
            preferred_lft: None,
        }
    }
}

/// `RTM_NEWADDR` (`add`: create, exclusive) or `RTM_DELADDR`, as `ip addr` builds them.
pub fn build_addr(b: &mut MsgBuilder, seq: u32, req: &AddrRequest, add: bool) {
    let flags = if add {
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    } else {
        NLM_F_REQUEST | NLM_F_ACK
    };
    b.start(if add { RTM_NEWADDR } else { RTM_DELADDR }, flags, seq);
    let mut h = [0u8; 8];
    h[0] = family_of(&req.addr);
    h[1] = req.prefix_len;
    h[2] = (req.flags & 0xff) as u8;
    h[3] = req.scope.unwrap_or(RT_SCOPE_UNIVERSE);
    h[4..8].copy_from_slice(&req.ifindex.to_ne_bytes());
    b.push(&h);
    b.attr_ip(IFA_LOCAL, req.addr);
    b.attr_ip(IFA_ADDRESS, req.peer.unwrap_or(req.addr));
    if !add {
        return;
    }
    if let Some(brd) = req.broadcast {
        b.attr(IFA_BROADCAST, &brd.octets());
    }
    if let Some(l) = &req.label {
        b.attr_str(IFA_LABEL, l);
    }
    if req.flags > 0xff {
        b.attr_u32(IFA_FLAGS, req.flags);
    }
    if let Some(p) = req.preferred_lft {
        let mut ci = [0u8; 16];
        ci[0..4].copy_from_slice(&p.to_ne_bytes());
        ci[4..8].copy_from_slice(&INFINITY_LIFE_TIME.to_ne_bytes());
        b.attr(IFA_CACHEINFO, &ci);
    }
}

/// How a route is added (`ip route add|prepend|append|replace`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RouteAddMode {
    /// `add`: NLM_F_CREATE | NLM_F_EXCL.
    Add,
    /// `prepend` (keepalived's default): NLM_F_CREATE.
    #[default]
    Prepend,
    /// `append`: NLM_F_CREATE | NLM_F_APPEND.
    Append,
    /// `replace`: NLM_F_CREATE | NLM_F_REPLACE.
    Replace,
}

/// One path of a multipath route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NextHop {
    pub gateway: Option<IpAddr>,
    pub ifindex: Option<u32>,
    /// 1..=256 (stored by the kernel as weight-1).
    pub weight: Option<u16>,
    pub onlink: bool,
    pub realms: Option<u32>,
}

/// A route to add or delete (`ip route add|del ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRequest {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// Destination and prefix length; `None` for `default`.
    pub dst: Option<(IpAddr, u8)>,
    /// IPv6 source prefix (`from`).
    pub src_prefix: Option<(IpAddr, u8)>,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
    /// Preferred source (`src`).
    pub pref_src: Option<IpAddr>,
    /// Table id (254 = main).
    pub table: u32,
    /// `metric`/`priority`.
    pub priority: Option<u32>,
    /// `RTPROT_*`; `None`: `boot` on add, unspecified on delete (as `ip route`).
    pub protocol: Option<u8>,
    /// `RT_SCOPE_*`; `None`: chosen as `ip route` does.
    pub scope: Option<u8>,
    /// `RTN_*` (unicast, blackhole, unreachable, prohibit, throw, local, ...).
    pub route_type: u8,
    pub onlink: bool,
    pub tos: u8,
    pub realms: Option<u32>,
    /// IPv6 router preference (`pref`).
    pub pref: Option<u8>,
    /// `RTAX_*` metrics `(id, value)`; `metrics_lock` is the `RTAX_LOCK` bit mask.
    pub metrics: Vec<(u16, u32)>,
    pub metrics_lock: u32,
    pub nexthops: Vec<NextHop>,
    pub add_mode: RouteAddMode,
}

impl RouteRequest {
    /// A unicast route in the main table.
    pub fn new(family: u8, dst: Option<(IpAddr, u8)>) -> RouteRequest {
        RouteRequest {
            family,
            dst,
            src_prefix: None,
            gateway: None,
            oif: None,
            pref_src: None,
            table: RT_TABLE_MAIN,
            priority: None,
            protocol: None,
            scope: None,
            route_type: RTN_UNICAST,
            onlink: false,
            tos: 0,
            realms: None,
            pref: None,
            metrics: Vec::new(),
            metrics_lock: 0,
            nexthops: Vec::new(),
            add_mode: RouteAddMode::default(),
        }
    }

    /// The scope `ip route` would pick when none is given.
    fn default_scope(&self, add: bool) -> u8 {
        if self.family == AF_INET6 {
            return RT_SCOPE_UNIVERSE;
        }
        match self.route_type {
            RTN_LOCAL | RTN_NAT => RT_SCOPE_HOST,
            RTN_BROADCAST | RTN_MULTICAST | RTN_ANYCAST => RT_SCOPE_LINK,
            RTN_UNICAST | RTN_UNSPEC if !add => RT_SCOPE_NOWHERE,
            RTN_UNICAST if self.gateway.is_none() && self.nexthops.is_empty() => RT_SCOPE_LINK,
            _ => RT_SCOPE_UNIVERSE,
        }
    }
}

/// `RTM_NEWROUTE` or `RTM_DELROUTE`.
pub fn build_route(b: &mut MsgBuilder, seq: u32, req: &RouteRequest, add: bool) {
    let flags = if add {
        NLM_F_REQUEST
            | NLM_F_ACK
            | match req.add_mode {
                RouteAddMode::Add => NLM_F_CREATE | NLM_F_EXCL,
                RouteAddMode::Prepend => NLM_F_CREATE,
                RouteAddMode::Append => NLM_F_CREATE | NLM_F_APPEND,
                RouteAddMode::Replace => NLM_F_CREATE | NLM_F_REPLACE,
            }
    } else {
        NLM_F_REQUEST | NLM_F_ACK
    };
    b.start(if add { RTM_NEWROUTE } else { RTM_DELROUTE }, flags, seq);
    let table_byte = if req.table < 256 {
        req.table as u8
    } else {
        RT_TABLE_UNSPEC as u8
    };
    let protocol = req.protocol.unwrap_or(if add { RTPROT_BOOT } else { 0 });
    let scope = req.scope.unwrap_or_else(|| req.default_scope(add));
    let mut rflags = 0u32;
    if req.onlink {
        rflags |= u32::from(RTNH_F_ONLINK);
    }
    let mut h = [0u8; 12];
    h[0] = req.family;
    h[1] = req.dst.map_or(0, |d| d.1);
    h[2] = req.src_prefix.map_or(0, |s| s.1);
    h[3] = req.tos;
    h[4] = table_byte;
    h[5] = protocol;
    h[6] = scope;
    h[7] = req.route_type;
    h[8..12].copy_from_slice(&rflags.to_ne_bytes());
    b.push(&h);
    b.attr_u32(RTA_TABLE, req.table);
    if let Some((d, _)) = req.dst {
        b.attr_ip(RTA_DST, d);
    }
    if let Some((s, _)) = req.src_prefix {
        b.attr_ip(RTA_SRC, s);
    }
    if let Some(g) = req.gateway {
        b.attr_ip(RTA_GATEWAY, g);
    }
    if let Some(o) = req.oif {
        b.attr_u32(RTA_OIF, o);
    }
    if let Some(p) = req.pref_src {
        b.attr_ip(RTA_PREFSRC, p);
    }
    if let Some(p) = req.priority {
        b.attr_u32(RTA_PRIORITY, p);
    }
    if let Some(r) = req.realms {
        b.attr_u32(RTA_FLOW, r);
    }
    if let Some(p) = req.pref {
        b.attr(RTA_PREF, &[p]);
    }
    if !req.metrics.is_empty() || req.metrics_lock != 0 {
        let m = b.nest_start(RTA_METRICS);
        if req.metrics_lock != 0 {
            b.attr_u32(RTAX_LOCK, req.metrics_lock);
        }
        for &(id, v) in &req.metrics {
            b.attr_u32(id, v);
        }
        b.nest_end(m);
    }
    if !req.nexthops.is_empty() {
        build_multipath(b, &req.nexthops);
    }
}

fn build_multipath(b: &mut MsgBuilder, hops: &[NextHop]) {
    let mp = b.nest_start(RTA_MULTIPATH);
    for nh in hops {
        // struct rtnexthop { u16 len; u8 flags; u8 hops; int ifindex; } then attributes.
        let at = b.buf.len();
        let mut h = [0u8; 8];
        h[2] = if nh.onlink { RTNH_F_ONLINK } else { 0 };
        h[3] = nh.weight.map_or(0, |w| w.saturating_sub(1).min(255) as u8);
        h[4..8].copy_from_slice(&nh.ifindex.unwrap_or(0).to_ne_bytes());
        b.push(&h);
        if let Some(g) = nh.gateway {
            b.attr_ip(RTA_GATEWAY, g);
        }
        if let Some(r) = nh.realms {
            b.attr_u32(RTA_FLOW, r);
        }
        let len = (b.buf.len() - at) as u16;
        b.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }
    // The nest flag is not expected on RTA_MULTIPATH by older kernels; clear it.
    let ty = RTA_MULTIPATH.to_ne_bytes();
    b.buf[mp + 2..mp + 4].copy_from_slice(&ty);
    b.nest_end(mp);
}

/// A policy-routing rule to add or delete (`ip rule add|del ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRequest {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// `not`.
    pub invert: bool,
    pub src: Option<(IpAddr, u8)>,
    pub dst: Option<(IpAddr, u8)>,
    pub priority: Option<u32>,
    pub tos: u8,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub realms: Option<u32>,
    pub iifname: Option<String>,
    pub oifname: Option<String>,
    pub suppress_prefixlen: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
    pub tunnel_id: Option<u64>,
    pub uid_range: Option<(u32, u32)>,
    pub protocol: Option<u8>,
    pub ip_proto: Option<u8>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
    pub l3mdev: bool,
    /// `FR_ACT_*`.
    pub action: u8,
    /// For `FR_ACT_TO_TBL`.
    pub table: u32,
    /// For `FR_ACT_GOTO`.
    pub goto: Option<u32>,
}

impl RuleRequest {
    /// `lookup TABLE` with nothing else.
    pub fn lookup(family: u8, table: u32) -> RuleRequest {
        RuleRequest {
            family,
            invert: false,
            src: None,
            dst: None,
            priority: None,
            tos: 0,
            fwmark: None,
            fwmask: None,
            realms: None,
            iifname: None,
            oifname: None,
            suppress_prefixlen: None,
            suppress_ifgroup: None,
            tunnel_id: None,
            uid_range: None,
            protocol: None,
            ip_proto: None,
            sport: None,
            dport: None,
            l3mdev: false,
            action: FR_ACT_TO_TBL,
            table,
            goto: None,
        }
    }
}

fn range_bytes(r: (u16, u16)) -> [u8; 4] {
    let mut v = [0u8; 4];
    v[0..2].copy_from_slice(&r.0.to_ne_bytes());
    v[2..4].copy_from_slice(&r.1.to_ne_bytes());
    v
}

/// `RTM_NEWRULE` (create, exclusive, as `ip rule add`) or `RTM_DELRULE`.
pub fn build_rule(b: &mut MsgBuilder, seq: u32, req: &RuleRequest, add: bool) {
    let flags = if add {
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    } else {
        NLM_F_REQUEST | NLM_F_ACK
    };
    b.start(if add { RTM_NEWRULE } else { RTM_DELRULE }, flags, seq);
    let mut h = [0u8; 12];
    h[0] = req.family;
    h[1] = req.dst.map_or(0, |d| d.1);
    h[2] = req.src.map_or(0, |s| s.1);
    h[3] = req.tos;
    h[4] = if req.table < 256 { req.table as u8 } else { 0 };
    h[7] = req.action;
    let rflags = if req.invert { FIB_RULE_INVERT } else { 0 };
    h[8..12].copy_from_slice(&rflags.to_ne_bytes());
    b.push(&h);
    if req.action == FR_ACT_TO_TBL && !req.l3mdev {
        b.attr_u32(FRA_TABLE, req.table);
    }
    if let Some((a, _)) = req.src {
        b.attr_ip(FRA_SRC, a);
    }
    if let Some((a, _)) = req.dst {
        b.attr_ip(FRA_DST, a);
    }
    if let Some(p) = req.priority {
        b.attr_u32(FRA_PRIORITY, p);
    }
    if let Some(m) = req.fwmark {
        b.attr_u32(FRA_FWMARK, m);
    }
    if let Some(m) = req.fwmask {
        b.attr_u32(FRA_FWMASK, m);
    }
    if let Some(r) = req.realms {
        b.attr_u32(FRA_FLOW, r);
    }
    if let Some(n) = &req.iifname {
        b.attr_str(FRA_IIFNAME, n);
    }
    if let Some(n) = &req.oifname {
        b.attr_str(FRA_OIFNAME, n);
    }
    if let Some(v) = req.suppress_prefixlen {
        b.attr_u32(FRA_SUPPRESS_PREFIXLEN, v);
    }
    if let Some(v) = req.suppress_ifgroup {
        b.attr_u32(FRA_SUPPRESS_IFGROUP, v);
    }
    if let Some(v) = req.tunnel_id {
        b.attr(FRA_TUN_ID, &v.to_be_bytes());
    }
    if let Some((lo, hi)) = req.uid_range {
        let mut v = [0u8; 8];
        v[0..4].copy_from_slice(&lo.to_ne_bytes());
        v[4..8].copy_from_slice(&hi.to_ne_bytes());
        b.attr(FRA_UID_RANGE, &v);
    }
    if let Some(p) = req.protocol {
        b.attr(FRA_PROTOCOL, &[p]);
    }
    if let Some(p) = req.ip_proto {
        b.attr(FRA_IP_PROTO, &[p]);
    }
    if let Some(r) = req.sport {
        b.attr(FRA_SPORT_RANGE, &range_bytes(r));
    }
    if let Some(r) = req.dport {
        b.attr(FRA_DPORT_RANGE, &range_bytes(r));
    }
    if req.l3mdev {
        b.attr(FRA_L3MDEV, &[1]);
    }
    if let Some(g) = req.goto {
        b.attr_u32(FRA_GOTO, g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(buf: &[u8]) -> Vec<NlMsg<'_>> {
        NlMsgIter::new(buf).map(|m| m.unwrap()).collect()
    }

    #[test]
    fn addr_request_round_trips_through_parse() {
        let mut b = MsgBuilder::default();
        let mut req = AddrRequest::new(7, "192.0.2.100".parse().unwrap(), 32);
        req.label = Some("ve0:vip".into());
        req.broadcast = Some(Ipv4Addr::new(192, 0, 2, 255));
        req.flags = IFA_F_NOPREFIXROUTE | IFA_F_NODAD;
        req.preferred_lft = Some(0);
        build_addr(&mut b, 42, &req, true);
        let buf = b.finish().to_vec();
        let m = msgs(&buf);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].ty, m[0].seq), (RTM_NEWADDR, 42));
        assert_eq!(
            m[0].flags,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        );
        let a = parse_addr(m[0].payload).unwrap();
        assert_eq!(a.ifindex, 7);
        assert_eq!(a.addr, req.addr);
        assert_eq!(a.prefix_len, 32);
        assert_eq!(a.flags, IFA_F_NOPREFIXROUTE | IFA_F_NODAD);
        assert_eq!(a.label.as_deref(), Some("ve0:vip"));
        assert_eq!(a.broadcast, req.broadcast);
        assert_eq!(a.lifetimes, Some((0, INFINITY_LIFE_TIME)));
        assert_eq!(a.peer, None);
    }

    #[test]
    fn route_and_rule_round_trip() {
        let mut b = MsgBuilder::default();
        let mut r = RouteRequest::new(AF_INET, Some(("198.18.0.0".parse().unwrap(), 16)));
        r.gateway = Some("192.0.2.1".parse().unwrap());
        r.table = 1000;
        r.priority = Some(5);
        r.oif = Some(3);
        build_route(&mut b, 1, &r, true);
        let buf = b.finish().to_vec();
        let m = msgs(&buf);
        let p = parse_route(m[0].payload).unwrap();
        assert_eq!(p.table, 1000);
        assert_eq!(p.dst, Some("198.18.0.0".parse().unwrap()));
        assert_eq!(
            (p.dst_len, p.scope, p.protocol),
            (16, RT_SCOPE_UNIVERSE, RTPROT_BOOT)
        );
        assert_eq!((p.oif, p.priority), (Some(3), Some(5)));

        let mut d = RouteRequest::new(AF_INET, Some(("198.18.0.0".parse().unwrap(), 16)));
        d.route_type = 6; // blackhole
        build_route(&mut b, 2, &d, false);
        let buf = b.finish().to_vec();
        let p = parse_route(msgs(&buf)[0].payload).unwrap();
        assert_eq!(
            (p.scope, p.protocol, p.route_type),
            (RT_SCOPE_UNIVERSE, 0, 6)
        );

        let mut rule = RuleRequest::lookup(AF_INET6, 100);
        rule.src = Some(("fd00::".parse().unwrap(), 8));
        rule.priority = Some(300);
        rule.fwmark = Some(7);
        rule.iifname = Some("ve0".into());
        build_rule(&mut b, 3, &rule, true);
        let buf = b.finish().to_vec();
        let p = parse_rule(msgs(&buf)[0].payload).unwrap();
        assert_eq!(p.table, 100);
        assert_eq!(p.src, Some(("fd00::".parse().unwrap(), 8)));
        assert_eq!(p.priority, Some(300));
        assert_eq!(p.fwmark, Some(7));
        assert_eq!(p.iifname.as_deref(), Some("ve0"));
    }

    #[test]
    fn ack_with_extended_message() {
        // An NLMSG_ERROR with -EEXIST, capped, and an NLMSGERR_ATTR_MSG TLV.
        let mut b = MsgBuilder::default();
        b.start(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 9);
        let mut body = Vec::new();
        body.extend_from_slice(&(-17i32).to_ne_bytes());
        body.extend_from_slice(&40u32.to_ne_bytes());
        body.extend_from_slice(&RTM_NEWADDR.to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&77u32.to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes());
        b.push(&body);
        b.attr_str(NLMSGERR_ATTR_MSG, "address exists");
        let buf = b.finish().to_vec();
        let m = msgs(&buf);
        let ack = parse_ack(m[0].flags, m[0].payload).unwrap();
        assert_eq!(ack.error, -17);
        assert_eq!(ack.request_seq, 77);
        assert_eq!(ack.message.as_deref(), Some("address exists"));
    }

    #[test]
    fn link_parse_with_nested_kind() {
        let mut b = MsgBuilder::default();
        b.start(RTM_NEWLINK, 0, 0);
        b.push(&ifinfomsg(
            AF_UNSPEC,
            5,
            IFF_UP | IFF_RUNNING | IFF_LOWER_UP,
            0,
        ));
        b.attr_str(IFLA_IFNAME, "vrrp.5");
        b.attr(IFLA_ADDRESS, &[0, 0, 0x5e, 0, 1, 5]);
        b.attr_u32(IFLA_MTU, 1500);
        let n = b.nest_start(IFLA_LINKINFO);
        b.attr(IFLA_INFO_KIND, b"macvlan");
        b.nest_end(n);
        let buf = b.finish().to_vec();
        let l = parse_link(msgs(&buf)[0].payload).unwrap();
        assert_eq!(l.name, "vrrp.5");
        assert!(l.up && l.running && l.lower_up);
        assert_eq!(l.mac, Some([0, 0, 0x5e, 0, 1, 5]));
        assert_eq!(l.kind.as_deref(), Some("macvlan"));
        assert_eq!(l.mtu, Some(1500));
    }

    #[test]
    fn multipath_and_macvlan_build() {
        let mut b = MsgBuilder::default();
        let mut r = RouteRequest::new(AF_INET, Some(("198.18.1.0".parse().unwrap(), 24)));
        r.nexthops = vec![
            NextHop {
                gateway: Some("192.0.2.1".parse().unwrap()),
                weight: Some(2),
                ..Default::default()
            },
            NextHop {
                gateway: Some("192.0.2.2".parse().unwrap()),
                ifindex: Some(3),
                ..Default::default()
            },
        ];
        build_route(&mut b, 1, &r, true);
        let buf = b.finish().to_vec();
        let m = msgs(&buf);
        let mut found = false;
        for (ty, data) in AttrIter::new(&m[0].payload[12..]) {
            if ty == RTA_MULTIPATH {
                found = true;
                // Two rtnexthops of 8 + 8 bytes each.
                assert_eq!(data.len(), 32);
                assert_eq!(data[3], 1);
            }
        }
        assert!(found);
        build_new_macvlan(
            &mut b,
            2,
            &MacvlanRequest {
                parent_ifindex: 2,
                name: "vrrp.9".into(),
                mac: [0, 0, 0x5e, 0, 1, 9],
                mode: MacvlanMode::Private,
            },
        );
        let buf = b.finish().to_vec();
        assert_eq!(msgs(&buf).len(), 1);
    }

    /// xorshift64*: a tiny deterministic generator for the no-panic test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    fn parse_everything(buf: &[u8]) {
        for m in NlMsgIter::new(buf).flatten() {
            let _ = parse_link(m.payload);
            let _ = parse_addr(m.payload);
            let _ = parse_route(m.payload);
            let _ = parse_rule(m.payload);
            let _ = parse_ack(m.flags, m.payload);
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut buf = vec![0u8; 512];
        for round in 0..100_000 {
            let len = (rng.next() % 512) as usize;
            for b in buf.iter_mut().take(len) {
                *b = rng.next() as u8;
            }
            // Make a plausible header half the time so the parsers past it get exercised.
            if round % 2 == 0 && len >= 16 {
                let l = (rng.next() % (len as u64 + 8)) as u32;
                buf[0..4].copy_from_slice(&l.to_ne_bytes());
            }
            parse_everything(&buf[..len]);
        }
    }

    #[test]
    fn mutated_valid_messages_never_panic() {
        let mut b = MsgBuilder::default();
        let mut req = AddrRequest::new(7, "fd00::5".parse().unwrap(), 64);
        req.flags = IFA_F_NODAD | IFA_F_NOPREFIXROUTE;
        req.preferred_lft = Some(0);
        build_addr(&mut b, 1, &req, true);
        let base = b.finish().to_vec();
        let mut rng = Rng(42);
        for _ in 0..50_000 {
            let mut m = base.clone();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() as usize) % m.len();
                m[i] = rng.next() as u8;
            }
            let cut = (rng.next() as usize) % (m.len() + 1);
            parse_everything(&m[..cut]);
            parse_everything(&m);
        }
    }
}
