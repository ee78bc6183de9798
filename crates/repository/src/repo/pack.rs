//! Pack files: encrypted blobs back to back, then the encrypted header, then its length.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::crypto::{Key, OVERHEAD};
use super::id::Id;
use crate::{Error, Result};

/// What a blob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobType {
    /// File content.
    Data,
    /// A directory listing (JSON).
    Tree,
}

impl std::fmt::Display for BlobType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BlobType::Data => "data",
            BlobType::Tree => "tree",
        })
    }
}

/// One blob's place in a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedBlob {
    /// Data or tree.
    pub ty: BlobType,
    /// SHA-256 of the plaintext (uncompressed) blob.
    pub id: Id,
    /// Offset of the encrypted blob in the pack.
    pub offset: u32,
    /// Length of the encrypted blob.
    pub length: u32,
    /// Plaintext length when the blob is stored zstd-compressed.
    pub uncompressed_length: Option<u32>,
}

const ENTRY_LEN: usize = 1 + 4 + 32;
const ENTRY_LEN_COMPRESSED: usize = 1 + 4 + 4 + 32;

/// The size of a pack holding these blobs: useful to check a pack's size against the index.
pub(crate) fn pack_size(blobs: &[PackedBlob]) -> u64 {
    let mut size = OVERHEAD as u64 + 4;
    for b in blobs {
        size += u64::from(b.length)
            + if b.uncompressed_length.is_some() {
                ENTRY_LEN_COMPRESSED
            } else {
                ENTRY_LEN
            } as u64;
    }
    size
}

/// Bytes the sealed header of `blobs` entries adds to a pack: entries, encryption, length.
pub(crate) fn header_room(blobs: usize) -> usize {
    blobs * ENTRY_LEN_COMPRESSED + OVERHEAD + 4
}

/// Collects encrypted blobs of one type into a pack.
///
/// The pack's id (SHA-256 of its bytes) is computed as blobs are appended, while their bytes
/// are still in the CPU cache, instead of in a second pass over the finished pack.
pub(crate) struct PackBuilder {
    buf: Vec<u8>,
    blobs: Vec<PackedBlob>,
    hasher: Sha256,
}

impl std::fmt::Debug for PackBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackBuilder")
            .field("len", &self.buf.len())
            .field("blobs", &self.blobs.len())
            .finish_non_exhaustive()
    }
}

/// A finished pack, ready to upload.
#[derive(Debug)]
pub(crate) struct FinishedPack {
    pub(crate) id: Id,
    pub(crate) data: Bytes,
    pub(crate) blobs: Vec<PackedBlob>,
}

impl PackBuilder {
    #[cfg(test)]
    pub(crate) fn new(capacity: usize) -> PackBuilder {
        PackBuilder::with_buffer(Vec::with_capacity(capacity))
    }

    /// A builder writing into `buf` (cleared): a reused buffer.
    pub(crate) fn with_buffer(mut buf: Vec<u8>) -> PackBuilder {
        buf.clear();
        PackBuilder {
            buf,
            blobs: Vec::new(),
            hasher: Sha256::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether a blob of `more` stored bytes still fits, header included, without growing
    /// the buffer (growing a reused pack buffer doubles it and copies it).
    pub(crate) fn fits(&self, more: usize) -> bool {
        self.buf.len() + more + header_room(self.blobs.len() + 1) <= self.buf.capacity()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Appends an encrypted blob.
    pub(crate) fn add(
        &mut self,
        ty: BlobType,
        id: Id,
        encrypted: &[u8],
        uncompressed_length: Option<u32>,
    ) -> Result<()> {
        let offset = self.buf.len();
        self.buf.extend_from_slice(encrypted);
        self.record(ty, id, offset, uncompressed_length)
    }

    /// Appends an encrypted blob given in pieces (IV, ciphertext, MAC).
    pub(crate) fn add_parts(
        &mut self,
        ty: BlobType,
        id: Id,
        parts: &[&[u8]],
        uncompressed_length: Option<u32>,
    ) -> Result<()> {
        let offset = self.buf.len();
        for part in parts {
            self.buf.extend_from_slice(part);
        }
        self.record(ty, id, offset, uncompressed_length)
    }

    /// Encrypts `plaintext` (already compressed if `uncompressed_length` is set) straight into
    /// the pack: no intermediate ciphertext buffer.
    pub(crate) fn add_encrypting(
        &mut self,
        key: &Key,
        ty: BlobType,
        id: Id,
        plaintext: &[u8],
        uncompressed_length: Option<u32>,
    ) -> Result<()> {
        let offset = self.buf.len();
        key.encrypt_into(plaintext, &mut self.buf)?;
        self.record(ty, id, offset, uncompressed_length)
    }

    /// Hashes and lists the blob just appended at `offset..`.
    fn record(
        &mut self,
        ty: BlobType,
        id: Id,
        offset: usize,
        uncompressed_length: Option<u32>,
    ) -> Result<()> {
        let added = &self.buf[offset..];
        let (Ok(offset_u32), Ok(length)) = (u32::try_from(offset), u32::try_from(added.len()))
        else {
            self.buf.truncate(offset);
            return Err(Error::Task("pack or blob beyond 4 GiB".into()));
        };
        self.hasher.update(added);
        self.blobs.push(PackedBlob {
            ty,
            id,
            offset: offset_u32,
            length,
            uncompressed_length,
        });
        Ok(())
    }

    /// Appends the encrypted header and its length, and hashes the pack. CPU-bound.
    pub(crate) fn finish(mut self, key: &Key) -> Result<FinishedPack> {
        let mut header = Vec::with_capacity(self.blobs.len() * ENTRY_LEN_COMPRESSED);
        for b in &self.blobs {
            let code: u8 = match (b.ty, b.uncompressed_length.is_some()) {
                (BlobType::Data, false) => 0,
                (BlobType::Tree, false) => 1,
                (BlobType::Data, true) => 2,
                (BlobType::Tree, true) => 3,
            };
            header.push(code);
            header.extend_from_slice(&b.length.to_le_bytes());
            if let Some(u) = b.uncompressed_length {
                header.extend_from_slice(&u.to_le_bytes());
            }
            header.extend_from_slice(b.id.as_bytes());
        }
        let before = self.buf.len();
        key.encrypt_into(&header, &mut self.buf)?;
        let header_len = u32::try_from(self.buf.len() - before)
            .map_err(|_| Error::Task("pack header beyond 4 GiB".into()))?;
        self.buf.extend_from_slice(&header_len.to_le_bytes());
        self.hasher.update(&self.buf[before..]);
        let id = Id::from_bytes(self.hasher.finalize().into());
        Ok(FinishedPack {
            id,
            data: Bytes::from(self.buf),
            blobs: self.blobs,
        })
    }
}

/// Parses a decrypted pack header.
pub(crate) fn parse_header(plain: &[u8], what: &str) -> Result<Vec<PackedBlob>> {
    let mut blobs = Vec::new();
    let mut pos = 0usize;
    let mut offset: u64 = 0;
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    while pos < plain.len() {
        let code = plain[pos];
        let (ty, compressed) = match code {
            0 => (BlobType::Data, false),
            1 => (BlobType::Tree, false),
            2 => (BlobType::Data, true),
            3 => (BlobType::Tree, true),
            other => {
                return Err(Error::corrupt(
                    what,
                    format!("unknown blob type {other} in the pack header"),
                ));
            }
        };
        let need = if compressed {
            ENTRY_LEN_COMPRESSED
        } else {
            ENTRY_LEN
        };
        if plain.len() - pos < need {
            return Err(Error::corrupt(what, "truncated pack header entry"));
        }
        let length = le32(&plain[pos + 1..]);
        let (uncompressed_length, id_at) = if compressed {
            (Some(le32(&plain[pos + 5..])), pos + 9)
        } else {
            (None, pos + 5)
        };
        let mut id = [0u8; 32];
        id.copy_from_slice(&plain[id_at..id_at + 32]);
        let off = u32::try_from(offset).map_err(|_| Error::corrupt(what, "pack beyond 4 GiB"))?;
        blobs.push(PackedBlob {
            ty,
            id: Id::from_bytes(id),
            offset: off,
            length,
            uncompressed_length,
        });
        offset += u64::from(length);
        pos += need;
    }
    Ok(blobs)
}

/// Reads the header of a whole pack held in memory.
pub(crate) fn read_header(key: &Key, pack: &[u8], what: &str) -> Result<Vec<PackedBlob>> {
    read_header_at_end(key, pack, pack.len() as u64, what)
}

/// Reads the header of a pack of `pack_len` bytes from `tail`, its last bytes (the whole pack
/// or any suffix that holds the header and its length): a pack read in one pass needs to
/// keep only what follows its last known blob.
pub(crate) fn read_header_at_end(
    key: &Key,
    tail: &[u8],
    pack_len: u64,
    what: &str,
) -> Result<Vec<PackedBlob>> {
    if pack_len < (4 + OVERHEAD) as u64 || tail.len() < 4 {
        return Err(Error::corrupt(
            what,
            format!("only {pack_len} bytes: too short for a pack"),
        ));
    }
    let n = tail.len();
    let hlen = u32::from_le_bytes([tail[n - 4], tail[n - 3], tail[n - 2], tail[n - 1]]) as usize;
    if (hlen + 4) as u64 > pack_len || hlen < OVERHEAD {
        return Err(Error::corrupt(
            what,
            format!("header length {hlen} does not fit a pack of {pack_len} bytes"),
        ));
    }
    if hlen + 4 > n {
        return Err(Error::corrupt(
            what,
            format!("header length {hlen} reaches into the bytes where the index places blobs"),
        ));
    }
    let enc = &tail[n - 4 - hlen..n - 4];
    let plain = key
        .decrypt(enc)
        .map_err(|e| Error::corrupt(what, format!("pack header: {e}")))?;
    let blobs = parse_header(&plain, what)?;
    let end = blobs
        .last()
        .map_or(0, |b| u64::from(b.offset) + u64::from(b.length));
    let blob_bytes = pack_len - 4 - hlen as u64;
    if end != blob_bytes {
        return Err(Error::corrupt(
            what,
            format!("header lists {end} bytes of blobs, the pack holds {blob_bytes}"),
        ));
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trip() {
        let key = Key::random().unwrap();
        let mut p = PackBuilder::new(1024);
        let a = key.encrypt(b"alpha").unwrap();
        let b = key.encrypt(b"compressed-bravo").unwrap();
        p.add(BlobType::Data, Id::hash(b"alpha"), &a, None).unwrap();
        p.add(BlobType::Data, Id::hash(b"bravo"), &b, Some(99))
            .unwrap();
        p.add_encrypting(&key, BlobType::Tree, Id::hash(b"charlie"), b"charlie", None)
            .unwrap();
        let done = p.finish(&key).unwrap();
        assert_eq!(done.id, Id::hash(&done.data));
        assert_eq!(done.data.len() as u64, pack_size(&done.blobs));
        let header = read_header(&key, &done.data, "pack").unwrap();
        assert_eq!(header, done.blobs);
        assert_eq!(header[1].offset as usize, a.len());
        assert_eq!(header[1].uncompressed_length, Some(99));
        let c = &header[2];
        let start = c.offset as usize;
        let plain = key
            .decrypt(&done.data[start..start + c.length as usize])
            .unwrap();
        assert_eq!(plain, b"charlie");
        let other = Key::random().unwrap();
        assert!(read_header(&other, &done.data, "pack").is_err());
        // The header alone, read from the pack's last bytes.
        let after_blobs = (c.offset + c.length) as usize;
        let len = done.data.len() as u64;
        let from_tail = read_header_at_end(&key, &done.data[after_blobs..], len, "pack").unwrap();
        assert_eq!(from_tail, done.blobs);
        let short = &done.data[after_blobs + 1..];
        assert!(read_header_at_end(&key, short, len, "pack").is_err());
    }
}
