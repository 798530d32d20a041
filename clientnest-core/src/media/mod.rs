//! Post media on object storage: the [`MediaStore`] port, keys per team
//! ([`MediaKey`]), uploads checked while they stream ([`Upload`]: the real format from the
//! magic bytes, image dimensions, size limits per media type and platform, a SHA-256), signed
//! URLs for stores without their own ([`UrlSigner`]), and [`MediaService`], which keeps objects
//! and `post_media` rows consistent.
//!
//! The in-memory store is [`MemoryMediaStore`](crate::memory::MemoryMediaStore); S3, local
//! disk and `object_store`'s memory are in `clientnest-s3`. Every one passes
//! [`media_conformance!`](crate::media_conformance).
//!
//! ```
//! use std::sync::Arc;
//! use clientnest_core::media::{MediaService, sample};
//! use clientnest_core::memory::{MemoryMediaStore, MemoryStore};
//! use clientnest_core::prelude::*;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let repos = Arc::new(MemoryStore::new());
//! let ada = repos.create_user(NewUser::new("ada@example.com", hash_password(&Secret::new("correct horse"))?, "Ada", "L")).await?;
//! let (team, _) = repos.create_team(NewTeam::new("Engines", ada.id, PlanType::Starter)).await?;
//! let post = repos.create_post(team.id, NewPost::draft(ada.id, "Look at this")).await?;
//!
//! let media = MediaService::new(Arc::new(MemoryMediaStore::new()), repos.clone());
//! let png = sample::png(4, 3);
//! let item = media.upload_bytes(team.id, post.post.id, "image/png", png.clone(), "a gradient").await?;
//! assert_eq!(item.dimensions, Some(Dimensions { width: 4, height: 3 }));
//! assert_eq!(item.file_size, png.len() as i64);
//!
//! // A "PNG" that is really HTML is refused, and nothing is stored or attached.
//! let fake = b"<html><script>steal()</script></html>".to_vec();
//! let err = media.upload_bytes(team.id, post.post.id, "image/png", fake, "").await.unwrap_err();
//! assert_eq!(err.rule(), Some("content_mismatch"));
//! assert_eq!(repos.get_post(team.id, post.post.id).await?.media.len(), 1);
//! # Ok::<(), clientnest_core::Error>(())
//! # }).unwrap();
//! ```

mod format;
mod key;
mod limits;
mod port;
pub mod sample;
mod service;
mod signing;
mod upload;

pub use format::MediaFormat;
pub use key::{MediaKey, MediaPrefix};
pub use limits::MediaLimits;
pub use port::{
    ByteRange, MAX_PRESIGN_EXPIRY, MediaDownload, MediaMeta, MediaStore, PresignMethod, PresignedUrl,
    PresignedUrlVerifier, StoredMedia, check_expiry, check_put,
};
pub use service::{MediaService, PostDeletion, SweepReport};
pub use signing::UrlSigner;
pub use upload::{ByteStream, Inspected, Upload};
