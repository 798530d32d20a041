//! Connected social accounts (`social_accounts`). Tokens are [`Secret`]s, encrypted at rest.

use chrono::{DateTime, Utc};
use validator::Validate;

use super::choices::Platform;
use crate::clock::to_micros;
use crate::error::Error;
use crate::ids::{SocialAccountId, TeamId, UserId};
use crate::secret::Secret;
use crate::validate::{self as v, Checks, rule};

/// A stored social account. Unique per (platform, platform_id, team).
#[derive(Debug, Clone, PartialEq)]
pub struct SocialAccount {
    /// Primary key, a fresh id set at the first connect; kept on reconnect.
    pub id: SocialAccountId,
    /// The user who first connected it; a reconnect keeps it.
    pub user_id: UserId,
    /// The team that owns this account; every read goes through it.
    pub team_id: TeamId,
    /// Platform the account is on; with `platform_id` and the team, it identifies the account.
    pub platform: Platform,
    /// The platform's account id.
    pub platform_id: String,
    /// The account's handle.
    pub username: String,
    /// OAuth access token: non-blank, at most 8192 bytes, no NUL.
    pub access_token: Secret,
    /// OAuth refresh token (non-blank, at most 8192 bytes, no NUL); `None` when none was given
    /// or it was dropped.
    pub refresh_token: Option<Secret>,
    /// When the access token expires (UTC, microseconds); `None` when unknown or never.
    pub token_expires: Option<DateTime<Utc>>,
    /// Granted OAuth scopes, each non-blank, one line, no surrounding whitespace.
    pub permissions: Vec<String>,
    /// False once disconnected: an inactive account never publishes.
    pub is_active: bool,
    /// Creation time (UTC, microseconds), set by the backend at the first connect.
    pub created_at: DateTime<Utc>,
    /// Time of the last change (UTC): a reconnect or an update.
    pub updated_at: DateTime<Utc>,
}

fn check_token(c: &mut Checks, field: &str, s: &Secret) {
    c.ensure(!s.expose().trim().is_empty(), field, rule::REQUIRED, "must not be blank");
    c.ensure(!s.expose().contains('\0'), field, rule::NUL_BYTE, "must not contain NUL bytes");
    c.ensure(s.len() <= 8192, field, rule::MAX_LENGTH, "must be at most 8192 bytes");
}

/// An account to connect (or reconnect: same platform, platform id and team).
#[derive(Debug, Clone, Validate)]
pub struct NewSocialAccount {
    /// The connecting user (must exist).
    pub user_id: UserId,
    /// Platform the account is on.
    pub platform: Platform,
    /// The platform's account id, at most 100 characters.
    #[validate(length(max = 100), custom(function = "v::required_identifier"))]
    pub platform_id: String,
    /// Handle, at most 100 characters.
    #[validate(length(max = 100), custom(function = "v::required_identifier"))]
    pub username: String,
    /// Access token (at most 8192 bytes).
    #[validate(skip)]
    pub access_token: Secret,
    /// Refresh token; `None` on reconnect keeps the stored one.
    #[validate(skip)]
    pub refresh_token: Option<Secret>,
    /// Access token expiry (UTC, years 1900 to 9999); `None` when unknown or never.
    #[validate(custom(function = "v::storable_time"))]
    pub token_expires: Option<DateTime<Utc>>,
    /// Granted OAuth scopes, each non-blank, one line, no surrounding whitespace.
    #[validate(custom(function = "v::identifiers"))]
    pub permissions: Vec<String>,
}

impl NewSocialAccount {
    /// All rules, the tokens' included.
    pub fn check(&self) -> Result<(), Error> {
        let mut c = Checks::of(self);
        check_token(&mut c, "access_token", &self.access_token);
        if let Some(t) = &self.refresh_token {
            check_token(&mut c, "refresh_token", t);
        }
        c.finish()
    }

    /// The account to store in `team`, after [`NewSocialAccount::check`]: a new id, active,
    /// created and changed at `now`, times truncated to microseconds. A reconnect passes it to
    /// [`SocialAccount::reconnect`] instead of storing it.
    pub fn into_record(self, team: TeamId, now: DateTime<Utc>) -> Result<SocialAccount, Error> {
        self.check()?;
        let now = to_micros(now);
        Ok(SocialAccount {
            id: SocialAccountId::new(),
            user_id: self.user_id,
            team_id: team,
            platform: self.platform,
            platform_id: self.platform_id,
            username: self.username,
            access_token: self.access_token,
            refresh_token: self.refresh_token,
            token_expires: self.token_expires.map(to_micros),
            permissions: self.permissions,
            is_active: true,
            created_at: now,
            updated_at: now,
        })
    }
}

impl SocialAccount {
    /// Reconnect this stored account with `fresh` (built by [`NewSocialAccount::into_record`]
    /// for the same platform, platform id and team): id, creation time and the first
    /// connecting user stay; handle, tokens, expiry and scopes are replaced, except that a
    /// fresh record without a refresh token keeps the stored one; the account is active again.
    pub fn reconnect(&mut self, fresh: SocialAccount) {
        self.username = fresh.username;
        self.access_token = fresh.access_token;
        if let Some(refresh) = fresh.refresh_token {
            self.refresh_token = Some(refresh);
        }
        self.token_expires = fresh.token_expires;
        self.permissions = fresh.permissions;
        self.is_active = true;
        self.updated_at = fresh.updated_at;
    }
}

/// Changes to an account (token refresh, deactivation...).
#[derive(Debug, Clone, Default, Validate)]
pub struct SocialAccountUpdate {
    /// New handle: 1 to 100 characters, one line, no surrounding whitespace; `None` keeps it.
    #[validate(length(max = 100), custom(function = "v::required_identifier"))]
    pub username: Option<String>,
    /// New access token (non-blank, at most 8192 bytes, no NUL); `None` keeps it.
    #[validate(skip)]
    pub access_token: Option<Secret>,
    /// New refresh token, or `Some(None)` to drop it.
    #[validate(skip)]
    pub refresh_token: Option<Option<Secret>>,
    /// New expiry, or `Some(None)` to clear it.
    #[validate(custom(function = "v::storable_time"))]
    pub token_expires: Option<Option<DateTime<Utc>>>,
    /// New scopes, each non-blank, one line, no surrounding whitespace; `None` keeps them.
    #[validate(custom(function = "v::identifiers"))]
    pub permissions: Option<Vec<String>>,
    /// Activate or deactivate; an inactive account never publishes. `None` keeps it.
    pub is_active: Option<bool>,
}

impl SocialAccountUpdate {
    /// All rules, the tokens' included.
    pub fn check(&self) -> Result<(), Error> {
        let mut c = Checks::of(self);
        if let Some(t) = &self.access_token {
            check_token(&mut c, "access_token", t);
        }
        if let Some(Some(t)) = &self.refresh_token {
            check_token(&mut c, "refresh_token", t);
        }
        c.finish()
    }

    /// Apply the changes (a new expiry truncated to microseconds).
    pub fn apply(self, a: &mut SocialAccount, now: DateTime<Utc>) {
        if let Some(x) = self.username {
            a.username = x;
        }
        if let Some(x) = self.access_token {
            a.access_token = x;
        }
        if let Some(x) = self.refresh_token {
            a.refresh_token = x;
        }
        if let Some(x) = self.token_expires {
            a.token_expires = x.map(to_micros);
        }
        if let Some(x) = self.permissions {
            a.permissions = x;
        }
        if let Some(x) = self.is_active {
            a.is_active = x;
        }
        a.updated_at = now;
    }
}
