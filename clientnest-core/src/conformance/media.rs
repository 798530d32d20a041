//! Conformance of [`MediaStore`]s: round trips, ranges, listing per team and post, tenancy of
//! keys, uploads refused or failed or dropped half-way leaving nothing, large multipart uploads,
//! and presigned URLs (working, expired, tampered), fetched through the harness's
//! [`PresignedClient`].
//!
//! Registered by [`media_conformance!`](crate::media_conformance); `S:` [`MediaStore`] +
//! [`PresignedClient`]. Stores that serve their own signed URLs are wrapped by
//! [`served_locally`]; others pair with an HTTP client in [`WithClient`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Duration;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use url::Url;

use super::Harness;
use crate::error::{CryptoFailure, Error, Result};
use crate::ids::{PostId, TeamId};
use crate::media::{
    ByteRange, MediaDownload, MediaFormat, MediaKey, MediaLimits, MediaMeta, MediaPrefix, MediaStore, PresignMethod,
    PresignedUrl, PresignedUrlVerifier, StoredMedia, Upload, sample,
};

/// How a test uses a presigned URL as a client without credentials would.
#[async_trait]
pub trait PresignedClient: Send + Sync {
    /// Send `method` to `url` (with `body` and its content type for a PUT). `Ok` with the
    /// response body when the store served it; `Err` with the reason when it refused.
    async fn fetch(
        &self,
        method: PresignMethod,
        url: &Url,
        body: Option<(&'static str, Bytes)>,
    ) -> Result<Vec<u8>, String>;
}

/// A store that serves its own HMAC-signed URLs, as an application does: verify, then get or
/// put through the store (a PUT's bytes checked like any upload).
#[derive(Debug, Clone)]
pub struct ServedLocally<S>(pub Arc<S>);

#[async_trait]
impl<S: MediaStore + PresignedUrlVerifier + Send + Sync> PresignedClient for ServedLocally<S> {
    async fn fetch(
        &self,
        method: PresignMethod,
        url: &Url,
        body: Option<(&'static str, Bytes)>,
    ) -> Result<Vec<u8>, String> {
        let key = self.0.verify_presigned(method, url).map_err(|e| e.to_string())?;
        match (method, body) {
            (PresignMethod::Get, _) => {
                let got = self.0.get(key.team(), &key, None).await.map_err(|e| e.to_string())?;
                got.bytes().await.map_err(|e| e.to_string())
            }
            (PresignMethod::Put, Some((ct, bytes))) => {
                let upload = Upload::from_bytes(ct, bytes).map_err(|e| e.to_string())?;
                self.0.put(key.team(), &key, upload).await.map_err(|e| e.to_string())?;
                Ok(Vec::new())
            }
            (PresignMethod::Put, None) => Err("a PUT needs a body".to_owned()),
        }
    }
}

/// A store and the client that fetches its presigned URLs, as one harness store: the
/// [`MediaStore`] calls go to `store`, the fetches to `client`.
#[derive(Debug, Clone)]
pub struct WithClient<S, C> {
    /// The store under test.
    pub store: Arc<S>,
    /// How its presigned URLs are fetched.
    pub client: C,
}

#[async_trait]
impl<S: Send + Sync, C: PresignedClient> PresignedClient for WithClient<S, C> {
    async fn fetch(
        &self,
        method: PresignMethod,
        url: &Url,
        body: Option<(&'static str, Bytes)>,
    ) -> Result<Vec<u8>, String> {
        self.client.fetch(method, url, body).await
    }
}

#[async_trait]
impl<S: MediaStore, C: Send + Sync> MediaStore for WithClient<S, C> {
    async fn put(&self, team: TeamId, key: &MediaKey, upload: Upload) -> Result<StoredMedia> {
        self.store.put(team, key, upload).await
    }
    async fn get(&self, team: TeamId, key: &MediaKey, range: Option<ByteRange>) -> Result<MediaDownload> {
        self.store.get(team, key, range).await
    }
    async fn head(&self, team: TeamId, key: &MediaKey) -> Result<MediaMeta> {
        self.store.head(team, key).await
    }
    async fn delete(&self, team: TeamId, key: &MediaKey) -> Result<()> {
        self.store.delete(team, key).await
    }
    fn list(&self, prefix: MediaPrefix) -> BoxStream<'_, Result<MediaMeta>> {
        self.store.list(prefix)
    }
    async fn presign(
        &self,
        team: TeamId,
        key: &MediaKey,
        method: PresignMethod,
        expires_in: Duration,
    ) -> Result<PresignedUrl> {
        self.store.presign(team, key, method, expires_in).await
    }
    fn url(&self, key: &MediaKey) -> Url {
        self.store.url(key)
    }
}

/// Wrap a store that serves its own signed URLs for the harness.
pub fn served_locally<S: MediaStore + PresignedUrlVerifier + Send + Sync>(
    store: Arc<S>,
) -> WithClient<S, ServedLocally<S>> {
    WithClient { store: Arc::clone(&store), client: ServedLocally(store) }
}

const MIB: usize = 1 << 20;

fn png_key(team: TeamId) -> MediaKey {
    MediaKey::new(team, PostId::new(), MediaFormat::Png)
}

async fn put_png<S: MediaStore + ?Sized>(store: &S, key: &MediaKey, png: &[u8]) -> StoredMedia {
    let upload = Upload::from_bytes("image/png", png.to_vec()).expect("a PNG content type");
    store.put(key.team(), key, upload).await.expect("a valid PNG is stored")
}

async fn keys_under<S: MediaStore + ?Sized>(store: &S, prefix: MediaPrefix) -> Vec<MediaKey> {
    let mut keys: Vec<MediaKey> = store.list(prefix).map_ok(|m| m.key).try_collect().await.expect("listing works");
    keys.sort();
    keys
}

/// A video body: an MP4 header, then `total` bytes in all, in chunks of `chunk` bytes; the
/// counter tells how many chunks the store pulled.
fn video_body(
    total: usize,
    chunk: usize,
    pulled: Arc<AtomicUsize>,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let n = total.div_ceil(chunk);
    stream::iter(0..n).map(move |i| {
        pulled.fetch_add(1, Ordering::SeqCst);
        let len = chunk.min(total - i * chunk);
        let mut part = vec![(i % 251) as u8; len];
        if i == 0 {
            let header = sample::mp4_header();
            part[..header.len()].copy_from_slice(&header);
        }
        Ok(Bytes::from(part))
    })
}

fn rule(r: Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(e) => e.rule().map_or_else(|| format!("{e:?}"), str::to_owned),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// Put, head, get, delete: the bytes, size, hash, dimensions and content type round-trip; a
/// missing object is `NotFound` for get and head, and deleting it is not an error.
pub async fn media_put_get_head_delete<S: MediaStore + PresignedClient + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let key = png_key(team);
    let png = sample::png(5, 4);
    let stored = put_png(s, &key, &png).await;
    assert_eq!(stored.key, key);
    assert_eq!(stored.inspected.size, png.len() as u64);
    assert_eq!(stored.inspected.sha256, hex::encode(Sha256::digest(&png)));
    assert_eq!(stored.inspected.dimensions.map(|d| (d.width, d.height)), Some((5, 4)));
    let meta = s.head(team, &key).await.expect("head of a stored object");
    assert_eq!((meta.size, meta.content_type()), (png.len() as u64, "image/png"));
    let got = s.get(team, &key, None).await.expect("get of a stored object");
    assert_eq!(got.range, 0..png.len() as u64);
    assert_eq!(got.bytes().await.expect("body"), png);
    s.delete(team, &key).await.expect("delete");
    assert!(matches!(s.head(team, &key).await, Err(Error::NotFound { .. })));
    assert!(matches!(s.get(team, &key, None).await, Err(Error::NotFound { .. })));
    s.delete(team, &key).await.expect("deleting an absent object is not an error");
    assert!(s.url(&key).as_str().ends_with(key.as_str()));
}

/// Ranges: bounded, open-ended, an end past the size clamped, a start past the end refused.
pub async fn media_get_ranges<S: MediaStore + PresignedClient + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let key = png_key(team);
    let png = sample::png(16, 16);
    put_png(s, &key, &png).await;
    let n = png.len() as u64;
    let part = |r| s.get(team, &key, Some(r));
    let got = part(ByteRange::new(3, 11).expect("range")).await.expect("bounded range");
    assert_eq!(got.range, 3..11);
    assert_eq!(got.meta.size, n);
    assert_eq!(got.bytes().await.expect("body"), png[3..11]);
    let got = part(ByteRange::from_offset(n - 5)).await.expect("open range");
    assert_eq!(got.bytes().await.expect("body"), png[png.len() - 5..]);
    let got = part(ByteRange::new(n - 2, n + 100).expect("range")).await.expect("clamped range");
    assert_eq!(got.range, n - 2..n);
    assert_eq!(got.bytes().await.expect("body"), png[png.len() - 2..]);
    assert_eq!(rule(part(ByteRange::from_offset(n)).await), "range_not_satisfiable");
    assert_eq!(rule(ByteRange::new(5, 5)), "invalid_range");
}

/// Listing per team and per post finds exactly those objects; another team's are not listed.
pub async fn media_list_per_team_and_post<S: MediaStore + PresignedClient + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let (team, other) = (TeamId::new(), TeamId::new());
    let (p1, p2) = (PostId::new(), PostId::new());
    let png = sample::png(1, 1);
    let mut mine = Vec::new();
    for post in [p1, p1, p2] {
        let key = MediaKey::new(team, post, MediaFormat::Png);
        put_png(s, &key, &png).await;
        mine.push(key);
    }
    let theirs = MediaKey::new(other, p1, MediaFormat::Png);
    put_png(s, &theirs, &png).await;
    mine.sort();
    assert_eq!(keys_under(s, MediaPrefix::Team(team)).await, mine);
    let of_p1: Vec<_> = mine.iter().filter(|k| k.post() == p1).cloned().collect();
    assert_eq!(keys_under(s, MediaPrefix::Post(team, p1)).await, of_p1);
    assert_eq!(keys_under(s, MediaPrefix::Team(other)).await, vec![theirs.clone()]);
    let all = keys_under(s, MediaPrefix::AllTeams).await;
    assert!(mine.iter().chain([&theirs]).all(|k| all.contains(k)));
    let meta: Vec<MediaMeta> = s.list(MediaPrefix::Post(team, p2)).try_collect().await.expect("list");
    assert_eq!(meta.len(), 1);
    assert_eq!(meta[0].size, png.len() as u64);
}

/// Every call with a key outside the caller's team is refused (`media_key_outside_team`) and
/// changes nothing; a key naming another format than the upload is refused too.
pub async fn media_keys_outside_the_team_are_refused<S: MediaStore + PresignedClient + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let (team, intruder) = (TeamId::new(), TeamId::new());
    let key = png_key(team);
    let png = sample::png(2, 2);
    put_png(s, &key, &png).await;
    let outside = "media_key_outside_team";
    let upload = || Upload::from_bytes("image/png", sample::png(3, 3)).expect("upload");
    assert_eq!(rule(s.put(intruder, &key, upload()).await), outside);
    assert_eq!(rule(s.get(intruder, &key, None).await), outside);
    assert_eq!(rule(s.head(intruder, &key).await), outside);
    assert_eq!(rule(s.delete(intruder, &key).await), outside);
    assert_eq!(rule(s.presign(intruder, &key, PresignMethod::Get, Duration::minutes(1)).await), outside);
    assert_eq!(s.get(team, &key, None).await.expect("still there").bytes().await.expect("body"), png);
    let jpeg_key = MediaKey::new(team, PostId::new(), MediaFormat::Jpeg);
    assert_eq!(rule(s.put(team, &jpeg_key, upload()).await), "key_format_mismatch");
    assert!(keys_under(s, MediaPrefix::Post(team, jpeg_key.post())).await.is_empty());
}

/// Bytes that contradict the declared type (HTML or SVG with script as a PNG, an executable as
/// a JPEG, a PNG as a video) are refused with `content_mismatch`, and nothing is stored.
pub async fn media_content_mismatch_is_refused<S: MediaStore + PresignedClient + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let post = PostId::new();
    let html = b"<!DOCTYPE html><html><body><script>document.location='//evil'</script></body></html>".to_vec();
    let svg =
        b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    let elf = [b"\x7fELF\x02\x01\x01\x00".as_slice(), &[0u8; 1024]].concat();
    let pe = [b"MZ\x90\x00\x03\x00\x00\x00".as_slice(), &[0u8; 1024]].concat();
    for (format, body) in [
        (MediaFormat::Png, html),
        (MediaFormat::Png, svg.clone()),
        (MediaFormat::Jpeg, elf),
        (MediaFormat::Gif, pe),
        (MediaFormat::Mp4, sample::png(2, 2)),
        (MediaFormat::Webp, sample::gif(2, 2)),
    ] {
        let key = MediaKey::new(team, post, format);
        let upload = Upload::from_bytes(format.mime(), body).expect("upload");
        assert_eq!(rule(s.put(team, &key, upload).await), "content_mismatch", "{format}");
    }
    assert_eq!(rule(Upload::from_bytes("image/svg+xml", svg)), "unsupported_content_type");
    assert!(keys_under(s, MediaPrefix::Post(team, post)).await.is_empty());
}

/// An upload over its limit is refused (`too_large`) as soon as it passes the limit: the
/// store stops pulling the body long before its end, and nothing is stored.
pub async fn media_oversized_upload_is_aborted_early<S: MediaStore + PresignedClient + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let key = MediaKey::new(team, PostId::new(), MediaFormat::Mp4);
    let pulled = Arc::new(AtomicUsize::new(0));
    let limits = MediaLimits::default().with_video_bytes(12 * MIB as u64);
    let body = video_body(200 * MIB, MIB, Arc::clone(&pulled));
    let upload = Upload::new("video/mp4", body).expect("upload").with_limits(limits);
    assert_eq!(rule(s.put(team, &key, upload).await), "too_large");
    let n = pulled.load(Ordering::SeqCst);
    assert!(n <= 13, "the store pulled {n} chunks of 1 MiB past a 12 MiB limit");
    assert!(keys_under(s, MediaPrefix::Team(team)).await.is_empty());
}

/// A body that fails half-way (after more than one multipart part) leaves no object.
pub async fn media_failed_body_leaves_nothing<S: MediaStore + PresignedClient + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let key = MediaKey::new(team, PostId::new(), MediaFormat::Mp4);
    let good = video_body(20 * MIB, MIB, Arc::new(AtomicUsize::new(0)));
    let body =
        good.chain(stream::iter([Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client went away"))]));
    let err = s.put(team, &key, Upload::new("video/mp4", body).expect("upload")).await.expect_err("a failed body");
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    assert!(matches!(s.head(team, &key).await, Err(Error::NotFound { .. })));
    assert!(keys_under(s, MediaPrefix::Team(team)).await.is_empty());
}

/// An upload whose future is dropped half-way (the request was cancelled) leaves no object.
pub async fn media_dropped_upload_leaves_nothing<S: MediaStore + PresignedClient + ?Sized + 'static>(h: &Harness<S>) {
    let store = Arc::clone(&h.store);
    let team = TeamId::new();
    let key = MediaKey::new(team, PostId::new(), MediaFormat::Mp4);
    let pulled = Arc::new(AtomicUsize::new(0));
    let body = video_body(20 * MIB, MIB, Arc::clone(&pulled)).chain(stream::pending());
    let upload = Upload::new("video/mp4", body).expect("upload");
    let put_key = key.clone();
    let task = tokio::spawn(async move { store.put(team, &put_key, upload).await.map(|_| ()) });
    for _ in 0..600 {
        if pulled.load(Ordering::SeqCst) >= 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(pulled.load(Ordering::SeqCst), 20, "the store did not read the body");
    task.abort();
    let _ = task.await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let s = &*h.store;
    assert!(matches!(s.head(team, &key).await, Err(Error::NotFound { .. })));
    assert!(keys_under(s, MediaPrefix::Team(team)).await.is_empty());
}

/// A 40 MiB video streamed in 1 MiB chunks (several multipart parts) round-trips byte for
/// byte, with its size and hash.
pub async fn media_large_upload_round_trips<S: MediaStore + PresignedClient + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let key = MediaKey::new(team, PostId::new(), MediaFormat::Mp4);
    let total = 40 * MIB + 12_345;
    let expected: Vec<u8> = video_body(total, MIB, Arc::new(AtomicUsize::new(0)))
        .map_ok(|b| b.to_vec())
        .try_concat()
        .await
        .expect("the body");
    let upload = Upload::new("video/mp4", video_body(total, MIB, Arc::new(AtomicUsize::new(0)))).expect("upload");
    let stored = s.put(team, &key, upload).await.expect("a large video is stored");
    assert_eq!(stored.inspected.size, total as u64);
    assert_eq!(stored.inspected.sha256, hex::encode(Sha256::digest(&expected)));
    assert_eq!(stored.inspected.dimensions, None);
    let got = s.get(team, &key, None).await.expect("get");
    let mut hasher = Sha256::new();
    let mut body = got.body;
    let mut n = 0usize;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("chunk");
        n += chunk.len();
        hasher.update(&chunk);
    }
    assert_eq!(n, total);
    assert_eq!(hex::encode(hasher.finalize()), stored.inspected.sha256);
}

/// A presigned GET serves the object to a client without credentials; a presigned PUT stores
/// what the client sends.
pub async fn media_presigned_get_and_put<S: MediaStore + PresignedClient + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let key = png_key(team);
    let png = sample::png(6, 6);
    put_png(s, &key, &png).await;
    let get = s.presign(team, &key, PresignMethod::Get, Duration::minutes(10)).await.expect("presign GET");
    assert_eq!(get.method, PresignMethod::Get);
    assert!(get.expires_at > chrono::Utc::now());
    assert_eq!(s.fetch(PresignMethod::Get, &get.url, None).await.expect("a fresh URL works"), png);
    let new_key = png_key(team);
    let put = s.presign(team, &new_key, PresignMethod::Put, Duration::minutes(10)).await.expect("presign PUT");
    let other = sample::png(2, 9);
    s.fetch(PresignMethod::Put, &put.url, Some(("image/png", Bytes::from(other.clone()))))
        .await
        .expect("a presigned PUT");
    assert_eq!(s.get(team, &new_key, None).await.expect("stored").bytes().await.expect("body"), other);
    assert_eq!(rule(s.presign(team, &key, PresignMethod::Get, Duration::days(8)).await), "expiry_out_of_range");
    assert_eq!(rule(s.presign(team, &key, PresignMethod::Get, Duration::zero()).await), "expiry_out_of_range");
}

/// An expired presigned URL, one with an altered signature, and a GET URL used for a PUT are
/// refused.
pub async fn media_presigned_urls_expire_and_resist_tampering<S: MediaStore + PresignedClient + ?Sized>(
    h: &Harness<S>,
) {
    let s = &*h.store;
    let team = TeamId::new();
    let key = png_key(team);
    put_png(s, &key, &sample::png(3, 3)).await;
    let url = s.presign(team, &key, PresignMethod::Get, Duration::seconds(1)).await.expect("presign").url;
    let tampered: Url = {
        let mut u = url.clone();
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.to_ascii_lowercase().contains("signature") { flip_hex(&v) } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
        u
    };
    assert!(s.fetch(PresignMethod::Get, &tampered, None).await.is_err(), "an altered signature was accepted");
    let png = sample::png(1, 1);
    assert!(
        s.fetch(PresignMethod::Put, &url, Some(("image/png", Bytes::from(png)))).await.is_err(),
        "a GET URL allowed a PUT"
    );
    h.time.advance(Duration::milliseconds(2_500)).await;
    let expired = s.fetch(PresignMethod::Get, &url, None).await;
    assert!(expired.is_err(), "an expired URL was served");
    let _ = CryptoFailure::PresignedUrlExpired;
}

fn flip_hex(v: &str) -> String {
    let mut chars: Vec<char> = v.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == '0' { '1' } else { '0' };
    }
    chars.into_iter().collect()
}
