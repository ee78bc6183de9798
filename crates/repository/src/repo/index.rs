//! Index files (`index/<id>`) and the in-memory index: which pack holds each blob.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::id::Id;
use super::pack::{BlobType, PackedBlob};

/// The JSON of an index file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct IndexFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) supersedes: Vec<Id>,
    #[serde(default)]
    pub(crate) packs: Vec<IndexPack>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexPack {
    pub(crate) id: Id,
    pub(crate) blobs: Vec<IndexBlob>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexBlob {
    pub(crate) id: Id,
    #[serde(rename = "type")]
    pub(crate) ty: BlobType,
    pub(crate) offset: u32,
    pub(crate) length: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) uncompressed_length: Option<u32>,
}

impl IndexPack {
    pub(crate) fn new(id: Id, blobs: &[PackedBlob]) -> IndexPack {
        IndexPack {
            id,
            blobs: blobs
                .iter()
                .map(|b| IndexBlob {
                    id: b.id,
                    ty: b.ty,
                    offset: b.offset,
                    length: b.length,
                    uncompressed_length: b.uncompressed_length,
                })
                .collect(),
        }
    }

    pub(crate) fn packed_blobs(&self) -> Vec<PackedBlob> {
        self.blobs
            .iter()
            .map(|b| PackedBlob {
                ty: b.ty,
                id: b.id,
                offset: b.offset,
                length: b.length,
                uncompressed_length: b.uncompressed_length,
            })
            .collect()
    }
}

/// A blob's id and type: the index key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey {
    /// Plaintext SHA-256.
    pub id: Id,
    /// Data or tree.
    pub ty: BlobType,
}

/// Where a blob is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobLocation {
    /// The pack's id.
    pub pack: Id,
    /// Offset of the encrypted blob.
    pub offset: u32,
    /// Length of the encrypted blob.
    pub length: u32,
    /// Plaintext length when compressed.
    pub uncompressed_length: Option<u32>,
}

impl BlobLocation {
    /// The blob's plaintext size.
    pub fn plain_size(&self) -> u64 {
        match self.uncompressed_length {
            Some(u) => u64::from(u),
            None => u64::from(self.length).saturating_sub(super::crypto::OVERHEAD as u64),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    pack: u32,
    offset: u32,
    length: u32,
    uncompressed_length: u32, // 0 = not compressed (a compressed blob is never empty-sized 0 here)
    compressed: bool,
}

/// The in-memory union of all index files.
#[derive(Debug, Default)]
pub struct Index {
    packs: Vec<Id>,
    pack_pos: HashMap<Id, u32>,
    blobs: HashMap<BlobKey, Entry>,
}

impl Index {
    fn pack_slot(&mut self, id: Id) -> u32 {
        if let Some(p) = self.pack_pos.get(&id) {
            return *p;
        }
        let p = self.packs.len() as u32;
        self.packs.push(id);
        self.pack_pos.insert(id, p);
        p
    }

    /// Records the blobs of a pack. A blob already known elsewhere keeps its first location.
    pub(crate) fn add_pack(&mut self, pack: Id, blobs: &[PackedBlob]) {
        let slot = self.pack_slot(pack);
        for b in blobs {
            self.blobs
                .entry(BlobKey { id: b.id, ty: b.ty })
                .or_insert(Entry {
                    pack: slot,
                    offset: b.offset,
                    length: b.length,
                    uncompressed_length: b.uncompressed_length.unwrap_or(0),
                    compressed: b.uncompressed_length.is_some(),
                });
        }
    }

    pub(crate) fn add_file(&mut self, file: &IndexFile) {
        for p in &file.packs {
            self.add_pack(p.id, &p.packed_blobs());
        }
    }

    /// Where a blob is.
    pub fn get(&self, key: &BlobKey) -> Option<BlobLocation> {
        self.blobs.get(key).map(|e| BlobLocation {
            pack: self.packs[e.pack as usize],
            offset: e.offset,
            length: e.length,
            uncompressed_length: e.compressed.then_some(e.uncompressed_length),
        })
    }

    /// Whether the index knows a blob.
    pub fn contains(&self, key: &BlobKey) -> bool {
        self.blobs.contains_key(key)
    }

    /// The number of distinct blobs.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Every pack the index mentions.
    pub fn packs(&self) -> impl Iterator<Item = &Id> {
        self.packs.iter()
    }

    /// Every blob and its place.
    pub fn iter(&self) -> impl Iterator<Item = (BlobKey, BlobLocation)> + '_ {
        self.blobs.iter().map(|(k, e)| {
            (
                *k,
                BlobLocation {
                    pack: self.packs[e.pack as usize],
                    offset: e.offset,
                    length: e.length,
                    uncompressed_length: e.compressed.then_some(e.uncompressed_length),
                },
            )
        })
    }
}
