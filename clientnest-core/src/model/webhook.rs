//! Webhooks (`webhooks`): endpoints a user registers, with a signing secret kept encrypted.

use chrono::{DateTime, Utc};
use validator::Validate;

use super::choices::Platform;
use crate::clock::to_micros;
use crate::crypto::{MIN_WEBHOOK_SECRET_LEN, WEBHOOK_SECRET_RULE};
use crate::error::Error;
use crate::ids::{UserId, WebhookId};
use crate::secret::Secret;
use crate::validate::{self as v, Checks, HostPolicy, rule};

/// A stored webhook. Owned by a user (the seed's ERD), reached through that user.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Primary key, a fresh id set at registration; never changes.
    pub id: WebhookId,
    /// The owning user (the seed's ERD); every read goes through that user.
    pub user_id: UserId,
    /// Platform whose events it receives.
    pub platform: Platform,
    /// Event type, e.g. `comment.created`.
    pub event_type: String,
    /// Endpoint URL deliveries go to: absolute http(s), on a public host unless the store's
    /// [`HostPolicy`](crate::validate::HostPolicy) allows private ones.
    pub endpoint_url: String,
    /// Signing secret: at least 32 bytes, at most 100 characters, no NUL.
    pub secret_key: Secret,
    /// Whether deliveries are made.
    pub is_active: bool,
    /// Last delivery time (UTC, microseconds, years 1900 to 9999); `None` until the first.
    pub last_triggered: Option<DateTime<Utc>>,
    /// Creation time (UTC, microseconds), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// Time of the last change (UTC); equals `created_at` until an update.
    pub updated_at: DateTime<Utc>,
}

/// The secret's rules: not blank, no NUL byte, at least
/// [`MIN_WEBHOOK_SECRET_LEN`](crate::crypto::MIN_WEBHOOK_SECRET_LEN) (32) bytes (rule
/// `min_length`), at most 100 characters (the column).
fn check_secret(c: &mut Checks, s: &Secret) {
    c.ensure(!s.expose().trim().is_empty(), "secret_key", rule::REQUIRED, "must not be blank");
    c.ensure(
        s.expose().trim().is_empty() || s.len() >= MIN_WEBHOOK_SECRET_LEN,
        "secret_key",
        WEBHOOK_SECRET_RULE,
        "must be at least 32 bytes long",
    );
    c.ensure(!s.expose().contains('\0'), "secret_key", rule::NUL_BYTE, "must not contain NUL bytes");
    c.ensure(s.expose().chars().count() <= 100, "secret_key", rule::MAX_LENGTH, "must be at most 100 characters");
}

/// A webhook to register; [`NewWebhook::check`] holds every rule.
#[derive(Debug, Clone, Validate)]
pub struct NewWebhook {
    /// Platform whose events it receives.
    pub platform: Platform,
    /// Event type, an identifier (one line, no surrounding whitespace) of at most 50
    /// characters (`comment.created`).
    #[validate(length(max = 50), custom(function = "v::required_identifier"))]
    pub event_type: String,
    /// Endpoint URL: absolute http(s), on a public host unless the store's [`HostPolicy`]
    /// allows private ones ([`rule::PRIVATE_HOST`](crate::validate::rule::PRIVATE_HOST)).
    #[validate(custom(function = "v::http_url"))]
    pub endpoint_url: String,
    /// Signing secret: at least 32 bytes, at most 100 characters
    /// ([`generate_webhook_secret`](crate::crypto::generate_webhook_secret) makes one from 32
    /// random bytes).
    #[validate(skip)]
    pub secret_key: Secret,
}

impl NewWebhook {
    /// All rules, the secret's and the endpoint host's (under `hosts`) included.
    pub fn check(&self, hosts: HostPolicy) -> Result<(), Error> {
        let mut c = Checks::of(self);
        check_secret(&mut c, &self.secret_key);
        hosts.ensure(&mut c, "endpoint_url", Some(&self.endpoint_url));
        c.finish()
    }

    /// The webhook of `user` to store, after [`NewWebhook::check`] under `hosts`: a new id,
    /// active, never triggered, created and changed at `now` (truncated to microseconds).
    pub fn into_record(self, user: UserId, hosts: HostPolicy, now: DateTime<Utc>) -> Result<Webhook, Error> {
        self.check(hosts)?;
        let now = to_micros(now);
        Ok(Webhook {
            id: WebhookId::new(),
            user_id: user,
            platform: self.platform,
            event_type: self.event_type,
            endpoint_url: self.endpoint_url,
            secret_key: self.secret_key,
            is_active: true,
            last_triggered: None,
            created_at: now,
            updated_at: now,
        })
    }
}

impl Webhook {
    /// The delivery time `record_webhook_triggered` stores: `at` truncated to microseconds,
    /// refused (rule `time_range`) outside the years 1900 to 9999.
    pub fn triggered_at(at: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
        if v::storable_time(&at).is_err() {
            return Err(Error::invalid("at", rule::TIME_RANGE, "must be between the years 1900 and 9999"));
        }
        Ok(to_micros(at))
    }
}

/// Changes to a webhook; `None` leaves a field as is.
#[derive(Debug, Clone, Default, Validate)]
pub struct WebhookUpdate {
    /// New event type (an identifier, as on [`NewWebhook`]).
    #[validate(length(max = 50), custom(function = "v::required_identifier"))]
    pub event_type: Option<String>,
    /// New endpoint (public host unless the [`HostPolicy`] allows private ones).
    #[validate(custom(function = "v::http_url"))]
    pub endpoint_url: Option<String>,
    /// New secret (rotation): at least 32 bytes, at most 100 characters.
    #[validate(skip)]
    pub secret_key: Option<Secret>,
    /// Switch deliveries on (`true`) or off (`false`); `None` keeps it.
    pub is_active: Option<bool>,
}

impl WebhookUpdate {
    /// All rules, the secret's and the endpoint host's (under `hosts`) included.
    pub fn check(&self, hosts: HostPolicy) -> Result<(), Error> {
        let mut c = Checks::of(self);
        hosts.ensure(&mut c, "endpoint_url", self.endpoint_url.as_deref());
        if let Some(s) = &self.secret_key {
            check_secret(&mut c, s);
        }
        c.finish()
    }

    /// Apply the changes and set `updated_at` to `now`.
    pub fn apply(self, w: &mut Webhook, now: DateTime<Utc>) {
        if let Some(x) = self.event_type {
            w.event_type = x;
        }
        if let Some(x) = self.endpoint_url {
            w.endpoint_url = x;
        }
        if let Some(x) = self.secret_key {
            w.secret_key = x;
        }
        if let Some(x) = self.is_active {
            w.is_active = x;
        }
        w.updated_at = now;
    }
}
