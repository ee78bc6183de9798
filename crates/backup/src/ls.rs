//! Listing what a snapshot holds (`ls SNAPSHOT[:PATH]`): every entry under a path, parents
//! before children, names in tree order, without restoring anything.
//!
//! Entries are handed to a callback as the trees are read, so a listing of millions of files
//! never sits in memory at once; only the trees on the way down to the current entry are kept.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::repo::Repository;
use crate::repo::snapshot::SnapshotEntry;
use crate::repo::tree::{Node, NodeType, Tree};
use crate::restorer::resolve_path;
use crate::{Error, Result};

/// One entry of a snapshot listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LsEntry {
    /// Absolute path inside the snapshot (`/srv/db/base.tar`).
    pub path: String,
    /// File, directory, symlink, …
    #[serde(rename = "type")]
    pub node_type: NodeType,
    /// Size in bytes (files only; 0 otherwise).
    pub size: u64,
    /// Unix permission bits, with setuid/setgid/sticky (e.g. `0o644` = 420).
    pub mode: u32,
    /// Modification time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtime: Option<DateTime<FixedOffset>>,
    /// Owner's uid.
    pub uid: u32,
    /// Owner's gid.
    pub gid: u32,
    /// Owner's name, when recorded.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Group's name, when recorded.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Where a symlink points.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub link_target: String,
}

impl LsEntry {
    fn new(path: String, n: &Node) -> LsEntry {
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

fn join(parent: &str, name: &str) -> String {
    if parent.ends_with('/') {
        format!("{parent}{name}")
    } else {
        format!("{parent}/{name}")
    }
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
    let mut stack: Vec<(String, Tree, usize)> = Vec::new();
    let root = match resolve_path(repo, snap, subpath).await? {
        None => Some(("/".to_string(), snap.snapshot.tree)),
        Some(node) => {
            let clean: Vec<&str> = subpath
                .split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .collect();
            let path = format!("/{}", clean.join("/"));
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
        if n.name.is_empty() || n.name.contains('/') || n.name == "." || n.name == ".." {
            return Err(Error::corrupt(
                format!("directory {dir}"),
                format!("unsafe entry name {:?}", n.name),
            ));
        }
        let path = join(dir, &n.name);
        let sub = match (n.node_type, n.subtree) {
            (NodeType::Dir, Some(t)) => Some(t),
            (NodeType::Dir, None) => {
                return Err(Error::corrupt(
                    format!("directory {path}"),
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
