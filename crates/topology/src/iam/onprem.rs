//! On-prem: the MinIO policy of the user whose keys the tenant's Secret holds (MinIO reads
//! AWS's policy grammar, with `arn:aws:s3:::` resources).

use serde_json::json;

use super::aws::{scope_text, storage_statements};
use super::hcl::{Block, Expr, identifier};
use super::{Context, IamDocument, IamDocumentKind, IamError, IamGrant, Output};

pub(super) fn documents(ctx: &Context, secret_name: &str) -> Result<Output, IamError> {
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": storage_statements("aws", ctx.grant, ctx.bucket(), &ctx.prefixes, ctx.object_lock),
    });
    let name = match ctx.grant {
        IamGrant::Backups => format!("{}-ledger-backup", ctx.id()),
        IamGrant::TieredStorage => format!("{}-redpanda", ctx.id()),
    };
    let scope = scope_text(ctx.grant, ctx.bucket(), &ctx.prefixes);
    let documents = vec![IamDocument {
        kind: IamDocumentKind::MinioPolicy,
        grant: ctx.grant,
        name: name.clone(),
        description: format!(
            "lets the MinIO user of Secret {secret_name} list, read, write and delete {} under {scope}{} — nothing else",
            ctx.contents(),
            if ctx.object_lock.is_some() {
                ", and set their Object Lock retention"
            } else {
                ""
            }
        ),
        document: policy.clone(),
    }];
    let terraform = vec![
        Block::resource("minio_iam_policy", &identifier(&name))
            .comment(&format!(
                "Attach to the MinIO user whose keys Secret {secret_name} holds (mc admin policy attach ALIAS {name} --user USER)."
            ))
            .attr("name", Expr::string(&name))
            .attr("policy", Expr::jsonencode(&policy)),
    ];
    let notes = vec![format!(
        "attach policy {name} to the MinIO user whose access key Secret {secret_name} holds, and to no other policy: MinIO grants the union of a user's policies"
    )];
    Ok(Output {
        documents,
        terraform,
        notes,
    })
}
