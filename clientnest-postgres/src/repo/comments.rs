//! Comments (`comments`) and responses (`responses`), each row carrying its team (`team_id`,
//! set from the team the call goes through and kept equal to the parent's by the composite
//! foreign keys of migration 0007), so every read filters on its own `team_id` with no join for
//! tenancy. Ingest is one `INSERT ... SELECT FROM UNNEST ... ON CONFLICT DO NOTHING`; a response
//! is written in a transaction that locks its comment, and a sent one marks the comment replied.
//!
//! Every column of both tables is named here, once per form: the column lists
//! ([`comment_columns!`], [`response_columns!`]), the binders ([`bind_comment`],
//! [`bind_response`], [`CommentColumns`]) and the row mappings (`Db<Comment>`, `Db<Response>`).

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::constraint::{FK_COMMENTS_ACCOUNT, FK_RESPONSES_COMMENT};
use clientnest_core::ids::{CommentId, ResponseId, SocialAccountId, TeamId, UserId};
use clientnest_core::model::{
    Comment, CommentUpdate, InboxFilter, IngestReport, NewComment, NewResponse, Response, ResponseStatus, check_ingest,
};
use clientnest_core::page::{Page, PageRequest};
use clientnest_core::ports::CommentRepository;
use clientnest_core::{Entity, Error, Result, validate};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Row};
use uuid::Uuid;

use super::members::{Acting, require_member};
use super::{Db, PgQuery, choice_column, missing, record};
use crate::error::map_sqlx;
use crate::store::{PgStore, finish};

/// The columns of `comments`, in the order [`bind_comment`] binds them.
macro_rules! comment_columns {
    () => {
        "id, team_id, account_id, platform_id, content, author_name, author_id, sentiment, priority, status, \
         replied_at, created_at, metadata"
    };
}

/// The placeholders of [`comment_columns!`]: `$1` id ... `$13` metadata.
macro_rules! comment_values {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13"
    };
}

/// The columns of `responses`, in the order [`bind_response`] binds them.
macro_rules! response_columns {
    () => {
        "id, team_id, comment_id, user_id, content, ai_generated, sent_at, status, created_at"
    };
}

/// The placeholders of [`response_columns!`]: `$1` id ... `$9` created_at.
macro_rules! response_values {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9"
    };
}

/// Bind every column of a comment, `$1` to `$13` in [`comment_columns!`] order.
fn bind_comment(q: PgQuery, c: &Comment) -> PgQuery {
    q.bind(c.id.0)
        .bind(c.team_id.0)
        .bind(c.account_id.0)
        .bind(c.platform_id.clone())
        .bind(c.content.clone())
        .bind(c.author_name.clone())
        .bind(c.author_id.clone())
        .bind(c.sentiment.map(|s| s.as_str()))
        .bind(c.priority.as_str())
        .bind(c.status.as_str())
        .bind(c.replied_at)
        .bind(c.created_at)
        .bind(c.metadata.clone())
}

/// Bind every column of a response, `$1` to `$9` in [`response_columns!`] order.
fn bind_response(q: PgQuery, r: &Response) -> PgQuery {
    q.bind(r.id.0)
        .bind(r.team_id.0)
        .bind(r.comment_id.0)
        .bind(r.user_id.0)
        .bind(r.content.clone())
        .bind(r.ai_generated)
        .bind(r.sent_at)
        .bind(r.status.as_str())
        .bind(r.created_at)
}

impl FromRow<'_, PgRow> for Db<Comment> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        let sentiment: Option<String> = row.try_get("sentiment")?;
        Ok(Db(Comment {
            id: CommentId(row.try_get("id")?),
            team_id: TeamId(row.try_get("team_id")?),
            account_id: SocialAccountId(row.try_get("account_id")?),
            platform_id: row.try_get("platform_id")?,
            content: row.try_get("content")?,
            author_name: row.try_get("author_name")?,
            author_id: row.try_get("author_id")?,
            sentiment: sentiment.map(|s| super::parse_choice("sentiment", s)).transpose()?,
            priority: choice_column(row, "priority")?,
            status: choice_column(row, "status")?,
            replied_at: row.try_get("replied_at")?,
            created_at: row.try_get("created_at")?,
            metadata: row.try_get("metadata")?,
        }))
    }
}

impl FromRow<'_, PgRow> for Db<Response> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(Response {
            id: ResponseId(row.try_get("id")?),
            team_id: TeamId(row.try_get("team_id")?),
            comment_id: CommentId(row.try_get("comment_id")?),
            user_id: UserId(row.try_get("user_id")?),
            content: row.try_get("content")?,
            ai_generated: row.try_get("ai_generated")?,
            sent_at: row.try_get("sent_at")?,
            status: choice_column(row, "status")?,
            created_at: row.try_get("created_at")?,
        }))
    }
}

/// Comments as parallel column arrays, for `UNNEST`, in [`comment_columns!`] order.
#[derive(Default)]
struct CommentColumns {
    ids: Vec<Uuid>,
    teams: Vec<Uuid>,
    accounts: Vec<Uuid>,
    platform_ids: Vec<String>,
    contents: Vec<String>,
    author_names: Vec<String>,
    author_ids: Vec<String>,
    sentiments: Vec<Option<&'static str>>,
    priorities: Vec<&'static str>,
    statuses: Vec<&'static str>,
    replied: Vec<Option<DateTime<Utc>>>,
    created: Vec<DateTime<Utc>>,
    metadata: Vec<serde_json::Value>,
}

impl CommentColumns {
    fn push(&mut self, c: Comment) {
        self.ids.push(c.id.0);
        self.teams.push(c.team_id.0);
        self.accounts.push(c.account_id.0);
        self.platform_ids.push(c.platform_id);
        self.contents.push(c.content);
        self.author_names.push(c.author_name);
        self.author_ids.push(c.author_id);
        self.sentiments.push(c.sentiment.map(|s| s.as_str()));
        self.priorities.push(c.priority.as_str());
        self.statuses.push(c.status.as_str());
        self.replied.push(c.replied_at);
        self.created.push(c.created_at);
        self.metadata.push(c.metadata);
    }

    /// Bind the thirteen arrays in [`comment_columns!`] order.
    fn bind(self, q: PgQuery) -> PgQuery {
        q.bind(self.ids)
            .bind(self.teams)
            .bind(self.accounts)
            .bind(self.platform_ids)
            .bind(self.contents)
            .bind(self.author_names)
            .bind(self.author_ids)
            .bind(self.sentiments)
            .bind(self.priorities)
            .bind(self.statuses)
            .bind(self.replied)
            .bind(self.created)
            .bind(self.metadata)
    }
}

/// How many of the accounts `$2` are the team `$1`'s.
const COUNT_TEAM_ACCOUNTS: &str = "SELECT count(*) FROM social_accounts WHERE team_id = $1 AND id = ANY($2)";

/// The comments core built, from the column arrays `$1`-`$13` ([`CommentColumns`]; every
/// `team_id` the ingesting team's), in input order; a duplicate (stored, or earlier in the
/// batch) is skipped.
const INGEST: &str = concat!(
    "INSERT INTO comments (",
    comment_columns!(),
    r#")
SELECT u.id, u.team_id, u.account_id, u.platform_id, u.content, u.author_name, u.author_id, u.sentiment,
       u.priority, u.status, u.replied_at, u.created_at, u.metadata
FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[], $13::jsonb[]) WITH ORDINALITY AS u("#,
    comment_columns!(),
    r#", ord)
ORDER BY u.ord
ON CONFLICT (account_id, platform_id) DO NOTHING"#
);

/// Comment `$1` of team `$2`.
const GET: &str = "SELECT * FROM comments WHERE id = $1 AND team_id = $2";

/// Comment `$1` of team `$2`, locked.
const LOCK: &str = "SELECT * FROM comments WHERE id = $1 AND team_id = $2 FOR UPDATE";

/// A team's inbox: `$1` team, `$2`/`$3` the keyset bound, `$4` rows to fetch, then each filter
/// or NULL: `$5` status, `$6` sentiment, `$7` priority, `$8` account. Filtered on the comment's
/// own `team_id` (no join for tenancy) and read through `idx_comments_team_created`.
pub(crate) const INBOX: &str = r#"
SELECT * FROM comments
WHERE team_id = $1 AND (created_at, id) < ($2, $3)
  AND ($5::text IS NULL OR status = $5) AND ($6::text IS NULL OR sentiment = $6)
  AND ($7::text IS NULL OR priority = $7) AND ($8::uuid IS NULL OR account_id = $8)
ORDER BY created_at DESC, id DESC LIMIT $4"#;

/// Store the comment core changed: `$1`-`$13` ([`bind_comment`]); `$1` is also the row's id.
const SAVE: &str =
    concat!("UPDATE comments SET (", comment_columns!(), ") = ROW(", comment_values!(), ")\nWHERE id = $1 RETURNING *");

/// Insert the response core built: `$1`-`$9` ([`bind_response`]); its `team_id` is the
/// call's team, and `fk_responses_comment` (`team_id`, `comment_id`) holds it to the comment's.
const INSERT_RESPONSE: &str =
    concat!("INSERT INTO responses (", response_columns!(), ")\nVALUES (", response_values!(), ")\nRETURNING *");

/// Store the response core changed: `$1`-`$9` ([`bind_response`]); `$1` is also the row's id.
const SAVE_RESPONSE: &str = concat!(
    "UPDATE responses SET (",
    response_columns!(),
    ") = ROW(",
    response_values!(),
    ")\nWHERE id = $1 RETURNING *"
);

/// Response `$1` of team `$2`, locked.
const LOCK_RESPONSE: &str = "SELECT * FROM responses WHERE id = $1 AND team_id = $2 FOR UPDATE";

/// The responses to comment `$1` of team `$2`, newest first.
const RESPONSES_TO: &str =
    "SELECT * FROM responses WHERE team_id = $2 AND comment_id = $1 ORDER BY created_at DESC, id DESC";

/// The comment `id` of `team`, locked in `conn`'s transaction, or `None`.
async fn lock_comment(conn: &mut PgConnection, team: TeamId, id: CommentId) -> Result<Option<Comment>> {
    let row = sqlx::query(LOCK).bind(id.0).bind(team.0).fetch_optional(conn).await.map_err(map_sqlx)?;
    row.as_ref().map(record).transpose()
}

/// Store a comment core changed.
async fn save_comment(conn: &mut PgConnection, c: &Comment) -> Result<Comment> {
    let row = bind_comment(sqlx::query(SAVE), c).fetch_one(conn).await.map_err(map_sqlx)?;
    record(&row)
}

impl PgStore {
    /// Store a response core built, in one transaction: the comment must be the team's (locked,
    /// else `fk_responses_comment`) and the user an active member; a sent response marks the
    /// comment replied.
    async fn insert_response(&self, team: TeamId, response: Response) -> Result<Response> {
        let mut tx = self.begin().await?;
        let outcome = async {
            let mut comment = lock_comment(&mut tx, team, response.comment_id)
                .await?
                .ok_or_else(|| missing(Entity::Response, Entity::Comment, FK_RESPONSES_COMMENT))?;
            require_member(&mut *tx, team, response.user_id, Acting::RESPONSE).await?;
            let row =
                bind_response(sqlx::query(INSERT_RESPONSE), &response).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            if let Some(at) = response.sent_at {
                comment.mark_replied(at);
                save_comment(&mut tx, &comment).await?;
            }
            record(&row)
        }
        .await;
        finish(tx, outcome).await
    }

    /// Apply `change` to a response of the team in one transaction (the row locked). It returns
    /// whether the response changed; one that changed to `sent` marks its comment replied.
    async fn change_response(
        &self,
        team: TeamId,
        id: ResponseId,
        change: impl FnOnce(&mut Response, DateTime<Utc>) -> Result<bool> + Send,
    ) -> Result<Response> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let row = sqlx::query(LOCK_RESPONSE)
                .bind(id.0)
                .bind(team.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx)?
                .ok_or_else(|| Error::not_found(Entity::Response, id))?;
            let mut response: Response = record(&row)?;
            if !change(&mut response, now)? {
                return Ok(response);
            }
            let row =
                bind_response(sqlx::query(SAVE_RESPONSE), &response).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            if response.status == ResponseStatus::Sent
                && let Some(mut comment) = lock_comment(&mut tx, team, response.comment_id).await?
            {
                comment.mark_replied(now);
                save_comment(&mut tx, &comment).await?;
            }
            record(&row)
        }
        .await;
        finish(tx, outcome).await
    }
}

#[async_trait]
impl CommentRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn ingest_comments(&self, team: TeamId, comments: Vec<NewComment>) -> Result<IngestReport> {
        let _write = self.write_mark();
        check_ingest(&comments)?;
        if comments.is_empty() {
            return Ok(IngestReport::default());
        }
        let total = comments.len() as u64;
        let accounts: Vec<Uuid> = comments.iter().map(|c| c.account_id.0).collect::<HashSet<_>>().into_iter().collect();
        let now = self.now();
        let mut cols = CommentColumns::default();
        comments.into_iter().for_each(|c| cols.push(c.into_record(team, now)));
        let mut tx = self.begin().await?;
        let outcome = async {
            let owned: i64 = sqlx::query_scalar(COUNT_TEAM_ACCOUNTS)
                .bind(team.0)
                .bind(&accounts)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_sqlx)?;
            if owned != accounts.len() as i64 {
                return Err(missing(Entity::Comment, Entity::SocialAccount, FK_COMMENTS_ACCOUNT));
            }
            let inserted = cols.bind(sqlx::query(INGEST)).execute(&mut *tx).await.map_err(map_sqlx)?.rows_affected();
            Ok(IngestReport { inserted, duplicates: total - inserted })
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_comment(&self, team: TeamId, id: CommentId) -> Result<Comment> {
        let row = sqlx::query(GET).bind(id.0).bind(team.0).fetch_optional(self.exec()).await.map_err(map_sqlx)?;
        record(&row.ok_or_else(|| Error::not_found(Entity::Comment, id))?)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn inbox(&self, team: TeamId, filter: InboxFilter, page: PageRequest) -> Result<Page<Comment>> {
        self.filtered_page(INBOX, team.0, &page, |q| {
            q.bind(filter.status.map(|s| s.as_str()))
                .bind(filter.sentiment.map(|s| s.as_str()))
                .bind(filter.priority.map(|p| p.as_str()))
                .bind(filter.account_id.map(|a| a.0))
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_comment(&self, team: TeamId, id: CommentId, update: CommentUpdate) -> Result<Comment> {
        let _write = self.write_mark();
        validate::check(&update)?;
        let mut tx = self.begin().await?;
        let outcome = async {
            let mut comment =
                lock_comment(&mut tx, team, id).await?.ok_or_else(|| Error::not_found(Entity::Comment, id))?;
            update.apply(&mut comment);
            save_comment(&mut tx, &comment).await
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn draft_response(&self, team: TeamId, response: NewResponse) -> Result<Response> {
        let _write = self.write_mark();
        let built = response.into_record(team, self.now(), false)?;
        self.insert_response(team, built).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn send_response(&self, team: TeamId, response: NewResponse) -> Result<Response> {
        let _write = self.write_mark();
        let built = response.into_record(team, self.now(), true)?;
        self.insert_response(team, built).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn mark_response_sent(&self, team: TeamId, id: ResponseId) -> Result<Response> {
        let _write = self.write_mark();
        self.change_response(team, id, |r, now| Ok(r.mark_sent(now))).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn mark_response_failed(&self, team: TeamId, id: ResponseId) -> Result<Response> {
        let _write = self.write_mark();
        self.change_response(team, id, |r, _| r.mark_failed().map(|()| true)).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn responses_to(&self, team: TeamId, comment: CommentId) -> Result<Vec<Response>> {
        // Both statements on one server (a replica when one fits), so the comment seen and its
        // responses come from the same replay.
        let found = self
            .read(|pool| async move {
                if sqlx::query(GET).bind(comment.0).bind(team.0).fetch_optional(&pool).await?.is_none() {
                    return Ok(None);
                }
                sqlx::query(RESPONSES_TO).bind(comment.0).bind(team.0).fetch_all(&pool).await.map(Some)
            })
            .await?;
        let rows = found.ok_or_else(|| Error::not_found(Entity::Comment, comment))?;
        rows.iter().map(record).collect()
    }
}
