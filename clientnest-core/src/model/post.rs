//! Posts (`posts`) and their media (`post_media`), with the per-platform content limits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::choices::{MediaType, Platform, PostStatus};
use crate::clock::to_micros;
use crate::error::{Entity, Error, FieldError};
use crate::ids::{PostId, PostMediaId, TeamId, UserId};
use crate::validate::{self as v, Checks, rule};

/// A stored post: one row of `posts`, owned by a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// Primary key, a fresh id set by [`NewPost::into_record`]; never changes.
    pub id: PostId,
    /// The user who wrote the post; set at creation, never changes.
    pub user_id: UserId,
    /// The team that owns this post; every read goes through it.
    pub team_id: TeamId,
    /// Title: at most 200 characters, one line; may be blank.
    pub title: String,
    /// Body text: non-blank, at most 100,000 characters, no NUL, and within every target
    /// platform's text limit.
    pub content: String,
    /// Up to 100 hashtags, each one word of at most 100 characters, with or without its `#`.
    pub hashtags: Vec<String>,
    /// Workflow status; moving to `published` sets `published_at` if unset.
    pub status: PostStatus,
    /// Planned publication time (UTC, microseconds, years 1900 to 9999); `None` when unplanned.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When the post first became `published` (UTC); `None` until then, never reset.
    pub published_at: Option<DateTime<Utc>>,
    /// Whether AI wrote the text; informational, no rule depends on it.
    pub ai_generated: bool,
    /// The AI prompt used: at most 10,000 characters, no NUL; blank when none.
    pub ai_prompt: String,
    /// Engagement figures as JSON (`{}` at creation); strings and keys hold no NUL.
    pub engagement: serde_json::Value,
    /// Creation time (UTC, microseconds), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// Time of the last change (UTC, microseconds); equals `created_at` until an update.
    pub updated_at: DateTime<Utc>,
    /// Free-form JSON metadata (`{}` by default); strings and keys hold no NUL.
    pub metadata: serde_json::Value,
    /// The platforms the post is written for; its text and media fit each of them.
    pub platforms: Vec<Platform>,
}

/// Pixel size of an image or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimensions {
    /// Width in pixels, any `u32`.
    pub width: u32,
    /// Height in pixels, any `u32`.
    pub height: u32,
}

/// A stored media item of a post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostMedia {
    /// Primary key, a fresh id set at creation; never changes.
    pub id: PostMediaId,
    /// The team that owns the item: its post's team, set by the backend (never from input).
    pub team_id: TeamId,
    /// The post this item belongs to; deleting the post deletes its media.
    pub post_id: PostId,
    /// Image, video or other kind; some platforms take only video.
    pub media_type: MediaType,
    /// Where the file is (S3 or CDN URL): an absolute http(s) URL.
    pub file_url: String,
    /// Size in bytes, zero or more.
    pub file_size: i64,
    /// Pixel size; `None` when unknown.
    pub dimensions: Option<Dimensions>,
    /// Alternative text: at most 1000 characters, no NUL; blank when none.
    pub alt_text: String,
    /// Position in the post: the items of a post are numbered 0..n-1 in the order they were
    /// given, then attached ([`PostRepository::attach_media`] appends; detaching renumbers).
    ///
    /// [`PostRepository::attach_media`]: crate::ports::PostRepository::attach_media
    pub order_index: i32,
    /// SHA-256 of the file's bytes as 64 lowercase hex characters; `None` when unknown.
    pub content_hash: Option<String>,
    /// Creation time (UTC, microseconds): the post's own `created_at` for media created with
    /// the post, the time of the attach for media attached later.
    pub created_at: DateTime<Utc>,
}

/// A post with its media in `order_index` order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostWithMedia {
    /// The post, as stored.
    pub post: Post,
    /// Its media, in `order_index` order (0 first); empty when it has none.
    pub media: Vec<PostMedia>,
}

/// A media item to store with a new post (its `order_index` is its position in
/// [`NewPost::media`]) or to attach to an existing one (appended last).
#[derive(Debug, Clone, Validate)]
pub struct NewPostMedia {
    /// Image, video or other kind; must suit every target platform.
    pub media_type: MediaType,
    /// URL, absolute http(s).
    #[validate(custom(function = "v::http_url"))]
    pub file_url: String,
    /// Size in bytes, zero or more.
    #[validate(range(min = 0))]
    pub file_size: i64,
    /// Pixel size; `None` when unknown.
    pub dimensions: Option<Dimensions>,
    /// Alternative text: at most 1000 characters, no NUL; may be blank.
    #[validate(length(max = 1000), custom(function = "v::no_nul"))]
    pub alt_text: String,
    /// SHA-256 of the file's bytes as 64 lowercase hex characters (rule
    /// [`CONTENT_HASH`](rule::CONTENT_HASH)); `None` when unknown.
    #[validate(custom(function = "v::sha256_hex"))]
    pub content_hash: Option<String>,
}

impl NewPostMedia {
    /// A media item without dimensions, alt text or content hash.
    pub fn new(media_type: MediaType, file_url: impl Into<String>, file_size: i64) -> Self {
        Self {
            media_type,
            file_url: file_url.into(),
            file_size,
            dimensions: None,
            alt_text: String::new(),
            content_hash: None,
        }
    }

    /// With the SHA-256 of the file's bytes, as 64 lowercase hex characters (checked when
    /// stored, not here).
    pub fn with_content_hash(mut self, sha256_hex: impl Into<String>) -> Self {
        self.content_hash = Some(sha256_hex.into());
        self
    }

    /// The field rules of this item on its own: errors name the bare field (`content_hash`),
    /// as a PostgreSQL CHECK on `post_media` reports it.
    pub fn check(&self) -> Result<(), Error> {
        v::check(self)
    }

    /// The stored item of this input attached last to `post`, whose media kinds are
    /// `existing` (in `order_index` order), checked: the field rules ([`NewPostMedia::check`]),
    /// at most [`MAX_MEDIA`] items, and the post's text and new media set still fitting every
    /// platform of `fit` (its own and its live schedules'). On success the item gets the next
    /// `order_index` (`existing.len()`) and `created_at` = `now`, and the post's `updated_at`
    /// becomes `now` (times truncated to microseconds); on error `post` is unchanged.
    pub fn attach_to(
        self,
        post: &mut Post,
        existing: &[MediaType],
        fit: &[Platform],
        now: DateTime<Utc>,
    ) -> Result<PostMedia, Error> {
        let mut c = Checks::of(&self);
        c.ensure(existing.len() < MAX_MEDIA, "media", rule::MAX_LENGTH, "at most 35 media items");
        let mut kinds = existing.to_vec();
        kinds.push(self.media_type);
        for e in platform_fit(&post.content, &kinds, fit) {
            c.push(e);
        }
        c.finish()?;
        let at = to_micros(now);
        let order_index = i32::try_from(existing.len()).unwrap_or(i32::MAX);
        post.updated_at = at;
        Ok(self.record(post.team_id, post.id, order_index, at))
    }

    fn record(self, team_id: TeamId, post_id: PostId, order_index: i32, created_at: DateTime<Utc>) -> PostMedia {
        PostMedia {
            id: PostMediaId::new(),
            team_id,
            post_id,
            media_type: self.media_type,
            file_url: self.file_url,
            file_size: self.file_size,
            dimensions: self.dimensions,
            alt_text: self.alt_text,
            order_index,
            content_hash: self.content_hash,
            created_at,
        }
    }
}

/// The most media items a post holds ([`NewPost::media`], and attaching to a stored post).
pub const MAX_MEDIA: usize = 35;

/// Detach the item `id` from `post`, whose media are `media` (in `order_index` order): the item
/// removed as it was stored, the rest renumbered 0..n-1 keeping their order, and the post's
/// `updated_at` set to `now` (truncated to microseconds). `NotFound` (`post_media`) when `id`
/// is not one of `media`; a validation error when the post's text and remaining media no
/// longer fit a platform of `fit` (its own and its live schedules'), e.g. the one video of a
/// YouTube post. On error nothing is changed.
pub fn detach_from(
    post: &mut Post,
    media: &mut Vec<PostMedia>,
    id: PostMediaId,
    fit: &[Platform],
    now: DateTime<Utc>,
) -> Result<PostMedia, Error> {
    let at = media.iter().position(|m| m.id == id).ok_or_else(|| Error::not_found(Entity::PostMedia, id))?;
    let kinds: Vec<MediaType> = media.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, m)| m.media_type).collect();
    check_platform_fit(&post.content, &kinds, fit)?;
    let removed = media.remove(at);
    for (m, i) in media.iter_mut().zip(0..) {
        m.order_index = i;
    }
    post.updated_at = to_micros(now);
    Ok(removed)
}

/// A post to create, with its media, in one step.
#[derive(Debug, Clone, Validate)]
pub struct NewPost {
    /// Author: must exist and be an active member of the team (else `NotAMember`).
    pub user_id: UserId,
    /// Title, at most 200 characters, may be blank.
    #[validate(length(max = 200), custom(function = "v::one_line"))]
    pub title: String,
    /// Text: non-blank, at most 100,000 characters, no NUL; must fit every target platform.
    #[validate(length(max = 100_000), custom(function = "v::required_text"))]
    pub content: String,
    /// Up to 100 hashtags, each one word of at most 100 characters, with or without its `#`.
    #[validate(length(max = 100), custom(function = "v::hashtags"))]
    pub hashtags: Vec<String>,
    /// Initial status (`draft` by default; `published` sets `published_at`).
    pub status: PostStatus,
    /// Planned publication time (years 1900 to 9999, stored to the microsecond); `None` when
    /// unplanned.
    #[validate(custom(function = "v::storable_time"))]
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Whether AI wrote the text; informational, no rule depends on it.
    pub ai_generated: bool,
    /// The AI prompt: at most 10,000 characters, no NUL; may be blank.
    #[validate(length(max = 10_000), custom(function = "v::no_nul"))]
    pub ai_prompt: String,
    /// JSON metadata (default `{}`); strings and keys hold no NUL.
    #[validate(custom(function = "v::json"))]
    pub metadata: serde_json::Value,
    /// Target platforms; the text and media must fit each one. Empty means none yet.
    pub platforms: Vec<Platform>,
    /// At most 35 ([`MAX_MEDIA`]) media items, stored in this order (`order_index` = position).
    #[validate(nested)]
    pub media: Vec<NewPostMedia>,
}

impl NewPost {
    /// A draft with text only, for no particular platform yet.
    pub fn draft(user_id: UserId, content: impl Into<String>) -> Self {
        Self {
            user_id,
            title: String::new(),
            content: content.into(),
            hashtags: Vec::new(),
            status: PostStatus::Draft,
            scheduled_at: None,
            ai_generated: false,
            ai_prompt: String::new(),
            metadata: serde_json::json!({}),
            platforms: Vec::new(),
            media: Vec::new(),
        }
    }

    /// All rules: the field rules and the fit to every target platform.
    pub fn check(&self) -> Result<(), Error> {
        let mut c = Checks::of(self);
        c.ensure(self.media.len() <= MAX_MEDIA, "media", rule::MAX_LENGTH, "at most 35 media items");
        let kinds: Vec<MediaType> = self.media.iter().map(|m| m.media_type).collect();
        for e in platform_fit(&self.content, &kinds, &self.platforms) {
            c.push(e);
        }
        c.finish()
    }

    /// The stored post and media of this input, checked ([`NewPost::check`]), created at `now`:
    /// fresh ids, no engagement yet, media `order_index` = position and media `created_at` =
    /// the post's, a `published` post published at `now`, times truncated to microseconds.
    pub fn into_record(self, team: TeamId, now: DateTime<Utc>) -> Result<PostWithMedia, Error> {
        self.check()?;
        Ok(self.build(team, to_micros(now)))
    }

    /// The record of a checked input, created at `at` (already truncated).
    fn build(self, team: TeamId, at: DateTime<Utc>) -> PostWithMedia {
        let id = PostId::new();
        let media =
            self.media.into_iter().zip(0..).map(|(m, order_index)| m.record(team, id, order_index, at)).collect();
        let post = Post {
            id,
            user_id: self.user_id,
            team_id: team,
            title: self.title,
            content: self.content,
            hashtags: self.hashtags,
            status: self.status,
            scheduled_at: self.scheduled_at.map(to_micros),
            published_at: (self.status == PostStatus::Published).then_some(at),
            ai_generated: self.ai_generated,
            ai_prompt: self.ai_prompt,
            engagement: serde_json::json!({}),
            created_at: at,
            updated_at: at,
            metadata: self.metadata,
            platforms: self.platforms,
        };
        PostWithMedia { post, media }
    }
}

/// A post for the bulk path, with its original creation time (imports, seeding).
#[derive(Debug, Clone)]
pub struct ImportedPost {
    /// The post and its media, under the same rules as [`NewPost::check`].
    pub post: NewPost,
    /// Its creation time (also its media's).
    pub created_at: DateTime<Utc>,
}

/// Check a bulk import: at most [`MAX_BATCH`](crate::constraint::MAX_BATCH) posts, each valid
/// (errors name the post, e.g. `posts[3].content`) with a storable creation time.
pub fn check_import(posts: &[ImportedPost]) -> Result<(), Error> {
    if posts.len() > crate::constraint::MAX_BATCH {
        return Err(Error::invalid("posts", rule::RANGE, "at most 10000 posts per import"));
    }
    for (i, p) in posts.iter().enumerate() {
        let mut errors = match p.post.check() {
            Ok(()) => Vec::new(),
            Err(Error::Validation(v)) => v.0,
            Err(e) => return Err(e),
        };
        if v::storable_time(&p.created_at).is_err() {
            errors.push(FieldError::new("created_at", rule::TIME_RANGE, "must be between the years 1900 and 9999"));
        }
        if !errors.is_empty() {
            for e in &mut errors {
                e.field = format!("posts[{i}].{}", e.field);
            }
            return Err(Error::Validation(crate::error::ValidationErrors(errors)));
        }
    }
    Ok(())
}

/// The stored posts of a bulk import, checked ([`check_import`]): each built as
/// [`NewPost::into_record`] builds it, created (and, when `published`, published) at its own
/// `created_at`, updated then too.
pub fn import_records(team: TeamId, posts: Vec<ImportedPost>) -> Result<Vec<PostWithMedia>, Error> {
    check_import(&posts)?;
    Ok(posts.into_iter().map(|p| p.post.build(team, to_micros(p.created_at))).collect())
}

/// Changes to a post; `None` leaves a field as is.
#[derive(Debug, Clone, Default, Validate)]
pub struct PostUpdate {
    /// New title: at most 200 characters, one line; `None` keeps the current one.
    #[validate(length(max = 200), custom(function = "v::one_line"))]
    pub title: Option<String>,
    /// New text: non-blank, at most 100,000 characters, no NUL; `None` keeps it.
    #[validate(length(max = 100_000), custom(function = "v::required_text"))]
    pub content: Option<String>,
    /// New hashtags, each one word of at most 100 characters; `None` keeps them.
    #[validate(custom(function = "v::hashtags"))]
    pub hashtags: Option<Vec<String>>,
    /// New status; `published` sets `published_at` if unset.
    pub status: Option<PostStatus>,
    /// New planned time, or `Some(None)` to clear it.
    #[validate(custom(function = "v::storable_time"))]
    pub scheduled_at: Option<Option<DateTime<Utc>>>,
    /// New engagement figures (JSON without NUL); `None` keeps them.
    #[validate(custom(function = "v::json"))]
    pub engagement: Option<serde_json::Value>,
    /// New metadata (JSON without NUL); `None` keeps it.
    #[validate(custom(function = "v::json"))]
    pub metadata: Option<serde_json::Value>,
    /// New target platforms; `None` keeps them.
    pub platforms: Option<Vec<Platform>>,
}

impl PostUpdate {
    /// Apply the changes (a new planned time truncated to microseconds).
    pub fn apply(self, p: &mut Post, now: DateTime<Utc>) {
        if let Some(x) = self.title {
            p.title = x;
        }
        if let Some(x) = self.content {
            p.content = x;
        }
        if let Some(x) = self.hashtags {
            p.hashtags = x;
        }
        if let Some(x) = self.status {
            p.status = x;
            if x == PostStatus::Published && p.published_at.is_none() {
                p.published_at = Some(now);
            }
        }
        if let Some(x) = self.scheduled_at {
            p.scheduled_at = x.map(to_micros);
        }
        if let Some(x) = self.engagement {
            p.engagement = x;
        }
        if let Some(x) = self.metadata {
            p.metadata = x;
        }
        if let Some(x) = self.platforms {
            p.platforms = x;
        }
        p.updated_at = now;
    }
}

/// The rules a post's text and media break on each of the given platforms.
pub fn platform_fit(content: &str, media: &[MediaType], platforms: &[Platform]) -> Vec<FieldError> {
    let mut out = Vec::new();
    let chars = content.chars().count();
    for p in platforms {
        let l = p.limits();
        if chars > l.max_text_chars {
            out.push(FieldError::new(
                "content",
                rule::PLATFORM_TEXT,
                format!("{p} allows at most {} characters, got {chars}", l.max_text_chars),
            ));
        }
        if media.len() < l.min_media || media.len() > l.max_media {
            let want = if l.min_media == l.max_media {
                format!("exactly {}", l.min_media)
            } else {
                format!("{} to {}", l.min_media, l.max_media)
            };
            out.push(FieldError::new(
                "media",
                rule::PLATFORM_MEDIA,
                format!("{p} takes {want} media items, got {}", media.len()),
            ));
        }
        if l.video_only && media.iter().any(|m| *m != MediaType::Video) {
            out.push(FieldError::new("media", rule::PLATFORM_MEDIA_KIND, format!("{p} takes only video")));
        }
    }
    out
}

/// [`platform_fit`] as a result.
pub fn check_platform_fit(content: &str, media: &[MediaType], platforms: &[Platform]) -> Result<(), Error> {
    let mut c = Checks::default();
    for e in platform_fit(content, media, platforms) {
        c.push(e);
    }
    c.finish()
}

/// Filter for listing a team's posts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostFilter {
    /// Only posts with this status.
    pub status: Option<PostStatus>,
}
