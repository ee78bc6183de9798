//! Entry names exactly as the file system gives them: bytes, not text.
//!
//! A unix file name is any bytes but `/` and NUL; it need not be UTF-8 (`caf\xe9.txt` from a
//! Latin-1 system). [`NodeName`] keeps those bytes, so two names that differ only in bytes that
//! are not UTF-8 (`\xff\xfd`, `\xff\xfe`) stay two entries, and a restore recreates the very
//! name that was backed up. In a tree it is stored as restic stores it (see
//! [`super::goquote`]).

use std::borrow::{Borrow, Cow};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::goquote::{self, UnquoteError};

/// The name of a directory entry (not a path): its exact bytes.
///
/// Ordered by bytes, as restic sorts a tree's nodes (Go compares strings bytewise). Shown
/// ([`Display`](fmt::Display)) escaped as restic stores it, so every name prints on one line
/// and two different names never print alike: `caf\xe9.txt`, `a\\b`, `nl\nx`.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeName(Vec<u8>);

impl NodeName {
    /// A name of these bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> NodeName {
        NodeName(bytes.into())
    }

    /// The name as restic stores it in a tree (Go's `strconv.Quote` without the quotes).
    pub fn escaped(&self) -> String {
        goquote::quote(&self.0)
    }

    /// The name restic stored as `escaped` in a tree.
    pub fn from_escaped(escaped: &str) -> Result<NodeName, UnquoteError> {
        goquote::unquote(escaped).map(NodeName)
    }

    /// The exact bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name as the operating system takes it.
    pub fn as_os_str(&self) -> &OsStr {
        OsStr::from_bytes(&self.0)
    }

    /// The name as a (one-component) path, for `dir.join(name)`.
    pub fn as_path(&self) -> &Path {
        Path::new(self.as_os_str())
    }

    /// The name as text, when it is UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The name as text, bytes that are not UTF-8 replaced by U+FFFD (for display only: two
    /// names can look alike this way; [`Display`](fmt::Display) never does that).
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// The bytes, taken out.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// Whether the name is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the name is one plain path component: not empty, not `.` or `..`, without `/`
    /// or NUL. Anything else in a tree is damage or a crafted repository, never a file name.
    pub fn is_plain(&self) -> bool {
        self.unsafe_rule().is_none()
    }

    /// Why the name is not one plain path component (see [`NodeName::is_plain`]), if it is not.
    pub fn unsafe_rule(&self) -> Option<&'static str> {
        match self.0.as_slice() {
            b"" => Some("it is empty"),
            b"." | b".." => Some("it names a directory itself or its parent"),
            n if n.contains(&b'/') => Some("it contains `/`"),
            n if n.contains(&0) => Some("it contains a NUL byte"),
            _ => None,
        }
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.escaped())
    }
}

impl fmt::Debug for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.escaped())
    }
}

impl AsRef<[u8]> for NodeName {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<OsStr> for NodeName {
    fn as_ref(&self) -> &OsStr {
        self.as_os_str()
    }
}

impl AsRef<Path> for NodeName {
    fn as_ref(&self) -> &Path {
        self.as_path()
    }
}

impl Borrow<[u8]> for NodeName {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<str> for NodeName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for NodeName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<[u8]> for NodeName {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl PartialEq<OsStr> for NodeName {
    fn eq(&self, other: &OsStr) -> bool {
        self.0 == other.as_bytes()
    }
}

impl From<&str> for NodeName {
    fn from(s: &str) -> NodeName {
        NodeName(s.as_bytes().to_vec())
    }
}

impl From<String> for NodeName {
    fn from(s: String) -> NodeName {
        NodeName(s.into_bytes())
    }
}

impl From<&[u8]> for NodeName {
    fn from(b: &[u8]) -> NodeName {
        NodeName(b.to_vec())
    }
}

impl From<Vec<u8>> for NodeName {
    fn from(b: Vec<u8>) -> NodeName {
        NodeName(b)
    }
}

impl From<&OsStr> for NodeName {
    fn from(s: &OsStr) -> NodeName {
        NodeName(s.as_bytes().to_vec())
    }
}

impl From<OsString> for NodeName {
    fn from(s: OsString) -> NodeName {
        NodeName(s.into_vec())
    }
}

impl Serialize for NodeName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.escaped())
    }
}

impl<'de> Deserialize<'de> for NodeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<NodeName, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        NodeName::from_escaped(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "entry name {text:?} is not in restic's escaped form (Go's strconv.Quote): {e}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_lossy_text_would_merge_stay_apart() {
        let a = NodeName::new(b"\xff\xfd".to_vec());
        let b = NodeName::new(b"\xff\xfe".to_vec());
        assert_eq!(a.to_string_lossy(), b.to_string_lossy());
        assert_ne!(a, b);
        assert_ne!(a.to_string(), b.to_string());
        assert!(a < b);
    }

    #[test]
    fn serde_uses_restics_escaped_form() {
        let n = NodeName::new(b"caf\xe9 \"x\"\n".to_vec());
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, r#""caf\\xe9 \\\"x\\\"\\n""#);
        assert_eq!(serde_json::from_str::<NodeName>(&json).unwrap(), n);
        let e = serde_json::from_str::<NodeName>(r#""bad\\q""#).unwrap_err();
        assert!(e.to_string().contains("unknown escape"), "{e}");
    }

    #[test]
    fn orders_by_bytes_like_go() {
        let mut v: Vec<NodeName> = ["é", "z", "\u{80}", "Z", "a\\b"]
            .into_iter()
            .map(NodeName::from)
            .collect();
        v.push(NodeName::new(b"\xff".to_vec()));
        v.sort();
        let got: Vec<&[u8]> = v.iter().map(NodeName::as_bytes).collect();
        assert_eq!(
            got,
            [
                &b"Z"[..],
                b"a\\b",
                b"z",
                "\u{80}".as_bytes(),
                "é".as_bytes(),
                b"\xff"
            ]
        );
    }

    #[rstest::rstest]
    #[case(b"f", true)]
    #[case(b"\xff", true)]
    #[case(b"", false)]
    #[case(b".", false)]
    #[case(b"..", false)]
    #[case(b"...", true)]
    #[case(b"a/b", false)]
    #[case(b"a\0b", false)]
    fn plain_components(#[case] raw: &[u8], #[case] plain: bool) {
        assert_eq!(NodeName::from(raw).is_plain(), plain);
    }
}
