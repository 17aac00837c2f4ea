//! L0 wire formats: parse and emit the packets keepalived puts on the wire.
//!
//! Everything here is pure: no clock, no socket, no allocation while decoding, and no panic on
//! any input (DESIGN.md §1, §6). Parsers check lengths first and only then read fields, in the
//! style of smoltcp; decoded values borrow from the input buffer. Emitters write into a buffer
//! the caller owns and reuses, and report how many bytes they wrote.
//!
//! | module | what | specification |
//! |---|---|---|
//! | [`checksum`] | Internet checksum accumulator | RFC 1071 |
//! | [`ip`] | IPv4 header (raw-socket receive, `IP_HDRINCL` send), IPv6 header, pseudo-headers | RFC 791, RFC 8200 §8.1 |
//! | [`vrrp`] | VRRPv2 and VRRPv3 advertisements | RFC 3768 §5, RFC 5798 §5, RFC 9568 §5 |
//! | [`ah`] | IPsec AH around VRRPv2 (keepalived's `auth_type AH`) | RFC 2402 §2, §3.3.3, RFC 2404 |
//! | [`md5`] | MD5 and HMAC-MD5 for AH | RFC 1321, RFC 2104 |
//! | [`arp`] | gratuitous ARP frames | RFC 826, RFC 5227 §3 |
//! | [`ndp`] | unsolicited Neighbor Advertisements | RFC 4861 §4.4, §7.2.6 |
//!
//! Malformed input is reported as one [`DecodeError`] value with data in its variants; the
//! engines count and log it (DESIGN.md §2). Unknown protocol values are kept as `Unknown(u8)`.

use std::fmt;

pub mod ah;
pub mod arp;
pub mod bfd;
pub mod block_hash;
pub mod checksum;
pub mod ip;
pub mod md5;
pub mod ndp;
pub mod vrrp;

/// The protocol layer a [`DecodeError::Truncated`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Ethernet,
    Ipv4,
    Ipv6,
    Ah,
    Vrrp,
    Arp,
    Icmpv6,
}

/// Why a buffer was not accepted by a decoder. Each variant is a distinct counter for the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The buffer ends before the `layer` does: `needed` bytes are required, `got` are present.
    Truncated {
        layer: Layer,
        needed: usize,
        got: usize,
    },

    /// The IPv4 version nibble is not 4.
    NotIpv4 { version: u8 },
    /// The IPv4 IHL is below 5 words (RFC 791 §3.1).
    BadIhl { ihl: u8 },
    /// The IPv4 total length is smaller than its own header.
    BadTotalLength { total_len: u16, header_len: usize },
    /// The IPv4 header checksum does not verify (RFC 791 §3.1, RFC 1071).
    BadIpv4HeaderChecksum { got: u16 },
    /// The IPv6 version nibble is not 6.
    NotIpv6 { version: u8 },
    /// The IP protocol / next header is not the one this decoder handles.
    UnexpectedProtocol { got: ip::IpProtocol },

    /// The VRRP version nibble is neither 2 nor 3 (RFC 3768 §5.3.1, RFC 9568 §5.2.1).
    BadVersion { version: u8 },
    /// The VRRP version is valid but not the one the caller asked for (RFC 9568 §7.1).
    UnexpectedVersion {
        expected: vrrp::Version,
        got: vrrp::Version,
    },
    /// VRRPv2 has no IPv6 encoding (RFC 3768 is IPv4 only).
    V2OverIpv6,
    /// The VRRP type is not 1 (ADVERTISEMENT); RFC 9568 §5.2.2 "MUST be discarded".
    UnknownType { vrrp_type: u8 },
    /// The VRRP checksum matches none of the accepted forms (RFC 9568 §5.2.8, §7.1).
    BadChecksum { got: u16 },
    /// VRRPv3 Count IPvX Addr is 0; RFC 9568 §5.2.5 (erratum 8299) "MUST be ignored".
    ZeroCount,
    /// VRRPv3 Max Adver Int is 0; RFC 9568 §7.1 (erratum 8301) "MUST verify ... non zero".
    ZeroAdverInt,
    /// VRRPv2 Auth Type is not 0, 1 or 2 (RFC 3768 §5.3.6, keepalived accepts only these).
    UnknownAuthType { auth_type: u8 },
    /// The advertisement holds exactly `count` addresses of the *other* family: an IPv6
    /// advertisement given to the IPv4 decoder or the reverse.
    AddressLengthMismatch {
        family: vrrp::Family,
        count: u8,
        available: usize,
    },

    /// The AH Payload Len is not 4 (24-byte header with a 96-bit ICV, RFC 2402 §2.2).
    AhBadPayloadLen { payload_len: u8 },

    /// The Ethernet type is not the one this decoder handles.
    UnexpectedEtherType { ethertype: u16 },
    /// ARP for another hardware or protocol type than Ethernet/IPv4 (RFC 826).
    UnsupportedArp {
        htype: u16,
        ptype: u16,
        hlen: u8,
        plen: u8,
    },

    /// The ICMPv6 message is not a Neighbor Advertisement (type 136, code 0).
    NotNeighborAdvert { icmp_type: u8, code: u8 },
    /// The ICMPv6 checksum does not verify (RFC 4443 §2.3).
    BadIcmpv6Checksum { got: u16 },
    /// An NDP option has length 0, which RFC 4861 §4.6 says MUST be discarded.
    BadNdpOption { option_type: u8 },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DecodeError::*;
        match *self {
            Truncated { layer, needed, got } => {
                write!(f, "{layer:?} truncated: {got} bytes, need {needed}")
            }
            NotIpv4 { version } => write!(f, "IP version {version}, expected 4"),
            BadIhl { ihl } => write!(f, "IPv4 IHL {ihl} below 5"),
            BadTotalLength {
                total_len,
                header_len,
            } => {
                write!(
                    f,
                    "IPv4 total length {total_len} below header length {header_len}"
                )
            }
            BadIpv4HeaderChecksum { got } => write!(f, "bad IPv4 header checksum {got:#06x}"),
            NotIpv6 { version } => write!(f, "IP version {version}, expected 6"),
            UnexpectedProtocol { got } => write!(f, "unexpected IP protocol {}", u8::from(got)),
            BadVersion { version } => write!(f, "invalid VRRP version {version}"),
            UnexpectedVersion { expected, got } => {
                write!(
                    f,
                    "invalid version. {} and expect {}",
                    got.number(),
                    expected.number()
                )
            }
            V2OverIpv6 => write!(f, "VRRP version 2 over IPv6"),
            UnknownType { vrrp_type } => write!(f, "invalid packet type {vrrp_type}"),
            BadChecksum { got } => write!(f, "invalid VRRP checksum {got:#06x}"),
            ZeroCount => write!(f, "VRRPv3 address count 0"),
            ZeroAdverInt => write!(f, "VRRPv3 Max Adver Int 0"),
            UnknownAuthType { auth_type } => write!(f, "invalid auth type: {auth_type}"),
            AddressLengthMismatch {
                family,
                count,
                available,
            } => write!(
                f,
                "{count} addresses do not fit {family:?} in {available} bytes (wrong family)"
            ),
            AhBadPayloadLen { payload_len } => {
                write!(f, "AH payload length {payload_len}, expected 4")
            }
            UnexpectedEtherType { ethertype } => write!(f, "unexpected ethertype {ethertype:#06x}"),
            UnsupportedArp {
                htype,
                ptype,
                hlen,
                plen,
            } => write!(
                f,
                "unsupported ARP htype {htype} ptype {ptype:#06x} hlen {hlen} plen {plen}"
            ),
            NotNeighborAdvert { icmp_type, code } => {
                write!(
                    f,
                    "ICMPv6 type {icmp_type} code {code} is not a neighbor advertisement"
                )
            }
            BadIcmpv6Checksum { got } => write!(f, "bad ICMPv6 checksum {got:#06x}"),
            BadNdpOption { option_type } => write!(f, "NDP option {option_type} with length 0"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why an emitter could not write a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitError {
    /// The caller's buffer is too small: `needed` bytes are required.
    BufferTooSmall { needed: usize, got: usize },
    /// More than 255 addresses (the Count field is 8 bits).
    TooManyAddresses { count: usize },
    /// An address of the other family than the endpoints, or v2 with IPv6.
    FamilyMismatch,
    /// VRRPv3 Max Adver Int above 4095 centiseconds (12 bits, RFC 9568 §5.2.7).
    AdverIntOutOfRange { centiseconds: u16 },
    /// [`vrrp::AdverInt::Seconds`] given for v3 or centiseconds for v2.
    AdverIntUnitMismatch,
    /// The IPv4 payload does not fit a 16-bit total length.
    PayloadTooLong { len: usize },
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EmitError::BufferTooSmall { needed, got } => {
                write!(f, "buffer of {got} bytes, need {needed}")
            }
            EmitError::TooManyAddresses { count } => write!(f, "{count} addresses, at most 255"),
            EmitError::FamilyMismatch => write!(f, "address family mismatch"),
            EmitError::AdverIntOutOfRange { centiseconds } => {
                write!(f, "Max Adver Int {centiseconds} cs above 4095")
            }
            EmitError::AdverIntUnitMismatch => {
                write!(f, "advert interval unit does not match the version")
            }
            EmitError::PayloadTooLong { len } => write!(f, "payload of {len} bytes too long"),
        }
    }
}

impl std::error::Error for EmitError {}

/// Checks that `buf` holds at least `needed` bytes of `layer`.
pub(crate) fn need(layer: Layer, buf: &[u8], needed: usize) -> Result<(), DecodeError> {
    if buf.len() < needed {
        Err(DecodeError::Truncated {
            layer,
            needed,
            got: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// Checks that an output buffer holds at least `needed` bytes.
pub(crate) fn room(buf: &[u8], needed: usize) -> Result<(), EmitError> {
    if buf.len() < needed {
        Err(EmitError::BufferTooSmall {
            needed,
            got: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// Big-endian u16 at `at`; callers have checked the length.
pub(crate) fn be16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([buf[at], buf[at + 1]])
}

/// Big-endian u32 at `at`; callers have checked the length.
pub(crate) fn be32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// A 48-bit Ethernet MAC address.
pub type MacAddr = [u8; 6];

/// EtherType of IPv4 (RFC 894).
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP (RFC 826).
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6 (RFC 2464 §3).
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Length of an Ethernet II header.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// An Ethernet II header: destination, source, EtherType.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetHeader {
    pub dst: MacAddr,
    pub src: MacAddr,
    pub ethertype: u16,
}

impl EthernetHeader {
    /// Parses the 14-byte header and returns it with the rest of the frame (which may include
    /// padding up to the 60-byte minimum frame).
    pub fn parse(frame: &[u8]) -> Result<(EthernetHeader, &[u8]), DecodeError> {
        need(Layer::Ethernet, frame, ETHERNET_HEADER_LEN)?;
        let mut dst = [0; 6];
        let mut src = [0; 6];
        dst.copy_from_slice(&frame[0..6]);
        src.copy_from_slice(&frame[6..12]);
        let hdr = EthernetHeader {
            dst,
            src,
            ethertype: be16(frame, 12),
        };
        Ok((hdr, &frame[ETHERNET_HEADER_LEN..]))
    }

    /// Writes the 14-byte header.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        room(buf, ETHERNET_HEADER_LEN)?;
        buf[0..6].copy_from_slice(&self.dst);
        buf[6..12].copy_from_slice(&self.src);
        buf[12..14].copy_from_slice(&self.ethertype.to_be_bytes());
        Ok(ETHERNET_HEADER_LEN)
    }
}
