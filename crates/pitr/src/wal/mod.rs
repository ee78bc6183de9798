//! Continuous WAL archiving for PostgreSQL point-in-time recovery, in the same restic-format
//! repository as every other backup (encrypted, compressed, `restic check` clean).
//!
//! # The contract with PostgreSQL
//!
//! - [`push_batch`] (`ledger-backup wal push %p` as `archive_command`) returns success for a
//!   file only once the snapshot naming it is stored, after its packs and index: the file is
//!   durably in the repository and PostgreSQL may recycle it. Pushing an identical file again
//!   succeeds without writing; a different file under an archived name fails with
//!   [`PitrError::Conflict`](crate::PitrError::Conflict) and the archived one is never touched (snapshots are create-only).
//!   A segment whose size is not a WAL segment size (a power of two from 1 MiB to 1 GiB, and
//!   the archive's own once it holds segments) is refused as an input error ([`PitrError::is_input_error`](crate::PitrError::is_input_error)): a
//!   0-byte or truncated copy is never acknowledged.
//! - [`fetch()`] (`ledger-backup wal fetch %f %p` as `restore_command`) writes the file through a
//!   temporary name, fsyncs, checks its SHA-256 and size against the record, then renames it
//!   into place; a name the archive does not hold fails at once with
//!   [`PitrError::NotInArchive`](crate::PitrError::NotInArchive) (PostgreSQL reads that as the end of the archive). Segments,
//!   `.partial` segments, `.history` files and `.backup` labels are all just named files.
//! - [`push_async`] and [`run_worker`]: asynchronous, parallel pushing for bursts (see
//!   [Asynchronous pushing](#asynchronous-pushing) for exactly when `wal push --async` exits
//!   0; it is still "durably stored").
//!
//! # How WAL is stored
//!
//! Each push (or each batch of the asynchronous worker, up to 64 files) becomes **one
//! snapshot** tagged [`WAL_TAG`] and `cluster=NAME`, whose tree holds the files under their
//! PostgreSQL names (so stock `restic restore` gives them back too) and whose JSON carries
//! the batch record: per file its size, SHA-256, modification time and each data blob with the
//! pack, offset and length it was written to. Consequences:
//!
//! - Cost: a burst of 200 segments is about 4 snapshots, a few packs per snapshot and one index
//!   file per snapshot; nothing is rewritten, and nothing but `prune` ever deletes data.
//! - Fetch latency: one ranged read per blob straight from the recorded pack location, without
//!   loading the repository's index (which also holds every other backup). If `prune` moved a
//!   blob, the read falls back to the index.
//! - Finding things: the [`Catalog`] is built from the snapshots' JSON. Snapshot files are
//!   immutable and named by content, so a local cache keyed by snapshot id (encrypted with the
//!   repository key) never goes stale; a refresh is one listing of `snapshots/` plus reads of
//!   the snapshots not seen before. `wal list` and conflict checks therefore do not read WAL.
//! - `restic check --read-data` stays clean: these are ordinary snapshots, trees and packs.
//!   The extra JSON field is ignored by restic. Each batch snapshot has its own `paths`, so a
//!   generic `forget` (which groups by host and paths and always keeps a group's newest
//!   snapshot) never removes WAL; retention of WAL is [`plan_retention`], applied by
//!   [`apply_retention`], which on an immutable repository (S3 Object Lock) keeps what is
//!   still retained and says until when ([`RetentionApplied::retained`]).
//!
//! Several PostgreSQL clusters can share a repository under different cluster names.
//!
//! # Asynchronous pushing
//!
//! PostgreSQL's archive_command returns quickly during bursts while
//! the durability contract holds.
//!
//! `wal push --async PATH` does not upload by itself. It makes sure one worker process runs for
//! the spool directory, and waits until the worker reports on that file:
//!
//! - the worker scans `pg_wal/archive_status/*.ready` (every file PostgreSQL is waiting to
//!   archive, not only the one asked for), stores up to a batch of them in one snapshot with
//!   parallel uploads, and only after the snapshot is written (packs and index before it)
//!   writes `SPOOL/out/NAME.ok` holding the file's SHA-256, or `SPOOL/out/NAME.error`;
//! - `wal push --async` exits 0 only when `NAME.ok` exists **and** names the file it was
//!   given: the worker writes the file's SHA-256 and its identity (device, inode, size,
//!   modification and change times, the same before and after reading it), and the push
//!   compares that identity with the file's, so exit 0 still means "this file's content is
//!   durably in the repository" without hashing 16 MiB a second time. It exits non-zero
//!   on `NAME.error` or when nothing arrives within the timeout, and PostgreSQL retries.
//!
//! - the push also leaves a request, `SPOOL/in/NAME`, which the worker treats like a
//!   `.ready` file: a push of a file PostgreSQL has not marked ready (run by hand, or a
//!   `pg_wal` without `archive_status`) is answered as promptly, instead of waiting out the
//!   timeout. The push removes its request when it returns.
//!
//! Because the worker works ahead on every `.ready` file, the next archive_command calls find
//! their `.ok` already written and return at once: a burst of segments is uploaded in parallel
//! batches instead of one process (with its key derivation and lock) per segment.
//! A worker exits after a short idle period; the next push starts a new one.
//!
//! ```
//! use thinledger_pitr::wal::WalFileName;
//! let n: WalFileName = "000000010000000A000000FE".parse().unwrap();
//! assert_eq!(n.timeline(), 1);
//! assert!("00000002.history".parse::<WalFileName>().is_ok());
//! assert!("../etc/passwd".parse::<WalFileName>().is_err());
//! ```

mod catalog;
mod fetch;
mod name;
mod push;
mod spool;
mod window;
mod writer;

// The WAL archive's public surface (`thinledger_pitr::wal::…`): everything else is private.
pub use catalog::{
    ArchivedFile, BASE_TAG, BaseBackup, Catalog, CatalogBackup, CatalogFile, WAL_TAG,
};
pub use fetch::{
    DEFAULT_LISTING_TTL, FetchOptions, FetchSource, LISTING_FILE, fetch, fetch_from_spool,
    fetch_without_repository, known_missing, seed_spool,
};
pub use name::{BadWalName, Lsn, SegmentId, WalFileKind, WalFileName};
pub use push::{PushOptions, PushOutcome, PushResult, file_identity, push_batch, sha256_file};
pub use spool::{AsyncPushOptions, WorkerSummary, push_async, run_worker};
pub use window::{
    RetainedSnapshot, RetentionApplied, RetentionPlan, TimelineWindow, apply_retention,
    plan_retention, retained_removals, windows,
};
pub use writer::StoredBlob;

pub(crate) use catalog::{BASE_KEY, validate_cluster};
pub(crate) use fetch::read_archived;
pub(crate) use window::{choose_backup, load_histories};
pub(crate) use writer::StreamSnapshot;
