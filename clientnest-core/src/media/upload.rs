//! An upload's bytes, checked as they stream: the real format from the magic bytes, the image
//! dimensions from the header, the size limit, and a SHA-256 of everything stored.

use std::fmt;

use bytes::{Bytes, BytesMut};
use futures::stream::{BoxStream, Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::format::MediaFormat;
use super::limits::MediaLimits;
use crate::error::{Error, store};
use crate::model::Dimensions;

/// A stream of bytes, as uploads take them and downloads give them.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// How many bytes are read before the format is decided (unless the file is shorter).
const SNIFF_BYTES: usize = 512;
/// How far into a file an image's dimensions are looked for (JPEG metadata can come first).
const MAX_HEADER_BYTES: usize = 1 << 20;

/// One upload: a declared content type and a stream of bytes, checked while they stream.
///
/// A backend reads it with [`Upload::next_chunk`] until `None`, storing each chunk, then calls
/// [`Upload::finish`] for what was checked. Nothing leaves `next_chunk` unchecked: the first
/// chunk comes out only once the bytes are known to be the declared format (and, for images,
/// their dimensions are read and within limits), and no chunk comes out that would take the
/// upload past its size limit. When `next_chunk` fails, the backend must discard what it
/// stored (abort its multipart upload), so a refused upload leaves no object.
///
/// ```
/// use clientnest_core::media::Upload;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut up = Upload::from_bytes("image/png", b"<html><script>alert(1)</script></html>".to_vec())?;
/// let err = up.next_chunk().await.unwrap_err();
/// assert_eq!(err.rule(), Some("content_mismatch"));
/// # Ok::<(), clientnest_core::Error>(())
/// # }).unwrap();
/// ```
pub struct Upload {
    format: MediaFormat,
    limits: MediaLimits,
    body: ByteStream,
    head: BytesMut,
    verified: bool,
    ended: bool,
    size: u64,
    hasher: ContentHasher,
    dimensions: Option<Dimensions>,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("format", &self.format)
            .field("limits", &self.limits)
            .field("size", &self.size)
            .field("verified", &self.verified)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// What an upload was found to be once all of it streamed through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// The format, read from the bytes (equal to the declared one).
    pub format: MediaFormat,
    /// The number of bytes stored.
    pub size: u64,
    /// SHA-256 of the bytes, 64 lowercase hex characters (`post_media.content_hash`).
    pub sha256: String,
    /// Pixel size read from an image's or GIF's header; `None` for video.
    pub dimensions: Option<Dimensions>,
}

impl Upload {
    /// An upload of `body` declared as `content_type` (`image/png`, `video/mp4`, ...), with the
    /// default [`MediaLimits`]. A content type that is not an accepted [`MediaFormat`] is a
    /// [`Error::Validation`] (`unsupported_content_type`).
    pub fn new(
        content_type: &str,
        body: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    ) -> Result<Upload, Error> {
        Ok(Upload {
            format: MediaFormat::from_content_type(content_type)?,
            limits: MediaLimits::default(),
            body: body.boxed(),
            head: BytesMut::new(),
            verified: false,
            ended: false,
            size: 0,
            hasher: ContentHasher::default(),
            dimensions: None,
        })
    }

    /// An upload of bytes already in memory.
    pub fn from_bytes(content_type: &str, bytes: impl Into<Bytes>) -> Result<Upload, Error> {
        Upload::new(content_type, futures::stream::iter([Ok(bytes.into())]))
    }

    /// The same upload checked against `limits` (e.g. [`MediaLimits::for_platforms`]).
    pub fn with_limits(mut self, limits: MediaLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The declared format, which the bytes must turn out to be.
    pub fn format(&self) -> MediaFormat {
        self.format
    }

    /// The size cap of this upload, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.limits.bytes_for(self.format.media_type())
    }

    /// The next checked chunk, or `None` at the end. Errors: [`Error::Validation`] on `content`
    /// (`content_mismatch`, `empty`, `too_large`, `dimensions_unreadable`,
    /// `dimensions_too_large`), or [`Error::Backend`] when the body stream itself failed. After
    /// an error the upload is over; discard what was stored.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            if self.ended {
                if !self.verified {
                    self.verify(true)?;
                    self.verified = true;
                    return Ok(Some(self.head.split().freeze()));
                }
                return Ok(None);
            }
            match self.body.next().await {
                None => self.ended = true,
                Some(Err(e)) => {
                    self.ended = true;
                    self.verified = true;
                    return Err(Error::backend(store::LOCAL, UploadBodyFailed(e)));
                }
                Some(Ok(chunk)) if chunk.is_empty() => {}
                Some(Ok(chunk)) => {
                    self.account(&chunk)?;
                    if self.verified {
                        return Ok(Some(chunk));
                    }
                    self.head.extend_from_slice(&chunk);
                    if self.verify(false)? {
                        self.verified = true;
                        return Ok(Some(self.head.split().freeze()));
                    }
                }
            }
        }
    }

    /// What was checked, once [`Upload::next_chunk`] has returned `None`; before that, an
    /// [`Error::Backend`] (a backend that stops reading early has a bug).
    pub fn finish(self) -> Result<Inspected, Error> {
        if !(self.ended && self.verified && self.head.is_empty()) {
            return Err(Error::backend(store::LOCAL, "upload finished before all of its bytes were read"));
        }
        Ok(Inspected {
            format: self.format,
            size: self.size,
            sha256: hex::encode(self.hasher.finish()?),
            dimensions: self.dimensions,
        })
    }

    /// Count and hash a chunk, refusing it when it takes the upload past its limit.
    fn account(&mut self, chunk: &Bytes) -> Result<(), Error> {
        let max = self.max_bytes();
        self.size = self.size.saturating_add(chunk.len() as u64);
        if self.size > max {
            self.ended = true;
            self.verified = true;
            return Err(Error::invalid(
                "content",
                "too_large",
                format!("a {} file may hold at most {max} bytes", self.format.media_type()),
            ));
        }
        self.hasher.update(chunk);
        Ok(())
    }

    /// Whether the head shows the declared format (and readable dimensions); `Ok(false)` while
    /// more bytes are needed to tell.
    fn verify(&mut self, at_end: bool) -> Result<bool, Error> {
        if self.head.is_empty() {
            return Err(Error::invalid("content", "empty", "the upload has no bytes"));
        }
        if self.head.len() < SNIFF_BYTES && !at_end {
            return Ok(false);
        }
        let found = MediaFormat::sniff(&self.head);
        if found != Some(self.format) {
            let what = found.map_or("none of the accepted formats", MediaFormat::mime);
            return Err(Error::invalid(
                "content",
                "content_mismatch",
                format!("declared {} but the bytes are {what}", self.format.mime()),
            ));
        }
        if !self.format.has_readable_dimensions() {
            return Ok(true);
        }
        match imagesize::blob_size(&self.head) {
            Ok(size) => {
                let (w, h) = (u32::try_from(size.width).ok(), u32::try_from(size.height).ok());
                let max = self.limits.max_side_px;
                match (w, h) {
                    (Some(width), Some(height)) if width > 0 && height > 0 && width <= max && height <= max => {
                        self.dimensions = Some(Dimensions { width, height });
                        Ok(true)
                    }
                    (Some(_), Some(_)) if size.width > 0 && size.height > 0 => Err(Error::invalid(
                        "content",
                        "dimensions_too_large",
                        format!("{}x{} px: sides may be at most {max} px", size.width, size.height),
                    )),
                    _ if size.width > 0 && size.height > 0 => {
                        Err(Error::invalid("content", "dimensions_too_large", format!("sides may be at most {max} px")))
                    }
                    _ => Err(unreadable()),
                }
            }
            Err(_) if at_end || self.head.len() >= MAX_HEADER_BYTES => Err(unreadable()),
            Err(_) => Ok(false),
        }
    }
}

/// SHA-256 of an upload: computed inline for small uploads; past [`HASH_THREAD_AFTER`] bytes,
/// on a thread of its own fed through a channel, so hashing overlaps the store's writes instead
/// of adding to them (the chunks are shared `Bytes`, not copied).
#[derive(Default)]
enum ContentHasher {
    #[default]
    Idle,
    Inline(Sha256, usize),
    Threaded(std::sync::mpsc::Sender<Bytes>, std::thread::JoinHandle<[u8; 32]>),
}

/// Bytes hashed inline before hashing moves to its own thread.
const HASH_THREAD_AFTER: usize = 4 << 20;

impl ContentHasher {
    fn update(&mut self, chunk: &Bytes) {
        match self {
            ContentHasher::Idle => {
                let mut h = Sha256::new();
                h.update(chunk);
                *self = ContentHasher::Inline(h, chunk.len());
            }
            ContentHasher::Inline(h, n) if *n + chunk.len() <= HASH_THREAD_AFTER => {
                h.update(chunk);
                *n += chunk.len();
            }
            ContentHasher::Inline(h, n) => {
                let mut state = h.clone();
                let (tx, rx) = std::sync::mpsc::channel::<Bytes>();
                let spawned = std::thread::Builder::new().name("clientnest-sha256".into()).spawn(move || {
                    for part in rx {
                        state.update(&part);
                    }
                    state.finalize().into()
                });
                match spawned {
                    Ok(handle) => {
                        // The receiver lives until the sender is dropped: a send cannot fail.
                        let _ = tx.send(chunk.clone());
                        *self = ContentHasher::Threaded(tx, handle);
                    }
                    // No thread to be had: keep hashing inline.
                    Err(_) => {
                        h.update(chunk);
                        *n += chunk.len();
                    }
                }
            }
            ContentHasher::Threaded(tx, _) => {
                let _ = tx.send(chunk.clone());
            }
        }
    }

    fn finish(self) -> Result<[u8; 32], Error> {
        match self {
            ContentHasher::Idle => Ok(Sha256::digest([]).into()),
            ContentHasher::Inline(h, _) => Ok(h.finalize().into()),
            ContentHasher::Threaded(tx, handle) => {
                drop(tx);
                handle.join().map_err(|_| Error::backend(store::LOCAL, "the SHA-256 thread of an upload panicked"))
            }
        }
    }
}

fn unreadable() -> Error {
    Error::invalid("content", "dimensions_unreadable", "the image header gives no readable dimensions")
}

/// The upload's own byte stream failed (the client went away, a read error).
#[derive(Debug, thiserror::Error)]
#[error("reading the upload failed: {0}")]
struct UploadBodyFailed(#[source] std::io::Error);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::media::sample;

    async fn drain(mut up: Upload) -> Result<(Vec<u8>, Inspected), Error> {
        let mut out = Vec::new();
        while let Some(c) = up.next_chunk().await? {
            out.extend_from_slice(&c);
        }
        Ok((out, up.finish()?))
    }

    #[tokio::test]
    async fn a_png_streams_through_with_its_dimensions_and_hash() {
        let png = sample::png(3, 2);
        let chunks: Vec<std::io::Result<Bytes>> = png.chunks(7).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let (out, seen) = drain(Upload::new("image/png", futures::stream::iter(chunks)).unwrap()).await.unwrap();
        assert_eq!(out, png);
        assert_eq!(seen.dimensions, Some(Dimensions { width: 3, height: 2 }));
        assert_eq!(seen.size, png.len() as u64);
        assert_eq!(seen.sha256, hex::encode(Sha256::digest(&png)));
    }

    #[tokio::test]
    async fn claims_that_the_bytes_contradict_are_refused() {
        let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec();
        let elf = [b"\x7fELF\x02\x01\x01".as_slice(), &[0u8; 600]].concat();
        for (ct, body) in [
            ("image/png", svg),
            ("image/jpeg", elf),
            ("video/mp4", sample::png(1, 1)),
            ("image/gif", sample::png(1, 1)),
        ] {
            let err = drain(Upload::from_bytes(ct, body).unwrap()).await.unwrap_err();
            assert_eq!(err.rule(), Some("content_mismatch"), "{ct}");
        }
        assert_eq!(
            drain(Upload::from_bytes("image/png", Vec::new()).unwrap()).await.unwrap_err().rule(),
            Some("empty")
        );
    }

    #[tokio::test]
    async fn an_upload_over_its_limit_stops_before_the_chunk_that_crosses_it() {
        let limits = MediaLimits::default().with_video_bytes(10_000);
        let mut body = sample::mp4_header();
        body.resize(4_096, 0);
        let chunks = (0..10).map(move |_| Ok(Bytes::from(body.clone())));
        let mut up = Upload::new("video/mp4", futures::stream::iter(chunks)).unwrap().with_limits(limits);
        let mut passed = 0;
        let err = loop {
            match up.next_chunk().await {
                Ok(Some(c)) => passed += c.len(),
                Ok(None) => panic!("the limit was not enforced"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.rule(), Some("too_large"));
        assert!(passed <= 10_000, "{passed} bytes passed a 10,000-byte limit");
    }

    #[tokio::test]
    async fn huge_dimensions_are_refused() {
        let err = drain(Upload::from_bytes("image/png", sample::png(20_000, 1)).unwrap()).await.unwrap_err();
        assert_eq!(err.rule(), Some("dimensions_too_large"));
    }
}
