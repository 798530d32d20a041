//! [`SessionStore`] on Redis: one hash per session with its TTL kept by Redis, and per session
//! bucket an index of `<user>|<session digest>` by expiry, for revocation.
//!
//! The token itself never reaches Redis: keys, index members and script arguments carry its
//! SHA-256 digest ([`session_digest`]), so a dump, `MONITOR` or `SLOWLOG` reveals no live
//! session. Only the bucket (the token's first two characters, 12 bits derived from the user
//! id, not from the random part) shows in the key.
//!
//! A session id is a fresh 256-bit random id whose first two characters are replaced by the
//! user's bucket (12 bits of a hash of the user id), leaving 244 random bits. The bucket puts a
//! user's sessions and their index in one Cluster slot, so revocation runs as one script.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Duration;
use clientnest_core::Result;
use clientnest_core::ids::UserId;
use clientnest_core::model::{NewSession, Session, SessionId, check_ttl};
use clientnest_core::ports::SessionStore;

use crate::error::{RedisError, bad_data, bad_reply};
use crate::keys::{Keys, session_bucket, session_digest};
use crate::scripts::{SESSION_CREATE, SESSION_DELETE, SESSION_REVOKE, SESSION_TOUCH};
use crate::store::RedisKv;
use crate::time::{from_micros, micros, parse_micros};

/// How many fresh ids `create_session` tries before giving up (only a bound: 244 random bits
/// do not collide).
const MAX_ID_TRIES: usize = 4;

/// How many sessions one revocation script deletes at most.
const REVOKE_CHUNK: usize = 500;

/// How many passes a revocation makes over a user's index (new sessions created while it
/// runs are caught by the next pass).
const REVOKE_PASSES: usize = 8;

/// Permissions are stored joined by NUL, which no permission holds.
const PERMISSION_SEPARATOR: char = '\0';

/// A fresh session id in a user's bucket.
fn session_id_for(user: UserId) -> Result<SessionId> {
    let raw = SessionId::generate();
    let bucket = session_bucket(user);
    let mut id = String::with_capacity(43);
    id.push(char::from(bucket[0]));
    id.push(char::from(bucket[1]));
    id.push_str(raw.expose().get(2..).unwrap_or_default());
    SessionId::parse(&id)
}

/// The index member of a session: the user and the session's digest (never the token).
fn member(user: UserId, id: &SessionId) -> String {
    format!("{user}|{}", session_digest(id))
}

/// Whether text is a session digest: 64 lowercase hex digits.
fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Permissions from their stored form.
fn split_permissions(joined: &str) -> Vec<String> {
    if joined.is_empty() { Vec::new() } else { joined.split(PERMISSION_SEPARATOR).map(str::to_owned).collect() }
}

/// A session from its stored fields `[user, permissions, created, expires, last activity]`.
fn decode(id: &SessionId, fields: [&str; 5]) -> Result<Session> {
    let [user, perms, created, expires, last] = fields;
    Ok(Session {
        id: id.clone(),
        user_id: user.parse().map_err(|_| bad_data("session user is not a uuid"))?,
        permissions: split_permissions(perms),
        created_at: parse_micros(created)?,
        expires_at: parse_micros(expires)?,
        last_activity: parse_micros(last)?,
    })
}

/// A session from `HGETALL`; `None` for an empty (missing) hash.
fn decode_hash(id: &SessionId, hash: &HashMap<String, String>) -> Result<Option<Session>> {
    if hash.is_empty() {
        return Ok(None);
    }
    let field = |name: &str| hash.get(name).map(String::as_str).ok_or_else(|| bad_data("session field missing"));
    decode(id, [field("u")?, field("p")?, field("c")?, field("e")?, field("l")?]).map(Some)
}

impl RedisKv {
    /// Index members of a user's sessions, read with `ZSCAN MATCH "<user>|*"`.
    async fn session_members(&self, user: UserId, index: &str) -> Result<Vec<String>> {
        let pattern = format!("{user}|*");
        let mut cursor = 0u64;
        let mut members = Vec::new();
        loop {
            let (next, page): (u64, Vec<String>) = self
                .retried(redis::cmd("ZSCAN").arg(index).arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1000))
                .await?;
            // ZSCAN returns member, score pairs.
            members.extend(page.into_iter().step_by(2));
            if next == 0 {
                return Ok(members);
            }
            cursor = next;
        }
    }

    /// Delete listed sessions of a user (one script per chunk); returns how many were live.
    async fn revoke_members(&self, user: UserId, index: &str, members: &[String]) -> Result<u64> {
        let bucket = Keys::session_bucket_of_user(user);
        let mut listed = Vec::with_capacity(members.len());
        for m in members {
            match m.split_once('|') {
                Some((_, digest)) if is_digest(digest) => listed.push((m, digest)),
                // A malformed member names no session: drop it.
                _ => {
                    let _: i64 = self.retried(redis::cmd("ZREM").arg(index).arg(m)).await?;
                }
            }
        }
        let mut revoked = 0u64;
        for chunk in listed.chunks(REVOKE_CHUNK) {
            let mut call = SESSION_REVOKE.key(index);
            call.arg(user.to_string());
            for (m, digest) in chunk {
                call.key(self.keys().session_of_digest(&bucket, digest)).arg(m.as_str());
            }
            let n: u64 = self.eval_retried(&call).await?;
            revoked += n;
        }
        Ok(revoked)
    }
}

#[async_trait]
impl SessionStore for RedisKv {
    #[tracing::instrument(level = "debug", skip_all, fields(user = %session.user_id))]
    async fn create_session(&self, session: NewSession) -> Result<Session> {
        session.check()?;
        let permissions = session.permissions.join(&PERMISSION_SEPARATOR.to_string());
        for _ in 0..MAX_ID_TRIES {
            let id = session_id_for(session.user_id)?;
            let created: i64 = self
                .eval_once(
                    SESSION_CREATE
                        .key(self.keys().session(&id))
                        .key(self.keys().session_index_of_id(&id))
                        .arg(micros(session.ttl))
                        .arg(session.user_id.to_string())
                        .arg(&permissions)
                        .arg(member(session.user_id, &id)),
                )
                .await?;
            if created == 0 {
                continue;
            }
            let created_at = from_micros(created)?;
            return Ok(Session {
                id,
                user_id: session.user_id,
                permissions: session.permissions,
                created_at,
                expires_at: from_micros(created.saturating_add(micros(session.ttl)))?,
                last_activity: created_at,
            });
        }
        Err(RedisError::NoFreeSessionId.into())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>> {
        let hash: HashMap<String, String> = self.retried(redis::cmd("HGETALL").arg(self.keys().session(id))).await?;
        decode_hash(id, &hash)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn touch_session(&self, id: &SessionId, ttl: Duration) -> Result<Option<Session>> {
        check_ttl("ttl", ttl)?;
        let fields: Option<Vec<String>> = self
            .eval_retried(
                SESSION_TOUCH
                    .key(self.keys().session(id))
                    .key(self.keys().session_index_of_id(id))
                    .arg(micros(ttl))
                    .arg(session_digest(id)),
            )
            .await?;
        let Some(fields) = fields else { return Ok(None) };
        match fields.as_slice() {
            [u, p, c, e, l] => decode(id, [u, p, c, e, l]).map(Some),
            _ => Err(bad_reply("session_touch")),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_session(&self, id: &SessionId) -> Result<bool> {
        let deleted: i64 = self
            .eval_once(
                SESSION_DELETE
                    .key(self.keys().session(id))
                    .key(self.keys().session_index_of_id(id))
                    .arg(session_digest(id)),
            )
            .await?;
        Ok(deleted == 1)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn revoke_user_sessions(&self, user: UserId) -> Result<u64> {
        let index = self.keys().session_index_of_user(user);
        let mut revoked = 0u64;
        for _ in 0..REVOKE_PASSES {
            let members = self.session_members(user, &index).await?;
            if members.is_empty() {
                break;
            }
            revoked += self.revoke_members(user, &index, &members).await?;
        }
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_carry_the_users_bucket_and_stay_valid() {
        let user = UserId::new();
        let a = session_id_for(user).expect("valid id");
        let b = session_id_for(user).expect("valid id");
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(a.expose().as_bytes()[..2], session_bucket(user));
    }

    #[test]
    fn permissions_round_trip() {
        for perms in [vec![], vec!["a".to_owned()], vec!["posts:write".to_owned(), "a b|c".to_owned()]] {
            let joined = perms.join("\0");
            assert_eq!(split_permissions(&joined), perms);
        }
    }

    #[test]
    fn a_corrupt_stored_session_names_redis_and_the_field_not_its_value() {
        let id = session_id_for(UserId::new()).expect("valid id");
        let stored: HashMap<String, String> = [("u", "not-a-user"), ("p", ""), ("c", "1"), ("e", "2"), ("l", "1")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        let err = decode_hash(&id, &stored).expect_err("a corrupt user id");
        assert!(matches!(err, clientnest_core::Error::Backend { store: "redis", .. }), "{err:?}");
        assert_eq!(err.to_string(), "redis error: corrupt stored data: session user is not a uuid");
        assert!(!err.to_string().contains(id.expose()));
        let source = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<RedisError>());
        assert!(matches!(source, Some(RedisError::CorruptData { .. })), "{source:?}");
    }
}
