//! Connected social accounts (`social_accounts`). Tokens are sealed with the key ring, bound to
//! the row id; reconnecting the same (platform, platform id, team) updates the row in place
//! ([`SocialAccount::reconnect`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::constraint::{FK_SOCIAL_ACCOUNTS_TEAM, UQ_SOCIAL_ACCOUNTS_PLATFORM_ACCOUNT_TEAM};
use clientnest_core::ids::{SocialAccountId, TeamId, UserId};
use clientnest_core::model::{NewSocialAccount, SocialAccount, SocialAccountUpdate, check_batch};
use clientnest_core::page::{Page, PageRequest};
use clientnest_core::ports::SocialAccountRepository;
use clientnest_core::secret::Secret;
use clientnest_core::{Entity, Error, Result};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use uuid::Uuid;

use super::members::{Acting, require_member};
use super::sealed::{Sealed, SealedRecord, sweep_page};
use super::{Db, RowQuery, choice_column, clamp_time, from_columns, keyset_list, missing, owned_row};
use crate::error::map_sqlx;
use crate::secrets::{SealedColumn, Sealer};
use crate::store::{PgStore, Tx, finish};

impl sqlx::FromRow<'_, PgRow> for Db<Sealed<SocialAccount>> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(Sealed(from_columns!(row, SocialAccount {
            platform_id, username, token_expires, is_active, created_at, updated_at;
            id: SocialAccountId(row.try_get("id")?),
            user_id: UserId(row.try_get("user_id")?),
            team_id: TeamId(row.try_get("team_id")?),
            platform: choice_column(row, "platform")?,
            access_token: Secret::new(row.try_get::<String, _>("access_token_enc")?),
            refresh_token: row.try_get::<Option<String>, _>("refresh_token_enc")?.map(Secret::new),
            permissions: row.try_get::<Json<Vec<String>>, _>("permissions")?.0,
        }))))
    }
}

/// The columns of `social_accounts`, in the order the binder binds them as `$1` to `$13`.
macro_rules! columns {
    () => {
        "id, user_id, team_id, platform, platform_id, username, access_token_enc, refresh_token_enc, \
         token_expires, permissions, is_active, created_at, updated_at"
    };
}

impl SealedRecord for SocialAccount {
    const SWEEP: &'static str = sweep_page!("social_accounts");
    const SAVE: &'static str = SAVE;

    fn row_id(&self) -> Uuid {
        self.id.0
    }

    fn seal(&self, sealer: &Sealer) -> Result<Sealed<Self>> {
        let id = self.id.0;
        let access = sealer.seal(SealedColumn::AccessToken, id, &self.access_token)?;
        let refresh =
            self.refresh_token.as_ref().map(|t| sealer.seal(SealedColumn::RefreshToken, id, t)).transpose()?;
        Ok(Sealed(SocialAccount {
            access_token: Secret::new(access),
            refresh_token: refresh.map(Secret::new),
            ..self.clone()
        }))
    }

    fn open(sealed: Sealed<Self>, sealer: &Sealer) -> Result<Self> {
        let mut a = sealed.0;
        a.access_token = sealer.open(SealedColumn::AccessToken, a.id.0, a.access_token.expose())?;
        a.refresh_token =
            a.refresh_token.map(|t| sealer.open(SealedColumn::RefreshToken, a.id.0, t.expose())).transpose()?;
        Ok(a)
    }

    fn reseal(sealed: &mut Sealed<Self>, sealer: &Sealer) -> Result<bool> {
        let a = &mut sealed.0;
        let stale = sealer.needs_rotation(a.access_token.expose())
            || a.refresh_token.as_ref().is_some_and(|r| sealer.needs_rotation(r.expose()));
        if !stale {
            return Ok(false);
        }
        let access = sealer.reseal(SealedColumn::AccessToken, a.id.0, a.access_token.expose())?;
        let refresh = a
            .refresh_token
            .as_ref()
            .map(|r| sealer.reseal(SealedColumn::RefreshToken, a.id.0, r.expose()))
            .transpose()?;
        a.access_token = Secret::new(access);
        a.refresh_token = refresh.map(Secret::new);
        Ok(true)
    }

    /// `$1` (id) to `$13` (updated at), in the order of `columns!`.
    fn bind<'q, O>(q: RowQuery<'q, O>, sealed: &'q Sealed<Self>) -> RowQuery<'q, O> {
        let a = &sealed.0;
        q.bind(a.id.0)
            .bind(a.user_id.0)
            .bind(a.team_id.0)
            .bind(a.platform.as_str())
            .bind(&a.platform_id)
            .bind(&a.username)
            .bind(a.access_token.expose())
            .bind(a.refresh_token.as_ref().map(Secret::expose))
            .bind(a.token_expires)
            .bind(Json(&a.permissions))
            .bind(a.is_active)
            .bind(a.created_at)
            .bind(a.updated_at)
    }
}

/// `$1`..`$13`: the sealed account, as its binder binds it; nothing is stored (no row) when
/// its team `$3` does not exist or the account is already there (a concurrent connect).
const CONNECT: &str = concat!(
    "INSERT INTO social_accounts (",
    columns!(),
    ")
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13
     WHERE EXISTS (SELECT 1 FROM teams WHERE id = $3)
     ON CONFLICT (platform, platform_id, team_id) DO NOTHING
     RETURNING *"
);

/// `$1`..`$13`: the sealed account, as its binder binds it (the row is found by `$1`).
const SAVE: &str = concat!(
    "UPDATE social_accounts SET (",
    columns!(),
    ") = ROW($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     WHERE id = $1
     RETURNING *"
);

/// `$1` team, `$2` platform, `$3` platform id; the row stays locked until the transaction ends.
const FIND_FOR_RECONNECT: &str = "
    SELECT * FROM social_accounts
    WHERE team_id = $1 AND platform = $2 AND platform_id = $3
    FOR UPDATE";

/// `$1` team.
const TEAM_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)";

/// `$1` id, `$2` team.
const GET: &str = "SELECT * FROM social_accounts WHERE id = $1 AND team_id = $2";

/// `$1` id, `$2` team; the row stays locked until the transaction ends.
const LOCK: &str = "SELECT * FROM social_accounts WHERE id = $1 AND team_id = $2 FOR UPDATE";

/// `$1` team, `$2`/`$3` keyset bound, `$4` rows to fetch.
const LIST: &str = keyset_list!("social_accounts", "team_id");

/// `$1` expiry bound (exclusive), `$2` limit: active accounts expiring first.
const EXPIRING: &str = "
    SELECT * FROM social_accounts
    WHERE is_active AND token_expires IS NOT NULL AND token_expires < $1
    ORDER BY token_expires, id
    LIMIT $2";

/// What one attempt at connecting did.
enum Connect {
    /// The account, stored (sealed).
    Done(Box<Sealed<SocialAccount>>),
    /// Another caller connected the same account at the same time: try again.
    Raced,
}

impl PgStore {
    /// Insert the new account, unless the team is missing or another caller just inserted it.
    async fn insert_account(&self, tx: &mut Tx, fresh: &SocialAccount) -> Result<Connect> {
        let sealed = fresh.seal(self.sealer())?;
        let row: Option<Db<Sealed<SocialAccount>>> =
            SocialAccount::bind(sqlx::query_as(CONNECT), &sealed).fetch_optional(&mut **tx).await.map_err(map_sqlx)?;
        if let Some(row) = row {
            return Ok(Connect::Done(Box::new(row.into_inner())));
        }
        let team_exists: bool =
            sqlx::query_scalar(TEAM_EXISTS).bind(fresh.team_id.0).fetch_one(&mut **tx).await.map_err(map_sqlx)?;
        if team_exists {
            Ok(Connect::Raced)
        } else {
            Err(missing(Entity::SocialAccount, Entity::Team, FK_SOCIAL_ACCOUNTS_TEAM))
        }
    }

    /// Reconnect the stored (locked) account with `fresh`, sealed for the stored row's id.
    async fn reconnect(
        &self,
        tx: &mut Tx,
        mut stored: Sealed<SocialAccount>,
        fresh: &SocialAccount,
    ) -> Result<Sealed<SocialAccount>> {
        let fresh = SocialAccount { id: stored.0.id, ..fresh.clone() }.seal(self.sealer())?;
        stored.0.reconnect(fresh.0);
        let row: Db<Sealed<SocialAccount>> =
            SocialAccount::bind(sqlx::query_as(SAVE), &stored).fetch_one(&mut **tx).await.map_err(map_sqlx)?;
        Ok(row.into_inner())
    }

    /// One attempt: check the connecting user's membership (locked until the end), then update
    /// the existing row or insert a new one.
    async fn connect_once(&self, fresh: &SocialAccount) -> Result<Connect> {
        let mut tx = self.begin().await?;
        let outcome = async {
            require_member(&mut *tx, fresh.team_id, fresh.user_id, Acting::SOCIAL_ACCOUNT).await?;
            let existing: Option<Db<Sealed<SocialAccount>>> = sqlx::query_as(FIND_FOR_RECONNECT)
                .bind(fresh.team_id.0)
                .bind(fresh.platform.as_str())
                .bind(&fresh.platform_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx)?;
            match existing {
                Some(stored) => Ok(Connect::Done(Box::new(self.reconnect(&mut tx, stored.into_inner(), fresh).await?))),
                None => self.insert_account(&mut tx, fresh).await,
            }
        }
        .await;
        finish(tx, outcome).await
    }
}

#[async_trait]
impl SocialAccountRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn connect_account(&self, team: TeamId, account: NewSocialAccount) -> Result<SocialAccount> {
        let _write = self.write_mark();
        let fresh = account.into_record(team, self.now())?;
        for _ in 0..3 {
            if let Connect::Done(stored) = self.connect_once(&fresh).await? {
                return SocialAccount::open(*stored, self.sealer());
            }
        }
        Err(Error::Conflict { entity: Entity::SocialAccount, rule: UQ_SOCIAL_ACCOUNTS_PLATFORM_ACCOUNT_TEAM })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_account(&self, team: TeamId, id: SocialAccountId) -> Result<SocialAccount> {
        let row: Db<Sealed<SocialAccount>> =
            owned_row(self.exec(), GET, id.0, team.0, Entity::SocialAccount, id).await?;
        SocialAccount::open(row.into_inner(), self.sealer())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_accounts(&self, team: TeamId, page: PageRequest) -> Result<Page<SocialAccount>> {
        self.sealed_page(LIST, team.0, &page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_account(
        &self,
        team: TeamId,
        id: SocialAccountId,
        update: SocialAccountUpdate,
    ) -> Result<SocialAccount> {
        let _write = self.write_mark();
        update.check()?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let row: Db<Sealed<SocialAccount>> =
                owned_row(&mut *tx, LOCK, id.0, team.0, Entity::SocialAccount, id).await?;
            let mut account = SocialAccount::open(row.into_inner(), self.sealer())?;
            update.apply(&mut account, now);
            self.save_sealed(&mut tx, &account).await
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn delete_account(&self, team: TeamId, id: SocialAccountId) -> Result<()> {
        let _write = self.write_mark();
        self.delete_owned(
            "DELETE FROM social_accounts WHERE id = $1 AND team_id = $2",
            id.0,
            team.0,
            Entity::SocialAccount,
            id,
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn accounts_expiring_before(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<SocialAccount>> {
        check_batch(limit)?;
        let rows: Vec<Db<Sealed<SocialAccount>>> = sqlx::query_as(EXPIRING)
            .bind(clamp_time(before))
            .bind(i64::from(limit))
            .fetch_all(self.exec())
            .await
            .map_err(map_sqlx)?;
        self.open_all(rows)
    }
}
