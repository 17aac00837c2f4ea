//! The random tests' PRNG: the library's own seeded xoshiro256** (`bfd::Rng`, no `rand`),
//! with the two draws the tests use.

pub use keepalived_rs::bfd::Rng;

pub trait TestRng {
    /// In `0..n` (a modulo: the bias is irrelevant to a random test).
    fn below(&mut self, n: usize) -> usize;
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

impl TestRng for Rng {
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}
