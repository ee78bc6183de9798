//! Input documents: Terraform plans, Kubernetes manifests and tenant files, read from files and
//! directories into the shape `conftest --combine` gives policies.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::PolicyError;

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
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Self, PolicyError> {
        let mut set = Self::new();
        for path in paths {
            set.add_path(path.as_ref())?;
        }
        Ok(set)
    }

    /// Adds a file, or every input file under a directory.
    pub fn add_path(&mut self, path: &Path) -> Result<&mut Self, PolicyError> {
        let meta = fs::metadata(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            collect_files(
                path,
                &|name| has_extension(Path::new(name), &["json", "yaml", "yml"]),
                &mut found,
            )?;
            if found.is_empty() {
                return Err(PolicyError::NoInput {
                    path: path.to_owned(),
                });
            }
            for file in found {
                self.add_file(&file)?;
            }
        } else {
            self.add_file(path)?;
        }
        Ok(self)
    }

    fn add_file(&mut self, path: &Path) -> Result<(), PolicyError> {
        let text = fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
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
        self.files.push(InputFile {
            path,
            documents: vec![doc],
        });
        Ok(self)
    }

    /// Adds a YAML stream of one or more documents under a display path.
    pub fn add_yaml(
        &mut self,
        path: impl Into<String>,
        text: &str,
    ) -> Result<&mut Self, PolicyError> {
        let path = path.into();
        let mut documents = Vec::new();
        for de in serde_yaml_ng::Deserializer::from_str(text) {
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
            }
        }
        self.files.push(InputFile { path, documents });
        Ok(self)
    }

    /// Adds already-parsed documents under a display path.
    pub fn add_documents(&mut self, path: impl Into<String>, documents: Vec<Value>) -> &mut Self {
        self.files.push(InputFile {
            path: path.into(),
            documents,
        });
        self
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
pub(crate) fn collect_files(
    dir: &Path,
    keep: &dyn Fn(&str) -> bool,
    out: &mut Vec<PathBuf>,
) -> Result<(), PolicyError> {
    let io = |source| PolicyError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut entries = fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_files(&path, keep, out)?;
        } else if keep(name) {
            out.push(path);
        }
    }
    Ok(())
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
        set.add_yaml("a.yaml", "---\nkind: A\n---\n---\nkind: B\n")
            .unwrap();
        set.add_yaml("b.yaml", "kind: C\n").unwrap();
        let input = set.to_rego_input();
        assert_eq!(input[0]["contents"][1]["kind"], "B");
        assert_eq!(input[1]["contents"]["kind"], "C");
        assert_eq!(set.document_count(), 3);
    }
}
