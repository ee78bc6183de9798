//! The rules of a tenant file. Each section reports its first problem; sections are
//! independent, so one run lists everything a user has to fix.

use std::net::IpAddr;

use super::{Problem, Tenant, TenantError, TenantSpec, TopicSpec};
use crate::error::ensure;
use crate::identity::is_dns_label_byte;
use crate::locality::{Locality, RegionSpec};
use crate::placement::QuorumPlan;
use crate::provider::Provider;
use crate::quorum;
use crate::tier::Tier;

const MAX_TENANT_LEN: usize = 30;
const MAX_ENVIRONMENT_LEN: usize = 20;

pub(super) fn validate(mut spec: TenantSpec) -> Result<Tenant, TenantError> {
    // Absurd quantities first: no rule below (quorum, spread, sizing) ever sees them.
    let out_of_bounds = bounds(&spec);
    if !out_of_bounds.is_empty() {
        return Err(TenantError::OutOfBounds(out_of_bounds));
    }
    let mut problems = Vec::new();
    let mut check = |r: Result<(), Problem>| {
        if let Err(p) = r {
            problems.push(p);
        }
    };

    check(dns_label(
        "tenant",
        &spec.tenant,
        MAX_TENANT_LEN,
        "acme-bank",
    ));
    check(dns_label(
        "environment",
        &spec.environment,
        MAX_ENVIRONMENT_LEN,
        "prod",
    ));
    if let Some(ns) = &spec.namespace {
        check(dns_label("namespace", ns, 63, "ledger-acme-prod"));
    }
    if spec.survival == crate::SurvivalGoal::Provider && spec.sites.is_empty() {
        check(Err(Problem::new(
            "survival",
            spec.survival,
            "surviving a provider outage needs nodes on at least 3 providers, declared as sites",
            "declare sites: on three providers, or choose survival: zone or region",
        )));
    }
    for (i, db) in spec.cockroachdb.databases.iter().enumerate() {
        check(dns_label(
            &format!("cockroachdb.databases[{i}]"),
            db,
            63,
            "ledger",
        ));
    }
    if spec.ring == super::Ring::Prod && spec.tier != Tier::Prod {
        check(Err(Problem::new(
            "tier",
            spec.tier,
            "tenants in ring-2-prod serve production traffic and must use the prod tier",
            "set tier: prod, or move the tenant to ring-0-canary or ring-1-early",
        )));
    }
    check(image_tag("cockroachdb.version", &spec.cockroachdb.version));
    check(image_tag("redpanda.version", &spec.redpanda.version));
    check(images(&spec));
    check(network(&spec));

    // A tenant with sites: each site is checked, and the first one stands for the tenant
    // where one provider, locality and storage class are asked for.
    let mut site_problems = Vec::new();
    let sites = (!spec.sites.is_empty())
        .then(|| super::site::check(&mut spec, &mut site_problems))
        .map(|s| s.ok_or(()));
    for p in site_problems {
        check(Err(p));
    }
    let storage = match &spec.storage.class {
        _ if sites.is_some() => sites
            .as_ref()
            .and_then(|s| s.as_ref().ok())
            .map(|s| s.sites[0].storage()),
        None => Some(spec.provider.default_storage()),
        Some(class) => match spec.provider.storage_profile(class) {
            Ok(p) => Some(p),
            Err(_) => {
                let valid: Vec<&str> = spec
                    .provider
                    .storage_profiles()
                    .iter()
                    .map(|p| p.class_name)
                    .collect();
                check(Err(Problem::new(
                    "storage.class",
                    class,
                    format!(
                        "a storage class must be one the platform offers on provider {}",
                        spec.provider
                    ),
                    format!("use one of {}", valid.join(", ")),
                )));
                None
            }
        },
    };

    let regions = spec
        .regions
        .iter()
        .map(|r| RegionSpec::new(r.name.clone(), r.zones.iter().cloned()))
        .collect();
    let locality = match &sites {
        Some(Ok(s)) => Some(s.sites[0].locality().clone()),
        Some(Err(())) => None,
        None => match Locality::new(spec.provider, regions) {
            Ok(l) => Some(l),
            Err(e) => {
                check(Err(Problem::from_model(e, "")));
                None
            }
        },
    };
    check(cluster_domains(&spec));
    check(super::pki::validate(&spec.certificates));
    check(crate::version::check_upgrade(
        &spec.cockroachdb.version,
        spec.cockroachdb.upgrade_from.as_deref(),
    ));
    check(backup(&spec));
    check(super::stream::tiered_storage(&spec));
    check(super::stream::changefeeds(&spec));
    check(crate::iam::validate_inputs(&spec));

    let mut advice = super::stream::advice(&spec);
    let mut cockroach_quorum = None;
    let mut redpanda = None;
    if let Some(Ok(s)) = &sites {
        // The sites fix the count: the total is what sizing and rendering are given.
        spec.cockroachdb.nodes = Some(s.quorum.nodes);
    }
    if let Some(locality) = &locality {
        // Keep the normalised zones (Azure `1` → `westeurope-1`) in the spec.
        for (region, normalised) in spec.regions.iter_mut().zip(locality.regions()) {
            region.zones.clone_from(&normalised.zones);
        }
        match (spec.cockroachdb.nodes, &spec.cockroachdb.workload) {
            _ if sites.is_some() => {
                if let Some(Ok(s)) = &sites {
                    advice.extend(s.quorum.advice.iter().cloned());
                    cockroach_quorum = Some(s.quorum.clone());
                }
            }
            (Some(nodes), _) => match check_cockroach_quorum(&spec, locality, nodes) {
                Ok(plan) => {
                    advice.extend(plan.advice.iter().cloned());
                    cockroach_quorum = Some(plan);
                }
                Err(p) => check(Err(p)),
            },
            (None, Some(_)) => {}
            (None, None) => check(Err(Problem::new(
                "cockroachdb.nodes",
                "",
                "the node count is needed, either directly or from a workload to size",
                "add nodes: 3, or a workload: {data: 2TiB, growth_percent_per_year: 40}",
            ))),
        }
        match &sites {
            // Stretched over the sites, judged with them (site.rs); named after the first.
            Some(Ok(s)) => {
                redpanda = Some((s.redpanda.clone(), s.sites[0].region().to_owned()));
            }
            Some(Err(())) => {}
            None => match redpanda_quorum(&spec, locality) {
                Ok(r) => redpanda = Some(r),
                Err(p) => check(Err(p)),
            },
        }
    }
    if let Some(w) = &spec.cockroachdb.workload
        && !(0.0..=1000.0).contains(&w.growth_percent_per_year)
    {
        check(Err(Problem::new(
            "cockroachdb.workload.growth_percent_per_year",
            w.growth_percent_per_year,
            "yearly growth is a percentage from 0 to 1000",
            "e.g. growth_percent_per_year: 40",
        )));
    }
    if let Some(r) = &spec.cockroachdb.resources {
        check(resources("cockroachdb.resources", r));
    }
    if let Some(r) = &spec.redpanda.resources {
        check(resources("redpanda.resources", r));
    }
    for (i, topic) in spec.redpanda.topics.iter().enumerate() {
        check(topic_rules(i, topic, spec.redpanda.brokers));
    }
    if spec.redpanda.tuning {
        advice.push(
            "redpanda.tuning: the tuner runs privileged, so the namespace cannot enforce the restricted Pod Security profile".to_owned(),
        );
    }

    match (locality, storage, redpanda) {
        (Some(locality), Some(storage), Some((redpanda_quorum, redpanda_region)))
            if problems.is_empty() =>
        {
            Ok(Tenant {
                spec,
                locality,
                storage,
                cockroach_quorum,
                redpanda_quorum,
                redpanda_region,
                advice,
                sites: sites
                    .and_then(Result::ok)
                    .map(|s| s.sites)
                    .unwrap_or_default(),
                site_view: None,
            })
        }
        _ => Err(TenantError::Invalid(problems)),
    }
}

/// Every quantity of the file above its bound ([`crate::bounds`]).
fn bounds(spec: &TenantSpec) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut check = |r: Result<(), crate::BoundError>| {
        if let Err(e) = r {
            problems.push(Problem::from_bound(e));
        }
    };
    let crdb = &spec.cockroachdb;
    if let Some(nodes) = crdb.nodes {
        check(crate::bounds::NODES.check("cockroachdb.nodes", nodes));
    }
    for (field, resources) in [
        ("cockroachdb.resources", crdb.resources.as_ref()),
        ("redpanda.resources", spec.redpanda.resources.as_ref()),
    ] {
        let Some(r) = resources else { continue };
        check(crate::bounds::NODE_VCPU.check(&format!("{field}.cpu"), r.cpu));
        check(crate::bounds::NODE_MEMORY.check(&format!("{field}.memory"), r.memory));
        if let Some(disk) = r.disk {
            check(crate::bounds::VOLUME.check(&format!("{field}.disk"), disk));
        }
    }
    if let Some(w) = &crdb.workload {
        check(crate::bounds::DATA.check("cockroachdb.workload.data", w.data));
        if let Some(rate) = w.write_rate_per_second {
            check(
                crate::bounds::WRITE_RATE.check("cockroachdb.workload.write_rate_per_second", rate),
            );
        }
        if let Some(years) = w.horizon_years {
            check(crate::bounds::HORIZON_YEARS.check("cockroachdb.workload.horizon_years", years));
        }
    }
    for (i, site) in spec.sites.iter().enumerate() {
        check(crate::bounds::NODES.check(&format!("sites[{i}].nodes"), site.nodes));
    }
    check(crate::bounds::NODES.check("redpanda.brokers", spec.redpanda.brokers));
    for (i, topic) in spec.redpanda.topics.iter().enumerate() {
        check(crate::bounds::PARTITIONS.check(
            &format!("redpanda.topics[{i}].partitions"),
            topic.partitions,
        ));
        check(crate::bounds::NODES.check(
            &format!("redpanda.topics[{i}].replication"),
            topic.replication,
        ));
    }
    problems
}

pub(super) fn check_cockroach_quorum(
    spec: &TenantSpec,
    locality: &Locality,
    nodes: u32,
) -> Result<QuorumPlan, Problem> {
    let field = "cockroachdb.nodes";
    let plan = quorum::plan(field, nodes, locality, spec.survival).map_err(|e| {
        let mut p = Problem::from_model(e, "");
        // The model names `zones`/`regions` for spread errors; point at the tenant's list.
        if p.field == "zones" {
            p.field = "regions[0].zones".to_owned();
        }
        p
    })?;
    Ok(plan)
}

fn redpanda_quorum(
    spec: &TenantSpec,
    locality: &Locality,
) -> Result<(QuorumPlan, String), Problem> {
    let field = "redpanda.brokers";
    let region = match &spec.redpanda.region {
        None => locality
            .regions()
            .first()
            .map(|r| r.name.clone())
            .unwrap_or_default(),
        Some(name) => {
            if !locality.regions().iter().any(|r| &r.name == name) {
                return Err(Problem::new(
                    "redpanda.region",
                    name,
                    "Redpanda runs in one of the tenant's regions",
                    format!(
                        "use one of {}",
                        locality
                            .regions()
                            .iter()
                            .map(|r| r.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            name.clone()
        }
    };
    let zones: Vec<String> = locality
        .regions()
        .iter()
        .find(|r| r.name == region)
        .map(|r| r.zones.clone())
        .unwrap_or_default();
    let single = Locality::new(spec.provider, vec![RegionSpec::new(region.clone(), zones)])
        .map_err(|e| Problem::from_model(e, ""))?;
    let plan = quorum::broker_plan(field, spec.redpanda.brokers, &single).map_err(|e| {
        let mut p = Problem::from_model(e, "");
        if p.field == "zones" {
            p.field = "redpanda.region".to_owned();
            p.value = region.clone();
            p.rule = format!("Redpanda's region needs at least 3 zones: {}", p.rule);
        }
        p
    })?;
    Ok((plan, region))
}

pub(super) fn dns_label(
    field: &str,
    value: &str,
    max: usize,
    example: &str,
) -> Result<(), Problem> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && !value.ends_with('-')
        && value.bytes().all(is_dns_label_byte);
    ensure(ok, || {
        Problem::new(
            field,
            value,
            format!(
                "must be 1-{max} lowercase letters, digits or '-', starting with a letter and not ending with '-' (it becomes part of Kubernetes names)"
            ),
            format!("e.g. {example}"),
        )
    })
}

fn image_tag(field: &str, value: &str) -> Result<(), Problem> {
    let core = value.strip_prefix('v').unwrap_or("");
    let core = core.split_once('-').map_or(core, |(c, _)| c);
    let parts: Vec<&str> = core.split('.').collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    ensure(ok, || {
        Problem::new(
            field,
            value,
            "images are pinned to an exact release tag vMAJOR.MINOR.PATCH (never latest or a bare major)",
            "e.g. v25.2.4",
        )
    })
}

fn images(spec: &TenantSpec) -> Result<(), Problem> {
    if let Some(registry) = &spec.images.registry {
        let ok = !registry.is_empty()
            && !registry.contains("://")
            && !registry.ends_with('/')
            && registry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"./-_:".contains(&b));
        if !ok {
            return Err(Problem::new(
                "images.registry",
                registry,
                "a registry prefix is host[:port][/path] without a scheme or trailing '/'",
                "e.g. registry.bank.internal/mirror",
            ));
        }
    }
    if let Some(secret) = &spec.images.pull_secret {
        dns_label("images.pull_secret", secret, 253, "registry-credentials")?;
    }
    Ok(())
}

fn network(spec: &TenantSpec) -> Result<(), Problem> {
    let n = &spec.network;
    for (i, ns) in n.client_namespaces.iter().enumerate() {
        dns_label(
            &format!("network.client_namespaces[{i}]"),
            ns,
            63,
            "payments",
        )?;
    }
    for (i, ns) in n.monitoring_namespaces.iter().enumerate() {
        dns_label(
            &format!("network.monitoring_namespaces[{i}]"),
            ns,
            63,
            "monitoring",
        )?;
    }
    dns_label(
        "network.operator_namespace",
        &n.operator_namespace,
        63,
        "cockroach-operator-system",
    )?;
    for (i, cidr) in n.peer_cidrs.iter().enumerate() {
        let ok = cidr.split_once('/').is_some_and(|(ip, bits)| {
            let Ok(ip) = ip.parse::<IpAddr>() else {
                return false;
            };
            let max = if ip.is_ipv4() { 32 } else { 128 };
            bits.parse::<u8>().is_ok_and(|b| b <= max)
        });
        if !ok {
            return Err(Problem::new(
                format!("network.peer_cidrs[{i}]"),
                cidr,
                "a peer range is an IP network in CIDR notation",
                "e.g. 10.20.0.0/16",
            ));
        }
    }
    if spec.regions.len() > 1 && n.peer_cidrs.is_empty() {
        return Err(Problem::new(
            "network.peer_cidrs",
            "",
            "a multi-region tenant's CockroachDB nodes talk across clusters, which the network policy admits only from listed ranges",
            "list the other regions' pod CIDRs, e.g. peer_cidrs: [10.20.0.0/16, 10.30.0.0/16]",
        ));
    }
    Ok(())
}

fn cluster_domains(spec: &TenantSpec) -> Result<(), Problem> {
    let mut seen: Vec<&str> = Vec::new();
    for (i, region) in spec.regions.iter().enumerate() {
        let field = format!("regions[{i}].cluster_domain");
        match &region.cluster_domain {
            Some(domain) => {
                crate::identity::validate_dns_subdomain(&field, domain)
                    .map_err(|e| Problem::from_model(e, ""))?;
                if seen.contains(&domain.as_str()) {
                    return Err(Problem::new(
                        field,
                        domain,
                        "each region's cluster needs its own DNS domain, or pod names collide across regions",
                        format!("e.g. {}.ledger.internal", region.name),
                    ));
                }
                seen.push(domain);
            }
            None if spec.regions.len() > 1 => {
                return Err(Problem::new(
                    field,
                    "",
                    "a multi-region tenant's nodes join each other across clusters by DNS name, so each region names its cluster domain",
                    format!(
                        "add cluster_domain: {}.ledger.internal (as forwarded by your cross-cluster DNS)",
                        region.name
                    ),
                ));
            }
            None => {}
        }
    }
    Ok(())
}

fn backup(spec: &TenantSpec) -> Result<(), Problem> {
    let b = &spec.backup;
    bucket_name(spec.provider, &b.bucket)?;
    match spec.provider {
        Provider::Azure => match &b.account {
            None => {
                return Err(Problem::new(
                    "backup.account",
                    "",
                    "Azure Blob containers live in a storage account",
                    "add account: <storage account name>",
                ));
            }
            Some(a)
                if !(3..=24).contains(&a.len())
                    || !a
                        .bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) =>
            {
                return Err(Problem::new(
                    "backup.account",
                    a,
                    "an Azure storage account name is 3-24 lowercase letters and digits",
                    "e.g. acmeledgerbackups",
                ));
            }
            Some(_) => {}
        },
        _ if b.account.is_some() => {
            return Err(Problem::new(
                "backup.account",
                b.account.as_deref().unwrap_or(""),
                "a storage account applies to Azure only",
                "remove account",
            ));
        }
        _ => {}
    }
    match (spec.provider, &b.endpoint) {
        (Provider::OnPrem, None) => {
            return Err(Problem::new(
                "backup.endpoint",
                "",
                "on-prem backups go to an S3-compatible server (MinIO) that must be named",
                "add endpoint: https://minio.backup.svc:9000",
            ));
        }
        (Provider::OnPrem, Some(url)) => {
            endpoint_port(url).ok_or_else(|| {
                Problem::new(
                    "backup.endpoint",
                    url,
                    "an endpoint is an http(s) URL with a host",
                    "e.g. https://minio.backup.svc:9000",
                )
            })?;
        }
        (_, Some(url)) => {
            return Err(Problem::new(
                "backup.endpoint",
                url,
                "a custom endpoint applies to on-prem (MinIO) only; cloud backups use the provider's own service",
                "remove endpoint",
            ));
        }
        (_, None) => {}
    }
    let Some(identity) = &b.identity else {
        let example = match spec.provider {
            Provider::Aws => "{kind: irsa, role_arn: arn:aws:iam::123456789012:role/ledger-backup}",
            Provider::Azure => "{kind: azure-workload-identity, client_id: <GUID>}",
            Provider::Gcp => {
                "{kind: gke-workload-identity, service_account: ledger-backup@<project>.iam.gserviceaccount.com}"
            }
            _ => "{kind: secret-ref, secret_name: minio-backup}",
        };
        return Err(Problem::new(
            "backup.identity",
            "",
            if spec.provider == Provider::OnPrem {
                "backups to MinIO need the name of the Secret holding the keys"
            } else {
                "cloud backups need an identity; static keys are not accepted"
            },
            format!("add identity: {example}"),
        ));
    };
    identity
        .validate_for(spec.provider)
        .map_err(|e| Problem::from_model(e, "backup."))?;
    if let Some(rpo) = &b.rpo
        && rpo_seconds(rpo).is_none()
    {
        return Err(Problem::new(
            "backup.rpo",
            rpo,
            format!(
                "a recovery point objective is a whole number of s, m, h or d between {} and {} minutes",
                RPO_SECONDS.start() / 60,
                RPO_SECONDS.end() / 60
            ),
            "e.g. rpo: 15m or rpo: 1h",
        ));
    }
    if let Some(e) = &b.encryption {
        backup_encryption(spec.provider, e)?;
    }
    Ok(())
}

/// The RPOs accepted: a minute (the scheduler's finest schedule) to 30 days.
const RPO_SECONDS: std::ops::RangeInclusive<u64> = 60..=30 * 86_400;

/// `15m`, `1h`, `1d`, `90s` as seconds, within [`RPO_SECONDS`]; `None` otherwise.
pub(crate) fn rpo_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    let unit = match text.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    let digits = &text[..text.len() - 1];
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = digits.parse::<u64>().ok()? * unit;
    RPO_SECONDS.contains(&seconds).then_some(seconds)
}

/// Exactly the field of the tenant's provider: a KMS key id on AWS and MinIO, an encryption
/// scope on Azure, a Cloud KMS key name on GCP.
fn backup_encryption(provider: Provider, e: &super::BackupEncryptionSpec) -> Result<(), Problem> {
    let (wanted, example) = match provider {
        Provider::Azure => ("encryption_scope", "encryption_scope: ledger-cmk"),
        Provider::Gcp => (
            "kms_key_name",
            "kms_key_name: projects/acme/locations/europe-west3/keyRings/ledger/cryptoKeys/backups",
        ),
        _ => (
            "kms_key_id",
            "kms_key_id: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
    };
    let given = [
        ("kms_key_id", e.kms_key_id.as_deref()),
        ("encryption_scope", e.encryption_scope.as_deref()),
        ("kms_key_name", e.kms_key_name.as_deref()),
    ];
    for (name, value) in given {
        if let Some(value) = value
            && name != wanted
        {
            return Err(Problem::new(
                format!("backup.encryption.{name}"),
                value,
                format!("{name} does not apply to {} backups", provider.as_str()),
                format!("use {example}"),
            ));
        }
    }
    if e.dsse && wanted != "kms_key_id" {
        return Err(Problem::new(
            "backup.encryption.dsse",
            "true",
            "dual-layer encryption (aws:kms:dsse) is an AWS option",
            "remove dsse",
        ));
    }
    match given.iter().find(|(n, _)| *n == wanted) {
        Some((_, Some(v))) if !v.is_empty() && !v.contains(char::is_whitespace) => Ok(()),
        Some((_, v)) => Err(Problem::new(
            format!("backup.encryption.{wanted}"),
            v.unwrap_or_default(),
            "the key must be named (no spaces)",
            format!("use {example}"),
        )),
        None => Ok(()),
    }
}

/// The port of an http(s) URL (explicit, or the scheme's default).
pub(crate) fn endpoint_port(url: &str) -> Option<u16> {
    let (default, rest) = if let Some(r) = url.strip_prefix("https://") {
        (443, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (80, r)
    } else {
        return None;
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    if let Some(v6) = authority.strip_prefix('[') {
        let (_, after) = v6.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => port.parse().ok(),
            None if after.is_empty() => Some(default),
            None => None,
        };
    }
    match authority.split_once(':') {
        Some(("", _)) => None,
        Some((_, port)) => port.parse().ok(),
        None => Some(default),
    }
}

fn bucket_name(provider: Provider, bucket: &str) -> Result<(), Problem> {
    let (min, max, dots, what) = match provider {
        Provider::Azure => (3, 63, false, "an Azure container name"),
        Provider::Gcp => (3, 63, true, "a GCS bucket name"),
        _ => (3, 63, true, "an S3 bucket name"),
    };
    let ok = (min..=max).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| is_dns_label_byte(b) || (dots && b == b'.'))
        && bucket
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && bucket
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && !bucket.contains("--");
    ensure(ok, || {
        Problem::new(
            "backup.bucket",
            bucket,
            format!(
                "{what} is {min}-{max} lowercase letters, digits{} and single '-', starting and ending with a letter or digit (no scheme or path)",
                if dots { ", '.'" } else { "" }
            ),
            "e.g. acme-ledger-backups",
        )
    })
}

fn resources(field: &str, r: &super::NodeResources) -> Result<(), Problem> {
    if r.cpu.whole_cores().is_none_or(|c| c == 0) {
        return Err(Problem::new(
            format!("{field}.cpu"),
            r.cpu,
            "Guaranteed QoS with the static CPU manager pins whole CPUs",
            "use a whole number of CPUs, e.g. 4 or 8",
        ));
    }
    if r.memory.bytes() < crate::ByteSize::gib(1).bytes() {
        return Err(Problem::new(
            format!("{field}.memory"),
            r.memory,
            "a ledger node needs at least 1Gi of memory",
            "e.g. memory: 32Gi",
        ));
    }
    if let Some(disk) = r.disk
        && disk.bytes() < crate::ByteSize::gib(1).bytes()
    {
        return Err(Problem::new(
            format!("{field}.disk"),
            disk,
            "a data volume of less than 1Gi cannot hold a ledger",
            "e.g. disk: 500Gi",
        ));
    }
    Ok(())
}

fn topic_rules(i: usize, topic: &TopicSpec, brokers: u32) -> Result<(), Problem> {
    let field = |f: &str| format!("redpanda.topics[{i}].{f}");
    let name_ok = !topic.name.is_empty()
        && topic.name.len() <= 249
        && topic.name != "."
        && topic.name != ".."
        && topic
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !name_ok {
        return Err(Problem::new(
            field("name"),
            &topic.name,
            "a topic name is 1-249 letters, digits, '.', '_' or '-'",
            "e.g. ledger.entries",
        ));
    }
    if topic.partitions == 0 {
        return Err(Problem::new(
            field("partitions"),
            topic.partitions,
            "a topic has at least one partition",
            "e.g. partitions: 12",
        ));
    }
    if topic.replication < 3 || topic.replication.is_multiple_of(2) {
        return Err(Problem::new(
            field("replication"),
            topic.replication,
            "ledger topics keep an odd number of at least 3 replicas so a majority survives a broker",
            "use replication: 3",
        ));
    }
    if topic.replication > brokers {
        return Err(Problem::new(
            field("replication"),
            topic.replication,
            format!("a topic cannot have more replicas than the {brokers} brokers"),
            "use replication: 3, or more brokers",
        ));
    }
    for (key, value) in &topic.config {
        let ok = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
        if !ok {
            return Err(Problem::new(
                field("config"),
                key,
                "topic properties are lowercase names with '.' and '_'",
                "e.g. retention.ms",
            ));
        }
        let value_ok = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
        if !value_ok {
            return Err(Problem::new(
                format!("redpanda.topics[{i}].config.{key}"),
                value,
                "topic property values are letters, digits, '.', '_', ':' or '-'",
                "e.g. retention.ms: \"-1\"",
            ));
        }
    }
    Ok(())
}
