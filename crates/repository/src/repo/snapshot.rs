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

/// Which snapshots `latest` and listings consider, like restic's `--host`, `--path` and
/// `--tag`. An empty filter matches every snapshot: `SnapshotFilter::default()` and the
/// `with_*` setters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotFilter {
    /// The snapshot was made on one of these hosts.
    pub hosts: Vec<String>,
    /// The snapshot's paths include every one of these (absolute, as stored).
    pub paths: Vec<String>,
    /// The snapshot carries every tag of at least one of these lists.
    pub tags: Vec<Vec<String>>,
}

impl SnapshotFilter {
    /// Adds a host the snapshot may have been made on (any of them passes).
    #[must_use]
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }

    /// Adds a list of tags the snapshot may carry (all of one list passes).
    #[must_use]
    pub fn with_tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tags.push(tags.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a path the snapshots must include: `path` made absolute against the current
    /// directory, `.` and `..` resolved by name, the form backups record their paths in.
    pub fn with_path(mut self, path: &std::path::Path) -> crate::Result<Self> {
        let abs = crate::commands::backup::absolute(path)?;
        self.paths.push(abs.display().to_string());
        Ok(self)
    }

    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.paths.is_empty() && self.tags.is_empty()
    }

    /// Whether `s` passes the filter.
    pub fn matches(&self, s: &Snapshot) -> bool {
        (self.hosts.is_empty() || self.hosts.contains(&s.hostname))
            && self.paths.iter().all(|p| s.paths.iter().any(|q| q == p))
            && (self.tags.is_empty()
                || self
                    .tags
                    .iter()
                    .any(|list| list.iter().all(|t| s.tags.contains(t))))
    }

    /// The filter in words, for messages (`host ledger-a, tag daily`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.hosts.is_empty() {
            parts.push(format!("host {}", self.hosts.join(" or ")));
        }
        for p in &self.paths {
            parts.push(format!("path {p}"));
        }
        if !self.tags.is_empty() {
            let lists: Vec<String> = self.tags.iter().map(|l| l.join(",")).collect();
            parts.push(format!("tags {}", lists.join(" or ")));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_paths_are_absolute_and_resolved_by_name() {
        let f = SnapshotFilter::default()
            .with_path(std::path::Path::new("/srv/./data/../ledger/"))
            .unwrap()
            .with_path(std::path::Path::new("exports"))
            .unwrap();
        assert_eq!(f.paths[0], "/srv/ledger");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(f.paths[1], cwd.join("exports").display().to_string());
    }

    fn snap(host: &str, paths: &[&str], tags: &[&str]) -> Snapshot {
        serde_json::from_value(serde_json::json!({
            "time": "2026-01-02T03:04:05Z",
            "tree": "00".repeat(32),
            "paths": paths,
            "hostname": host,
            "tags": tags,
        }))
        .unwrap()
    }

    fn filter(hosts: &[&str], paths: &[&str], tags: &[&[&str]]) -> SnapshotFilter {
        SnapshotFilter {
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            paths: paths.iter().map(|s| s.to_string()).collect(),
            tags: tags
                .iter()
                .map(|l| l.iter().map(|s| s.to_string()).collect())
                .collect(),
        }
    }

    #[rstest::rstest]
    #[case::empty(filter(&[], &[], &[]), true)]
    #[case::host(filter(&["a"], &[], &[]), true)]
    #[case::other_host(filter(&["b"], &[], &[]), false)]
    #[case::any_host(filter(&["b", "a"], &[], &[]), true)]
    #[case::one_path(filter(&[], &["/srv"], &[]), true)]
    #[case::all_paths(filter(&[], &["/srv", "/etc"], &[]), true)]
    #[case::missing_path(filter(&[], &["/srv", "/var"], &[]), false)]
    #[case::tag(filter(&[], &[], &[&["daily"]]), true)]
    #[case::tag_list_is_and(filter(&[], &[], &[&["daily", "weekly"]]), false)]
    #[case::tag_lists_are_or(filter(&[], &[], &[&["weekly"], &["daily", "db"]]), true)]
    #[case::all_three(filter(&["a"], &["/etc"], &[&["db"]]), true)]
    fn filter_rules(#[case] f: SnapshotFilter, #[case] want: bool) {
        let s = snap("a", &["/etc", "/srv"], &["daily", "db"]);
        assert_eq!(f.matches(&s), want, "{}", f.describe());
    }
}
