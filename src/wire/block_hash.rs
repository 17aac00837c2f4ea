//! What MD5 (`md5`) and SHA-1 (`bfd::sha1`) share: the Merkle–Damgård framing of 64-byte
//! blocks. Data is buffered into blocks handed to the hash's compression function, and the
//! final padding is 0x80, zeros to 56 bytes into a block, then the message length in bits
//! (little-endian for MD5, big-endian for SHA-1). Allocation-free; never panics.

pub const BLOCK_LEN: usize = 64;

/// The block being filled and the length so far.
#[derive(Clone)]
pub struct Blocks {
    block: [u8; BLOCK_LEN],
    block_len: usize,
    total_len: u64,
}

impl Default for Blocks {
    fn default() -> Self {
        Blocks {
            block: [0; BLOCK_LEN],
            block_len: 0,
            total_len: 0,
        }
    }
}

impl Blocks {
    /// Buffers `data`, handing every completed block to `compress`.
    pub fn update(&mut self, mut data: &[u8], compress: &mut impl FnMut(&[u8; BLOCK_LEN])) {
        self.total_len = self.total_len.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let take = (BLOCK_LEN - self.block_len).min(data.len());
            self.block[self.block_len..self.block_len + take].copy_from_slice(&data[..take]);
            self.block_len += take;
            data = &data[take..];
            if self.block_len == BLOCK_LEN {
                compress(&self.block);
                self.block_len = 0;
            }
        }
    }

    /// The final padding; `big_endian` picks how the bit length is written.
    pub fn pad(&mut self, big_endian: bool, compress: &mut impl FnMut(&[u8; BLOCK_LEN])) {
        let bits = self.total_len.wrapping_mul(8);
        self.update(&[0x80], compress);
        while self.block_len != 56 {
            self.update(&[0], compress);
        }
        let len = if big_endian {
            bits.to_be_bytes()
        } else {
            bits.to_le_bytes()
        };
        self.update(&len, compress);
    }
}
