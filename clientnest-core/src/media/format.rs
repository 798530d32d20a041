//! The media formats ClientNest accepts, and how each is recognised from its bytes.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::model::MediaType;

/// A file format accepted for post media. The format is always read from the file's own bytes
/// ([`MediaFormat::sniff`]); a declared content type is only a claim that must match them.
///
/// SVG is deliberately absent: no supported platform takes it, and it can carry script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum MediaFormat {
    /// JPEG image (`image/jpeg`, `.jpg`).
    Jpeg,
    /// PNG image (`image/png`, `.png`).
    Png,
    /// WebP image (`image/webp`, `.webp`).
    Webp,
    /// GIF, still or animated (`image/gif`, `.gif`); its media type is [`MediaType::Gif`].
    Gif,
    /// MPEG-4 video (`video/mp4`, `.mp4`).
    Mp4,
    /// QuickTime video (`video/quicktime`, `.mov`).
    QuickTime,
    /// WebM video (`video/webm`, `.webm`).
    Webm,
}

impl MediaFormat {
    /// Every accepted format.
    pub const ALL: [MediaFormat; 7] = [
        MediaFormat::Jpeg,
        MediaFormat::Png,
        MediaFormat::Webp,
        MediaFormat::Gif,
        MediaFormat::Mp4,
        MediaFormat::QuickTime,
        MediaFormat::Webm,
    ];

    /// The MIME type stored with the object and served with it.
    pub fn mime(self) -> &'static str {
        match self {
            MediaFormat::Jpeg => "image/jpeg",
            MediaFormat::Png => "image/png",
            MediaFormat::Webp => "image/webp",
            MediaFormat::Gif => "image/gif",
            MediaFormat::Mp4 => "video/mp4",
            MediaFormat::QuickTime => "video/quicktime",
            MediaFormat::Webm => "video/webm",
        }
    }

    /// The file extension of keys holding this format (no dot).
    pub fn extension(self) -> &'static str {
        match self {
            MediaFormat::Jpeg => "jpg",
            MediaFormat::Png => "png",
            MediaFormat::Webp => "webp",
            MediaFormat::Gif => "gif",
            MediaFormat::Mp4 => "mp4",
            MediaFormat::QuickTime => "mov",
            MediaFormat::Webm => "webm",
        }
    }

    /// The `post_media.media_type` of a file in this format.
    pub fn media_type(self) -> MediaType {
        match self {
            MediaFormat::Jpeg | MediaFormat::Png | MediaFormat::Webp => MediaType::Image,
            MediaFormat::Gif => MediaType::Gif,
            MediaFormat::Mp4 | MediaFormat::QuickTime | MediaFormat::Webm => MediaType::Video,
        }
    }

    /// Whether the header carries pixel dimensions that must be readable (images and GIFs).
    pub fn has_readable_dimensions(self) -> bool {
        !matches!(self.media_type(), MediaType::Video)
    }

    /// The format a key's extension names (`jpg`, `png`, ...; lowercase only).
    pub fn from_extension(ext: &str) -> Option<MediaFormat> {
        MediaFormat::ALL.into_iter().find(|f| f.extension() == ext)
    }

    /// The format of a declared content type: `image/png`, `IMAGE/PNG; charset=x` and
    /// `image/jpg` are accepted spellings; anything else (including `image/svg+xml`) is a
    /// [`Error::Validation`] with rule `unsupported_content_type` on `content_type`.
    pub fn from_content_type(content_type: &str) -> Result<MediaFormat, Error> {
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let found = match essence.as_str() {
            "image/jpg" | "image/pjpeg" => Some(MediaFormat::Jpeg),
            other => MediaFormat::ALL.into_iter().find(|f| f.mime() == other),
        };
        found.ok_or_else(|| {
            Error::invalid(
                "content_type",
                "unsupported_content_type",
                format!(
                    "content type {:?} is not accepted (jpeg, png, webp, gif, mp4, quicktime or webm)",
                    truncate(content_type, 100)
                ),
            )
        })
    }

    /// The format the bytes are, read from their magic numbers (`None` when they are none of
    /// the accepted formats: HTML, SVG, an executable, a PDF, or too few bytes to tell).
    pub fn sniff(head: &[u8]) -> Option<MediaFormat> {
        let kind = infer::get(head)?;
        match kind.mime_type() {
            "image/jpeg" => Some(MediaFormat::Jpeg),
            "image/png" => Some(MediaFormat::Png),
            "image/webp" => Some(MediaFormat::Webp),
            "image/gif" => Some(MediaFormat::Gif),
            "video/mp4" | "video/x-m4v" => Some(MediaFormat::Mp4),
            "video/quicktime" => Some(MediaFormat::QuickTime),
            "video/webm" => Some(MediaFormat::Webm),
            _ => None,
        }
    }
}

impl fmt::Display for MediaFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime())
    }
}

impl FromStr for MediaFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MediaFormat::from_content_type(s)
    }
}

/// At most `max` characters of an untrusted string, for an error message.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn content_types_parse_loosely_but_only_to_known_formats() {
        assert_eq!(MediaFormat::from_content_type("IMAGE/PNG; charset=binary").ok(), Some(MediaFormat::Png));
        assert_eq!(MediaFormat::from_content_type("image/jpg").ok(), Some(MediaFormat::Jpeg));
        for bad in ["image/svg+xml", "text/html", "application/octet-stream", ""] {
            let err = MediaFormat::from_content_type(bad).unwrap_err();
            assert_eq!(err.rule(), Some("unsupported_content_type"), "{bad}");
        }
    }

    #[test]
    fn sniffing_reads_magic_numbers_not_claims() {
        assert_eq!(MediaFormat::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(MediaFormat::Png));
        assert_eq!(MediaFormat::sniff(b"GIF89a\x01\x00\x01\x00"), Some(MediaFormat::Gif));
        assert_eq!(MediaFormat::sniff(b"<html><script>alert(1)</script>"), None);
        assert_eq!(MediaFormat::sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>"), None);
        assert_eq!(MediaFormat::sniff(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"), None);
        assert_eq!(MediaFormat::sniff(b"MZ\x90\0\x03\0\0\0"), None);
        for f in MediaFormat::ALL {
            assert_eq!(MediaFormat::from_extension(f.extension()), Some(f));
            assert_eq!(MediaFormat::from_content_type(f.mime()).ok(), Some(f));
        }
    }
}
