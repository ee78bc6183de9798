//! What a backup reads: restic's `--exclude`, `--iexclude`, `--exclude-file`,
//! `--exclude-caches` and `--files-from` / `--files-from-verbatim`.
//!
//! [`pattern`] holds the matcher, [`lists`] the files that list patterns or paths, and this
//! module the selection a backup applies while it walks: every entry (and every path given)
//! is tested by its absolute path; an excluded directory is not descended into.

mod lists;
mod pattern;

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;

pub use lists::{
    FilesFrom, parse_exclude_file, parse_files_from, read_exclude_file, read_files_from,
};
pub use pattern::{ExcludePatterns, PatternError};

use crate::Result;

/// The tag file of the Cache Directory Tagging Specification (`--exclude-caches`).
pub const CACHEDIR_TAG: &str = "CACHEDIR.TAG";
/// What a [`CACHEDIR_TAG`] file must start with.
pub const CACHEDIR_SIGNATURE: &str = "Signature: 8a477f597d28d172789f06886806bc55";

/// A file whose presence excludes the rest of its directory (restic's
/// `--exclude-if-present NAME[:HEADER]`); the file itself and the directory are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TagFile {
    name: String,
    /// What the file must start with; empty: presence is enough.
    header: Vec<u8>,
}

/// The selection a backup applies: built from the options, validated before the backup
/// starts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    excludes: ExcludePatterns,
    iexcludes: ExcludePatterns,
    tags: Vec<TagFile>,
}

impl Selection {
    /// Parses every pattern; the first bad one is the error.
    pub(crate) fn new(excludes: &[String], iexcludes: &[String], caches: bool) -> Result<Self> {
        let mut tags = Vec::new();
        if caches {
            tags.push(TagFile {
                name: CACHEDIR_TAG.to_string(),
                header: CACHEDIR_SIGNATURE.as_bytes().to_vec(),
            });
        }
        Ok(Selection {
            excludes: ExcludePatterns::new(excludes, false)?,
            iexcludes: ExcludePatterns::new(iexcludes, true)?,
            tags,
        })
    }

    /// Is the entry at `path` (absolute, clean) excluded by a pattern?
    pub(crate) fn excludes_path(&self, path: &Path) -> bool {
        self.iexcludes.is_excluded(path) || self.excludes.is_excluded(path)
    }

    /// The tag files that exclude the entries of `dir` (each one but itself). Blocking I/O.
    pub(crate) fn tags_in(&self, dir: &Path) -> Vec<&OsStr> {
        self.tags
            .iter()
            .filter(|t| tag_applies(dir, t))
            .map(|t| OsStr::new(t.name.as_str()))
            .collect()
    }

    /// Is the entry at `path` excluded by a tag file beside it? Blocking I/O.
    pub(crate) fn excluded_by_tag(&self, path: &Path) -> bool {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        self.tags
            .iter()
            .any(|t| name != OsStr::new(&t.name) && tag_applies(dir, t))
    }
}

/// Does `dir` hold the tag file, starting with its header? A tag that cannot be read or has
/// the wrong signature is a warning and excludes nothing, as in restic.
fn tag_applies(dir: &Path, tag: &TagFile) -> bool {
    let file = dir.join(&tag.name);
    match std::fs::symlink_metadata(&file) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "could not access exclusion tag file");
            return false;
        }
    }
    if tag.header.is_empty() {
        return true;
    }
    let mut buf = vec![0u8; tag.header.len()];
    let read = std::fs::File::open(&file).and_then(|mut f| f.read_exact(&mut buf));
    match read {
        Ok(()) if buf == tag.header => true,
        Ok(()) => {
            tracing::warn!(file = %file.display(), "invalid signature in exclusion tag file; directory kept");
            false
        }
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "could not read the signature of exclusion tag file; directory kept");
            false
        }
    }
}

/// Is `name` rejected in a directory whose applying tag files are `tags`?
pub(crate) fn rejected_by_tags(tags: &[&OsStr], name: &OsStr) -> bool {
    tags.iter().any(|t| *t != name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_directories_keep_only_their_tag() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        let bad = tmp.path().join("bad");
        let short = tmp.path().join("short");
        for d in [&cache, &bad, &short] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("data"), b"x").unwrap();
        }
        std::fs::write(
            cache.join(CACHEDIR_TAG),
            format!("{CACHEDIR_SIGNATURE}\n# made by a test\n"),
        )
        .unwrap();
        std::fs::write(bad.join(CACHEDIR_TAG), b"Signature: 0000").unwrap();
        std::fs::write(short.join(CACHEDIR_TAG), b"Signature").unwrap();
        let s = Selection::new(&[], &[], true).unwrap();
        assert!(s.excluded_by_tag(&cache.join("data")));
        assert!(!s.excluded_by_tag(&cache.join(CACHEDIR_TAG)));
        assert!(!s.excluded_by_tag(&cache));
        assert!(!s.excluded_by_tag(&bad.join("data")));
        assert!(!s.excluded_by_tag(&short.join("data")));
        let tags = s.tags_in(&cache);
        assert!(rejected_by_tags(&tags, OsStr::new("data")));
        assert!(!rejected_by_tags(&tags, OsStr::new(CACHEDIR_TAG)));
        assert!(s.tags_in(&bad).is_empty());
        let off = Selection::new(&[], &[], false).unwrap();
        assert!(!off.excluded_by_tag(&cache.join("data")));
    }

    #[test]
    fn both_lists_apply() {
        let s = Selection::new(&["*.tmp".into()], &["*.LOG".into()], false).unwrap();
        assert!(s.excludes_path(Path::new("/a/b.tmp")));
        assert!(s.excludes_path(Path::new("/a/b.log")));
        assert!(!s.excludes_path(Path::new("/a/b.TMP")));
        assert!(Selection::new(&[], &["[".into()], false).is_err());
    }
}
