//! Typed model of `bfd_instance NAME { }` (keepalived's `bfd/bfd_parser.c`, limits in
//! `include/bfd.h`), with keepalived's defaults applied. Names follow RFC 5880 §6.8.1
//! (Desired Min TX Interval, Required Min RX Interval, Detect Mult); intervals are in
//! microseconds, as the protocol carries them.

use crate::config::ast::Span;
use std::net::IpAddr;

/// Longest BFD instance name (`BFD_INAME_MAX` - 1).
pub const BFD_NAME_MAX_LEN: usize = 31;
/// Default Required Min RX Interval and Desired Min TX Interval (10 ms).
pub const DEFAULT_MIN_RX_US: u32 = 10_000;
pub const DEFAULT_MIN_TX_US: u32 = 10_000;
/// Default TX interval while the session is not Up (1 s), which is also the minimum
/// (RFC 5880 §6.8.3: at least one second when not Up).
pub const DEFAULT_IDLE_TX_US: u32 = 1_000_000;
/// Default Detect Mult.
pub const DEFAULT_DETECT_MULT: u8 = 5;
/// Largest interval keepalived accepts (4294967 ms, so that µs fit 32 bits).
pub const MAX_INTERVAL_US: u32 = 4_294_967_000;
/// RFC 5881 §4 single-hop destination port.
pub const BFD_PORT_SINGLE_HOP: u16 = 3784;
/// RFC 5883 §5 multihop destination port.
pub const BFD_PORT_MULTIHOP: u16 = 4784;

/// Which keepalived processes get the session's state changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BfdConsumers {
    Both,
    /// `vrrp`: only the VRRP process (`track_bfd`).
    Vrrp,
    /// `checker`: only the checker process (`BFD_CHECK`).
    Checker,
}

/// A `bfd_instance`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdInstance {
    /// At most 31 characters.
    pub name: String,
    pub span: Span,
    pub neighbor: IpAddr,
    /// Local address (same family as the neighbour).
    pub source: Option<IpAddr>,
    /// Required Min RX Interval.
    pub required_min_rx_us: u32,
    /// Desired Min TX Interval while Up.
    pub desired_min_tx_us: u32,
    /// TX interval while not Up (at least 1 s).
    pub idle_tx_us: u32,
    pub detect_mult: u8,
    /// Do not transmit until the peer has been heard.
    pub passive: bool,
    /// Outgoing TTL / hop limit: 255 for IPv4, 64 for IPv6 unless configured.
    pub ttl: u8,
    /// Accept received TTL >= ttl - max_hops; 255 disables the check; -1 is keepalived's
    /// "any".
    pub max_hops: i16,
    /// RFC 5883 multihop (UDP 4784) rather than RFC 5881 single hop (3784).
    pub multihop: bool,
    /// Default weight for `track_bfd`.
    pub weight: i32,
    pub weight_reverse: bool,
    pub consumers: BfdConsumers,
    /// RFC 5880 §6.7 authentication: a keepalived-rs extension (`authentication { }` in
    /// the block); keepalived has none. `None` sends and accepts packets without the A bit.
    pub auth: Option<BfdAuthConfig>,
}

/// RFC 5880 §4.1 Auth Type values we offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BfdAuthKind {
    SimplePassword,
    KeyedMd5,
    MeticulousKeyedMd5,
    KeyedSha1,
    MeticulousKeyedSha1,
}

impl BfdAuthKind {
    /// The configuration word (`auth_type`).
    pub fn keyword(self) -> &'static str {
        match self {
            BfdAuthKind::SimplePassword => "simple",
            BfdAuthKind::KeyedMd5 => "keyed_md5",
            BfdAuthKind::MeticulousKeyedMd5 => "meticulous_keyed_md5",
            BfdAuthKind::KeyedSha1 => "keyed_sha1",
            BfdAuthKind::MeticulousKeyedSha1 => "meticulous_keyed_sha1",
        }
    }

    /// Longest secret: 16 bytes (password, MD5 key), 20 (SHA1 key) (RFC 5880 §4.2-4.4).
    pub fn max_key_len(self) -> usize {
        match self {
            BfdAuthKind::KeyedSha1 | BfdAuthKind::MeticulousKeyedSha1 => 20,
            _ => 16,
        }
    }
}

/// A session's authentication settings.
#[derive(Clone, PartialEq, Eq)]
pub struct BfdAuthConfig {
    pub kind: BfdAuthKind,
    /// Auth Key ID (RFC 5880 §4.2): which key of the pair's shared set is in use.
    pub key_id: u8,
    /// The password or key.
    pub key: Vec<u8>,
}

impl std::fmt::Debug for BfdAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("BfdAuthConfig")
            .field("kind", &self.kind)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl BfdInstance {
    /// The UDP destination port of the session.
    pub fn dst_port(&self) -> u16 {
        if self.multihop {
            BFD_PORT_MULTIHOP
        } else {
            BFD_PORT_SINGLE_HOP
        }
    }

    /// Whether the VRRP process gets this session's events.
    pub fn to_vrrp(&self) -> bool {
        self.consumers != BfdConsumers::Checker
    }

    /// Whether the checker process gets this session's events.
    pub fn to_checker(&self) -> bool {
        self.consumers != BfdConsumers::Vrrp
    }
}

/// All BFD sessions, in configuration order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BfdConfig {
    pub instances: Vec<BfdInstance>,
}

impl BfdConfig {
    pub fn instance(&self, name: &str) -> Option<&BfdInstance> {
        self.instances.iter().find(|b| b.name == name)
    }
}
