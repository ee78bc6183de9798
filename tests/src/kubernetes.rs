//! Validating rendered Kubernetes objects with an independent tool: kubernetes-validate
//! (`THINLEDGER_TEST_KUBERNETES_VALIDATE`, see [`crate::services::var`]) against the OpenAPI
//! schemas of Kubernetes minors.

use std::path::Path;
use std::process::Command;

/// Two current Kubernetes minors rendered documents must validate against: the oldest the
/// crates support and the newest.
pub const KUBERNETES_VERSIONS: [&str; 2] = ["1.33.0", "1.37.0"];

/// Runs `kubernetes-validate --strict` (unknown fields are errors) on `paths` against the
/// schema of Kubernetes `version`; returns whether all passed and the tool's output.
pub fn validate_strict<P: AsRef<Path>>(tool: &str, version: &str, paths: &[P]) -> (bool, String) {
    let out = Command::new(tool)
        .args(["--strict", "--quiet", "-k", version])
        .args(paths.iter().map(AsRef::as_ref))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}
