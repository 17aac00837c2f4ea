//! Counters: keepalived's per-instance `vrrp_stats` (the SIGUSR2 `keepalived.stats` and JSON
//! `stats` fields) plus our finer drop reasons, and router-level drops that belong to no
//! instance.

use crate::wire::DecodeError;

/// Per-instance counters. The first block is keepalived's `vrrp_stats` with its names; the
/// rest are keepalived-rs additions, one per receive-drop reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceStats {
    // --- keepalived.stats
    /// "Advertisements: Received".
    pub advert_rcvd: u64,
    /// "Advertisements: Sent" (one per advert, whatever the number of unicast peers).
    pub advert_sent: u64,
    /// "Became master".
    pub become_master: u64,
    /// "Released master".
    pub release_master: u64,
    /// "Packet Errors: Length".
    pub packet_len_err: u64,
    /// "Packet Errors: TTL".
    pub ip_ttl_err: u64,
    /// "Packet Errors: Invalid Type".
    pub invalid_type_rcvd: u64,
    /// "Packet Errors: Advertisement Interval" (VRRPv2 interval mismatch).
    pub advert_interval_err: u64,
    /// "Packet Errors: Address List" (count or VIP mismatch, multicast/unicast mismatch).
    pub addr_list_err: u64,
    /// "Authentication Errors: Invalid Type".
    pub invalid_authtype: u64,
    /// "Authentication Errors: Type Mismatch" (including AH present/absent).
    pub authtype_mismatch: u64,
    /// "Authentication Errors: Failure" (PASS mismatch, AH ICV, SPI or replay).
    pub auth_failure: u64,
    /// "Priority Zero: Received".
    pub pri_zero_rcvd: u64,
    /// "Priority Zero: Sent".
    pub pri_zero_sent: u64,

    // --- keepalived-rs additions
    /// Version field differs from the instance's version (keepalived's SNMP `vers_err`).
    pub version_err: u64,
    /// Checksum verified in no accepted form (keepalived's SNMP `chk_err`).
    pub checksum_err: u64,
    /// Accepted checksums by form: with the pseudo-header (RFC 5798 IPv4, and IPv6).
    pub checksum_pseudo_header: u64,
    /// Accepted checksums over the VRRP message only (v2, RFC 9568 IPv4 reading).
    pub checksum_v2_style: u64,
    /// Accepted checksums in keepalived's pre-1.3.6 unicast form.
    pub checksum_old_unicast: u64,
    /// Multicast advert on a unicast instance or the reverse (also in `addr_list_err`).
    pub mcast_unicast_mismatch: u64,
    /// Address count differs from the number of VIPs (also in `addr_list_err`; not dropped).
    pub addr_count_mismatch: u64,
    /// A VIP is missing from the advert (also in `addr_list_err`; not dropped).
    pub vip_missing: u64,
    /// Dropped by an owner with `owner_ignore_adverts`.
    pub owner_ignored: u64,
    /// Unicast source not a configured peer (`check_unicast_src`).
    pub unicast_src_err: u64,
    /// Unicast TTL outside the peer's `min_ttl..max_ttl`.
    pub peer_ttl_err: u64,
    /// AH whose Next Header is not VRRP (silently dropped).
    pub ah_next_header: u64,
    /// VRRPv3 Count 0 (RFC 9568 §5.2.5, erratum 8299: MUST be ignored).
    pub zero_count: u64,
    /// VRRPv3 Max Adver Int 0 (RFC 9568 §7.1, erratum 8301).
    pub zero_adver_int: u64,
    /// Another malformation found by the decoder after the checks above.
    pub malformed: u64,
    /// Received while INIT, FAULT, STOP or during the startup delay (ignored, as keepalived
    /// does).
    pub ignored_in_state: u64,
    /// Accepted adverts with bytes after the message (Ethernet padding, HMAC trailers).
    pub trailing_bytes: u64,
    /// Lower-priority adverts a preemptable backup ignored.
    pub lower_prio_ignored: u64,
    /// Adverts that could not be sent (no source address yet).
    pub tx_no_source: u64,
}

/// The kind of a [`DecodeError`], without its data: one router-level counter per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DecodeErrorKind {
    Truncated,
    NotIpv4,
    BadIhl,
    BadTotalLength,
    BadIpv4HeaderChecksum,
    NotIpv6,
    UnexpectedProtocol,
    BadVersion,
    UnexpectedVersion,
    V2OverIpv6,
    UnknownType,
    BadChecksum,
    ZeroCount,
    ZeroAdverInt,
    UnknownAuthType,
    AddressLengthMismatch,
    AhBadPayloadLen,
    UnexpectedEtherType,
    UnsupportedArp,
    NotNeighborAdvert,
    BadIcmpv6Checksum,
    BadNdpOption,
}

impl DecodeErrorKind {
    pub const ALL: [DecodeErrorKind; 22] = [
        DecodeErrorKind::Truncated,
        DecodeErrorKind::NotIpv4,
        DecodeErrorKind::BadIhl,
        DecodeErrorKind::BadTotalLength,
        DecodeErrorKind::BadIpv4HeaderChecksum,
        DecodeErrorKind::NotIpv6,
        DecodeErrorKind::UnexpectedProtocol,
        DecodeErrorKind::BadVersion,
        DecodeErrorKind::UnexpectedVersion,
        DecodeErrorKind::V2OverIpv6,
        DecodeErrorKind::UnknownType,
        DecodeErrorKind::BadChecksum,
        DecodeErrorKind::ZeroCount,
        DecodeErrorKind::ZeroAdverInt,
        DecodeErrorKind::UnknownAuthType,
        DecodeErrorKind::AddressLengthMismatch,
        DecodeErrorKind::AhBadPayloadLen,
        DecodeErrorKind::UnexpectedEtherType,
        DecodeErrorKind::UnsupportedArp,
        DecodeErrorKind::NotNeighborAdvert,
        DecodeErrorKind::BadIcmpv6Checksum,
        DecodeErrorKind::BadNdpOption,
    ];

    pub fn of(e: &DecodeError) -> DecodeErrorKind {
        use DecodeError as E;
        use DecodeErrorKind as K;
        match e {
            E::Truncated { .. } => K::Truncated,
            E::NotIpv4 { .. } => K::NotIpv4,
            E::BadIhl { .. } => K::BadIhl,
            E::BadTotalLength { .. } => K::BadTotalLength,
            E::BadIpv4HeaderChecksum { .. } => K::BadIpv4HeaderChecksum,
            E::NotIpv6 { .. } => K::NotIpv6,
            E::UnexpectedProtocol { .. } => K::UnexpectedProtocol,
            E::BadVersion { .. } => K::BadVersion,
            E::UnexpectedVersion { .. } => K::UnexpectedVersion,
            E::V2OverIpv6 => K::V2OverIpv6,
            E::UnknownType { .. } => K::UnknownType,
            E::BadChecksum { .. } => K::BadChecksum,
            E::ZeroCount => K::ZeroCount,
            E::ZeroAdverInt => K::ZeroAdverInt,
            E::UnknownAuthType { .. } => K::UnknownAuthType,
            E::AddressLengthMismatch { .. } => K::AddressLengthMismatch,
            E::AhBadPayloadLen { .. } => K::AhBadPayloadLen,
            E::UnexpectedEtherType { .. } => K::UnexpectedEtherType,
            E::UnsupportedArp { .. } => K::UnsupportedArp,
            E::NotNeighborAdvert { .. } => K::NotNeighborAdvert,
            E::BadIcmpv6Checksum { .. } => K::BadIcmpv6Checksum,
            E::BadNdpOption { .. } => K::BadNdpOption,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Drops that belong to no instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouterCounters {
    decode: [u64; 22],
    /// No instance has this VRID for this family anywhere.
    pub unknown_vrid: u64,
    /// An instance has this VRID and family, but on another interface.
    pub wrong_interface: u64,
    /// Packets received during `vrrp_startup_delay`.
    pub startup_delay: u64,
    /// Packets received after shutdown.
    pub after_shutdown: u64,
}

impl RouterCounters {
    pub(crate) fn count_decode(&mut self, e: &DecodeError) {
        self.decode[DecodeErrorKind::of(e).index()] += 1;
    }

    /// Packets rejected before an instance could be found, by decoder error kind.
    pub fn decode_errors(&self, kind: DecodeErrorKind) -> u64 {
        self.decode[kind.index()]
    }

    /// Total of [`RouterCounters::decode_errors`] over every kind.
    pub fn decode_errors_total(&self) -> u64 {
        self.decode.iter().sum()
    }

    /// Non-zero decode counters in kind order.
    pub fn decode_error_list(&self) -> impl Iterator<Item = (DecodeErrorKind, u64)> + '_ {
        DecodeErrorKind::ALL
            .iter()
            .map(|k| (*k, self.decode[k.index()]))
            .filter(|(_, n)| *n > 0)
    }
}
