//! The kernel's IPVS table over generic netlink (family `"IPVS"`, version 1): carries the
//! [`IpvsOp`]s of `lvs` to the kernel and reads its services and destinations back.
//!
//! Attribute layout (`include/uapi/linux/ip_vs.h`, keepalived's `check/libipvs.c`):
//! * service nest (`IPVS_CMD_ATTR_SERVICE`): AF, then FWMARK or (PROTOCOL, ADDR as a 16-byte
//!   `nf_inet_addr`, PORT in network order), then SCHED_NAME, [PE_NAME], FLAGS as
//!   `struct ip_vs_flags { flags, mask = ~0 }`, TIMEOUT (seconds) and NETMASK. Deletions and
//!   destination commands carry only the key attributes (the kernel needs no more);
//! * destination nest (`IPVS_CMD_ATTR_DEST`): ADDR_FAMILY, ADDR, PORT, FWD_METHOD, WEIGHT,
//!   [TUN_TYPE, TUN_PORT (network order), TUN_FLAGS when tunnelling], U_THRESH, L_THRESH.
//!   ADDR_FAMILY is always sent, so an IPv6 tunnel destination of an IPv4 service works.
//!
//! Requests block until the kernel acknowledges them (keepalived does the same). A kernel
//! refusal becomes an `io::Error` of the errno's kind naming the operation (`add IPVS service
//! TCP 192.0.2.1:80: File exists (os error 17)`); [`crate::os::netlink::errno`] gives the
//! number back. The kernel answers ESRCH for an unknown service, ENOENT for an unknown
//! destination and EEXIST for a duplicate.
//!
//! Reading back: the kernel reports `IP_VS_SVC_F_HASHED` (its own "in the hash table" bit) in
//! every service's flags; [`decode_service`] drops it, so a service reads back equal to the
//! one added. It also reports TUN_TYPE, TUN_PORT and TUN_FLAGS for every destination (zero
//! unless tunnelling) and statistics, which are not kept.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::netlink::codec::{AttrIter, MsgBuilder, NlParseError};
use super::netlink::genl::{self, GenlSocket, Reply};
use crate::lvs::{Dest, DestKey, IpvsOp, Service, ServiceKey};

/// `IPVS_GENL_NAME` and `IPVS_GENL_VERSION`.
pub const IPVS_GENL_NAME: &str = "IPVS";
pub const IPVS_GENL_VERSION: u8 = 1;

pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
pub const IPVS_CMD_SET_SERVICE: u8 = 2;
pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
pub const IPVS_CMD_GET_SERVICE: u8 = 4;
pub const IPVS_CMD_NEW_DEST: u8 = 5;
pub const IPVS_CMD_SET_DEST: u8 = 6;
pub const IPVS_CMD_DEL_DEST: u8 = 7;
pub const IPVS_CMD_GET_DEST: u8 = 8;
pub const IPVS_CMD_NEW_DAEMON: u8 = 9;
pub const IPVS_CMD_DEL_DAEMON: u8 = 10;
pub const IPVS_CMD_SET_CONFIG: u8 = 12;
pub const IPVS_CMD_FLUSH: u8 = 17;

const IPVS_CMD_ATTR_SERVICE: u16 = 1;
const IPVS_CMD_ATTR_DEST: u16 = 2;
const IPVS_CMD_ATTR_DAEMON: u16 = 3;
const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;
const IPVS_DAEMON_ATTR_STATE: u16 = 1;
const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;

const IPVS_SVC_ATTR_AF: u16 = 1;
const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
const IPVS_SVC_ATTR_ADDR: u16 = 3;
const IPVS_SVC_ATTR_PORT: u16 = 4;
const IPVS_SVC_ATTR_FWMARK: u16 = 5;
const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
const IPVS_SVC_ATTR_FLAGS: u16 = 7;
const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
const IPVS_SVC_ATTR_NETMASK: u16 = 9;
const IPVS_SVC_ATTR_PE_NAME: u16 = 11;

const IPVS_DEST_ATTR_ADDR: u16 = 1;
const IPVS_DEST_ATTR_PORT: u16 = 2;
const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

/// Attribute types kept while decoding (the highest one used is TUN_FLAGS, 15).
const MAX_ATTR: usize = 16;

pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x1;
/// Kernel-internal: the service is in the kernel's hash table. Ignored on input, dropped on
/// output.
pub const IP_VS_SVC_F_HASHED: u32 = 0x2;
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x4;
pub const IP_VS_SVC_F_SCHED1: u32 = 0x8;
pub const IP_VS_SVC_F_SCHED2: u32 = 0x10;
pub const IP_VS_SVC_F_SCHED3: u32 = 0x20;

pub const IP_VS_CONN_F_MASQ: u32 = 0;
pub const IP_VS_CONN_F_TUNNEL: u32 = 2;
pub const IP_VS_CONN_F_DROUTE: u32 = 3;

pub const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u8 = 0;
pub const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u8 = 1;
pub const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u8 = 2;

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Why a service or destination nest from the kernel was not understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpvsDecodeError {
    /// The attributes cannot be framed.
    Attr(NlParseError),
    /// A required attribute is absent.
    Missing(&'static str),
    /// An attribute shorter than its type.
    BadLength { what: &'static str, len: usize },
    /// An address family other than AF_INET and AF_INET6 where an address is decoded.
    BadFamily(u16),
    /// A protocol number that does not fit IPPROTO_* (u8).
    BadProtocol(u16),
}

impl fmt::Display for IpvsDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpvsDecodeError::Attr(e) => write!(f, "{e}"),
            IpvsDecodeError::Missing(what) => write!(f, "missing attribute {what}"),
            IpvsDecodeError::BadLength { what, len } => {
                write!(f, "attribute {what} has bad length {len}")
            }
            IpvsDecodeError::BadFamily(af) => write!(f, "unknown address family {af}"),
            IpvsDecodeError::BadProtocol(p) => write!(f, "bad protocol {p}"),
        }
    }
}

impl std::error::Error for IpvsDecodeError {}

// --- encoding ----------------------------------------------------------------------------

/// The generic netlink command of an operation.
pub fn op_cmd(op: &IpvsOp) -> u8 {
    match op {
        IpvsOp::AddService(_) => IPVS_CMD_NEW_SERVICE,
        IpvsOp::EditService(_) => IPVS_CMD_SET_SERVICE,
        IpvsOp::DelService(_) => IPVS_CMD_DEL_SERVICE,
        IpvsOp::AddDest(..) => IPVS_CMD_NEW_DEST,
        IpvsOp::EditDest(..) => IPVS_CMD_SET_DEST,
        IpvsOp::DelDest(..) => IPVS_CMD_DEL_DEST,
    }
}

/// Appends the attributes of `op` (after the generic netlink header).
pub fn encode_op(b: &mut MsgBuilder, op: &IpvsOp) {
    match op {
        IpvsOp::AddService(s) | IpvsOp::EditService(s) => encode_service(b, s),
        IpvsOp::DelService(k) => encode_service_key(b, k),
        IpvsOp::AddDest(k, d) | IpvsOp::EditDest(k, d) => {
            encode_service_key(b, k);
            encode_dest(b, d);
        }
        IpvsOp::DelDest(k, d) => {
            encode_service_key(b, k);
            encode_dest_key(b, d);
        }
    }
}

/// A 16-byte `union nf_inet_addr`.
fn inet_addr(ip: &IpAddr) -> [u8; 16] {
    let mut a = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => a = v6.octets(),
    }
    a
}

fn key_attrs(b: &mut MsgBuilder, key: &ServiceKey) {
    b.attr(IPVS_SVC_ATTR_AF, &key.af().to_ne_bytes());
    match key {
        ServiceKey::Fwmark { mark, .. } => b.attr_u32(IPVS_SVC_ATTR_FWMARK, *mark),
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            b.attr(IPVS_SVC_ATTR_PROTOCOL, &u16::from(*protocol).to_ne_bytes());
            b.attr(IPVS_SVC_ATTR_ADDR, &inet_addr(addr));
            b.attr(IPVS_SVC_ATTR_PORT, &port.to_be_bytes());
        }
    }
}

/// The service nest with the key attributes only (deletions, destination commands, dumps).
pub fn encode_service_key(b: &mut MsgBuilder, key: &ServiceKey) {
    let at = b.nest_start(IPVS_CMD_ATTR_SERVICE);
    key_attrs(b, key);
    b.nest_end(at);
}

/// The full service nest (add, edit).
pub fn encode_service(b: &mut MsgBuilder, s: &Service) {
    let at = b.nest_start(IPVS_CMD_ATTR_SERVICE);
    key_attrs(b, &s.key);
    b.attr_str(IPVS_SVC_ATTR_SCHED_NAME, &s.scheduler);
    if let Some(pe) = &s.pe_name {
        b.attr_str(IPVS_SVC_ATTR_PE_NAME, pe);
    }
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&s.flags.to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    b.attr(IPVS_SVC_ATTR_FLAGS, &flags);
    b.attr_u32(IPVS_SVC_ATTR_TIMEOUT, s.timeout_s);
    // Already in the attribute's byte order (see `Service::netmask`).
    b.attr_u32(IPVS_SVC_ATTR_NETMASK, s.netmask);
    b.nest_end(at);
}

fn dest_key_attrs(b: &mut MsgBuilder, key: &DestKey) {
    b.attr(
        IPVS_DEST_ATTR_ADDR_FAMILY,
        &crate::lvs::table::af_of(&key.addr).to_ne_bytes(),
    );
    b.attr(IPVS_DEST_ATTR_ADDR, &inet_addr(&key.addr));
    b.attr(IPVS_DEST_ATTR_PORT, &key.port.to_be_bytes());
}

/// The destination nest with the key attributes only (deletion).
pub fn encode_dest_key(b: &mut MsgBuilder, key: &DestKey) {
    let at = b.nest_start(IPVS_CMD_ATTR_DEST);
    dest_key_attrs(b, key);
    b.nest_end(at);
}

/// The full destination nest (add, edit).
pub fn encode_dest(b: &mut MsgBuilder, d: &Dest) {
    let at = b.nest_start(IPVS_CMD_ATTR_DEST);
    dest_key_attrs(b, &d.key);
    b.attr_u32(IPVS_DEST_ATTR_FWD_METHOD, d.fwd_method);
    b.attr_u32(IPVS_DEST_ATTR_WEIGHT, d.weight);
    if d.fwd_method == IP_VS_CONN_F_TUNNEL {
        b.attr(IPVS_DEST_ATTR_TUN_TYPE, &[d.tun_type]);
        b.attr(IPVS_DEST_ATTR_TUN_PORT, &d.tun_port.to_be_bytes());
        b.attr(IPVS_DEST_ATTR_TUN_FLAGS, &d.tun_flags.to_ne_bytes());
    }
    b.attr_u32(IPVS_DEST_ATTR_U_THRESH, d.u_threshold);
    b.attr_u32(IPVS_DEST_ATTR_L_THRESH, d.l_threshold);
    b.nest_end(at);
}

// --- decoding ----------------------------------------------------------------------------

/// The attributes of one nest by type (the last one of a type wins, as in the kernel).
fn collect(nest: &[u8]) -> Result<[Option<&[u8]>; MAX_ATTR], IpvsDecodeError> {
    let mut attrs = [None; MAX_ATTR];
    let mut it = AttrIter::new(nest);
    for (ty, data) in it.by_ref() {
        if let Some(slot) = attrs.get_mut(usize::from(ty)) {
            *slot = Some(data);
        }
    }
    match it.error {
        Some(e) => Err(IpvsDecodeError::Attr(e)),
        None => Ok(attrs),
    }
}

fn fixed<const N: usize>(data: &[u8], what: &'static str) -> Result<[u8; N], IpvsDecodeError> {
    data.get(..N)
        .and_then(|d| <[u8; N]>::try_from(d).ok())
        .ok_or(IpvsDecodeError::BadLength {
            what,
            len: data.len(),
        })
}

fn req<'a>(a: Option<&'a [u8]>, what: &'static str) -> Result<&'a [u8], IpvsDecodeError> {
    a.ok_or(IpvsDecodeError::Missing(what))
}

fn get_u16(a: Option<&[u8]>, what: &'static str) -> Result<u16, IpvsDecodeError> {
    Ok(u16::from_ne_bytes(fixed(req(a, what)?, what)?))
}

fn get_be16(a: Option<&[u8]>, what: &'static str) -> Result<u16, IpvsDecodeError> {
    Ok(u16::from_be_bytes(fixed(req(a, what)?, what)?))
}

fn get_u32(a: Option<&[u8]>, what: &'static str) -> Result<u32, IpvsDecodeError> {
    Ok(u32::from_ne_bytes(fixed(req(a, what)?, what)?))
}

fn get_str(data: &[u8]) -> String {
    let end = data.iter().position(|&c| c == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

fn get_addr(a: Option<&[u8]>, af: u16, what: &'static str) -> Result<IpAddr, IpvsDecodeError> {
    let data = req(a, what)?;
    match af {
        AF_INET => Ok(IpAddr::V4(Ipv4Addr::from(fixed::<4>(data, what)?))),
        AF_INET6 => Ok(IpAddr::V6(Ipv6Addr::from(fixed::<16>(data, what)?))),
        af => Err(IpvsDecodeError::BadFamily(af)),
    }
}

/// Decodes the contents of one `IPVS_CMD_ATTR_SERVICE` nest as the kernel reports a service
/// (`IP_VS_SVC_F_HASHED` dropped from the flags). Never panics.
pub fn decode_service(nest: &[u8]) -> Result<Service, IpvsDecodeError> {
    let a = collect(nest)?;
    let af = get_u16(a[usize::from(IPVS_SVC_ATTR_AF)], "af")?;
    let fwmark = match a[usize::from(IPVS_SVC_ATTR_FWMARK)] {
        Some(d) => u32::from_ne_bytes(fixed(d, "fwmark")?),
        None => 0,
    };
    // The kernel sends FWMARK instead of (PROTOCOL, ADDR, PORT) for a mark service.
    let key = if fwmark != 0 {
        ServiceKey::Fwmark { af, mark: fwmark }
    } else {
        let protocol = get_u16(a[usize::from(IPVS_SVC_ATTR_PROTOCOL)], "protocol")?;
        ServiceKey::Addr {
            protocol: u8::try_from(protocol).map_err(|_| IpvsDecodeError::BadProtocol(protocol))?,
            addr: get_addr(a[usize::from(IPVS_SVC_ATTR_ADDR)], af, "addr")?,
            port: get_be16(a[usize::from(IPVS_SVC_ATTR_PORT)], "port")?,
        }
    };
    let scheduler = get_str(req(a[usize::from(IPVS_SVC_ATTR_SCHED_NAME)], "sched_name")?);
    let flags_raw: [u8; 8] = fixed(req(a[usize::from(IPVS_SVC_ATTR_FLAGS)], "flags")?, "flags")?;
    let flags = u32::from_ne_bytes([flags_raw[0], flags_raw[1], flags_raw[2], flags_raw[3]]);
    Ok(Service {
        key,
        scheduler,
        flags: flags & !IP_VS_SVC_F_HASHED,
        timeout_s: get_u32(a[usize::from(IPVS_SVC_ATTR_TIMEOUT)], "timeout")?,
        netmask: get_u32(a[usize::from(IPVS_SVC_ATTR_NETMASK)], "netmask")?,
        pe_name: a[usize::from(IPVS_SVC_ATTR_PE_NAME)]
            .map(get_str)
            .filter(|s| !s.is_empty()),
    })
}

/// Decodes the contents of one `IPVS_CMD_ATTR_DEST` nest; the address is of `service_af`
/// unless the nest says otherwise (ADDR_FAMILY). Never panics.
pub fn decode_dest(nest: &[u8], service_af: u16) -> Result<Dest, IpvsDecodeError> {
    let a = collect(nest)?;
    let af = match a[usize::from(IPVS_DEST_ATTR_ADDR_FAMILY)] {
        Some(d) => u16::from_ne_bytes(fixed(d, "addr_family")?),
        None => service_af,
    };
    Ok(Dest {
        key: DestKey {
            addr: get_addr(a[usize::from(IPVS_DEST_ATTR_ADDR)], af, "addr")?,
            port: get_be16(a[usize::from(IPVS_DEST_ATTR_PORT)], "port")?,
        },
        fwd_method: get_u32(a[usize::from(IPVS_DEST_ATTR_FWD_METHOD)], "fwd_method")?,
        weight: get_u32(a[usize::from(IPVS_DEST_ATTR_WEIGHT)], "weight")?,
        u_threshold: get_u32(a[usize::from(IPVS_DEST_ATTR_U_THRESH)], "u_thresh")?,
        l_threshold: get_u32(a[usize::from(IPVS_DEST_ATTR_L_THRESH)], "l_thresh")?,
        tun_type: match a[usize::from(IPVS_DEST_ATTR_TUN_TYPE)] {
            Some(d) => fixed::<1>(d, "tun_type")?[0],
            None => 0,
        },
        tun_port: match a[usize::from(IPVS_DEST_ATTR_TUN_PORT)] {
            Some(d) => u16::from_be_bytes(fixed(d, "tun_port")?),
            None => 0,
        },
        tun_flags: match a[usize::from(IPVS_DEST_ATTR_TUN_FLAGS)] {
            Some(d) => u16::from_ne_bytes(fixed(d, "tun_flags")?),
            None => 0,
        },
    })
}

/// The nest of type `ty` in a reply message payload (generic header included).
fn reply_nest(payload: &[u8], ty: u16) -> Option<&[u8]> {
    let (_, _, attrs) = genl::parse_header(payload).ok()?;
    AttrIter::new(attrs).find(|(t, _)| *t == ty).map(|(_, d)| d)
}

// --- names for messages ------------------------------------------------------------------

fn proto_name(p: u8) -> String {
    match p {
        6 => "TCP".into(),
        17 => "UDP".into(),
        132 => "SCTP".into(),
        p => format!("proto {p}"),
    }
}

fn addr_port(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

impl crate::lvs::kernel::IpvsKernel for Ipvs {
    type Error = io::Error;

    fn apply(&mut self, op: &IpvsOp) -> io::Result<()> {
        Ipvs::apply(self, op)
    }

    fn dests(&mut self, key: &ServiceKey) -> io::Result<Vec<Dest>> {
        Ipvs::dests(self, key)
    }

    fn exists(e: &io::Error) -> bool {
        super::netlink::errno(e) == Some(libc::EEXIST)
    }
}

/// Which side of connection synchronisation a sync daemon is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    Master = 1,
    Backup = 2,
}

impl SyncState {
    pub fn name(self) -> &'static str {
        match self {
            SyncState::Master => "master",
            SyncState::Backup => "backup",
        }
    }
}

/// One IPVS connection-sync daemon (`lvs_sync_daemon`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDaemon {
    pub state: SyncState,
    pub interface: String,
    pub sync_id: u8,
    pub maxlen: Option<u16>,
    pub port: u16,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
}

impl SyncDaemon {
    fn describe(&self) -> String {
        format!(
            "({}, mcast={}, syncid={})",
            self.state.name(),
            self.interface,
            self.sync_id
        )
    }
}

/// The `IPVS_CMD_ATTR_DAEMON` nest of a start: STATE, MCAST_IFN, SYNC_ID, then the options
/// set (the kernel has had them since 4.3).
fn encode_daemon(b: &mut MsgBuilder, d: &SyncDaemon) {
    let at = b.nest_start(IPVS_CMD_ATTR_DAEMON);
    b.attr_u32(IPVS_DAEMON_ATTR_STATE, d.state as u32);
    b.attr_str(IPVS_DAEMON_ATTR_MCAST_IFN, &d.interface);
    b.attr_u32(IPVS_DAEMON_ATTR_SYNC_ID, u32::from(d.sync_id));
    if let Some(m) = d.maxlen {
        b.attr(IPVS_DAEMON_ATTR_SYNC_MAXLEN, &m.to_ne_bytes());
    }
    match d.group {
        Some(IpAddr::V4(g)) => b.attr(IPVS_DAEMON_ATTR_MCAST_GROUP, &g.octets()),
        Some(IpAddr::V6(g)) => b.attr(IPVS_DAEMON_ATTR_MCAST_GROUP6, &g.octets()),
        None => {}
    }
    b.attr(IPVS_DAEMON_ATTR_MCAST_PORT, &d.port.to_be_bytes());
    if let Some(t) = d.ttl {
        b.attr(IPVS_DAEMON_ATTR_MCAST_TTL, &[t]);
    }
    b.nest_end(at);
}

/// `192.0.2.2:80`, `[fd00::2]:80` (ipvsadm's way).
pub fn dest_name(key: &DestKey) -> String {
    addr_port(&key.addr, key.port)
}

/// `TCP 192.0.2.1:80`, `FWM 5`, `FWM 5 IPv6` (ipvsadm's way).
pub fn service_name(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => format!("{} {}", proto_name(*protocol), addr_port(addr, *port)),
        ServiceKey::Fwmark { af, mark } if *af == AF_INET6 => format!("FWM {mark} IPv6"),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    }
}

/// An operation as the log and the simulator's trace name it (`add IPVS destination
/// 192.0.2.2:80 to TCP 192.0.2.1:80`).
pub fn describe(op: &IpvsOp) -> String {
    match op {
        IpvsOp::AddService(s) => format!("add IPVS service {}", service_name(&s.key)),
        IpvsOp::EditService(s) => format!("edit IPVS service {}", service_name(&s.key)),
        IpvsOp::DelService(k) => format!("delete IPVS service {}", service_name(k)),
        IpvsOp::AddDest(k, d) => format!(
            "add IPVS destination {} to {}",
            dest_name(&d.key),
            service_name(k)
        ),
        IpvsOp::EditDest(k, d) => format!(
            "edit IPVS destination {} of {}",
            dest_name(&d.key),
            service_name(k)
        ),
        IpvsOp::DelDest(k, d) => format!(
            "delete IPVS destination {} from {}",
            dest_name(d),
            service_name(k)
        ),
    }
}

// --- the client --------------------------------------------------------------------------

/// The kernel's IPVS table, through a blocking generic netlink socket of this process's
/// network namespace.
pub struct Ipvs {
    sock: GenlSocket,
    family: u16,
}

impl Ipvs {
    /// Opens a generic netlink socket and resolves the IPVS family (which makes the kernel
    /// load `ip_vs` if it can). Without IPVS: an error of kind `NotFound` saying so.
    pub fn open() -> io::Result<Ipvs> {
        let mut sock = GenlSocket::open()
            .map_err(|e| io::Error::new(e.kind(), format!("open generic netlink socket: {e}")))?;
        match sock.resolve_family(IPVS_GENL_NAME)? {
            Some(family) => Ok(Ipvs { sock, family }),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "IPVS not available (is the ip_vs module loaded?)",
            )),
        }
    }

    /// The generic netlink family id the kernel gave IPVS.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// Kernel replies that could not be decoded and were skipped.
    pub fn malformed(&self) -> u64 {
        self.sock.malformed()
    }

    /// Carries out one operation and waits for the kernel's answer.
    pub fn apply(&mut self, op: &IpvsOp) -> io::Result<()> {
        self.sock.request(
            self.family,
            op_cmd(op),
            IPVS_GENL_VERSION,
            Reply::Ack,
            &|| describe(op),
            |b| encode_op(b, op),
            &mut |_| true,
        )
    }

    /// Removes every service and destination (`ipvsadm -C`).
    pub fn flush(&mut self) -> io::Result<()> {
        self.sock.request(
            self.family,
            IPVS_CMD_FLUSH,
            IPVS_GENL_VERSION,
            Reply::Ack,
            &|| "flush IPVS table".to_string(),
            |_| {},
            &mut |_| true,
        )
    }

    /// `lvs_timeouts`: the TCP, TCP FIN and UDP connection timeouts in seconds
    /// (`IPVS_CMD_SET_CONFIG`); 0 leaves that one as the kernel has it.
    pub fn set_timeouts(&mut self, tcp: u32, tcp_fin: u32, udp: u32) -> io::Result<()> {
        self.sock.request(
            self.family,
            IPVS_CMD_SET_CONFIG,
            IPVS_GENL_VERSION,
            Reply::Ack,
            &|| format!("set IPVS timeouts tcp {tcp} tcpfin {tcp_fin} udp {udp}"),
            |b| {
                b.attr_u32(IPVS_CMD_ATTR_TIMEOUT_TCP, tcp);
                b.attr_u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, tcp_fin);
                b.attr_u32(IPVS_CMD_ATTR_TIMEOUT_UDP, udp);
            },
            &mut |_| true,
        )
    }

    /// Starts the connection-sync daemon in `d.state` (`IPVS_CMD_NEW_DAEMON`).
    pub fn start_daemon(&mut self, d: &SyncDaemon) -> io::Result<()> {
        self.sock.request(
            self.family,
            IPVS_CMD_NEW_DAEMON,
            IPVS_GENL_VERSION,
            Reply::Ack,
            &|| format!("start IPVS sync daemon {}", d.describe()),
            |b| encode_daemon(b, d),
            &mut |_| true,
        )
    }

    /// Stops the connection-sync daemon in `state` (`IPVS_CMD_DEL_DAEMON`).
    pub fn stop_daemon(&mut self, state: SyncState) -> io::Result<()> {
        self.sock.request(
            self.family,
            IPVS_CMD_DEL_DAEMON,
            IPVS_GENL_VERSION,
            Reply::Ack,
            &|| format!("stop IPVS sync daemon ({})", state.name()),
            |b| {
                let at = b.nest_start(IPVS_CMD_ATTR_DAEMON);
                b.attr_u32(IPVS_DAEMON_ATTR_STATE, state as u32);
                b.nest_end(at);
            },
            &mut |_| true,
        )
    }

    /// Every service, in the kernel's order.
    pub fn services(&mut self) -> io::Result<Vec<Service>> {
        self.dump(
            IPVS_CMD_GET_SERVICE,
            &|| "dump IPVS services".to_string(),
            &|_| {},
            &|p| decode_service(reply_nest(p, IPVS_CMD_ATTR_SERVICE)?).ok(),
        )
    }

    /// Every destination of the service `key`, in the kernel's order. The kernel answers an
    /// empty list for a service it does not have.
    pub fn dests(&mut self, key: &ServiceKey) -> io::Result<Vec<Dest>> {
        let af = key.af();
        self.dump(
            IPVS_CMD_GET_DEST,
            &|| format!("dump IPVS destinations of {}", service_name(key)),
            &|b| encode_service_key(b, key),
            &|p| decode_dest(reply_nest(p, IPVS_CMD_ATTR_DEST)?, af).ok(),
        )
    }

    fn dump<T>(
        &mut self,
        cmd: u8,
        what: &dyn Fn() -> String,
        attrs: &dyn Fn(&mut MsgBuilder),
        decode: &dyn Fn(&[u8]) -> Option<T>,
    ) -> io::Result<Vec<T>> {
        let mut tries = 0;
        loop {
            let mut out = Vec::new();
            let r = self.sock.request(
                self.family,
                cmd,
                IPVS_GENL_VERSION,
                Reply::Dump,
                what,
                attrs,
                &mut |p| match decode(p) {
                    Some(v) => {
                        out.push(v);
                        true
                    }
                    None => {
                        log::warn!(target: "os", "{}: skipping a reply that cannot be decoded", what());
                        false
                    }
                },
            );
            match r {
                Err(e) if e.kind() == io::ErrorKind::Interrupted && tries < 5 => tries += 1,
                Err(e) => return Err(e),
                Ok(()) => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfd::Rng;

    /// The attributes after the netlink and generic headers of a built message.
    fn built_attrs(b: &mut MsgBuilder) -> Vec<u8> {
        b.finish()[16 + genl::GENL_HDR_LEN..].to_vec()
    }

    fn nest_of(attrs: &[u8], ty: u16) -> Vec<u8> {
        AttrIter::new(attrs)
            .find(|(t, _)| *t == ty)
            .map(|(_, d)| d.to_vec())
            .expect("nest present")
    }

    fn encoded_op(op: &IpvsOp) -> Vec<u8> {
        let mut b = MsgBuilder::default();
        genl::start(&mut b, 0x20, 0, 1, op_cmd(op), IPVS_GENL_VERSION);
        encode_op(&mut b, op);
        built_attrs(&mut b)
    }

    fn tcp_service() -> Service {
        Service {
            key: ServiceKey::Addr {
                protocol: 6,
                addr: "192.0.2.1".parse().unwrap(),
                port: 80,
            },
            scheduler: "wlc".into(),
            flags: IP_VS_SVC_F_PERSISTENT,
            timeout_s: 300,
            netmask: u32::from_ne_bytes([255, 255, 255, 0]),
            pe_name: None,
        }
    }

    #[test]
    fn service_nest_layout() {
        let s = tcp_service();
        let attrs = encoded_op(&IpvsOp::AddService(s.clone()));
        let nest = nest_of(&attrs, IPVS_CMD_ATTR_SERVICE);
        let got: Vec<(u16, Vec<u8>)> = AttrIter::new(&nest).map(|(t, d)| (t, d.to_vec())).collect();
        let mut addr = vec![192, 0, 2, 1];
        addr.resize(16, 0);
        let mut flags = 1u32.to_ne_bytes().to_vec();
        flags.extend_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(
            got,
            vec![
                (IPVS_SVC_ATTR_AF, 2u16.to_ne_bytes().to_vec()),
                (IPVS_SVC_ATTR_PROTOCOL, 6u16.to_ne_bytes().to_vec()),
                (IPVS_SVC_ATTR_ADDR, addr),
                (IPVS_SVC_ATTR_PORT, vec![0, 80]),
                (IPVS_SVC_ATTR_SCHED_NAME, b"wlc\0".to_vec()),
                (IPVS_SVC_ATTR_FLAGS, flags),
                (IPVS_SVC_ATTR_TIMEOUT, 300u32.to_ne_bytes().to_vec()),
                (IPVS_SVC_ATTR_NETMASK, vec![255, 255, 255, 0]),
            ]
        );
        assert_eq!(decode_service(&nest), Ok(s.clone()));
        // Deletion: the key only.
        let attrs = encoded_op(&IpvsOp::DelService(s.key));
        let nest = nest_of(&attrs, IPVS_CMD_ATTR_SERVICE);
        let types: Vec<u16> = AttrIter::new(&nest).map(|(t, _)| t).collect();
        assert_eq!(types, [1, 2, 3, 4]);
    }

    #[test]
    fn fwmark_key_and_pe_name() {
        let s = Service {
            key: ServiceKey::Fwmark { af: 10, mark: 7 },
            pe_name: Some("sip".into()),
            netmask: 128,
            ..tcp_service()
        };
        let attrs = encoded_op(&IpvsOp::EditService(s.clone()));
        let nest = nest_of(&attrs, IPVS_CMD_ATTR_SERVICE);
        let types: Vec<u16> = AttrIter::new(&nest).map(|(t, _)| t).collect();
        assert_eq!(types, [1, 5, 6, 11, 7, 8, 9]);
        assert_eq!(decode_service(&nest), Ok(s));
    }

    #[test]
    fn dest_nest_layout() {
        let key = tcp_service().key;
        let mut d = Dest {
            key: DestKey {
                addr: "fd00::10".parse().unwrap(),
                port: 80,
            },
            fwd_method: IP_VS_CONN_F_TUNNEL,
            weight: 3,
            u_threshold: 100,
            l_threshold: 10,
            tun_type: IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            tun_port: 6080,
            tun_flags: 1,
        };
        let attrs = encoded_op(&IpvsOp::AddDest(key, d.clone()));
        let svc: Vec<u16> = AttrIter::new(&nest_of(&attrs, IPVS_CMD_ATTR_SERVICE))
            .map(|(t, _)| t)
            .collect();
        assert_eq!(svc, [1, 2, 3, 4]);
        let nest = nest_of(&attrs, IPVS_CMD_ATTR_DEST);
        let got: Vec<(u16, Vec<u8>)> = AttrIter::new(&nest).map(|(t, d)| (t, d.to_vec())).collect();
        let types: Vec<u16> = got.iter().map(|(t, _)| *t).collect();
        assert_eq!(types, [11, 1, 2, 3, 4, 13, 14, 15, 5, 6]);
        assert_eq!(got[0].1, 10u16.to_ne_bytes());
        assert_eq!(got[6].1, 6080u16.to_be_bytes());
        // An IPv6 destination of an IPv4 service: ADDR_FAMILY decides.
        assert_eq!(decode_dest(&nest, 2), Ok(d.clone()));
        // Not tunnelling: no tunnel attributes, which read back as 0.
        d.fwd_method = IP_VS_CONN_F_DROUTE;
        let attrs = encoded_op(&IpvsOp::EditDest(key, d.clone()));
        let nest = nest_of(&attrs, IPVS_CMD_ATTR_DEST);
        let types: Vec<u16> = AttrIter::new(&nest).map(|(t, _)| t).collect();
        assert_eq!(types, [11, 1, 2, 3, 4, 5, 6]);
        d.tun_type = 0;
        d.tun_port = 0;
        d.tun_flags = 0;
        assert_eq!(decode_dest(&nest, 2), Ok(d.clone()));
        let attrs = encoded_op(&IpvsOp::DelDest(key, d.key));
        let types: Vec<u16> = AttrIter::new(&nest_of(&attrs, IPVS_CMD_ATTR_DEST))
            .map(|(t, _)| t)
            .collect();
        assert_eq!(types, [11, 1, 2]);
    }

    #[test]
    fn hashed_flag_is_dropped_and_missing_attributes_named() {
        let mut s = tcp_service();
        s.flags |= IP_VS_SVC_F_HASHED;
        let attrs = encoded_op(&IpvsOp::AddService(s));
        let nest = nest_of(&attrs, IPVS_CMD_ATTR_SERVICE);
        assert_eq!(decode_service(&nest), Ok(tcp_service()));
        // Without SCHED_NAME (the 5th attribute; the first four take 8+8+20+8 bytes).
        let mut cut = nest[..44].to_vec();
        cut.extend_from_slice(&nest[52..]);
        assert_eq!(
            decode_service(&cut),
            Err(IpvsDecodeError::Missing("sched_name"))
        );
        assert_eq!(decode_service(&[]), Err(IpvsDecodeError::Missing("af")));
        assert_eq!(decode_dest(&[], 2), Err(IpvsDecodeError::Missing("addr")));
    }

    fn random_addr(rng: &mut Rng, v6: bool) -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(
                (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()),
            ))
        } else {
            IpAddr::V4(Ipv4Addr::from(rng.next_u32()))
        }
    }

    fn random_service(rng: &mut Rng) -> Service {
        let v6 = rng.next_u32() % 2 == 0;
        let key = if rng.next_u32() % 3 == 0 {
            ServiceKey::Fwmark {
                af: if v6 { 10 } else { 2 },
                mark: rng.next_u32().max(1),
            }
        } else {
            ServiceKey::Addr {
                protocol: rng.next_u32() as u8,
                addr: random_addr(rng, v6),
                port: rng.next_u32() as u16,
            }
        };
        let names = ["rr", "wlc", "mh", "lblcr", ""];
        Service {
            key,
            scheduler: names[rng.up_to(names.len() as u64 - 1) as usize].into(),
            flags: rng.next_u32() & !IP_VS_SVC_F_HASHED,
            timeout_s: rng.next_u32(),
            netmask: rng.next_u32(),
            pe_name: (rng.next_u32() % 2 == 0).then(|| "sip".to_string()),
        }
    }

    fn random_dest(rng: &mut Rng) -> Dest {
        let fwd_method = [0, 2, 3][rng.up_to(2) as usize];
        let tunnel = fwd_method == IP_VS_CONN_F_TUNNEL;
        let v6 = rng.next_u32() % 2 == 0;
        Dest {
            key: DestKey {
                addr: random_addr(rng, v6),
                port: rng.next_u32() as u16,
            },
            fwd_method,
            weight: rng.next_u32(),
            u_threshold: rng.next_u32(),
            l_threshold: rng.next_u32(),
            tun_type: if tunnel { rng.next_u32() as u8 } else { 0 },
            tun_port: if tunnel { rng.next_u32() as u16 } else { 0 },
            tun_flags: if tunnel { rng.next_u32() as u16 } else { 0 },
        }
    }

    /// Random services and destinations read back as encoded; their bytes, mutated, cut or
    /// replaced by random bytes, never make a decoder panic.
    #[test]
    fn random_round_trips_and_garbage_never_panic() {
        let mut rng = Rng::new(0x1b5_2024);
        for _ in 0..3000 {
            let s = random_service(&mut rng);
            let nest = nest_of(
                &encoded_op(&IpvsOp::AddService(s.clone())),
                IPVS_CMD_ATTR_SERVICE,
            );
            assert_eq!(decode_service(&nest), Ok(s.clone()));
            let d = random_dest(&mut rng);
            let dnest = nest_of(
                &encoded_op(&IpvsOp::AddDest(s.key, d.clone())),
                IPVS_CMD_ATTR_DEST,
            );
            assert_eq!(decode_dest(&dnest, s.key.af()), Ok(d));
            for base in [nest, dnest] {
                for _ in 0..20 {
                    let mut m = base.clone();
                    match rng.up_to(2) {
                        0 => {
                            let i = rng.up_to(m.len() as u64 - 1) as usize;
                            m[i] = rng.next_u32() as u8;
                        }
                        1 => m.truncate(rng.up_to(m.len() as u64) as usize),
                        _ => {
                            let len = rng.up_to(96) as usize;
                            m = (0..len).map(|_| rng.next_u32() as u8).collect();
                        }
                    }
                    let _ = decode_service(&m);
                    let _ = decode_dest(&m, rng.next_u32() as u16);
                    let _ = reply_nest(&m, IPVS_CMD_ATTR_SERVICE);
                }
            }
        }
    }

    #[test]
    fn names() {
        assert_eq!(service_name(&tcp_service().key), "TCP 192.0.2.1:80");
        assert_eq!(
            service_name(&ServiceKey::Fwmark { af: 10, mark: 5 }),
            "FWM 5 IPv6"
        );
        let op = IpvsOp::DelDest(
            ServiceKey::Addr {
                protocol: 17,
                addr: "fd00::1".parse().unwrap(),
                port: 53,
            },
            DestKey {
                addr: "fd00::2".parse().unwrap(),
                port: 53,
            },
        );
        assert_eq!(
            describe(&op),
            "delete IPVS destination [fd00::2]:53 from UDP [fd00::1]:53"
        );
    }
}
