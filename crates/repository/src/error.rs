//! The engine's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the backup engine.
///
/// Messages name the offending input (a path in the repository, a snapshot id, a file on disk)
/// and, where there is one, what to do about it. Passwords and keys never appear in them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store has no `config` object: nothing was initialised there.
    #[error(
        "no repository at {location}: it has no `config` file; run `init` to create one, or check the repository URL"
    )]
    NoRepository {
        /// Where we looked (a URL without secrets).
        location: String,
    },
    /// `init` found a `config` object already.
    #[error(
        "a repository already exists at {location} (its `config` file is present); open it instead, or choose an empty location"
    )]
    AlreadyInitialized {
        /// Where the repository is.
        location: String,
    },
    /// No key file opens with the password.
    #[error(
        "wrong password: none of the {keys} key file(s) of the repository opens with it; check the password file or command"
    )]
    WrongPassword {
        /// How many key files were tried.
        keys: usize,
    },
    /// The object store refused or failed an operation.
    #[error("{op} `{path}` failed: {source}{}", store_hint(source))]
    Store {
        /// What we tried (read, write, list, delete).
        op: &'static str,
        /// The object: the repository's URL (without secrets) and the path inside it.
        path: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// A local file operation failed.
    #[error("{op} {}: {source}{}", path.display(), io_hint(source))]
    Io {
        /// What we tried.
        op: &'static str,
        /// The local path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Repository content failed a check (MAC, hash, format).
    #[error("repository data is damaged or not restic-format: {what}: {detail}")]
    Corrupt {
        /// The object (e.g. `pack 1a2b3c4d`).
        what: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The repository uses something this engine does not implement.
    #[error("unsupported repository: {detail}")]
    Unsupported {
        /// What is unsupported.
        detail: String,
    },
    /// Another process holds a conflicting lock.
    #[error(
        "the repository is locked: {holder}; wait for that operation to finish, or run `unlock` if the process is gone"
    )]
    Locked {
        /// Who holds the lock.
        holder: String,
    },
    /// No snapshot matches the query.
    #[error("snapshot `{query}` not found: {detail}")]
    SnapshotNotFound {
        /// What the user asked for.
        query: String,
        /// Why it did not match.
        detail: String,
    },
    /// A path is not in a snapshot.
    #[error(
        "path `{path}` is not in snapshot {snapshot}; list the snapshot's files to find the right path"
    )]
    PathNotFound {
        /// The snapshot id (short).
        snapshot: String,
        /// The path asked for.
        path: String,
    },
    /// A file of a snapshot cannot be read (a missing or damaged blob of it).
    #[error("{path} in snapshot {snapshot}: {detail}")]
    InFile {
        /// The snapshot id (short).
        snapshot: String,
        /// The file's path in the snapshot.
        path: String,
        /// What cannot be read, and why.
        detail: String,
    },
    /// A caller-supplied value breaks a rule.
    #[error("invalid {field} `{value}`: {rule}")]
    InvalidInput {
        /// The field or flag.
        field: &'static str,
        /// The value given.
        value: String,
        /// The rule and the fix.
        rule: String,
    },
    /// The repository is immutable (an object-lock policy is recorded in it), the
    /// operation would delete objects, and the repository was opened without its store's
    /// object lock ([`Repository::with_object_lock`](crate::Repository::with_object_lock)),
    /// so it cannot tell which objects are still retained.
    #[error(
        "{operation} refused: this repository is immutable ({policy}) and was opened without a store that reads object retention; nothing was deleted. Open it through a store built with StoreBuilder::build_with_recorded_policy and pass Store::object_lock to Repository::with_object_lock (ledger-backup does), then forget and prune plan around retention"
    )]
    Retained {
        /// What was refused (`forget`, `prune`, `repair index`, `repair snapshots`, `pg forget`).
        operation: &'static str,
        /// The recorded policy, e.g. `GOVERNANCE for 1d`.
        policy: String,
    },
    /// An exclude pattern or a `--files-from` glob that cannot be parsed.
    #[error(transparent)]
    Pattern(#[from] crate::select::PatternError),
    /// A background task of the engine panicked or was cancelled.
    #[error("internal task failed: {0}")]
    Task(String),
}

fn io_hint(err: &std::io::Error) -> &'static str {
    match err.kind() {
        std::io::ErrorKind::PermissionDenied => {
            " (permission denied: run as a user that may access it, or change its permissions)"
        }
        std::io::ErrorKind::StorageFull => {
            " (the disk is full: free space or choose another target)"
        }
        std::io::ErrorKind::NotFound => " (it does not exist)",
        _ => "",
    }
}

/// The fix for a store failure whose cause is known: access refused, or a full local disk.
fn store_hint(err: &object_store::Error) -> &'static str {
    // A refused encrypted request says itself what to check.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(c) = cause {
        if let Some(thinledger_store::StoreError::EncryptionRefused { .. }) = c.downcast_ref() {
            return "";
        }
        cause = c.source();
    }
    match err {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => {
            return " (access denied: give the store's credentials or identity read and write access to the repository)";
        }
        _ => {}
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    return " (permission denied: run as a user that may read and write the repository folder, or change its permissions)";
                }
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                    return " (the disk holding the repository is full: free space, then run the backup again; `prune` removes what an interrupted backup left)";
                }
                std::io::ErrorKind::ReadOnlyFilesystem => {
                    return " (the repository folder is on a read-only file system: choose a writable location)";
                }
                _ => {}
            }
        }
        cause = c.source();
    }
    ""
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Damaged or unexpected repository content: `what` names the object, `detail` the fault.
    pub fn corrupt(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            what: what.into(),
            detail: detail.into(),
        }
    }

    /// A background task that panicked or was cancelled.
    pub fn task(err: tokio::task::JoinError) -> Self {
        Error::Task(err.to_string())
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
