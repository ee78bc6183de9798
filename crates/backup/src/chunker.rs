//! Content-defined chunking (FastCDC with normalised chunking) keyed per repository.
//!
//! restic cuts with a Rabin fingerprint; readers never depend on chunk boundaries, so this
//! engine uses the faster gear-hash FastCDC. The gear table is derived from the repository's
//! config (id and chunker polynomial), so boundaries differ between repositories like
//! restic's do. Sizes follow restic: at least 512 KiB, about 1 MiB on average, at most 8 MiB.

use std::io::Read;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::repo::config::Config;

/// Smallest chunk (files smaller than this are one chunk).
pub const MIN_SIZE: usize = 512 * 1024;
/// Target average chunk size.
pub const AVG_SIZE: usize = 1024 * 1024;
/// Largest chunk.
pub const MAX_SIZE: usize = 8 * 1024 * 1024;

const READ_BLOCK: usize = 1024 * 1024;

/// The cut-point finder.
#[derive(Clone)]
pub struct Chunker {
    gear: Box<[u64; 256]>,
    mask_small: u64,
    mask_large: u64,
}

impl std::fmt::Debug for Chunker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Chunker(..)")
    }
}

fn top_bits(n: u32) -> u64 {
    !0u64 << (64 - n)
}

impl Chunker {
    /// The chunker of a repository.
    pub fn for_config(config: &Config) -> Chunker {
        let mut seed = Vec::with_capacity(64);
        seed.extend_from_slice(b"thinledger fastcdc gear v1");
        seed.extend_from_slice(config.id.as_bytes());
        seed.extend_from_slice(&config.chunker_polynomial.0.to_le_bytes());
        Chunker::with_seed(&seed)
    }

    fn with_seed(seed: &[u8]) -> Chunker {
        let mut gear = Box::new([0u64; 256]);
        for (block, chunk) in gear.chunks_mut(4).enumerate() {
            let mut h = Sha256::new();
            h.update(seed);
            h.update((block as u32).to_le_bytes());
            let d = h.finalize();
            for (i, g) in chunk.iter_mut().enumerate() {
                let mut b = [0u8; 8];
                b.copy_from_slice(&d[i * 8..i * 8 + 8]);
                *g = u64::from_le_bytes(b);
            }
        }
        let bits = AVG_SIZE.trailing_zeros();
        Chunker {
            gear,
            // Normalised chunking (level 2): harder to cut before the average, easier after.
            mask_small: top_bits(bits + 2),
            mask_large: top_bits(bits - 2),
        }
    }

    /// The length of the next chunk of `data`. `data` holds at least `MAX_SIZE` bytes unless
    /// the stream ends within it.
    pub fn cut(&self, data: &[u8]) -> usize {
        let n = data.len();
        if n <= MIN_SIZE {
            return n;
        }
        let end = n.min(MAX_SIZE);
        let normal = end.min(AVG_SIZE);
        let mut h: u64 = 0;
        let mut i = MIN_SIZE;
        while i < normal {
            h = (h << 1).wrapping_add(self.gear[data[i] as usize]);
            if h & self.mask_small == 0 {
                return i + 1;
            }
            i += 1;
        }
        while i < end {
            h = (h << 1).wrapping_add(self.gear[data[i] as usize]);
            if h & self.mask_large == 0 {
                return i + 1;
            }
            i += 1;
        }
        end
    }

    /// Splits a reader into chunks.
    pub fn chunks<R: Read>(&self, reader: R) -> Chunks<'_, R> {
        Chunks {
            chunker: self,
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
        }
    }
}

/// An iterator of chunks read from a reader.
///
/// One reused buffer of twice the largest chunk: chunks are copied out at their exact size
/// (so a queued chunk never pins a large buffer), and the unread tail is moved to the front
/// only when the buffer's end is reached (at most one extra copy per byte).
#[derive(Debug)]
pub struct Chunks<'a, R> {
    chunker: &'a Chunker,
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

const BUF_SIZE: usize = 2 * MAX_SIZE;

impl<R: Read> Iterator for Chunks<'_, R> {
    type Item = std::io::Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.eof && self.end - self.start < MAX_SIZE {
            if self.end == self.buf.len() && self.buf.len() < BUF_SIZE {
                // Grow on demand: small files never allocate the full buffer.
                let grown = (self.buf.len() * 2).clamp(64 * 1024, BUF_SIZE);
                self.buf.resize(grown, 0);
            }
            if self.end == self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let want = (self.buf.len() - self.end).min(READ_BLOCK);
            match self.reader.read(&mut self.buf[self.end..self.end + want]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e)),
            }
        }
        if self.start == self.end {
            return None;
        }
        let n = self.chunker.cut(&self.buf[self.start..self.end]);
        let chunk = Bytes::copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Some(Ok(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn chunks_cover_the_input_within_bounds_and_resync_after_an_edit() {
        let c = Chunker::with_seed(b"test");
        let data = pseudo_random(24 * 1024 * 1024, 7);
        let chunks: Vec<Bytes> = c.chunks(&data[..]).map(|r| r.unwrap()).collect();
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), data.len());
        assert_eq!(chunks.concat(), data);
        for ch in &chunks[..chunks.len() - 1] {
            assert!(ch.len() >= MIN_SIZE && ch.len() <= MAX_SIZE, "{}", ch.len());
        }
        let avg = data.len() / chunks.len();
        assert!(avg > MIN_SIZE && avg < 3 * AVG_SIZE, "average {avg}");

        // Insert bytes near the start: later chunks are shared again.
        let mut edited = data[..1000].to_vec();
        edited.extend_from_slice(b"an insertion");
        edited.extend_from_slice(&data[1000..]);
        let again: Vec<Bytes> = c.chunks(&edited[..]).map(|r| r.unwrap()).collect();
        let shared = again.iter().filter(|c| chunks.contains(c)).count();
        assert!(
            shared + 3 >= chunks.len(),
            "only {shared} of {} chunks shared",
            chunks.len()
        );
    }

    #[test]
    fn small_and_empty_inputs() {
        let c = Chunker::with_seed(b"test");
        assert_eq!(c.chunks(&b""[..]).count(), 0);
        let one: Vec<_> = c.chunks(&b"hello"[..]).map(|r| r.unwrap()).collect();
        assert_eq!(one, vec![Bytes::from_static(b"hello")]);
    }
}
