//! Posts (`posts`) and their media (`post_media`): a post and its media are written by one
//! statement; the feed reads a page of posts with their media in one round trip; imports use
//! `UNNEST` arrays.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::clock::to_micros;
use clientnest_core::constraint::FK_POSTS_TEAM;
use clientnest_core::ids::{PostId, PostMediaId, TeamId, UserId};
use clientnest_core::model::{
    Dimensions, ImportedPost, MediaType, NewPost, Platform, Post, PostFilter, PostMedia, PostStatus, PostUpdate,
    PostWithMedia, check_import, check_platform_fit, platforms_to_fit,
};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::PostRepository;
use clientnest_core::{Entity, Error, Result, validate};
use serde::Deserialize;
use sqlx::types::Json;
use uuid::Uuid;

use super::members::{Acting, active_member, refusal, require_members};
use super::{Keyset, choice, missing, page_of};
use crate::error::map_sqlx;
use crate::store::{PgStore, commit, finish};

/// A `posts` row.
#[derive(sqlx::FromRow)]
struct PostRow {
    id: Uuid,
    user_id: Uuid,
    team_id: Uuid,
    title: String,
    content: String,
    hashtags: Json<Vec<String>>,
    status: String,
    scheduled_at: Option<DateTime<Utc>>,
    published_at: Option<DateTime<Utc>>,
    ai_generated: bool,
    ai_prompt: String,
    engagement: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    metadata: serde_json::Value,
    platforms: Vec<String>,
}

impl TryFrom<PostRow> for Post {
    type Error = Error;
    fn try_from(r: PostRow) -> Result<Self> {
        Ok(Post {
            id: PostId(r.id),
            user_id: UserId(r.user_id),
            team_id: TeamId(r.team_id),
            title: r.title,
            content: r.content,
            hashtags: r.hashtags.0,
            status: choice(&r.status)?,
            scheduled_at: r.scheduled_at,
            published_at: r.published_at,
            ai_generated: r.ai_generated,
            ai_prompt: r.ai_prompt,
            engagement: r.engagement,
            created_at: r.created_at,
            updated_at: r.updated_at,
            metadata: r.metadata,
            platforms: r.platforms.iter().map(|p| choice::<Platform>(p)).collect::<Result<_>>()?,
        })
    }
}

/// A `post_media` row as `to_jsonb` renders it.
#[derive(Deserialize)]
struct MediaJson {
    id: Uuid,
    post_id: Uuid,
    media_type: String,
    file_url: String,
    file_size: i64,
    dimensions: Option<Dimensions>,
    alt_text: String,
    order_index: i32,
    created_at: DateTime<Utc>,
}

impl TryFrom<MediaJson> for PostMedia {
    type Error = Error;
    fn try_from(m: MediaJson) -> Result<Self> {
        Ok(PostMedia {
            id: PostMediaId(m.id),
            post_id: PostId(m.post_id),
            media_type: choice(&m.media_type)?,
            file_url: m.file_url,
            file_size: m.file_size,
            dimensions: m.dimensions,
            alt_text: m.alt_text,
            order_index: m.order_index,
            created_at: m.created_at,
        })
    }
}

/// A post row with its media aggregated as a JSON array in `order_index` order.
#[derive(sqlx::FromRow)]
struct PostWithMediaRow {
    #[sqlx(flatten)]
    post: PostRow,
    media: Json<Vec<MediaJson>>,
}

impl TryFrom<PostWithMediaRow> for PostWithMedia {
    type Error = Error;
    fn try_from(r: PostWithMediaRow) -> Result<Self> {
        let media = r.media.0.into_iter().map(PostMedia::try_from).collect::<Result<_>>()?;
        Ok(PostWithMedia { post: r.post.try_into()?, media })
    }
}

fn cursor(p: &Post) -> Cursor {
    Cursor::after(p.created_at, p.id)
}

fn media_cursor(p: &PostWithMedia) -> Cursor {
    cursor(&p.post)
}

/// Wraps a query selecting posts (`page`) so each row carries its media as a JSON array.
macro_rules! with_media {
    ($page:literal) => {
        concat!(
            "WITH page AS (",
            $page,
            ") SELECT page.*, COALESCE((SELECT jsonb_agg(to_jsonb(m) ORDER BY m.order_index) \
             FROM post_media m WHERE m.post_id = page.id), '[]'::jsonb) AS media \
             FROM page ORDER BY page.created_at DESC, page.id DESC"
        )
    };
}

/// The seed's hot query: a team's published posts, newest first, with their media, in one
/// round trip. Parameters: `$1` team id, `$2`/`$3` the keyset cursor (`created_at`, `id`; the
/// first page passes a time above every row), `$4` the page size plus one. The page of posts
/// is read through `idx_posts_team_status_created`.
pub(crate) const FEED: &str = with_media!(
    "SELECT * FROM posts WHERE team_id = $1 AND status = 'published' AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4"
);

const GET: &str = with_media!("SELECT * FROM posts WHERE id = $1 AND team_id = $2");

const LIST: &str = "SELECT * FROM posts WHERE team_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

const LIST_BY_STATUS: &str = "SELECT * FROM posts WHERE team_id = $1 AND status = $5 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

/// One statement: the post (only if its author `$2` is an active member of the team `$3`, whose
/// membership and user rows it locks `FOR SHARE`), then its media from arrays.
pub(crate) const CREATE: &str = concat!(
    "WITH p AS (\
       INSERT INTO posts (id, user_id, team_id, title, content, hashtags, status, scheduled_at, published_at, \
         ai_generated, ai_prompt, engagement, created_at, updated_at, metadata, platforms) \
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '{}'::jsonb, $12, $12, $13, $14 \
       WHERE ",
    active_member!("$3", "$2"),
    " RETURNING *\
     ), m AS (\
       INSERT INTO post_media (id, post_id, media_type, file_url, file_size, dimensions, alt_text, order_index, \
         created_at) \
       SELECT u.id, p.id, u.media_type, u.file_url, u.file_size, u.dimensions, u.alt_text, (u.ord - 1)::int, \
         p.created_at \
       FROM p CROSS JOIN UNNEST($15::uuid[], $16::text[], $17::text[], $18::int8[], $19::jsonb[], $20::text[]) \
         WITH ORDINALITY AS u(id, media_type, file_url, file_size, dimensions, alt_text, ord) \
       RETURNING *\
     ) SELECT p.*, COALESCE((SELECT jsonb_agg(to_jsonb(m) ORDER BY m.order_index) FROM m), '[]'::jsonb) AS media \
     FROM p"
);

const IMPORT_POSTS: &str = "INSERT INTO posts (id, user_id, team_id, title, content, hashtags, status, \
       scheduled_at, published_at, ai_generated, ai_prompt, engagement, created_at, updated_at, metadata, platforms) \
     SELECT u.id, u.user_id, $1, u.title, u.content, u.hashtags, u.status, u.scheduled_at, \
       CASE WHEN u.status = 'published' THEN u.created_at END, u.ai_generated, u.ai_prompt, '{}'::jsonb, \
       u.created_at, u.created_at, u.metadata, string_to_array(u.platforms, ',') \
     FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::timestamptz[], \
       $9::bool[], $10::text[], $11::timestamptz[], $12::jsonb[], $13::text[]) \
       AS u(id, user_id, title, content, hashtags, status, scheduled_at, ai_generated, ai_prompt, created_at, \
         metadata, platforms) \
     WHERE EXISTS (SELECT 1 FROM teams WHERE id = $1)";

const IMPORT_MEDIA: &str = "INSERT INTO post_media (id, post_id, media_type, file_url, file_size, dimensions, \
       alt_text, order_index, created_at) \
     SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int8[], $6::jsonb[], $7::text[], \
       $8::int4[], $9::timestamptz[])";

/// The post `$1` of team `$2`, locked, with its media kinds and the platforms of its live
/// schedules (which an edit must keep fitting).
const LOCK_FOR_UPDATE: &str = r#"
SELECT p.*,
       ARRAY(SELECT m.media_type FROM post_media m WHERE m.post_id = p.id ORDER BY m.order_index)::text[]
         AS media_kinds,
       ARRAY(SELECT DISTINCT s.platform FROM schedules s WHERE s.post_id = p.id
               AND s.status IN ('pending', 'processing', 'publishing', 'outcome_unknown'))::text[]
         AS live_platforms
FROM posts p WHERE p.id = $1 AND p.team_id = $2 FOR UPDATE OF p"#;

const SAVE: &str = "UPDATE posts SET title = $2, content = $3, hashtags = $4, status = $5, scheduled_at = $6, \
     published_at = $7, engagement = $8, metadata = $9, platforms = $10, updated_at = $11 WHERE id = $1 RETURNING *";

/// A post locked for update, with the kinds of its media in order.
#[derive(sqlx::FromRow)]
struct LockedPost {
    #[sqlx(flatten)]
    post: PostRow,
    media_kinds: Vec<String>,
    live_platforms: Vec<String>,
}

/// The media of many posts as parallel arrays, for `UNNEST`.
#[derive(Default)]
struct MediaColumns {
    ids: Vec<Uuid>,
    post_ids: Vec<Uuid>,
    kinds: Vec<&'static str>,
    urls: Vec<String>,
    sizes: Vec<i64>,
    dimensions: Vec<Option<Json<Dimensions>>>,
    alt_texts: Vec<String>,
    order: Vec<i32>,
    created: Vec<DateTime<Utc>>,
}

impl MediaColumns {
    fn push(&mut self, post: Uuid, index: usize, m: &clientnest_core::model::NewPostMedia, at: DateTime<Utc>) {
        self.ids.push(PostMediaId::new().0);
        self.post_ids.push(post);
        self.kinds.push(m.media_type.as_str());
        self.urls.push(m.file_url.clone());
        self.sizes.push(m.file_size);
        self.dimensions.push(m.dimensions.map(Json));
        self.alt_texts.push(m.alt_text.clone());
        self.order.push(i32::try_from(index).unwrap_or(i32::MAX));
        self.created.push(at);
    }
}

/// Many posts as parallel arrays, for `UNNEST`.
#[derive(Default)]
struct PostColumns {
    ids: Vec<Uuid>,
    users: Vec<Uuid>,
    titles: Vec<String>,
    contents: Vec<String>,
    hashtags: Vec<Json<Vec<String>>>,
    statuses: Vec<&'static str>,
    scheduled: Vec<Option<DateTime<Utc>>>,
    ai_generated: Vec<bool>,
    ai_prompts: Vec<String>,
    created: Vec<DateTime<Utc>>,
    metadata: Vec<serde_json::Value>,
    platforms: Vec<String>,
}

impl PostColumns {
    fn push(&mut self, id: Uuid, p: ImportedPost) {
        self.ids.push(id);
        self.users.push(p.post.user_id.0);
        self.titles.push(p.post.title);
        self.contents.push(p.post.content);
        self.hashtags.push(Json(p.post.hashtags));
        self.statuses.push(p.post.status.as_str());
        self.scheduled.push(p.post.scheduled_at.map(to_micros));
        self.ai_generated.push(p.post.ai_generated);
        self.ai_prompts.push(p.post.ai_prompt);
        self.created.push(to_micros(p.created_at));
        self.metadata.push(p.post.metadata);
        self.platforms.push(platform_list(&p.post.platforms));
    }
}

/// Platforms as `facebook,twitter` (for `string_to_array`; no value contains a comma).
fn platform_list(platforms: &[Platform]) -> String {
    platforms.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
}

fn platform_strings(platforms: &[Platform]) -> Vec<&'static str> {
    platforms.iter().map(|p| p.as_str()).collect()
}

impl PgStore {
    /// `MissingReference` (`fk_posts_team`) unless the team exists.
    async fn require_team(&self, team: TeamId) -> Result<()> {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)")
            .bind(team.0)
            .fetch_one(self.pool())
            .await
            .map_err(map_sqlx)?;
        if exists { Ok(()) } else { Err(missing(Entity::Post, Entity::Team, FK_POSTS_TEAM)) }
    }
}

#[async_trait]
impl PostRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn create_post(&self, team: TeamId, post: NewPost) -> Result<PostWithMedia> {
        post.check()?;
        let now = self.now();
        let id = PostId::new().0;
        let mut media = MediaColumns::default();
        for (i, m) in post.media.iter().enumerate() {
            media.push(id, i, m, now);
        }
        let published_at = (post.status == PostStatus::Published).then_some(now);
        let row: Option<PostWithMediaRow> = sqlx::query_as(CREATE)
            .bind(id)
            .bind(post.user_id.0)
            .bind(team.0)
            .bind(&post.title)
            .bind(&post.content)
            .bind(Json(&post.hashtags))
            .bind(post.status.as_str())
            .bind(post.scheduled_at.map(to_micros))
            .bind(published_at)
            .bind(post.ai_generated)
            .bind(&post.ai_prompt)
            .bind(now)
            .bind(&post.metadata)
            .bind(platform_strings(&post.platforms))
            .bind(&media.ids)
            .bind(&media.kinds)
            .bind(&media.urls)
            .bind(&media.sizes)
            .bind(&media.dimensions)
            .bind(&media.alt_texts)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        match row {
            Some(row) => row.try_into(),
            None => Err(refusal(self.pool(), team, post.user_id, Acting::POST).await),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn import_posts(&self, team: TeamId, posts: Vec<ImportedPost>) -> Result<u64> {
        check_import(&posts)?;
        if posts.is_empty() {
            return self.require_team(team).await.map(|()| 0);
        }
        let count = posts.len() as u64;
        let authors: Vec<UserId> = posts.iter().map(|p| p.post.user_id).collect();
        let mut cols = PostColumns::default();
        let mut media = MediaColumns::default();
        for p in posts {
            let id = PostId::new().0;
            let at = to_micros(p.created_at);
            for (i, m) in p.post.media.iter().enumerate() {
                media.push(id, i, m, at);
            }
            cols.push(id, p);
        }
        let mut tx = self.begin().await?;
        require_members(&mut *tx, team, &authors, Acting::POST).await?;
        let inserted = sqlx::query(IMPORT_POSTS)
            .bind(team.0)
            .bind(&cols.ids)
            .bind(&cols.users)
            .bind(&cols.titles)
            .bind(&cols.contents)
            .bind(&cols.hashtags)
            .bind(&cols.statuses)
            .bind(&cols.scheduled)
            .bind(&cols.ai_generated)
            .bind(&cols.ai_prompts)
            .bind(&cols.created)
            .bind(&cols.metadata)
            .bind(&cols.platforms)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?
            .rows_affected();
        if inserted != count {
            return Err(missing(Entity::Post, Entity::Team, FK_POSTS_TEAM));
        }
        if !media.ids.is_empty() {
            sqlx::query(IMPORT_MEDIA)
                .bind(&media.ids)
                .bind(&media.post_ids)
                .bind(&media.kinds)
                .bind(&media.urls)
                .bind(&media.sizes)
                .bind(&media.dimensions)
                .bind(&media.alt_texts)
                .bind(&media.order)
                .bind(&media.created)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx)?;
        }
        commit(tx).await?;
        Ok(count)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_post(&self, team: TeamId, id: PostId) -> Result<PostWithMedia> {
        let row: Option<PostWithMediaRow> =
            sqlx::query_as(GET).bind(id.0).bind(team.0).fetch_optional(self.pool()).await.map_err(map_sqlx)?;
        row.ok_or_else(|| Error::not_found(Entity::Post, id))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_post(&self, team: TeamId, id: PostId, mut update: PostUpdate) -> Result<Post> {
        validate::check(&update)?;
        update.scheduled_at = update.scheduled_at.map(|t| t.map(to_micros));
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let locked: Option<LockedPost> = sqlx::query_as(LOCK_FOR_UPDATE)
                .bind(id.0)
                .bind(team.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx)?;
            let locked = locked.ok_or_else(|| Error::not_found(Entity::Post, id))?;
            let kinds = locked.media_kinds.iter().map(|k| choice::<MediaType>(k)).collect::<Result<Vec<_>>>()?;
            let mut post: Post = locked.post.try_into()?;
            update.apply(&mut post, now);
            let live = locked.live_platforms.iter().map(|p| choice::<Platform>(p)).collect::<Result<Vec<_>>>()?;
            check_platform_fit(&post.content, &kinds, &platforms_to_fit(&post.platforms, live))?;
            let row: PostRow = sqlx::query_as(SAVE)
                .bind(post.id.0)
                .bind(&post.title)
                .bind(&post.content)
                .bind(Json(&post.hashtags))
                .bind(post.status.as_str())
                .bind(post.scheduled_at)
                .bind(post.published_at)
                .bind(&post.engagement)
                .bind(&post.metadata)
                .bind(platform_strings(&post.platforms))
                .bind(post.updated_at)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_sqlx)?;
            Post::try_from(row)
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn delete_post(&self, team: TeamId, id: PostId) -> Result<()> {
        self.delete_owned("DELETE FROM posts WHERE id = $1 AND team_id = $2", id.0, team.0, Entity::Post, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_posts(&self, team: TeamId, filter: PostFilter, page: PageRequest) -> Result<Page<Post>> {
        let k = Keyset::of(&page)?;
        let query = match filter.status {
            Some(status) => {
                sqlx::query_as(LIST_BY_STATUS).bind(team.0).bind(k.at).bind(k.id).bind(k.fetch).bind(status.as_str())
            }
            None => sqlx::query_as(LIST).bind(team.0).bind(k.at).bind(k.id).bind(k.fetch),
        };
        let rows: Vec<PostRow> = query.fetch_all(self.pool()).await.map_err(map_sqlx)?;
        page_of(rows, &page, Post::try_from, cursor)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn feed(&self, team: TeamId, page: PageRequest) -> Result<Page<PostWithMedia>> {
        self.fetch_page::<PostWithMediaRow, _>(FEED, team.0, &page, PostWithMedia::try_from, media_cursor).await
    }
}
