//! AWS: the IRSA role's permissions policy and trust policy. The S3 statements are shared
//! with MinIO ([`storage_statements`]), which reads the same grammar.

use serde_json::{Value, json};

use super::hcl::{Block, Expr, identifier};
use super::{Context, IamDocument, IamDocumentKind, IamError, IamGrant, ObjectLockMode, Output};

/// The statements that let an identity use the bucket's `prefixes` (the whole bucket when
/// empty): list them, read, write and delete objects there (abandoned multipart uploads
/// too), and with Object Lock set and read retention. Never a bucket-wide or `*` resource
/// for an object action, and never `s3:BypassGovernanceRetention`.
pub(super) fn storage_statements(
    partition: &str,
    grant: IamGrant,
    bucket: &str,
    prefixes: &[String],
    object_lock: Option<ObjectLockMode>,
) -> Vec<Value> {
    // Redpanda uploads each segment in one request: no multipart upload to abort.
    let (list_sid, objects_sid, actions): (&str, &str, &[&str]) = match grant {
        IamGrant::Backups => (
            "ListBackups",
            "ReadWriteBackupObjects",
            &[
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ],
        ),
        IamGrant::TieredStorage => (
            "ListSegments",
            "ReadWriteSegments",
            &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        ),
    };
    let bucket_arn = format!("arn:{partition}:s3:::{bucket}");
    let objects: Vec<String> = if prefixes.is_empty() {
        vec![format!("{bucket_arn}/*")]
    } else {
        prefixes
            .iter()
            .map(|p| format!("{bucket_arn}/{p}/*"))
            .collect()
    };
    let mut list = json!({
        "Sid": list_sid,
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": [bucket_arn],
    });
    if !prefixes.is_empty() {
        let listed: Vec<String> = prefixes
            .iter()
            .flat_map(|p| [p.clone(), format!("{p}/*")])
            .collect();
        list["Condition"] = json!({"StringLike": {"s3:prefix": listed}});
    }
    let mut statements = vec![
        list,
        json!({
            "Sid": objects_sid,
            "Effect": "Allow",
            "Action": actions,
            "Resource": objects,
        }),
    ];
    if object_lock.is_some() {
        statements.push(json!({
            "Sid": "ObjectLockRetention",
            "Effect": "Allow",
            "Action": ["s3:PutObjectRetention", "s3:GetObjectRetention"],
            "Resource": objects,
        }));
    }
    statements
}

/// The parts of an IAM role ARN (checked by the tenant file's rules).
struct Role<'a> {
    partition: &'a str,
    account: &'a str,
    path: String,
    name: &'a str,
}

fn role<'a>(arn: &'a str, field: &str) -> Result<Role<'a>, IamError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let bad = || {
        IamError::invalid(
            format!("{field}.role_arn"),
            arn,
            "an IAM role ARN is arn:<partition>:iam::<account>:role/<name>",
            "give the IAM role's ARN, e.g. arn:aws:iam::123456789012:role/ledger-backup",
        )
    };
    let ["arn", partition, "iam", "", account, resource] = parts[..] else {
        return Err(bad());
    };
    let full = resource.strip_prefix("role/").ok_or_else(bad)?;
    let (path, name) = match full.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name),
        None => ("/".to_owned(), full),
    };
    Ok(Role {
        partition,
        account,
        path,
        name,
    })
}

/// The DNS suffix of a partition's service endpoints.
fn dns_suffix(partition: &str) -> &'static str {
    if partition == "aws-cn" {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

pub(super) fn documents(ctx: &Context, role_arn: &str) -> Result<Output, IamError> {
    let role = role(role_arn, &ctx.identity_field)?;
    let bucket = ctx.bucket();
    let mut statements = storage_statements(
        role.partition,
        ctx.grant,
        bucket,
        &ctx.prefixes,
        ctx.object_lock,
    );
    if let Some(key) = ctx.kms_key.as_deref() {
        // arn:PARTITION:kms:REGION:…: S3 calls KMS in the key's region.
        let region = key.split(':').nth(3).unwrap_or_default();
        statements.push(json!({
            "Sid": match ctx.grant {
                IamGrant::Backups => "UseBackupKey",
                IamGrant::TieredStorage => "UseBucketKey",
            },
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": [key],
            "Condition": {"StringEquals": {
                "kms:ViaService": format!("s3.{region}.{}", dns_suffix(role.partition)),
            }},
        }));
    }
    let permissions = json!({"Version": "2012-10-17", "Statement": statements});

    let issuers = ctx.issuers(
        "the role's trust policy trusts each cluster's OIDC provider, and only the tenant's service accounts",
    )?;
    let trust_statements: Vec<Value> = issuers
        .iter()
        .map(|t| {
            let (region, issuer) = (&t.region, &t.issuer);
            let subjects: Vec<String> = t
                .subjects
                .iter()
                .map(|s| ctx.kubernetes_subject(s))
                .collect();
            let provider = issuer
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .to_owned();
            // A Sid is alphanumeric: us-east-1 → TrustClusterUsEast1.
            let sid: String = std::iter::once("TrustCluster".to_owned())
                .chain(
                    region
                        .split(|c: char| !c.is_ascii_alphanumeric())
                        .map(|part| {
                            let mut chars = part.chars();
                            chars
                                .next()
                                .map(|first| {
                                    first.to_ascii_uppercase().to_string() + chars.as_str()
                                })
                                .unwrap_or_default()
                        }),
                )
                .collect();
            json!({
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Federated": format!(
                    "arn:{}:iam::{}:oidc-provider/{provider}",
                    role.partition, role.account
                )},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    format!("{provider}:aud"): "sts.amazonaws.com",
                    format!("{provider}:sub"): subjects,
                }},
            })
        })
        .collect();
    let trust = json!({"Version": "2012-10-17", "Statement": trust_statements});

    let scope = scope_text(ctx.grant, bucket, &ctx.prefixes);
    let policy_name = format!("{}-storage", role.name);
    let who = ctx
        .subjects
        .iter()
        .map(|s| s.service_account.as_str())
        .collect::<Vec<_>>()
        .join(" and ");
    let documents = vec![
        IamDocument {
            kind: IamDocumentKind::AwsPermissionsPolicy,
            grant: ctx.grant,
            name: policy_name.clone(),
            description: format!(
                "lets role {} list, read, write and delete {} under {scope}{}{} — nothing else",
                role.name,
                ctx.contents(),
                if ctx.object_lock.is_some() {
                    ", and set their Object Lock retention (never bypass it)"
                } else {
                    ""
                },
                if ctx.kms_key.is_some() {
                    ", encrypting and decrypting with the bucket's key through S3"
                } else {
                    ""
                },
            ),
            document: permissions.clone(),
        },
        IamDocument {
            kind: IamDocumentKind::AwsTrustPolicy,
            grant: ctx.grant,
            name: role.name.to_owned(),
            description: format!(
                "lets service accounts {who} of namespace {} assume role {} with their projected token, from the tenant's {} only",
                ctx.namespace,
                role.name,
                if issuers.len() == 1 {
                    "cluster".to_owned()
                } else {
                    format!("{} clusters", issuers.len())
                },
            ),
            document: trust.clone(),
        },
    ];

    let id = identifier(&format!("{}-{}", ctx.id(), ctx.what()));
    let policy_id = format!("{id}_storage");
    let terraform = vec![
        Block::resource("aws_iam_role", &id)
            .comment(&format!(
                "The IRSA role {role_arn}: assumed only by {who} in namespace {}.",
                ctx.namespace
            ))
            .attr("name", Expr::string(role.name))
            .attr("path", Expr::string(&role.path))
            .attr(
                "description",
                Expr::string(&format!("thinledger {} of {}", ctx.what_plural(), ctx.id())),
            )
            .attr("assume_role_policy", Expr::jsonencode(&trust)),
        Block::resource("aws_iam_policy", &policy_id)
            .comment(&format!("Access to {scope} only."))
            .attr("name", Expr::string(&policy_name))
            .attr("path", Expr::string(&role.path))
            .attr(
                "description",
                Expr::string(&format!(
                    "thinledger {} of {}: {scope}",
                    ctx.what_plural(),
                    ctx.id()
                )),
            )
            .attr("policy", Expr::jsonencode(&permissions)),
        Block::resource("aws_iam_role_policy_attachment", &policy_id)
            .attr("role", Expr::raw(format!("aws_iam_role.{id}.name")))
            .attr(
                "policy_arn",
                Expr::raw(format!("aws_iam_policy.{policy_id}.arn")),
            ),
    ];

    let mut notes = vec![format!(
        "the role is created in account {} (the role ARN's); its name must stay {} because the rendered service accounts carry that ARN",
        role.account, role.name
    )];
    if let Some(key) = ctx.kms_key.as_deref() {
        notes.push(format!(
            "the key policy of {key} must let the account's IAM policies grant its use (the default key policy does)"
        ));
    }
    if ctx.object_lock == Some(ObjectLockMode::Governance) {
        notes.push(
            "governance mode: keep s3:BypassGovernanceRetention away from this role (it is not granted here)"
                .to_owned(),
        );
    }
    Ok(Output {
        documents,
        terraform,
        notes,
    })
}

/// `s3://BUCKET/PREFIX/` for each prefix, or the bucket.
pub(super) fn scope_text(grant: IamGrant, bucket: &str, prefixes: &[String]) -> String {
    if prefixes.is_empty() {
        match grant {
            IamGrant::Backups => {
                format!("s3://{bucket} (the whole bucket: set backup.prefix to narrow it)")
            }
            IamGrant::TieredStorage => format!("s3://{bucket} (Redpanda's own bucket)"),
        }
    } else {
        prefixes
            .iter()
            .map(|p| format!("s3://{bucket}/{p}/"))
            .collect::<Vec<_>>()
            .join(" and ")
    }
}
