//! Trees: JSON directory listings, one node per entry, sorted by name.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::id::Id;

/// A directory listing as stored in a tree blob.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The entries, sorted by name.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The JSON restic hashes and stores: the object followed by a newline.
    pub(crate) fn to_blob(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// The node called `name`.
    pub fn find(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The entry names of this tree that no restore may use: names that are not a single path
    /// component (empty, `.`, `..`, with `/` or NUL) and names that appear more than once.
    /// Empty when every name is usable. restic's trees never hold such names; a crafted tree
    /// does (a symlink `x` and a directory `x` would let a restore write through the link), so
    /// `restore` refuses these entries and `check` can report them.
    ///
    /// Names are compared as bytes, so that the check is exact for any file name.
    pub fn name_problems(&self) -> Vec<NameProblem> {
        let mut seen: std::collections::HashMap<&[u8], usize> =
            std::collections::HashMap::with_capacity(self.nodes.len());
        let mut problems = Vec::new();
        for n in &self.nodes {
            let name: &[u8] = n.name.as_bytes();
            if let Some(rule) = unsafe_name_rule(name) {
                problems.push(NameProblem {
                    name: name.to_vec(),
                    kind: NameProblemKind::Unsafe(rule),
                });
                continue;
            }
            *seen.entry(name).or_default() += 1;
        }
        let mut dups: Vec<(&[u8], usize)> = seen.into_iter().filter(|(_, c)| *c > 1).collect();
        dups.sort();
        problems.extend(dups.into_iter().map(|(name, count)| NameProblem {
            name: name.to_vec(),
            kind: NameProblemKind::Duplicate(count),
        }));
        problems
    }
}

/// A name in a tree that cannot be used (see [`Tree::name_problems`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameProblem {
    /// The name, byte for byte.
    pub name: Vec<u8>,
    /// What is wrong with it.
    pub kind: NameProblemKind,
}

/// What is wrong with a name in a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameProblemKind {
    /// Not a single path component: the rule it breaks.
    Unsafe(&'static str),
    /// This many entries of one directory carry the name.
    Duplicate(usize),
}

impl std::fmt::Display for NameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = String::from_utf8_lossy(&self.name);
        match self.kind {
            NameProblemKind::Unsafe(rule) => write!(f, "unsafe entry name {name:?}: {rule}"),
            NameProblemKind::Duplicate(n) => write!(
                f,
                "{n} entries are named {name:?} in one directory (a crafted or damaged tree: none of them is restored)"
            ),
        }
    }
}

impl std::error::Error for NameProblem {}

/// Why `name` is not a single path component, if it is not.
fn unsafe_name_rule(name: &[u8]) -> Option<&'static str> {
    match name {
        b"" => Some("it is empty"),
        b"." | b".." => Some("it names a directory itself or its parent"),
        _ if name.contains(&b'/') => Some("it contains `/`"),
        _ if name.contains(&0) => Some("it contains a NUL byte"),
        _ => None,
    }
}

/// The kind of a node, as restic names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum NodeType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A block device.
    Dev,
    /// A character device.
    Chardev,
    /// A named pipe.
    Fifo,
    /// A unix socket.
    Socket,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}
fn is_zero32(v: &u32) -> bool {
    *v == 0
}

/// One directory entry. Field names and "omit when empty" rules follow restic, so that restic
/// reads these trees and this engine reads restic's (unknown fields are ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The entry's name (not a path).
    pub name: String,
    /// Its kind.
    #[serde(rename = "type")]
    pub node_type: NodeType,
    /// Go's `os.FileMode` bits (see [`go_mode_from_unix`]).
    #[serde(default, skip_serializing_if = "is_zero32")]
    pub mode: u32,
    /// Modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<DateTime<FixedOffset>>,
    /// Access time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atime: Option<DateTime<FixedOffset>>,
    /// Status change time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime: Option<DateTime<FixedOffset>>,
    /// Owner.
    #[serde(default)]
    pub uid: u32,
    /// Group.
    #[serde(default)]
    pub gid: u32,
    /// Owner's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Group's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Inode number.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inode: u64,
    /// Device the entry lives on.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub device_id: u64,
    /// File size in bytes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub size: u64,
    /// Hard link count.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub links: u64,
    /// Symlink target.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub linktarget: String,
    /// Device number of a device node.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub device: u64,
    /// Data blobs of a file, in order (`[]` for an empty file, `null` otherwise).
    pub content: Option<Vec<Id>>,
    /// Tree of a directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtree: Option<Id>,
}

impl Node {
    /// A node of `node_type` called `name` with no metadata.
    pub fn new(name: impl Into<String>, node_type: NodeType) -> Node {
        Node {
            name: name.into(),
            node_type,
            mode: 0,
            mtime: None,
            atime: None,
            ctime: None,
            uid: 0,
            gid: 0,
            user: String::new(),
            group: String::new(),
            inode: 0,
            device_id: 0,
            size: 0,
            links: 0,
            linktarget: String::new(),
            device: 0,
            content: None,
            subtree: None,
        }
    }

    /// The unix permission bits (with setuid/setgid/sticky) of [`Node::mode`].
    pub fn unix_permissions(&self) -> u32 {
        unix_permissions_from_go(self.mode)
    }
}

// Go's os.FileMode type and special bits.
const GO_DIR: u32 = 1 << 31;
const GO_SYMLINK: u32 = 1 << 27;
const GO_DEVICE: u32 = 1 << 26;
const GO_PIPE: u32 = 1 << 25;
const GO_SOCKET: u32 = 1 << 24;
const GO_SETUID: u32 = 1 << 23;
const GO_SETGID: u32 = 1 << 22;
const GO_CHARDEV: u32 = 1 << 21;
const GO_STICKY: u32 = 1 << 20;

/// Converts a unix `st_mode` to the Go `os.FileMode` bits restic stores.
pub fn go_mode_from_unix(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    if st_mode & 0o4000 != 0 {
        m |= GO_SETUID;
    }
    if st_mode & 0o2000 != 0 {
        m |= GO_SETGID;
    }
    if st_mode & 0o1000 != 0 {
        m |= GO_STICKY;
    }
    m |= match st_mode & 0o170000 {
        0o040000 => GO_DIR,
        0o120000 => GO_SYMLINK,
        0o010000 => GO_PIPE,
        0o140000 => GO_SOCKET,
        0o060000 => GO_DEVICE,
        0o020000 => GO_DEVICE | GO_CHARDEV,
        _ => 0,
    };
    m
}

/// The unix permission bits (with setuid/setgid/sticky) of a Go `os.FileMode`.
pub fn unix_permissions_from_go(go: u32) -> u32 {
    let mut m = go & 0o777;
    if go & GO_SETUID != 0 {
        m |= 0o4000;
    }
    if go & GO_SETGID != 0 {
        m |= 0o2000;
    }
    if go & GO_STICKY != 0 {
        m |= 0o1000;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Values seen in trees written by restic 0.14.
    #[rstest]
    #[case::dir_755(0o040755, 2147484141)]
    #[case::symlink_777(0o120777, 134218239)]
    #[case::fifo_644(0o010644, 33554852)]
    #[case::file_600(0o100600, 384)]
    #[case::setuid(0o104755, (1 << 23) | 0o755)]
    fn go_modes(#[case] unix: u32, #[case] go: u32) {
        assert_eq!(go_mode_from_unix(unix), go);
        assert_eq!(unix_permissions_from_go(go), unix & 0o7777);
    }

    #[rstest]
    #[case::clean(&["a", "b", "c"], &[])]
    #[case::duplicate(&["x", "y", "x"], &["x"])]
    #[case::three_times(&["x", "x", "x"], &["x"])]
    #[case::empty(&[""], &[""])]
    #[case::dot(&[".", "a"], &["."])]
    #[case::dotdot(&[".."], &[".."])]
    #[case::slash(&["a/b"], &["a/b"])]
    #[case::nul(&["a\0b"], &["a\0b"])]
    fn name_problems(#[case] names: &[&str], #[case] bad: &[&str]) {
        let tree = Tree {
            nodes: names
                .iter()
                .map(|n| Node::new(*n, NodeType::File))
                .collect(),
        };
        let problems = tree.name_problems();
        let found: Vec<&[u8]> = problems.iter().map(|p| p.name.as_slice()).collect();
        let bad: Vec<&[u8]> = bad.iter().map(|b| b.as_bytes()).collect();
        assert_eq!(found, bad, "{problems:?}");
    }

    #[test]
    fn a_duplicate_is_reported_once_with_its_count() {
        let tree = Tree {
            nodes: vec![
                Node::new("x", NodeType::Symlink),
                Node::new("x", NodeType::Dir),
            ],
        };
        let p = tree.name_problems();
        assert_eq!(
            p,
            vec![NameProblem {
                name: b"x".to_vec(),
                kind: NameProblemKind::Duplicate(2)
            }]
        );
        assert!(
            p[0].to_string().contains("2 entries are named \"x\""),
            "{}",
            p[0]
        );
    }

    #[test]
    fn reads_a_restic_tree_and_writes_restic_shapes() {
        let json = r#"{"nodes":[{"name":"empty","type":"file","mode":420,"mtime":"2026-11-22T04:51:23.327178056Z","atime":"2026-11-22T04:51:23.327178056Z","ctime":"2026-11-22T04:51:23.327178056Z","uid":0,"gid":0,"user":"root","group":"root","inode":10013111,"device_id":65024,"links":1,"content":[]},{"name":"sub","type":"dir","mode":2147484141,"uid":0,"gid":0,"content":null,"subtree":"d786c13966a0c99d086d97ebc5913efc04be1e8ec95ef82022f975f5ba52ace1","future_field":1}]}"#;
        let tree: Tree = serde_json::from_str(json).unwrap();
        assert_eq!(tree.nodes[0].content, Some(vec![]));
        assert_eq!(tree.nodes[1].node_type, NodeType::Dir);
        let out = String::from_utf8(tree.to_blob()).unwrap();
        assert!(out.ends_with("}\n"));
        assert!(out.contains(r#""content":[]"#), "{out}");
        assert!(out.contains(r#""content":null,"subtree":"d786"#), "{out}");
    }
}
