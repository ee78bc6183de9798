//! Where each path given to a backup goes in the snapshot's tree, as restic places it.
//!
//! An absolute path keeps all its components (`/srv/data` → `/srv/data`). A relative path is
//! cleaned and loses its leading `..` (`data` → `/data`, `../exports/x` → `/exports/x`), and a
//! path that cleans to nothing (`.`, `..`) contributes its directory's entries at the root.
//! The snapshot's `paths` are always absolute, so parent selection and `--path` filters work
//! the same however the paths were written.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::repo::tree::NodeName;
use crate::{Error, Result};

/// A path to back up: read from `fs`, stored under `tree` (components from the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BackupTarget {
    pub fs: PathBuf,
    pub tree: Vec<NodeName>,
}

/// The tree of targets: a name is either a target itself or a directory leading to targets.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TargetNode {
    /// Back up this file system path under the name.
    Path(PathBuf),
    /// A directory (metadata from this file system path) holding further targets.
    Within(PathBuf, BTreeMap<NodeName, TargetNode>),
}

/// The tree components of a path as given (see the module docs).
pub(crate) fn tree_components(given: &Path) -> Vec<NodeName> {
    let mut out: Vec<NodeName> = Vec::new();
    for c in given.components() {
        match c {
            Component::Normal(n) => out.push(NodeName::from(n)),
            Component::ParentDir => {
                // Inside the path (`a/../b`) it cancels a name; leading ones are dropped.
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Resolves the given paths (`abs` is each one made absolute) into targets. A relative path
/// that cleans to nothing is replaced by its directory's entries.
pub(crate) fn resolve(given: &[(PathBuf, PathBuf)]) -> Result<Vec<BackupTarget>> {
    let mut out = Vec::new();
    for (as_given, abs) in given {
        let tree = tree_components(as_given);
        if !tree.is_empty() || as_given.is_absolute() {
            out.push(BackupTarget {
                fs: abs.clone(),
                tree,
            });
            continue;
        }
        let entries = std::fs::read_dir(abs)
            .map_err(|e| Error::io("listing", abs.display().to_string(), e))?;
        for e in entries {
            let e = e.map_err(|e| Error::io("listing", abs.display().to_string(), e))?;
            out.push(BackupTarget {
                fs: e.path(),
                tree: vec![NodeName::from(e.file_name())],
            });
        }
    }
    Ok(out)
}

/// Builds the target tree. Shorter paths go first, so a path inside another target is covered
/// by it; two targets under one name keep the first.
pub(crate) fn build(mut targets: Vec<BackupTarget>) -> BTreeMap<NodeName, TargetNode> {
    targets.sort_by(|a, b| a.tree.len().cmp(&b.tree.len()).then(a.tree.cmp(&b.tree)));
    let mut root = BTreeMap::new();
    for t in &targets {
        if !covered(&root, &t.tree) {
            insert(&mut root, &t.tree, &t.fs);
        }
    }
    root
}

fn covered(map: &BTreeMap<NodeName, TargetNode>, comps: &[NodeName]) -> bool {
    let Some((first, rest)) = comps.split_first() else {
        return false;
    };
    match map.get(first) {
        Some(TargetNode::Path(_)) => true,
        Some(TargetNode::Within(_, m)) => covered(m, rest),
        None => false,
    }
}

fn insert(map: &mut BTreeMap<NodeName, TargetNode>, comps: &[NodeName], fs: &Path) {
    let Some((first, rest)) = comps.split_first() else {
        return;
    };
    if rest.is_empty() {
        map.insert(first.clone(), TargetNode::Path(fs.to_path_buf()));
        return;
    }
    // The directory standing for `first` is the target's ancestor as many levels up as
    // names follow it.
    let dir = fs
        .ancestors()
        .nth(rest.len())
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let e = map
        .entry(first.clone())
        .or_insert_with(|| TargetNode::Within(dir, BTreeMap::new()));
    if let TargetNode::Within(_, m) = e {
        insert(m, rest, fs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(fs: &str, tree: &[&str]) -> BackupTarget {
        BackupTarget {
            fs: PathBuf::from(fs),
            tree: tree.iter().map(|s| NodeName::from(*s)).collect(),
        }
    }

    #[test]
    fn relative_paths_keep_their_cleaned_names() {
        assert_eq!(tree_components(Path::new("/srv/data")), ["srv", "data"]);
        assert_eq!(tree_components(Path::new("data")), ["data"]);
        assert_eq!(tree_components(Path::new("./a/b/")), ["a", "b"]);
        assert_eq!(tree_components(Path::new("../../top")), ["top"]);
        assert_eq!(tree_components(Path::new("a/../b")), ["b"]);
        assert!(tree_components(Path::new(".")).is_empty());
        assert!(tree_components(Path::new("..")).is_empty());
    }

    #[test]
    fn intermediate_directories_come_from_the_targets_ancestors() {
        let root = build(vec![
            t("/home/u/work/a/sub", &["a", "sub"]),
            t("/home/u/top", &["top"]),
            t("/home/u/work/a/sub/inner", &["a", "sub", "inner"]),
        ]);
        assert_eq!(
            root.get(b"top".as_slice()),
            Some(&TargetNode::Path(PathBuf::from("/home/u/top")))
        );
        let Some(TargetNode::Within(dir, m)) = root.get(b"a".as_slice()) else {
            panic!("{root:?}")
        };
        assert_eq!(dir, Path::new("/home/u/work/a"));
        // `a/sub/inner` is inside the target `a/sub`.
        assert_eq!(
            m.get(b"sub".as_slice()),
            Some(&TargetNode::Path(PathBuf::from("/home/u/work/a/sub")))
        );
    }

    #[test]
    fn a_directory_that_cleans_to_nothing_gives_its_entries() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("d")).unwrap();
        std::fs::write(tmp.path().join("f"), b"x").unwrap();
        let mut got = resolve(&[(PathBuf::from("."), tmp.path().to_path_buf())]).unwrap();
        got.sort_by(|a, b| a.tree.cmp(&b.tree));
        assert_eq!(
            got,
            vec![
                BackupTarget {
                    fs: tmp.path().join("d"),
                    tree: vec![NodeName::from("d")]
                },
                BackupTarget {
                    fs: tmp.path().join("f"),
                    tree: vec![NodeName::from("f")]
                },
            ]
        );
    }
}
