//! The fleet: every tenant file of a `live/ring-*/` tree or of one folder.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use std::io::Read;

use super::RolloutError;
use crate::tenant::{Ring, Tenant};

/// One tenant of the fleet: its file, the text and the checked tenant.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FleetTenant {
    /// The file, as given (relative to the fleet folder when read with [`Fleet::read`]).
    pub file: String,
    /// The file's text (the renderer and the guardrails read it).
    pub yaml: String,
    /// The checked tenant.
    pub tenant: Tenant,
}

impl FleetTenant {
    /// `<tenant>-<environment>`: how the fleet and the status file name a tenant.
    pub fn id(&self) -> String {
        let spec = self.tenant.spec();
        format!("{}-{}", spec.tenant, spec.environment)
    }

    /// The tenant's ring (its `ring:` field).
    pub fn ring(&self) -> Ring {
        self.tenant.spec().ring
    }
}

/// Every tenant of a fleet, sorted by ring and id.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Fleet {
    /// The tenants.
    pub tenants: Vec<FleetTenant>,
}

impl Fleet {
    /// Reads the tenant files (`*.yaml`, `*.yml`) of `dir` and of its `ring-*` folders
    /// (`live/ring-0-canary/…`): each tenant's `ring:` field decides its ring, and a ring
    /// folder that contradicts it is an error naming both. Other folders are not read.
    pub fn read(dir: &Path) -> Result<Fleet, RolloutError> {
        let io = |path: &Path, e: std::io::Error| RolloutError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let mut files = Vec::new();
        for (folder, path) in sorted_entries(dir).map_err(|e| io(dir, e))? {
            if path.is_dir() {
                if folder.starts_with("ring-") {
                    for (name, file) in sorted_entries(&path).map_err(|e| io(&path, e))? {
                        if is_tenant_file(&name, &file) {
                            let text = read_tenant_text(&file)?;
                            files.push((format!("{folder}/{name}"), text));
                        }
                    }
                }
            } else if is_tenant_file(&folder, &path) {
                let text = read_tenant_text(&path)?;
                files.push((folder, text));
            }
        }
        if files.is_empty() {
            return Err(RolloutError::EmptyFleet {
                dir: dir.display().to_string(),
            });
        }
        Fleet::from_files(files)
    }

    /// A fleet of `(path, text)` tenant files; a path's `ring-*` folder, when it has one,
    /// must be the tenant's ring.
    pub fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Fleet, RolloutError> {
        let mut tenants = Vec::new();
        for (file, yaml) in files {
            let tenant = Tenant::from_yaml(&yaml).map_err(|source| RolloutError::Tenant {
                file: file.clone(),
                source,
            })?;
            let ring = tenant.spec().ring;
            let folder = Path::new(&file)
                .parent()
                .and_then(|p| p.file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .filter(|f| f.starts_with("ring-"));
            if let Some(folder) = folder
                && folder != ring.as_str()
            {
                return Err(RolloutError::RingFolder {
                    file,
                    folder,
                    ring: ring.as_str().to_owned(),
                });
            }
            tenants.push(FleetTenant { file, yaml, tenant });
        }
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for t in &tenants {
            if let Some(first) = seen.insert(t.id(), t.file.clone()) {
                return Err(RolloutError::Duplicate {
                    id: t.id(),
                    first,
                    second: t.file.clone(),
                });
            }
        }
        tenants.sort_by_key(|t| (t.ring(), t.id()));
        Ok(Fleet { tenants })
    }

    /// The tenants of `ring`, by id.
    pub fn ring(&self, ring: Ring) -> impl Iterator<Item = &FleetTenant> {
        self.tenants.iter().filter(move |t| t.ring() == ring)
    }

    /// The tenant named `id` (`<tenant>-<environment>`).
    pub fn get(&self, id: &str) -> Option<&FleetTenant> {
        self.tenants.iter().find(|t| t.id() == id)
    }
}

fn is_tenant_file(name: &str, path: &Path) -> bool {
    (name.ends_with(".yaml") || name.ends_with(".yml")) && path.is_file()
}

/// A folder's entries as `(name, path)`, by name.
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<(String, std::path::PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    out.sort();
    Ok(out)
}

/// The most a fleet's tenant file may hold: far above any real tenant file, low enough that a
/// wrong path (a disk image, a log) is refused at once instead of read whole.
pub const MAX_TENANT_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads one tenant file of the fleet, at most [`MAX_TENANT_FILE_BYTES`].
fn read_tenant_text(path: &Path) -> Result<String, RolloutError> {
    let io = |message: String| RolloutError::Io {
        path: path.display().to_string(),
        message,
    };
    let file = fs::File::open(path).map_err(|e| io(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_TENANT_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io(e.to_string()))?;
    if bytes.len() as u64 > MAX_TENANT_FILE_BYTES {
        return Err(io(format!(
            "holds more than the {} MiB a tenant file may have; move it out of the fleet folder",
            MAX_TENANT_FILE_BYTES / (1024 * 1024)
        )));
    }
    String::from_utf8(bytes).map_err(|_| io("is not UTF-8 text; a tenant file is YAML".to_owned()))
}
