//! Gratuitous ARP frames (RFC 826 packet format, RFC 5227 §3 "ARP Announcement").
//!
//! keepalived announces each IPv4 VIP on becoming MASTER with a full Ethernet frame sent on a
//! packet socket (captured from 2.2.7, 42 bytes, no padding on the veth):
//!
//! ```text
//! Ethernet dst ff:ff:ff:ff:ff:ff, src = interface or VMAC MAC, type 0x0806
//! htype 1, ptype 0x0800, hlen 6, plen 4, oper 1 (REQUEST)
//! sender MAC = src MAC, sender IP = VIP, target MAC = ff:ff:ff:ff:ff:ff, target IP = VIP
//! ```
//!
//! RFC 5227 §3 suggests a zero target MAC; keepalived puts the broadcast address there, and we
//! do the same for byte-for-byte compatibility.

use std::net::Ipv4Addr;

use super::{
    be16, need, room, DecodeError, EmitError, EthernetHeader, Layer, MacAddr, ETHERNET_HEADER_LEN,
    ETHERTYPE_ARP, ETHERTYPE_IPV4,
};

/// Length of an Ethernet/IPv4 ARP packet.
pub const ARP_LEN: usize = 28;
/// Length of the frame keepalived sends (no padding to 60 bytes).
pub const FRAME_LEN: usize = ETHERNET_HEADER_LEN + ARP_LEN;
/// The Ethernet broadcast address.
pub const BROADCAST: MacAddr = [0xff; 6];

/// ARP operation (RFC 826); unknown codes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    Request,
    Reply,
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(v: u16) -> ArpOperation {
        match v {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(op: ArpOperation) -> u16 {
        match op {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(v) => v,
        }
    }
}

/// An Ethernet frame carrying an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpFrame {
    pub ethernet: EthernetHeader,
    pub operation: ArpOperation,
    pub sender_hw: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_hw: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl ArpFrame {
    /// keepalived's gratuitous ARP for `vip` from `mac` (interface or VMAC address).
    pub fn gratuitous(mac: MacAddr, vip: Ipv4Addr) -> ArpFrame {
        ArpFrame {
            ethernet: EthernetHeader {
                dst: BROADCAST,
                src: mac,
                ethertype: ETHERTYPE_ARP,
            },
            operation: ArpOperation::Request,
            sender_hw: mac,
            sender_ip: vip,
            target_hw: BROADCAST,
            target_ip: vip,
        }
    }

    /// True for an announcement: sender and target IP are the same (RFC 5227 §3).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }

    /// Parses an Ethernet frame; trailing padding is ignored.
    pub fn parse(frame: &[u8]) -> Result<ArpFrame, DecodeError> {
        let (ethernet, arp) = EthernetHeader::parse(frame)?;
        if ethernet.ethertype != ETHERTYPE_ARP {
            return Err(DecodeError::UnexpectedEtherType {
                ethertype: ethernet.ethertype,
            });
        }
        need(Layer::Arp, arp, ARP_LEN)?;
        let (htype, ptype, hlen, plen) = (be16(arp, 0), be16(arp, 2), arp[4], arp[5]);
        if (htype, ptype, hlen, plen) != (1, ETHERTYPE_IPV4, 6, 4) {
            return Err(DecodeError::UnsupportedArp {
                htype,
                ptype,
                hlen,
                plen,
            });
        }
        let mac = |at: usize| {
            let mut m = [0; 6];
            m.copy_from_slice(&arp[at..at + 6]);
            m
        };
        let ip = |at: usize| Ipv4Addr::new(arp[at], arp[at + 1], arp[at + 2], arp[at + 3]);
        Ok(ArpFrame {
            ethernet,
            operation: ArpOperation::from(be16(arp, 6)),
            sender_hw: mac(8),
            sender_ip: ip(14),
            target_hw: mac(18),
            target_ip: ip(24),
        })
    }

    /// Writes the 42-byte frame.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        room(buf, FRAME_LEN)?;
        self.ethernet.emit(buf)?;
        let arp = &mut buf[ETHERNET_HEADER_LEN..FRAME_LEN];
        arp[0..2].copy_from_slice(&1u16.to_be_bytes());
        arp[2..4].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        arp[4] = 6;
        arp[5] = 4;
        arp[6..8].copy_from_slice(&u16::from(self.operation).to_be_bytes());
        arp[8..14].copy_from_slice(&self.sender_hw);
        arp[14..18].copy_from_slice(&self.sender_ip.octets());
        arp[18..24].copy_from_slice(&self.target_hw);
        arp[24..28].copy_from_slice(&self.target_ip.octets());
        Ok(FRAME_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let f = ArpFrame::gratuitous([2, 0, 0, 0, 0, 1], Ipv4Addr::new(192, 0, 2, 9));
        let mut buf = [0u8; 60];
        assert_eq!(f.emit(&mut buf).unwrap(), 42);
        assert_eq!(ArpFrame::parse(&buf).unwrap(), f);
        assert!(f.is_gratuitous());
        assert!(matches!(
            ArpFrame::parse(&buf[..41]),
            Err(DecodeError::Truncated { .. })
        ));
        buf[19] = 8;
        assert!(matches!(
            ArpFrame::parse(&buf),
            Err(DecodeError::UnsupportedArp { .. })
        ));
        buf[12] = 0x86;
        assert!(matches!(
            ArpFrame::parse(&buf),
            Err(DecodeError::UnexpectedEtherType { .. })
        ));
        assert_eq!(u16::from(ArpOperation::from(9)), 9);
    }
}
