//! Comments and responses: batch ingest that skips duplicates, the inbox, and responses whose
//! sending marks their comment replied in the same step.

use std::cmp::Reverse;
use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::store::{MemoryStore, Tables, missing, page_desc};
use crate::constraint::{FK_COMMENTS_ACCOUNT, FK_RESPONSES_COMMENT, FK_RESPONSES_USER};
use crate::error::{Entity, Error, Result};
use crate::ids::{CommentId, ResponseId, TeamId};
use crate::model::{
    Comment, CommentUpdate, InboxFilter, IngestReport, NewComment, NewResponse, Response, check_ingest,
};
use crate::page::{Keyed, Page, PageRequest};
use crate::ports::CommentRepository;
use crate::validate;

fn matches(filter: &InboxFilter, c: &Comment) -> bool {
    filter.status.is_none_or(|s| c.status == s)
        && filter.sentiment.is_none_or(|s| c.sentiment == Some(s))
        && filter.priority.is_none_or(|p| c.priority == p)
        && filter.account_id.is_none_or(|a| c.account_id == a)
}

impl Tables {
    /// A comment of the team, or `NotFound`.
    fn team_comment(&self, team: TeamId, id: CommentId) -> Result<&Comment> {
        self.comments.get(&id).filter(|c| c.team_id == team).ok_or_else(|| Error::not_found(Entity::Comment, id))
    }

    fn team_comment_mut(&mut self, team: TeamId, id: CommentId) -> Result<&mut Comment> {
        self.comments.get_mut(&id).filter(|c| c.team_id == team).ok_or_else(|| Error::not_found(Entity::Comment, id))
    }

    /// A response of the team (its comment's team), or `NotFound`.
    fn team_response_mut(&mut self, team: TeamId, id: ResponseId) -> Result<&mut Response> {
        self.responses.get_mut(&id).filter(|r| r.team_id == team).ok_or_else(|| Error::not_found(Entity::Response, id))
    }

    /// Mark a comment replied at `now`.
    fn mark_replied(&mut self, id: CommentId, now: DateTime<Utc>) {
        if let Some(c) = self.comments.get_mut(&id) {
            c.mark_replied(now);
        }
    }

    /// Store a response core built after checking its comment, its user and the user's
    /// membership; a sent one marks its comment replied.
    fn insert_response(&mut self, team: TeamId, row: Response) -> Result<Response> {
        if self.team_comment(team, row.comment_id).is_err() {
            return Err(missing(Entity::Response, Entity::Comment, FK_RESPONSES_COMMENT));
        }
        self.require_user(row.user_id, Entity::Response, FK_RESPONSES_USER)?;
        self.require_member(team, row.user_id, Entity::Response)?;
        if let Some(at) = row.sent_at {
            self.mark_replied(row.comment_id, at);
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
            let comment = c.into_record(team, now);
            t.comment_keys.insert(key, comment.id);
            t.comments.insert(comment.id, comment);
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
        let rows = t.comments.values().filter(|c| c.team_id == team && matches(&filter, c));
        Ok(page_desc(rows, &page, Comment::cursor))
    }

    async fn update_comment(&self, team: TeamId, id: CommentId, update: CommentUpdate) -> Result<Comment> {
        validate::check(&update)?;
        let mut t = self.tables();
        let comment = t.team_comment_mut(team, id)?;
        update.apply(comment);
        Ok(comment.clone())
    }

    async fn draft_response(&self, team: TeamId, response: NewResponse) -> Result<Response> {
        let row = response.into_record(team, self.now(), false)?;
        self.tables().insert_response(team, row)
    }

    async fn send_response(&self, team: TeamId, response: NewResponse) -> Result<Response> {
        let row = response.into_record(team, self.now(), true)?;
        self.tables().insert_response(team, row)
    }

    async fn mark_response_sent(&self, team: TeamId, id: ResponseId) -> Result<Response> {
        let now = self.now();
        let mut t = self.tables();
        let response = t.team_response_mut(team, id)?;
        let changed = response.mark_sent(now);
        let row = response.clone();
        if changed {
            t.mark_replied(row.comment_id, now);
        }
        Ok(row)
    }

    async fn mark_response_failed(&self, team: TeamId, id: ResponseId) -> Result<Response> {
        let mut t = self.tables();
        let response = t.team_response_mut(team, id)?;
        response.mark_failed()?;
        Ok(response.clone())
    }

    async fn responses_to(&self, team: TeamId, comment: CommentId) -> Result<Vec<Response>> {
        let t = self.tables();
        t.team_comment(team, comment)?;
        let mut rows: Vec<Response> =
            t.responses.values().filter(|r| r.team_id == team && r.comment_id == comment).cloned().collect();
        rows.sort_unstable_by_key(|r| Reverse((r.created_at, r.id)));
        Ok(rows)
    }
}
