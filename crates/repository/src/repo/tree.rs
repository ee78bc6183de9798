//! Trees: JSON directory listings, one node per entry, sorted by name (bytewise, as restic
//! sorts: Go compares strings byte by byte).
//!
//! Names and symlink targets are bytes ([`NodeName`], [`PathBuf`]); the JSON holds them as
//! restic does (see [`Node`]). What restic versions do, checked in restic's source
//! (`internal/restic/node.go`) and against Debian's restic 0.14:
//! - `name`: `strconv.Quote(name)` without the quotes on write, `strconv.Unquote` on read, in
//!   every restic this engine can read (restic 0.14 included). A name that does not unquote
//!   makes its tree corrupt: `load_tree` refuses it, naming the tree.
//! - `linktarget`: the target as a Go string, which Go's JSON encoder writes with U+FFFD for
//!   each byte that is not UTF-8. Since restic 0.16 (`linktarget_raw`, restic issue 3311),
//!   such a target is also written as base64 bytes, and `linktarget_raw` wins on read.

use std::borrow::Cow;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize, Serializer};

use super::goquote;
use super::id::Id;
pub use super::name::NodeName;

/// A directory listing as stored in a tree blob.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The entries, sorted by name.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The JSON restic hashes and stores: the object followed by a newline.
    pub fn to_blob(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// The node called `name` (compared as bytes: `"caf\xe9"` and `"café"` are two names).
    pub fn find<N: AsRef<[u8]> + ?Sized>(&self, name: &N) -> Option<&Node> {
        let name = name.as_ref();
        self.nodes.iter().find(|n| n.name.as_bytes() == name)
    }

    /// The entry names of this tree that no restore may use: names that are not a single path
    /// component (empty, `.`, `..`, with `/` or NUL) and names that appear more than once.
    /// Empty when every name is usable. restic's trees never hold such names; a crafted tree
    /// does (a symlink `x` and a directory `x` would let a restore write through the link), so
    /// `restore` refuses these entries and `check` can report them.
    ///
    /// Names are compared as bytes, so that the check is exact for any file name.
    pub fn name_problems(&self) -> Vec<NameProblem> {
        let mut seen: std::collections::HashMap<&NodeName, usize> =
            std::collections::HashMap::with_capacity(self.nodes.len());
        let mut problems = Vec::new();
        for n in &self.nodes {
            if let Some(rule) = n.name.unsafe_rule() {
                problems.push(NameProblem {
                    name: n.name.clone(),
                    kind: NameProblemKind::Unsafe(rule),
                });
                continue;
            }
            *seen.entry(&n.name).or_default() += 1;
        }
        let mut dups: Vec<(&NodeName, usize)> = seen.into_iter().filter(|(_, c)| *c > 1).collect();
        dups.sort();
        problems.extend(dups.into_iter().map(|(name, count)| NameProblem {
            name: name.clone(),
            kind: NameProblemKind::Duplicate(count),
        }));
        problems
    }
}

/// A name in a tree that cannot be used (see [`Tree::name_problems`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameProblem {
    /// The name, byte for byte.
    pub name: NodeName,
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
        // NodeName displays escaped (restic's form), so any name prints on one line exactly.
        let name = &self.name;
        match self.kind {
            NameProblemKind::Unsafe(rule) => write!(f, "unsafe entry name \"{name}\": {rule}"),
            NameProblemKind::Duplicate(n) => write!(
                f,
                "{n} entries are named \"{name}\" in one directory (a crafted or damaged tree: none of them is restored)"
            ),
        }
    }
}

impl std::error::Error for NameProblem {}

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
///
/// The name and the symlink target are bytes, as the file system has them. In JSON the name is
/// escaped as restic escapes it ([`NodeName`]); a symlink target that is not UTF-8 is written
/// as restic 0.16 and later write it: `linktarget` with U+FFFD for each byte that is not UTF-8
/// (what restic before 0.16 reads and restores) and `linktarget_raw` with the exact bytes
/// (base64), which restic 0.16+ and this engine restore from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "NodeJson")]
pub struct Node {
    /// The entry's name (not a path).
    pub name: NodeName,
    /// Its kind.
    pub node_type: NodeType,
    /// Go's `os.FileMode` bits (see [`go_mode_from_unix`]).
    pub mode: u32,
    /// Modification time.
    pub mtime: Option<DateTime<FixedOffset>>,
    /// Access time.
    pub atime: Option<DateTime<FixedOffset>>,
    /// Status change time.
    pub ctime: Option<DateTime<FixedOffset>>,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Owner's name.
    pub user: String,
    /// Group's name.
    pub group: String,
    /// Inode number.
    pub inode: u64,
    /// Device the entry lives on.
    pub device_id: u64,
    /// File size in bytes.
    pub size: u64,
    /// Hard link count.
    pub links: u64,
    /// Symlink target, exact bytes (empty for other kinds).
    pub linktarget: PathBuf,
    /// Device number of a device node.
    pub device: u64,
    /// Data blobs of a file, in order (`[]` for an empty file, `null` otherwise).
    pub content: Option<Vec<Id>>,
    /// Tree of a directory.
    pub subtree: Option<Id>,
}

/// Bytes as restic's JSON holds a link target: text (U+FFFD for bytes that are not UTF-8),
/// and the exact bytes in base64 only when the text had to replace some (restic 0.16's
/// `linktarget_raw`). Listings use the same rule for paths.
pub(crate) fn json_text_and_raw(bytes: &[u8]) -> (Cow<'_, str>, Option<String>) {
    let text = goquote::json_lossy(bytes);
    let raw = match text {
        Cow::Borrowed(_) => None,
        Cow::Owned(_) => Some(BASE64.encode(bytes)),
    };
    (text, raw)
}

/// Who owns an entry, as restic's JSON writes it: ids always, names when known. Flattened
/// into a tree node and into a listing entry.
#[derive(Serialize)]
pub(crate) struct OwnerJson<'a> {
    uid: u32,
    gid: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    user: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    group: &'a str,
}

impl<'a> OwnerJson<'a> {
    pub(crate) fn new(uid: u32, gid: u32, user: &'a str, group: &'a str) -> Self {
        OwnerJson {
            uid,
            gid,
            user,
            group,
        }
    }
}

/// A node as restic writes it.
#[derive(Serialize)]
struct NodeJsonOut<'a> {
    name: &'a NodeName,
    #[serde(rename = "type")]
    node_type: NodeType,
    #[serde(skip_serializing_if = "is_zero32")]
    mode: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    mtime: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    atime: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ctime: Option<DateTime<FixedOffset>>,
    #[serde(flatten)]
    owner: OwnerJson<'a>,
    #[serde(skip_serializing_if = "is_zero")]
    inode: u64,
    #[serde(skip_serializing_if = "is_zero")]
    device_id: u64,
    #[serde(skip_serializing_if = "is_zero")]
    size: u64,
    #[serde(skip_serializing_if = "is_zero")]
    links: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    linktarget: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    linktarget_raw: Option<String>,
    #[serde(skip_serializing_if = "is_zero")]
    device: u64,
    content: Option<&'a [Id]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subtree: Option<Id>,
}

/// A node as restic (any version) or this engine wrote it.
#[derive(Deserialize)]
struct NodeJson {
    name: NodeName,
    #[serde(rename = "type")]
    node_type: NodeType,
    #[serde(default)]
    mode: u32,
    #[serde(default)]
    mtime: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    atime: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    ctime: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    uid: u32,
    #[serde(default)]
    gid: u32,
    #[serde(default)]
    user: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    inode: u64,
    #[serde(default)]
    device_id: u64,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    links: u64,
    #[serde(default)]
    linktarget: String,
    #[serde(default)]
    linktarget_raw: Option<String>,
    #[serde(default)]
    device: u64,
    #[serde(default)]
    content: Option<Vec<Id>>,
    #[serde(default)]
    subtree: Option<Id>,
}

impl TryFrom<NodeJson> for Node {
    type Error = String;

    fn try_from(j: NodeJson) -> Result<Node, String> {
        // As restic: the raw bytes, when present, are the target; `linktarget` is only their
        // lossy text for older readers.
        let target = match j.linktarget_raw {
            Some(raw) => BASE64
                .decode(raw.as_bytes())
                .map_err(|e| format!("entry {:?}: linktarget_raw is not base64 ({e})", j.name))?,
            None => j.linktarget.into_bytes(),
        };
        Ok(Node {
            name: j.name,
            node_type: j.node_type,
            mode: j.mode,
            mtime: j.mtime,
            atime: j.atime,
            ctime: j.ctime,
            uid: j.uid,
            gid: j.gid,
            user: j.user,
            group: j.group,
            inode: j.inode,
            device_id: j.device_id,
            size: j.size,
            links: j.links,
            linktarget: PathBuf::from(OsString::from_vec(target)),
            device: j.device,
            content: j.content,
            subtree: j.subtree,
        })
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (linktarget, linktarget_raw) =
            json_text_and_raw(self.linktarget.as_os_str().as_bytes());
        NodeJsonOut {
            name: &self.name,
            node_type: self.node_type,
            mode: self.mode,
            mtime: self.mtime,
            atime: self.atime,
            ctime: self.ctime,
            owner: OwnerJson::new(self.uid, self.gid, &self.user, &self.group),
            inode: self.inode,
            device_id: self.device_id,
            size: self.size,
            links: self.links,
            linktarget,
            linktarget_raw,
            device: self.device,
            content: self.content.as_deref(),
            subtree: self.subtree,
        }
        .serialize(s)
    }
}

impl Node {
    /// A node of `node_type` called `name` with no metadata.
    pub fn new(name: impl Into<NodeName>, node_type: NodeType) -> Node {
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
            linktarget: PathBuf::new(),
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
        let found: Vec<&[u8]> = problems.iter().map(|p| p.name.as_bytes()).collect();
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
                name: NodeName::from("x"),
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
        // Byte for byte in restic's field order (a tree's id is the hash of these bytes).
        assert_eq!(
            out,
            concat!(
                r#"{"nodes":[{"name":"empty","type":"file","mode":420,"mtime":"2026-11-22T04:51:23.327178056Z","atime":"2026-11-22T04:51:23.327178056Z","ctime":"2026-11-22T04:51:23.327178056Z","uid":0,"gid":0,"user":"root","group":"root","inode":10013111,"device_id":65024,"links":1,"content":[]},"#,
                r#"{"name":"sub","type":"dir","mode":2147484141,"uid":0,"gid":0,"content":null,"subtree":"d786c13966a0c99d086d97ebc5913efc04be1e8ec95ef82022f975f5ba52ace1"}]}"#,
                "\n"
            )
        );
    }

    #[test]
    fn names_and_link_targets_keep_their_bytes() {
        // As restic 0.14 wrote them (`restic cat blob`), and a `linktarget_raw` of restic 0.16+.
        let json = r#"{"nodes":[{"name":"caf\\xe9.txt","type":"file","uid":0,"gid":0,"content":[]},{"name":"q\\\"q\\n","type":"file","uid":0,"gid":0,"content":[]},{"name":"link","type":"symlink","uid":0,"gid":0,"linktarget":"tgt\ufffd","linktarget_raw":"dGd0/w==","content":null},{"name":"old","type":"symlink","uid":0,"gid":0,"linktarget":"tgt\ufffd","content":null}]}"#;
        let tree: Tree = serde_json::from_str(json).unwrap();
        assert_eq!(tree.nodes[0].name, b"caf\xe9.txt"[..]);
        assert_eq!(tree.nodes[1].name, "q\"q\n");
        assert_eq!(tree.nodes[2].linktarget.as_os_str().as_bytes(), b"tgt\xff");
        assert_eq!(
            tree.nodes[3].linktarget.as_os_str().as_bytes(),
            "tgt\u{fffd}".as_bytes()
        );
        assert!(tree.find(b"caf\xe9.txt".as_slice()).is_some());
        assert!(tree.find("caf\u{e9}.txt").is_none());
        let out = String::from_utf8(tree.to_blob()).unwrap();
        assert!(out.contains(r#""name":"caf\\xe9.txt""#), "{out}");
        assert!(
            out.contains("\"linktarget\":\"tgt\u{fffd}\",\"linktarget_raw\":\"dGd0/w==\""),
            "{out}"
        );
        // A UTF-8 target gets no raw twin, as with restic.
        assert_eq!(out.matches("linktarget_raw").count(), 1, "{out}");
        assert_eq!(serde_json::from_str::<Tree>(&out).unwrap(), tree);
    }

    #[rstest]
    #[case::unknown_escape(
        r#"{"nodes":[{"name":"a\\qb","type":"file","content":[]}]}"#,
        "unknown escape"
    )]
    #[case::raw_quote(
        r#"{"nodes":[{"name":"a\"b","type":"file","content":[]}]}"#,
        "unescaped"
    )]
    #[case::bad_raw_target(
        r#"{"nodes":[{"name":"l","type":"symlink","linktarget_raw":"%%","content":null}]}"#,
        "linktarget_raw"
    )]
    fn a_name_that_does_not_unquote_is_refused(#[case] json: &str, #[case] why: &str) {
        let e = serde_json::from_str::<Tree>(json).unwrap_err().to_string();
        assert!(e.contains(why), "{e}");
    }
}
