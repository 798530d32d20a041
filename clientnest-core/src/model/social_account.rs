//! Connected social accounts (`social_accounts`). Tokens are [`Secret`]s, encrypted at rest.

use chrono::{DateTime, Utc};
use validator::Validate;

use super::choices::Platform;
use crate::error::Error;
use crate::ids::{SocialAccountId, TeamId, UserId};
use crate::secret::Secret;
use crate::validate::{self as v, Checks, rule};

/// A stored social account. Unique per (platform, platform_id, team).
#[derive(Debug, Clone, PartialEq)]
pub struct SocialAccount {
    /// Id.
    pub id: SocialAccountId,
    /// The user who connected it.
    pub user_id: UserId,
    /// The team it belongs to.
    pub team_id: TeamId,
    /// Platform.
    pub platform: Platform,
    /// The platform's account id.
    pub platform_id: String,
    /// The account's handle.
    pub username: String,
    /// OAuth access token.
    pub access_token: Secret,
    /// OAuth refresh token.
    pub refresh_token: Option<Secret>,
    /// When the access token expires.
    pub token_expires: Option<DateTime<Utc>>,
    /// Granted scopes.
    pub permissions: Vec<String>,
    /// False once disconnected: an inactive account never publishes.
    pub is_active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
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
    /// Platform.
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
    /// Access token expiry.
    #[validate(custom(function = "v::storable_time"))]
    pub token_expires: Option<DateTime<Utc>>,
    /// Granted scopes.
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
}

/// Changes to an account (token refresh, deactivation...).
#[derive(Debug, Clone, Default, Validate)]
pub struct SocialAccountUpdate {
    /// New handle.
    #[validate(length(max = 100), custom(function = "v::required_identifier"))]
    pub username: Option<String>,
    /// New access token.
    #[validate(skip)]
    pub access_token: Option<Secret>,
    /// New refresh token, or `Some(None)` to drop it.
    #[validate(skip)]
    pub refresh_token: Option<Option<Secret>>,
    /// New expiry, or `Some(None)` to clear it.
    #[validate(custom(function = "v::storable_time"))]
    pub token_expires: Option<Option<DateTime<Utc>>>,
    /// New scopes.
    #[validate(custom(function = "v::identifiers"))]
    pub permissions: Option<Vec<String>>,
    /// Activate or deactivate.
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

    /// Apply the changes.
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
            a.token_expires = x;
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
