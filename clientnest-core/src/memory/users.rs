//! Users: email unique regardless of case, delete cascades to everything the user owns.

use async_trait::async_trait;

use super::store::{MemoryStore, Tables};
use crate::constraint::UQ_USERS_EMAIL;
use crate::error::{Entity, Error, Result};
use crate::ids::UserId;
use crate::model::{NewUser, User, UserUpdate};
use crate::ports::UserRepository;

/// The key of the case-insensitive email index (`lower(email)`).
fn email_key(email: &str) -> String {
    email.to_lowercase()
}

impl Tables {
    fn user_mut(&mut self, id: UserId) -> Result<&mut User> {
        self.users.get_mut(&id).ok_or_else(|| Error::not_found(Entity::User, id))
    }

    /// Whether `email` belongs to a user other than `except`.
    fn email_taken(&self, email: &str, except: Option<UserId>) -> bool {
        self.emails.get(&email_key(email)).is_some_and(|owner| Some(*owner) != except)
    }
}

#[async_trait]
impl UserRepository for MemoryStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        let row = user.into_record(self.host_policy(), self.now())?;
        let mut t = self.tables();
        if t.email_taken(&row.email, None) {
            return Err(Error::Conflict { entity: Entity::User, rule: UQ_USERS_EMAIL });
        }
        t.emails.insert(email_key(&row.email), row.id);
        t.users.insert(row.id, row.clone());
        Ok(row)
    }

    async fn get_user(&self, id: UserId) -> Result<User> {
        self.tables().users.get(&id).cloned().ok_or_else(|| Error::not_found(Entity::User, id))
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let t = self.tables();
        Ok(t.emails.get(&email_key(email)).and_then(|id| t.users.get(id)).cloned())
    }

    async fn update_user(&self, id: UserId, update: UserUpdate) -> Result<User> {
        update.check(self.host_policy())?;
        let now = self.now();
        let mut t = self.tables();
        let old_email = t.user_mut(id)?.email.clone();
        if let Some(email) = &update.email
            && t.email_taken(email, Some(id))
        {
            return Err(Error::Conflict { entity: Entity::User, rule: UQ_USERS_EMAIL });
        }
        let user = t.user_mut(id)?;
        update.apply(user, now);
        let row = user.clone();
        t.emails.remove(&email_key(&old_email));
        t.emails.insert(email_key(&row.email), id);
        Ok(row)
    }

    async fn delete_user(&self, id: UserId) -> Result<()> {
        let mut t = self.tables();
        if !t.users.contains_key(&id) {
            return Err(Error::not_found(Entity::User, id));
        }
        t.remove_user(id);
        Ok(())
    }
}
