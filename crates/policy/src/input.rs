//! Input documents: Terraform plans, Kubernetes manifests and tenant files, read from files and
//! directories into the shape `conftest --combine` gives policies.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::PolicyError;
use crate::shape::{ShapeProblem, check_document};

/// The largest file read, as input or policy: 256 MiB. A `terraform show -json` plan of
/// 20,000 changes is about 12 MiB; a larger file is refused ([`PolicyError::TooLarge`]) rather
/// than read into memory.
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// One input file and the documents in it (several for multi-document YAML).
#[derive(Debug, Clone, PartialEq)]
pub struct InputFile {
    /// The path as given (or joined from a directory given), shown in findings.
    pub path: String,
    /// The file's documents, in order; empty YAML documents are left out.
    pub documents: Vec<Value>,
}

/// Every input of one check. All of it is evaluated together, so rules can relate objects
/// from different files (a StatefulSet and its PodDisruptionBudget, a manifest and the tenant
/// file saying it is production).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputSet {
    files: Vec<InputFile>,
}

impl InputSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads files and directories. A directory is searched recursively for `.json`, `.yaml`
    /// and `.yml` files (hidden entries skipped), in name order. A `.json` file is read as
    /// JSON, anything else as (multi-document) YAML.
    ///
    /// Only regular files are read, each at most [`MAX_INPUT_BYTES`]. Symbolic links found in
    /// a directory are followed only when they lead inside one of the directories given (each
    /// directory and file is then read once, so a link loop ends); a link leading elsewhere is
    /// an error. Paths given are followed wherever they lead. Every document must be one the
    /// policies recognise (see [`PolicyError::UnrecognisedDocument`] and
    /// [`PolicyError::MalformedDocument`]).
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Self, PolicyError> {
        let roots = paths
            .iter()
            .filter_map(|p| fs::canonicalize(p).ok().filter(|c| c.is_dir()))
            .collect::<Vec<_>>();
        let mut set = Self::new();
        // One walk over all paths: a file reached twice (a directory and a link to it, or a
        // file given that is also in a directory given) is read once.
        let mut visited = Visited::default();
        for path in paths {
            set.add_path_within(path.as_ref(), &roots, &mut visited)?;
        }
        Ok(set)
    }

    /// Adds a file, or every input file under a directory (as [`InputSet::load`] does with
    /// one path).
    pub fn add_path(&mut self, path: &Path) -> Result<&mut Self, PolicyError> {
        let roots: Vec<PathBuf> = fs::canonicalize(path).ok().into_iter().collect();
        self.add_path_within(path, &roots, &mut Visited::default())
    }

    fn add_path_within(
        &mut self,
        path: &Path,
        roots: &[PathBuf],
        visited: &mut Visited,
    ) -> Result<&mut Self, PolicyError> {
        let meta = fs::metadata(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        let files = if meta.is_dir() {
            let is_input = |name: &str| has_extension(Path::new(name), &["json", "yaml", "yml"]);
            let (files, matched) = collect_files(path, roots, &is_input, visited)?;
            if matched == 0 {
                return Err(PolicyError::NoInput {
                    path: path.to_owned(),
                });
            }
            files
        } else {
            let first = fs::canonicalize(path).map_or(true, |real| visited.files.insert(real));
            if first {
                vec![path.to_owned()]
            } else {
                Vec::new()
            }
        };
        for file in files {
            self.add_file(&file)?;
        }
        Ok(self)
    }

    fn add_file(&mut self, path: &Path) -> Result<(), PolicyError> {
        let text = read_file(path)?;
        let name = path.display().to_string();
        if has_extension(path, &["json"]) {
            self.add_json(name, &text)?;
        } else {
            self.add_yaml(name, &text)?;
        }
        Ok(())
    }

    /// Adds one JSON document (e.g. `terraform show -json` output) under a display path.
    pub fn add_json(
        &mut self,
        path: impl Into<String>,
        text: &str,
    ) -> Result<&mut Self, PolicyError> {
        let path = path.into();
        let doc: Value = serde_json::from_str(text).map_err(|e| PolicyError::Parse {
            path: PathBuf::from(&path),
            format: "JSON",
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        self.add_documents(path, vec![doc])
    }

    /// Adds a YAML stream of one or more documents under a display path.
    pub fn add_yaml(
        &mut self,
        path: impl Into<String>,
        text: &str,
    ) -> Result<&mut Self, PolicyError> {
        let path = path.into();
        let mut documents = Vec::new();
        let mut positions = Vec::new();
        for (i, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
            let doc = Value::deserialize(de).map_err(|e| {
                let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                PolicyError::Parse {
                    path: PathBuf::from(&path),
                    format: "YAML",
                    line,
                    column,
                    message: strip_position(&e.to_string()),
                }
            })?;
            if !doc.is_null() {
                documents.push(doc);
                positions.push(i + 1);
            }
        }
        let several = positions.last().is_some_and(|&n| n > 1);
        self.check_and_push(path, documents, |i| {
            several.then(|| positions.get(i).copied()).flatten()
        })
    }

    /// Adds already-parsed documents under a display path. Each must be a document the
    /// policies recognise, as for files.
    pub fn add_documents(
        &mut self,
        path: impl Into<String>,
        documents: Vec<Value>,
    ) -> Result<&mut Self, PolicyError> {
        let several = documents.len() > 1;
        self.check_and_push(path.into(), documents, |i| several.then_some(i + 1))
    }

    /// Refuses a file without documents or with a document the policies do not recognise;
    /// `position` gives a document's number for messages.
    fn check_and_push(
        &mut self,
        path: String,
        documents: Vec<Value>,
        position: impl Fn(usize) -> Option<usize>,
    ) -> Result<&mut Self, PolicyError> {
        if documents.is_empty() {
            return Err(PolicyError::UnrecognisedDocument {
                path: PathBuf::from(&path),
                document: None,
                field: String::new(),
                found: "no document (the file is empty, or holds only comments or null)".into(),
            });
        }
        for (i, doc) in documents.iter().enumerate() {
            let document = position(i);
            check_document(doc).map_err(|problem| match problem {
                ShapeProblem::Unrecognised { field, found } => PolicyError::UnrecognisedDocument {
                    path: PathBuf::from(&path),
                    document,
                    field,
                    found,
                },
                ShapeProblem::Malformed {
                    kind,
                    field,
                    found,
                    expected,
                } => PolicyError::MalformedDocument {
                    path: PathBuf::from(&path),
                    document,
                    kind,
                    field,
                    found,
                    expected,
                },
            })?;
        }
        self.files.push(InputFile { path, documents });
        Ok(self)
    }

    /// The files read so far.
    pub fn files(&self) -> &[InputFile] {
        &self.files
    }

    /// Number of documents over all files.
    pub fn document_count(&self) -> usize {
        self.files.iter().map(|f| f.documents.len()).sum()
    }

    /// The document the policies see: `conftest --combine`'s shape, an array of
    /// `{"path": FILE, "contents": DOC}` where DOC is the file's one document, or an array of
    /// its documents when it has several. Files without documents are left out.
    pub fn to_rego_input(&self) -> Value {
        Value::Array(
            self.files
                .iter()
                .filter(|f| !f.documents.is_empty())
                .map(|f| {
                    let contents = match f.documents.as_slice() {
                        [one] => one.clone(),
                        many => Value::Array(many.to_vec()),
                    };
                    serde_json::json!({ "path": f.path, "contents": contents })
                })
                .collect(),
        )
    }

    /// [`InputSet::to_rego_input`] built directly as the engine's value, without copying the
    /// documents first (a large plan is most of the work of a check).
    pub(crate) fn to_engine_input(&self) -> Result<regorus::Value, PolicyError> {
        let key = |k: &str| regorus::Value::from(k);
        let mut items = Vec::with_capacity(self.files.len());
        for f in self.files.iter().filter(|f| !f.documents.is_empty()) {
            let contents = match f.documents.as_slice() {
                [one] => to_engine_value(one)?,
                many => regorus::Value::from(
                    many.iter()
                        .map(to_engine_value)
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            let item: std::collections::BTreeMap<regorus::Value, regorus::Value> = [
                (key("path"), regorus::Value::from(f.path.as_str())),
                (key("contents"), contents),
            ]
            .into_iter()
            .collect();
            items.push(regorus::Value::from(item));
        }
        Ok(regorus::Value::from(items))
    }
}

/// A JSON value as the Rego engine's value. The engine's own `From` conversion turns a value
/// it cannot represent into `undefined`, which would make every rule silently pass.
pub(crate) fn to_engine_value(value: &Value) -> Result<regorus::Value, PolicyError> {
    regorus::Value::deserialize(value).map_err(|e| PolicyError::Eval {
        package: "*".into(),
        message: format!("converting the input for the Rego engine: {e}"),
    })
}

fn has_extension(path: &Path, exts: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Files under `dir` (recursively, sorted, hidden entries skipped) whose name `keep` accepts.
/// Shared by input discovery and policy discovery so both walk folders the same way.
///
/// Symbolic links are followed only when they resolve inside one of `roots` (canonical
/// directories); every directory and file is visited once by its resolved path, so a link
/// loop, or a link to a directory also reached directly, is read once. A link that leads
/// outside the roots and would be read (a directory, or a name `keep` accepts) is an error.
/// Entries that are not regular files are returned too, for [`read_file`] to refuse: a fifo
/// named `plan.json` must not pass unnoticed.
///
/// Returns the files not `visited` before, and how many entries `keep` accepted (visited
/// before or not: a directory whose files were all read already is not empty).
pub(crate) fn collect_files(
    dir: &Path,
    roots: &[PathBuf],
    keep: &dyn Fn(&str) -> bool,
    visited: &mut Visited,
) -> Result<(Vec<PathBuf>, usize), PolicyError> {
    let real = fs::canonicalize(dir).map_err(|source| PolicyError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut walk = Walk {
        roots,
        keep,
        visited,
        out: Vec::new(),
        matched: 0,
    };
    if walk.visited.dirs.insert(real) {
        walk.visit(dir)?;
    }
    let matched = walk.matched;
    Ok((walk.out, matched))
}

/// Resolved directories and files already visited by a walk.
#[derive(Debug, Default)]
pub(crate) struct Visited {
    dirs: HashSet<PathBuf>,
    files: HashSet<PathBuf>,
}

struct Walk<'a> {
    roots: &'a [PathBuf],
    keep: &'a dyn Fn(&str) -> bool,
    visited: &'a mut Visited,
    out: Vec<PathBuf>,
    matched: usize,
}

impl Walk<'_> {
    fn visit(&mut self, dir: &Path) -> Result<(), PolicyError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| PolicyError::Io { path, source }
        };
        let mut entries = fs::read_dir(dir)
            .map_err(io(dir))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io(dir))?;
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_str().unwrap_or_default();
            if name.starts_with('.') {
                continue;
            }
            // The entry's own type: a symbolic link is not followed by this.
            let file_type = entry.file_type().map_err(io(&path))?;
            let is_dir = if file_type.is_symlink() {
                match fs::metadata(&path) {
                    Ok(meta) => meta.is_dir(),
                    // A dangling link is read (and reported) only when it would be an input.
                    Err(_) if !(self.keep)(name) => continue,
                    Err(source) => return Err(PolicyError::Io { path, source }),
                }
            } else {
                file_type.is_dir()
            };
            if !is_dir && !(self.keep)(name) {
                continue;
            }
            let real = fs::canonicalize(&path).map_err(io(&path))?;
            if file_type.is_symlink() && !self.roots.iter().any(|r| real.starts_with(r)) {
                return Err(PolicyError::LinkOutsideRoots {
                    link: path,
                    target: real,
                });
            }
            if is_dir {
                if self.visited.dirs.insert(real) {
                    self.visit(&path)?;
                }
            } else {
                self.matched += 1;
                if self.visited.files.insert(real) {
                    self.out.push(path);
                }
            }
        }
        Ok(())
    }
}

/// Reads a regular file of at most [`MAX_INPUT_BYTES`] as UTF-8 text. Anything else (a
/// device such as `/dev/zero`, a fifo, a socket) is refused before a byte is read: reading it
/// could block forever or never end.
pub(crate) fn read_file(path: &Path) -> Result<String, PolicyError> {
    let io = |source| PolicyError::Io {
        path: path.to_owned(),
        source,
    };
    let file = open_without_blocking(path).map_err(io)?;
    // The opened file's own type (fstat), not the path's: the path may change in between.
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(PolicyError::NotAFile {
            path: path.to_owned(),
            what: file_type_name(&meta.file_type()),
        });
    }
    let too_large = |size| PolicyError::TooLarge {
        path: path.to_owned(),
        size,
        limit: MAX_INPUT_BYTES,
    };
    if meta.len() > MAX_INPUT_BYTES {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or_default());
    // A file that grows while read stops one byte past the limit.
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text ({e})"),
        ))
    })
}

/// Opens for reading without blocking: opening a fifo for reading waits for a writer unless
/// `O_NONBLOCK` is given.
#[cfg(unix)]
fn open_without_blocking(path: &Path) -> std::io::Result<fs::File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(fs::File::from(fd))
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> std::io::Result<fs::File> {
    fs::File::open(path)
}

fn file_type_name(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a fifo (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Parser messages end with their own "at line L column C"; the error reports the position in
/// its own fields.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = InputSet::new()
            .add_json("plan.json", "{\n  \"a\": 1,\n  \"b\": ]\n}")
            .map(|_| ())
            .unwrap_err();
        match &err {
            PolicyError::Parse {
                line,
                column,
                format,
                ..
            } => {
                assert_eq!((*line, *column, *format), (3, 8, "JSON"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            err.to_string().starts_with("plan.json:3:8: malformed JSON"),
            "{err}"
        );
    }

    #[test]
    fn malformed_yaml_in_a_later_document_names_its_line() {
        let text = "kind: A\n---\nkind: B\nspec: [1, 2\n";
        let err = InputSet::new()
            .add_yaml("m.yaml", text)
            .map(|_| ())
            .unwrap_err();
        match err {
            PolicyError::Parse { line, format, .. } => {
                assert_eq!(format, "YAML");
                assert!(line >= 4, "line {line}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn multi_document_yaml_becomes_an_array_and_empty_documents_are_skipped() {
        let mut set = InputSet::new();
        set.add_yaml(
            "a.yaml",
            "---\napiVersion: v1\nkind: A\n---\n---\napiVersion: v1\nkind: B\n",
        )
        .unwrap();
        set.add_yaml("b.yaml", "apiVersion: v1\nkind: C\n").unwrap();
        let input = set.to_rego_input();
        assert_eq!(input[0]["contents"][1]["kind"], "B");
        assert_eq!(input[1]["contents"]["kind"], "C");
        assert_eq!(set.document_count(), 3);
    }
}
