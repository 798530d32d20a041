//! Users (`users`): email unique regardless of case via the `uq_users_email` index on
//! `lower(email)`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::clock::to_micros;
use clientnest_core::ids::UserId;
use clientnest_core::model::{NewUser, User, UserUpdate};
use clientnest_core::ports::UserRepository;
use clientnest_core::secret::PasswordHash;
use clientnest_core::{Entity, Error, Result};
use uuid::Uuid;

use super::found;
use crate::error::map_sqlx;
use crate::store::{PgStore, Tx, commit};

/// A `users` row.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    password_hash: String,
    first_name: String,
    last_name: String,
    avatar_url: Option<String>,
    timezone: String,
    is_active: bool,
    email_verified: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_login: Option<DateTime<Utc>>,
    preferences: serde_json::Value,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            email: r.email,
            password_hash: PasswordHash::from_phc(r.password_hash),
            first_name: r.first_name,
            last_name: r.last_name,
            avatar_url: r.avatar_url,
            timezone: r.timezone,
            is_active: r.is_active,
            email_verified: r.email_verified,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_login: r.last_login,
            preferences: r.preferences,
        }
    }
}

const INSERT: &str = "INSERT INTO users (id, email, password_hash, first_name, last_name, avatar_url, timezone, \
     is_active, email_verified, created_at, updated_at, last_login, preferences) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, true, false, $8, $8, NULL, $9) RETURNING *";

const SAVE: &str = "UPDATE users SET email = $2, password_hash = $3, first_name = $4, last_name = $5, \
     avatar_url = $6, timezone = $7, is_active = $8, email_verified = $9, updated_at = $10, last_login = $11, \
     preferences = $12 WHERE id = $1 RETURNING *";

/// Write every column of a user back.
async fn save(tx: &mut Tx, u: &User) -> Result<User> {
    let row: UserRow = sqlx::query_as(SAVE)
        .bind(u.id.0)
        .bind(&u.email)
        .bind(u.password_hash.as_phc())
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.avatar_url)
        .bind(&u.timezone)
        .bind(u.is_active)
        .bind(u.email_verified)
        .bind(u.updated_at)
        .bind(u.last_login)
        .bind(&u.preferences)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    Ok(row.into())
}

#[async_trait]
impl UserRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_user(&self, user: NewUser) -> Result<User> {
        user.check(self.host_policy())?;
        let row: UserRow = sqlx::query_as(INSERT)
            .bind(UserId::new().0)
            .bind(&user.email)
            .bind(user.password_hash.as_phc())
            .bind(&user.first_name)
            .bind(&user.last_name)
            .bind(&user.avatar_url)
            .bind(&user.timezone)
            .bind(self.now())
            .bind(&user.preferences)
            .fetch_one(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(row.into())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn get_user(&self, id: UserId) -> Result<User> {
        let row: Option<UserRow> = sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        row.map(User::from).ok_or_else(|| Error::not_found(Entity::User, id))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        if email.contains('\0') {
            // No stored email holds a NUL (the CHECK forbids it) and PostgreSQL text cannot.
            return Ok(None);
        }
        let row: Option<UserRow> = sqlx::query_as("SELECT * FROM users WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(row.map(User::from))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn update_user(&self, id: UserId, mut update: UserUpdate) -> Result<User> {
        update.check(self.host_policy())?;
        update.last_login = update.last_login.map(to_micros);
        let now = self.now();
        let mut tx = self.begin().await?;
        let row: Option<UserRow> = sqlx::query_as("SELECT * FROM users WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let mut user: User = row.map(User::from).ok_or_else(|| Error::not_found(Entity::User, id))?;
        update.apply(&mut user, now);
        let saved = save(&mut tx, &user).await?;
        commit(tx).await?;
        Ok(saved)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn delete_user(&self, id: UserId) -> Result<()> {
        let done =
            sqlx::query("DELETE FROM users WHERE id = $1").bind(id.0).execute(self.pool()).await.map_err(map_sqlx)?;
        found(done.rows_affected(), Entity::User, id)
    }
}
