//! A multipart upload that is aborted unless it completes: on an error, and when it is dropped
//! unfinished (a cancelled future), in which case the abort is spawned on the runtime.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutResult, WriteMultipart};

use super::error::BackupError;

pub(crate) struct GuardedUpload {
    inner: Option<WriteMultipart>,
    path: Path,
    concurrency: usize,
}

impl GuardedUpload {
    /// Start a multipart upload to `path` in parts of `part_size` bytes with at most
    /// `concurrency` parts in flight.
    pub(crate) async fn start(
        store: &dyn ObjectStore,
        path: &Path,
        part_size: usize,
        concurrency: usize,
    ) -> Result<Self, BackupError> {
        let upload = store.put_multipart(path).await.map_err(BackupError::store(path))?;
        Ok(Self {
            inner: Some(WriteMultipart::new_with_chunk_size(upload, part_size)),
            path: path.clone(),
            concurrency: concurrency.max(1),
        })
    }

    /// Queue `bytes`, first waiting until fewer than `concurrency` parts are in flight (so memory
    /// stays bounded by about `(concurrency + 1) * part_size`).
    pub(crate) async fn write(&mut self, bytes: Bytes) -> Result<(), BackupError> {
        let Some(w) = self.inner.as_mut() else { return Ok(()) };
        w.wait_for_capacity(self.concurrency).await.map_err(BackupError::store(&self.path))?;
        w.put(bytes);
        Ok(())
    }

    /// Upload the last part and complete the upload (aborted by `object_store` if that fails).
    pub(crate) async fn finish(mut self) -> Result<PutResult, BackupError> {
        let Some(w) = self.inner.take() else {
            return Err(BackupError::Io {
                context: "finishing an upload".into(),
                source: std::io::Error::other("the upload was already finished"),
            });
        };
        w.finish().await.map_err(BackupError::store(&self.path))
    }

    /// Abort the upload, deleting the parts already uploaded.
    pub(crate) async fn abort(mut self) {
        if let Some(w) = self.inner.take()
            && let Err(e) = w.abort().await
        {
            tracing::warn!(path = %self.path, error = %e, "aborting the multipart upload failed");
        }
    }
}

impl Drop for GuardedUpload {
    fn drop(&mut self) {
        if let Some(w) = self.inner.take() {
            let path = self.path.clone();
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    tracing::warn!(%path, "multipart upload dropped unfinished; aborting it");
                    rt.spawn(async move {
                        if let Err(e) = w.abort().await {
                            tracing::warn!(%path, error = %e, "aborting the dropped multipart upload failed");
                        }
                    });
                }
                Err(_) => tracing::warn!(%path, "multipart upload dropped outside a runtime; it was not aborted"),
            }
        }
    }
}
