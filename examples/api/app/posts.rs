//! The team feed and posting with media.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use clientnest::prelude::*;
use serde::Deserialize;

use super::AppState;
use super::auth::Member;
use super::error::ApiError;
use super::input::{Body, Params};
use super::paging::{PageBody, PageQuery};

/// `GET /teams/{team}/feed?limit=&cursor=`: the team's published posts with their media,
/// newest first, one keyset page at a time.
pub(crate) async fn feed(
    member: Member,
    State(state): State<AppState>,
    Params(query): Params<PageQuery>,
) -> Result<Json<PageBody<PostWithMedia>>, ApiError> {
    let page = state.repos.feed(member.team, query.request()?).await?;
    Ok(Json(page.into()))
}

/// `POST /teams/{team}/posts` body. Only `content` is required.
#[derive(Debug, Deserialize)]
pub(crate) struct PostBody {
    #[serde(default)]
    title: String,
    content: String,
    #[serde(default)]
    hashtags: Vec<String>,
    /// `draft` when absent; `published` puts the post in the feed at once.
    status: Option<PostStatus>,
    scheduled_at: Option<DateTime<Utc>>,
    /// The platforms the text and media must fit (X's 280 characters, Instagram's media...).
    #[serde(default)]
    platforms: Vec<Platform>,
    /// Media in display order (at most 35); each already uploaded to your media store.
    #[serde(default)]
    media: Vec<MediaBody>,
}

/// One media item of a [`PostBody`].
#[derive(Debug, Deserialize)]
pub(crate) struct MediaBody {
    media_type: MediaType,
    /// Absolute http(s) URL.
    file_url: String,
    /// Size in bytes, zero or more.
    file_size: i64,
    dimensions: Option<Dimensions>,
    #[serde(default)]
    alt_text: String,
}

/// Create a post with its media in one step, written by the caller: 201 with the post and
/// its media. Every rule (lengths, URLs, per-platform fit) is the port's: 422 naming the field,
/// e.g. `media[0].file_url`.
pub(crate) async fn create(
    member: Member,
    State(state): State<AppState>,
    Body(req): Body<PostBody>,
) -> Result<(StatusCode, Json<PostWithMedia>), ApiError> {
    let mut post = NewPost::draft(member.user, req.content);
    post.title = req.title;
    post.hashtags = req.hashtags;
    post.status = req.status.unwrap_or(PostStatus::Draft);
    post.scheduled_at = req.scheduled_at;
    post.platforms = req.platforms;
    post.media = req
        .media
        .into_iter()
        .map(|m| NewPostMedia {
            dimensions: m.dimensions,
            alt_text: m.alt_text,
            ..NewPostMedia::new(m.media_type, m.file_url, m.file_size)
        })
        .collect();
    let created = state.repos.create_post(member.team, post).await?;
    Ok((StatusCode::CREATED, Json(created)))
}
