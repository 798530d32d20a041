//! Comments (`comments`) and responses (`responses`), reached through the team of their social
//! account. Ingest is one `INSERT ... SELECT FROM UNNEST ... ON CONFLICT DO NOTHING`.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::constraint::{FK_COMMENTS_ACCOUNT, FK_RESPONSES_COMMENT, MAX_BATCH};
use clientnest_core::error::ValidationErrors;
use clientnest_core::ids::{CommentId, ResponseId, SocialAccountId, TeamId, UserId};
use clientnest_core::model::{
    Comment, CommentUpdate, InboxFilter, IngestReport, NewComment, NewResponse, Response, ResponseStatus,
};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::CommentRepository;
use clientnest_core::validate::{self, rule};
use clientnest_core::{Entity, Error, Result};
use uuid::Uuid;

use super::members::{Acting, active_member, refusal};
use super::{Keyset, choice, missing, page_of};
use crate::error::map_sqlx;
use crate::store::{PgStore, Tx, commit};

/// A `comments` row.
#[derive(sqlx::FromRow)]
struct CommentRow {
    id: Uuid,
    account_id: Uuid,
    platform_id: String,
    content: String,
    author_name: String,
    author_id: String,
    sentiment: Option<String>,
    priority: String,
    status: String,
    replied_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    metadata: serde_json::Value,
}

impl TryFrom<CommentRow> for Comment {
    type Error = Error;
    fn try_from(r: CommentRow) -> Result<Self> {
        Ok(Comment {
            id: CommentId(r.id),
            account_id: SocialAccountId(r.account_id),
            platform_id: r.platform_id,
            content: r.content,
            author_name: r.author_name,
            author_id: r.author_id,
            sentiment: r.sentiment.as_deref().map(choice).transpose()?,
            priority: choice(&r.priority)?,
            status: choice(&r.status)?,
            replied_at: r.replied_at,
            created_at: r.created_at,
            metadata: r.metadata,
        })
    }
}

/// A `responses` row.
#[derive(sqlx::FromRow)]
struct ResponseRow {
    id: Uuid,
    comment_id: Uuid,
    user_id: Uuid,
    content: String,
    ai_generated: bool,
    sent_at: Option<DateTime<Utc>>,
    status: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<ResponseRow> for Response {
    type Error = Error;
    fn try_from(r: ResponseRow) -> Result<Self> {
        Ok(Response {
            id: ResponseId(r.id),
            comment_id: CommentId(r.comment_id),
            user_id: UserId(r.user_id),
            content: r.content,
            ai_generated: r.ai_generated,
            sent_at: r.sent_at,
            status: choice(&r.status)?,
            created_at: r.created_at,
        })
    }
}

fn cursor(c: &Comment) -> Cursor {
    Cursor::after(c.created_at, c.id)
}

const COUNT_TEAM_ACCOUNTS: &str = "SELECT count(*) FROM social_accounts WHERE team_id = $1 AND id = ANY($2)";

/// The batch in input order; a duplicate (stored, or earlier in the batch) is skipped.
const INGEST: &str = "INSERT INTO comments (id, account_id, platform_id, content, author_name, author_id, \
       sentiment, priority, status, replied_at, created_at, metadata) \
     SELECT u.id, u.account_id, u.platform_id, u.content, u.author_name, u.author_id, u.sentiment, u.priority, \
       'new', NULL, $1, u.metadata \
     FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
       $10::jsonb[]) WITH ORDINALITY \
       AS u(id, account_id, platform_id, content, author_name, author_id, sentiment, priority, metadata, ord) \
     ORDER BY u.ord \
     ON CONFLICT (account_id, platform_id) DO NOTHING";

const GET: &str = "SELECT c.* FROM comments c JOIN social_accounts a ON a.id = c.account_id \
     WHERE c.id = $1 AND a.team_id = $2";

const LOCK: &str = "SELECT c.* FROM comments c JOIN social_accounts a ON a.id = c.account_id \
     WHERE c.id = $1 AND a.team_id = $2 FOR UPDATE OF c";

const INBOX: &str = "SELECT c.* FROM comments c JOIN social_accounts a ON a.id = c.account_id \
     WHERE a.team_id = $1 AND (c.created_at, c.id) < ($2, $3) \
       AND ($5::text IS NULL OR c.status = $5) AND ($6::text IS NULL OR c.sentiment = $6) \
       AND ($7::text IS NULL OR c.priority = $7) AND ($8::uuid IS NULL OR c.account_id = $8) \
     ORDER BY c.created_at DESC, c.id DESC LIMIT $4";

/// Whether comment `$1` is the team `$2`'s.
const TEAM_COMMENT: &str = "SELECT 1 FROM comments c JOIN social_accounts a ON a.id = c.account_id \
     WHERE c.id = $1 AND a.team_id = $2";

/// A draft response, only if the comment `$2` is the team `$7`'s and its user `$3` an active
/// member of that team (membership and user rows locked `FOR SHARE`).
const DRAFT: &str = concat!(
    "INSERT INTO responses (id, comment_id, user_id, content, ai_generated, sent_at, status, \
       created_at) \
     SELECT $1, $2, $3, $4, $5, NULL, 'draft', $6 \
     WHERE EXISTS (SELECT 1 FROM comments c JOIN social_accounts a ON a.id = c.account_id \
       WHERE c.id = $2 AND a.team_id = $7) AND ",
    active_member!("$7", "$3"),
    " RETURNING *"
);

/// A sent response and its comment replied, under the same conditions as [`DRAFT`].
const SEND: &str = concat!(
    "WITH r AS (\
       INSERT INTO responses (id, comment_id, user_id, content, ai_generated, sent_at, status, created_at) \
       SELECT $1, $2, $3, $4, $5, $6, 'sent', $6 \
       WHERE EXISTS (SELECT 1 FROM comments c JOIN social_accounts a ON a.id = c.account_id \
         WHERE c.id = $2 AND a.team_id = $7) AND ",
    active_member!("$7", "$3"),
    " RETURNING *\
     ), c AS (\
       UPDATE comments SET status = 'replied', replied_at = $6 WHERE id IN (SELECT comment_id FROM r) RETURNING 1\
     ) SELECT * FROM r"
);

const LOCK_RESPONSE: &str = "SELECT r.* FROM responses r JOIN comments c ON c.id = r.comment_id \
     JOIN social_accounts a ON a.id = c.account_id WHERE r.id = $1 AND a.team_id = $2 FOR UPDATE OF r";

/// Validate a batch: its size, then each comment in order; the first invalid comment's errors
/// are reported with its position (`comments[3].content`).
fn check_batch(comments: &[NewComment]) -> Result<()> {
    if comments.len() > MAX_BATCH {
        return Err(Error::invalid("comments", rule::RANGE, format!("at most {MAX_BATCH} comments per batch")));
    }
    for (i, c) in comments.iter().enumerate() {
        if let Err(Error::Validation(ValidationErrors(mut errors))) = validate::check(c) {
            for e in &mut errors {
                e.field = format!("comments[{i}].{}", e.field);
            }
            return Err(Error::Validation(ValidationErrors(errors)));
        }
    }
    Ok(())
}

/// A batch of comments as parallel arrays, for `UNNEST`.
#[derive(Default)]
struct CommentColumns {
    ids: Vec<Uuid>,
    accounts: Vec<Uuid>,
    platform_ids: Vec<String>,
    contents: Vec<String>,
    author_names: Vec<String>,
    author_ids: Vec<String>,
    sentiments: Vec<Option<&'static str>>,
    priorities: Vec<&'static str>,
    metadata: Vec<serde_json::Value>,
}

impl CommentColumns {
    fn of(comments: Vec<NewComment>) -> Self {
        let mut c = Self::default();
        for n in comments {
            c.ids.push(CommentId::new().0);
            c.accounts.push(n.account_id.0);
            c.platform_ids.push(n.platform_id);
            c.contents.push(n.content);
            c.author_names.push(n.author_name);
            c.author_ids.push(n.author_id);
            c.sentiments.push(n.sentiment.map(|s| s.as_str()));
            c.priorities.push(n.priority.as_str());
            c.metadata.push(n.metadata);
        }
        c
    }
}

impl PgStore {
    /// A response of the team, locked for update.
    async fn locked_response(&self, tx: &mut Tx, team: TeamId, id: ResponseId) -> Result<Response> {
        let row: Option<ResponseRow> =
            sqlx::query_as(LOCK_RESPONSE).bind(id.0).bind(team.0).fetch_optional(&mut **tx).await.map_err(map_sqlx)?;
        row.ok_or_else(|| Error::not_found(Entity::Response, id))?.try_into()
    }

    /// Insert a response (draft or sent) if its comment is the team's.
    async fn insert_response(&self, sql: &'static str, team: TeamId, r: NewResponse) -> Result<Response> {
        validate::check(&r)?;
        let row: Option<ResponseRow> = sqlx::query_as(sql)
            .bind(ResponseId::new().0)
            .bind(r.comment_id.0)
            .bind(r.user_id.0)
            .bind(&r.content)
            .bind(r.ai_generated)
            .bind(self.now())
            .bind(team.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        match row {
            Some(row) => row.try_into(),
            None => Err(self.response_refusal(team, &r).await),
        }
    }

    /// Why a response was not stored: the comment is not the team's, else the user's refusal.
    async fn response_refusal(&self, team: TeamId, r: &NewResponse) -> Error {
        let comment: std::result::Result<Option<i32>, _> =
            sqlx::query_scalar(TEAM_COMMENT).bind(r.comment_id.0).bind(team.0).fetch_optional(self.pool()).await;
        match comment {
            Ok(Some(_)) => refusal(self.pool(), team, r.user_id, Acting::RESPONSE).await,
            Ok(None) => missing(Entity::Response, Entity::Comment, FK_RESPONSES_COMMENT),
            Err(e) => map_sqlx(e),
        }
    }

    /// Set a response's status (and its comment's, when sent).
    async fn set_response_status(&self, tx: &mut Tx, r: &Response) -> Result<Response> {
        let row: ResponseRow =
            sqlx::query_as("UPDATE responses SET status = $2, sent_at = $3 WHERE id = $1 RETURNING *")
                .bind(r.id.0)
                .bind(r.status.as_str())
                .bind(r.sent_at)
                .fetch_one(&mut **tx)
                .await
                .map_err(map_sqlx)?;
        if r.status == ResponseStatus::Sent {
            sqlx::query("UPDATE comments SET status = 'replied', replied_at = $2 WHERE id = $1")
                .bind(r.comment_id.0)
                .bind(r.sent_at)
                .execute(&mut **tx)
                .await
                .map_err(map_sqlx)?;
        }
        row.try_into()
    }
}

#[async_trait]
impl CommentRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn ingest_comments(&self, team: TeamId, comments: Vec<NewComment>) -> Result<IngestReport> {
        check_batch(&comments)?;
        if comments.is_empty() {
            return Ok(IngestReport::default());
        }
        let total = comments.len() as u64;
        let accounts: Vec<Uuid> = comments.iter().map(|c| c.account_id.0).collect::<HashSet<_>>().into_iter().collect();
        let cols = CommentColumns::of(comments);
        let mut tx = self.begin().await?;
        let owned: i64 = sqlx::query_scalar(COUNT_TEAM_ACCOUNTS)
            .bind(team.0)
            .bind(&accounts)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        if owned != accounts.len() as i64 {
            return Err(missing(Entity::Comment, Entity::SocialAccount, FK_COMMENTS_ACCOUNT));
        }
        let inserted = sqlx::query(INGEST)
            .bind(self.now())
            .bind(&cols.ids)
            .bind(&cols.accounts)
            .bind(&cols.platform_ids)
            .bind(&cols.contents)
            .bind(&cols.author_names)
            .bind(&cols.author_ids)
            .bind(&cols.sentiments)
            .bind(&cols.priorities)
            .bind(&cols.metadata)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?
            .rows_affected();
        commit(tx).await?;
        Ok(IngestReport { inserted, duplicates: total - inserted })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_comment(&self, team: TeamId, id: CommentId) -> Result<Comment> {
        let row: Option<CommentRow> =
            sqlx::query_as(GET).bind(id.0).bind(team.0).fetch_optional(self.pool()).await.map_err(map_sqlx)?;
        row.ok_or_else(|| Error::not_found(Entity::Comment, id))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn inbox(&self, team: TeamId, filter: InboxFilter, page: PageRequest) -> Result<Page<Comment>> {
        let k = Keyset::of(&page)?;
        let rows: Vec<CommentRow> = sqlx::query_as(INBOX)
            .bind(team.0)
            .bind(k.at)
            .bind(k.id)
            .bind(k.fetch)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.sentiment.map(|s| s.as_str()))
            .bind(filter.priority.map(|p| p.as_str()))
            .bind(filter.account_id.map(|a| a.0))
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        page_of(rows, &page, Comment::try_from, cursor)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_comment(&self, team: TeamId, id: CommentId, update: CommentUpdate) -> Result<Comment> {
        validate::check(&update)?;
        let mut tx = self.begin().await?;
        let row: Option<CommentRow> =
            sqlx::query_as(LOCK).bind(id.0).bind(team.0).fetch_optional(&mut *tx).await.map_err(map_sqlx)?;
        let mut comment: Comment = row.ok_or_else(|| Error::not_found(Entity::Comment, id))?.try_into()?;
        update.apply(&mut comment);
        let row: CommentRow = sqlx::query_as(
            "UPDATE comments SET sentiment = $2, priority = $3, status = $4, metadata = $5 WHERE id = $1 RETURNING *",
        )
        .bind(comment.id.0)
        .bind(comment.sentiment.map(|s| s.as_str()))
        .bind(comment.priority.as_str())
        .bind(comment.status.as_str())
        .bind(&comment.metadata)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        commit(tx).await?;
        row.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn draft_response(&self, team: TeamId, response: NewResponse) -> Result<Response> {
        self.insert_response(DRAFT, team, response).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn send_response(&self, team: TeamId, response: NewResponse) -> Result<Response> {
        self.insert_response(SEND, team, response).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn mark_response_sent(&self, team: TeamId, id: ResponseId) -> Result<Response> {
        let mut tx = self.begin().await?;
        let mut response = self.locked_response(&mut tx, team, id).await?;
        if response.status == ResponseStatus::Sent {
            return Ok(response);
        }
        response.status = ResponseStatus::Sent;
        response.sent_at = Some(self.now());
        let saved = self.set_response_status(&mut tx, &response).await?;
        commit(tx).await?;
        Ok(saved)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn mark_response_failed(&self, team: TeamId, id: ResponseId) -> Result<Response> {
        let mut tx = self.begin().await?;
        let mut response = self.locked_response(&mut tx, team, id).await?;
        if response.status == ResponseStatus::Sent {
            return Err(Error::InvalidState {
                entity: Entity::Response,
                id: id.to_string(),
                reason: "a sent response cannot be marked failed",
            });
        }
        response.status = ResponseStatus::Failed;
        let saved = self.set_response_status(&mut tx, &response).await?;
        commit(tx).await?;
        Ok(saved)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn responses_to(&self, team: TeamId, comment: CommentId) -> Result<Vec<Response>> {
        let visible: Option<i32> = sqlx::query_scalar(TEAM_COMMENT)
            .bind(comment.0)
            .bind(team.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        if visible.is_none() {
            return Err(Error::not_found(Entity::Comment, comment));
        }
        let rows: Vec<ResponseRow> =
            sqlx::query_as("SELECT * FROM responses WHERE comment_id = $1 ORDER BY created_at DESC, id DESC")
                .bind(comment.0)
                .fetch_all(self.pool())
                .await
                .map_err(map_sqlx)?;
        rows.into_iter().map(Response::try_from).collect()
    }
}
