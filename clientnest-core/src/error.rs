//! The one error type of ClientNest and its validation detail.

use std::fmt;

/// Boxed source error kept in [`Error::Backend`], [`Error::Unavailable`] and
/// [`Error::OutcomeUnknown`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias used by every port.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A broken validation rule: which field, which rule, and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field path, e.g. `email` or `media[2].file_url`.
    pub field: String,
    /// The rule's stable name, e.g. `max_length`, `chk_users_email_format`.
    pub rule: &'static str,
    /// A message for people, in English; not stable, match on `field` and `rule` instead.
    pub message: String,
}

impl FieldError {
    /// A field error on `field` (a path such as `posts[3].content`) breaking `rule`.
    pub fn new(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), rule, message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.rule)
    }
}

/// Every broken rule of one input, in field order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// True when no rule is broken.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a rule on a field is among the errors.
    pub fn has(&self, field: &str, rule: &str) -> bool {
        self.0.iter().any(|e| e.field == field && e.rule == rule)
    }

    /// The first error, if any.
    pub fn first(&self) -> Option<&FieldError> {
        self.0.first()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// The names of the stores that [`Error::Backend`], [`Error::Unavailable`] and
/// [`Error::OutcomeUnknown`] carry in `store`, shown first in their message (`postgres
/// unavailable: ...`). A backend names itself with one of these; code outside a store (a
/// bench, an application) may pass its own short lowercase name.
pub mod store {
    /// PostgreSQL (`clientnest-postgres`).
    pub const POSTGRES: &str = "postgres";
    /// Redis, single node or Cluster (`clientnest-redis`).
    pub const REDIS: &str = "redis";
    /// The in-memory backends (`clientnest_core::memory`).
    pub const MEMORY: &str = "memory";
    /// TimescaleDB, or plain PostgreSQL holding the analytics tables (`clientnest-timescale`).
    pub const TIMESCALE: &str = "timescaledb";
    /// Object storage through `object_store`: S3, local disk or its memory (`clientnest-s3`).
    pub const OBJECT_STORE: &str = "object_store";
    /// Work done in the process with no store involved: encoding a value as JSON before it is
    /// cached, hashing a password, sealing a secret.
    pub const LOCAL: &str = "local";
}

/// The kind of entity an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Entity {
    /// A user; named `users` in messages.
    User,
    /// A team; named `teams` in messages.
    Team,
    /// A team membership; named `team_members` in messages.
    TeamMember,
    /// A connected social account; named `social_accounts` in messages.
    SocialAccount,
    /// A post; named `posts` in messages.
    Post,
    /// A post's media item; named `post_media` in messages.
    PostMedia,
    /// An ingested comment; named `comments` in messages.
    Comment,
    /// A response to a comment; named `responses` in messages.
    Response,
    /// A content template; named `templates` in messages.
    Template,
    /// A publishing schedule; named `schedules` in messages.
    Schedule,
    /// An automation rule; named `automations` in messages.
    Automation,
    /// A webhook endpoint; named `webhooks` in messages.
    Webhook,
    /// An AI usage record; named `ai_usage` in messages.
    AiUsage,
    /// A billing record (subscription period); named `billing` in messages.
    Billing,
    /// A notification; named `notifications` in messages.
    Notification,
    /// A session; named `sessions` in messages.
    Session,
    /// A queued job; named `jobs` in messages.
    Job,
    /// A cache entry; named `cache` in messages.
    CacheEntry,
    /// A temporary value; named `temp` in messages.
    TempValue,
    /// A media object on object storage; named `media` in messages.
    Media,
}

impl Entity {
    /// The entity's table-style name (`users`, `team_members`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::User => "users",
            Entity::Team => "teams",
            Entity::TeamMember => "team_members",
            Entity::SocialAccount => "social_accounts",
            Entity::Post => "posts",
            Entity::PostMedia => "post_media",
            Entity::Comment => "comments",
            Entity::Response => "responses",
            Entity::Template => "templates",
            Entity::Schedule => "schedules",
            Entity::Automation => "automations",
            Entity::Webhook => "webhooks",
            Entity::AiUsage => "ai_usage",
            Entity::Billing => "billing",
            Entity::Notification => "notifications",
            Entity::Session => "sessions",
            Entity::Job => "jobs",
            Entity::CacheEntry => "cache",
            Entity::TempValue => "temp",
            Entity::Media => "media",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a cryptographic operation failed ([`Error::Crypto`]). Each reason has a fixed message
/// (its `Display`) that never contains secret material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoFailure {
    /// A stored password hash is not a PHC string with a salt and a hash.
    #[error("malformed password hash")]
    MalformedPasswordHash,
    /// A PHC string that argon2 cannot verify (another algorithm, invalid parameters).
    #[error("unsupported password hash")]
    UnsupportedPasswordHash,
    /// A stored argon2 hash whose memory, time or lane parameters exceed the caps
    /// ([`MAX_ARGON2_MEMORY_KIB`](crate::crypto::MAX_ARGON2_MEMORY_KIB),
    /// [`MAX_ARGON2_TIME_COST`](crate::crypto::MAX_ARGON2_TIME_COST),
    /// [`MAX_ARGON2_LANES`](crate::crypto::MAX_ARGON2_LANES)); it was refused before any
    /// hashing started.
    #[error("password hash parameters exceed the accepted cost")]
    PasswordHashTooCostly,
    /// A sealed value that is not `v1.<key id>.<base64url>` with a body of at least nonce + tag.
    #[error("malformed ciphertext")]
    MalformedCiphertext,
    /// A sealed value of a version other than `v1`.
    #[error("unsupported ciphertext version")]
    UnsupportedCiphertextVersion,
    /// A sealed value names a key id that is not in the key ring.
    #[error("unknown encryption key id")]
    UnknownKeyId,
    /// AES-GCM authentication failed: wrong key, wrong associated data or tampered data.
    #[error("ciphertext authentication failed")]
    AuthenticationFailed,
    /// A decrypted secret is not valid UTF-8.
    #[error("decrypted secret is not valid UTF-8")]
    SecretNotUtf8,
    /// A webhook signature header that is not `t=<unix seconds>,v1=<64 hex>[,...]` (or is
    /// longer than 4096 bytes).
    #[error("malformed webhook signature header")]
    MalformedSignatureHeader,
    /// A webhook timestamp further from now than the tolerance.
    #[error("webhook timestamp outside tolerance")]
    TimestampOutsideTolerance,
    /// No webhook signature of the header matches the payload.
    #[error("webhook signature mismatch")]
    SignatureMismatch,
    /// A valid webhook signature that was already accepted once inside its window.
    #[error("webhook signature replayed")]
    SignatureReplayed,
    /// A presigned URL past its expiry time.
    #[error("presigned URL expired")]
    PresignedUrlExpired,
    /// A URL that is not a presigned URL of this store (another base, a missing or repeated
    /// parameter, a path that is not a media key).
    #[error("malformed presigned URL")]
    MalformedPresignedUrl,
}

/// The error of every ClientNest port, whatever the backend.
///
/// A unique violation gives [`Error::Conflict`] with the same rule name in every backend, a
/// broken check gives [`Error::Validation`] naming the field and rule, a missing parent gives
/// [`Error::MissingReference`]. [`Error::Unavailable`] is the one retryable variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input breaks one or more rules; nothing was stored.
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    /// No such record (or not visible through the given team or user).
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of record looked for.
        entity: Entity,
        /// The id (or key) looked for.
        id: String,
    },
    /// A unique rule would be broken; `rule` is the rule's name (e.g. `uq_users_email`).
    #[error("{entity} conflicts with an existing record ({rule})")]
    Conflict {
        /// The kind of record whose write was refused.
        entity: Entity,
        /// The unique rule's name, the same in every backend (`uq_users_email`).
        rule: &'static str,
    },
    /// A referenced record does not exist (or belongs to another team).
    #[error("{entity} refers to a missing {references} ({rule})")]
    MissingReference {
        /// The kind of record whose write was refused.
        entity: Entity,
        /// The kind of record it refers to that is missing or in another team.
        references: Entity,
        /// The foreign key's name, the same in every backend.
        rule: &'static str,
    },
    /// The operation is not allowed in the record's current state (e.g. completing a schedule
    /// that another worker holds, or that was recovered and is no longer `processing`).
    #[error("{entity} {id}: {reason}")]
    InvalidState {
        /// The kind of record whose state refuses the operation.
        entity: Entity,
        /// The record's id, as its `Display` writes it.
        id: String,
        /// Why the transition is refused: a fixed sentence (often a `pub const` of the model).
        reason: &'static str,
    },
    /// A claim (a schedule's or a job's) is no longer the caller's: its lease lapsed and the
    /// record was recovered or claimed again. The caller must stop working on it.
    #[error("{entity} {id}: the claim is stale (its lease lapsed or it was claimed again)")]
    StaleClaim {
        /// The kind of record whose claim lapsed.
        entity: Entity,
        /// The claimed record's id, as its `Display` writes it.
        id: String,
    },
    /// The acting user is not an active member of the team that would own the record.
    #[error("{entity}: user {user} is not an active member of the team")]
    NotAMember {
        /// The kind of record whose write was refused.
        entity: Entity,
        /// The acting user's id, as its `Display` writes it.
        user: String,
    },
    /// A write was sent but its outcome is unknown (the connection dropped or timed out before
    /// the reply). It was not re-sent automatically, because sending it twice is not safe;
    /// check the record's state before acting again.
    #[error("{store} outcome unknown: {source}")]
    OutcomeUnknown {
        /// The store the write went to (a [`store`] name).
        store: &'static str,
        /// The underlying error, kept as the `source()` of this one.
        #[source]
        source: BoxError,
    },
    /// Stored data could not be decrypted or verified (wrong key, tampered ciphertext), or a
    /// signature or password hash was refused; the reason says which, and never carries secret
    /// material (see [`CryptoFailure`]).
    #[error("cryptographic failure: {0}")]
    Crypto(CryptoFailure),
    /// The store is down, unreachable or timed out. Retryable.
    #[error("{store} unavailable: {source}")]
    Unavailable {
        /// The store that could not serve the call (a [`store`] name).
        store: &'static str,
        /// The underlying error, kept as the `source()` of this one.
        #[source]
        source: BoxError,
    },
    /// Any other failure of a store, with its cause kept.
    #[error("{store} error: {source}")]
    Backend {
        /// The store that failed (a [`store`] name).
        store: &'static str,
        /// The underlying error, kept as the `source()` of this one.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// A validation error with one broken rule.
    pub fn invalid(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Error::Validation(ValidationErrors(vec![FieldError::new(field, rule, message)]))
    }

    /// A not-found error.
    pub fn not_found(entity: Entity, id: impl fmt::Display) -> Self {
        Error::NotFound { entity, id: id.to_string() }
    }

    /// A failure of `store` (a [`store`] name) wrapping any cause.
    pub fn backend(store: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Backend { store, source: source.into() }
    }

    /// `store` (a [`store`] name) down or unreachable, wrapping any cause. Retryable.
    pub fn unavailable(store: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Unavailable { store, source: source.into() }
    }

    /// A write sent to `store` (a [`store`] name) whose reply was lost, wrapping the cause.
    pub fn outcome_unknown(store: &'static str, source: impl Into<BoxError>) -> Self {
        Error::OutcomeUnknown { store, source: source.into() }
    }

    /// The store named by a [`Backend`](Error::Backend), [`Unavailable`](Error::Unavailable)
    /// or [`OutcomeUnknown`](Error::OutcomeUnknown) error.
    pub fn store(&self) -> Option<&'static str> {
        match self {
            Error::Backend { store, .. } | Error::Unavailable { store, .. } | Error::OutcomeUnknown { store, .. } => {
                Some(store)
            }
            _ => None,
        }
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }

    /// The validation errors, if this is a validation error.
    pub fn validation(&self) -> Option<&ValidationErrors> {
        match self {
            Error::Validation(v) => Some(v),
            _ => None,
        }
    }

    /// The rule name carried by a conflict, reference, or single validation error.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Error::Conflict { rule, .. } | Error::MissingReference { rule, .. } => Some(rule),
            Error::Validation(v) => v.first().map(|e| e.rule),
            _ => None,
        }
    }
}

impl From<ValidationErrors> for Error {
    fn from(v: ValidationErrors) -> Self {
        Error::Validation(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_name_their_store() {
        let down = Error::unavailable(store::POSTGRES, "connection refused");
        assert_eq!(down.to_string(), "postgres unavailable: connection refused");
        assert_eq!(down.store(), Some("postgres"));
        assert!(down.is_retryable());
        let failed = Error::backend(store::REDIS, "bad reply");
        assert_eq!(failed.to_string(), "redis error: bad reply");
        assert!(!failed.is_retryable());
        let lost = Error::outcome_unknown(store::REDIS, "timed out");
        assert_eq!(lost.to_string(), "redis outcome unknown: timed out");
        assert!(matches!(lost, Error::OutcomeUnknown { store: "redis", .. }));
        assert_eq!(Error::not_found(Entity::Post, 1).store(), None);
        assert!(std::error::Error::source(&Error::backend(store::MEMORY, "x")).is_some());
    }
}
