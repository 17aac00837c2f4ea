//! The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum
//! of the data taken as big-endian 16-bit words, an odd final byte padded with zero.
//!
//! [`Checksum`] accumulates several pieces (a pseudo-header, then a message) without copying
//! them together; pieces of odd length are handled by carrying the pending byte, so the
//! result is the same as summing the concatenation.

/// A running one's complement sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checksum {
    sum: u64,
    /// A byte waiting for its low-order partner when a piece had odd length.
    pending: Option<u8>,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Checksum {
        Checksum {
            sum: 0,
            pending: None,
        }
    }

    /// Adds bytes as if appended to everything added so far.
    pub fn add_bytes(mut self, mut data: &[u8]) -> Checksum {
        if let Some(hi) = self.pending.take() {
            match data.split_first() {
                Some((&lo, rest)) => {
                    self.sum += u64::from(u16::from_be_bytes([hi, lo]));
                    data = rest;
                }
                None => {
                    self.pending = Some(hi);
                    return self;
                }
            }
        }
        let mut words = data.chunks_exact(2);
        for w in &mut words {
            self.sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [last] = words.remainder() {
            self.pending = Some(*last);
        }
        self
    }

    /// Adds one 16-bit word, big-endian, as if appended.
    pub fn add_u16(self, word: u16) -> Checksum {
        self.add_bytes(&word.to_be_bytes())
    }

    /// Adds one 32-bit value as two words.
    pub fn add_u32(self, value: u32) -> Checksum {
        self.add_bytes(&value.to_be_bytes())
    }

    /// The folded 16-bit one's complement sum (not yet complemented).
    pub fn folded(self) -> u16 {
        let mut sum = self.sum;
        if let Some(hi) = self.pending {
            // RFC 1071 §4.1: an odd trailing byte is padded with a zero low-order byte.
            sum += u64::from(hi) << 8;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    /// The checksum to put in a header field: the complement of the folded sum.
    pub fn finish(self) -> u16 {
        !self.folded()
    }

    /// True when the data summed so far, checksum field included, verifies (RFC 1071 §1:
    /// the sum over a message with a correct checksum is all ones).
    pub fn verifies(self) -> bool {
        self.folded() == 0xffff
    }
}

/// The Internet checksum of one buffer.
pub fn internet_checksum(data: &[u8]) -> u16 {
    Checksum::new().add_bytes(data).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 numerical example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Checksum::new().add_bytes(&data).folded(), 0xddf2);
        assert_eq!(internet_checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_pieces_equal_concatenation() {
        let data: Vec<u8> = (0u16..301).map(|i| (i * 7 + 3) as u8).collect();
        let whole = Checksum::new().add_bytes(&data).finish();
        for cut in [0, 1, 2, 3, 150, 151, 300, 301] {
            let (a, b) = data.split_at(cut);
            assert_eq!(
                Checksum::new().add_bytes(a).add_bytes(b).finish(),
                whole,
                "cut {cut}"
            );
        }
        let (a, rest) = data.split_at(5);
        let (b, c) = rest.split_at(7);
        assert_eq!(
            Checksum::new()
                .add_bytes(a)
                .add_bytes(&[])
                .add_bytes(b)
                .add_bytes(c)
                .finish(),
            whole
        );
    }

    #[test]
    fn verifies_after_insert() {
        let mut msg = [
            0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0, 0, 0x40, 0x11, 0, 0, 1, 2, 3, 4,
        ];
        let c = internet_checksum(&msg);
        msg[10..12].copy_from_slice(&c.to_be_bytes());
        assert!(Checksum::new().add_bytes(&msg).verifies());
        msg[0] ^= 1;
        assert!(!Checksum::new().add_bytes(&msg).verifies());
    }

    #[test]
    fn empty_and_large() {
        assert_eq!(internet_checksum(&[]), 0xffff);
        let big = vec![0xffu8; 70_000];
        assert_eq!(Checksum::new().add_bytes(&big).folded(), 0xffff);
    }
}
