//! cert-manager's `cert-manager.io/v1` kinds this crate renders, typed: the fields set here,
//! named as in the upstream CRDs. Unset optional fields are not written.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

/// API version of [`Issuer`] and [`Certificate`].
pub const CERT_MANAGER_API_VERSION: &str = "cert-manager.io/v1";

/// An `Issuer`: signs the Certificates of its namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issuer {
    /// Always [`CERT_MANAGER_API_VERSION`].
    pub api_version: String,
    /// Always `Issuer`.
    pub kind: String,
    /// Name, namespace, labels.
    pub metadata: ObjectMeta,
    /// How it signs: exactly one of the fields is set.
    pub spec: IssuerSpec,
}

/// `Issuer.spec`: one signing mechanism.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerSpec {
    /// Signs each certificate with its own key (only the bootstrap CA is issued this way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_signed: Option<SelfSignedIssuer>,
    /// Signs with the CA key pair in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<CaIssuer>,
}

/// `Issuer.spec.selfSigned` (no fields are set: it is written `{}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfSignedIssuer {}

/// `Issuer.spec.ca`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaIssuer {
    /// The Secret holding the CA's `tls.crt` and `tls.key`.
    pub secret_name: String,
}

/// A `Certificate`: cert-manager keeps the Secret `secretName` holding a key and a
/// certificate with these names (`tls.key`, `tls.crt` and the issuing CA's `ca.crt`), and
/// renews it `renewBefore` its expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    /// Always [`CERT_MANAGER_API_VERSION`].
    pub api_version: String,
    /// Always `Certificate`.
    pub kind: String,
    /// Name, namespace, labels, annotations.
    pub metadata: ObjectMeta,
    /// What to issue.
    pub spec: CertificateSpec,
}

/// `Certificate.spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSpec {
    /// The Secret cert-manager writes.
    pub secret_name: String,
    /// The subject's common name (CockroachDB reads the user from it: `node`, `root`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// Further subject fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<X509Subject>,
    /// Whether this is a CA certificate.
    #[serde(rename = "isCA", default, skip_serializing_if = "Option::is_none")]
    pub is_ca: Option<bool>,
    /// Validity (Go duration, `2160h`).
    pub duration: String,
    /// How long before expiry cert-manager renews it (Go duration).
    pub renew_before: String,
    /// Subject alternative DNS names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    /// Subject alternative IP addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_addresses: Vec<String>,
    /// Key usages (`server auth`, `client auth`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usages: Vec<String>,
    /// The private key.
    pub private_key: CertificatePrivateKey,
    /// Who signs it.
    pub issuer_ref: IssuerRef,
}

/// `Certificate.spec.subject`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509Subject {
    /// Organizations (`O=`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<String>,
}

/// `Certificate.spec.privateKey`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificatePrivateKey {
    /// `RSA`, `ECDSA` or `Ed25519`.
    pub algorithm: String,
    /// Key size in bits.
    pub size: u32,
    /// `Always` (a new key on every renewal) or `Never` (the key is kept: a renewed CA
    /// still verifies what the old one signed).
    pub rotation_policy: String,
}

/// `Certificate.spec.issuerRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerRef {
    /// The issuer's name.
    pub name: String,
    /// `Issuer` or `ClusterIssuer` (or an external issuer's kind).
    pub kind: String,
    /// The issuer's API group.
    pub group: String,
}
