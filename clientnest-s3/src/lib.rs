//! # clientnest-s3
//!
//! ClientNest on object storage, over [`object_store`]:
//!
//! - [`ObjectMediaStore`]: post media on S3 (any S3-compatible endpoint, path-style or
//!   virtual-hosted), on local disk or in `object_store`'s memory, implementing
//!   [`MediaStore`](clientnest_core::media::MediaStore): uploads sniffed and size-limited
//!   while they stream, multipart with bounded memory, keys per team, presigned URLs (S3's own
//!   on S3, HMAC-signed on disk and in memory);
//! - [`backup`]: `pg_dump` of any PostgreSQL database streamed into a store, with a manifest of
//!   checksums and row counts from the dump's snapshot, optional client-side encryption,
//!   retention in the store, restores verified against the manifest and restore drills.
//!
//! Compose it with the post repository through
//! [`MediaService`](clientnest_core::media::MediaService), which keeps objects and
//! `post_media` rows consistent:
//!
//! ```
//! use std::sync::Arc;
//! use clientnest_core::media::{MediaService, MediaStore, MediaPrefix, UrlSigner, sample};
//! use clientnest_core::memory::MemoryStore;
//! use clientnest_core::prelude::*;
//! use clientnest_s3::ObjectMediaStore;
//! use futures::TryStreamExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let repos = Arc::new(MemoryStore::new());
//! let ada = repos.create_user(NewUser::new("ada@example.com", hash_password(&Secret::new("correct horse"))?, "Ada", "L")).await?;
//! let (team, _) = repos.create_team(NewTeam::new("Engines", ada.id, PlanType::Starter)).await?;
//! let post = repos.create_post(team.id, NewPost::draft(ada.id, "Look")).await?.post.id;
//!
//! // On S3: ObjectMediaStore::s3(&S3Config::from_env().unwrap())?; here, a folder would do too.
//! let signer = UrlSigner::random("https://media.example.com/".parse().unwrap())?;
//! let store = Arc::new(ObjectMediaStore::in_memory(signer));
//! let media = MediaService::new(store.clone(), repos.clone());
//!
//! let item = media.upload_bytes(team.id, post, "image/png", sample::png(32, 32), "a gradient").await?;
//! assert!(item.file_url.starts_with("https://media.example.com/teams/"));
//! assert_eq!(item.content_hash.as_ref().map(String::len), Some(64));
//!
//! // Deleting the post deletes its objects.
//! media.delete_post(team.id, post).await?;
//! let left: Vec<_> = store.list(MediaPrefix::Team(team.id)).try_collect().await?;
//! assert!(left.is_empty());
//! # Ok::<(), clientnest_core::Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]

pub mod backup;
pub mod config;
pub mod media;

pub use config::S3Config;
pub use media::ObjectMediaStore;
