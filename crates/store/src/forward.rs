//! [`Forward`]: the one `ObjectStore` that passes calls through to a client, for the stores
//! that change a few of its calls ([`Overrides`]): GCS uploads over the JSON API, Azure suffix
//! reads via a head.

use std::fmt;

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// The calls a store changes; every one it leaves alone goes to [`Overrides::inner`].
#[async_trait]
pub(crate) trait Overrides: fmt::Debug + fmt::Display + Send + Sync + 'static {
    /// The client every call not overridden goes to.
    fn inner(&self) -> &dyn ObjectStore;

    async fn put_opts(&self, to: &Path, body: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.inner().put_opts(to, body, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner().get_opts(location, options).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner().copy_opts(from, to, options).await
    }
}

/// `T`'s overrides, and its inner client for the rest. Renames keep `ObjectStore`'s own
/// copy-then-delete, so they go through the overridden copy.
#[derive(Debug)]
pub(crate) struct Forward<T>(pub T);

impl<T: Overrides> fmt::Display for Forward<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[async_trait]
impl<T: Overrides> ObjectStore for Forward<T> {
    async fn put_opts(&self, to: &Path, body: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.0.put_opts(to, body, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.0.inner().put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.0.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.0.inner().delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.0.inner().list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.0.inner().list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.0.inner().list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.0.copy_opts(from, to, options).await
    }
}
