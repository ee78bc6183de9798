//! The format layer below the verbs, for crates that store their own kinds of data in a
//! repository and for tests that write damaged repositories on purpose.
//!
//! `thinledger-pitr` keeps its WAL catalog and base backups this way: it chunks and saves
//! blobs into packs itself, writes its own trees and snapshots, and restores an archive with
//! the engine's confined file operations. A tool that backs up and restores files needs none
//! of this; the crate root is its API.
//!
//! What this layer offers, beyond the items here:
//! - methods of the root's types that work on the format directly:
//!   [`Repository::encode_unpacked`](crate::Repository::encode_unpacked),
//!   [`decode_unpacked`](crate::Repository::decode_unpacked),
//!   [`load_unpacked_opt`](crate::Repository::load_unpacked_opt) (encrypted, compressed
//!   files such as a catalog), [`locate`](crate::Repository::locate),
//!   [`with_index`](crate::Repository::with_index), [`read_range`](crate::Repository::read_range),
//!   [`decode_blob`](crate::Repository::decode_blob), [`load_blob`](crate::Repository::load_blob),
//!   [`save_snapshot`](crate::Repository::save_snapshot) and
//!   [`Tree::to_blob`](crate::Tree::to_blob);
//! - [`Error::corrupt`](crate::Error::corrupt) and [`Error::task`](crate::Error::task), to
//!   build the engine's errors in such code.
//!
//! The items:
//! - [`BlobSaver`] ([`SaveSummary`], [`SaverStats`]): saving blobs into packs with bounded
//!   memory (configured by the root's [`SaverOptions`](crate::SaverOptions));
//! - [`Chunker`] ([`Chunks`]) and [`BufferPool`]: content-defined chunking, and reusing the
//!   large buffers chunks are read into;
//! - [`Index`], [`BlobKey`], [`BlobLocation`]: where each blob is stored;
//! - [`Identity`]: the machine identity written into snapshots and locks;
//! - [`go_mode_from_unix`] / [`unix_permissions_from_go`]: modes as trees store them (Go's
//!   `os.FileMode`);
//! - [`resolve_path`]: the node at a path inside a snapshot;
//! - [`confined`]: writing files below a directory without following symbolic links out of
//!   it.
//!
//! This layer follows the crate's version like the rest; it changes when the format's handling
//! does.

pub use crate::chunker::{BufferPool, Chunker, Chunks};
pub use crate::commands::restore::confined;
pub use crate::commands::restore::resolve_path;
pub use crate::repo::host::Identity;
pub use crate::repo::index::{BlobKey, BlobLocation, Index};
pub use crate::repo::tree::{go_mode_from_unix, unix_permissions_from_go};
pub use crate::saver::{BlobSaver, SaveSummary, SaverStats};
