//! Content templates (`templates`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::clock::to_micros;
use crate::error::Error;
use crate::ids::{TeamId, TemplateId, UserId};
use crate::validate::{self as v, rule};

/// A stored template: one row of `templates`, owned by a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Primary key, a fresh id set at creation; never changes.
    pub id: TemplateId,
    /// The user who created the template; set at creation, never changes.
    pub user_id: UserId,
    /// The team that owns this template; every read goes through it.
    pub team_id: TeamId,
    /// Name: one line of 1 to 100 characters.
    pub name: String,
    /// Description: at most 10,000 characters, no NUL; may be blank.
    pub description: String,
    /// Template text: non-blank, at most 100,000 characters, no NUL.
    pub content: String,
    /// Category: 1 to 50 characters, one line, no surrounding whitespace.
    pub category: String,
    /// Up to 100 hashtags, each one word of at most 100 characters, with or without its `#`.
    pub hashtags: Vec<String>,
    /// Whether other teams may see it.
    pub is_public: bool,
    /// Times it was used: 0 at creation, raised by [`Template::record_use`] up to `i32::MAX`.
    pub usage_count: i32,
    /// Creation time (UTC, microseconds), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// Time of the last change (UTC, microseconds); a use does not change it.
    pub updated_at: DateTime<Utc>,
}

/// A template to create; the field rules are its `#[validate]` attributes.
#[derive(Debug, Clone, Validate)]
pub struct NewTemplate {
    /// Author: must exist and be an active member of the team (else `NotAMember`).
    pub user_id: UserId,
    /// Name, at most 100 characters.
    #[validate(length(max = 100), custom(function = "v::required_line"))]
    pub name: String,
    /// Description: at most 10,000 characters, no NUL; may be blank.
    #[validate(length(max = 10_000), custom(function = "v::no_nul"))]
    pub description: String,
    /// Template text: non-blank, at most 100,000 characters, no NUL.
    #[validate(length(max = 100_000), custom(function = "v::required_text"))]
    pub content: String,
    /// Category: 1 to 50 characters, one line, no surrounding whitespace.
    #[validate(length(max = 50), custom(function = "v::required_identifier"))]
    pub category: String,
    /// Up to 100 hashtags, each one word of at most 100 characters, with or without its `#`.
    #[validate(length(max = 100), custom(function = "v::hashtags"))]
    pub hashtags: Vec<String>,
    /// Whether other teams may see it (`false`: this team only).
    pub is_public: bool,
}

impl NewTemplate {
    /// The stored template of this input, checked, created at `now`: a fresh id, never used.
    pub fn into_record(self, team: TeamId, now: DateTime<Utc>) -> Result<Template, Error> {
        v::check(&self)?;
        let now = to_micros(now);
        Ok(Template {
            id: TemplateId::new(),
            user_id: self.user_id,
            team_id: team,
            name: self.name,
            description: self.description,
            content: self.content,
            category: self.category,
            hashtags: self.hashtags,
            is_public: self.is_public,
            usage_count: 0,
            created_at: now,
            updated_at: now,
        })
    }
}

impl Template {
    /// Count one use (`updated_at` unchanged) and return the new count; a validation error
    /// (`usage_count`) once the count is at `i32::MAX`.
    pub fn record_use(&mut self) -> Result<i32, Error> {
        self.usage_count = self
            .usage_count
            .checked_add(1)
            .ok_or_else(|| Error::invalid("usage_count", rule::RANGE, "the use count is at its maximum"))?;
        Ok(self.usage_count)
    }
}

/// Changes to a template; `None` leaves a field as is.
#[derive(Debug, Clone, Default, Validate)]
pub struct TemplateUpdate {
    /// New name: one line of 1 to 100 characters; `None` keeps it.
    #[validate(length(max = 100), custom(function = "v::required_line"))]
    pub name: Option<String>,
    /// New description: at most 10,000 characters, no NUL; `None` keeps it.
    #[validate(length(max = 10_000), custom(function = "v::no_nul"))]
    pub description: Option<String>,
    /// New text: non-blank, at most 100,000 characters, no NUL; `None` keeps it.
    #[validate(length(max = 100_000), custom(function = "v::required_text"))]
    pub content: Option<String>,
    /// New category: 1 to 50 characters, one line, no surrounding whitespace; `None` keeps it.
    #[validate(length(max = 50), custom(function = "v::required_identifier"))]
    pub category: Option<String>,
    /// New hashtags, each one word of at most 100 characters; `None` keeps them.
    #[validate(custom(function = "v::hashtags"))]
    pub hashtags: Option<Vec<String>>,
    /// Whether other teams may see it; `None` keeps it.
    pub is_public: Option<bool>,
}

impl TemplateUpdate {
    /// Apply the changes and set `updated_at` to `now`.
    pub fn apply(self, t: &mut Template, now: DateTime<Utc>) {
        if let Some(x) = self.name {
            t.name = x;
        }
        if let Some(x) = self.description {
            t.description = x;
        }
        if let Some(x) = self.content {
            t.content = x;
        }
        if let Some(x) = self.category {
            t.category = x;
        }
        if let Some(x) = self.hashtags {
            t.hashtags = x;
        }
        if let Some(x) = self.is_public {
            t.is_public = x;
        }
        t.updated_at = now;
    }
}

/// Filter for listing a team's templates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateFilter {
    /// Only templates in this category; `None` for every category.
    pub category: Option<String>,
}
