//! Size limits per media type and per platform, enforced while an upload streams.

use crate::model::{MediaType, Platform};

const MB: u64 = 1_000_000;
const GB: u64 = 1_000_000_000;

/// The largest file accepted for each media type, and the largest image side.
///
/// [`MediaLimits::for_platforms`] is the strictest of the target platforms' published limits
/// (each with its source below); with no platform, [`MediaLimits::default`] applies. An upload
/// over its limit is refused as soon as its bytes pass the limit, before the rest is stored.
///
/// | platform | image | GIF | video | source |
/// |---|---|---|---|---|
/// | X (Twitter) | 5 MB | 15 MB | 512 MB | X API, media upload best practices |
/// | Instagram | 8 MB | 8 MB | 1 GB | Meta, Instagram content publishing (image 8 MB; reels 1 GB) |
/// | Facebook | 4 MB | 4 MB | 1 GB | Meta, Graph API photo uploads ("photos under 4MB"); PostEverywhere media requirements (video) |
/// | LinkedIn | 20 MB | 20 MB | 5 GB | PostEverywhere media requirements |
/// | TikTok | 2 MB | 2 MB | 500 MB | PostEverywhere media requirements |
/// | YouTube | – | – | 256 GB | YouTube Help, upload limits (videos only) |
/// | Pinterest | 20 MB | 20 MB | 2 GB | PostEverywhere media requirements |
///
/// MB and GB are decimal (10^6, 10^9 bytes), as the platforms publish them. Limits were read in
/// 2026; platforms change them, so an application may set its own with the `with_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaLimits {
    /// Largest still image (JPEG, PNG, WebP), in bytes.
    pub image_bytes: u64,
    /// Largest GIF, in bytes.
    pub gif_bytes: u64,
    /// Largest video, in bytes.
    pub video_bytes: u64,
    /// Largest width or height of an image or GIF, in pixels (decompression bombs).
    pub max_side_px: u32,
}

impl Default for MediaLimits {
    /// With no target platform: images and GIFs up to 20 MB, videos up to 1 GiB, sides up to
    /// 16,384 px.
    fn default() -> Self {
        MediaLimits { image_bytes: 20 * MB, gif_bytes: 20 * MB, video_bytes: 1 << 30, max_side_px: 16_384 }
    }
}

impl MediaLimits {
    /// One platform's published limits (see the table); a type the platform does not take
    /// (images on YouTube) keeps the default, since whether a post's media suit its platforms
    /// is checked with the post, not here.
    pub fn for_platform(platform: Platform) -> MediaLimits {
        let d = MediaLimits::default();
        let (image, gif, video) = match platform {
            Platform::Twitter => (5 * MB, 15 * MB, 512 * MB),
            Platform::Instagram => (8 * MB, 8 * MB, GB),
            Platform::Facebook => (4 * MB, 4 * MB, GB),
            Platform::LinkedIn => (20 * MB, 20 * MB, 5 * GB),
            Platform::TikTok => (2 * MB, 2 * MB, 500 * MB),
            Platform::YouTube => (d.image_bytes, d.gif_bytes, 256 * GB),
            Platform::Pinterest => (20 * MB, 20 * MB, 2 * GB),
        };
        MediaLimits { image_bytes: image, gif_bytes: gif, video_bytes: video, max_side_px: d.max_side_px }
    }

    /// The strictest limits of `platforms`; [`MediaLimits::default`] when there are none.
    pub fn for_platforms(platforms: &[Platform]) -> MediaLimits {
        let mut it = platforms.iter().map(|p| MediaLimits::for_platform(*p));
        let Some(first) = it.next() else { return MediaLimits::default() };
        it.fold(first, |a, b| MediaLimits {
            image_bytes: a.image_bytes.min(b.image_bytes),
            gif_bytes: a.gif_bytes.min(b.gif_bytes),
            video_bytes: a.video_bytes.min(b.video_bytes),
            max_side_px: a.max_side_px.min(b.max_side_px),
        })
    }

    /// The same limits with another image size cap, in bytes.
    pub fn with_image_bytes(mut self, bytes: u64) -> Self {
        self.image_bytes = bytes;
        self
    }

    /// The same limits with another GIF size cap, in bytes.
    pub fn with_gif_bytes(mut self, bytes: u64) -> Self {
        self.gif_bytes = bytes;
        self
    }

    /// The same limits with another video size cap, in bytes.
    pub fn with_video_bytes(mut self, bytes: u64) -> Self {
        self.video_bytes = bytes;
        self
    }

    /// The same limits with another cap on an image's width and height, in pixels.
    pub fn with_max_side_px(mut self, px: u32) -> Self {
        self.max_side_px = px;
        self
    }

    /// The size cap, in bytes, of a file of `media_type`.
    pub fn bytes_for(&self, media_type: MediaType) -> u64 {
        match media_type {
            MediaType::Image => self.image_bytes,
            MediaType::Gif => self.gif_bytes,
            MediaType::Video => self.video_bytes,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_strictest_platform_wins() {
        let x_and_ig = MediaLimits::for_platforms(&[Platform::Instagram, Platform::Twitter]);
        assert_eq!(x_and_ig.image_bytes, 5 * MB);
        assert_eq!(x_and_ig.gif_bytes, 8 * MB);
        assert_eq!(x_and_ig.video_bytes, 512 * MB);
        assert_eq!(MediaLimits::for_platforms(&[]), MediaLimits::default());
        assert_eq!(MediaLimits::for_platform(Platform::Twitter).bytes_for(MediaType::Gif), 15 * MB);
    }
}
