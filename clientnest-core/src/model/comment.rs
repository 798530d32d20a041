//! Ingested comments (`comments`) and the responses to them (`responses`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::choices::{CommentStatus, Priority, ResponseStatus, Sentiment};
use crate::clock::to_micros;
use crate::constraint::MAX_BATCH;
use crate::error::{Entity, Error, ValidationErrors};
use crate::ids::{CommentId, ResponseId, SocialAccountId, TeamId, UserId};
use crate::validate::{self as v, rule};

/// A stored comment. Unique per (account, platform comment id): ingesting twice is harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Primary key, a fresh id set at ingest; never changes.
    pub id: CommentId,
    /// The team that owns the comment: its account's team, set by the backend from the team the
    /// ingest went through (never from input); every read goes through it.
    pub team_id: TeamId,
    /// The account the comment arrived on.
    pub account_id: SocialAccountId,
    /// The platform's comment id: 1 to 100 characters, one line, no surrounding whitespace;
    /// unique per account.
    pub platform_id: String,
    /// Comment text: at most 100,000 characters, no NUL; may be blank.
    pub content: String,
    /// Author's display name: at most 100 characters, one line; may be blank.
    pub author_name: String,
    /// Author's platform id: at most 100 characters, one line, no surrounding whitespace.
    pub author_id: String,
    /// Sentiment; `None` until analysed or when cleared.
    pub sentiment: Option<Sentiment>,
    /// Triage priority (`medium` by default).
    pub priority: Priority,
    /// Triage status: `new` at ingest; `replied` once a response is sent.
    pub status: CommentStatus,
    /// When a response was last sent (UTC, microseconds); `None` until one is.
    pub replied_at: Option<DateTime<Utc>>,
    /// Ingest time (UTC, microseconds), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// Free-form JSON metadata (`{}` by default); strings and keys hold no NUL.
    pub metadata: serde_json::Value,
}

/// A comment to ingest; [`check_ingest`] holds every rule.
#[derive(Debug, Clone, Validate)]
pub struct NewComment {
    /// The account (must belong to the team ingesting).
    pub account_id: SocialAccountId,
    /// The platform's comment id, at most 100 characters.
    #[validate(length(max = 100), custom(function = "v::required_identifier"))]
    pub platform_id: String,
    /// Text: at most 100,000 characters, no NUL; may be blank.
    #[validate(length(max = 100_000), custom(function = "v::no_nul"))]
    pub content: String,
    /// Author's display name, at most 100 characters.
    #[validate(length(max = 100), custom(function = "v::one_line"))]
    pub author_name: String,
    /// Author's platform id, at most 100 characters.
    #[validate(length(max = 100), custom(function = "v::identifier"))]
    pub author_id: String,
    /// Sentiment, if known; `None` leaves it for later analysis.
    pub sentiment: Option<Sentiment>,
    /// Priority (default `medium`).
    pub priority: Priority,
    /// JSON metadata (default `{}`); strings and keys hold no NUL.
    #[validate(custom(function = "v::json"))]
    pub metadata: serde_json::Value,
}

impl NewComment {
    /// A comment with no sentiment, medium priority and no metadata.
    pub fn new(
        account_id: SocialAccountId,
        platform_id: impl Into<String>,
        content: impl Into<String>,
        author_name: impl Into<String>,
        author_id: impl Into<String>,
    ) -> Self {
        Self {
            account_id,
            platform_id: platform_id.into(),
            content: content.into(),
            author_name: author_name.into(),
            author_id: author_id.into(),
            sentiment: None,
            priority: Priority::Medium,
            metadata: serde_json::json!({}),
        }
    }

    /// The stored comment of a checked input ([`check_ingest`]), ingested by `team` at `now`:
    /// a fresh id, owned by `team`, status `new`, not replied.
    pub fn into_record(self, team: TeamId, now: DateTime<Utc>) -> Comment {
        Comment {
            id: CommentId::new(),
            team_id: team,
            account_id: self.account_id,
            platform_id: self.platform_id,
            content: self.content,
            author_name: self.author_name,
            author_id: self.author_id,
            sentiment: self.sentiment,
            priority: self.priority,
            status: CommentStatus::New,
            replied_at: None,
            created_at: to_micros(now),
            metadata: self.metadata,
        }
    }
}

/// Check an ingest batch: at most [`MAX_BATCH`] comments, then each in order; the first
/// invalid comment's errors name its position (`comments[3].platform_id`).
pub fn check_ingest(comments: &[NewComment]) -> Result<(), Error> {
    if comments.len() > MAX_BATCH {
        return Err(Error::invalid("comments", rule::RANGE, format!("at most {MAX_BATCH} comments per batch")));
    }
    for (i, c) in comments.iter().enumerate() {
        if let Err(Error::Validation(ValidationErrors(mut errors))) = v::check(c) {
            for e in &mut errors {
                e.field = format!("comments[{i}].{}", e.field);
            }
            return Err(Error::Validation(ValidationErrors(errors)));
        }
    }
    Ok(())
}

impl Comment {
    /// A response to it was sent at `now`: `replied`, `replied_at = now`.
    pub fn mark_replied(&mut self, now: DateTime<Utc>) {
        self.status = CommentStatus::Replied;
        self.replied_at = Some(to_micros(now));
    }
}

/// Triage changes to a comment.
#[derive(Debug, Clone, Default, Validate)]
pub struct CommentUpdate {
    /// New sentiment, or `Some(None)` to clear it.
    pub sentiment: Option<Option<Sentiment>>,
    /// New priority; `None` keeps it.
    pub priority: Option<Priority>,
    /// New status; `None` keeps it.
    pub status: Option<CommentStatus>,
    /// New metadata (JSON without NUL), replacing the old whole; `None` keeps it.
    #[validate(custom(function = "v::json"))]
    pub metadata: Option<serde_json::Value>,
}

impl CommentUpdate {
    /// Apply the triage changes; a comment has no `updated_at`.
    pub fn apply(self, c: &mut Comment) {
        if let Some(x) = self.sentiment {
            c.sentiment = x;
        }
        if let Some(x) = self.priority {
            c.priority = x;
        }
        if let Some(x) = self.status {
            c.status = x;
        }
        if let Some(x) = self.metadata {
            c.metadata = x;
        }
    }
}

/// What a batch ingest did: `inserted + duplicates` is the batch's length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Comments stored by this batch, status `new`.
    pub inserted: u64,
    /// Comments already stored (or repeated in the batch), left unchanged.
    pub duplicates: u64,
}

/// Inbox filter; every set field must match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxFilter {
    /// Only comments with this status; `None` for any.
    pub status: Option<CommentStatus>,
    /// Only comments with this sentiment; `None` for any (unanalysed included).
    pub sentiment: Option<Sentiment>,
    /// Only comments with this priority; `None` for any.
    pub priority: Option<Priority>,
    /// Only comments that arrived on this account; `None` for every account of the team.
    pub account_id: Option<SocialAccountId>,
}

/// A stored response to a comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Primary key, a fresh id set at creation; never changes.
    pub id: ResponseId,
    /// The team that owns the response: its comment's team, set by the backend from the team
    /// the call went through (never from input).
    pub team_id: TeamId,
    /// The comment answered; deleting the comment deletes its responses.
    pub comment_id: CommentId,
    /// The user who wrote or approved it.
    pub user_id: UserId,
    /// Reply text: non-blank, at most 100,000 characters, no NUL.
    pub content: String,
    /// Whether AI wrote the text; informational, no rule depends on it.
    pub ai_generated: bool,
    /// When it was sent (UTC); `None` while a draft or failed; kept once set.
    pub sent_at: Option<DateTime<Utc>>,
    /// `draft`, `sent` or `failed`; a sent response cannot become failed.
    pub status: ResponseStatus,
    /// Creation time (UTC), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
}

/// A response to record: one row of `responses`.
#[derive(Debug, Clone, Validate)]
pub struct NewResponse {
    /// The comment (must be visible to the team).
    pub comment_id: CommentId,
    /// The user who writes it: must exist and be an active member of the team (else `NotAMember`).
    pub user_id: UserId,
    /// Reply text: non-blank, at most 100,000 characters, no NUL.
    #[validate(length(max = 100_000), custom(function = "v::required_text"))]
    pub content: String,
    /// Whether AI wrote the text; informational, no rule depends on it.
    pub ai_generated: bool,
}

/// Why a sent response cannot be marked failed (`InvalidState` of the response).
pub const SENT_CANNOT_FAIL: &str = "a sent response cannot be marked failed";

impl NewResponse {
    /// The stored response of this input, checked, written through `team` at `now`: owned
    /// by `team`, a draft, or with `sent` already sent at `now` (its comment is then marked
    /// replied, [`Comment::mark_replied`]).
    pub fn into_record(self, team: TeamId, now: DateTime<Utc>, sent: bool) -> Result<Response, Error> {
        v::check(&self)?;
        let now = to_micros(now);
        Ok(Response {
            id: ResponseId::new(),
            team_id: team,
            comment_id: self.comment_id,
            user_id: self.user_id,
            content: self.content,
            ai_generated: self.ai_generated,
            sent_at: sent.then_some(now),
            status: if sent { ResponseStatus::Sent } else { ResponseStatus::Draft },
            created_at: now,
        })
    }
}

impl Response {
    /// Mark it sent at `now`; a response sent already keeps its `sent_at`. Returns whether it
    /// changed (then its comment is marked replied too).
    pub fn mark_sent(&mut self, now: DateTime<Utc>) -> bool {
        if self.status == ResponseStatus::Sent {
            return false;
        }
        self.status = ResponseStatus::Sent;
        self.sent_at = Some(to_micros(now));
        true
    }

    /// Mark it failed; `InvalidState` ([`SENT_CANNOT_FAIL`]) once it was sent.
    pub fn mark_failed(&mut self) -> Result<(), Error> {
        if self.status == ResponseStatus::Sent {
            return Err(Error::InvalidState {
                entity: Entity::Response,
                id: self.id.to_string(),
                reason: SENT_CANNOT_FAIL,
            });
        }
        self.status = ResponseStatus::Failed;
        Ok(())
    }
}
