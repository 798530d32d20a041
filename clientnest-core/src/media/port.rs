//! The `MediaStore` port: post media objects, streamed in and out, listed per team or post,
//! with presigned URLs.

use std::fmt;
use std::ops::Range;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::stream::BoxStream;
use url::Url;

use super::key::{MediaKey, MediaPrefix};
use super::upload::{ByteStream, Inspected, Upload};
use crate::error::{Error, Result};
use crate::ids::TeamId;

/// Media objects of posts, on object storage (S3, local disk) or in memory.
///
/// Every call takes the caller's team and refuses a key outside that team's prefix
/// ([`MediaKey::check_team`]). Uploads are checked while they stream ([`Upload`]): a refused or
/// failed upload, or one whose future is dropped half-way, leaves no object. Keys are fresh
/// ([`MediaKey::new`]); a put to an existing key replaces it.
#[async_trait]
pub trait MediaStore: Send + Sync {
    /// Stream `upload` into `key`, checking it as it goes; the key's format must be the
    /// upload's declared one (else `Validation`, rule `key_format_mismatch`).
    async fn put(&self, team: TeamId, key: &MediaKey, upload: Upload) -> Result<StoredMedia>;
    /// The object's bytes, all of them or a [`ByteRange`]; `NotFound` (entity `media`) when
    /// absent; a range starting at or past the end is `Validation` (`range_not_satisfiable`).
    async fn get(&self, team: TeamId, key: &MediaKey, range: Option<ByteRange>) -> Result<MediaDownload>;
    /// The object's size and times, without its bytes; `NotFound` when absent.
    async fn head(&self, team: TeamId, key: &MediaKey) -> Result<MediaMeta>;
    /// Delete the object; deleting an absent object is not an error.
    async fn delete(&self, team: TeamId, key: &MediaKey) -> Result<()>;
    /// Every object under `prefix`, in no set order. Objects whose path is not a
    /// [`MediaKey`] (put there by something else) are skipped.
    fn list(&self, prefix: MediaPrefix) -> BoxStream<'_, Result<MediaMeta>>;
    /// A URL that lets its bearer GET or PUT the object without credentials until it expires,
    /// `expires_in` from now (1 second to 7 days, else `Validation`, `expiry_out_of_range`).
    /// On S3 it is an S3 signature; on local disk and in memory an HMAC-signed URL that the
    /// application serves after [`PresignedUrlVerifier::verify_presigned`].
    async fn presign(
        &self,
        team: TeamId,
        key: &MediaKey,
        method: PresignMethod,
        expires_in: Duration,
    ) -> Result<PresignedUrl>;
    /// The object's address as stored in `post_media.file_url` (unsigned: for a public bucket
    /// or CDN in front of it; private objects are shared with [`MediaStore::presign`]).
    fn url(&self, key: &MediaKey) -> Url;
}

/// Stores whose presigned URLs the application serves itself (local disk, memory): the
/// verifier of their HMAC-signed URLs.
pub trait PresignedUrlVerifier {
    /// The key a presigned URL grants `method` on, when its signature is valid and it has not
    /// expired; else [`Error::Crypto`] (`SignatureMismatch`, `PresignedUrlExpired`,
    /// `MalformedPresignedUrl`). A PUT is then served with [`MediaStore::put`], so its bytes
    /// are checked like any upload.
    fn verify_presigned(&self, method: PresignMethod, url: &Url) -> Result<MediaKey>;
}

/// What a successful put stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMedia {
    /// Where it is.
    pub key: MediaKey,
    /// What its bytes were checked to be: format, size, SHA-256 and dimensions.
    pub inspected: Inspected,
}

/// An object's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaMeta {
    /// Its key.
    pub key: MediaKey,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written (UTC; the store's resolution, at least seconds).
    pub last_modified: DateTime<Utc>,
}

impl MediaMeta {
    /// The content type it is served with (from its checked format).
    pub fn content_type(&self) -> &'static str {
        self.key.format().mime()
    }
}

/// An object's bytes, streaming.
pub struct MediaDownload {
    /// The object's metadata (its whole size, even for a range).
    pub meta: MediaMeta,
    /// The byte range the body holds (`0..size` without a range).
    pub range: Range<u64>,
    /// The bytes.
    pub body: ByteStream,
}

impl fmt::Debug for MediaDownload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaDownload").field("meta", &self.meta).field("range", &self.range).finish_non_exhaustive()
    }
}

impl MediaDownload {
    /// Read the whole body into memory (for small objects and tests).
    pub async fn bytes(self) -> Result<Vec<u8>> {
        use futures::TryStreamExt;
        let chunks: Vec<bytes::Bytes> =
            self.body.try_collect().await.map_err(|e| Error::backend(crate::error::store::LOCAL, e))?;
        Ok(chunks.concat())
    }
}

/// A byte range of an object to read: `start..end` (end excluded) or `start..` to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    start: u64,
    end: Option<u64>,
}

impl ByteRange {
    /// Bytes `start..end`; an empty or reversed range is `Validation` (`invalid_range`).
    pub fn new(start: u64, end: u64) -> Result<ByteRange> {
        if start >= end {
            return Err(Error::invalid("range", "invalid_range", format!("{start}..{end} holds no byte")));
        }
        Ok(ByteRange { start, end: Some(end) })
    }

    /// Bytes from `start` to the end.
    pub fn from_offset(start: u64) -> ByteRange {
        ByteRange { start, end: None }
    }

    /// The range within an object of `size` bytes: the end is clamped to the size; a start at
    /// or past the end is `Validation` (`range_not_satisfiable`), as HTTP answers 416.
    pub fn within(&self, size: u64) -> Result<Range<u64>> {
        if self.start >= size {
            return Err(Error::invalid(
                "range",
                "range_not_satisfiable",
                format!("the object has {size} bytes; the range starts at {}", self.start),
            ));
        }
        Ok(self.start..self.end.map_or(size, |e| e.min(size)))
    }
}

/// What a presigned URL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresignMethod {
    /// Download the object.
    Get,
    /// Upload the object (its bytes are checked when the application serves the PUT; on S3,
    /// the client writes to the bucket directly, so check the object before attaching it).
    Put,
}

impl PresignMethod {
    /// `GET` or `PUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            PresignMethod::Get => "GET",
            PresignMethod::Put => "PUT",
        }
    }
}

/// A presigned URL and what it grants until when.
#[derive(Clone, PartialEq, Eq)]
pub struct PresignedUrl {
    /// The URL; it is a bearer credential until it expires, so it is not shown by `Debug`.
    pub url: Url,
    /// The method it allows.
    pub method: PresignMethod,
    /// When it stops working (UTC, whole seconds).
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for PresignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresignedUrl")
            .field(
                "url",
                &format_args!(
                    "{}://{}{} (signed, redacted)",
                    self.url.scheme(),
                    self.url.host_str().unwrap_or(""),
                    self.url.path()
                ),
            )
            .field("method", &self.method)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The longest a presigned URL may live: 7 days, S3's own limit.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::days(7);

/// `Ok` when a presigned URL's lifetime is between 1 second and [`MAX_PRESIGN_EXPIRY`]; every
/// backend checks it the same way.
pub fn check_expiry(expires_in: Duration) -> Result<()> {
    if expires_in < Duration::seconds(1) || expires_in > MAX_PRESIGN_EXPIRY {
        return Err(Error::invalid("expires_in", "expiry_out_of_range", "a presigned URL lives 1 second to 7 days"));
    }
    Ok(())
}

/// The checks every backend's [`MediaStore::put`] makes before reading a byte: the key is the
/// team's and names the upload's declared format.
pub fn check_put(team: TeamId, key: &MediaKey, upload: &Upload) -> Result<()> {
    key.check_team(team)?;
    if key.format() != upload.format() {
        return Err(Error::invalid(
            "key",
            "key_format_mismatch",
            format!("the key names {} but the upload declares {}", key.format(), upload.format()),
        ));
    }
    Ok(())
}
