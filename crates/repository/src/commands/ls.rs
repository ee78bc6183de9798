//! Listing what a snapshot holds (`ls SNAPSHOT[:PATH]`): every entry under a path, parents
//! before children, names in tree order, without restoring anything.
//!
//! Entries are handed to a callback as the trees are read, so a listing of millions of files
//! never sits in memory at once; only the trees on the way down to the current entry are kept.
//!
//! Paths and symlink targets are exact bytes. For people they are shown escaped
//! ([`LsEntry::display_path`]); in JSON they are text, with a `*_raw` twin holding the exact
//! bytes (base64) when they are not UTF-8 — restic's own `linktarget`/`linktarget_raw` rule.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use serde::{Serialize, Serializer};

use crate::commands::restore::resolve_path;
use crate::repo::Repository;
use crate::repo::goquote;
use crate::repo::snapshot::SnapshotEntry;
use crate::repo::tree::{Node, NodeName, NodeType, OwnerJson, Tree, json_text_and_raw};
use crate::{Error, Result};

/// One entry of a snapshot listing.
///
/// In JSON: `path` and `link_target` are text (bytes that are not UTF-8 become U+FFFD);
/// `path_raw` and `link_target_raw` (base64 of the exact bytes) are present only when they
/// are not UTF-8, so the listing is lossless either way.
#[derive(Debug, Clone, PartialEq)]
pub struct LsEntry {
    /// Absolute path inside the snapshot (`/srv/db/base.tar`), exact bytes.
    pub path: PathBuf,
    /// File, directory, symlink, …
    pub node_type: NodeType,
    /// Size in bytes (files only; 0 otherwise).
    pub size: u64,
    /// Unix permission bits, with setuid/setgid/sticky (e.g. `0o644` = 420).
    pub mode: u32,
    /// Modification time.
    pub mtime: Option<DateTime<FixedOffset>>,
    /// Owner's uid.
    pub uid: u32,
    /// Owner's gid.
    pub gid: u32,
    /// Owner's name, when recorded.
    pub user: String,
    /// Group's name, when recorded.
    pub group: String,
    /// Where a symlink points, exact bytes (empty for other kinds).
    pub link_target: PathBuf,
}

/// An entry as JSON (see [`LsEntry`]).
#[derive(Serialize)]
struct LsEntryJson<'a> {
    path: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_raw: Option<String>,
    #[serde(rename = "type")]
    node_type: NodeType,
    size: u64,
    mode: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    mtime: Option<DateTime<FixedOffset>>,
    #[serde(flatten)]
    owner: OwnerJson<'a>,
    #[serde(skip_serializing_if = "str::is_empty")]
    link_target: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link_target_raw: Option<String>,
}

impl Serialize for LsEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (path, path_raw) = json_text_and_raw(self.path.as_os_str().as_bytes());
        let (link_target, link_target_raw) =
            json_text_and_raw(self.link_target.as_os_str().as_bytes());
        LsEntryJson {
            path,
            path_raw,
            node_type: self.node_type,
            size: self.size,
            mode: self.mode,
            mtime: self.mtime,
            owner: OwnerJson::new(self.uid, self.gid, &self.user, &self.group),
            link_target,
            link_target_raw,
        }
        .serialize(s)
    }
}

/// A path shown unambiguously on one line: each name escaped as restic stores it
/// (`/data/caf\xe9.txt`, `/data/nl\nx`, `/data/a\\b`).
pub fn display_path(p: &Path) -> String {
    let bytes = p.as_os_str().as_bytes();
    if bytes.is_empty() {
        return String::new();
    }
    bytes
        .split(|b| *b == b'/')
        .map(goquote::quote)
        .collect::<Vec<_>>()
        .join("/")
}

impl LsEntry {
    /// [`LsEntry::path`] for people: each name escaped as restic stores it
    /// (`/data/caf\xe9.txt`, `/data/nl\nx`, `/data/a\\b`), so the path is unambiguous on one line.
    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }

    /// [`LsEntry::link_target`] for people, escaped as [`LsEntry::display_path`] escapes.
    pub fn display_link_target(&self) -> String {
        display_path(&self.link_target)
    }

    fn new(path: PathBuf, n: &Node) -> LsEntry {
        LsEntry {
            path,
            node_type: n.node_type,
            size: if n.node_type == NodeType::File {
                n.size
            } else {
                0
            },
            mode: n.unix_permissions(),
            mtime: n.mtime,
            uid: n.uid,
            gid: n.gid,
            user: n.user.clone(),
            group: n.group.clone(),
            link_target: n.linktarget.clone(),
        }
    }

    /// `ls -l`-style permissions, e.g. `drwxr-x---`.
    pub fn mode_string(&self) -> String {
        let kind = match self.node_type {
            NodeType::Dir => 'd',
            NodeType::Symlink => 'l',
            NodeType::Dev => 'b',
            NodeType::Chardev => 'c',
            NodeType::Fifo => 'p',
            NodeType::Socket => 's',
            _ => '-',
        };
        let mut s = String::with_capacity(10);
        s.push(kind);
        for (shift, special, special_char) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')]
        {
            let bits = (self.mode >> shift) & 0o7;
            s.push(if bits & 4 != 0 { 'r' } else { '-' });
            s.push(if bits & 2 != 0 { 'w' } else { '-' });
            let exec = bits & 1 != 0;
            s.push(match (self.mode & special != 0, exec) {
                (true, true) => special_char,
                (true, false) => special_char.to_ascii_uppercase(),
                (false, true) => 'x',
                (false, false) => '-',
            });
        }
        s
    }
}

fn join(parent: &Path, name: &NodeName) -> PathBuf {
    let mut p = parent.as_os_str().as_bytes().to_vec();
    if !p.ends_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(name.as_bytes());
    PathBuf::from(OsString::from_vec(p))
}

/// Calls `each` for every entry at and under `subpath` of `snap` (`""` or `/` for the whole
/// snapshot), parents first. Returns how many entries were listed.
pub async fn ls(
    repo: &Repository,
    snap: &SnapshotEntry,
    subpath: &str,
    mut each: impl FnMut(LsEntry) -> Result<()>,
) -> Result<u64> {
    repo.load_index().await?;
    let mut count = 0u64;
    // The directories on the way down: (path, listing, next entry). Only these trees are held.
    let mut stack: Vec<(PathBuf, Tree, usize)> = Vec::new();
    let root = match resolve_path(repo, snap, subpath).await? {
        None => Some((PathBuf::from("/"), snap.snapshot.tree)),
        Some(node) => {
            let clean: Vec<&str> = subpath
                .split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .collect();
            let path = PathBuf::from(format!("/{}", clean.join("/")));
            let sub = match (node.node_type, node.subtree) {
                (NodeType::Dir, Some(t)) => Some((path.clone(), t)),
                _ => None,
            };
            each(LsEntry::new(path, &node))?;
            count += 1;
            sub
        }
    };
    if let Some((path, tree_id)) = root {
        stack.push((path, repo.load_tree(&tree_id).await?, 0));
    }
    while let Some((dir, tree, next)) = stack.last_mut() {
        let Some(n) = tree.nodes.get(*next) else {
            stack.pop();
            continue;
        };
        *next += 1;
        if !n.name.is_plain() {
            return Err(Error::corrupt(
                format!("directory {}", display_path(dir)),
                format!("unsafe entry name {:?}", n.name),
            ));
        }
        let path = join(dir, &n.name);
        let sub = match (n.node_type, n.subtree) {
            (NodeType::Dir, Some(t)) => Some(t),
            (NodeType::Dir, None) => {
                return Err(Error::corrupt(
                    format!("directory {}", display_path(&path)),
                    "it has no subtree",
                ));
            }
            _ => None,
        };
        each(LsEntry::new(path.clone(), n))?;
        count += 1;
        if let Some(t) = sub {
            let tree = repo.load_tree(&t).await?;
            stack.push((path, tree, 0));
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rstest::rstest]
    #[case(NodeType::Dir, 0o750, "drwxr-x---")]
    #[case(NodeType::File, 0o644, "-rw-r--r--")]
    #[case(NodeType::File, 0o4755, "-rwsr-xr-x")]
    #[case(NodeType::Dir, 0o1777, "drwxrwxrwt")]
    #[case(NodeType::Symlink, 0o777, "lrwxrwxrwx")]
    #[case(NodeType::File, 0o2640, "-rw-r-S---")]
    fn mode_strings(#[case] t: NodeType, #[case] mode: u32, #[case] want: &str) {
        let mut n = Node::new("x", t);
        n.mode = mode;
        let e = LsEntry {
            mode,
            ..LsEntry::new("/x".into(), &n)
        };
        assert_eq!(e.mode_string(), want);
    }
}
