//! Sessions in memory, with a user → sessions index for revocation.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::ttl::TtlMap;
use super::{MemoryKv, after, lock};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::model::{NewSession, Session, SessionId, check_ttl};
use crate::ports::SessionStore;

/// How many fresh ids `create_session` tries before giving up (a collision of 256 random bits
/// does not happen; the bound only keeps the loop finite).
const MAX_ID_TRIES: usize = 4;

/// The sessions and, per user, the ids of their sessions.
#[derive(Debug, Default)]
pub(super) struct Sessions {
    by_id: TtlMap<SessionId, Session>,
    by_user: HashMap<UserId, HashSet<SessionId>>,
}

impl Sessions {
    /// Drop expired sessions and their index entries.
    fn purge(&mut self, now: DateTime<Utc>) {
        for (id, session) in self.by_id.purge(now) {
            self.unindex(session.user_id, &id);
        }
    }

    /// Forget one id of a user's index.
    fn unindex(&mut self, user: UserId, id: &SessionId) {
        if let Some(ids) = self.by_user.get_mut(&user) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_user.remove(&user);
            }
        }
    }

    /// Store a session (new or updated) until its expiry.
    fn put(&mut self, session: Session) {
        self.by_user.entry(session.user_id).or_default().insert(session.id.clone());
        self.by_id.insert(session.id.clone(), session.clone(), session.expires_at);
    }

    /// A fresh id no live session holds.
    fn fresh_id(&self, now: DateTime<Utc>) -> Result<SessionId> {
        (0..MAX_ID_TRIES)
            .map(|_| SessionId::generate())
            .find(|id| self.by_id.get(id, now).is_none())
            .ok_or_else(|| Error::backend(crate::error::store::MEMORY, "could not find a free session id"))
    }
}

#[async_trait]
impl SessionStore for MemoryKv {
    async fn create_session(&self, session: NewSession) -> Result<Session> {
        session.check()?;
        let now = self.now();
        let mut sessions = lock(&self.inner.sessions);
        sessions.purge(now);
        let id = sessions.fresh_id(now)?;
        let created = Session {
            id,
            user_id: session.user_id,
            permissions: session.permissions,
            created_at: now,
            expires_at: after(now, session.ttl),
            last_activity: now,
        };
        sessions.put(created.clone());
        Ok(created)
    }

    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>> {
        let now = self.now();
        Ok(lock(&self.inner.sessions).by_id.get(id, now).cloned())
    }

    async fn touch_session(&self, id: &SessionId, ttl: Duration) -> Result<Option<Session>> {
        check_ttl("ttl", ttl)?;
        let now = self.now();
        let mut sessions = lock(&self.inner.sessions);
        sessions.purge(now);
        let Some(mut session) = sessions.by_id.get(id, now).cloned() else {
            return Ok(None);
        };
        session.last_activity = now;
        session.expires_at = after(now, ttl);
        sessions.put(session.clone());
        Ok(Some(session))
    }

    async fn delete_session(&self, id: &SessionId) -> Result<bool> {
        let now = self.now();
        let mut sessions = lock(&self.inner.sessions);
        sessions.purge(now);
        let Some(session) = sessions.by_id.remove(id, now) else {
            return Ok(false);
        };
        sessions.unindex(session.user_id, id);
        Ok(true)
    }

    async fn revoke_user_sessions(&self, user: UserId) -> Result<u64> {
        let now = self.now();
        let mut sessions = lock(&self.inner.sessions);
        sessions.purge(now);
        let ids = sessions.by_user.remove(&user).unwrap_or_default();
        let revoked = ids.iter().filter(|id| sessions.by_id.remove(*id, now).is_some()).count();
        Ok(u64::try_from(revoked).unwrap_or(u64::MAX))
    }
}
