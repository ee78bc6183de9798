//! What a version change does to a tenant's rendered objects.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::render::{RenderError, Rendering};

/// The objects a change adds, changes and removes, each as `Kind/name` (prefixed with
/// `region:` for tenants of several regions), sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ObjectDiff {
    /// Objects only the new rendering has (e.g. a Job named by its new inputs' hash).
    pub added: Vec<String>,
    /// Objects both have, with different contents (e.g. the StatefulSet's image).
    pub changed: Vec<String>,
    /// Objects only the old rendering has.
    pub removed: Vec<String>,
    /// Objects both have, unchanged.
    pub unchanged: usize,
}

impl ObjectDiff {
    /// Compares two renderings of the same regions, given as `(region, rendering)`.
    pub fn between(
        before: &[(String, Rendering)],
        after: &[(String, Rendering)],
    ) -> Result<ObjectDiff, RenderError> {
        let several = before.len().max(after.len()) > 1;
        let index = |renderings: &[(String, Rendering)]| {
            let mut out = BTreeMap::new();
            for (region, rendering) in renderings {
                for o in &rendering.objects {
                    let name = if several {
                        format!("{region}:{}/{}", o.kind(), o.name())
                    } else {
                        format!("{}/{}", o.kind(), o.name())
                    };
                    out.insert(name, o.to_json()?);
                }
            }
            Ok::<_, RenderError>(out)
        };
        let old = index(before)?;
        let new = index(after)?;
        let mut diff = ObjectDiff::default();
        for (name, value) in &new {
            match old.get(name) {
                None => diff.added.push(name.clone()),
                Some(v) if v != value => diff.changed.push(name.clone()),
                Some(_) => diff.unchanged += 1,
            }
        }
        diff.removed = old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .cloned()
            .collect();
        Ok(diff)
    }

    /// `+A ~C -R`: counts for a table.
    pub fn summary(&self) -> String {
        format!(
            "+{} ~{} -{}",
            self.added.len(),
            self.changed.len(),
            self.removed.len()
        )
    }
}
