//! Snapshots (`snapshots/<id>`): the root tree of one backup and its metadata.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::id::Id;

fn is_zero32(v: &u32) -> bool {
    *v == 0
}

/// The JSON of a snapshot file. Fields this engine does not know are kept (and written back
/// by `copy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When the backup started.
    pub time: DateTime<FixedOffset>,
    /// The snapshot this one was based on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Id>,
    /// The root tree.
    pub tree: Id,
    /// What was backed up (absolute paths; for stdin `/NAME`).
    pub paths: Vec<String>,
    /// Host that made it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    /// User that made it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// That user's uid.
    #[serde(default, skip_serializing_if = "is_zero32")]
    pub uid: u32,
    /// That user's gid.
    #[serde(default, skip_serializing_if = "is_zero32")]
    pub gid: u32,
    /// Exclusion patterns in force.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// For a copied or rewritten snapshot, the id of the first one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Id>,
    /// Program that wrote it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub program_version: String,
    /// Anything else (fields of newer formats).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A snapshot with its storage id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotEntry {
    /// The storage id (name of the snapshot file).
    pub id: Id,
    /// The content.
    #[serde(flatten)]
    pub snapshot: Snapshot,
}
