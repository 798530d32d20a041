//! Automations (`automations`): a typed trigger and a typed action.
//!
//! The seed stores `trigger_type` + `trigger_config` and `action_type` + `action_config`; here
//! each pair is one enum whose variant is the type and whose fields are the config.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::choices::{ActionType, Platform, Priority, Sentiment, TriggerType};
use crate::clock::to_micros;
use crate::error::Error;
use crate::ids::{AutomationId, TeamId, TemplateId, UserId};
use crate::validate::{self as v, Checks, rule};

/// The engagement figure an [`Trigger::EngagementThreshold`] watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngagementMetric {
    /// Like count; serialized as `likes`.
    Likes,
    /// Comment count; serialized as `comments`.
    Comments,
    /// Share count; serialized as `shares`.
    Shares,
    /// View count; serialized as `views`.
    Views,
}

/// What starts an automation, with its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "config", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A comment arrived on one of `platforms` (all when empty) containing any of `keywords`
    /// (any comment when empty), optionally of a given sentiment.
    CommentReceived {
        /// Platforms watched (empty: all).
        #[serde(default)]
        platforms: Vec<Platform>,
        /// Keywords, each one line of 1 to 200 characters (empty: any comment).
        #[serde(default)]
        keywords: Vec<String>,
        /// Required sentiment; `None` matches any sentiment.
        #[serde(default)]
        sentiment: Option<Sentiment>,
    },
    /// The team's name or a keyword was mentioned.
    MentionDetected {
        /// Platforms watched (empty: all).
        #[serde(default)]
        platforms: Vec<Platform>,
        /// Keywords, at least one, each one line of 1 to 200 characters.
        keywords: Vec<String>,
    },
    /// A time: a cron expression in an IANA zone.
    ScheduleTime {
        /// Cron expression: five whitespace-separated fields, one line of 1 to 200 characters.
        cron: String,
        /// IANA time zone name the cron is read in (`Europe/Paris`, `UTC`).
        timezone: String,
    },
    /// A post's metric crossed a threshold within a window.
    EngagementThreshold {
        /// The engagement figure watched.
        metric: EngagementMetric,
        /// The count the metric must reach; any value, no range rule.
        threshold: u64,
        /// The window in hours, 1 to 8784 (one leap year).
        window_hours: u32,
    },
}

/// What an automation does, with its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "config", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Reply with a template, a fixed text, or AI.
    AutoReply {
        /// Template to reply with; `None` for none. One of the three sources must be set.
        #[serde(default)]
        template_id: Option<TemplateId>,
        /// Fixed reply text, 1 to 10,000 characters without NUL; `None` for none.
        #[serde(default)]
        message: Option<String>,
        /// Let AI write the reply (default `false`).
        #[serde(default)]
        use_ai: bool,
    },
    /// Notify the listed users, or the team's admins when the list is empty.
    SendNotification {
        /// Who to notify (empty: the team's admins).
        #[serde(default)]
        user_ids: Vec<UserId>,
        /// Priority of the notifications sent.
        priority: Priority,
        /// Title of the notifications sent: one line of 1 to 200 characters.
        title: String,
    },
    /// Create a post from a template.
    CreatePost {
        /// The template whose content becomes the post.
        template_id: TemplateId,
        /// Target platforms of the post; at least one.
        platforms: Vec<Platform>,
        /// Minutes until it is scheduled (0: draft only).
        #[serde(default)]
        schedule_delay_minutes: u32,
    },
    /// Tag one user of the team on the item that triggered the automation.
    TagUser {
        /// The user tagged on the triggering item.
        user_id: UserId,
    },
}

fn split<T: Serialize>(x: &T) -> (String, serde_json::Value) {
    let mut v = serde_json::to_value(x).unwrap_or_default();
    let kind = v.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_owned();
    let config = v.get_mut("config").map(serde_json::Value::take).unwrap_or_else(|| serde_json::json!({}));
    (kind, config)
}

fn join<T: for<'de> Deserialize<'de>>(kind: &str, config: serde_json::Value, field: &str) -> Result<T, Error> {
    serde_json::from_value(serde_json::json!({ "type": kind, "config": config }))
        .map_err(|e| Error::invalid(field, rule::FORMAT, format!("invalid {kind} configuration: {e}")))
}

impl Trigger {
    /// The seed's `trigger_type`.
    pub fn kind(&self) -> TriggerType {
        match self {
            Trigger::CommentReceived { .. } => TriggerType::CommentReceived,
            Trigger::MentionDetected { .. } => TriggerType::MentionDetected,
            Trigger::ScheduleTime { .. } => TriggerType::ScheduleTime,
            Trigger::EngagementThreshold { .. } => TriggerType::EngagementThreshold,
        }
    }

    /// The seed's `trigger_config` JSON.
    pub fn config(&self) -> serde_json::Value {
        split(self).1
    }

    /// Rebuild from the stored type and config.
    pub fn from_parts(kind: TriggerType, config: serde_json::Value) -> Result<Self, Error> {
        join(kind.as_str(), config, "trigger_config")
    }

    fn check(&self, c: &mut Checks) {
        let texts: Vec<&String> = match self {
            Trigger::CommentReceived { keywords, .. } | Trigger::MentionDetected { keywords, .. } => {
                keywords.iter().collect()
            }
            Trigger::ScheduleTime { cron, timezone } => {
                c.ensure(
                    v::timezone(timezone).is_ok(),
                    "trigger.timezone",
                    rule::TIMEZONE,
                    "is not an IANA time zone name",
                );
                c.ensure(cron.split_whitespace().count() == 5, "trigger.cron", rule::FORMAT, "must have five fields");
                vec![cron]
            }
            Trigger::EngagementThreshold { window_hours, .. } => {
                c.ensure(
                    (1..=24 * 366).contains(window_hours),
                    "trigger.window_hours",
                    rule::RANGE,
                    "must be 1 hour to 1 year",
                );
                vec![]
            }
        };
        for t in texts {
            c.ensure(
                v::required_line(t).is_ok() && t.chars().count() <= 200,
                "trigger",
                rule::FORMAT,
                "texts must be one line of 1 to 200 characters",
            );
        }
        if let Trigger::MentionDetected { keywords, .. } = self {
            c.ensure(!keywords.is_empty(), "trigger.keywords", rule::REQUIRED, "needs at least one keyword");
        }
    }
}

impl Action {
    /// The seed's `action_type`.
    pub fn kind(&self) -> ActionType {
        match self {
            Action::AutoReply { .. } => ActionType::AutoReply,
            Action::SendNotification { .. } => ActionType::SendNotification,
            Action::CreatePost { .. } => ActionType::CreatePost,
            Action::TagUser { .. } => ActionType::TagUser,
        }
    }

    /// The seed's `action_config` JSON.
    pub fn config(&self) -> serde_json::Value {
        split(self).1
    }

    /// Rebuild from the stored type and config.
    pub fn from_parts(kind: ActionType, config: serde_json::Value) -> Result<Self, Error> {
        join(kind.as_str(), config, "action_config")
    }

    fn check(&self, c: &mut Checks) {
        match self {
            Action::AutoReply { template_id, message, use_ai } => {
                c.ensure(
                    template_id.is_some() || message.is_some() || *use_ai,
                    "action",
                    rule::REQUIRED,
                    "auto_reply needs a template, a message or use_ai",
                );
                if let Some(m) = message {
                    c.ensure(
                        v::required_text(m).is_ok() && m.chars().count() <= 10_000,
                        "action.message",
                        rule::FORMAT,
                        "must be 1 to 10000 characters without NUL",
                    );
                }
            }
            Action::SendNotification { title, .. } => {
                c.ensure(
                    v::required_line(title).is_ok() && title.chars().count() <= 200,
                    "action.title",
                    rule::FORMAT,
                    "must be one line of 1 to 200 characters",
                );
            }
            Action::CreatePost { platforms, .. } => {
                c.ensure(!platforms.is_empty(), "action.platforms", rule::REQUIRED, "needs at least one platform");
            }
            Action::TagUser { .. } => {}
        }
    }
}

/// A stored automation: one row of `automations`, owned by a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Automation {
    /// Primary key, a fresh id set at creation; never changes.
    pub id: AutomationId,
    /// The user who created the automation; set at creation, never changes.
    pub user_id: UserId,
    /// The team that owns this automation; every read goes through it.
    pub team_id: TeamId,
    /// Name: one line of 1 to 100 characters.
    pub name: String,
    /// Description: at most 10,000 characters, no NUL; may be blank.
    pub description: String,
    /// What starts it; stored as the seed's `trigger_type` and `trigger_config`.
    pub trigger: Trigger,
    /// What it does; stored as the seed's `action_type` and `action_config`.
    pub action: Action,
    /// Whether it runs; `false` keeps it stored but switched off.
    pub is_active: bool,
    /// Creation time (UTC), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// Time of the last change (UTC); equals `created_at` until an update.
    pub updated_at: DateTime<Utc>,
}

/// An automation to create; [`NewAutomation::check`] holds every rule.
#[derive(Debug, Clone, Validate)]
pub struct NewAutomation {
    /// Author: must exist and be an active member of the team (else `NotAMember`).
    pub user_id: UserId,
    /// Name: one line of 1 to 100 characters.
    #[validate(length(max = 100), custom(function = "v::required_line"))]
    pub name: String,
    /// Description: at most 10,000 characters, no NUL; may be blank.
    #[validate(length(max = 10_000), custom(function = "v::no_nul"))]
    pub description: String,
    /// What starts it; its configuration is checked by [`NewAutomation::check`].
    pub trigger: Trigger,
    /// What it does; its configuration is checked by [`NewAutomation::check`].
    pub action: Action,
    /// Whether it runs from the start (`false`: created switched off).
    pub is_active: bool,
}

impl NewAutomation {
    /// All rules, the trigger's and action's included.
    pub fn check(&self) -> Result<(), Error> {
        let mut c = Checks::of(self);
        self.trigger.check(&mut c);
        self.action.check(&mut c);
        c.finish()
    }

    /// The stored automation of this input, checked ([`NewAutomation::check`]), created at
    /// `now` with a fresh id.
    pub fn into_record(self, team: TeamId, now: DateTime<Utc>) -> Result<Automation, Error> {
        self.check()?;
        let now = to_micros(now);
        Ok(Automation {
            id: AutomationId::new(),
            user_id: self.user_id,
            team_id: team,
            name: self.name,
            description: self.description,
            trigger: self.trigger,
            action: self.action,
            is_active: self.is_active,
            created_at: now,
            updated_at: now,
        })
    }
}

/// Changes to an automation; `None` leaves a field as is.
#[derive(Debug, Clone, Default, Validate)]
pub struct AutomationUpdate {
    /// New name: one line of 1 to 100 characters; `None` keeps it.
    #[validate(length(max = 100), custom(function = "v::required_line"))]
    pub name: Option<String>,
    /// New description: at most 10,000 characters, no NUL; `None` keeps it.
    #[validate(length(max = 10_000), custom(function = "v::no_nul"))]
    pub description: Option<String>,
    /// New trigger, checked as on creation; `None` keeps it.
    pub trigger: Option<Trigger>,
    /// New action, checked as on creation; `None` keeps it.
    pub action: Option<Action>,
    /// Switch on (`true`) or off (`false`); `None` keeps it.
    pub is_active: Option<bool>,
}

impl AutomationUpdate {
    /// All rules: the field rules and those of a new trigger or action.
    pub fn check(&self) -> Result<(), Error> {
        let mut c = Checks::of(self);
        if let Some(t) = &self.trigger {
            t.check(&mut c);
        }
        if let Some(a) = &self.action {
            a.check(&mut c);
        }
        c.finish()
    }

    /// Apply the changes and set `updated_at` to `now`.
    pub fn apply(self, a: &mut Automation, now: DateTime<Utc>) {
        if let Some(x) = self.name {
            a.name = x;
        }
        if let Some(x) = self.description {
            a.description = x;
        }
        if let Some(x) = self.trigger {
            a.trigger = x;
        }
        if let Some(x) = self.action {
            a.action = x;
        }
        if let Some(x) = self.is_active {
            a.is_active = x;
        }
        a.updated_at = now;
    }
}
