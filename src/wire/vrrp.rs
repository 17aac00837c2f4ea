//! VRRP advertisements: version 2 (RFC 3768 §5) and version 3 (RFC 5798 §5, RFC 9568 §5).
//!
//! ```text
//!  v2:  ver=2|type=1 | VRID | Priority | Count IPv4 | Auth Type | Adver Int (s) | Checksum
//!       IPv4 addresses ...                           | Authentication Data (8 bytes)
//!  v3:  ver=3|type=1 | VRID | Priority | Count IPvX | rsvd(4)|Max Adver Int (12 bits, cs)
//!       Checksum | IPv4 or IPv6 addresses ...
//! ```
//!
//! [`Advert::parse`] decodes the VRRP payload given the IP source and destination
//! ([`Endpoints`], needed for the checksums) and applies the receive checks that belong to the
//! wire: length, version, type, checksum, v3 zero count and zero interval, v2 auth type.
//! Engine checks (TTL 255, VRID configured, auth match, interval match, owner) are not here;
//! everything they need is exposed. [`parse_ipv4_datagram`] does the whole raw-socket read
//! (IPv4 header, optional AH, VRRP). [`AdvertRepr::emit`] writes an advert into a caller
//! buffer without allocating.
//!
//! Checksums (the biggest interop trap, protocol-notes §2.2):
//! * v2: the Internet checksum of the VRRP message including the authentication data
//!   (RFC 3768 §5.3.8).
//! * v3 over IPv4: keepalived (and RFC 5798 §5.2.8) prepend the IPv4 pseudo-header; RFC 9568
//!   §5.2.8 reads "only includes the VRRP message" (keepalived's `v3_checksum_as_v2`, Cisco,
//!   Juniper). On receive both are accepted and [`ChecksumKind`] says which matched, plus
//!   keepalived's pre-1.3.6 unicast form (`old_unicast_checksum`: pseudo-header built with
//!   224.0.0.18 as destination even for unicast).
//! * v3 over IPv6: the IPv6 pseudo-header (RFC 8200 §8.1); the kernel fills it on send with
//!   `IPV6_CHECKSUM`, and we verify it here too.
//!
//! Trailing bytes after the message are allowed and returned in [`Advert::trailing`]: the
//! message length comes from Count (RFC 9568 §5.2.5), so Ethernet padding to the 60-byte
//! minimum frame and newer keepalived's 28-byte `auth_hmac` trailer do not make a packet bad.
//! keepalived 2.2.7 itself requires the exact length; the engine may count trailing bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ah::{sign, AhHeader, AhKey, AH_HEADER_LEN};
use super::checksum::Checksum;
use super::ip::{
    addr6, ipv4_pseudo_header, ipv6_pseudo_header, IpProtocol, Ipv4Header, IPV4_HEADER_LEN,
    VRRP_MULTICAST_V4,
};
use super::{be16, need, room, DecodeError, EmitError, Layer};

/// Length of the fixed VRRP header (both versions).
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 Authentication Data field (RFC 3768 §5.3.10).
pub const AUTH_DATA_LEN: usize = 8;
/// The only VRRP packet type, ADVERTISEMENT (RFC 9568 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Largest VRRPv3 Max Adver Int, 12 bits of centiseconds (RFC 9568 §5.2.7).
pub const MAX_ADVER_INT_CS: u16 = 0x0fff;

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768.
    V2,
    /// RFC 5798 / RFC 9568.
    V3,
}

impl Version {
    /// The value of the version nibble.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of a virtual router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// Bytes per address.
    pub fn addr_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    fn other(self) -> Family {
        match self {
            Family::Ipv4 => Family::Ipv6,
            Family::Ipv6 => Family::Ipv4,
        }
    }
}

/// VRRPv2 Auth Type (RFC 3768 §5.3.6; RFC 2338 defined 1 and 2, keepalived still uses them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// 0: no authentication.
    None,
    /// 1: simple text password in the Authentication Data (keepalived `PASS`).
    SimplePassword,
    /// 2: IPsec AH around the advert (keepalived `AH`); Authentication Data is zero.
    IpAuthenticationHeader,
    /// Anything else; rejected by the decoder as [`DecodeError::UnknownAuthType`].
    Unknown(u8),
}

impl From<u8> for AuthType {
    fn from(v: u8) -> AuthType {
        match v {
            0 => AuthType::None,
            1 => AuthType::SimplePassword,
            2 => AuthType::IpAuthenticationHeader,
            other => AuthType::Unknown(other),
        }
    }
}

impl From<AuthType> for u8 {
    fn from(a: AuthType) -> u8 {
        match a {
            AuthType::None => 0,
            AuthType::SimplePassword => 1,
            AuthType::IpAuthenticationHeader => 2,
            AuthType::Unknown(v) => v,
        }
    }
}

/// The advertisement interval with its unit, which depends on the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdverInt {
    /// VRRPv2 Adver Int, whole seconds (RFC 3768 §5.3.7).
    Seconds(u8),
    /// VRRPv3 Max Adver Int, centiseconds, 12 bits (RFC 9568 §5.2.7).
    Centiseconds(u16),
}

impl AdverInt {
    /// The interval in centiseconds, whatever the version.
    pub fn as_centiseconds(self) -> u32 {
        match self {
            AdverInt::Seconds(s) => u32::from(s) * 100,
            AdverInt::Centiseconds(cs) => u32::from(cs),
        }
    }
}

/// Which checksum form verified (or is to be emitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumKind {
    /// With the IPv4 (RFC 5798 §5.2.8, keepalived's default) or IPv6 (RFC 8200 §8.1)
    /// pseudo-header built from the packet's own addresses.
    PseudoHeader,
    /// Over the VRRP message only: every v2 packet (RFC 3768 §5.3.8), and v3 over IPv4 as
    /// RFC 9568 §5.2.8 reads and keepalived's `v3_checksum_as_v2` sends.
    V2Style,
    /// v3 over IPv4 with the pseudo-header destination replaced by 224.0.0.18 although the
    /// packet is unicast: keepalived's pre-1.3.6 form, `old_unicast_checksum`.
    OldUnicast,
}

/// The IP source and destination of an advert, which the checksums cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoints {
    V4 { src: Ipv4Addr, dst: Ipv4Addr },
    V6 { src: Ipv6Addr, dst: Ipv6Addr },
}

impl Endpoints {
    /// The family of both addresses.
    pub fn family(&self) -> Family {
        match self {
            Endpoints::V4 { .. } => Family::Ipv4,
            Endpoints::V6 { .. } => Family::Ipv6,
        }
    }
}

/// The address list of an advert, borrowed from the packet: `count` addresses of `family`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses<'a> {
    family: Family,
    raw: &'a [u8],
}

impl<'a> Addresses<'a> {
    /// The family of the addresses.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.raw.len() / self.family.addr_len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The raw bytes of the list.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The addresses in packet order.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + 'a {
        let family = self.family;
        self.raw
            .chunks_exact(family.addr_len())
            .map(move |c| match family {
                Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
                Family::Ipv6 => IpAddr::V6(addr6(c)),
            })
    }

    /// True when `addr` is in the list (for keepalived's VIP presence check, RFC 3768 §7.1
    /// "MAY verify").
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.iter().any(|a| a == addr)
    }
}

/// A decoded advertisement, borrowing its address list from the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert<'a> {
    pub version: Version,
    /// Virtual Router Identifier, 1-255 (0 is passed through; the VRID lookup rejects it).
    pub vrid: u8,
    /// 255 owner, 1-254 backup, 0 the master stops (RFC 9568 §5.2.4).
    pub priority: u8,
    /// Count IPvX Addr.
    pub count: u8,
    pub adver_int: AdverInt,
    /// v3: the 4 reserved bits, "ignored on reception" (RFC 9568 §5.2.6); v2: 0.
    pub reserved: u8,
    /// v2 Auth Type; [`AuthType::None`] for v3.
    pub auth_type: AuthType,
    /// v2 Authentication Data (the password for PASS, zero padded); zero for v3.
    pub auth_data: [u8; AUTH_DATA_LEN],
    /// The checksum field as received.
    pub checksum: u16,
    /// Which form of the checksum verified.
    pub checksum_kind: ChecksumKind,
    pub addresses: Addresses<'a>,
    /// Bytes after the message (Ethernet padding, an `auth_hmac` trailer); usually empty.
    pub trailing: &'a [u8],
}

impl<'a> Advert<'a> {
    /// Decodes the VRRP payload of an IP packet from `endpoints.src` to `endpoints.dst`.
    /// With `expected` set, the other version is rejected (RFC 9568 §7.1 "MUST verify that the
    /// VRRP version is 3"; RFC 3768 §7.1 the same for 2).
    pub fn parse(
        payload: &'a [u8],
        endpoints: Endpoints,
        expected: Option<Version>,
    ) -> Result<Advert<'a>, DecodeError> {
        need(Layer::Vrrp, payload, HEADER_LEN)?;
        let version = match payload[0] >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            version => return Err(DecodeError::BadVersion { version }),
        };
        if let Some(expected) = expected {
            if expected != version {
                return Err(DecodeError::UnexpectedVersion {
                    expected,
                    got: version,
                });
            }
        }
        let family = endpoints.family();
        if version == Version::V2 && family == Family::Ipv6 {
            return Err(DecodeError::V2OverIpv6);
        }
        // RFC 9568 §5.2.2: "A packet with unknown type MUST be discarded."
        let vrrp_type = payload[0] & 0x0f;
        if vrrp_type != TYPE_ADVERTISEMENT {
            return Err(DecodeError::UnknownType { vrrp_type });
        }
        let count = payload[3];
        let msg_len = message_len(version, family, count);
        check_length(payload, version, family, count, msg_len)?;
        let msg = &payload[..msg_len];
        let trailing = &payload[msg_len..];
        // RFC 3768 §7.1 / RFC 9568 §7.1: "MUST verify the VRRP checksum".
        let checksum_kind = verify_checksum(version, endpoints, msg, payload)?;
        let addresses = Addresses {
            family,
            raw: &msg[HEADER_LEN..HEADER_LEN + usize::from(count) * family.addr_len()],
        };
        let mut advert = Advert {
            version,
            vrid: payload[1],
            priority: payload[2],
            count,
            adver_int: AdverInt::Seconds(0),
            reserved: 0,
            auth_type: AuthType::None,
            auth_data: [0; AUTH_DATA_LEN],
            checksum: be16(payload, 6),
            checksum_kind,
            addresses,
            trailing,
        };
        match version {
            Version::V2 => {
                advert.adver_int = AdverInt::Seconds(payload[5]);
                // RFC 3768 §5.3.6; keepalived: "Invalid auth type" unless 0, 1 or 2.
                advert.auth_type = AuthType::from(payload[4]);
                if let AuthType::Unknown(auth_type) = advert.auth_type {
                    return Err(DecodeError::UnknownAuthType { auth_type });
                }
                advert
                    .auth_data
                    .copy_from_slice(&msg[msg_len - AUTH_DATA_LEN..]);
            }
            Version::V3 => {
                let word = be16(payload, 4);
                advert.reserved = (word >> 12) as u8;
                let cs = word & MAX_ADVER_INT_CS;
                advert.adver_int = AdverInt::Centiseconds(cs);
                // RFC 9568 §5.2.5 (erratum 8299): "If the received count is 0, the VRRP
                // advertisement MUST be ignored."
                if count == 0 {
                    return Err(DecodeError::ZeroCount);
                }
                // RFC 9568 §7.1 (erratum 8301): Max Adver Int MUST be non zero.
                if cs == 0 {
                    return Err(DecodeError::ZeroAdverInt);
                }
            }
        }
        Ok(advert)
    }

    /// Length of the VRRP message proper (without trailing bytes).
    pub fn message_len(&self) -> usize {
        message_len(self.version, self.addresses.family, self.count)
    }
}

/// 8 + Count × address length (+ 8 authentication bytes for v2).
fn message_len(version: Version, family: Family, count: u8) -> usize {
    let auth = if version == Version::V2 {
        AUTH_DATA_LEN
    } else {
        0
    };
    HEADER_LEN + usize::from(count) * family.addr_len() + auth
}

/// RFC 3768 §7.1 / RFC 9568 §7.1 "complete packet". A payload that holds exactly `count`
/// addresses of the other family is reported as such, as it is a family mix-up rather than a
/// short read.
fn check_length(
    payload: &[u8],
    version: Version,
    family: Family,
    count: u8,
    msg_len: usize,
) -> Result<(), DecodeError> {
    if count > 0 && payload.len() != msg_len {
        let other_len = message_len(version, family.other(), count);
        if payload.len() == other_len {
            return Err(DecodeError::AddressLengthMismatch {
                family,
                count,
                available: payload.len() - HEADER_LEN,
            });
        }
    }
    need(Layer::Vrrp, payload, msg_len)
}

fn verify_checksum(
    version: Version,
    endpoints: Endpoints,
    msg: &[u8],
    payload: &[u8],
) -> Result<ChecksumKind, DecodeError> {
    let got = be16(msg, 6);
    let message_only = || Checksum::new().add_bytes(msg).verifies();
    // msg.len() <= 8 + 255 * 16, so it fits 16 bits.
    let len = msg.len() as u16;
    let kind = match (version, endpoints) {
        // RFC 3768 §5.3.8: the VRRP message, authentication data included.
        (Version::V2, _) => message_only().then_some(ChecksumKind::V2Style),
        (Version::V3, Endpoints::V4 { src, dst }) => {
            let with = |d| {
                ipv4_pseudo_header(src, d, IpProtocol::Vrrp, len)
                    .add_bytes(msg)
                    .verifies()
            };
            if with(dst) {
                // RFC 5798 §5.2.8, keepalived's default.
                Some(ChecksumKind::PseudoHeader)
            } else if message_only() {
                // RFC 9568 §5.2.8 reading / keepalived `v3_checksum_as_v2`.
                Some(ChecksumKind::V2Style)
            } else if dst != VRRP_MULTICAST_V4 && with(VRRP_MULTICAST_V4) {
                // keepalived `old_unicast_checksum`.
                Some(ChecksumKind::OldUnicast)
            } else {
                None
            }
        }
        (Version::V3, Endpoints::V6 { src, dst }) => {
            // RFC 9568 §5.2.8: the IPv6 pseudo-header. The kernel's IPV6_CHECKSUM covers the
            // whole payload, so with trailing bytes try that first, then the message alone.
            let sum = |data: &[u8]| {
                ipv6_pseudo_header(src, dst, IpProtocol::Vrrp, data.len() as u32)
                    .add_bytes(data)
                    .verifies()
            };
            (sum(payload) || (payload.len() != msg.len() && sum(msg)))
                .then_some(ChecksumKind::PseudoHeader)
        }
    };
    kind.ok_or(DecodeError::BadChecksum { got })
}

/// An advertisement to emit. Holds its address list by reference, so an engine can keep the
/// VIPs in one `Vec` and emit from it every interval without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvertRepr<'a> {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// [`AdverInt::Seconds`] for v2, [`AdverInt::Centiseconds`] (at most 4095) for v3.
    pub adver_int: AdverInt,
    /// v2 only; ignored for v3.
    pub auth_type: AuthType,
    /// v2 only: the password for PASS (zero padded), zero otherwise; ignored for v3.
    pub auth_data: [u8; AUTH_DATA_LEN],
    /// All of the family of the endpoints given to `emit`.
    pub addresses: &'a [IpAddr],
}

impl<'a> AdvertRepr<'a> {
    /// Bytes `emit` writes for the given family.
    pub fn buffer_len(&self, family: Family) -> usize {
        let auth = if self.version == Version::V2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        HEADER_LEN + self.addresses.len() * family.addr_len() + auth
    }

    /// Writes the advert for a packet from `endpoints.src` to `endpoints.dst` and returns its
    /// length. `checksum` selects the v3-over-IPv4 form ([`ChecksumKind::OldUnicast`] puts
    /// 224.0.0.18 in the pseudo-header); v2 is always [`ChecksumKind::V2Style`] and v3 over
    /// IPv6 always [`ChecksumKind::PseudoHeader`].
    pub fn emit(
        &self,
        buf: &mut [u8],
        endpoints: Endpoints,
        checksum: ChecksumKind,
    ) -> Result<usize, EmitError> {
        let family = endpoints.family();
        let count =
            u8::try_from(self.addresses.len()).map_err(|_| EmitError::TooManyAddresses {
                count: self.addresses.len(),
            })?;
        if self.version == Version::V2 && family == Family::Ipv6 {
            return Err(EmitError::FamilyMismatch);
        }
        let len = self.buffer_len(family);
        room(buf, len)?;
        let out = &mut buf[..len];
        out[0] = (self.version.number() << 4) | TYPE_ADVERTISEMENT;
        out[1] = self.vrid;
        out[2] = self.priority;
        out[3] = count;
        match (self.version, self.adver_int) {
            (Version::V2, AdverInt::Seconds(s)) => {
                out[4] = self.auth_type.into();
                out[5] = s;
            }
            // RFC 9568 §5.2.6: reserved bits MUST be zero on transmission.
            (Version::V3, AdverInt::Centiseconds(cs)) if cs <= MAX_ADVER_INT_CS => {
                out[4..6].copy_from_slice(&cs.to_be_bytes());
            }
            (Version::V3, AdverInt::Centiseconds(centiseconds)) => {
                return Err(EmitError::AdverIntOutOfRange { centiseconds })
            }
            _ => return Err(EmitError::AdverIntUnitMismatch),
        }
        out[6..8].copy_from_slice(&[0, 0]);
        let mut at = HEADER_LEN;
        for addr in self.addresses {
            match (addr, family) {
                (IpAddr::V4(a), Family::Ipv4) => out[at..at + 4].copy_from_slice(&a.octets()),
                (IpAddr::V6(a), Family::Ipv6) => out[at..at + 16].copy_from_slice(&a.octets()),
                _ => return Err(EmitError::FamilyMismatch),
            }
            at += family.addr_len();
        }
        if self.version == Version::V2 {
            out[at..at + AUTH_DATA_LEN].copy_from_slice(&self.auth_data);
        }
        let sum = checksum_for_emit(self.version, endpoints, checksum, out);
        out[6..8].copy_from_slice(&sum.to_be_bytes());
        Ok(len)
    }
}

fn checksum_for_emit(
    version: Version,
    endpoints: Endpoints,
    kind: ChecksumKind,
    msg: &[u8],
) -> u16 {
    let len = msg.len() as u16;
    match (version, endpoints, kind) {
        (Version::V2, _, _) | (Version::V3, Endpoints::V4 { .. }, ChecksumKind::V2Style) => {
            Checksum::new().add_bytes(msg).finish()
        }
        (Version::V3, Endpoints::V4 { src, dst }, ChecksumKind::PseudoHeader) => {
            ipv4_pseudo_header(src, dst, IpProtocol::Vrrp, len)
                .add_bytes(msg)
                .finish()
        }
        (Version::V3, Endpoints::V4 { src, .. }, ChecksumKind::OldUnicast) => {
            ipv4_pseudo_header(src, VRRP_MULTICAST_V4, IpProtocol::Vrrp, len)
                .add_bytes(msg)
                .finish()
        }
        (Version::V3, Endpoints::V6 { src, dst }, _) => {
            ipv6_pseudo_header(src, dst, IpProtocol::Vrrp, u32::from(len))
                .add_bytes(msg)
                .finish()
        }
    }
}

/// An advert read from a raw IPv4 socket: the IP header, the AH header when protocol 51, and
/// the VRRP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Advert<'a> {
    pub ip: Ipv4Header,
    /// Present when the datagram is IPsec AH (keepalived `auth_type AH`); its ICV is checked
    /// by [`super::ah::verify_icv`], which needs the key.
    pub ah: Option<AhHeader>,
    pub advert: Advert<'a>,
}

/// Decodes what a raw IPv4 socket bound to protocol 112 or 51 returns: the IPv4 header
/// ([`Ipv4Header::parse`]), an AH header whose Next Header must be VRRP, then the advert.
/// TTL and the rest stay for the engine to check (RFC 3768 §7.1, RFC 9568 §7.1).
pub fn parse_ipv4_datagram(
    datagram: &[u8],
    expected: Option<Version>,
) -> Result<Ipv4Advert<'_>, DecodeError> {
    let (ip, payload) = Ipv4Header::parse(datagram)?;
    let (ah, vrrp) = match ip.protocol {
        IpProtocol::Vrrp => (None, payload),
        IpProtocol::Ah => {
            let ah = AhHeader::parse(payload)?;
            // keepalived: AH "next header not 112 → DROP".
            if ah.next_header != IpProtocol::Vrrp {
                return Err(DecodeError::UnexpectedProtocol {
                    got: ah.next_header,
                });
            }
            (Some(ah), &payload[AH_HEADER_LEN..])
        }
        got => return Err(DecodeError::UnexpectedProtocol { got }),
    };
    let endpoints = Endpoints::V4 {
        src: ip.src,
        dst: ip.dst,
    };
    let advert = Advert::parse(vrrp, endpoints, expected)?;
    Ok(Ipv4Advert { ip, ah, advert })
}

/// The IPv4 header fields of an advert to send with `IP_HDRINCL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Envelope {
    pub src: Ipv4Addr,
    /// 224.0.0.18, `mcast_dst_ip`, or one unicast peer.
    pub dst: Ipv4Addr,
    /// 255 (RFC 9568 §5.1.1.3), or `unicast_ttl` for unicast.
    pub ttl: u8,
    /// keepalived counts 1, 2, ... per instance and skips 0 (the kernel would fill it).
    pub identification: u16,
}

/// AH parameters for [`emit_ipv4_datagram`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AhParams<'k> {
    pub key: &'k AhKey,
    /// keepalived increments it before each advert, starting from 1.
    pub sequence_number: u32,
    /// keepalived zeroes the TTL in the ICV computation only for unicast instances.
    pub zero_ttl: bool,
}

/// Writes a whole IPv4 datagram as keepalived sends it on its `IP_HDRINCL` socket: header
/// ([`Ipv4Header::vrrp`]), the AH header when `ah` is given (SPI = source, ICV signed last),
/// and the advert. Returns the datagram length. Does not allocate.
pub fn emit_ipv4_datagram(
    buf: &mut [u8],
    envelope: &Ipv4Envelope,
    repr: &AdvertRepr<'_>,
    checksum: ChecksumKind,
    ah: Option<AhParams<'_>>,
) -> Result<usize, EmitError> {
    let vrrp_len = repr.buffer_len(Family::Ipv4);
    let (protocol, ah_len) = match ah {
        Some(_) => (IpProtocol::Ah, AH_HEADER_LEN),
        None => (IpProtocol::Vrrp, 0),
    };
    let Ipv4Envelope {
        src,
        dst,
        ttl,
        identification,
    } = *envelope;
    let mut ip = Ipv4Header::vrrp(src, dst, ttl, identification, protocol, ah_len + vrrp_len)?;
    let total = IPV4_HEADER_LEN + ah_len + vrrp_len;
    room(buf, total)?;
    let endpoints = Endpoints::V4 { src, dst };
    repr.emit(&mut buf[IPV4_HEADER_LEN + ah_len..], endpoints, checksum)?;
    ip.emit(buf)?;
    if let Some(p) = ah {
        AhHeader::keepalived(src, p.sequence_number).emit(&mut buf[IPV4_HEADER_LEN..])?;
        // Cannot fail: the datagram was just assembled with a valid header and AH.
        sign(&mut buf[..total], p.key, p.zero_ttl).map_err(|_| EmitError::BufferTooSmall {
            needed: total,
            got: buf.len(),
        })?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4() -> Endpoints {
        Endpoints::V4 {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: VRRP_MULTICAST_V4,
        }
    }

    #[test]
    fn v3_round_trip_all_checksum_kinds() {
        let addrs = [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))];
        let repr = AdvertRepr {
            version: Version::V3,
            vrid: 7,
            priority: 100,
            adver_int: AdverInt::Centiseconds(100),
            auth_type: AuthType::None,
            auth_data: [0; 8],
            addresses: &addrs,
        };
        let uni = Endpoints::V4 {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(192, 0, 2, 2),
        };
        for (ep, kind) in [
            (v4(), ChecksumKind::PseudoHeader),
            (v4(), ChecksumKind::V2Style),
            (uni, ChecksumKind::PseudoHeader),
            (uni, ChecksumKind::V2Style),
            (uni, ChecksumKind::OldUnicast),
        ] {
            let mut buf = [0u8; 64];
            let n = repr.emit(&mut buf, ep, kind).unwrap();
            assert_eq!(n, 12);
            let a = Advert::parse(&buf[..n], ep, Some(Version::V3)).unwrap();
            assert_eq!(a.checksum_kind, kind, "{ep:?}");
            assert_eq!(a.addresses.iter().collect::<Vec<_>>(), addrs);
        }
    }

    #[test]
    fn adver_int_units() {
        assert_eq!(AdverInt::Seconds(3).as_centiseconds(), 300);
        assert_eq!(AdverInt::Centiseconds(4095).as_centiseconds(), 4095);
        let repr = AdvertRepr {
            version: Version::V2,
            vrid: 1,
            priority: 1,
            adver_int: AdverInt::Centiseconds(100),
            auth_type: AuthType::None,
            auth_data: [0; 8],
            addresses: &[],
        };
        let mut buf = [0u8; 64];
        assert_eq!(
            repr.emit(&mut buf, v4(), ChecksumKind::V2Style),
            Err(EmitError::AdverIntUnitMismatch)
        );
        let repr = AdvertRepr {
            version: Version::V3,
            adver_int: AdverInt::Centiseconds(4096),
            ..repr
        };
        assert_eq!(
            repr.emit(&mut buf, v4(), ChecksumKind::PseudoHeader),
            Err(EmitError::AdverIntOutOfRange { centiseconds: 4096 })
        );
    }
}
