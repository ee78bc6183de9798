//! GCP: the Google service account's binding on the bucket, and the Kubernetes service
//! accounts' right to impersonate it (GKE Workload Identity).

use serde_json::json;

use super::hcl::{Block, Expr, identifier};
use super::{Context, IamDocument, IamDocumentKind, IamError, Output};

/// Read, write, list and delete objects (and multipart uploads); no bucket settings, no IAM.
pub(super) const OBJECT_USER: &str = "roles/storage.objectUser";
/// The right to impersonate a Google service account with a Kubernetes token.
pub(super) const WORKLOAD_IDENTITY_USER: &str = "roles/iam.workloadIdentityUser";

pub(super) fn documents(ctx: &Context, service_account: &str) -> Result<Output, IamError> {
    let project = service_account
        .split_once('@')
        .and_then(|(_, domain)| domain.strip_suffix(".iam.gserviceaccount.com"))
        .ok_or_else(|| {
            IamError::invalid(
                format!("{}.service_account", ctx.identity_field),
                service_account,
                "a Workload Identity service account is NAME@PROJECT.iam.gserviceaccount.com",
                "give the Google service account's email",
            )
        })?;
    let pool_project = ctx.iam.cluster_project.as_deref().unwrap_or(project);
    let bucket = ctx.bucket();
    let member = format!("serviceAccount:{service_account}");

    let condition = (!ctx.prefixes.is_empty()).then(|| {
        // Listing is checked on the bucket, reading and writing on each object.
        let objects: Vec<String> = ctx
            .prefixes
            .iter()
            .map(|p| {
                format!("resource.name.startsWith(\"projects/_/buckets/{bucket}/objects/{p}/\")")
            })
            .collect();
        json!({
            "title": format!("{}-{}-prefixes", ctx.id(), ctx.what()),
            "description": format!(
                "objects under {} only (and listing the bucket)",
                ctx.prefixes
                    .iter()
                    .map(|p| format!("{p}/"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "expression": format!(
                "resource.type == \"storage.googleapis.com/Bucket\" || {}",
                objects.join(" || ")
            ),
        })
    });
    let mut binding = json!({
        "bucket": bucket,
        "role": OBJECT_USER,
        "member": member,
    });
    if let Some(c) = &condition {
        binding["condition"] = c.clone();
    }
    let mut documents = vec![IamDocument {
        kind: IamDocumentKind::GcpBucketBinding,
        grant: ctx.grant,
        name: format!("{bucket}-{}", ctx.id()),
        description: format!(
            "gives {service_account} {OBJECT_USER} on bucket {bucket}{}",
            if ctx.prefixes.is_empty() {
                match ctx.grant {
                    super::IamGrant::Backups => {
                        " (the whole bucket: set backup.prefix to narrow it)".to_owned()
                    }
                    super::IamGrant::TieredStorage => " (Redpanda's own bucket)".to_owned(),
                }
            } else {
                format!(
                    ", its objects limited to {} by an IAM condition",
                    ctx.prefixes
                        .iter()
                        .map(|p| format!("gs://{bucket}/{p}/"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                )
            }
        ),
        document: binding,
    }];

    let id = identifier(&format!("{}-{}", ctx.id(), ctx.what()));
    let mut bucket_block = Block::resource("google_storage_bucket_iam_member", &id)
        .comment(&format!("{OBJECT_USER} on bucket {bucket} only."))
        .attr("bucket", Expr::string(bucket))
        .attr("role", Expr::string(OBJECT_USER))
        .attr("member", Expr::string(&member));
    if let Some(c) = &condition {
        let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
        bucket_block = bucket_block.block(
            Block::nested("condition")
                .attr("title", Expr::string(&text("title")))
                .attr("description", Expr::string(&text("description")))
                .attr("expression", Expr::string(&text("expression"))),
        );
    }
    let mut terraform = vec![bucket_block];

    let account_id = format!("projects/{project}/serviceAccounts/{service_account}");
    for subject in &ctx.subjects {
        let kubernetes = format!(
            "serviceAccount:{pool_project}.svc.id.goog[{}/{}]",
            ctx.namespace, subject.service_account
        );
        documents.push(IamDocument {
            kind: IamDocumentKind::GcpServiceAccountBinding,
            grant: ctx.grant,
            name: format!("{}-{}", ctx.id(), subject.service_account),
            description: format!(
                "lets Kubernetes service account {} ({}) of namespace {} act as {service_account}",
                subject.service_account, subject.purpose, ctx.namespace
            ),
            document: json!({
                "serviceAccount": account_id,
                "role": WORKLOAD_IDENTITY_USER,
                "member": kubernetes,
            }),
        });
        terraform.push(
            Block::resource(
                "google_service_account_iam_member",
                &identifier(&format!("{}-{}", ctx.id(), subject.service_account)),
            )
            .comment(&format!(
                "{} ({}) may act as {service_account}.",
                subject.service_account, subject.purpose
            ))
            .attr("service_account_id", Expr::string(&account_id))
            .attr("role", Expr::string(WORKLOAD_IDENTITY_USER))
            .attr("member", Expr::string(&kubernetes)),
        );
    }

    let mut notes = Vec::new();
    if condition.is_some() {
        notes.push(format!(
            "IAM conditions on a bucket need uniform bucket-level access on {bucket}; listing is bucket-wide (names, not contents)"
        ));
    }
    if let Some(key) = ctx.kms_key.as_deref() {
        notes.push(format!(
            "Cloud KMS: the bucket project's Cloud Storage service agent needs roles/cloudkms.cryptoKeyEncrypterDecrypter on {key}; {service_account} needs no key permission"
        ));
    }
    Ok(Output {
        documents,
        terraform,
        notes,
    })
}
