//! A multipart upload that is aborted unless it completes: on an error, and when it is dropped
//! unfinished (a cancelled future, at any point including while it completes), in which case
//! the abort is spawned on the runtime.
//!
//! It drives `object_store`'s [`MultipartUpload`] itself (parts of a fixed size, at most
//! `concurrency` in flight on a [`JoinSet`]) rather than through
//! [`WriteMultipart`](object_store::WriteMultipart), whose `finish` consumes the upload: the
//! guard must keep hold of the upload until it completed, to be able to abort it.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayloadMut, PutResult};
use tokio::task::JoinSet;

use super::error::BackupError;

pub(crate) struct GuardedUpload {
    /// `None` once completed or aborted.
    upload: Option<Box<dyn MultipartUpload>>,
    parts: JoinSet<object_store::Result<()>>,
    buffer: PutPayloadMut,
    part_size: usize,
    concurrency: usize,
    path: Path,
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
            upload: Some(upload),
            parts: JoinSet::new(),
            buffer: PutPayloadMut::new(),
            part_size: part_size.max(1),
            concurrency: concurrency.max(1),
            path: path.clone(),
        })
    }

    /// Queue `bytes`; each time a part is full it is sent, after waiting until fewer than
    /// `concurrency` parts are in flight (so memory stays bounded by about
    /// `(concurrency + 1) * part_size`).
    pub(crate) async fn write(&mut self, mut bytes: Bytes) -> Result<(), BackupError> {
        while !bytes.is_empty() {
            let room = self.part_size - self.buffer.content_length();
            if bytes.len() < room {
                self.buffer.push(bytes);
                return Ok(());
            }
            self.buffer.push(bytes.split_to(room));
            self.send_part().await?;
        }
        Ok(())
    }

    /// Send the buffered bytes as one part, once there is room for it.
    async fn send_part(&mut self) -> Result<(), BackupError> {
        while self.parts.len() >= self.concurrency {
            self.join_one().await?;
        }
        let payload = std::mem::take(&mut self.buffer).freeze();
        let Some(upload) = self.upload.as_mut() else { return Err(self.gone()) };
        self.parts.spawn(upload.put_part(payload));
        Ok(())
    }

    /// Wait for one part in flight.
    async fn join_one(&mut self) -> Result<(), BackupError> {
        match self.parts.join_next().await {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(BackupError::store(&self.path)(e)),
            Some(Err(join)) => Err(BackupError::io(format!("uploading a part of {}", self.path))(join.into())),
        }
    }

    fn gone(&self) -> BackupError {
        BackupError::Io {
            context: format!("uploading {}", self.path),
            source: std::io::Error::other("the upload was already completed or aborted"),
        }
    }

    /// Send the last part, wait for every part, and complete the upload. On failure the upload
    /// is aborted.
    pub(crate) async fn finish(&mut self) -> Result<PutResult, BackupError> {
        let result = self.complete().await;
        if result.is_err() {
            self.abort().await;
        }
        result
    }

    async fn complete(&mut self) -> Result<PutResult, BackupError> {
        if !self.buffer.is_empty() {
            self.send_part().await?;
        }
        while !self.parts.is_empty() {
            self.join_one().await?;
        }
        let Some(upload) = self.upload.as_mut() else { return Err(self.gone()) };
        let put = upload.complete().await.map_err(BackupError::store(&self.path))?;
        self.upload = None;
        Ok(put)
    }

    /// Abort the upload, deleting the parts already uploaded.
    pub(crate) async fn abort(&mut self) {
        self.parts.shutdown().await;
        if let Some(mut upload) = self.upload.take()
            && let Err(e) = upload.abort().await
        {
            tracing::warn!(path = %self.path, error = %e, "aborting the multipart upload failed");
        }
    }
}

impl Drop for GuardedUpload {
    fn drop(&mut self) {
        let Some(mut upload) = self.upload.take() else { return };
        self.parts.abort_all();
        let path = self.path.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                tracing::warn!(%path, "multipart upload dropped unfinished; aborting it");
                rt.spawn(async move {
                    if let Err(e) = upload.abort().await {
                        tracing::warn!(%path, error = %e, "aborting the dropped multipart upload failed");
                    }
                });
            }
            Err(_) => tracing::warn!(%path, "multipart upload dropped outside a runtime; it was not aborted"),
        }
    }
}
