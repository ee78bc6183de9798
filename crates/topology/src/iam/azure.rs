//! Azure: the role assignment of the managed identity on the backup container, and (workload
//! identity) one federated identity credential per service account and cluster.

use serde_json::json;

use super::hcl::{Block, Expr, identifier};
use super::{Context, IamDocument, IamDocumentKind, IamError, Output};

/// The built-in role that reads, writes and deletes blobs (and nothing of the account).
pub(super) const BLOB_DATA_CONTRIBUTOR: &str = "Storage Blob Data Contributor";
const BLOB_DATA_CONTRIBUTOR_ID: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
/// The data action of Set Blob Immutability Policy (and of an upload that carries
/// `x-ms-immutability-policy-*` headers): "Write Blob legal hold and immutability policy".
/// Storage Blob Data Contributor lacks it; Storage Blob Data Owner holds it among everything
/// else (`blobs/*`, ACLs and ownership), so a custom role grants it alone.
pub(super) const IMMUTABILITY_DATA_ACTION: &str = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/runAsSuperUser/action";
/// The audience Azure AD's token exchange expects of a Kubernetes token.
pub(super) const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

fn required<'a>(value: Option<&'a String>, field: &str, fix: &str) -> Result<&'a str, IamError> {
    value.map(String::as_str).ok_or_else(|| {
        IamError::missing(
            field,
            "the role assignment is scoped to the container's resource id, and names the managed identity",
            fix,
        )
    })
}

pub(super) fn documents(
    ctx: &Context,
    client_id: &str,
    federated: bool,
) -> Result<Output, IamError> {
    let iam = &ctx.iam;
    let subscription = required(
        iam.subscription_id.as_ref(),
        "backup.iam.subscription_id",
        "add backup.iam.subscription_id: <GUID> (`az storage account show -n ACCOUNT --query id`)",
    )?;
    let group = required(
        iam.resource_group.as_ref(),
        "backup.iam.resource_group",
        "add backup.iam.resource_group: <the storage account's resource group>",
    )?;
    let account = required(
        ctx.account.0.as_ref(),
        ctx.account.1,
        &format!("add {}: <storage account name>", ctx.account.1),
    )?;
    let identity_field = format!("{}.identity_name", ctx.iam_field);
    let identity_name = required(
        iam.identity_name.as_ref(),
        &identity_field,
        &format!(
            "add {identity_field}: <name of the managed identity with client id {client_id}> (`az identity list --query \"[?clientId=='{client_id}'].name\"`)"
        ),
    )?;
    let identity_group = iam.identity_resource_group.as_deref().unwrap_or(group);
    let container = ctx.bucket();
    let scope = format!(
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{account}/blobServices/default/containers/{container}"
    );
    let identity_id = format!(
        "/subscriptions/{subscription}/resourceGroups/{identity_group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{identity_name}"
    );

    let assignment = json!({
        "scope": scope,
        "role": BLOB_DATA_CONTRIBUTOR,
        "roleDefinitionId": format!(
            "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_DATA_CONTRIBUTOR_ID}"
        ),
        "assignee": client_id,
        "assigneePrincipalType": "ServicePrincipal",
        "assigneeIdentity": identity_id,
    });
    let mut documents = vec![IamDocument {
        kind: IamDocumentKind::AzureRoleAssignment,
        grant: ctx.grant,
        name: format!("{identity_name}-blob-data"),
        description: format!(
            "gives managed identity {identity_name} ({client_id}) {BLOB_DATA_CONTRIBUTOR} on container {container} of account {account} only (az role assignment create --assignee … --role … --scope …)"
        ),
        document: assignment,
    }];

    let id = identifier(&format!("{}-{}", ctx.id(), ctx.what()));
    let data_ref = format!("data.azurerm_user_assigned_identity.{id}");
    let mut terraform = vec![
        Block::data("azurerm_user_assigned_identity", &id)
            .comment(&format!(
                "The managed identity the tenant binds (client id {client_id})."
            ))
            .attr("name", Expr::string(identity_name))
            .attr("resource_group_name", Expr::string(identity_group)),
        Block::resource("azurerm_role_assignment", &format!("{id}_blob_data"))
            .comment(&format!("{BLOB_DATA_CONTRIBUTOR} on container {container} only."))
            .attr("scope", Expr::string(&scope))
            .attr("role_definition_name", Expr::string(BLOB_DATA_CONTRIBUTOR))
            .attr("principal_id", Expr::raw(format!("{data_ref}.principal_id")))
            .attr("principal_type", Expr::string("ServicePrincipal"))
            .attr(
                "description",
                Expr::string(&format!("thinledger {} of {}", ctx.what_plural(), ctx.id())),
            )
            .block(
                Block::nested("lifecycle").block(
                    Block::nested("precondition")
                        .attr(
                            "condition",
                            Expr::raw(format!(
                                "lower({data_ref}.client_id) == {}",
                                super::hcl::quote(&client_id.to_ascii_lowercase())
                            )),
                        )
                        .attr(
                            "error_message",
                            Expr::string(&format!(
                                "managed identity {identity_name} is not the tenant's (client id {client_id})"
                            )),
                        ),
                ),
            ),
    ];

    if let Some(mode) = ctx.object_lock {
        // Immutable backups: every upload but lock files carries an immutability policy.
        let group_scope = format!("/subscriptions/{subscription}/resourceGroups/{group}");
        let role_name = format!("thinledger {} immutability {}", ctx.what_plural(), ctx.id());
        let description = format!(
            "sets the version-level immutability policy of new blobs ({mode} mode) in the container of thinledger {} of {}",
            ctx.what_plural(),
            ctx.id()
        );
        documents.push(IamDocument {
            kind: IamDocumentKind::AzureRoleDefinition,
            grant: ctx.grant,
            name: role_name.clone(),
            description: format!(
                "a custom role with the immutability-policy data action only ({BLOB_DATA_CONTRIBUTOR} lacks it; Storage Blob Data Owner holds it with ACL and ownership rights), assignable in resource group {group}"
            ),
            document: json!({
                "roleName": role_name,
                "description": description,
                "actions": [],
                "dataActions": [IMMUTABILITY_DATA_ACTION],
                "notDataActions": [],
                "assignableScopes": [group_scope],
            }),
        });
        documents.push(IamDocument {
            kind: IamDocumentKind::AzureRoleAssignment,
            grant: ctx.grant,
            name: format!("{identity_name}-immutability"),
            description: format!(
                "gives managed identity {identity_name} ({client_id}) role {role_name:?} on container {container} of account {account} only"
            ),
            document: json!({
                "scope": scope,
                "role": role_name,
                "assignee": client_id,
                "assigneePrincipalType": "ServicePrincipal",
                "assigneeIdentity": identity_id,
            }),
        });
        let role_ref = format!("{id}_immutability");
        terraform.push(
            Block::resource("azurerm_role_definition", &role_ref)
                .comment(&format!(
                    "The immutability-policy data action alone: {BLOB_DATA_CONTRIBUTOR} lacks it."
                ))
                .attr("name", Expr::string(&role_name))
                .attr("scope", Expr::string(&group_scope))
                .attr("description", Expr::string(&description))
                .block(
                    Block::nested("permissions")
                        .attr("data_actions", Expr::strings(&[IMMUTABILITY_DATA_ACTION])),
                )
                .attr("assignable_scopes", Expr::strings(&[group_scope.as_str()])),
        );
        terraform.push(
            Block::resource("azurerm_role_assignment", &role_ref)
                .comment(&format!(
                    "The immutability role on container {container} only."
                ))
                .attr("scope", Expr::string(&scope))
                .attr(
                    "role_definition_id",
                    Expr::raw(format!(
                        "azurerm_role_definition.{role_ref}.role_definition_resource_id"
                    )),
                )
                .attr(
                    "principal_id",
                    Expr::raw(format!("{data_ref}.principal_id")),
                )
                .attr("principal_type", Expr::string("ServicePrincipal")),
        );
    }

    let mut notes = vec![format!(
        "Azure scopes the role to the container: use a container per tenant{}",
        if ctx.prefixes.is_empty() {
            String::new()
        } else {
            format!(
                " (the prefixes {} are not enforced by Azure RBAC)",
                ctx.prefixes.join(", ")
            )
        }
    )];
    if ctx.object_lock == Some(super::ObjectLockMode::Governance) {
        notes.push(format!(
            "governance mode: Azure's immutability data action also deletes an unlocked (governance) policy, so {identity_name} could remove one and then the blob; use compliance (locked policies) where the backup identity must never shorten retention"
        ));
    }
    if federated {
        let issuers = ctx.issuers(
            "each federated identity credential trusts one cluster's OIDC issuer for one service account",
        )?;
        for t in &issuers {
            let (region, issuer) = (&t.region, &t.issuer);
            for subject in &t.subjects {
                let name = credential_name(&ctx.id(), &subject.service_account, region);
                let kubernetes = format!(
                    "system:serviceaccount:{}:{}",
                    ctx.namespace, subject.service_account
                );
                let credential = json!({
                    "name": name,
                    "identity": identity_id,
                    "issuer": issuer,
                    "subject": kubernetes,
                    "audiences": [TOKEN_EXCHANGE_AUDIENCE],
                });
                terraform.push(
                    Block::resource("azurerm_federated_identity_credential", &identifier(&name))
                        .comment(&format!(
                            "{} ({}) in region {region}'s cluster.",
                            subject.service_account, subject.purpose
                        ))
                        .attr("name", Expr::string(&name))
                        .attr("resource_group_name", Expr::string(identity_group))
                        .attr("parent_id", Expr::raw(format!("{data_ref}.id")))
                        .attr("audience", Expr::strings(&[TOKEN_EXCHANGE_AUDIENCE]))
                        .attr("issuer", Expr::string(issuer))
                        .attr("subject", Expr::string(&kubernetes)),
                );
                documents.push(IamDocument {
                    kind: IamDocumentKind::AzureFederatedCredential,
                    grant: ctx.grant,
                    name,
                    description: format!(
                        "lets service account {} ({}) of region {region}'s cluster sign in as {identity_name}",
                        subject.service_account, subject.purpose
                    ),
                    document: credential,
                });
            }
        }
        if documents
            .iter()
            .filter(|d| d.kind == IamDocumentKind::AzureFederatedCredential)
            .count()
            > 20
        {
            notes.push(
                "a managed identity holds at most 20 federated credentials: split the tenant's regions over several identities"
                    .to_owned(),
            );
        }
    } else {
        notes.push(format!(
            "azure-managed-identity: every pod on the node pool's nodes can use {identity_name}; prefer azure-workload-identity, which binds the identity to the service accounts"
        ));
    }
    Ok(Output {
        documents,
        terraform,
        notes,
    })
}

/// A federated credential's name: 3-120 letters, digits, '-' or '_'.
fn credential_name(id: &str, service_account: &str, region: &str) -> String {
    let name: String = format!("{id}-{service_account}-{region}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(120)
        .collect();
    name
}
