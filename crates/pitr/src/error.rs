//! Errors of WAL archiving and point-in-time recovery.

use std::path::PathBuf;

/// What can go wrong archiving WAL, taking base backups and restoring to a point in time.
///
/// The CLI maps [`PitrError::NotInArchive`] to a plain failure (PostgreSQL's restore_command
/// treats it as "end of the archive"), [`PitrError::Conflict`] to a loud failure, and an
/// input error ([`PitrError::is_input_error`]) to bad input.
///
/// A caller-supplied value that breaks a rule (a WAL file name, a segment size, a label, a
/// recovery target, a non-empty target directory) is the engine's own
/// [`thinledger_repository::Error::InvalidInput`] (naming the field, the value, the rule and
/// the fix) inside [`PitrError::Engine`]: one invalid-input error for the whole engine.
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
    /// Whether the caller's input was refused (the engine's `InvalidInput`), rather than the
    /// archive, the repository or a tool failing.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            PitrError::Engine(thinledger_repository::Error::InvalidInput { .. })
        )
    }

    /// A caller-supplied `value` of `field` breaks `rule` (which says the fix).
    pub(crate) fn invalid(
        field: &'static str,
        value: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        PitrError::Engine(thinledger_repository::Error::InvalidInput {
            field,
            value: value.into(),
            rule: rule.into(),
        })
    }

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
