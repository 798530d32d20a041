//! Users (`users`): email unique regardless of case via the `uq_users_email` index on
//! `lower(email)`.

use async_trait::async_trait;
use clientnest_core::ids::UserId;
use clientnest_core::model::{NewUser, User, UserUpdate};
use clientnest_core::ports::UserRepository;
use clientnest_core::secret::PasswordHash;
use clientnest_core::{Entity, Error, Result};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{Db, RowQuery, found, from_columns};
use crate::error::map_sqlx;
use crate::store::{PgStore, finish};

impl sqlx::FromRow<'_, PgRow> for Db<User> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(from_columns!(row, User {
            email, first_name, last_name, avatar_url, timezone, is_active, email_verified, created_at, updated_at,
            last_login, preferences;
            id: UserId(row.try_get("id")?),
            password_hash: PasswordHash::from_phc(row.try_get::<String, _>("password_hash")?),
        })))
    }
}

/// The columns of `users`, in the order [`bind_user`] binds them as `$1` to `$13`.
macro_rules! columns {
    () => {
        "id, email, password_hash, first_name, last_name, avatar_url, timezone, is_active, email_verified, \
         created_at, updated_at, last_login, preferences"
    };
}

/// Bind every column of `u` as `$1` (id) to `$13` (preferences), in the order of `columns!`.
fn bind_user<'q, O>(q: RowQuery<'q, O>, u: &'q User) -> RowQuery<'q, O> {
    q.bind(u.id.0)
        .bind(&u.email)
        .bind(u.password_hash.as_phc())
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.avatar_url)
        .bind(&u.timezone)
        .bind(u.is_active)
        .bind(u.email_verified)
        .bind(u.created_at)
        .bind(u.updated_at)
        .bind(u.last_login)
        .bind(&u.preferences)
}

/// `$1`..`$13`: the user, as [`bind_user`] binds it.
const INSERT: &str = concat!(
    "INSERT INTO users (",
    columns!(),
    ")
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     RETURNING *"
);

/// `$1`..`$13`: the user, as [`bind_user`] binds it (the row is found by `$1`).
const SAVE: &str = concat!(
    "UPDATE users SET (",
    columns!(),
    ") = ROW($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     WHERE id = $1
     RETURNING *"
);

/// `$1` id.
const GET: &str = "SELECT * FROM users WHERE id = $1";

/// `$1` id; the row stays locked until the transaction ends.
const LOCK: &str = "SELECT * FROM users WHERE id = $1 FOR UPDATE";

/// `$1` email, compared regardless of case.
const BY_EMAIL: &str = "SELECT * FROM users WHERE lower(email) = lower($1)";

#[async_trait]
impl UserRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_user(&self, user: NewUser) -> Result<User> {
        let _write = self.write_mark();
        let user = user.into_record(self.host_policy(), self.now())?;
        let row: Db<User> = bind_user(sqlx::query_as(INSERT), &user).fetch_one(self.exec()).await.map_err(map_sqlx)?;
        Ok(row.into_inner())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn get_user(&self, id: UserId) -> Result<User> {
        let row: Option<Db<User>> =
            sqlx::query_as(GET).bind(id.0).fetch_optional(self.exec()).await.map_err(map_sqlx)?;
        row.map(Db::into_inner).ok_or_else(|| Error::not_found(Entity::User, id))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        if email.contains('\0') {
            // No stored email holds a NUL (the CHECK forbids it) and PostgreSQL text cannot.
            return Ok(None);
        }
        let row: Option<Db<User>> =
            sqlx::query_as(BY_EMAIL).bind(email).fetch_optional(self.exec()).await.map_err(map_sqlx)?;
        Ok(row.map(Db::into_inner))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn update_user(&self, id: UserId, update: UserUpdate) -> Result<User> {
        let _write = self.write_mark();
        update.check(self.host_policy())?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let row: Option<Db<User>> =
                sqlx::query_as(LOCK).bind(id.0).fetch_optional(&mut *tx).await.map_err(map_sqlx)?;
            let mut user = row.ok_or_else(|| Error::not_found(Entity::User, id))?.into_inner();
            update.apply(&mut user, now);
            let saved: Db<User> = bind_user(sqlx::query_as(SAVE), &user).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            Ok(saved.into_inner())
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn delete_user(&self, id: UserId) -> Result<()> {
        let _write = self.write_mark();
        let done =
            sqlx::query("DELETE FROM users WHERE id = $1").bind(id.0).execute(self.exec()).await.map_err(map_sqlx)?;
        found(done.rows_affected(), Entity::User, id)
    }
}
