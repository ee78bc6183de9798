//! Suffix range reads (`GetRange::Suffix`, "the last n bytes") for stores without them.
//!
//! Azure Blob has no suffix ranges and `object_store`'s Azure client refuses them. A restic
//! pack's header length sits in its last four bytes, so readers ask for suffixes; this wrapper
//! answers them with a head and a bounded range pinned to the head's e-tag, so the two requests
//! cannot straddle an overwrite. Every other call goes straight through.

use std::fmt;

use async_trait::async_trait;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, GetResult, ObjectStore, ObjectStoreExt, Result};

use super::forward::Overrides;

#[derive(Debug)]
pub(crate) struct SuffixViaHead<T>(pub T);

impl<T: ObjectStore> fmt::Display for SuffixViaHead<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[async_trait]
impl<T: ObjectStore> Overrides for SuffixViaHead<T> {
    fn inner(&self) -> &dyn ObjectStore {
        &self.0
    }

    async fn get_opts(&self, location: &Path, mut options: GetOptions) -> Result<GetResult> {
        if let Some(GetRange::Suffix(n)) = options.range {
            let meta = self.0.head(location).await?;
            options.range = Some(GetRange::Bounded(meta.size.saturating_sub(n)..meta.size));
            if options.if_match.is_none() {
                options.if_match = meta.e_tag;
            }
        }
        self.0.get_opts(location, options).await
    }
}
