//! Repairs, as restic's `repair` commands: rebuild the index from the packs
//! ([`repair_index`]), and rewrite snapshots whose trees need blobs that are gone
//! ([`repair_snapshots`]). Both run under the exclusive lock and have a dry run that
//! computes the same plan without changing anything.

mod index;
mod snapshots;

pub use index::{RepairIndexOptions, RepairIndexReport, repair_index};
pub use snapshots::{
    RepairSnapshotsOptions, RepairSnapshotsReport, RepairedSnapshot, repair_snapshots,
};
