//! IPv4 and IPv6 headers as the VRRP sockets see them, and the pseudo-headers of checksums.
//!
//! * A raw `IPPROTO_VRRP` (or `IPPROTO_AH`) IPv4 socket returns the whole datagram, header
//!   first, in network byte order on Linux; [`Ipv4Header::parse`] reads it (RFC 791 §3.1),
//!   verifies the header checksum and bounds the payload by Total Length, so Ethernet padding
//!   read from a packet socket is dropped here.
//! * keepalived sends VRRP over IPv4 with `IP_HDRINCL`, building the header itself;
//!   [`Ipv4Header::vrrp`] makes the same header: TOS 0xC0 (network control), no DF, ID counting
//!   up from 1 per instance, TTL 255 (RFC 5798 §5.1.1.3) or `unicast_ttl`, protocol 112 or 51.
//!   The kernel recomputes the header checksum on send; we compute it too, for the simulator.
//! * [`Ipv6Header`] is the fixed 40-byte header (RFC 8200 §3), for packet-socket frames such as
//!   keepalived's unsolicited NA; extension headers are not walked.
//! * [`ipv4_pseudo_header`] and [`ipv6_pseudo_header`] start a [`Checksum`] with the
//!   pseudo-header of RFC 768 / RFC 8200 §8.1.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum::Checksum;
use super::{be16, need, room, DecodeError, EmitError, Layer};

/// An IP protocol number (IPv4 Protocol, IPv6 Next Header); unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    /// 1, ICMP.
    Icmp,
    /// 51, IPsec Authentication Header (RFC 2402).
    Ah,
    /// 58, ICMPv6.
    Icmpv6,
    /// 112, VRRP (RFC 3768 §5.2.4, RFC 9568 §5.1.1.4).
    Vrrp,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(v: u8) -> IpProtocol {
        match v {
            1 => IpProtocol::Icmp,
            51 => IpProtocol::Ah,
            58 => IpProtocol::Icmpv6,
            112 => IpProtocol::Vrrp,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(p: IpProtocol) -> u8 {
        match p {
            IpProtocol::Icmp => 1,
            IpProtocol::Ah => 51,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Vrrp => 112,
            IpProtocol::Unknown(v) => v,
        }
    }
}

/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// TOS keepalived sets on VRRP adverts: precedence 6, "internetwork control" (DSCP CS6).
pub const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;
/// TTL / Hop Limit of VRRP adverts, checked by receivers (RFC 9568 §5.1.1.3, §5.1.2.3).
pub const VRRP_TTL: u8 = 255;
/// The VRRP IPv4 multicast group (RFC 9568 §5.1.1.2).
pub const VRRP_MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The VRRP IPv6 multicast group (RFC 9568 §5.1.2.2).
pub const VRRP_MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// A decoded IPv4 header. Options, if any, are skipped but counted in `header_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    /// IHL × 4, 20 to 60.
    pub header_len: usize,
    /// The TOS / DSCP+ECN byte.
    pub tos: u8,
    pub total_len: u16,
    pub identification: u16,
    pub dont_fragment: bool,
    pub more_fragments: bool,
    /// Fragment offset in 8-byte units.
    pub fragment_offset: u16,
    pub ttl: u8,
    pub protocol: IpProtocol,
    /// The header checksum as received (verified by `parse`), or as emitted.
    pub checksum: u16,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
}

impl Ipv4Header {
    /// The header keepalived builds for a VRRP advert (keepalived `vrrp_build_ip4`, confirmed
    /// by capture): TOS 0xC0, DF clear, `identification` as given (keepalived counts from 1
    /// per instance and skips 0 so the kernel leaves it alone), `ttl`, the protocol (112, or
    /// 51 with AH) and `payload_len` bytes following the 20-byte header.
    pub fn vrrp(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        identification: u16,
        protocol: IpProtocol,
        payload_len: usize,
    ) -> Result<Ipv4Header, EmitError> {
        let total = IPV4_HEADER_LEN + payload_len;
        let total_len =
            u16::try_from(total).map_err(|_| EmitError::PayloadTooLong { len: payload_len })?;
        Ok(Ipv4Header {
            header_len: IPV4_HEADER_LEN,
            tos: TOS_INTERNETWORK_CONTROL,
            total_len,
            identification,
            dont_fragment: false,
            more_fragments: false,
            fragment_offset: 0,
            ttl,
            protocol,
            checksum: 0,
            src,
            dst,
        })
    }

    /// Parses the header of an IPv4 datagram and returns it with the payload, bounded by Total
    /// Length (bytes past it, such as Ethernet padding, are not part of the datagram).
    /// Rejects a bad version, IHL, length or header checksum (RFC 791 §3.1).
    pub fn parse(buf: &[u8]) -> Result<(Ipv4Header, &[u8]), DecodeError> {
        need(Layer::Ipv4, buf, IPV4_HEADER_LEN)?;
        let version = buf[0] >> 4;
        if version != 4 {
            return Err(DecodeError::NotIpv4 { version });
        }
        let ihl = buf[0] & 0x0f;
        if ihl < 5 {
            return Err(DecodeError::BadIhl { ihl });
        }
        let header_len = usize::from(ihl) * 4;
        need(Layer::Ipv4, buf, header_len)?;
        let total_len = be16(buf, 2);
        if usize::from(total_len) < header_len {
            return Err(DecodeError::BadTotalLength {
                total_len,
                header_len,
            });
        }
        need(Layer::Ipv4, buf, usize::from(total_len))?;
        let checksum = be16(buf, 10);
        if !Checksum::new().add_bytes(&buf[..header_len]).verifies() {
            return Err(DecodeError::BadIpv4HeaderChecksum { got: checksum });
        }
        let flags_frag = be16(buf, 6);
        let hdr = Ipv4Header {
            header_len,
            tos: buf[1],
            total_len,
            identification: be16(buf, 4),
            dont_fragment: flags_frag & 0x4000 != 0,
            more_fragments: flags_frag & 0x2000 != 0,
            fragment_offset: flags_frag & 0x1fff,
            ttl: buf[8],
            protocol: IpProtocol::from(buf[9]),
            checksum,
            src: Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]),
            dst: Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]),
        };
        Ok((hdr, &buf[header_len..usize::from(total_len)]))
    }

    /// Payload length implied by Total Length.
    pub fn payload_len(&self) -> usize {
        usize::from(self.total_len).saturating_sub(self.header_len)
    }

    /// Writes a 20-byte header (options are never emitted) with its checksum, and stores the
    /// checksum in `self`. Returns 20.
    pub fn emit(&mut self, buf: &mut [u8]) -> Result<usize, EmitError> {
        room(buf, IPV4_HEADER_LEN)?;
        self.header_len = IPV4_HEADER_LEN;
        let b = &mut buf[..IPV4_HEADER_LEN];
        b[0] = 0x45;
        b[1] = self.tos;
        b[2..4].copy_from_slice(&self.total_len.to_be_bytes());
        b[4..6].copy_from_slice(&self.identification.to_be_bytes());
        let flags_frag = (u16::from(self.dont_fragment) << 14)
            | (u16::from(self.more_fragments) << 13)
            | (self.fragment_offset & 0x1fff);
        b[6..8].copy_from_slice(&flags_frag.to_be_bytes());
        b[8] = self.ttl;
        b[9] = self.protocol.into();
        b[10..12].copy_from_slice(&[0, 0]);
        b[12..16].copy_from_slice(&self.src.octets());
        b[16..20].copy_from_slice(&self.dst.octets());
        self.checksum = Checksum::new().add_bytes(b).finish();
        b[10..12].copy_from_slice(&self.checksum.to_be_bytes());
        Ok(IPV4_HEADER_LEN)
    }
}

/// A decoded fixed IPv6 header (RFC 8200 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Header {
    pub traffic_class: u8,
    /// 20-bit flow label.
    pub flow_label: u32,
    pub payload_len: u16,
    pub next_header: IpProtocol,
    pub hop_limit: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
}

impl Ipv6Header {
    /// Parses the fixed header and returns the payload bounded by Payload Length.
    pub fn parse(buf: &[u8]) -> Result<(Ipv6Header, &[u8]), DecodeError> {
        need(Layer::Ipv6, buf, IPV6_HEADER_LEN)?;
        let version = buf[0] >> 4;
        if version != 6 {
            return Err(DecodeError::NotIpv6 { version });
        }
        let payload_len = be16(buf, 4);
        let end = IPV6_HEADER_LEN + usize::from(payload_len);
        need(Layer::Ipv6, buf, end)?;
        let word = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let hdr = Ipv6Header {
            traffic_class: ((word >> 20) & 0xff) as u8,
            flow_label: word & 0x000f_ffff,
            payload_len,
            next_header: IpProtocol::from(buf[6]),
            hop_limit: buf[7],
            src: addr6(&buf[8..24]),
            dst: addr6(&buf[24..40]),
        };
        Ok((hdr, &buf[IPV6_HEADER_LEN..end]))
    }

    /// Writes the 40-byte header. Returns 40.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        room(buf, IPV6_HEADER_LEN)?;
        let word =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff);
        buf[0..4].copy_from_slice(&word.to_be_bytes());
        buf[4..6].copy_from_slice(&self.payload_len.to_be_bytes());
        buf[6] = self.next_header.into();
        buf[7] = self.hop_limit;
        buf[8..24].copy_from_slice(&self.src.octets());
        buf[24..40].copy_from_slice(&self.dst.octets());
        Ok(IPV6_HEADER_LEN)
    }
}

/// An IPv6 address from 16 bytes (callers pass exactly 16).
pub(crate) fn addr6(b: &[u8]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[..16]);
    Ipv6Addr::from(o)
}

/// The IPv4 pseudo-header sum: source, destination, zero, protocol, upper-layer length
/// (RFC 768; used for VRRPv3 over IPv4 by RFC 5798 §5.2.8 and by keepalived by default).
pub fn ipv4_pseudo_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: IpProtocol,
    len: u16,
) -> Checksum {
    Checksum::new()
        .add_bytes(&src.octets())
        .add_bytes(&dst.octets())
        .add_bytes(&[0, u8::from(protocol)])
        .add_u16(len)
}

/// The IPv6 pseudo-header sum (RFC 8200 §8.1): source, destination, 32-bit upper-layer
/// length, three zero bytes, next header.
pub fn ipv6_pseudo_header(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: IpProtocol,
    len: u32,
) -> Checksum {
    Checksum::new()
        .add_bytes(&src.octets())
        .add_bytes(&dst.octets())
        .add_u32(len)
        .add_bytes(&[0, 0, 0, u8::from(next_header)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(IpProtocol::from(v)), v);
        }
        assert_eq!(IpProtocol::from(112), IpProtocol::Vrrp);
        assert_eq!(IpProtocol::from(7), IpProtocol::Unknown(7));
    }

    #[test]
    fn ipv4_emit_parse() {
        let src = Ipv4Addr::new(192, 0, 2, 1);
        let mut h = Ipv4Header::vrrp(src, VRRP_MULTICAST_V4, 255, 7, IpProtocol::Vrrp, 20).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(h.emit(&mut buf).unwrap(), 20);
        let (p, payload) = Ipv4Header::parse(&buf[..60]).unwrap();
        assert_eq!(p, h);
        assert_eq!(payload.len(), 20);
        assert_eq!(p.payload_len(), 20);
        assert!(matches!(
            Ipv4Header::vrrp(src, src, 255, 1, IpProtocol::Vrrp, 70_000),
            Err(EmitError::PayloadTooLong { .. })
        ));
    }

    #[test]
    fn ipv4_options_are_skipped() {
        let mut buf = [0u8; 28];
        buf[0] = 0x46;
        buf[2..4].copy_from_slice(&28u16.to_be_bytes());
        buf[8] = 1;
        buf[9] = 112;
        let c = Checksum::new().add_bytes(&buf[..24]).finish();
        buf[10..12].copy_from_slice(&c.to_be_bytes());
        let (h, payload) = Ipv4Header::parse(&buf).unwrap();
        assert_eq!(h.header_len, 24);
        assert_eq!(payload.len(), 4);
    }

    #[test]
    fn ipv6_emit_parse() {
        let h = Ipv6Header {
            traffic_class: 0xc0,
            flow_label: 0x8f09a,
            payload_len: 4,
            next_header: IpProtocol::Vrrp,
            hop_limit: 255,
            src: "fe80::1".parse().unwrap(),
            dst: VRRP_MULTICAST_V6,
        };
        let mut buf = [0u8; 44];
        h.emit(&mut buf).unwrap();
        assert_eq!(&buf[..4], &[0x6c, 0x08, 0xf0, 0x9a]);
        let (p, payload) = Ipv6Header::parse(&buf).unwrap();
        assert_eq!(p, h);
        assert_eq!(payload.len(), 4);
        assert!(matches!(
            Ipv6Header::parse(&buf[..43]),
            Err(DecodeError::Truncated { .. })
        ));
    }
}
