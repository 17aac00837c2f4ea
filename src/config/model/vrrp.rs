//! Typed model of the VRRP side of keepalived.conf: `vrrp_instance`, `vrrp_script`,
//! `vrrp_sync_group`, `track_file`, `vrrp_track_process`, the static address/route/rule
//! blocks, `track_group`, `garp_group`, `linkbeat_interfaces` and
//! `interface_up_down_delays` (keepalived's `vrrp/vrrp_parser.c`, `vrrp/vrrp_data.c`,
//! `vrrp/vrrp.c:vrrp_complete_instance`).
//!
//! Everything here is *resolved*: keepalived's defaults, the global defaults and the derived
//! values (priority from state, version from family, strict-mode overrides, rounded advert
//! interval) are already applied, and what keepalived drops is gone. Durations are
//! microseconds (`_us`); the advertisement interval is kept in centiseconds, the unit of the
//! VRRPv3 Max Adver Int field (RFC 5798 §5.2.7), and is a whole number of seconds for v2.

use crate::config::ast::Span;
use crate::config::model::global::{ExecScript, GarpExtraIf};
use crate::config::model::Script;
use std::net::IpAddr;

/// RFC 5798 §5.2.4: priority of the address owner.
pub const PRIORITY_OWNER: u8 = 255;
/// keepalived's default priority for a non-owner.
pub const PRIORITY_DEFAULT: u8 = 100;
/// Largest VRRPv3 Max Adver Int (12 bits of centiseconds, RFC 5798 §5.2.7).
pub const V3_MAX_ADVERT_INT_CS: u16 = 4095;
/// Largest VRRPv2 Adver Int (8 bits of seconds, RFC 3768 §5.3.7).
pub const V2_MAX_ADVERT_INT_S: u8 = 255;
/// keepalived's default for a rule's auto-assigned preference (counted down per family).
pub const RULE_AUTO_PRIORITY_START: u32 = 16384;

/// Address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        if addr.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        }
    }

    /// 4 or 6, as keepalived prints it ("with IPv4 on interface ...").
    pub fn number(self) -> u8 {
        match self {
            Family::Inet => 4,
            Family::Inet6 => 6,
        }
    }
}

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum VrrpVersion {
    /// RFC 3768: IPv4 only upstream (keepalived also runs it over IPv6), whole seconds.
    V2,
    /// RFC 5798 / RFC 9568: centisecond intervals, IPv4 and IPv6.
    V3,
}

impl VrrpVersion {
    pub fn number(self) -> u8 {
        match self {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        }
    }
}

/// The configured initial state (`state MASTER|BACKUP`, or derived from the priority).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialState {
    Master,
    Backup,
}

/// RFC 3768 §5.3.6 authentication types keepalived supports (VRRPv2 only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    /// Type 1: 8 octets of clear text.
    Pass,
    /// Type 2: IPsec AH (HMAC-MD5-96) keyed by the password.
    Ah,
}

/// `authentication { auth_type ...; auth_pass ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    pub auth_type: AuthType,
    /// The first 8 bytes of `auth_pass`, zero padded.
    pub password: [u8; 8],
}

/// A prefix `ADDR/LEN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPrefix {
    pub addr: IpAddr,
    pub len: u8,
}

/// `scope` of an address or route (rtnetlink `RT_SCOPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope(pub u8);

impl Scope {
    pub const UNIVERSE: Scope = Scope(0);
    pub const SITE: Scope = Scope(200);
    pub const LINK: Scope = Scope(253);
    pub const HOST: Scope = Scope(254);
    pub const NOWHERE: Scope = Scope(255);
}

/// `brd` of an addr-spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broadcast {
    Addr(std::net::Ipv4Addr),
    /// `brd +`: host bits set.
    AllOnes,
    /// `brd -`: host bits clear.
    AllZeros,
}

/// `preferred_lft`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreferredLft {
    Forever,
    Secs(u32),
}

/// An address: `IP[/LEN] [brd ...] [dev IF] [scope S] [label L] [peer IP] [home] [-nodad]
/// [mngtmpaddr] [noprefixroute] [autojoin] [no_track] [preferred_lft N|forever]
/// [use_vmac] [track_group G]` (keepalived's `vrrp_ipaddress.c:parse_ipaddress`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrSpec {
    pub addr: IpAddr,
    /// /32 or /128 when not given.
    pub prefix_len: u8,
    pub broadcast: Option<Broadcast>,
    /// `dev`; `None` means the instance interface (or VMAC), or `default_interface` for a
    /// static address.
    pub dev: Option<String>,
    pub scope: Option<Scope>,
    pub label: Option<String>,
    pub peer: Option<IpAddr>,
    /// IFA_F_HOMEADDRESS (IPv6).
    pub home: bool,
    /// IFA_F_NODAD (IPv6, `-nodad`).
    pub nodad: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    /// Deleting it does not make the instance FAULT.
    pub no_track: bool,
    /// `None`: kernel default, except that keepalived deprecates a /128 IPv6 VIP
    /// (preferred_lft 0) unless `forever` is given; see [`AddrSpec::effective_preferred_lft`].
    pub preferred_lft: Option<PreferredLft>,
    /// VIP on another interface gets its own VMAC.
    pub use_vmac: bool,
    /// Static addresses only.
    pub track_group: Option<String>,
    /// The address as written, for messages.
    pub text: String,
    pub span: Span,
}

impl AddrSpec {
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// keepalived installs a /128 IPv6 VIP with preferred_lft 0 (deprecated, so it is
    /// never chosen as a source address) unless `preferred_lft forever` was given.
    pub fn effective_preferred_lft(&self, is_vip: bool) -> Option<PreferredLft> {
        match self.preferred_lft {
            Some(p) => Some(p),
            None if is_vip && self.addr.is_ipv6() && self.prefix_len == 128 => {
                Some(PreferredLft::Secs(0))
            }
            None => None,
        }
    }
}

/// rtnetlink route types (`RTN_*`) usable in a route-spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteType {
    Unicast,
    Local,
    Broadcast,
    Anycast,
    Multicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
    Nat,
    Xresolve,
}

impl RouteType {
    /// The kernel value (`RTN_*`).
    pub fn rtn(self) -> u8 {
        match self {
            RouteType::Unicast => 1,
            RouteType::Local => 2,
            RouteType::Broadcast => 3,
            RouteType::Anycast => 4,
            RouteType::Multicast => 5,
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
            RouteType::Throw => 9,
            RouteType::Nat => 10,
            RouteType::Xresolve => 11,
        }
    }
}

/// A route metric that can be locked (`mtu lock 1400`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    pub value: u32,
    pub lock: bool,
}

/// The RTA_METRICS of a route.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteMetrics {
    pub mtu: Option<Metric>,
    pub hoplimit: Option<u8>,
    pub advmss: Option<Metric>,
    /// In the kernel's unit (1/8 ms).
    pub rtt: Option<Metric>,
    /// In the kernel's unit (1/4 ms).
    pub rttvar: Option<Metric>,
    pub reordering: Option<Metric>,
    pub window: Option<u32>,
    pub cwnd: Option<Metric>,
    pub ssthresh: Option<Metric>,
    /// Milliseconds.
    pub rto_min: Option<Metric>,
    pub initcwnd: Option<u32>,
    pub initrwnd: Option<u32>,
    pub quickack: Option<bool>,
    /// Congestion control algorithm and its lock flag.
    pub congctl: Option<(String, bool)>,
    pub features_ecn: bool,
    pub fastopen_no_cookie: Option<bool>,
}

/// Lightweight-tunnel encapsulation of a route or nexthop (`encap ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encap {
    /// MPLS label stack (`encap mpls 100/200`).
    Mpls(Vec<u32>),
    Ip {
        id: Option<u64>,
        dst: Option<IpAddr>,
        src: Option<IpAddr>,
        tos: Option<u8>,
        ttl: Option<u8>,
        flags: Option<u16>,
    },
    Ip6 {
        id: Option<u64>,
        dst: Option<IpAddr>,
        src: Option<IpAddr>,
        tc: Option<u8>,
        hoplimit: Option<u8>,
        flags: Option<u16>,
    },
    /// ILA locator (64 bits).
    Ila(u64),
}

/// One `nexthop via ... dev ... weight N onlink` of a multipath route.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nexthop {
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// 1..=256 as written (the kernel stores weight-1).
    pub weight: Option<u16>,
    pub onlink: bool,
    pub realms: Option<u32>,
    pub encap: Option<Encap>,
}

/// How a route is added (NLM_F flags): keepalived's default is `prepend`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RouteAddMode {
    #[default]
    Prepend,
    /// `add`: NLM_F_EXCL, as iproute2.
    Add,
    Append,
}

/// A route-spec (keepalived's `vrrp_iproute.c:alloc_route`, the `ip route` grammar).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    pub family: Family,
    pub route_type: RouteType,
    pub dst: IpPrefix,
    /// The destination as written (`default`, `10.0.0.0/8`), for messages.
    pub dst_text: String,
    /// `src`: preferred source address.
    pub pref_src: Option<IpAddr>,
    /// `from`: source prefix (IPv6 only).
    pub from: Option<IpPrefix>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub onlink: bool,
    /// Routing table (254 = main).
    pub table: u32,
    /// `protocol`; keepalived forces 18 (`keepalived`) on tracked routes.
    pub protocol: Option<u8>,
    pub scope: Option<Scope>,
    /// `metric`/`priority`/`preference`.
    pub metric: Option<u32>,
    pub tos: Option<u8>,
    pub realms: Option<u32>,
    pub metrics: RouteMetrics,
    /// IPv6 router preference (`pref low|medium|high|N`).
    pub pref: Option<u8>,
    pub ttl_propagate: Option<bool>,
    /// IPv6 `expires` seconds.
    pub expires: Option<u32>,
    pub encap: Option<Encap>,
    /// Multipath (`nexthop ...` or the deprecated `or`).
    pub nexthops: Vec<Nexthop>,
    pub vrf: Option<String>,
    pub add_mode: RouteAddMode,
    /// Not tracked: deleting it does not make the instance FAULT. keepalived also sets it
    /// on routes without an interface ("cannot track route ... not tracking").
    pub no_track: bool,
    pub track_group: Option<String>,
    pub span: Span,
}

/// Action of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleAction {
    /// `table N` / `lookup N`.
    Table(u32),
    /// `l3mdev`: look up the table of the L3 master device.
    L3mdev,
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// A rule-spec (keepalived's `vrrp_iprule.c:alloc_rule`, the `ip rule` grammar).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    pub family: Family,
    /// `not`.
    pub invert: bool,
    pub from: Option<IpPrefix>,
    pub to: Option<IpPrefix>,
    /// `preference`/`order`/`priority`, or the auto-assigned value.
    pub priority: u32,
    /// The priority was assigned by keepalived (counting down from 16384 per family).
    pub priority_auto: bool,
    pub tos: Option<u8>,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    pub realms: Option<u32>,
    pub suppress_prefixlen: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
    /// `dev`/`iif`.
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub tunnel_id: Option<u64>,
    pub uidrange: Option<(u32, u32)>,
    pub protocol: Option<u8>,
    pub ipproto: Option<u8>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
    pub action: RuleAction,
    pub no_track: bool,
    pub track_group: Option<String>,
    pub span: Span,
}

/// A unicast peer: `IP [min_ttl N] [max_ttl N]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    /// Adverts from this peer with a TTL/hop limit outside `[min_ttl, max_ttl]` are
    /// dropped (keepalived's GTSM-like check); `None` means no bound.
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
    pub span: Span,
}

/// A tracked object with its weight (`track_interface`, `track_script`, ...).
///
/// Weight semantics (keepalived `vrrp_track.c`): W > 0 adds W while the object is up; W < 0
/// adds W while it is down; W = 0 makes the instance FAULT while it is down. `reverse`
/// swaps up and down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracked {
    /// Interface, vrrp_script, track_file, vrrp_track_process or bfd_instance name.
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
    /// A weight was written on the tracking line (otherwise the object's own weight).
    pub weight_set: bool,
    pub span: Span,
}

/// `use_vmac [IFNAME] [MAC] [netlink_notify_msg] [group G]` plus `vmac_xmit_base`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vmac {
    /// The macvlan's name; `None`: `vrrp.VRID` (numbered on conflict).
    pub ifname: Option<String>,
    /// `None`: 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6).
    pub mac: Option<[u8; 6]>,
    /// Send and receive adverts on the parent interface.
    pub xmit_base: bool,
    pub netlink_notify_msg: bool,
    pub group: Option<u32>,
}

/// ipvlan mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpvlanMode {
    #[default]
    Bridge,
    Private,
    Vepa,
}

/// `use_ipvlan [[name] IF] [IP[/LEN]] [bridge|private|vepa] [group G]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipvlan {
    pub ifname: Option<String>,
    pub addr: Option<IpPrefix>,
    pub mode: IpvlanMode,
    pub group: Option<u32>,
}

/// Notify scripts of an instance or a sync group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    pub master: Option<ExecScript>,
    pub backup: Option<ExecScript>,
    pub fault: Option<ExecScript>,
    pub stop: Option<ExecScript>,
    /// `notify`: called with `INSTANCE|GROUP NAME STATE PRIORITY` appended.
    pub generic: Option<ExecScript>,
    /// `notify_deleted`: `Some(None)` reports DELETED without a script of its own.
    pub deleted: Option<Option<ExecScript>>,
    pub master_rx_lower_pri: Option<ExecScript>,
}

impl NotifyScripts {
    pub fn scripts(&self) -> Vec<&Script> {
        let mut out: Vec<&Script> = [
            &self.master,
            &self.backup,
            &self.fault,
            &self.stop,
            &self.generic,
            &self.master_rx_lower_pri,
        ]
        .into_iter()
        .flatten()
        .map(|s| &s.script)
        .collect();
        if let Some(Some(d)) = &self.deleted {
            out.push(&d.script);
        }
        out
    }

    pub(crate) fn all_mut(&mut self) -> Vec<&mut Option<ExecScript>> {
        let mut v = vec![
            &mut self.master,
            &mut self.backup,
            &mut self.fault,
            &mut self.stop,
            &mut self.generic,
            &mut self.master_rx_lower_pri,
        ];
        if let Some(d) = &mut self.deleted {
            v.push(d);
        }
        v
    }
}

/// GARP / unsolicited NA settings of an instance (RFC 5798 §6.4.2 "broadcast a gratuitous
/// ARP"; keepalived repeats and refreshes them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GarpSettings {
    /// Delay of the second burst after becoming MASTER (0: none).
    pub master_delay_us: u64,
    /// GARPs per address per burst.
    pub master_repeat: u32,
    /// Periodic refresh while MASTER (0: off).
    pub master_refresh_us: u64,
    pub master_refresh_repeat: u32,
    pub lower_prio_delay_us: u64,
    pub lower_prio_repeat: u32,
    pub extra_if: Option<GarpExtraIf>,
}

/// A `vrrp_instance`, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpInstance {
    pub name: String,
    pub span: Span,
    /// The interface adverts go out of (never a loopback). `None` only when keepalived
    /// would reject the instance; such instances are dropped.
    pub interface: Option<String>,
    pub vrid: u8,
    /// Base priority (1..=255): configured, else 255 for `state MASTER`, else 100.
    pub priority: u8,
    pub initial_state: InitialState,
    pub version: VrrpVersion,
    pub family: Family,
    /// Advertisement_Interval in centiseconds (RFC 5798 §5.2.7); for VRRPv2 always a whole
    /// number of seconds (multiple of 100, at most 25500).
    pub advert_int_cs: u16,
    pub authentication: Option<Authentication>,
    /// Addresses carried in adverts (same family as the instance; the first decides it).
    pub vips: Vec<AddrSpec>,
    /// `virtual_ipaddress_excluded`: added with the VIPs, not advertised, any family.
    pub evips: Vec<AddrSpec>,
    pub no_virtual_ipaddress: bool,
    pub virtual_routes: Vec<RouteSpec>,
    pub virtual_rules: Vec<RuleSpec>,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<UnicastPeer>,
    /// TTL / hop limit of unicast adverts (`None`: 255 for IPv4, kernel default for IPv6).
    pub unicast_ttl: Option<u8>,
    pub unicast_fault_no_peer: bool,
    /// Only accept unicast adverts from configured peers (instance or global).
    pub check_unicast_src: bool,
    pub mcast_src_ip: Option<IpAddr>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub track_src_ip: bool,
    pub dont_track_primary: bool,
    pub track_interfaces: Vec<Tracked>,
    pub track_scripts: Vec<Tracked>,
    pub track_files: Vec<Tracked>,
    pub track_processes: Vec<Tracked>,
    pub track_bfds: Vec<Tracked>,
    /// Never preempt a live lower-priority master (cleared for an owner or state MASTER).
    pub nopreempt: bool,
    pub preempt_delay_us: u64,
    /// Accept mode (RFC 5798 §6.1): on unless strict, always on for an owner.
    pub accept: bool,
    pub strict_mode: bool,
    pub skip_check_adv_addr: bool,
    pub vmac: Option<Vmac>,
    pub use_vmac_addr: bool,
    pub ipvlan: Option<Ipvlan>,
    pub promote_secondaries: bool,
    pub garp: GarpSettings,
    /// Master_Down_Interval multiplier (3).
    pub down_timer_adverts: u32,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub owner_ignore_adverts: bool,
    pub timer_expired_backup: Option<u8>,
    pub kernel_rx_buf_size: Option<u32>,
    pub v3_checksum_as_v2: bool,
    /// `old_unicast_checksum [never]`: `None` auto-detects.
    pub old_unicast_checksum: Option<bool>,
    pub vrf: Option<String>,
    pub notify: NotifyScripts,
    pub notify_priority_changes: bool,
    pub smtp_alert: bool,
    /// The sync group this instance belongs to.
    pub sync_group: Option<String>,
    pub linkbeat_use_polling: bool,
    pub lvs_sync_daemon_interface: Option<String>,
    pub debug: u8,
    /// What the configuration said for the values that are derived or inherited (kept for
    /// dumps and for telling "configured" from "default" on reload).
    pub configured: ConfiguredValues,
}

/// The instance settings as written, before keepalived's derivations and the global
/// defaults were applied (`None`: not configured).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfiguredValues {
    pub priority: Option<u8>,
    pub state: Option<InitialState>,
    pub version: Option<VrrpVersion>,
    /// Set by the first VIP, `unicast_src_ip`/`mcast_src_ip`, a unicast peer or
    /// `native_ipv6`.
    pub family: Option<Family>,
    pub advert_int_us: Option<u64>,
    pub auth_type: Option<AuthType>,
    pub auth_pass: Option<[u8; 8]>,
    pub accept: Option<bool>,
    pub strict_mode: Option<bool>,
    pub skip_check_adv_addr: Option<bool>,
    pub check_unicast_src: bool,
    /// A unicast keyword (`unicast_src_ip`, `unicast_peer`) was given.
    pub unicast_keyword: bool,
    pub garp_master_delay_us: Option<u64>,
    pub garp_master_repeat: Option<u32>,
    pub garp_master_refresh_us: Option<u64>,
    pub garp_master_refresh_repeat: Option<u32>,
    pub garp_lower_prio_delay_us: Option<u64>,
    pub garp_lower_prio_repeat: Option<u32>,
    pub garp_extra_if: Option<Option<GarpExtraIf>>,
    pub down_timer_adverts: Option<u32>,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub owner_ignore_adverts: Option<bool>,
    pub v3_checksum_as_v2: Option<bool>,
    pub notify_priority_changes: Option<bool>,
    pub smtp_alert: Option<bool>,
    pub vmac_xmit_base: bool,
    /// Where each keyword was first used (for messages about derived values).
    pub spans: std::collections::BTreeMap<String, Span>,
}

impl VrrpInstance {
    /// The interface adverts go out of (always set on a validated instance).
    pub fn ifname(&self) -> &str {
        self.interface.as_deref().unwrap_or("")
    }

    /// The advertisement interval in microseconds.
    pub fn advert_int_us(&self) -> u64 {
        u64::from(self.advert_int_cs) * 10_000
    }

    /// The VRRPv2 Adver Int field (whole seconds).
    pub fn advert_int_v2_s(&self) -> u8 {
        (self.advert_int_cs / 100).min(u16::from(V2_MAX_ADVERT_INT_S)) as u8
    }

    /// The priority is 255: the instance owns the addresses (RFC 5798 §5.2.4).
    pub fn is_owner(&self) -> bool {
        self.priority == PRIORITY_OWNER
    }

    /// Unicast mode: adverts go to each peer rather than the multicast group.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// Every script this instance may run (notify scripts only; track scripts are in
    /// [`VrrpConfig::scripts`]).
    pub fn scripts(&self) -> Vec<&Script> {
        self.notify.scripts()
    }
}

/// A `vrrp_script`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpScript {
    pub name: String,
    pub span: Span,
    pub script: ExecScript,
    pub interval_us: u64,
    /// Default: the interval.
    pub timeout_us: u64,
    pub weight: i32,
    pub weight_reverse: bool,
    /// Consecutive successes to become OK.
    pub rise: u32,
    /// Consecutive failures to become KO.
    pub fall: u32,
    pub init_fail: bool,
}

/// How `vrrp_track_process` matches parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParamMatch {
    #[default]
    Exact,
    Initial,
    Partial,
}

/// A `vrrp_track_process`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackProcess {
    pub name: String,
    pub span: Span,
    /// The process name (comm) or path.
    pub process: String,
    /// Parameters to match against the command line.
    pub params: Vec<String>,
    pub param_match: ParamMatch,
    pub full_command: bool,
    pub weight: i32,
    pub weight_reverse: bool,
    pub quorum: u32,
    /// `None`: unlimited.
    pub quorum_max: Option<u32>,
    pub fork_delay_us: u64,
    pub terminate_delay_us: u64,
}

/// `init_file [VALUE] [overwrite]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitFile {
    pub value: i64,
    pub overwrite: bool,
}

/// A `track_file` (or the deprecated `vrrp_track_file`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackFile {
    pub name: String,
    pub span: Span,
    pub path: String,
    /// Multiplier of the value read (default 1).
    pub weight: i32,
    pub weight_reverse: bool,
    pub init_file: Option<InitFile>,
}

/// A `vrrp_sync_group`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroup {
    pub name: String,
    pub span: Span,
    /// Member instance names (all exist, each in no other group).
    pub members: Vec<String>,
    pub track_interfaces: Vec<Tracked>,
    pub track_scripts: Vec<Tracked>,
    pub track_files: Vec<Tracked>,
    pub track_processes: Vec<Tracked>,
    pub track_bfds: Vec<Tracked>,
    pub notify: NotifyScripts,
    /// Resolved: the group's `smtp_alert`, else `smtp_alert_vrrp`, else `smtp_alert`.
    pub smtp_alert: bool,
    pub smtp_alert_configured: Option<bool>,
    /// Allow non-zero tracker weights on members (`sync_group_tracking_weight`).
    pub tracking_weight: bool,
    pub notify_priority_changes: Option<bool>,
}

/// A `track_group`: instances that go FAULT when a static entry with `track_group NAME`
/// is deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackGroup {
    pub name: String,
    pub span: Span,
    pub instances: Vec<String>,
}

/// A `garp_group`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GarpGroup {
    pub span: Span,
    pub garp_interval_us: Option<u64>,
    pub gna_interval_us: Option<u64>,
    pub interfaces: Vec<String>,
}

/// Link polling method of `linkbeat_interfaces`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkbeatMethod {
    Mii,
    Ethtool,
    Ioctl,
}

/// One `linkbeat_interfaces` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkbeatInterface {
    pub name: String,
    /// `None`: MII, then ETHTOOL, then IOCTL.
    pub method: Option<LinkbeatMethod>,
}

/// One `interface_up_down_delays` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceDelay {
    pub name: String,
    pub down_us: u64,
    /// 0 when omitted (keepalived's code; the man page says it equals the down delay).
    pub up_us: u64,
}

/// Everything on the VRRP side, in configuration order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VrrpConfig {
    pub instances: Vec<VrrpInstance>,
    /// `vrrp_script` blocks that survived validation.
    pub vrrp_scripts: Vec<VrrpScript>,
    pub track_processes: Vec<TrackProcess>,
    pub track_files: Vec<TrackFile>,
    pub sync_groups: Vec<SyncGroup>,
    pub static_addresses: Vec<AddrSpec>,
    pub static_routes: Vec<RouteSpec>,
    pub static_rules: Vec<RuleSpec>,
    pub track_groups: Vec<TrackGroup>,
    pub garp_groups: Vec<GarpGroup>,
    pub linkbeat_interfaces: Vec<LinkbeatInterface>,
    pub interface_up_down_delays: Vec<InterfaceDelay>,
    /// Some configured interface does not exist (keepalived: "Non-existent interface
    /// specified in configuration"); the daemon refuses to start unless
    /// `dynamic_interfaces` is set. Only computed when interface checks are on.
    pub nonexistent_interface: bool,
}

impl VrrpConfig {
    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.instances.iter().find(|i| i.name == name)
    }

    pub fn script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }

    pub fn sync_group(&self, name: &str) -> Option<&SyncGroup> {
        self.sync_groups.iter().find(|g| g.name == name)
    }

    /// Whether there is anything for a VRRP process to do (keepalived starts its VRRP
    /// child when there is an instance or a static address, route or rule).
    pub fn has_vrrp(&self) -> bool {
        !self.instances.is_empty()
            || !self.static_addresses.is_empty()
            || !self.static_routes.is_empty()
            || !self.static_rules.is_empty()
    }

    /// Every script referenced on the VRRP side: `vrrp_script`s, instance and sync-group
    /// notify scripts. The global ones are in
    /// [`crate::config::model::global::GlobalDefs::scripts`] and `fifo_scripts`.
    pub fn scripts(&self) -> Vec<&Script> {
        let mut out: Vec<&Script> = self.vrrp_scripts.iter().map(|s| &s.script.script).collect();
        for i in &self.instances {
            out.extend(i.notify.scripts());
        }
        for g in &self.sync_groups {
            out.extend(g.notify.scripts());
        }
        out
    }
}
