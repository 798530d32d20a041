//! A third, minimal [`SessionStore`]: sessions in a [`DashMap`], on a manual clock. It runs the
//! session suite alone (`session_conformance!`), proof that a backend storing only sessions
//! needs no other port to be checked.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use clientnest_core::clock::{Clock, ManualClock};
use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::error::Result;
use clientnest_core::ids::UserId;
use clientnest_core::model::{NewSession, Session, SessionId, check_ttl};
use clientnest_core::ports::SessionStore;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

/// Sessions by id; an entry whose `expires_at` is not after now is dead (and removed when met).
struct DashMapSessions {
    sessions: DashMap<SessionId, Session>,
    clock: ManualClock,
}

impl DashMapSessions {
    /// The session under `id` if it is live; a dead one is removed.
    fn live(&self, id: &SessionId) -> Option<Session> {
        let now = self.clock.now();
        self.sessions.remove_if(id, |_, s| s.expires_at <= now);
        self.sessions.get(id).map(|s| s.clone())
    }
}

#[async_trait]
impl SessionStore for DashMapSessions {
    async fn create_session(&self, new: NewSession) -> Result<Session> {
        new.check()?;
        let now = self.clock.now();
        loop {
            let id = SessionId::generate();
            // A clash of 256 random bits does not happen; on one, try another id.
            if let Entry::Vacant(slot) = self.sessions.entry(id.clone()) {
                let session = Session {
                    id,
                    user_id: new.user_id,
                    permissions: new.permissions,
                    created_at: now,
                    expires_at: now + new.ttl,
                    last_activity: now,
                };
                return Ok(slot.insert(session).clone());
            }
        }
    }

    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>> {
        Ok(self.live(id))
    }

    async fn touch_session(&self, id: &SessionId, ttl: Duration) -> Result<Option<Session>> {
        check_ttl("ttl", ttl)?;
        let now = self.clock.now();
        self.sessions.remove_if(id, |_, s| s.expires_at <= now);
        Ok(self.sessions.get_mut(id).map(|mut s| {
            s.last_activity = now;
            s.expires_at = now + ttl;
            s.clone()
        }))
    }

    async fn delete_session(&self, id: &SessionId) -> Result<bool> {
        let now = self.clock.now();
        Ok(self.sessions.remove(id).is_some_and(|(_, s)| s.expires_at > now))
    }

    async fn revoke_user_sessions(&self, user: UserId) -> Result<u64> {
        let now = self.clock.now();
        let mut revoked = 0;
        self.sessions.retain(|_, s| {
            let mine = s.user_id == user;
            revoked += u64::from(mine && s.expires_at > now);
            !mine
        });
        Ok(revoked)
    }
}

/// A fresh, empty map on its own manual clock.
async fn harness() -> Harness<DashMapSessions> {
    let clock = ManualClock::starting_now();
    let store = DashMapSessions { sessions: DashMap::new(), clock: clock.clone() };
    Harness { store: Arc::new(store), time: TimeControl::Manual(clock) }
}

clientnest_core::session_conformance!(harness);
