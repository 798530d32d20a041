//! Sessions (`session:{id}` in Redis): who is signed in, with what permissions, until when.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::UserId;
use crate::validate::rule;

/// A session id: 256 random bits, URL-safe base64 (43 characters). It is a bearer credential,
/// so `Debug` shows only its first characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    /// A fresh id: 32 bytes from the OS random source, URL-safe base64 without padding.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Parse an id received from a client (cookie, header).
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid("session_id", rule::FORMAT, "is not a session id"))
        }
    }

    /// The id, to send to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SessionId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> String {
        id.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({}…)", self.0.get(..6).unwrap_or(""))
    }
}

/// A stored session (`session:{id}`), kept until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The session id: a bearer credential of 43 URL-safe base64 characters.
    pub id: SessionId,
    /// The signed-in user.
    pub user_id: UserId,
    /// Granted permissions: at most 200, each in the grammar of
    /// [`permission`](crate::validate::permission) (`posts:write`).
    pub permissions: Vec<String>,
    /// Creation time (UTC), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// When it expires unless touched (UTC); each touch moves it to now + the touch's `ttl`.
    pub expires_at: DateTime<Utc>,
    /// Last activity (UTC): creation, then each touch.
    pub last_activity: DateTime<Utc>,
}

/// A session to create; [`NewSession::check`] holds every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// The signed-in user the session is for.
    pub user_id: UserId,
    /// Permissions: at most 200, each in the grammar of
    /// [`permission`](crate::validate::permission) (`posts:write`).
    pub permissions: Vec<String>,
    /// Lifetime; every touch extends it by this much again.
    pub ttl: Duration,
}

impl NewSession {
    /// Check the lifetime ([`check_ttl`]) and the permissions
    /// ([`permissions`](crate::validate::permissions): [`rule::RANGE`] over 200,
    /// [`rule::PERMISSION_GRAMMAR`] for one outside the grammar).
    pub fn check(&self) -> Result<(), Error> {
        check_ttl("ttl", self.ttl)?;
        crate::validate::on_field("permissions", crate::validate::permissions(&self.permissions))
    }
}

/// A time-to-live between 1 millisecond and 366 days.
pub fn check_ttl(field: &str, ttl: Duration) -> Result<(), Error> {
    if ttl < Duration::milliseconds(1) || ttl > Duration::days(366) {
        return Err(Error::invalid(field, rule::RANGE, "must be between 1 millisecond and 366 days"));
    }
    Ok(())
}

/// A key or subject given by the caller: 1 to 1024 bytes of any UTF-8. Adapters escape it.
pub fn check_key(field: &str, key: &str) -> Result<(), Error> {
    if key.is_empty() || key.len() > 1024 {
        return Err(Error::invalid(field, rule::FORMAT, "must be 1 to 1024 bytes"));
    }
    Ok(())
}

/// The largest value a cache, temp or job payload may hold: 8 MiB.
pub const MAX_VALUE_BYTES: usize = 8 * 1024 * 1024;

/// A value no larger than [`MAX_VALUE_BYTES`].
pub fn check_value(field: &str, value: &[u8]) -> Result<(), Error> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(Error::invalid(field, rule::MAX_LENGTH, "must be at most 8 MiB"));
    }
    Ok(())
}
