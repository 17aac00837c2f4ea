//! Unsolicited Neighbor Advertisements (RFC 4861 §4.4, §7.2.6), keepalived's IPv6 GARP.
//!
//! ```text
//! ICMPv6 type 136, code 0, checksum (IPv6 pseudo-header, RFC 4443 §2.3)
//! R|S|O + 29 reserved bits
//! Target Address (16 bytes)            -- the VIP
//! option 2 Target Link-Layer Address, length 1 (8 bytes): the MAC
//! ```
//!
//! keepalived 2.2.7 sends the whole frame on a packet socket (captured, 86 bytes):
//! Ethernet to 33:33:00:00:00:01 from the interface/VMAC MAC; IPv6 with traffic class 0, flow
//! label 0, hop limit 255 (RFC 4861 §7.1.2), **source = the VIP itself**, destination ff02::1;
//! flags Override set, Solicited clear (RFC 4861 §7.2.6), Router set when IPv6 forwarding is
//! enabled on the interface (`net.ipv6.conf.*.forwarding`, re-read on each becoming MASTER).
//! [`NeighborAdvert::emit`] writes the ICMPv6 message alone, for an ICMPv6 raw socket where the
//! kernel adds the IPv6 header; [`NaFrame`] writes keepalived's full frame.

use std::net::Ipv6Addr;

use super::checksum::Checksum;
use super::ip::{addr6, ipv6_pseudo_header, IpProtocol, Ipv6Header, IPV6_HEADER_LEN};
use super::{
    be16, be32, need, room, DecodeError, EmitError, EthernetHeader, Layer, MacAddr,
    ETHERNET_HEADER_LEN, ETHERTYPE_IPV6,
};

/// ICMPv6 type of a Neighbor Advertisement (RFC 4861 §4.4).
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// Length of the NA message without options.
pub const NA_LEN: usize = 24;
/// NDP option Target Link-Layer Address (RFC 4861 §4.6.1).
pub const OPT_TARGET_LL_ADDR: u8 = 2;
/// Length of the NA keepalived sends: the message plus one 8-byte link-layer option.
pub const NA_WITH_LL_LEN: usize = NA_LEN + 8;
/// Length of keepalived's full NA frame.
pub const FRAME_LEN: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + NA_WITH_LL_LEN;
/// All-nodes multicast, the destination of unsolicited NAs (RFC 4861 §7.2.6).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Ethernet address of ff02::1 (RFC 2464 §7).
pub const ALL_NODES_MAC: MacAddr = [0x33, 0x33, 0, 0, 0, 1];
/// Hop limit of every ND message (RFC 4861 §7.1.2).
pub const ND_HOP_LIMIT: u8 = 255;

const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

/// A decoded or to-be-emitted Neighbor Advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborAdvert {
    pub router: bool,
    pub solicited: bool,
    pub override_flag: bool,
    pub target: Ipv6Addr,
    /// The Target Link-Layer Address option, if present with an Ethernet-sized address.
    pub target_ll_addr: Option<MacAddr>,
}

impl NeighborAdvert {
    /// keepalived's unsolicited NA for `vip`: Override set, Solicited clear, Router as given.
    pub fn unsolicited(mac: MacAddr, vip: Ipv6Addr, router: bool) -> NeighborAdvert {
        NeighborAdvert {
            router,
            solicited: false,
            override_flag: true,
            target: vip,
            target_ll_addr: Some(mac),
        }
    }

    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        if self.target_ll_addr.is_some() {
            NA_WITH_LL_LEN
        } else {
            NA_LEN
        }
    }

    /// Decodes an ICMPv6 message sent from `src` to `dst`: verifies the checksum, the type and
    /// code, and walks the options (RFC 4861 §4.6: a zero-length option is an error, unknown
    /// options are skipped). The walk is bounded by the buffer.
    pub fn parse(icmp: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<NeighborAdvert, DecodeError> {
        need(Layer::Icmpv6, icmp, 4)?;
        let (icmp_type, code) = (icmp[0], icmp[1]);
        if icmp_type != ICMPV6_NEIGHBOR_ADVERT || code != 0 {
            return Err(DecodeError::NotNeighborAdvert { icmp_type, code });
        }
        need(Layer::Icmpv6, icmp, NA_LEN)?;
        // RFC 4443 §2.3; the length always fits: callers hand at most an IPv6 payload.
        let len = u32::try_from(icmp.len()).unwrap_or(u32::MAX);
        if !ipv6_pseudo_header(src, dst, IpProtocol::Icmpv6, len)
            .add_bytes(icmp)
            .verifies()
        {
            return Err(DecodeError::BadIcmpv6Checksum { got: be16(icmp, 2) });
        }
        let flags = icmp[4];
        let mut target_ll_addr = None;
        let mut opts = &icmp[NA_LEN..];
        while !opts.is_empty() {
            need(Layer::Icmpv6, opts, 2)?;
            let (option_type, units) = (opts[0], usize::from(opts[1]));
            if units == 0 {
                return Err(DecodeError::BadNdpOption { option_type });
            }
            need(Layer::Icmpv6, opts, units * 8)?;
            if option_type == OPT_TARGET_LL_ADDR && units == 1 {
                let mut mac = [0; 6];
                mac.copy_from_slice(&opts[2..8]);
                target_ll_addr = Some(mac);
            }
            opts = &opts[units * 8..];
        }
        // The 29 reserved bits "MUST be ignored by the receiver" (RFC 4861 §4.4).
        let _reserved = be32(icmp, 4) & 0x1fff_ffff;
        Ok(NeighborAdvert {
            router: flags & FLAG_ROUTER != 0,
            solicited: flags & FLAG_SOLICITED != 0,
            override_flag: flags & FLAG_OVERRIDE != 0,
            target: addr6(&icmp[8..24]),
            target_ll_addr,
        })
    }

    /// Writes the ICMPv6 message, checksum included, for a packet from `src` to `dst`.
    pub fn emit(&self, buf: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<usize, EmitError> {
        let len = self.buffer_len();
        room(buf, len)?;
        let out = &mut buf[..len];
        out.fill(0);
        out[0] = ICMPV6_NEIGHBOR_ADVERT;
        out[4] = (if self.router { FLAG_ROUTER } else { 0 })
            | (if self.solicited { FLAG_SOLICITED } else { 0 })
            | (if self.override_flag { FLAG_OVERRIDE } else { 0 });
        out[8..24].copy_from_slice(&self.target.octets());
        if let Some(mac) = self.target_ll_addr {
            out[24] = OPT_TARGET_LL_ADDR;
            out[25] = 1;
            out[26..32].copy_from_slice(&mac);
        }
        let sum: Checksum =
            ipv6_pseudo_header(src, dst, IpProtocol::Icmpv6, len as u32).add_bytes(out);
        out[2..4].copy_from_slice(&sum.finish().to_be_bytes());
        Ok(len)
    }
}

/// A full Ethernet + IPv6 + NA frame, as keepalived sends it on a packet socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NaFrame {
    pub ethernet: EthernetHeader,
    pub ip: Ipv6Header,
    pub na: NeighborAdvert,
}

impl NaFrame {
    /// keepalived's frame for `vip` from `mac`: IPv6 source is the VIP, destination ff02::1.
    pub fn unsolicited(mac: MacAddr, vip: Ipv6Addr, router: bool) -> NaFrame {
        NaFrame {
            ethernet: EthernetHeader {
                dst: ALL_NODES_MAC,
                src: mac,
                ethertype: ETHERTYPE_IPV6,
            },
            ip: Ipv6Header {
                traffic_class: 0,
                flow_label: 0,
                payload_len: NA_WITH_LL_LEN as u16,
                next_header: IpProtocol::Icmpv6,
                hop_limit: ND_HOP_LIMIT,
                src: vip,
                dst: ALL_NODES,
            },
            na: NeighborAdvert::unsolicited(mac, vip, router),
        }
    }

    /// Parses an Ethernet frame holding an IPv6 NA (no extension headers).
    pub fn parse(frame: &[u8]) -> Result<NaFrame, DecodeError> {
        let (ethernet, rest) = EthernetHeader::parse(frame)?;
        if ethernet.ethertype != ETHERTYPE_IPV6 {
            return Err(DecodeError::UnexpectedEtherType {
                ethertype: ethernet.ethertype,
            });
        }
        let (ip, icmp) = Ipv6Header::parse(rest)?;
        if ip.next_header != IpProtocol::Icmpv6 {
            return Err(DecodeError::UnexpectedProtocol {
                got: ip.next_header,
            });
        }
        let na = NeighborAdvert::parse(icmp, ip.src, ip.dst)?;
        Ok(NaFrame { ethernet, ip, na })
    }

    /// Writes the frame (86 bytes with the link-layer option). The IPv6 payload length is
    /// taken from the NA, not from `self.ip`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let na_len = self.na.buffer_len();
        let len = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + na_len;
        room(buf, len)?;
        self.ethernet.emit(buf)?;
        let ip = Ipv6Header {
            payload_len: na_len as u16,
            ..self.ip
        };
        ip.emit(&mut buf[ETHERNET_HEADER_LEN..])?;
        self.na.emit(
            &mut buf[ETHERNET_HEADER_LEN + IPV6_HEADER_LEN..],
            ip.src,
            ip.dst,
        )?;
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_options() {
        let vip: Ipv6Addr = "fd00::5".parse().unwrap();
        let f = NaFrame::unsolicited([2, 0, 0, 0, 0, 1], vip, true);
        let mut buf = [0u8; 128];
        let n = f.emit(&mut buf).unwrap();
        assert_eq!(n, FRAME_LEN);
        assert_eq!(NaFrame::parse(&buf[..n]).unwrap(), f);
        let icmp = &buf[54..n];
        // A zero-length option is rejected.
        let mut bad = [0u8; 40];
        bad[..32].copy_from_slice(icmp);
        let na = NeighborAdvert {
            target_ll_addr: None,
            ..f.na
        };
        na.emit(&mut bad, vip, ALL_NODES).unwrap();
        bad[24] = 9;
        bad[25] = 0;
        let sum = ipv6_pseudo_header(vip, ALL_NODES, IpProtocol::Icmpv6, 32)
            .add_bytes(&bad[..2])
            .add_bytes(&bad[4..32])
            .finish();
        bad[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(
            NeighborAdvert::parse(&bad[..32], vip, ALL_NODES),
            Err(DecodeError::BadNdpOption { option_type: 9 })
        );
    }
}
