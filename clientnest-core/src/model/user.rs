//! Users (`users`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::clock::to_micros;
use crate::error::Error;
use crate::ids::UserId;
use crate::secret::PasswordHash;
use crate::validate::{self as v, Checks, HostPolicy};

/// A stored user: one row of `users`.
///
/// Its serialized form (serde: the cache's JSON, an API's `Json(user)`) has every field but
/// `password_hash`; deserializing gives [`PasswordHash::absent`] whatever the input holds. So
/// the hash never leaves the process, and a password is checked only against a user read from
/// the repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Primary key, a fresh id set at creation; never changes.
    pub id: UserId,
    /// Email, unique regardless of case.
    pub email: String,
    /// argon2id hash of the password. Never serialized (nor read from serialized input).
    #[serde(skip)]
    pub password_hash: PasswordHash,
    /// First name: one line of 1 to 50 characters.
    pub first_name: String,
    /// Last name: one line of 1 to 50 characters.
    pub last_name: String,
    /// Avatar URL: absolute http(s), on a public host unless the store's policy allows private
    /// ones; `None` for no avatar.
    pub avatar_url: Option<String>,
    /// IANA time zone name, at most 50 characters (`UTC` by default).
    pub timezone: String,
    /// Whether the user may sign in.
    pub is_active: bool,
    /// Whether the email was verified.
    pub email_verified: bool,
    /// Creation time (UTC, microseconds), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// Time of the last change (UTC); equals `created_at` until an update.
    pub updated_at: DateTime<Utc>,
    /// Last sign-in (UTC, microseconds), recorded through [`UserUpdate::last_login`]; `None` until
    /// the first.
    pub last_login: Option<DateTime<Utc>>,
    /// Free-form JSON preferences (`{}` by default); strings and keys hold no NUL.
    pub preferences: serde_json::Value,
}

/// A user to create. The password arrives already hashed
/// ([`hash_password`](crate::crypto::hash_password)).
#[derive(Debug, Clone, Validate)]
pub struct NewUser {
    /// Email (seed CHECK `chk_users_email_format`, at most 254 characters).
    #[validate(length(max = 254), custom(function = "v::email"))]
    pub email: String,
    /// argon2id hash.
    #[validate(custom(function = "v::password_hash"))]
    pub password_hash: PasswordHash,
    /// First name: one line (no control or bidi characters), 1 to 50 characters.
    #[validate(length(max = 50), custom(function = "v::required_line"))]
    pub first_name: String,
    /// Last name: one line, 1 to 50 characters.
    #[validate(length(max = 50), custom(function = "v::required_line"))]
    pub last_name: String,
    /// Avatar URL: absolute http(s), on a public host unless the store's [`HostPolicy`]
    /// allows private ones; `None` for no avatar.
    #[validate(custom(function = "v::http_url"))]
    pub avatar_url: Option<String>,
    /// IANA time zone, at most 50 characters (default `UTC`).
    #[validate(length(max = 50), custom(function = "v::timezone"))]
    pub timezone: String,
    /// Preferences (default `{}`).
    #[validate(custom(function = "v::json"))]
    pub preferences: serde_json::Value,
}

impl NewUser {
    /// All rules, the avatar host's (under `hosts`) included.
    pub fn check(&self, hosts: HostPolicy) -> Result<(), Error> {
        let mut c = Checks::of(self);
        hosts.ensure(&mut c, "avatar_url", self.avatar_url.as_deref());
        c.finish()
    }

    /// The user to store, after [`NewUser::check`]: a new id, active, email not verified,
    /// never signed in, created and changed at `now` (truncated to microseconds).
    pub fn into_record(self, hosts: HostPolicy, now: DateTime<Utc>) -> Result<User, Error> {
        self.check(hosts)?;
        let now = to_micros(now);
        Ok(User {
            id: UserId::new(),
            email: self.email,
            password_hash: self.password_hash,
            first_name: self.first_name,
            last_name: self.last_name,
            avatar_url: self.avatar_url,
            timezone: self.timezone,
            is_active: true,
            email_verified: false,
            created_at: now,
            updated_at: now,
            last_login: None,
            preferences: self.preferences,
        })
    }

    /// A user with the seed's defaults (zone `UTC`, no avatar, empty preferences).
    pub fn new(
        email: impl Into<String>,
        password_hash: PasswordHash,
        first_name: impl Into<String>,
        last_name: impl Into<String>,
    ) -> Self {
        Self {
            email: email.into(),
            password_hash,
            first_name: first_name.into(),
            last_name: last_name.into(),
            avatar_url: None,
            timezone: "UTC".to_owned(),
            preferences: serde_json::json!({}),
        }
    }
}

/// Changes to a user; `None` leaves a field as is, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, Validate)]
pub struct UserUpdate {
    /// New email: the seed's `chk_users_email_format`, at most 254 characters, unique regardless
    /// of case.
    #[validate(length(max = 254), custom(function = "v::email"))]
    pub email: Option<String>,
    /// New argon2id PHC hash ([`rule::PASSWORD_HASH`](crate::validate::rule::PASSWORD_HASH)).
    #[validate(custom(function = "v::password_hash"))]
    pub password_hash: Option<PasswordHash>,
    /// New first name (one line, as on [`NewUser`]).
    #[validate(length(max = 50), custom(function = "v::required_line"))]
    pub first_name: Option<String>,
    /// New last name (one line, as on [`NewUser`]).
    #[validate(length(max = 50), custom(function = "v::required_line"))]
    pub last_name: Option<String>,
    /// New avatar URL (public host unless the [`HostPolicy`] allows private ones), or
    /// `Some(None)` to remove it.
    #[validate(custom(function = "v::http_url"))]
    pub avatar_url: Option<Option<String>>,
    /// New IANA time zone name, at most 50 characters.
    #[validate(length(max = 50), custom(function = "v::timezone"))]
    pub timezone: Option<String>,
    /// Activate (`true`) or deactivate (`false`) the user; `None` keeps it.
    pub is_active: Option<bool>,
    /// Mark the email verified (`true`) or not (`false`); `None` keeps it.
    pub email_verified: Option<bool>,
    /// Record a sign-in time (years 1900 to 9999, kept to the microsecond); `None` keeps it.
    #[validate(custom(function = "v::storable_time"))]
    pub last_login: Option<DateTime<Utc>>,
    /// New preferences (JSON without NUL), replacing the old ones whole.
    #[validate(custom(function = "v::json"))]
    pub preferences: Option<serde_json::Value>,
}

impl UserUpdate {
    /// All rules, the avatar host's (under `hosts`) included.
    pub fn check(&self, hosts: HostPolicy) -> Result<(), Error> {
        let mut c = Checks::of(self);
        hosts.ensure(&mut c, "avatar_url", self.avatar_url.as_ref().and_then(Option::as_deref));
        c.finish()
    }

    /// Apply the changes to a record (after validation); the sign-in time is kept to the
    /// microsecond and `updated_at` becomes `now`.
    pub fn apply(self, u: &mut User, now: DateTime<Utc>) {
        if let Some(x) = self.email {
            u.email = x;
        }
        if let Some(x) = self.password_hash {
            u.password_hash = x;
        }
        if let Some(x) = self.first_name {
            u.first_name = x;
        }
        if let Some(x) = self.last_name {
            u.last_name = x;
        }
        if let Some(x) = self.avatar_url {
            u.avatar_url = x;
        }
        if let Some(x) = self.timezone {
            u.timezone = x;
        }
        if let Some(x) = self.is_active {
            u.is_active = x;
        }
        if let Some(x) = self.email_verified {
            u.email_verified = x;
        }
        if let Some(x) = self.last_login {
            u.last_login = Some(to_micros(x));
        }
        if let Some(x) = self.preferences {
            u.preferences = x;
        }
        u.updated_at = now;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_serialized_form_carries_no_password_hash() {
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let now = Utc::now();
        let user = User {
            id: UserId::new(),
            email: "ada@example.com".to_owned(),
            password_hash: PasswordHash::from_phc(phc),
            first_name: "Ada".to_owned(),
            last_name: "Lovelace".to_owned(),
            avatar_url: None,
            timezone: "UTC".to_owned(),
            is_active: true,
            email_verified: false,
            created_at: now,
            updated_at: now,
            last_login: None,
            preferences: serde_json::json!({}),
        };
        let json = serde_json::to_string(&user).unwrap();
        assert!(!json.contains("$argon2"), "{json}");
        assert!(!json.contains("password_hash"), "{json}");
        assert!(json.contains("ada@example.com"));
        // Reading it back gives the user without a hash; a hash in the input is ignored.
        let back: User = serde_json::from_str(&json).unwrap();
        assert!(back.password_hash.is_absent());
        let mut with_hash: serde_json::Value = serde_json::from_str(&json).unwrap();
        with_hash["password_hash"] = serde_json::Value::String(phc.to_owned());
        let back: User = serde_json::from_value(with_hash).unwrap();
        assert!(back.password_hash.is_absent(), "a hash is never read from outside either");
        assert_eq!(User { password_hash: back.password_hash.clone(), ..user }, back);
    }
}
