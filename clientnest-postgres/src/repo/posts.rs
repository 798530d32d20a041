//! Posts (`posts`) and their media (`post_media`, each row carrying its post's `team_id`, held
//! to it by the composite foreign key `fk_post_media_post`): a post and its media are written by one
//! statement; the feed reads a page of posts with their media in one round trip; imports use
//! `UNNEST` arrays. Attaching and detaching media lock the post row (`FOR UPDATE`) for the
//! transaction, so concurrent changes to one post's media are serialised.
//!
//! Every column of both tables is named here, once per form: the column lists
//! ([`post_columns!`], [`media_columns!`]), the binders ([`bind_post`], [`MediaColumns`],
//! [`PostColumns`]) and the row mappings (`Db<Post>`, `Db<PostWithMedia>`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::constraint::FK_POSTS_TEAM;
use clientnest_core::ids::{PostId, PostMediaId, TeamId, UserId};
use clientnest_core::model::{
    Dimensions, ImportedPost, MediaType, NewPost, NewPostMedia, Platform, Post, PostFilter, PostMedia, PostUpdate,
    PostWithMedia, check_platform_fit, detach_from, import_records, platforms_to_fit,
};
use clientnest_core::page::{Page, PageRequest};
use clientnest_core::ports::PostRepository;
use clientnest_core::{Entity, Error, Result, validate};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use super::binary::{Columns, Kind};
use super::members::{Acting, active_member, refusal, require_members};
use super::{Db, Keyset, PgQuery, choices_column, limit_written, missing, record};
use crate::error::map_sqlx;
use crate::store::{PgStore, finish};

/// The columns of `posts`, in the order [`bind_post`] binds them.
macro_rules! post_columns {
    () => {
        "id, user_id, team_id, title, content, hashtags, status, scheduled_at, published_at, ai_generated, \
         ai_prompt, engagement, created_at, updated_at, metadata, platforms"
    };
}
pub(crate) use post_columns;

/// The placeholders of [`post_columns!`]: `$1` id ... `$16` platforms.
macro_rules! post_values {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16"
    };
}
pub(crate) use post_values;

/// The columns of `post_media`, in the order [`MediaColumns::bind`] binds their arrays.
macro_rules! media_columns {
    () => {
        "id, team_id, post_id, media_type, file_url, file_size, dimensions, alt_text, order_index, created_at, \
         content_hash"
    };
}
pub(crate) use media_columns;

/// Bind every column of a post, `$1` to `$16` in [`post_columns!`] order.
fn bind_post(q: PgQuery, p: &Post) -> PgQuery {
    q.bind(p.id.0)
        .bind(p.user_id.0)
        .bind(p.team_id.0)
        .bind(p.title.clone())
        .bind(p.content.clone())
        .bind(Json(p.hashtags.clone()))
        .bind(p.status.as_str())
        .bind(p.scheduled_at)
        .bind(p.published_at)
        .bind(p.ai_generated)
        .bind(p.ai_prompt.clone())
        .bind(p.engagement.clone())
        .bind(p.created_at)
        .bind(p.updated_at)
        .bind(p.metadata.clone())
        .bind(platform_strings(&p.platforms))
}

/// The columns of a post, in [`post_columns!`] order, with their types.
const POST_COLUMNS: [(&str, Kind); 16] = [
    ("id", Kind::Uuid),
    ("user_id", Kind::Uuid),
    ("team_id", Kind::Uuid),
    ("title", Kind::Text),
    ("content", Kind::Text),
    ("hashtags", Kind::Jsonb),
    ("status", Kind::Text),
    ("scheduled_at", Kind::Timestamptz),
    ("published_at", Kind::Timestamptz),
    ("ai_generated", Kind::Bool),
    ("ai_prompt", Kind::Text),
    ("engagement", Kind::Jsonb),
    ("created_at", Kind::Timestamptz),
    ("updated_at", Kind::Timestamptz),
    ("metadata", Kind::Jsonb),
    ("platforms", Kind::TextArray),
];

/// Where a result's post columns are, found once for all its rows.
struct PostAt(Columns<16>);

impl PostAt {
    /// The post columns of `row`'s result.
    fn of(row: &PgRow) -> sqlx::Result<Self> {
        Columns::of(row, &POST_COLUMNS).map(Self)
    }

    /// The post id in `row`.
    fn id(&self, row: &PgRow) -> sqlx::Result<Uuid> {
        self.0.cells(row).uuid(0)
    }

    /// The post in `row`.
    fn post(&self, row: &PgRow) -> sqlx::Result<Post> {
        let cells = self.0.cells(row);
        Ok(Post {
            id: PostId(cells.uuid(0)?),
            user_id: UserId(cells.uuid(1)?),
            team_id: TeamId(cells.uuid(2)?),
            title: cells.string(3)?,
            content: cells.string(4)?,
            hashtags: cells.json(5)?,
            status: cells.choice(6)?,
            scheduled_at: cells.time_or_null(7)?,
            published_at: cells.time_or_null(8)?,
            ai_generated: cells.bool(9)?,
            ai_prompt: cells.string(10)?,
            engagement: cells.json(11)?,
            created_at: cells.time(12)?,
            updated_at: cells.time(13)?,
            metadata: cells.json(14)?,
            platforms: cells.choices(15)?,
        })
    }
}

impl FromRow<'_, PgRow> for Db<Post> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        PostAt::of(row)?.post(row).map(Db)
    }
}

/// A post row with a `media` column: its `post_media` rows as a JSON array (`to_jsonb` of each
/// row, so the keys are the column names) in `order_index` order ([`CREATE`]'s answer; the
/// reads use flat rows, [`group_media`]).
impl FromRow<'_, PgRow> for Db<PostWithMedia> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        let post = Db::<Post>::from_row(row)?.into_inner();
        let media = row.try_get::<Json<Vec<PostMedia>>, _>("media")?.0;
        Ok(Db(PostWithMedia { post, media }))
    }
}

/// Media as parallel column arrays, for `UNNEST`, in [`media_columns!`] order.
#[derive(Default)]
struct MediaColumns {
    ids: Vec<Uuid>,
    teams: Vec<Uuid>,
    post_ids: Vec<Uuid>,
    kinds: Vec<&'static str>,
    urls: Vec<String>,
    sizes: Vec<i64>,
    dimensions: Vec<Option<Json<Dimensions>>>,
    alt_texts: Vec<String>,
    order: Vec<i32>,
    created: Vec<DateTime<Utc>>,
    hashes: Vec<Option<String>>,
}

impl MediaColumns {
    fn push(&mut self, m: &PostMedia) {
        self.ids.push(m.id.0);
        self.teams.push(m.team_id.0);
        self.post_ids.push(m.post_id.0);
        self.kinds.push(m.media_type.as_str());
        self.urls.push(m.file_url.clone());
        self.sizes.push(m.file_size);
        self.dimensions.push(m.dimensions.map(Json));
        self.alt_texts.push(m.alt_text.clone());
        self.order.push(m.order_index);
        self.created.push(m.created_at);
        self.hashes.push(m.content_hash.clone());
    }

    /// Bind the eleven arrays in [`media_columns!`] order.
    fn bind(self, q: PgQuery) -> PgQuery {
        q.bind(self.ids)
            .bind(self.teams)
            .bind(self.post_ids)
            .bind(self.kinds)
            .bind(self.urls)
            .bind(self.sizes)
            .bind(self.dimensions)
            .bind(self.alt_texts)
            .bind(self.order)
            .bind(self.created)
            .bind(self.hashes)
    }
}

/// Posts as parallel column arrays, for `UNNEST`, in [`post_columns!`] order (`platforms` as
/// `facebook,twitter`: arrays of arrays must be rectangular, and no platform has a comma).
#[derive(Default)]
struct PostColumns {
    ids: Vec<Uuid>,
    users: Vec<Uuid>,
    teams: Vec<Uuid>,
    titles: Vec<String>,
    contents: Vec<String>,
    hashtags: Vec<Json<Vec<String>>>,
    statuses: Vec<&'static str>,
    scheduled: Vec<Option<DateTime<Utc>>>,
    published: Vec<Option<DateTime<Utc>>>,
    ai_generated: Vec<bool>,
    ai_prompts: Vec<String>,
    engagement: Vec<serde_json::Value>,
    created: Vec<DateTime<Utc>>,
    updated: Vec<DateTime<Utc>>,
    metadata: Vec<serde_json::Value>,
    platforms: Vec<String>,
}

impl PostColumns {
    fn push(&mut self, p: Post) {
        self.ids.push(p.id.0);
        self.users.push(p.user_id.0);
        self.teams.push(p.team_id.0);
        self.titles.push(p.title);
        self.contents.push(p.content);
        self.hashtags.push(Json(p.hashtags));
        self.statuses.push(p.status.as_str());
        self.scheduled.push(p.scheduled_at);
        self.published.push(p.published_at);
        self.ai_generated.push(p.ai_generated);
        self.ai_prompts.push(p.ai_prompt);
        self.engagement.push(p.engagement);
        self.created.push(p.created_at);
        self.updated.push(p.updated_at);
        self.metadata.push(p.metadata);
        self.platforms.push(p.platforms.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(","));
    }

    /// Bind the sixteen arrays in [`post_columns!`] order.
    fn bind(self, q: PgQuery) -> PgQuery {
        q.bind(self.ids)
            .bind(self.users)
            .bind(self.teams)
            .bind(self.titles)
            .bind(self.contents)
            .bind(self.hashtags)
            .bind(self.statuses)
            .bind(self.scheduled)
            .bind(self.published)
            .bind(self.ai_generated)
            .bind(self.ai_prompts)
            .bind(self.engagement)
            .bind(self.created)
            .bind(self.updated)
            .bind(self.metadata)
            .bind(self.platforms)
    }
}

/// Bind a post core built and its media: `$1`-`$16` ([`bind_post`]), then the media's arrays
/// `$17`-`$27` ([`MediaColumns`]).
pub(crate) fn bind_post_with_media(q: PgQuery, p: &PostWithMedia) -> PgQuery {
    let mut media = MediaColumns::default();
    p.media.iter().for_each(|m| media.push(m));
    media.bind(bind_post(q, &p.post))
}

fn platform_strings(platforms: &[Platform]) -> Vec<&'static str> {
    platforms.iter().map(|p| p.as_str()).collect()
}

/// The media columns of a flat post-with-media row (`m` is `post_media`), each prefixed `m_`;
/// all NULL on the one row of a post without media. The media's `team_id` and `post_id` are
/// the post's, so they are not repeated.
macro_rules! flat_media_columns {
    () => {
        "m.id AS m_id, m.media_type AS m_media_type, m.file_url AS m_file_url, m.file_size AS m_file_size, \
         m.dimensions AS m_dimensions, m.alt_text AS m_alt_text, m.order_index AS m_order_index, \
         m.created_at AS m_created_at, m.content_hash AS m_content_hash"
    };
}

/// Flat post-with-media rows ([`flat_media_columns!`]), ordered by post and then `order_index`,
/// grouped back into posts: a post's columns are decoded once, on its first row; each later row
/// of the same post only adds its media item.
fn group_media(rows: &[PgRow]) -> sqlx::Result<Vec<PostWithMedia>> {
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    let (post_at, media_at) = (PostAt::of(first)?, MediaAt::of(first)?);
    let mut out: Vec<PostWithMedia> = Vec::new();
    for row in rows {
        let id = post_at.id(row)?;
        let current = match out.last_mut() {
            Some(last) if last.post.id.0 == id => last,
            _ => {
                out.push(PostWithMedia { post: post_at.post(row)?, media: Vec::new() });
                out.last_mut().ok_or(sqlx::Error::RowNotFound)?
            }
        };
        if let Some(media) = media_at.media(row, current.post.team_id, || Ok(current.post.id))? {
            current.media.push(media);
        }
    }
    Ok(out)
}

/// The columns of a media item in a flat row ([`flat_media_columns!`]), in order, with their
/// types.
const MEDIA_COLUMNS: [(&str, Kind); 9] = [
    ("m_id", Kind::Uuid),
    ("m_media_type", Kind::Text),
    ("m_file_url", Kind::Text),
    ("m_file_size", Kind::Int8),
    ("m_dimensions", Kind::Jsonb),
    ("m_alt_text", Kind::Text),
    ("m_order_index", Kind::Int4),
    ("m_created_at", Kind::Timestamptz),
    ("m_content_hash", Kind::Text),
];

/// Where a result's media columns are, found once for all its rows.
struct MediaAt(Columns<9>);

impl MediaAt {
    /// The media columns of `row`'s result.
    fn of(row: &PgRow) -> sqlx::Result<Self> {
        Columns::of(row, &MEDIA_COLUMNS).map(Self)
    }

    /// The media item in `row`, if the row holds one, of team `team` and of the post `post`
    /// reads (called only for a media item).
    fn media(
        &self,
        row: &PgRow,
        team: TeamId,
        post: impl FnOnce() -> sqlx::Result<PostId>,
    ) -> sqlx::Result<Option<PostMedia>> {
        let cells = self.0.cells(row);
        let Some(id) = cells.uuid_or_null(0)? else {
            return Ok(None);
        };
        Ok(Some(PostMedia {
            id: PostMediaId(id),
            team_id: team,
            post_id: post()?,
            media_type: cells.choice(1)?,
            file_url: cells.string(2)?,
            file_size: cells.i64(3)?,
            dimensions: cells.json_or_null(4)?,
            alt_text: cells.string(5)?,
            order_index: cells.i32(6)?,
            created_at: cells.time(7)?,
            content_hash: cells.string_or_null(8)?,
        }))
    }
}

/// The columns of a post row, as [`Db<Post>`](Db) reads them.
macro_rules! post_columns {
    () => {
        "id, user_id, team_id, title, content, hashtags, status, scheduled_at, published_at, \
         ai_generated, ai_prompt, engagement, created_at, updated_at, metadata, platforms"
    };
}

/// The seed's hot query: a team's published posts, newest first, with their media, in one
/// round trip and each post's columns once: the page of posts, then its media, as one `UNION
/// ALL` of two kinds of rows, read back by [`FeedPage`]. A post row has the post's
/// columns and NULL media columns (`m_id` NULL); a media row has the media item's `m_*` columns
/// and its post's id in `id`, the other post columns NULL. The page is computed once
/// (`MATERIALIZED`), through `idx_posts_team_status_created`; the media through
/// `idx_post_media_team_post_order` (filtered on the team too).
///
/// Of the forms measured it is as fast as two statements (the page, then its media by
/// `post_id = ANY`) in one round trip, and faster than the flat `LEFT JOIN` the library used
/// before, which repeats a post's columns on each of its media rows (BENCHMARKS.md,
/// PostgreSQL, "Issue 11"). Parameters: `$1` team id, `$2`/`$3` the keyset cursor
/// (`created_at`, `id`; the first page passes a time above every row), `$4` the page size plus
/// one (posts, not rows), written in as a number when it runs
/// ([`limit_written`](super::limit_written)).
pub(crate) const FEED: &str = concat!(
    r#"
WITH page AS MATERIALIZED (
 SELECT * FROM posts
 WHERE team_id = $1 AND status = 'published' AND (created_at, id) < ($2, $3)
 ORDER BY created_at DESC, id DESC LIMIT $4
)
SELECT "#,
    post_columns!(),
    r#", NULL AS m_id, NULL AS m_media_type, NULL AS m_file_url, NULL AS m_file_size,
       NULL AS m_dimensions, NULL AS m_alt_text, NULL AS m_order_index, NULL AS m_created_at,
       NULL AS m_content_hash
FROM page
UNION ALL
SELECT m.post_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       "#,
    flat_media_columns!(),
    r#"
FROM page JOIN post_media m ON m.team_id = page.team_id AND m.post_id = page.id"#
);

/// A [`FEED`] page read row by row, as its rows arrive
/// ([`PoolExec::for_each_row`](crate::exec::PoolExec::for_each_row)): each post row decoded
/// once, each media row put in its post, or kept until [`finish`](Self::finish) when it comes
/// before its post's row.
struct FeedPage {
    team: TeamId,
    columns: Option<(PostAt, MediaAt)>,
    posts: Vec<PostWithMedia>,
    early_media: Vec<PostMedia>,
}

impl FeedPage {
    /// An empty page of `team`'s feed, with room for `posts` posts.
    fn new(team: TeamId, posts: usize) -> Self {
        Self { team, columns: None, posts: Vec::with_capacity(posts), early_media: Vec::new() }
    }

    /// Add the post or the media item in `row`.
    fn add(&mut self, row: &PgRow) -> sqlx::Result<()> {
        let (post_at, media_at) = match &self.columns {
            Some(columns) => columns,
            None => self.columns.insert((PostAt::of(row)?, MediaAt::of(row)?)),
        };
        let Some(media) = media_at.media(row, self.team, || post_at.id(row).map(PostId))? else {
            self.posts.push(PostWithMedia { post: post_at.post(row)?, media: Vec::new() });
            return Ok(());
        };
        match self.posts.iter_mut().find(|p| p.post.id == media.post_id) {
            Some(owner) => owner.media.push(media),
            None => self.early_media.push(media),
        }
        Ok(())
    }

    /// The posts, newest first, each with its media in `order_index` order.
    fn finish(mut self) -> sqlx::Result<Vec<PostWithMedia>> {
        for media in self.early_media {
            let owner = self.posts.iter_mut().find(|p| p.post.id == media.post_id).ok_or_else(|| {
                sqlx::Error::Protocol(format!("a media row of post {}, which is not on the page", media.post_id))
            })?;
            owner.media.push(media);
        }
        self.posts.sort_by_key(|p| std::cmp::Reverse((p.post.created_at, p.post.id.0)));
        for post in &mut self.posts {
            post.media.sort_by_key(|m| m.order_index);
        }
        Ok(self.posts)
    }
}

/// Post `$1` of team `$2`, with its media: one flat row per media item (the post's columns on
/// each), grouped by [`group_media`].
const GET: &str = concat!(
    "SELECT p.*, ",
    flat_media_columns!(),
    r#"
FROM posts p LEFT JOIN post_media m ON m.team_id = p.team_id AND m.post_id = p.id
WHERE p.id = $1 AND p.team_id = $2
ORDER BY m.order_index"#
);

/// A team's posts: `$1` team, `$2`/`$3` the keyset bound, `$4` rows to fetch.
const LIST: &str = r#"
SELECT * FROM posts
WHERE team_id = $1 AND (created_at, id) < ($2, $3)
ORDER BY created_at DESC, id DESC LIMIT $4"#;

/// As [`LIST`], only status `$5`.
const LIST_BY_STATUS: &str = r#"
SELECT * FROM posts
WHERE team_id = $1 AND status = $5 AND (created_at, id) < ($2, $3)
ORDER BY created_at DESC, id DESC LIMIT $4"#;

/// One statement: the post core built (`$1`-`$16`, [`bind_post`]), only if its author `$2` is
/// an active member of its team `$3` (membership and user rows locked `FOR SHARE`), then its
/// media from the arrays `$17`-`$27` ([`MediaColumns`]; each row's team and post are the inserted
/// post's, whatever the team and post id arrays hold).
pub(crate) const CREATE: &str = concat!(
    "WITH p AS (\n INSERT INTO posts (",
    post_columns!(),
    ")\n SELECT ",
    post_values!(),
    "\n WHERE ",
    active_member!("$3", "$2"),
    "\n RETURNING *\n), m AS (\n INSERT INTO post_media (",
    media_columns!(),
    r#")
 SELECT u.id, p.team_id, p.id, u.media_type, u.file_url, u.file_size, u.dimensions, u.alt_text, u.order_index,
        u.created_at, u.content_hash
 FROM p CROSS JOIN UNNEST($17::uuid[], $18::uuid[], $19::uuid[], $20::text[], $21::text[], $22::int8[],
                          $23::jsonb[], $24::text[], $25::int4[], $26::timestamptz[], $27::text[]) AS u("#,
    media_columns!(),
    r#")
 RETURNING *
)
SELECT p.*, COALESCE((SELECT jsonb_agg(to_jsonb(m) ORDER BY m.order_index) FROM m), '[]'::jsonb) AS media
FROM p"#
);

/// Posts core built, from the column arrays `$1`-`$16` ([`PostColumns`]), only if the team
/// `$17` exists.
const IMPORT_POSTS: &str = concat!(
    "INSERT INTO posts (",
    post_columns!(),
    r#")
SELECT u.id, u.user_id, u.team_id, u.title, u.content, u.hashtags, u.status, u.scheduled_at, u.published_at,
       u.ai_generated, u.ai_prompt, u.engagement, u.created_at, u.updated_at, u.metadata,
       string_to_array(u.platforms, ',')
FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::text[],
            $8::timestamptz[], $9::timestamptz[], $10::bool[], $11::text[], $12::jsonb[], $13::timestamptz[],
            $14::timestamptz[], $15::jsonb[], $16::text[]) AS u("#,
    post_columns!(),
    r#")
WHERE EXISTS (SELECT 1 FROM teams WHERE id = $17)"#
);

/// Media core built, from the column arrays `$1`-`$11` ([`MediaColumns`]; every `team_id` the
/// importing team's, which `fk_post_media_post` holds to each post's).
const IMPORT_MEDIA: &str = concat!(
    "INSERT INTO post_media (",
    media_columns!(),
    r#")
SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int8[], $7::jsonb[],
                     $8::text[], $9::int4[], $10::timestamptz[], $11::text[])"#
);

/// One media item core built for the post `$12` (locked by [`LOCK_POST`]), from
/// one-element arrays `$1`-`$11` ([`MediaColumns`]), and the post's `updated_at` set to `$13`.
const ATTACH: &str = concat!(
    "WITH m AS (\n INSERT INTO post_media (",
    media_columns!(),
    r#")
 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int8[], $7::jsonb[],
                      $8::text[], $9::int4[], $10::timestamptz[], $11::text[])
)
UPDATE posts SET updated_at = $13 WHERE id = $12"#
);

/// The media of post `$1` of team `$2` as a JSON array in `order_index` order (the post locked
/// first).
const MEDIA_OF: &str = r#"
SELECT COALESCE(jsonb_agg(to_jsonb(m) ORDER BY m.order_index), '[]'::jsonb)
FROM post_media m WHERE m.team_id = $2 AND m.post_id = $1"#;

/// Detach: delete media item `$1` of post `$2` of team `$6`, renumber the rest from the arrays
/// `$3` (ids) and `$4` (new `order_index`, core computed), and set the post's `updated_at` to
/// `$5`. One statement, so the item count and order never show a gap.
const DETACH: &str = r#"
WITH d AS (DELETE FROM post_media WHERE team_id = $6 AND id = $1 AND post_id = $2),
     r AS (UPDATE post_media m SET order_index = u.order_index
           FROM UNNEST($3::uuid[], $4::int4[]) AS u(id, order_index)
           WHERE m.team_id = $6 AND m.id = u.id AND m.post_id = $2 AND m.order_index <> u.order_index)
UPDATE posts SET updated_at = $5 WHERE team_id = $6 AND id = $2"#;

/// Lock the post `$1` of team `$2` for the transaction, in a statement of its own: under READ
/// COMMITTED a `SELECT ... FOR UPDATE` that waited for the lock re-reads the locked row but
/// evaluates its subqueries on the snapshot taken before it waited, so [`LOCKED_POST`] must
/// run after this one to see the media and schedules committed by the previous lock holder.
const LOCK_POST: &str = "SELECT 1 FROM posts WHERE id = $1 AND team_id = $2 FOR UPDATE";

/// The post `$1` (locked by [`LOCK_POST`]) with its media kinds and the platforms of its live
/// schedules (which an edit must keep fitting).
const LOCKED_POST: &str = r#"
SELECT p.*,
       ARRAY(SELECT m.media_type FROM post_media m WHERE m.team_id = p.team_id AND m.post_id = p.id
             ORDER BY m.order_index)::text[] AS media_kinds,
       ARRAY(SELECT DISTINCT s.platform FROM schedules s WHERE s.post_id = p.id
               AND s.status IN ('pending', 'processing', 'publishing', 'outcome_unknown'))::text[]
         AS live_platforms
FROM posts p WHERE p.id = $1"#;

/// The post `post` of `team`, locked for the transaction ([`LOCK_POST`], then [`LOCKED_POST`]);
/// `None` when the team has no such post.
async fn lock_post(conn: &mut sqlx::PgConnection, post: PostId, team: TeamId) -> Result<Option<PgRow>> {
    let found = sqlx::query(LOCK_POST).bind(post.0).bind(team.0).fetch_optional(&mut *conn).await.map_err(map_sqlx)?;
    if found.is_none() {
        return Ok(None);
    }
    sqlx::query(LOCKED_POST).bind(post.0).fetch_optional(&mut *conn).await.map_err(map_sqlx)
}

/// Store the post core changed: `$1`-`$16` ([`bind_post`]); `$1` is also the row's id.
const SAVE: &str =
    concat!("UPDATE posts SET (", post_columns!(), ") = ROW(", post_values!(), ")\nWHERE id = $1 RETURNING *");

impl PgStore {
    /// `MissingReference` (`fk_posts_team`) unless the team exists.
    async fn require_team(&self, team: TeamId) -> Result<()> {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)")
            .bind(team.0)
            .fetch_one(self.exec())
            .await
            .map_err(map_sqlx)?;
        if exists { Ok(()) } else { Err(missing(Entity::Post, Entity::Team, FK_POSTS_TEAM)) }
    }
}

#[async_trait]
impl PostRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn create_post(&self, team: TeamId, post: NewPost) -> Result<PostWithMedia> {
        let _write = self.write_mark();
        let built = post.into_record(team, self.now())?;
        let mut media = MediaColumns::default();
        built.media.iter().for_each(|m| media.push(m));
        let query = media.bind(bind_post(sqlx::query(CREATE), &built.post));
        match query.fetch_optional(self.exec()).await.map_err(map_sqlx)? {
            Some(row) => record(&row),
            None => Err(refusal(self.exec(), team, built.post.user_id, Acting::POST).await),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn import_posts(&self, team: TeamId, posts: Vec<ImportedPost>) -> Result<u64> {
        let _write = self.write_mark();
        let built = import_records(team, posts)?;
        if built.is_empty() {
            return self.require_team(team).await.map(|()| 0);
        }
        let count = built.len() as u64;
        let authors: Vec<UserId> = built.iter().map(|p| p.post.user_id).collect();
        let mut cols = PostColumns::default();
        let mut media = MediaColumns::default();
        for p in built {
            p.media.iter().for_each(|m| media.push(m));
            cols.push(p.post);
        }
        let mut tx = self.begin().await?;
        let outcome = async {
            require_members(&mut *tx, team, &authors, Acting::POST).await?;
            let inserted = cols
                .bind(sqlx::query(IMPORT_POSTS))
                .bind(team.0)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx)?
                .rows_affected();
            if inserted != count {
                return Err(missing(Entity::Post, Entity::Team, FK_POSTS_TEAM));
            }
            if !media.ids.is_empty() {
                media.bind(sqlx::query(IMPORT_MEDIA)).execute(&mut *tx).await.map_err(map_sqlx)?;
            }
            Ok(count)
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_post(&self, team: TeamId, id: PostId) -> Result<PostWithMedia> {
        let rows = sqlx::query(GET).bind(id.0).bind(team.0).fetch_all(self.exec()).await.map_err(map_sqlx)?;
        group_media(&rows).map_err(map_sqlx)?.pop().ok_or_else(|| Error::not_found(Entity::Post, id))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_post(&self, team: TeamId, id: PostId, update: PostUpdate) -> Result<Post> {
        let _write = self.write_mark();
        validate::check(&update)?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let locked = lock_post(&mut tx, id, team).await?.ok_or_else(|| Error::not_found(Entity::Post, id))?;
            let kinds: Vec<MediaType> = choices_column(&locked, "media_kinds").map_err(map_sqlx)?;
            let live: Vec<Platform> = choices_column(&locked, "live_platforms").map_err(map_sqlx)?;
            let mut post: Post = record(&locked)?;
            update.apply(&mut post, now);
            check_platform_fit(&post.content, &kinds, &platforms_to_fit(&post.platforms, live))?;
            let row = bind_post(sqlx::query(SAVE), &post).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            record(&row)
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn delete_post(&self, team: TeamId, id: PostId) -> Result<()> {
        let _write = self.write_mark();
        self.delete_owned("DELETE FROM posts WHERE id = $1 AND team_id = $2", id.0, team.0, Entity::Post, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_posts(&self, team: TeamId, filter: PostFilter, page: PageRequest) -> Result<Page<Post>> {
        match filter.status {
            Some(status) => self.filtered_page(LIST_BY_STATUS, team.0, &page, |q| q.bind(status.as_str())).await,
            None => self.keyed_page(LIST, team.0, &page).await,
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn feed(&self, team: TeamId, page: PageRequest) -> Result<Page<PostWithMedia>> {
        let k = Keyset::of(&page)?;
        let sql = limit_written(FEED, "LIMIT $4", k.fetch);
        let posts = self
            .read(|exec| {
                let query = sqlx::query(sql.clone()).bind(team.0).bind(k.at).bind(k.id).bind(k.fetch);
                async move {
                    let mut feed = FeedPage::new(team, usize::try_from(k.fetch).unwrap_or(0));
                    exec.for_each_row(query, |row| feed.add(&row)).await?;
                    feed.finish()
                }
            })
            .await?;
        Ok(Page::from_keyed(posts, page.limit))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team, post = %post))]
    async fn attach_media(&self, team: TeamId, post: PostId, media: NewPostMedia) -> Result<PostMedia> {
        let _write = self.write_mark();
        media.check()?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let locked = lock_post(&mut tx, post, team).await?.ok_or_else(|| Error::not_found(Entity::Post, post))?;
            let kinds: Vec<MediaType> = choices_column(&locked, "media_kinds").map_err(map_sqlx)?;
            let live: Vec<Platform> = choices_column(&locked, "live_platforms").map_err(map_sqlx)?;
            let mut row: Post = record(&locked)?;
            let fit = platforms_to_fit(&row.platforms, live);
            let attached = media.attach_to(&mut row, &kinds, &fit, now)?;
            let mut cols = MediaColumns::default();
            cols.push(&attached);
            cols.bind(sqlx::query(ATTACH))
                .bind(post.0)
                .bind(row.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx)?;
            Ok(attached)
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team, post = %post))]
    async fn detach_media(&self, team: TeamId, post: PostId, media: PostMediaId) -> Result<PostMedia> {
        let _write = self.write_mark();
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let locked =
                lock_post(&mut tx, post, team).await?.ok_or_else(|| Error::not_found(Entity::PostMedia, media))?;
            let live: Vec<Platform> = choices_column(&locked, "live_platforms").map_err(map_sqlx)?;
            let mut row: Post = record(&locked)?;
            let Json(mut items) = sqlx::query_scalar::<_, Json<Vec<PostMedia>>>(MEDIA_OF)
                .bind(post.0)
                .bind(team.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_sqlx)?;
            let fit = platforms_to_fit(&row.platforms, live);
            let removed = detach_from(&mut row, &mut items, media, &fit, now)?;
            let ids: Vec<Uuid> = items.iter().map(|m| m.id.0).collect();
            let order: Vec<i32> = items.iter().map(|m| m.order_index).collect();
            sqlx::query(DETACH)
                .bind(media.0)
                .bind(post.0)
                .bind(ids)
                .bind(order)
                .bind(row.updated_at)
                .bind(team.0)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx)?;
            Ok(removed)
        }
        .await;
        finish(tx, outcome).await
    }
}
