//! Typed model of the IPVS side of keepalived.conf: `virtual_server_group`, `virtual_server`,
//! `real_server`, the health checkers and the root `SSL { }` block.
//!
//! What the semantic pass ([`crate::config::semantic::lvs`]) hands to the checker and IPVS
//! engines is *resolved*: keepalived's defaults and its inheritance chain
//! (checker ← real_server ← virtual_server ← built-in default) are already applied, real
//! server ports are fixed up as keepalived's `validate_check_config` does, items that
//! keepalived drops (duplicate real servers, checkers without a target, ...) are gone.
//! What the user wrote for the inheritable timers is kept in each block's [`Timing`] so a
//! reload can tell "configured" from "inherited".
//!
//! Durations are microseconds (`_us`), persistence timeouts seconds (`_s`).

use crate::config::ast::Span;
use crate::config::model::Script;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// keepalived's built-in `connect_timeout` (5 s).
pub const DEFAULT_CONNECT_TIMEOUT_US: u64 = 5_000_000;
/// keepalived's built-in `delay_loop` (`KEEPALIVED_DEFAULT_DELAY`, 60 s).
pub const DEFAULT_DELAY_LOOP_US: u64 = 60_000_000;
/// `persistence_timeout` with no value, or implied by a zero port (`IPVS_SVC_PERSISTENT_TIMEOUT`).
pub const DEFAULT_PERSISTENCE_TIMEOUT_S: u32 = 360;
/// Largest `persistence_timeout` (`LVS_MAX_TIMEOUT`, 31 days).
pub const MAX_PERSISTENCE_TIMEOUT_S: u32 = 86400 * 31;
/// Largest IPVS weight (`IPVS_WEIGHT_LIMIT`).
pub const IPVS_WEIGHT_LIMIT: u32 = i32::MAX as u32;
/// SMTP_CHECK default HELO argument.
pub const DEFAULT_SMTP_HELO: &str = "smtpchecker.keepalived.org";
/// UDP_CHECK datagram length when no `payload` is given.
pub const DEFAULT_UDP_PAYLOAD_LEN: usize = 32;
/// The text keepalived repeats to fill its default UDP and ICMP payloads (`set_buf`).
pub const CHECK_PAYLOAD_TEXT: &[u8] = b"keepalived check - ";

/// Fills `len` bytes with keepalived's repeated "keepalived check - " text.
pub fn default_check_payload(len: usize) -> Vec<u8> {
    CHECK_PAYLOAD_TEXT
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// Everything on the IPVS side of the configuration.
#[derive(Clone, Debug, Default)]
pub struct LvsConfig {
    /// `virtual_server_group` blocks that survived validation, in configuration order.
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// `virtual_server` blocks that survived validation, in configuration order.
    pub virtual_servers: Vec<VirtualServer>,
    /// The root `SSL { }` block; `None` means keepalived's auto-generated context.
    pub ssl: Option<SslConfig>,
}

impl LvsConfig {
    /// The group of this name, if any.
    pub fn group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.virtual_server_groups.iter().find(|g| g.name == name)
    }

    /// Every script the checker process may run (MISC_CHECK `misc_path`, real-server
    /// `notify_up`/`notify_down`, virtual-server `quorum_up`/`quorum_down`), for the
    /// script-security pass.
    pub fn scripts(&self) -> Vec<&Script> {
        let mut out = Vec::new();
        for vs in &self.virtual_servers {
            out.extend(vs.quorum_up.iter());
            out.extend(vs.quorum_down.iter());
            for rs in &vs.real_servers {
                out.extend(rs.notify_up.iter());
                out.extend(rs.notify_down.iter());
                for c in &rs.checkers {
                    if let CheckerKind::Misc(m) = &c.kind {
                        out.push(&m.script);
                    }
                }
            }
        }
        out
    }

    /// Keeps only the MISC_CHECK checkers whose script `keep` accepts. keepalived's script
    /// security removes the MISC checkers whose script is insecure or not found ("Disabling
    /// misc script ..."); the script pass can apply its verdict with this.
    pub fn retain_misc_checkers(&mut self, mut keep: impl FnMut(&Script) -> bool) {
        for vs in &mut self.virtual_servers {
            for rs in &mut vs.real_servers {
                rs.checkers.retain(|c| match &c.kind {
                    CheckerKind::Misc(m) => keep(&m.script),
                    _ => true,
                });
            }
        }
    }

    /// Whether an SSL context is needed (some SSL_GET checker exists).
    pub fn ssl_required(&self) -> bool {
        self.virtual_servers.iter().any(|vs| {
            vs.real_servers.iter().any(|rs| {
                rs.checkers
                    .iter()
                    .any(|c| matches!(&c.kind, CheckerKind::Http(h) if h.tls))
            })
        })
    }
}

/// The root `SSL { password ca certificate key }` block (file names as written).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SslConfig {
    pub password: Option<String>,
    pub ca: Option<String>,
    pub certificate: Option<String>,
    pub key: Option<String>,
    pub span: Span,
}

/// Address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpFamily {
    Inet,
    Inet6,
}

impl IpFamily {
    pub fn of(addr: &IpAddr) -> IpFamily {
        match addr {
            IpAddr::V4(_) => IpFamily::Inet,
            IpAddr::V6(_) => IpFamily::Inet6,
        }
    }

    /// `AF_INET` / `AF_INET6`.
    pub fn af(self) -> u16 {
        match self {
            IpFamily::Inet => 2,
            IpFamily::Inet6 => 10,
        }
    }
}

/// A `virtual_server_group NAME { ... }` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualServerGroup {
    pub name: String,
    /// Address entries and fwmark entries, in configuration order.
    pub entries: Vec<VsgEntry>,
    pub span: Span,
}

impl VirtualServerGroup {
    pub fn has_addresses(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Range { .. }))
    }

    pub fn has_fwmarks(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Fwmark { .. }))
    }
}

/// One entry of a virtual server group. `IP [PORT]`, `A.B.C.D-E [PORT]`, `IP1-IP2 [PORT]`
/// and `IP/LEN [PORT]` are all kept as an inclusive address range (a single address has
/// `first == last`); `fwmark N [inet|inet6]` as a mark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VsgEntry {
    Range {
        first: IpAddr,
        last: IpAddr,
        /// 0 when no port was given ("port 0 means none").
        port: u16,
        span: Span,
    },
    Fwmark {
        mark: u32,
        family: Option<IpFamily>,
        span: Span,
    },
}

impl VsgEntry {
    pub fn span(&self) -> Span {
        match self {
            VsgEntry::Range { span, .. } | VsgEntry::Fwmark { span, .. } => *span,
        }
    }

    /// Number of addresses in a range entry (saturating; 0 for a fwmark entry).
    pub fn address_count(&self) -> u128 {
        match self {
            VsgEntry::Range { first, last, .. } => ip_to_u128(last)
                .saturating_sub(ip_to_u128(first))
                .saturating_add(1),
            VsgEntry::Fwmark { .. } => 0,
        }
    }

    /// The addresses of a range entry, first to last (empty for a fwmark entry). keepalived
    /// makes one IPVS service per address.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let (start, end, v4) = match self {
            VsgEntry::Range { first, last, .. } => {
                (ip_to_u128(first), ip_to_u128(last), first.is_ipv4())
            }
            VsgEntry::Fwmark { .. } => (1, 0, true),
        };
        (start..=end).map(move |v| u128_to_ip(v, v4))
    }
}

/// An address as an integer (IPv4 in the low 32 bits).
pub fn ip_to_u128(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(*a)),
        IpAddr::V6(a) => u128::from(*a),
    }
}

/// Inverse of [`ip_to_u128`].
pub fn u128_to_ip(v: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(v as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

/// How a virtual server is named: `IP PORT`, `fwmark N` or `group NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VsAddress {
    Ip { addr: IpAddr, port: u16 },
    Fwmark(u32),
    Group(String),
}

/// IPVS protocol of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// The IP protocol number (`IPPROTO_*`).
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    /// keepalived's lower-case name in log lines ("tcp", "udp", "sctp").
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// IPVS schedulers keepalived accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Sh,
    Mh,
    Dh,
    Fo,
    Ovf,
    Lblcr,
    Sed,
    Nq,
    Twos,
}

impl Scheduler {
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Sh,
        Scheduler::Mh,
        Scheduler::Dh,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Lblcr,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Twos,
    ];

    /// The kernel scheduler name (IPVS_SVC_ATTR_SCHED_NAME).
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Sh => "sh",
            Scheduler::Mh => "mh",
            Scheduler::Dh => "dh",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Twos => "twos",
        }
    }

    pub fn from_name(s: &str) -> Option<Scheduler> {
        Scheduler::ALL.iter().copied().find(|x| x.name() == s)
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// IPVS service flags a virtual server sets (beyond PERSISTENT, which follows from
/// `persistence_timeout_s`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceFlags {
    /// `ops` (IP_VS_SVC_F_ONEPACKET), only kept for UDP services.
    pub one_packet: bool,
    /// `flag-1`, `sh-fallback`, `mh-fallback` (IP_VS_SVC_F_SCHED1).
    pub sched1: bool,
    /// `flag-2`, `sh-port`, `mh-port` (IP_VS_SVC_F_SCHED2).
    pub sched2: bool,
    /// `flag-3` (IP_VS_SVC_F_SCHED3).
    pub sched3: bool,
}

impl ServiceFlags {
    pub const PERSISTENT: u32 = 0x1;
    pub const HASHED: u32 = 0x2;
    pub const ONEPACKET: u32 = 0x4;
    pub const SCHED1: u32 = 0x8;
    pub const SCHED2: u32 = 0x10;
    pub const SCHED3: u32 = 0x20;

    /// The IPVS_SVC_ATTR_FLAGS bits, without PERSISTENT.
    pub fn bits(&self) -> u32 {
        let mut b = 0;
        if self.one_packet {
            b |= Self::ONEPACKET;
        }
        if self.sched1 {
            b |= Self::SCHED1;
        }
        if self.sched2 {
            b |= Self::SCHED2;
        }
        if self.sched3 {
            b |= Self::SCHED3;
        }
        b
    }
}

/// Tunnel encapsulation of `lvs_method TUN type ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelType {
    Ipip,
    /// Generic UDP encapsulation to this destination port.
    Gue {
        port: u16,
    },
    Gre,
}

impl TunnelType {
    /// IPVS_DEST_ATTR_TUN_TYPE value.
    pub fn code(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue { .. } => 1,
            TunnelType::Gre => 2,
        }
    }
}

/// Tunnel checksum option (`nocsum`, `csum`, `remcsum`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TunnelCsum {
    #[default]
    NoCsum,
    Csum,
    RemCsum,
}

impl TunnelCsum {
    /// IPVS_DEST_ATTR_TUN_FLAGS value.
    pub fn code(self) -> u16 {
        match self {
            TunnelCsum::NoCsum => 0,
            TunnelCsum::Csum => 1,
            TunnelCsum::RemCsum => 2,
        }
    }
}

/// Forwarding method of a real server (`lvs_method` / `lb_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardingMethod {
    /// Masquerading (IP_VS_CONN_F_MASQ, 0).
    Nat,
    /// Direct routing (IP_VS_CONN_F_DROUTE, 3).
    Dr,
    /// Tunnelling (IP_VS_CONN_F_TUNNEL, 2).
    Tun {
        tunnel: TunnelType,
        csum: TunnelCsum,
    },
}

impl ForwardingMethod {
    /// Plain `TUN` (ipip, no checksum).
    pub const TUN: ForwardingMethod = ForwardingMethod::Tun {
        tunnel: TunnelType::Ipip,
        csum: TunnelCsum::NoCsum,
    };

    /// The IPVS_DEST_ATTR_FWD_METHOD value.
    pub fn conn_flags(self) -> u32 {
        match self {
            ForwardingMethod::Nat => 0,
            ForwardingMethod::Tun { .. } => 2,
            ForwardingMethod::Dr => 3,
        }
    }

    pub fn is_nat(self) -> bool {
        matches!(self, ForwardingMethod::Nat)
    }

    pub fn is_tunnel(self) -> bool {
        matches!(self, ForwardingMethod::Tun { .. })
    }
}

/// `persistence_granularity`: an IPv4 netmask or an IPv6 prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersistenceGranularity {
    V4Netmask(Ipv4Addr),
    V6PrefixLen(u8),
}

impl PersistenceGranularity {
    /// The IPVS_SVC_ATTR_NETMASK value (netmask in network order for IPv4, the prefix
    /// length for IPv6).
    pub fn netmask_attr(self) -> u32 {
        match self {
            PersistenceGranularity::V4Netmask(a) => u32::from_ne_bytes(a.octets()),
            PersistenceGranularity::V6PrefixLen(l) => u32::from(l),
        }
    }
}

/// The inheritable checker timing settings exactly as written in one block (`None`: not
/// written there, inherited). The resolved values are on [`Checker`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    pub delay_loop_us: Option<u64>,
    pub connect_timeout_us: Option<u64>,
    pub retry: Option<u32>,
    pub delay_before_retry_us: Option<u64>,
    pub warmup_us: Option<u64>,
    pub alpha: Option<bool>,
}

/// The sorry server of a virtual server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SorryServer {
    pub addr: IpAddr,
    /// Resolved as keepalived does (NAT: VS port when 0; DR/TUN: VS port, or 0 for fwmark).
    pub port: u16,
    /// Resolved: `sorry_server_lvs_method`, else the VS method.
    pub forwarding: ForwardingMethod,
    /// `sorry_server_lvs_method` as written.
    pub configured_forwarding: Option<ForwardingMethod>,
    /// `sorry_server_inhibit`: added at weight 0 instead of removed.
    pub inhibit: bool,
    /// The sorry server is also one of the real servers.
    pub duplicates_rs: bool,
    pub span: Span,
}

/// A `virtual_server` block (one IPVS service, or one per group entry address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualServer {
    pub address: VsAddress,
    /// Resolved address family: from the address, `ip_family`, or the (non-tunnelled) real
    /// and sorry servers; IPv4 when nothing says. For a group it is `None` unless
    /// `ip_family` or a non-tunnelled real server fixed it (a group may hold both).
    pub family: Option<IpFamily>,
    /// `None` for fwmark services (protocol is ignored there); UDP when an address-based
    /// service gave none (with keepalived's warning).
    pub protocol: Option<Protocol>,
    /// Resolved scheduler (`wlc` when none was given, with keepalived's warning).
    pub scheduler: Scheduler,
    /// `lvs_sched` / `lb_algo` as written.
    pub configured_scheduler: Option<Scheduler>,
    /// Resolved default forwarding method (NAT when none was given).
    pub forwarding: ForwardingMethod,
    /// `lvs_method` / `lb_kind` as written.
    pub configured_forwarding: Option<ForwardingMethod>,
    /// `Some` for a persistent service (also implied by a zero port or granularity).
    pub persistence_timeout_s: Option<u32>,
    pub persistence_granularity: Option<PersistenceGranularity>,
    pub persistence_engine: Option<String>,
    pub flags: ServiceFlags,
    /// Effective defaults handed down to real servers and checkers.
    pub delay_loop_us: u64,
    pub connect_timeout_us: u64,
    /// The timing keywords as written in this block.
    pub timing: Timing,
    pub inhibit_on_failure: bool,
    pub alpha: bool,
    pub omega: bool,
    /// Lowered to the sum of real-server weights when higher (keepalived's warning).
    pub quorum: u32,
    /// Lowered to `quorum - 1` when not below the quorum.
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    pub sorry_server: Option<SorryServer>,
    /// Cleared for fwmark services (keepalived's warning).
    pub ha_suspend: bool,
    /// Default real-server weight (`weight` in the VS block, 1).
    pub weight: u32,
    /// `None`: use global `smtp_alert_checker`, else `smtp_alert`, else off.
    pub smtp_alert: Option<bool>,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    pub real_servers: Vec<RealServer>,
    pub span: Span,
}

impl VirtualServer {
    pub fn is_fwmark(&self) -> bool {
        matches!(self.address, VsAddress::Fwmark(_))
    }

    pub fn group_name(&self) -> Option<&str> {
        match &self.address {
            VsAddress::Group(g) => Some(g),
            _ => None,
        }
    }

    /// The service port (0 for fwmark and group services).
    pub fn port(&self) -> u16 {
        match self.address {
            VsAddress::Ip { port, .. } => port,
            _ => 0,
        }
    }

    /// keepalived's `FMT_VS`: `[10.0.0.1]:tcp:80`, `FWM 1`, `[GROUP]:0`.
    pub fn display_name(&self) -> String {
        format_vs(&self.address, self.protocol)
    }
}

/// keepalived's `FMT_VS` for an address and (possibly unset) protocol.
pub fn format_vs(addr: &VsAddress, proto: Option<Protocol>) -> String {
    match addr {
        VsAddress::Group(g) => format!("[{g}]:0"),
        VsAddress::Fwmark(m) => format!("FWM {m}"),
        VsAddress::Ip { addr, port } => format_trio(addr, proto, *port),
    }
}

/// keepalived's `inet_sockaddrtotrio`: `[ADDR]:PROTO:PORT`, with `none` for no protocol.
pub fn format_trio(addr: &IpAddr, proto: Option<Protocol>, port: u16) -> String {
    let p = proto.map(Protocol::name).unwrap_or("none");
    format!("[{addr}]:{p}:{port}")
}

/// A `real_server IP [PORT]` block: one IPVS destination and its checkers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServer {
    pub addr: IpAddr,
    /// Resolved as keepalived does: for an `IP PORT` service a missing port is the VS
    /// port, and for DR/TUN any other port is reset to it; for a fwmark service DR/TUN ports
    /// are cleared (NAT keeps what was written). For a group service it stays as written: 0
    /// means "the port of each group entry".
    pub port: u16,
    /// The port as written (0 when none).
    pub configured_port: u16,
    /// Resolved IPVS weight: its own `weight`, else the VS `weight` (1).
    pub weight: u32,
    /// `weight` as written.
    pub configured_weight: Option<u32>,
    /// Resolved forwarding: its own `lvs_method`, else the VS method.
    pub forwarding: ForwardingMethod,
    /// `lvs_method` as written.
    pub configured_forwarding: Option<ForwardingMethod>,
    pub u_threshold: u32,
    pub l_threshold: u32,
    /// Resolved: own value, else the VS value.
    pub inhibit_on_failure: bool,
    /// `inhibit_on_failure` as written.
    pub configured_inhibit: Option<bool>,
    /// Resolved: own value, else the VS value.
    pub alpha: bool,
    pub notify_up: Option<Script>,
    pub notify_down: Option<Script>,
    /// Effective values handed down to checkers.
    pub delay_loop_us: u64,
    pub connect_timeout_us: u64,
    /// The timing keywords as written in this block.
    pub timing: Timing,
    /// `None`: global `smtp_alert_checker`, else `smtp_alert`, else **on** (keepalived's
    /// backward-compatible default for real servers).
    pub smtp_alert: Option<bool>,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    /// Checkers in configuration order (SMTP `host {}` blocks expanded).
    pub checkers: Vec<Checker>,
    pub span: Span,
}

impl RealServer {
    /// keepalived's `FMT_RS` for this server under `vs`.
    pub fn display_name(&self, vs: &VirtualServer) -> String {
        format_trio(&self.addr, vs.protocol, self.port)
    }
}

/// Connection options of a checker that opens a socket (not MISC, FILE, BFD).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnOpts {
    /// Resolved target: `connect_ip`, else the real server address.
    pub dst_addr: IpAddr,
    /// Resolved target port: `connect_port`, else the real server port.
    pub dst_port: u16,
    /// `connect_ip` as written.
    pub connect_ip: Option<IpAddr>,
    /// `connect_port` as written.
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bind_addr: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if` (SO_BINDTODEVICE).
    pub bind_if: Option<String>,
    /// `fwmark` (SO_MARK), 0 for none.
    pub fwmark: u32,
    /// Resolved: checker → real server → virtual server → 5 s.
    pub connect_timeout_us: u64,
}

/// One health checker, with every inheritable value resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checker {
    pub kind: CheckerKind,
    /// `None` for MISC_CHECK, FILE_CHECK and BFD_CHECK.
    pub conn: Option<ConnOpts>,
    /// Checker → real server → virtual server → 60 s.
    pub delay_loop_us: u64,
    /// Checker → RS (→ VS) → per-type default (1; DNS 3; MISC 0).
    pub retry: u32,
    /// Checker → RS (→ VS) → per-type default (1 s; HTTP/SSL 3 s; DNS = delay_loop).
    pub delay_before_retry_us: u64,
    /// Checker → RS (→ VS) → delay_loop.
    pub warmup_us: u64,
    /// Checker → RS → VS.
    pub alpha: bool,
    pub log_all_failures: bool,
    /// The timing keywords as written in the checker block.
    pub timing: Timing,
    pub span: Span,
}

/// What a checker does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckerKind {
    Tcp,
    /// HTTP_GET (`tls == false`) and SSL_GET (`tls == true`).
    Http(HttpCheck),
    Smtp(SmtpCheck),
    Dns(DnsCheck),
    Misc(MiscCheck),
    Udp(UdpCheck),
    Ping,
    File(FileCheck),
    Bfd(BfdCheck),
}

impl CheckerKind {
    /// The configuration keyword of the checker.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Http(h) if h.tls => "SSL_GET",
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
            CheckerKind::Bfd(_) => "BFD_CHECK",
        }
    }
}

/// `http_protocol`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpProtocol {
    /// `GET ... HTTP/1.0`.
    #[default]
    V1_0,
    /// HTTP/1.0 with `Connection: close`.
    V1_0C,
    /// HTTP/1.1 with `Connection: close`.
    V1_1,
}

/// HTTP_GET / SSL_GET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCheck {
    pub tls: bool,
    /// At least one (a checker without URLs is dropped, as keepalived does).
    pub urls: Vec<Url>,
    /// Checker-level `virtualhost` as written.
    pub virtualhost: Option<String>,
    pub http_protocol: HttpProtocol,
    /// `enable_sni` (or implied by `sni_name`).
    pub enable_sni: bool,
    pub sni_name: Option<String>,
    pub fast_recovery: bool,
    pub tls_compliant: bool,
}

/// One `url { }` of an HTTP/SSL checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub path: String,
    /// MD5 of the body.
    pub digest: Option<[u8; 16]>,
    /// Accepted status codes (200-299 when none was given).
    pub status_codes: StatusCodes,
    /// Resolved `Host:` name: url → checker → real server → virtual server; `None` means
    /// the target `IP:port`.
    pub virtualhost: Option<String>,
    /// The url's own `virtualhost` as written.
    pub configured_virtualhost: Option<String>,
    pub regex: Option<RegexMatch>,
    pub tls_compliant: bool,
    pub span: Span,
}

/// Body regular expression of a URL (PCRE2 syntax; compiled by the checker engine).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexMatch {
    pub pattern: String,
    pub no_match: bool,
    /// `regex_options` names, as written.
    pub options: Vec<String>,
    pub min_offset: u64,
    /// Last acceptable offset (keepalived stores one past it).
    pub max_offset: Option<u64>,
    /// `regex_stack START MAX`.
    pub stack: Option<(u64, u64)>,
}

/// The lowest and highest HTTP status codes keepalived accepts in `status_code`.
pub const HTTP_STATUS_CODE_MIN: u16 = 100;
pub const HTTP_STATUS_CODE_MAX: u16 = 599;

/// A set of HTTP status codes in 100..=599 (a bit set, as keepalived keeps it).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StatusCodes {
    bits: [u64; 8],
}

impl Default for StatusCodes {
    /// keepalived's default: 200-299.
    fn default() -> Self {
        let mut s = StatusCodes::empty();
        s.insert_range(200, 299);
        s
    }
}

impl StatusCodes {
    pub fn empty() -> Self {
        StatusCodes { bits: [0; 8] }
    }

    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|b| *b == 0)
    }

    /// Adds `lo..=hi`, clipped to 100..=599.
    pub fn insert_range(&mut self, lo: u16, hi: u16) {
        let lo = lo.max(HTTP_STATUS_CODE_MIN);
        let hi = hi.min(HTTP_STATUS_CODE_MAX);
        for c in lo..=hi {
            let i = usize::from(c - HTTP_STATUS_CODE_MIN);
            self.bits[i / 64] |= 1 << (i % 64);
        }
    }

    pub fn contains(&self, code: u16) -> bool {
        if !(HTTP_STATUS_CODE_MIN..=HTTP_STATUS_CODE_MAX).contains(&code) {
            return false;
        }
        let i = usize::from(code - HTTP_STATUS_CODE_MIN);
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }

    /// The set as inclusive ranges, ascending.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        for c in HTTP_STATUS_CODE_MIN..=HTTP_STATUS_CODE_MAX {
            if self.contains(c) {
                match out.last_mut() {
                    Some(last) if last.1 + 1 == c => last.1 = c,
                    _ => out.push((c, c)),
                }
            }
        }
        out
    }
}

impl fmt::Debug for StatusCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ranges()).finish()
    }
}

/// SMTP_CHECK (each deprecated `host { }` sub-block became a checker of its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpCheck {
    pub helo_name: String,
}

/// DNS query types DNS_CHECK knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DnsType {
    A,
    Ns,
    Cname,
    #[default]
    Soa,
    Mx,
    Txt,
    Aaaa,
    Rrsig,
    Dnskey,
}

impl DnsType {
    pub const ALL: [DnsType; 9] = [
        DnsType::A,
        DnsType::Ns,
        DnsType::Cname,
        DnsType::Soa,
        DnsType::Mx,
        DnsType::Txt,
        DnsType::Aaaa,
        DnsType::Rrsig,
        DnsType::Dnskey,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DnsType::A => "A",
            DnsType::Ns => "NS",
            DnsType::Cname => "CNAME",
            DnsType::Soa => "SOA",
            DnsType::Mx => "MX",
            DnsType::Txt => "TXT",
            DnsType::Aaaa => "AAAA",
            DnsType::Rrsig => "RRSIG",
            DnsType::Dnskey => "DNSKEY",
        }
    }

    /// The QTYPE code.
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
            DnsType::Rrsig => 46,
            DnsType::Dnskey => 48,
        }
    }

    /// Case-insensitive lookup.
    pub fn from_name(s: &str) -> Option<DnsType> {
        DnsType::ALL
            .iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(s))
    }
}

/// DNS_CHECK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsCheck {
    pub qtype: DnsType,
    /// Query name (`.` when none was given).
    pub name: String,
}

/// MISC_CHECK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiscCheck {
    /// The program and its arguments (`misc_path`); `user` fills `user`/`group`.
    pub script: Script,
    /// Resolved kill timeout: `misc_timeout`, else the VS delay_loop.
    pub timeout_us: u64,
    /// `misc_timeout` as written.
    pub configured_timeout_us: Option<u64>,
    pub dynamic: bool,
}

/// UDP_CHECK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpCheck {
    /// The datagram sent: `payload`, else 32 bytes of keepalived's default text.
    pub payload: Vec<u8>,
    /// Whether `payload` was given.
    pub payload_configured: bool,
    pub require_reply: bool,
    /// Expected reply prefix (matched over min(len, pattern) bytes) with its wildcard mask.
    pub reply: Option<ReplyPattern>,
    pub min_reply_length: u16,
    pub max_reply_length: u16,
}

/// A `require_reply` hex pattern: `mask` bits set where `X` wildcards were (ignored bits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyPattern {
    pub data: Vec<u8>,
    pub mask: Vec<u8>,
}

impl ReplyPattern {
    /// Does `reply` match (over the shorter of the two lengths)?
    pub fn matches(&self, reply: &[u8]) -> bool {
        reply
            .iter()
            .zip(self.data.iter().zip(self.mask.iter()))
            .all(|(r, (d, m))| (r ^ d) & !m == 0)
    }
}

/// FILE_CHECK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileCheck {
    /// Name of a `track_file` block.
    pub track_file: String,
    /// `weight`, else the track_file's own weight (resolved in validation; `None` only if
    /// the track_file is unknown).
    pub weight: Option<i32>,
    /// `weight ... reverse`, else the track_file's.
    pub reverse: bool,
}

/// BFD_CHECK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdCheck {
    /// Name of a `bfd_instance`.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        let d = StatusCodes::default();
        assert!(d.contains(200) && d.contains(299) && !d.contains(300) && !d.contains(199));
        assert_eq!(d.ranges(), vec![(200, 299)]);
        let mut s = StatusCodes::empty();
        s.insert_range(100, 100);
        s.insert_range(404, 410);
        s.insert_range(599, 599);
        assert_eq!(s.ranges(), vec![(100, 100), (404, 410), (599, 599)]);
        assert!(!s.contains(600) && !s.contains(0));
    }

    #[test]
    fn payload_and_ranges() {
        let p = default_check_payload(32);
        assert_eq!(&p[..], b"keepalived check - keepalived ch");
        let e = VsgEntry::Range {
            first: "10.0.0.3".parse().unwrap(),
            last: "10.0.0.5".parse().unwrap(),
            port: 80,
            span: Span::default(),
        };
        assert_eq!(e.address_count(), 3);
        let v: Vec<IpAddr> = e.addresses().collect();
        assert_eq!(v.len(), 3);
        assert_eq!(v[2], "10.0.0.5".parse::<IpAddr>().unwrap());
        let r = ReplyPattern {
            data: vec![0x0a, 0x00],
            mask: vec![0x00, 0xff],
        };
        assert!(r.matches(&[0x0a, 0x77, 0x99]));
        assert!(!r.matches(&[0x0b]));
    }
}
