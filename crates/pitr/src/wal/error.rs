//! Errors of WAL archiving and point-in-time recovery.

use std::path::PathBuf;

/// What can go wrong archiving WAL, taking base backups and restoring to a point in time.
///
/// The CLI maps [`PitrError::NotInArchive`] to a plain failure (PostgreSQL's restore_command
/// treats it as "end of the archive"), [`PitrError::Conflict`] to a loud failure, and
/// [`PitrError::InvalidInput`] to bad input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PitrError {
    /// The repository engine failed.
    #[error(transparent)]
    Engine(#[from] thinledger_repository::Error),
    /// A different file is already archived under this name.
    #[error(
        "WAL file `{name}` is already archived with different content (archived SHA-256 {archived}, this file {offered}); it was NOT overwritten. Two clusters may be archiving into one repository under the same --cluster name, or this server was restored without a new timeline: give each cluster its own --cluster, and check the server's timeline"
    )]
    Conflict {
        /// The file name.
        name: String,
        /// Hash of what the archive holds.
        archived: String,
        /// Hash of what was offered.
        offered: String,
    },
    /// `wal fetch` asked for a file the archive does not hold.
    #[error("WAL file `{name}` is not in the archive of cluster `{cluster}`")]
    NotInArchive {
        /// The file name.
        name: String,
        /// The cluster.
        cluster: String,
    },
    /// An archived file failed verification on the way back.
    #[error("archived WAL file `{name}` failed verification: {detail}")]
    Damaged {
        /// The file name.
        name: String,
        /// What did not match.
        detail: String,
    },
    /// A caller-supplied value breaks a rule.
    #[error("invalid {field} `{value}`: {rule}")]
    InvalidInput {
        /// The field or flag.
        field: &'static str,
        /// The value.
        value: String,
        /// The rule and the fix.
        rule: String,
    },
    /// A local file operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What we tried.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The asynchronous archiver reported a failure for this file, or did not answer in time.
    #[error("asynchronous archiving of `{name}` failed: {detail}")]
    Async {
        /// The file name.
        name: String,
        /// The worker's message.
        detail: String,
    },
    /// A PostgreSQL tool (pg_basebackup) failed.
    #[error("{tool} failed: {detail}")]
    Tool {
        /// The program.
        tool: String,
        /// Its exit status and last lines of output.
        detail: String,
    },
    /// No base backup can serve the requested recovery target.
    #[error("no base backup for cluster `{cluster}` can reach {target}: {detail}")]
    NoBaseBackup {
        /// The cluster.
        cluster: String,
        /// The recovery target.
        target: String,
        /// Why (and what is available).
        detail: String,
    },
}

impl PitrError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PitrError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Result of PITR operations.
pub type PitrResult<T> = std::result::Result<T, PitrError>;
