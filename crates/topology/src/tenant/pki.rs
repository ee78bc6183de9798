//! The tenant's `certificates:` section: who issues the TLS certificates CockroachDB and
//! Redpanda use.
//!
//! By default the rendering brings a CA of the tenant's own (cert-manager: a self-signed
//! bootstrap Issuer, a CA Certificate and a CA Issuer in the tenant's namespace). A platform
//! with a CA of its own names its cert-manager issuer (`issuer_ref`); a platform that brings
//! its own PKI altogether says `provided: true`, and then nothing is rendered and the Secrets
//! must exist (docs/certificates.md names them and the names each certificate carries).

use serde::{Deserialize, Serialize};

use super::Problem;

/// The `certificates:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificatesSpec {
    /// Sign the certificates with this existing cert-manager issuer instead of a CA of the
    /// tenant's own (a multi-region tenant's regions then share it).
    #[serde(default, alias = "issuerRef", skip_serializing_if = "Option::is_none")]
    pub issuer_ref: Option<IssuerRefSpec>,
    /// The platform brings its own PKI: no cert-manager objects are rendered, and the Secrets
    /// `cockroachdb-node`, `cockroachdb-root`, `redpanda-tls`, `redpanda-topics-client`,
    /// `redpanda-metrics-client` (and the changefeeds' mTLS Secret) must exist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provided: bool,
}

impl CertificatesSpec {
    /// The default: a CA of the tenant's own.
    pub fn is_default(&self) -> bool {
        self == &CertificatesSpec::default()
    }
}

/// A cert-manager issuer the platform runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerRefSpec {
    /// Its name.
    pub name: String,
    /// `Issuer` (in the tenant's namespace) or `ClusterIssuer` (default), or an external
    /// issuer's kind when `group` names it.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// The issuer's API group (default `cert-manager.io`; external issuers have their own,
    /// e.g. `awspca.cert-manager.io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

fn default_kind() -> String {
    "ClusterIssuer".to_owned()
}

/// cert-manager's own API group.
pub(crate) const CERT_MANAGER_GROUP: &str = "cert-manager.io";

pub(super) fn validate(spec: &CertificatesSpec) -> Result<(), Problem> {
    let Some(issuer) = &spec.issuer_ref else {
        return Ok(());
    };
    if spec.provided {
        return Err(Problem::new(
            "certificates.provided",
            "true",
            "a provided PKI renders no cert-manager objects, so an issuer_ref would be ignored",
            "keep either issuer_ref (cert-manager issues with the platform's issuer) or provided: true (the Secrets exist)",
        ));
    }
    crate::identity::validate_dns_subdomain("certificates.issuer_ref.name", &issuer.name)
        .map_err(|e| Problem::from_model(e, ""))?;
    let group = issuer.group.as_deref().unwrap_or(CERT_MANAGER_GROUP);
    crate::identity::validate_dns_subdomain("certificates.issuer_ref.group", group)
        .map_err(|e| Problem::from_model(e, ""))?;
    let kind_ok = if group == CERT_MANAGER_GROUP {
        matches!(issuer.kind.as_str(), "Issuer" | "ClusterIssuer")
    } else {
        !issuer.kind.is_empty()
            && issuer.kind.len() <= 63
            && issuer.kind.chars().all(|c| c.is_ascii_alphanumeric())
    };
    if !kind_ok {
        return Err(Problem::new(
            "certificates.issuer_ref.kind",
            &issuer.kind,
            "cert-manager's issuers are of kind Issuer or ClusterIssuer (an external issuer's kind needs its group)",
            "use kind: ClusterIssuer, or kind: Issuer for one in the tenant's namespace",
        ));
    }
    Ok(())
}
