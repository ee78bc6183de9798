//! GCP: the Google service account's binding on the bucket, and the Kubernetes service
//! accounts' right to impersonate it (GKE Workload Identity).

use serde_json::{Value, json};

use super::hcl::{Block, Expr, identifier};
use super::{Context, IamDocument, IamDocumentKind, IamError, Output};

/// Read, write, list and delete objects (and multipart uploads); no bucket settings, no IAM.
pub(super) const OBJECT_USER: &str = "roles/storage.objectUser";
/// Setting an object's retention at upload: in no predefined role short of
/// `roles/storage.objectAdmin` (which also holds `storage.objects.overrideUnlockedRetention`,
/// the right to shorten or remove an unlocked retention) or `roles/storage.admin`; not in
/// `roles/storage.objectUser`. A custom role grants it alone.
pub(super) const SET_RETENTION: &str = "storage.objects.setRetention";
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
    let binding = bucket_binding(bucket, OBJECT_USER, &member, condition.as_ref());
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
    let mut terraform = vec![
        bucket_binding_block(
            &id,
            bucket,
            Expr::string(OBJECT_USER),
            &member,
            condition.as_ref(),
            "",
        )
        .comment(&format!("{OBJECT_USER} on bucket {bucket} only.")),
    ];

    if let Some(mode) = ctx.object_lock {
        // Immutable backups: every upload but lock files carries a retention.
        let bucket_project = ctx.iam.bucket_project.as_deref().unwrap_or(project);
        let role_id: String = format!("thinledger_{}_{}_retention", ctx.id(), ctx.what())
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(64)
            .collect();
        let role_name = format!("projects/{bucket_project}/roles/{role_id}");
        let title = format!("thinledger {} retention of {}", ctx.what_plural(), ctx.id());
        let description = format!(
            "sets the retention of new objects ({mode} mode); never shortens or removes one ({} is not granted)",
            "storage.objects.overrideUnlockedRetention"
        );
        documents.push(IamDocument {
            kind: IamDocumentKind::GcpCustomRole,
            grant: ctx.grant,
            name: role_name.clone(),
            description: format!(
                "a custom role of project {bucket_project} with {SET_RETENTION} only: {OBJECT_USER} lacks it, and the predefined roles that hold it also hold storage.objects.overrideUnlockedRetention"
            ),
            document: json!({
                "project": bucket_project,
                "roleId": role_id,
                "title": title,
                "description": description,
                "includedPermissions": [SET_RETENTION],
                "stage": "GA",
            }),
        });
        let retention = bucket_binding(bucket, &role_name, &member, condition.as_ref());
        documents.push(IamDocument {
            kind: IamDocumentKind::GcpBucketBinding,
            grant: ctx.grant,
            name: format!("{bucket}-{}-retention", ctx.id()),
            description: format!(
                "gives {service_account} {role_name} on bucket {bucket}, limited like the binding above"
            ),
            document: retention,
        });
        let role_ref = identifier(&format!("{}-{}-retention", ctx.id(), ctx.what()));
        terraform.push(
            Block::resource("google_project_iam_custom_role", &role_ref)
                .comment(&format!(
                    "{SET_RETENTION} alone: {OBJECT_USER} lacks it, storage.objectAdmin could also shorten retention."
                ))
                .attr("project", Expr::string(bucket_project))
                .attr("role_id", Expr::string(&role_id))
                .attr("title", Expr::string(&title))
                .attr("description", Expr::string(&description))
                .attr("permissions", Expr::strings(&[SET_RETENTION])),
        );
        let role = Expr::raw(format!("google_project_iam_custom_role.{role_ref}.name"));
        terraform.push(
            bucket_binding_block(
                &role_ref,
                bucket,
                role,
                &member,
                condition.as_ref(),
                "-retention",
            )
            .comment(&format!("The retention role on bucket {bucket} only.")),
        );
    }

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
    if ctx.object_lock.is_some() && ctx.iam.bucket_project.is_none() {
        notes.push(format!(
            "the retention role is created in project {project} (the service account's): a project's custom role is granted on that project's buckets only, so set backup.iam.bucket_project if {bucket} lives elsewhere"
        ));
    }
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

/// A bucket binding's fields as the API names them: `role` for `member` on `bucket`, limited by
/// the IAM `condition` when there is one.
fn bucket_binding(bucket: &str, role: &str, member: &str, condition: Option<&Value>) -> Value {
    let mut binding = json!({
        "bucket": bucket,
        "role": role,
        "member": member,
    });
    if let Some(c) = condition {
        binding["condition"] = c.clone();
    }
    binding
}

/// The Terraform of a bucket binding ([`bucket_binding`]), resource `id`, its condition's title
/// followed by `title_suffix`.
fn bucket_binding_block(
    id: &str,
    bucket: &str,
    role: Expr,
    member: &str,
    condition: Option<&Value>,
    title_suffix: &str,
) -> Block {
    let block = Block::resource("google_storage_bucket_iam_member", id)
        .attr("bucket", Expr::string(bucket))
        .attr("role", role)
        .attr("member", Expr::string(member));
    let Some(c) = condition else {
        return block;
    };
    let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
    block.block(
        Block::nested("condition")
            .attr(
                "title",
                Expr::string(&format!("{}{title_suffix}", text("title"))),
            )
            .attr("description", Expr::string(&text("description")))
            .attr("expression", Expr::string(&text("expression"))),
    )
}
