//! `copy`: snapshots into another repository (e.g. in another cloud).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use thinledger_backup::Repository;
use thinledger_cli::EXIT_OK;

use crate::context::{Globals, read_password, store_for};
use crate::output::{human_bytes, print_data};

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Destination repository URL. It must exist: create it with
    /// `ledger-backup -r URL init --copy-chunker-params --from-repo SOURCE` so that it chunks
    /// files as the source does.
    #[arg(long, value_name = "URL")]
    to: String,
    /// Password file of the destination (default: the source's password).
    #[arg(long, value_name = "FILE", conflicts_with = "to_password_command")]
    to_password_file: Option<PathBuf>,
    /// Command printing the destination's password.
    #[arg(long, value_name = "CMD")]
    to_password_command: Option<String>,
    /// Snapshots to copy (default: all the destination lacks).
    #[arg(value_name = "SNAPSHOT")]
    snapshots: Vec<String>,
}

pub async fn run(g: &Globals, a: &CopyArgs) -> anyhow::Result<u8> {
    let src = g.open().await?;
    let dst_password = if a.to_password_file.is_some() || a.to_password_command.is_some() {
        read_password(
            a.to_password_file.as_ref(),
            a.to_password_command.as_deref(),
            "destination",
        )?
    } else {
        g.password()?
    };
    let (store, shown) = store_for(&a.to).await.context("--to")?;
    let dst = match Repository::open(store.object_store(), shown.clone(), &dst_password).await {
        Ok(r) => Arc::new(r.with_object_lock(store.object_lock().cloned())),
        // Creating a repository stays an explicit step (as in restic): a mistyped --to must
        // not make a new bucket prefix; the error gives the command that makes a good one.
        Err(e @ thinledger_backup::Error::NoRepository { .. }) => {
            return Err(anyhow::Error::new(e).context(format!(
                "--to {shown}: no repository there; create one that deduplicates with the source first: \
                 ledger-backup -r '{}' init --copy-chunker-params --from-repo '{}' (add --from-password-file FILE when the passwords differ)",
                a.to,
                g.repo_url()?
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let s = thinledger_backup::copy(&src, &dst, &a.snapshots).await?;
    print_data(g, &s, |out| {
        for (from, to) in &s.copied {
            writeln!(out, "copied {} -> {} in {shown}", from.short(), to.short())?;
        }
        writeln!(
            out,
            "{} copied, {} already there; {} blobs, {} transferred",
            s.copied.len(),
            s.skipped.len(),
            s.blobs,
            human_bytes(s.bytes)
        )
    })?;
    Ok(EXIT_OK as u8)
}
