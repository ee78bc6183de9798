//! `--out DIR`: which files a rendering writes into a directory, and which files of an earlier
//! rendering it removes, computed without touching the disk (the CLI does the I/O).
//!
//! The directory gets one file per object and a `kustomization.yaml` listing them, so
//! `kubectl apply -k DIR` (or Argo CD / Flux pointed at DIR) applies exactly the rendering.
//! That list is also the record of what was written: a later run removes only files listed
//! there that it no longer renders (a Job whose name changed, an object that went away), and
//! never touches a file it did not write. It refuses to overwrite a file it did not write, or
//! a `kustomization.yaml` it did not write.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{RenderError, Rendering};

/// The file listing what was written.
pub const KUSTOMIZATION_FILE: &str = "kustomization.yaml";

/// The first line of a kustomization.yaml written here (how a later run recognises it).
const MARKER: &str = "# Written by ledger-topology render --out";

/// What writing a rendering into a directory does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutDirPlan {
    /// Files to write, `(file name, content)`, `kustomization.yaml` last.
    pub write: Vec<(String, String)>,
    /// Files an earlier rendering wrote that this one does not: remove them.
    pub remove: Vec<String>,
}

impl OutDirPlan {
    /// The object files written (`kustomization.yaml` aside).
    pub fn objects(&self) -> usize {
        self.write.len().saturating_sub(1)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    resources: Vec<String>,
}

fn refuse(file: &str, rule: &str, fix: String) -> RenderError {
    RenderError::OutDir {
        file: file.to_owned(),
        rule: rule.to_owned(),
        fix,
    }
}

/// A name an earlier run may have written: a plain file name in the directory itself.
fn plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && name != KUSTOMIZATION_FILE
}

impl Rendering {
    /// What `--out DIR` does, given the names of the entries already in DIR and the content of
    /// its `kustomization.yaml`, if it has one.
    pub fn out_dir_plan(
        &self,
        existing: &[String],
        previous_kustomization: Option<&str>,
    ) -> Result<OutDirPlan, RenderError> {
        let written_before: BTreeSet<String> = match previous_kustomization {
            None if existing.iter().any(|n| n == KUSTOMIZATION_FILE) => {
                return Err(refuse(
                    KUSTOMIZATION_FILE,
                    "the directory's kustomization.yaml could not be read",
                    "make it readable, or render into another directory".to_owned(),
                ));
            }
            None => BTreeSet::new(),
            Some(text) if !text.starts_with(MARKER) => {
                return Err(refuse(
                    KUSTOMIZATION_FILE,
                    "the directory has a kustomization.yaml that ledger-topology did not write; it is not overwritten",
                    "render into a directory of its own, and reference it from your kustomization.yaml (resources: [<dir>])".to_owned(),
                ));
            }
            Some(text) => serde_yaml_ng::from_str::<Kustomization>(text)
                .map_err(|e| {
                    refuse(
                        KUSTOMIZATION_FILE,
                        "the kustomization.yaml an earlier run wrote no longer parses",
                        format!("restore or delete it ({e})"),
                    )
                })?
                .resources
                .into_iter()
                .filter(|n| plain_file_name(n))
                .collect(),
        };
        let files = self.files()?;
        for (name, _) in &files {
            if existing.contains(name) && !written_before.contains(name) {
                return Err(refuse(
                    name,
                    "a file of this name exists and an earlier rendering did not write it (it is not in kustomization.yaml); it is not overwritten",
                    "move it away, or render into another directory".to_owned(),
                ));
            }
        }
        let now: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        let remove = written_before
            .iter()
            .filter(|n| !now.contains(n.as_str()) && existing.contains(n))
            .cloned()
            .collect();
        let kustomization = Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1".to_owned(),
            kind: "Kustomization".to_owned(),
            resources: files.iter().map(|(n, _)| n.clone()).collect(),
        };
        let body = serde_yaml_ng::to_string(&kustomization).map_err(|e| RenderError::Yaml {
            kind: "Kustomization".to_owned(),
            name: KUSTOMIZATION_FILE.to_owned(),
            message: e.to_string(),
        })?;
        let mut write = files;
        write.push((
            KUSTOMIZATION_FILE.to_owned(),
            format!(
                "{MARKER}: the files it wrote. A later run removes only files listed here,\n# so edit the tenant file and render again rather than this directory.\n{body}"
            ),
        ));
        Ok(OutDirPlan { write, remove })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tenant;
    use crate::render::{CockroachMode, RenderOptions, ResourcePlan, render};

    fn rendering(version: &str) -> Rendering {
        let text = include_str!("../../../../examples/tenants/onprem.yaml")
            .replace("version: v25.2.4", &format!("version: {version}"));
        let tenant = Tenant::from_yaml(&text).unwrap();
        let plan = ResourcePlan::from_tenant(&tenant).unwrap();
        render(
            &tenant,
            &plan,
            &RenderOptions::new(CockroachMode::StatefulSet),
        )
        .unwrap()
    }

    fn names(plan: &OutDirPlan) -> Vec<String> {
        plan.write.iter().map(|(n, _)| n.clone()).collect()
    }

    #[test]
    fn an_empty_directory_gets_every_object_and_the_list() {
        let plan = rendering("v25.2.4").out_dir_plan(&[], None).unwrap();
        let written = names(&plan);
        assert_eq!(written.last().unwrap(), KUSTOMIZATION_FILE);
        assert!(plan.remove.is_empty());
        let (_, k) = plan.write.last().unwrap();
        assert!(k.starts_with(MARKER), "{k}");
        let parsed: Kustomization = serde_yaml_ng::from_str(k).unwrap();
        assert_eq!(parsed.kind, "Kustomization");
        assert_eq!(parsed.resources, written[..written.len() - 1]);
        assert_eq!(plan.objects(), parsed.resources.len());
    }

    #[test]
    fn a_new_version_removes_the_old_job_files_and_nothing_foreign() {
        let first = rendering("v25.2.4").out_dir_plan(&[], None).unwrap();
        let mut existing = names(&first);
        existing.push("notes.md".to_owned());
        existing.push("99-my-own.yaml".to_owned());
        let kustomization = &first.write.last().unwrap().1;
        let second = rendering("v25.3.1")
            .out_dir_plan(&existing, Some(kustomization))
            .unwrap();
        assert_eq!(second.remove.len(), 1, "{:?}", second.remove);
        assert!(second.remove[0].contains("job-cockroachdb-init-"));
        assert!(!names(&second).contains(&second.remove[0]));
        // Unchanged: the same plan again removes nothing.
        let again = rendering("v25.2.4")
            .out_dir_plan(&existing, Some(kustomization))
            .unwrap();
        assert!(again.remove.is_empty(), "{:?}", again.remove);
    }

    #[test]
    fn foreign_files_are_neither_overwritten_nor_removed() {
        let r = rendering("v25.2.4");
        let first = r.out_dir_plan(&[], None).unwrap();
        let taken = first.write[0].0.clone();
        let err = r
            .out_dir_plan(std::slice::from_ref(&taken), None)
            .unwrap_err();
        assert!(err.to_string().contains(&taken), "{err}");
        let err = r
            .out_dir_plan(&[KUSTOMIZATION_FILE.to_owned()], Some("resources: []\n"))
            .unwrap_err();
        assert!(err.to_string().contains("did not write"), "{err}");
        // A tampered list cannot remove files outside the directory.
        let tampered = format!("{MARKER}\nresources: [../../etc/passwd, .hidden, notes.md]\n");
        let existing = ["notes.md".to_owned(), KUSTOMIZATION_FILE.to_owned()];
        let plan = r.out_dir_plan(&existing, Some(&tampered)).unwrap();
        assert_eq!(plan.remove, ["notes.md"]);
    }
}
