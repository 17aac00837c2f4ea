//! IPsec Authentication Header around VRRPv2, as keepalived's `auth_type AH` does it.
//!
//! RFC 2338 §5.3.6.3 had VRRP use AH (RFC 2402) with HMAC-MD5-96 (RFC 2403); RFC 3768 dropped
//! it, keepalived kept it. Layout (RFC 2402 §2), 24 bytes between the IPv4 header and VRRP:
//!
//! ```text
//! Next Header (112) | Payload Len (4) | Reserved (0)
//! Security Parameters Index   -- keepalived: the IPv4 source address
//! Sequence Number             -- keepalived: 1, 2, ... per advert, reset on becoming master
//! ICV (12 bytes)              -- HMAC-MD5 truncated to 96 bits
//! ```
//!
//! The ICV covers the IPv4 header with its mutable fields zeroed, the AH header with the ICV
//! zeroed, and the VRRP message (RFC 2402 §3.3.3.1.1). keepalived zeroes TOS, flags + fragment
//! offset and the header checksum, but zeroes the TTL **only when the instance has unicast
//! peers** (`vrrp_update_pkt`; multicast adverts are authenticated with TTL 255 in, which the
//! captures confirm). Identification is covered, as RFC 2402 says. The key is the 8-byte
//! `auth_pass`, zero padded (HMAC pads keys to 64 bytes, so the padding does not matter).
//! The VRRP Authentication Data is all zero with AH.

use std::net::Ipv4Addr;

use super::ip::{IpProtocol, IPV4_HEADER_LEN};
use super::md5::HmacMd5;
use super::{be16, be32, need, room, DecodeError, EmitError, Layer};

/// Length of the AH header with a 96-bit ICV.
pub const AH_HEADER_LEN: usize = 24;
/// Length of the HMAC-MD5-96 ICV (RFC 2403 §3).
pub const ICV_LEN: usize = 12;
/// Payload Len for a 24-byte AH: 32-bit words minus 2 (RFC 2402 §2.2).
pub const AH_PAYLOAD_LEN: u8 = 4;
/// Length of the keepalived AH key (its `auth_pass` buffer).
pub const KEY_LEN: usize = 8;

/// A decoded AH header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AhHeader {
    pub next_header: IpProtocol,
    pub payload_len: u8,
    pub reserved: u16,
    /// Security Parameters Index; keepalived puts the sender's IPv4 source address here and
    /// rejects a packet whose SPI differs from its source.
    pub spi: u32,
    /// Anti-replay sequence number (RFC 2402 §2.5).
    pub sequence_number: u32,
    pub icv: [u8; ICV_LEN],
}

impl AhHeader {
    /// The header keepalived sends: Next Header VRRP, SPI = `src`, ICV to be filled by [`sign`].
    pub fn keepalived(src: Ipv4Addr, sequence_number: u32) -> AhHeader {
        AhHeader {
            next_header: IpProtocol::Vrrp,
            payload_len: AH_PAYLOAD_LEN,
            reserved: 0,
            spi: u32::from(src),
            sequence_number,
            icv: [0; ICV_LEN],
        }
    }

    /// Parses the 24-byte header at the start of `buf`.
    pub fn parse(buf: &[u8]) -> Result<AhHeader, DecodeError> {
        need(Layer::Ah, buf, AH_HEADER_LEN)?;
        let payload_len = buf[1];
        // Only the 96-bit ICV layout is defined for VRRP; another length would move the VRRP
        // header (RFC 2402 §2.2).
        if payload_len != AH_PAYLOAD_LEN {
            return Err(DecodeError::AhBadPayloadLen { payload_len });
        }
        let mut icv = [0; ICV_LEN];
        icv.copy_from_slice(&buf[12..AH_HEADER_LEN]);
        Ok(AhHeader {
            next_header: IpProtocol::from(buf[0]),
            payload_len,
            reserved: be16(buf, 2),
            spi: be32(buf, 4),
            sequence_number: be32(buf, 8),
            icv,
        })
    }

    /// Writes the 24-byte header.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        room(buf, AH_HEADER_LEN)?;
        buf[0] = self.next_header.into();
        buf[1] = self.payload_len;
        buf[2..4].copy_from_slice(&self.reserved.to_be_bytes());
        buf[4..8].copy_from_slice(&self.spi.to_be_bytes());
        buf[8..12].copy_from_slice(&self.sequence_number.to_be_bytes());
        buf[12..24].copy_from_slice(&self.icv);
        Ok(AH_HEADER_LEN)
    }

    /// True when the SPI is the source address, as keepalived requires on receive.
    pub fn spi_matches(&self, src: Ipv4Addr) -> bool {
        self.spi == u32::from(src)
    }
}

/// The AH key: keepalived's `auth_pass`, truncated or zero padded to 8 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AhKey(pub [u8; KEY_LEN]);

impl AhKey {
    /// From the configured password (keepalived keeps the first 8 bytes).
    pub fn from_auth_pass(pass: &[u8]) -> AhKey {
        let mut k = [0; KEY_LEN];
        let n = pass.len().min(KEY_LEN);
        k[..n].copy_from_slice(&pass[..n]);
        AhKey(k)
    }
}

impl std::fmt::Debug for AhKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A secret: never logged.
        f.write_str("AhKey(..)")
    }
}

/// Computes the HMAC-MD5-96 ICV of an IPv4 datagram carrying AH (the AH header right after
/// the IPv4 header). `zero_ttl` is keepalived's "instance has unicast peers". Only the bytes
/// up to the IPv4 Total Length are covered. Does not allocate.
pub fn compute_icv(
    datagram: &[u8],
    key: &AhKey,
    zero_ttl: bool,
) -> Result<[u8; ICV_LEN], DecodeError> {
    need(Layer::Ipv4, datagram, IPV4_HEADER_LEN)?;
    let version = datagram[0] >> 4;
    if version != 4 {
        return Err(DecodeError::NotIpv4 { version });
    }
    let ihl = datagram[0] & 0x0f;
    if ihl < 5 {
        return Err(DecodeError::BadIhl { ihl });
    }
    let header_len = usize::from(ihl) * 4;
    let total_len = be16(datagram, 2);
    let total = usize::from(total_len);
    if total < header_len + AH_HEADER_LEN {
        need(
            Layer::Ah,
            &datagram[header_len.min(datagram.len())..],
            AH_HEADER_LEN,
        )?;
        return Err(DecodeError::BadTotalLength {
            total_len,
            header_len,
        });
    }
    need(Layer::Ipv4, datagram, total)?;

    // RFC 2402 §3.3.3.1.1.1: mutable IPv4 fields are zeroed for the computation.
    let mut ip = [0u8; 60];
    ip[..header_len].copy_from_slice(&datagram[..header_len]);
    ip[1] = 0; // TOS
    ip[6] = 0; // flags + fragment offset
    ip[7] = 0;
    ip[10] = 0; // header checksum
    ip[11] = 0;
    if zero_ttl {
        ip[8] = 0;
    }
    let mut ah = [0u8; AH_HEADER_LEN];
    ah.copy_from_slice(&datagram[header_len..header_len + AH_HEADER_LEN]);
    ah[12..].fill(0); // the ICV itself
    let mut mac = HmacMd5::new(&key.0);
    mac.update(&ip[..header_len]);
    mac.update(&ah);
    mac.update(&datagram[header_len + AH_HEADER_LEN..total]);
    let digest = mac.finalize();
    let mut icv = [0; ICV_LEN];
    icv.copy_from_slice(&digest[..ICV_LEN]);
    Ok(icv)
}

/// True when the datagram's ICV is right for `key` (compared in constant time).
pub fn verify_icv(datagram: &[u8], key: &AhKey, zero_ttl: bool) -> Result<bool, DecodeError> {
    let want = compute_icv(datagram, key, zero_ttl)?;
    let ihl = usize::from(datagram[0] & 0x0f) * 4;
    let got = &datagram[ihl + 12..ihl + AH_HEADER_LEN];
    let diff = want.iter().zip(got).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    Ok(diff == 0)
}

/// Fills the ICV of an assembled datagram in place.
pub fn sign(datagram: &mut [u8], key: &AhKey, zero_ttl: bool) -> Result<(), DecodeError> {
    let icv = compute_icv(datagram, key, zero_ttl)?;
    let ihl = usize::from(datagram[0] & 0x0f) * 4;
    datagram[ihl + 12..ihl + AH_HEADER_LEN].copy_from_slice(&icv);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_padding_and_truncation() {
        assert_eq!(AhKey::from_auth_pass(b"ab").0, *b"ab\0\0\0\0\0\0");
        assert_eq!(AhKey::from_auth_pass(b"0123456789").0, *b"01234567");
        assert_eq!(format!("{:?}", AhKey::from_auth_pass(b"x")), "AhKey(..)");
    }

    #[test]
    fn header_round_trip() {
        let h = AhHeader::keepalived(Ipv4Addr::new(192, 0, 2, 1), 9);
        let mut buf = [0u8; 24];
        h.emit(&mut buf).unwrap();
        assert_eq!(&buf[..8], &[112, 4, 0, 0, 192, 0, 2, 1]);
        assert_eq!(AhHeader::parse(&buf).unwrap(), h);
        assert!(h.spi_matches(Ipv4Addr::new(192, 0, 2, 1)));
        buf[1] = 5;
        assert_eq!(
            AhHeader::parse(&buf),
            Err(DecodeError::AhBadPayloadLen { payload_len: 5 })
        );
    }

    #[test]
    fn short_datagram_is_an_error_not_a_panic() {
        let key = AhKey::from_auth_pass(b"k");
        let mut d = [0u8; 30];
        d[0] = 0x45;
        d[2..4].copy_from_slice(&30u16.to_be_bytes());
        assert!(compute_icv(&d, &key, false).is_err());
        assert!(verify_icv(&d[..10], &key, false).is_err());
        assert!(sign(&mut d, &key, false).is_err());
    }
}
