//! What goes into and comes out of the VRRP engine: [`Input`] (owned plain data, so a run can
//! be recorded and replayed), [`Action`] and the reusable [`Outbox`] (DESIGN.md §2).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use crate::config::model::vrrp::{RouteSpec, RuleSpec};
use crate::track::{FileId, ProcId, ScriptId};
use crate::wire::vrrp::Family;
use crate::wire::MacAddr;

use super::params::{RouterConfig, VipSpec};

/// An instance's state (keepalived's `VRRP_STATE_*`; RFC 5798 §6.4 Initialize, Backup,
/// Master, plus keepalived's FAULT, STOP and DELETED).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
    Stop,
    Deleted,
}

impl State {
    /// keepalived's number for the state (JSON dump `state`/`wantstate`).
    pub fn number(self) -> u8 {
        match self {
            State::Init => 0,
            State::Backup => 1,
            State::Master => 2,
            State::Fault => 3,
            State::Stop => 98,
            State::Deleted => 97,
        }
    }

    /// The upper-case name keepalived prints ("MASTER").
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stop => "STOP",
            State::Deleted => "DELETED",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the host knows about one network interface (from rtnetlink at L3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub ifindex: u32,
    pub name: String,
    /// IFF_UP.
    pub up: bool,
    /// IFF_RUNNING (carrier).
    pub running: bool,
    pub mac: MacAddr,
    /// The primary IPv4 address (keepalived's default advert source).
    pub ipv4: Option<Ipv4Addr>,
    /// The IPv6 link-local address (the default IPv6 advert source).
    pub ipv6_link_local: Option<Ipv6Addr>,
    /// Every address on the interface (for `track_src_ip`).
    pub addresses: Vec<IpAddr>,
}

impl InterfaceInfo {
    /// keepalived's `IF_FLAGS_UP`: up and running.
    pub fn is_up(&self) -> bool {
        self.up && self.running
    }
}

/// One input event for [`super::Router::handle`].
#[derive(Clone, Debug)]
pub enum Input {
    /// A packet read from a VRRP socket. For IPv4 `payload` is the whole datagram as a raw
    /// socket returns it (IPv4 header, optional AH, VRRP); `src`, `dst` and `ttl` repeat what
    /// the header says. For IPv6 `payload` is the VRRP message, `dst` comes from
    /// IPV6_PKTINFO and `ttl` is the received hop limit.
    Packet {
        ifindex: u32,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        payload: Vec<u8>,
    },
    /// An interface appeared or changed.
    Interface(InterfaceInfo),
    /// An interface disappeared.
    InterfaceRemoved { ifindex: u32 },
    /// An address was deleted from an interface (by us or behind our back).
    AddressDeleted { ifindex: u32, addr: IpAddr },
    /// A `vrrp_script` run finished: exit status 0 is `ok`; a failure, a signal or a timeout
    /// is not.
    ScriptResult { script: ScriptId, ok: bool },
    /// A `track_file` was (re)read.
    FileValue { file: FileId, value: i64 },
    /// The number of processes matching a `vrrp_track_process`.
    ProcessCount { process: ProcId, count: u32 },
    /// A BFD session changed state.
    Bfd { name: String, up: bool },
    /// SIGTERM: masters send priority 0 and remove their VIPs, everyone notifies STOP.
    Shutdown,
    /// SIGHUP: a new configuration (keepalived §3.13 matching rules).
    Reconfigure(Box<RouterConfig>),
}

/// Whether a notification is about an instance or a sync group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyKind {
    Instance,
    Group,
}

impl NotifyKind {
    /// "INSTANCE" or "GROUP", as in the FIFO lines and notify arguments.
    pub fn name(self) -> &'static str {
        match self {
            NotifyKind::Instance => "INSTANCE",
            NotifyKind::Group => "GROUP",
        }
    }
}

/// The event a notification reports (keepalived §3.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyState {
    Master,
    Backup,
    Fault,
    Stop,
    /// An instance removed by a reload with `notify_deleted`.
    Deleted,
    /// FIFO and `notify_master_rx_lower_pri`: a master received a lower-priority advert.
    MasterRxLowerPri,
    /// FIFO only, with `notify_priority_changes`: the priority of a master changed.
    MasterPriority,
    /// FIFO only, with `notify_priority_changes`: the priority of a backup changed.
    BackupPriority,
}

impl NotifyState {
    /// The word keepalived writes ("MASTER", "MASTER_RX_LOWER_PRI", ...).
    pub fn name(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
            NotifyState::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            NotifyState::MasterPriority => "MASTER_PRIORITY",
            NotifyState::BackupPriority => "BACKUP_PRIORITY",
        }
    }
}

/// One thing for the daemon to do. Adverts point into [`Outbox::bytes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send `bytes[range]`: for IPv4 a complete `IP_HDRINCL` datagram, for IPv6 the VRRP
    /// message (checksum already filled for `src` → `dst`) to send with hop limit `ttl`.
    SendAdvert {
        instance: u32,
        ifindex: u32,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        range: Range<usize>,
    },
    /// Install a VIP (`excluded`: a `virtual_ipaddress_excluded` entry).
    AddAddress {
        instance: u32,
        ifindex: u32,
        vip: VipSpec,
        excluded: bool,
    },
    /// Remove a VIP. `may_be_absent`: keepalived's start-up clean-up of addresses a previous
    /// run may have left; "no such address" is not an error then.
    DelAddress {
        instance: u32,
        ifindex: u32,
        vip: VipSpec,
        excluded: bool,
        may_be_absent: bool,
    },
    AddRoute {
        instance: u32,
        route: RouteSpec,
    },
    DelRoute {
        instance: u32,
        route: RouteSpec,
    },
    AddRule {
        instance: u32,
        rule: RuleSpec,
    },
    DelRule {
        instance: u32,
        rule: RuleSpec,
    },
    /// One gratuitous ARP for `vip` on `ifindex` (the adapter builds the frame with the
    /// interface MAC).
    SendGarp {
        ifindex: u32,
        vip: Ipv4Addr,
    },
    /// One unsolicited neighbour advertisement.
    SendNa {
        ifindex: u32,
        vip: Ipv6Addr,
    },
    /// A notification, in keepalived's order. L4 turns it into `notify_<state>`, then the
    /// generic `notify` script, then the FIFO line (priority 0 for groups).
    Notify {
        kind: NotifyKind,
        /// Instance or sync-group index in the current configuration.
        index: u32,
        name: String,
        state: NotifyState,
        priority: u8,
    },
}

/// The engine's output buffer. The caller owns it, clears it after applying the actions,
/// and reuses it, so steady-state adverts do not allocate.
#[derive(Clone, Debug, Default)]
pub struct Outbox {
    pub actions: Vec<Action>,
    /// Packet bytes referred to by [`Action::SendAdvert::range`].
    pub bytes: Vec<u8>,
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    /// Empties the outbox, keeping its capacity.
    pub fn clear(&mut self) {
        self.actions.clear();
        self.bytes.clear();
    }

    /// The bytes of a [`Action::SendAdvert`] (empty for other actions).
    pub fn packet(&self, action: &Action) -> &[u8] {
        match action {
            Action::SendAdvert { range, .. } => self.bytes.get(range.clone()).unwrap_or(&[]),
            _ => &[],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}
