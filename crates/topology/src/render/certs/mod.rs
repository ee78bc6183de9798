//! TLS certificates rendered with every tenant, as cert-manager's `cert-manager.io/v1` kinds:
//! the Secrets `cockroachdb-node`, `cockroachdb-root` and `redpanda-tls` that the databases,
//! Jobs and monitors mount are [`Certificate`]s cert-manager issues and renews.
//!
//! **Who signs.** By default the tenant's namespace gets its own CA: a self-signed bootstrap
//! [`Issuer`] ([`BOOTSTRAP_ISSUER`]) issues the CA [`Certificate`] (Secret [`CA_SECRET`]), and
//! a CA [`Issuer`] ([`CA_ISSUER`]) signs the rest with it. A multi-region tenant's regions must
//! trust one CA: the chain is rendered in the first region, and each other region renders only
//! the CA Issuer, which signs once the `ledger-ca` Secret is copied from the first region (or
//! name a shared issuer instead). The tenant may name an existing issuer
//! (`certificates.issuer_ref`: only the leaf Certificates are rendered) or bring its own PKI
//! (`certificates.provided: true`: nothing is rendered, the Secrets must exist).
//!
//! **What each carries** (docs/certificates.md lists the same):
//! - `cockroachdb-node`: `CN=node`, every pod of the region as
//!   `<pod>.cockroachdb.<ns>.svc.<domain>` and its short forms, the public Service's names,
//!   `localhost` and `127.0.0.1`; server and client auth (nodes dial each other).
//! - `cockroachdb-root`: `CN=root`, client auth (the init and upgrade Jobs, administrators).
//! - `redpanda-tls`: every broker's names, the `redpanda` Service's, `localhost` and
//!   `127.0.0.1`; server and client auth (brokers dial each other's RPC listener, and the
//!   probes and hooks their own admin API, both of which require a client certificate).
//! - `redpanda-metrics-client`, `redpanda-topics-client` (where the topic Job runs) and, for
//!   changefeeds with `auth.kind: mtls` and cert-manager's key names, the changefeeds' Secret:
//!   client auth only, no names.
//!
//! cert-manager writes `tls.crt`, `tls.key` and `ca.crt`; CockroachDB reads `node.crt`,
//! `node.key`, `client.root.crt`, `client.root.key` and `ca.crt` from its certs directory. The
//! pods bridge the names the way CockroachDB's Helm chart does: a projected volume maps the keys
//! to CockroachDB's file names (`items`), and the container copies them with mode 0400.
//!
//! **Renewal.** Leaf certificates last [`LEAF_DURATION_HOURS`] and are renewed
//! [`LEAF_RENEW_BEFORE_HOURS`] before expiry; the CA lasts [`CA_DURATION_HOURS`], is renewed
//! [`CA_RENEW_BEFORE_HOURS`] early and keeps its key (`rotationPolicy: Never`), so a renewed CA
//! still verifies every certificate the old one signed. The certificate-expiry alerts fire 30
//! days before expiry, later than a healthy renewal and early enough to fix a failed one.

mod types;

pub use types::{
    CERT_MANAGER_API_VERSION, CaIssuer, Certificate, CertificatePrivateKey, CertificateSpec,
    Issuer, IssuerRef, IssuerSpec, SelfSignedIssuer, X509Subject,
};

use super::common::{
    CRDB_NAME, CRDB_NODE_SECRET, CRDB_PUBLIC, Context, DOC_PREFIX, RP_METRICS_CLIENT_SECRET,
    RP_NAME, RP_TLS_SECRET, RP_TOPICS_CLIENT_SECRET, purpose,
};
use super::kit::labels;
use super::manifest::Manifest;
use super::monitoring::CERT_WARNING_SECONDS;
use crate::tenant::{ChangefeedAuth, IssuerRefSpec};

/// The self-signed Issuer that issues the tenant's CA certificate (and nothing else).
pub const BOOTSTRAP_ISSUER: &str = "ledger-selfsigned";
/// The CA Issuer that signs the tenant's certificates.
pub const CA_ISSUER: &str = "ledger-ca";
/// The Secret (and Certificate) of the tenant's CA.
pub const CA_SECRET: &str = "ledger-ca";
/// The root client certificate's Certificate name (its Secret is `cockroachdb-root`).
pub const ROOT_CERTIFICATE: &str = "cockroachdb-root";

/// Validity of the node, client and broker certificates: 90 days.
pub const LEAF_DURATION_HOURS: u64 = 2_160;
/// Renewal of those 45 days before expiry: half their life, and 15 days before the 30-day
/// expiry alerts would fire.
pub const LEAF_RENEW_BEFORE_HOURS: u64 = 1_080;
/// Validity of the tenant's CA: 10 years.
pub const CA_DURATION_HOURS: u64 = 87_600;
/// Renewal of the CA a year before expiry (same key: see the module docs).
pub const CA_RENEW_BEFORE_HOURS: u64 = 8_760;

// Checked when the crate compiles: a healthy renewal comes before expiry and at least two
// weeks before the expiry alerts (so it never trips them), and a failed one trips them with
// time left to fix it.
const _: () = {
    let alert_hours = CERT_WARNING_SECONDS / 3_600;
    assert!(LEAF_RENEW_BEFORE_HOURS < LEAF_DURATION_HOURS);
    assert!(CA_RENEW_BEFORE_HOURS < CA_DURATION_HOURS);
    assert!(LEAF_RENEW_BEFORE_HOURS >= alert_hours + 14 * 24);
    assert!(CA_RENEW_BEFORE_HOURS > alert_hours);
};

/// The usages of a client certificate.
const CLIENT_USAGES: &[&str] = &["digital signature", "key encipherment", "client auth"];

/// The component label of every certificate object.
const COMPONENT: &str = "certificates";

/// Every certificate object of the region (none when the platform provides the Secrets).
pub(crate) fn objects(ctx: &Context<'_>) -> Vec<Manifest> {
    let spec = &ctx.tenant.spec().certificates;
    if spec.provided {
        return Vec::new();
    }
    let mut out = Vec::new();
    let issuer = match &spec.issuer_ref {
        Some(r) => issuer_ref(r),
        None => {
            if ctx.first_region {
                out.push(Manifest::Issuer(Box::new(issuer(
                    ctx,
                    BOOTSTRAP_ISSUER,
                    IssuerSpec {
                        self_signed: Some(SelfSignedIssuer {}),
                        ..Default::default()
                    },
                    "self-signed: issues the tenant's CA certificate only",
                ))));
                out.push(Manifest::Certificate(Box::new(ca_certificate(ctx))));
            }
            let why = if ctx.first_region {
                "signs the tenant's certificates with the CA in Secret ledger-ca".to_owned()
            } else {
                // A site's view of the tenant holds its own region only: the CA lives in the
                // first site's cluster.
                let first = match ctx.tenant.site_view() {
                    Some(view) => view.sites.first().map_or("", |s| s.cluster()),
                    None => ctx
                        .tenant
                        .locality()
                        .regions()
                        .first()
                        .map_or("", |r| r.name.as_str()),
                };
                format!(
                    "signs the tenant's certificates with the CA in Secret {CA_SECRET}, which is issued in the first region's cluster ({first}): copy that Secret here (kubectl get secret {CA_SECRET} -o yaml in the first region, kubectl apply here) so every region trusts one CA"
                )
            };
            out.push(Manifest::Issuer(Box::new(issuer(
                ctx,
                CA_ISSUER,
                IssuerSpec {
                    ca: Some(CaIssuer {
                        secret_name: CA_SECRET.to_owned(),
                    }),
                    ..Default::default()
                },
                &why,
            ))));
            IssuerRef {
                name: CA_ISSUER.to_owned(),
                kind: "Issuer".to_owned(),
                group: crate::tenant::CERT_MANAGER_GROUP.to_owned(),
            }
        }
    };
    let domain = ctx.tenant.cluster_domain(&ctx.region);
    let (node_dns, node_ips) = cockroach_node_names(ctx, domain);
    if ctx.crdb_replicas > 0 {
        out.push(leaf(
            ctx,
            &issuer,
            Leaf {
                name: CRDB_NODE_SECRET,
                common_name: "node",
                organization: Some("Cockroach"),
                dns_names: node_dns,
                ip_addresses: node_ips,
                usages: &["digital signature", "key encipherment", "server auth", "client auth"],
                why: "CockroachDB's node certificate (user node): every pod's DNS names, the public Service's, localhost; server and client auth",
            },
        ));
        out.push(leaf(
            ctx,
            &issuer,
            Leaf {
                name: ROOT_CERTIFICATE,
                common_name: "root",
                organization: Some("Cockroach"),
                dns_names: Vec::new(),
                ip_addresses: Vec::new(),
                usages: CLIENT_USAGES,
                why: "CockroachDB's root client certificate (secret cockroachdb-root): the init and upgrade Jobs and administrators",
            },
        ));
    }
    if ctx.renders_redpanda() {
        let mut dns_names =
            redpanda_dns_names(&ctx.namespace, domain, super::redpanda::brokers_here(ctx));
        // Loopback: the probes and hooks call the broker's own admin API over HTTPS.
        dns_names.push("localhost".to_owned());
        let mut ip_addresses = vec!["127.0.0.1".to_owned()];
        // On a site: the addresses the other sites dial, or their hostname checks fail.
        super::redpanda::advertised_names(ctx, &mut dns_names, &mut ip_addresses);
        out.push(leaf(
            ctx,
            &issuer,
            Leaf {
                name: RP_TLS_SECRET,
                common_name: RP_NAME,
                organization: None,
                dns_names,
                ip_addresses,
                // Client auth: brokers present it to each other on the RPC listener, and to
                // their own admin API (probes, hooks); both require a client certificate.
                usages: &["digital signature", "key encipherment", "server auth", "client auth"],
                why: "Redpanda's listeners (Kafka API, RPC, admin API): every broker's DNS names, the redpanda Service's and loopback; client auth for the brokers' RPC to each other and their own admin calls",
            },
        ));
        out.extend(redpanda_clients(ctx, &issuer));
    }
    out
}

/// The client certificates of Redpanda's clients that thinledger renders (client auth only,
/// no names): Prometheus' for `/public_metrics`, the topic Job's where it runs, and the
/// changefeeds' Secret when they authenticate with mTLS and keep cert-manager's key names.
fn redpanda_clients(ctx: &Context<'_>, issuer: &IssuerRef) -> Vec<Manifest> {
    let client = |name: &str, why: &str| {
        leaf(
            ctx,
            issuer,
            Leaf {
                name,
                common_name: name,
                organization: None,
                dns_names: Vec::new(),
                ip_addresses: Vec::new(),
                usages: CLIENT_USAGES,
                why,
            },
        )
    };
    let mut out = vec![client(
        RP_METRICS_CLIENT_SECRET,
        "Prometheus' client certificate for Redpanda's admin API (/public_metrics; the PodMonitor's tlsConfig); client auth only",
    )];
    if !ctx.redpanda_jobs_here() {
        return out;
    }
    out.push(client(
        RP_TOPICS_CLIENT_SECRET,
        "the redpanda-topics Job's client certificate (admin API, and the Kafka API when it requires client certificates); client auth only, so the Job never holds a broker's key",
    ));
    if let Some(c) = &ctx.tenant.spec().changefeeds
        && let ChangefeedAuth::Mtls { .. } = c.auth
        && c.auth.keys() == ["tls.crt", "tls.key"]
    {
        out.push(client(
            c.auth.secret(),
            "the changefeeds' client certificate for Redpanda's Kafka API (changefeeds.auth.secret: CockroachDB's sink URI and the changefeed Job's wait step); client auth only",
        ));
    }
    out
}

/// The names one Service gives: `name`, `name.<ns>`, `name.<ns>.svc`, `name.<ns>.svc.<domain>`.
/// The node certificate's DNS names and IP addresses: the in-cluster names and localhost,
/// plus, on a site of a multi-site tenant, the addresses the other sites reach its pods at
/// (`--advertise-addr`): without them a node of another site fails the hostname check.
fn cockroach_node_names(ctx: &Context<'_>, domain: &str) -> (Vec<String>, Vec<String>) {
    let mut dns = cockroach_node_dns_names(&ctx.namespace, domain, ctx.crdb_replicas);
    let mut ips = vec!["127.0.0.1".to_owned()];
    if let Some(site) = ctx.site() {
        for n in 0..ctx.crdb_replicas {
            let Some(host) = site.node_host(n, CRDB_NAME) else {
                continue;
            };
            let list = if host.parse::<std::net::IpAddr>().is_ok() {
                &mut ips
            } else {
                &mut dns
            };
            if !list.contains(&host) {
                list.push(host);
            }
        }
    }
    (dns, ips)
}

fn service_names(name: &str, namespace: &str, domain: &str) -> [String; 4] {
    [
        name.to_owned(),
        format!("{name}.{namespace}"),
        format!("{name}.{namespace}.svc"),
        format!("{name}.{namespace}.svc.{domain}"),
    ]
}

/// The names of `members` pods `<set>-<i>` of a StatefulSet governed by the headless Service
/// `set`, each in the four forms of [`service_names`], followed by the Service's own.
fn member_names(set: &str, namespace: &str, domain: &str, members: u32) -> Vec<String> {
    let mut names: Vec<String> = (0..members)
        .flat_map(|i| service_names(&format!("{set}-{i}.{set}"), namespace, domain))
        .collect();
    names.extend(service_names(set, namespace, domain));
    names
}

/// The DNS names of the CockroachDB node certificate for `pods` pods in `namespace` of a
/// cluster with DNS domain `domain`: every pod's (`cockroachdb-0.cockroachdb.<ns>.svc.<domain>`
/// and its short forms), the headless and public Services' and `localhost`.
pub fn cockroach_node_dns_names(namespace: &str, domain: &str, pods: u32) -> Vec<String> {
    let mut names = member_names(CRDB_NAME, namespace, domain, pods);
    names.extend(service_names(CRDB_PUBLIC, namespace, domain));
    names.push("localhost".to_owned());
    names
}

/// The DNS names of Redpanda's listener certificate: every broker's and the `redpanda`
/// Service's.
pub fn redpanda_dns_names(namespace: &str, domain: &str, brokers: u32) -> Vec<String> {
    member_names(RP_NAME, namespace, domain, brokers)
}

fn issuer_ref(spec: &IssuerRefSpec) -> IssuerRef {
    IssuerRef {
        name: spec.name.clone(),
        kind: spec.kind.clone(),
        group: spec
            .group
            .clone()
            .unwrap_or_else(|| crate::tenant::CERT_MANAGER_GROUP.to_owned()),
    }
}

fn meta(
    ctx: &Context<'_>,
    name: &str,
    why: &str,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    let mut meta = ctx.meta(
        name,
        &labels(&[
            ("app.kubernetes.io/name", name),
            ("app.kubernetes.io/component", COMPONENT),
        ]),
    );
    meta.annotations = Some(purpose(why));
    meta
}

fn issuer(ctx: &Context<'_>, name: &str, spec: IssuerSpec, why: &str) -> Issuer {
    Issuer {
        api_version: CERT_MANAGER_API_VERSION.to_owned(),
        kind: "Issuer".to_owned(),
        metadata: meta(ctx, name, why),
        spec,
    }
}

fn hours(h: u64) -> String {
    format!("{h}h")
}

fn ca_certificate(ctx: &Context<'_>) -> Certificate {
    let mut metadata = meta(
        ctx,
        CA_SECRET,
        "the tenant's CA: signs the node, client and broker certificates through Issuer ledger-ca",
    );
    if let Some(a) = metadata.annotations.as_mut() {
        a.insert(
            format!("{DOC_PREFIX}renewal"),
            "renewed a year before expiry with the same key (rotationPolicy Never), so certificates signed before still verify; docs/certificates.md".to_owned(),
        );
    }
    Certificate {
        api_version: CERT_MANAGER_API_VERSION.to_owned(),
        kind: "Certificate".to_owned(),
        metadata,
        spec: CertificateSpec {
            secret_name: CA_SECRET.to_owned(),
            common_name: Some(format!("{} ledger CA", ctx.namespace)),
            subject: Some(X509Subject {
                organizations: vec!["Cockroach".to_owned()],
            }),
            is_ca: Some(true),
            duration: hours(CA_DURATION_HOURS),
            renew_before: hours(CA_RENEW_BEFORE_HOURS),
            usages: vec![
                "digital signature".to_owned(),
                "cert sign".to_owned(),
                "crl sign".to_owned(),
            ],
            private_key: CertificatePrivateKey {
                algorithm: "RSA".to_owned(),
                size: 4_096,
                rotation_policy: "Never".to_owned(),
            },
            issuer_ref: IssuerRef {
                name: BOOTSTRAP_ISSUER.to_owned(),
                kind: "Issuer".to_owned(),
                group: crate::tenant::CERT_MANAGER_GROUP.to_owned(),
            },
            ..Default::default()
        },
    }
}

/// What differs between the leaf certificates.
struct Leaf<'a> {
    /// Certificate and Secret name.
    name: &'a str,
    common_name: &'a str,
    organization: Option<&'a str>,
    dns_names: Vec<String>,
    ip_addresses: Vec<String>,
    usages: &'a [&'a str],
    why: &'a str,
}

fn leaf(ctx: &Context<'_>, issuer: &IssuerRef, l: Leaf<'_>) -> Manifest {
    let mut metadata = meta(ctx, l.name, l.why);
    if let Some(a) = metadata.annotations.as_mut() {
        a.insert(
            format!("{DOC_PREFIX}renewal"),
            format!(
                "valid {LEAF_DURATION_HOURS}h, renewed {LEAF_RENEW_BEFORE_HOURS}h before expiry with a new key; the certificate-expiry alerts fire {} days before expiry if a renewal failed",
                CERT_WARNING_SECONDS / 86_400
            ),
        );
    }
    Manifest::Certificate(Box::new(Certificate {
        api_version: CERT_MANAGER_API_VERSION.to_owned(),
        kind: "Certificate".to_owned(),
        metadata,
        spec: CertificateSpec {
            secret_name: l.name.to_owned(),
            common_name: Some(l.common_name.to_owned()),
            subject: l.organization.map(|o| X509Subject {
                organizations: vec![o.to_owned()],
            }),
            is_ca: None,
            duration: hours(LEAF_DURATION_HOURS),
            renew_before: hours(LEAF_RENEW_BEFORE_HOURS),
            dns_names: l.dns_names,
            ip_addresses: l.ip_addresses,
            usages: l.usages.iter().map(|u| (*u).to_owned()).collect(),
            private_key: CertificatePrivateKey {
                algorithm: "RSA".to_owned(),
                size: 2_048,
                rotation_policy: "Always".to_owned(),
            },
            issuer_ref: issuer.clone(),
        },
    }))
}
