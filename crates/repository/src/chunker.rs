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
        // The repository's own id, or the one whose chunker parameters it was created with.
        seed.extend_from_slice(config.chunker_key_id().as_bytes());
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
        if data.len() <= MIN_SIZE {
            return data.len();
        }
        self.scan(data, &mut ScanState::default())
            .unwrap_or(data.len().min(MAX_SIZE))
    }

    /// Looks for the cut point in `data` (the start of a chunk), resuming where `state` says an
    /// earlier call on a shorter prefix stopped. `None`: no cut within `data` (read more, or
    /// at the end of the stream take it all).
    fn scan(&self, data: &[u8], state: &mut ScanState) -> Option<usize> {
        let end = data.len().min(MAX_SIZE);
        let normal = end.min(AVG_SIZE);
        let mut h = state.hash;
        let mut i = state.pos.max(MIN_SIZE);
        while i < normal {
            h = (h << 1).wrapping_add(self.gear[usize::from(data[i])]);
            if h & self.mask_small == 0 {
                return Some(i + 1);
            }
            i += 1;
        }
        while i < end {
            h = (h << 1).wrapping_add(self.gear[usize::from(data[i])]);
            if h & self.mask_large == 0 {
                return Some(i + 1);
            }
            i += 1;
        }
        if i >= MAX_SIZE {
            return Some(MAX_SIZE);
        }
        state.pos = i;
        state.hash = h;
        None
    }

    /// Splits a reader into chunks.
    pub fn chunks<R: Read>(&self, reader: R) -> Chunks<'_, R> {
        self.chunks_with_hint(reader, u64::MAX)
    }

    /// Splits a reader of about `expected_len` bytes (a file's size) into chunks; the hint
    /// only sizes buffers, so a small file gets a small one.
    pub fn chunks_with_hint<R: Read>(&self, reader: R, expected_len: u64) -> Chunks<'_, R> {
        Chunks {
            chunker: self,
            reader,
            cur: Vec::new(),
            state: ScanState::default(),
            remaining_hint: expected_len,
            eof: false,
            pool: None,
        }
    }

    /// Like [`Chunker::chunks_with_hint`], taking chunk buffers from `pool` (whoever consumes
    /// the chunks gives them back).
    pub(crate) fn chunks_pooled<'a, R: Read>(
        &'a self,
        reader: R,
        expected_len: u64,
        pool: &'a BufferPool,
    ) -> Chunks<'a, R> {
        Chunks {
            pool: Some(pool),
            ..self.chunks_with_hint(reader, expected_len)
        }
    }
}

/// Capacity of a chunk buffer: most chunks fit (a longer one grows its buffer).
pub(crate) const CHUNK_BUFFER: usize = 2 * AVG_SIZE + READ_BLOCK;

/// Large buffers handed back for reuse. Chunk and pack buffers are allocated on one thread
/// and freed on another; through the system allocator that pattern leaves freed megabytes
/// cached in many per-thread arenas (peak memory several times the working set). Reusing
/// them keeps memory at what is actually in flight.
#[derive(Debug)]
pub struct BufferPool {
    free: std::sync::Mutex<Vec<Vec<u8>>>,
    /// Buffers of exactly this capacity are kept.
    capacity: usize,
    /// At most this many.
    keep: usize,
}

impl BufferPool {
    pub fn new(capacity: usize, keep: usize) -> BufferPool {
        BufferPool {
            free: std::sync::Mutex::new(Vec::new()),
            capacity,
            keep,
        }
    }

    /// The capacity of the buffers kept.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// An empty buffer of the pool's capacity.
    pub fn take(&self) -> Vec<u8> {
        let reused = self.free.lock().ok().and_then(|mut f| f.pop());
        reused.unwrap_or_else(|| Vec::with_capacity(self.capacity))
    }

    /// Gives a buffer back. A grown one is shrunk back to the pool's capacity (in place) and
    /// kept; a smaller one, or one beyond `keep`, is [`release`]d.
    pub(crate) fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        if buf.capacity() > self.capacity {
            buf.shrink_to(self.capacity);
        }
        if buf.capacity() != self.capacity {
            release(buf);
            return;
        }
        let full = match self.free.lock() {
            Ok(mut f) if f.len() < self.keep => {
                f.push(buf);
                None
            }
            _ => Some(buf),
        };
        if let Some(buf) = full {
            release(buf);
        }
    }
}

/// Buffers above this size are shrunk before they are freed (see [`release`]).
const RELEASE_ABOVE: usize = 64 * 1024;

/// Frees a buffer without raising glibc's dynamic mmap threshold.
///
/// glibc serves allocations above `mmap_threshold` (128 KiB at start) with their own `mmap`,
/// returned to the system when freed. But the first `free` of such a buffer raises the
/// threshold to its size (up to 32 MiB): from then on multi-megabyte buffers come from the
/// per-thread arenas, which keep freed memory (measured: ~40 MiB more peak memory in an
/// initial backup, bench/RESULTS.md). A buffer shrunk first is resized in place (`mremap`)
/// and then freed at its small size, which leaves the threshold where it is. Any allocator
/// is merely asked to shrink before freeing.
pub(crate) fn release<T>(mut buf: Vec<T>) {
    let size = std::mem::size_of::<T>().max(1);
    if buf.capacity().saturating_mul(size) > RELEASE_ABOVE {
        buf.clear();
        buf.shrink_to(4096 / size);
    }
}

/// How far the cut-point search got in the chunk being read.
#[derive(Debug, Default, Clone, Copy)]
struct ScanState {
    pos: usize,
    hash: u64,
}

/// An iterator of chunks read from a reader.
///
/// Data is read straight into the buffer of the chunk being built (no staging buffer): the
/// chunk is handed out as it is, and only the bytes read past its cut point (less than one
/// read block) are copied into the next chunk's buffer. Memory per reader is one chunk.
#[derive(Debug)]
pub struct Chunks<'a, R> {
    chunker: &'a Chunker,
    reader: R,
    cur: Vec<u8>,
    state: ScanState,
    remaining_hint: u64,
    eof: bool,
    pool: Option<&'a BufferPool>,
}

/// Read size once a chunk holds `MIN_SIZE` bytes; also the most that is copied per chunk.
const READ_BLOCK: usize = 256 * 1024;

impl<R: Read> Chunks<'_, R> {
    /// A fresh buffer for a chunk starting with `carried`, sized for what is probably left
    /// of the stream.
    fn new_buffer(&self, carried: &[u8]) -> Vec<u8> {
        let left = usize::try_from(self.remaining_hint).unwrap_or(usize::MAX);
        let want = left.saturating_add(1).min(CHUNK_BUFFER).max(carried.len());
        let mut v = match self.pool {
            // Small buffers come cheaply from the allocator; large ones are reused.
            Some(pool) if want > 64 * 1024 => pool.take(),
            _ => Vec::with_capacity(want),
        };
        v.extend_from_slice(carried);
        v
    }

    /// Hands out the first `n` bytes of the current buffer as a chunk.
    fn emit(&mut self, n: usize) -> Vec<u8> {
        self.remaining_hint = self.remaining_hint.saturating_sub(n as u64);
        let next = if n == self.cur.len() && self.eof {
            Vec::new()
        } else {
            self.new_buffer(&self.cur[n..])
        };
        let mut chunk = std::mem::replace(&mut self.cur, next);
        chunk.truncate(n);
        if self.pool.is_none() && chunk.capacity() - chunk.len() > 64 * 1024 {
            chunk.shrink_to_fit();
        }
        self.state = ScanState::default();
        chunk
    }

    /// The next chunk, in its own buffer.
    pub(crate) fn next_vec(&mut self) -> Option<std::io::Result<Vec<u8>>> {
        loop {
            if self.cur.len() > MIN_SIZE
                && let Some(n) = self.chunker.scan(&self.cur, &mut self.state)
            {
                return Some(Ok(self.emit(n)));
            }
            if self.eof {
                if self.cur.is_empty() {
                    return None;
                }
                let n = self.cur.len();
                return Some(Ok(self.emit(n)));
            }
            if self.cur.capacity() == 0 {
                self.cur = self.new_buffer(&[]);
            }
            // Never read past the largest chunk: a cut is certain there.
            let want = if self.cur.len() < MIN_SIZE {
                MIN_SIZE + READ_BLOCK - self.cur.len()
            } else {
                READ_BLOCK
            }
            .min(MAX_SIZE - self.cur.len());
            let before = self.cur.len();
            match (&mut self.reader)
                .take(want as u64)
                .read_to_end(&mut self.cur)
            {
                Ok(_) if self.cur.len() == before => self.eof = true,
                // `read_to_end` stops short of `want` only where a read returned nothing: the
                // end of the stream is known without another read (one system call less for
                // every small file).
                Ok(n) if n < want => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl<R: Read> Iterator for Chunks<'_, R> {
    type Item = std::io::Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_vec().map(|r| r.map(Bytes::from))
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

    /// Hands out data in odd-sized reads, like a pipe.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.1 = self.1 % 70_001 + 12_345;
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn streaming_cuts_where_cut_on_the_whole_input_does() {
        let c = Chunker::with_seed(b"test");
        let data = pseudo_random(20 * 1024 * 1024 + 777, 3);
        let mut expected = Vec::new();
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = c.cut(rest);
            expected.push(n);
            rest = &rest[n..];
        }
        let sizes = |it: &mut dyn Iterator<Item = std::io::Result<Bytes>>| -> Vec<usize> {
            it.map(|r| r.unwrap().len()).collect()
        };
        assert_eq!(sizes(&mut c.chunks(&data[..])), expected);
        assert_eq!(sizes(&mut c.chunks(Trickle(&data, 0))), expected);
        // A wrong size hint only changes buffer sizes.
        assert_eq!(sizes(&mut c.chunks_with_hint(&data[..], 10)), expected);
        let pool = BufferPool::new(CHUNK_BUFFER, 4);
        let mut pooled = c.chunks_pooled(Trickle(&data, 5), data.len() as u64, &pool);
        let mut joined = Vec::new();
        while let Some(chunk) = pooled.next_vec() {
            let chunk = chunk.unwrap();
            joined.extend_from_slice(&chunk);
            pool.give(chunk);
        }
        assert_eq!(joined, data);
    }

    #[test]
    fn a_buffer_pool_keeps_only_its_own_size_and_count() {
        let pool = BufferPool::new(1024, 1);
        let a = pool.take();
        assert_eq!(a.capacity(), 1024);
        pool.give(Vec::with_capacity(10));
        let ptr = a.as_ptr();
        pool.give(a);
        pool.give(Vec::with_capacity(1024));
        let again = pool.take();
        assert_eq!(again.as_ptr(), ptr, "the kept buffer is reused");
        assert!(again.is_empty());
        // A grown buffer is shrunk back to the pool's capacity and kept.
        let mut grown = again;
        grown.resize(4096, 1);
        pool.give(grown);
        let back = pool.take();
        assert_eq!(back.capacity(), 1024);
        assert!(back.is_empty());
    }

    #[test]
    fn small_and_empty_inputs() {
        let c = Chunker::with_seed(b"test");
        assert_eq!(c.chunks(&b""[..]).count(), 0);
        let one: Vec<_> = c.chunks(&b"hello"[..]).map(|r| r.unwrap()).collect();
        assert_eq!(one, vec![Bytes::from_static(b"hello")]);
    }
}
