//! Comments and responses: batch ingest that skips duplicates, the inbox, and responses whose
//! sending marks their comment replied in the same step.

use std::cmp::Reverse;
use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::store::{MemoryStore, StoredComment, Tables, missing, page_desc};
use crate::constraint::{FK_COMMENTS_ACCOUNT, FK_RESPONSES_COMMENT, FK_RESPONSES_USER, MAX_BATCH};
use crate::error::{Entity, Error, Result, ValidationErrors};
use crate::ids::{CommentId, ResponseId, TeamId};
use crate::model::{
    Comment, CommentStatus, CommentUpdate, InboxFilter, IngestReport, NewComment, NewResponse, Response, ResponseStatus,
};
use crate::page::{Cursor, Page, PageRequest};
use crate::ports::CommentRepository;
use crate::validate::{self, rule};

fn comment_cursor(c: &StoredComment) -> Cursor {
    Cursor::after(c.comment.created_at, c.comment.id)
}

/// Check a batch: its size, then each comment (errors name it, e.g. `comments[3].platform_id`).
fn check_ingest(comments: &[NewComment]) -> Result<()> {
    if comments.len() > MAX_BATCH {
        return Err(Error::invalid("comments", rule::RANGE, "at most 10000 comments per batch"));
    }
    for (i, c) in comments.iter().enumerate() {
        match validate::check(c) {
            Ok(()) => {}
            Err(Error::Validation(ValidationErrors(mut errors))) => {
                for e in &mut errors {
                    e.field = format!("comments[{i}].{}", e.field);
                }
                return Err(Error::Validation(ValidationErrors(errors)));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn matches(filter: &InboxFilter, c: &Comment) -> bool {
    filter.status.is_none_or(|s| c.status == s)
        && filter.sentiment.is_none_or(|s| c.sentiment == Some(s))
        && filter.priority.is_none_or(|p| c.priority == p)
        && filter.account_id.is_none_or(|a| c.account_id == a)
}

impl Tables {
    /// A comment of the team, or `NotFound`.
    fn team_comment(&self, team: TeamId, id: CommentId) -> Result<&Comment> {
        self.comments
            .get(&id)
            .filter(|c| c.team_id == team)
            .map(|c| &c.comment)
            .ok_or_else(|| Error::not_found(Entity::Comment, id))
    }

    fn team_comment_mut(&mut self, team: TeamId, id: CommentId) -> Result<&mut Comment> {
        self.comments
            .get_mut(&id)
            .filter(|c| c.team_id == team)
            .map(|c| &mut c.comment)
            .ok_or_else(|| Error::not_found(Entity::Comment, id))
    }

    /// A response whose comment is the team's, or `NotFound`.
    fn team_response_mut(&mut self, team: TeamId, id: ResponseId) -> Result<&mut Response> {
        let comment = self.responses.get(&id).map(|r| r.comment_id);
        let visible = comment.is_some_and(|c| self.team_comment(team, c).is_ok());
        self.responses.get_mut(&id).filter(|_| visible).ok_or_else(|| Error::not_found(Entity::Response, id))
    }

    /// Mark a comment replied at `now`.
    fn mark_replied(&mut self, id: CommentId, now: DateTime<Utc>) {
        if let Some(c) = self.comments.get_mut(&id) {
            c.comment.status = CommentStatus::Replied;
            c.comment.replied_at = Some(now);
        }
    }

    /// Store a response after checking its comment, its user and the user's membership.
    fn insert_response(
        &mut self,
        team: TeamId,
        input: NewResponse,
        sent_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Response> {
        if self.team_comment(team, input.comment_id).is_err() {
            return Err(missing(Entity::Response, Entity::Comment, FK_RESPONSES_COMMENT));
        }
        self.require_user(input.user_id, Entity::Response, FK_RESPONSES_USER)?;
        self.require_member(team, input.user_id, Entity::Response)?;
        let row = Response {
            id: ResponseId::new(),
            comment_id: input.comment_id,
            user_id: input.user_id,
            content: input.content,
            ai_generated: input.ai_generated,
            sent_at,
            status: if sent_at.is_some() { ResponseStatus::Sent } else { ResponseStatus::Draft },
            created_at: now,
        };
        if sent_at.is_some() {
            self.mark_replied(row.comment_id, now);
        }
        self.responses.insert(row.id, row.clone());
        Ok(row)
    }
}

#[async_trait]
impl CommentRepository for MemoryStore {
    async fn ingest_comments(&self, team: TeamId, comments: Vec<NewComment>) -> Result<IngestReport> {
        check_ingest(&comments)?;
        let now = self.now();
        let mut t = self.tables();
        if comments.iter().any(|c| t.team_account(team, c.account_id).is_err()) {
            return Err(missing(Entity::Comment, Entity::SocialAccount, FK_COMMENTS_ACCOUNT));
        }
        let mut report = IngestReport::default();
        let mut seen = HashSet::new();
        for c in comments {
            let key = (c.account_id, c.platform_id.clone());
            if t.comment_keys.contains_key(&key) || !seen.insert(key.clone()) {
                report.duplicates += 1;
                continue;
            }
            let comment = Comment {
                id: CommentId::new(),
                account_id: c.account_id,
                platform_id: c.platform_id,
                content: c.content,
                author_name: c.author_name,
                author_id: c.author_id,
                sentiment: c.sentiment,
                priority: c.priority,
                status: CommentStatus::New,
                replied_at: None,
                created_at: now,
                metadata: c.metadata,
            };
            t.comment_keys.insert(key, comment.id);
            t.comments.insert(comment.id, StoredComment { team_id: team, comment });
            report.inserted += 1;
        }
        Ok(report)
    }

    async fn get_comment(&self, team: TeamId, id: CommentId) -> Result<Comment> {
        self.tables().team_comment(team, id).cloned()
    }

    async fn inbox(&self, team: TeamId, filter: InboxFilter, page: PageRequest) -> Result<Page<Comment>> {
        page.check()?;
        let t = self.tables();
        let rows = t.comments.values().filter(|c| c.team_id == team && matches(&filter, &c.comment));
        Ok(page_desc(rows, &page, comment_cursor).map(|c| c.comment))
    }

    async fn update_comment(&self, team: TeamId, id: CommentId, update: CommentUpdate) -> Result<Comment> {
        validate::check(&update)?;
        let mut t = self.tables();
        let comment = t.team_comment_mut(team, id)?;
        update.apply(comment);
        Ok(comment.clone())
    }

    async fn draft_response(&self, team: TeamId, response: NewResponse) -> Result<Response> {
        validate::check(&response)?;
        let now = self.now();
        self.tables().insert_response(team, response, None, now)
    }

    async fn send_response(&self, team: TeamId, response: NewResponse) -> Result<Response> {
        validate::check(&response)?;
        let now = self.now();
        self.tables().insert_response(team, response, Some(now), now)
    }

    async fn mark_response_sent(&self, team: TeamId, id: ResponseId) -> Result<Response> {
        let now = self.now();
        let mut t = self.tables();
        let response = t.team_response_mut(team, id)?;
        if response.status == ResponseStatus::Sent {
            return Ok(response.clone());
        }
        response.status = ResponseStatus::Sent;
        response.sent_at = Some(now);
        let row = response.clone();
        t.mark_replied(row.comment_id, now);
        Ok(row)
    }

    async fn mark_response_failed(&self, team: TeamId, id: ResponseId) -> Result<Response> {
        let mut t = self.tables();
        let response = t.team_response_mut(team, id)?;
        if response.status == ResponseStatus::Sent {
            return Err(Error::InvalidState {
                entity: Entity::Response,
                id: id.to_string(),
                reason: "a sent response cannot be marked failed",
            });
        }
        response.status = ResponseStatus::Failed;
        Ok(response.clone())
    }

    async fn responses_to(&self, team: TeamId, comment: CommentId) -> Result<Vec<Response>> {
        let t = self.tables();
        t.team_comment(team, comment)?;
        let mut rows: Vec<Response> = t.responses.values().filter(|r| r.comment_id == comment).cloned().collect();
        rows.sort_unstable_by_key(|r| Reverse((r.created_at, r.id)));
        Ok(rows)
    }
}
