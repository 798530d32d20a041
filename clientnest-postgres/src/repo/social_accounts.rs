//! Connected social accounts (`social_accounts`). Tokens are sealed with the key ring, bound to
//! the row id; reconnecting the same (platform, platform id, team) updates the row in place.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::clock::to_micros;
use clientnest_core::constraint::{FK_SOCIAL_ACCOUNTS_TEAM, UQ_SOCIAL_ACCOUNTS_PLATFORM_ACCOUNT_TEAM};
use clientnest_core::ids::{SocialAccountId, TeamId, UserId};
use clientnest_core::model::{NewSocialAccount, SocialAccount, SocialAccountUpdate, check_batch};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::SocialAccountRepository;
use clientnest_core::{Entity, Error, Result};
use sqlx::types::Json;
use uuid::Uuid;

use super::members::{Acting, require_member};
use super::{choice, clamp_time, missing, owned_row};
use crate::error::map_sqlx;
use crate::secrets::{ResealTally, SealedColumn, Sealer};
use crate::store::{PgStore, Tx, commit};

/// A `social_accounts` row, tokens still sealed.
#[derive(sqlx::FromRow)]
pub(super) struct AccountRow {
    id: Uuid,
    user_id: Uuid,
    team_id: Uuid,
    platform: String,
    platform_id: String,
    username: String,
    access_token_enc: String,
    refresh_token_enc: Option<String>,
    token_expires: Option<DateTime<Utc>>,
    permissions: Json<Vec<String>>,
    is_active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl AccountRow {
    /// The account with its tokens opened.
    pub(super) fn open(self, sealer: &Sealer) -> Result<SocialAccount> {
        let access_token = sealer.open(SealedColumn::AccessToken, self.id, &self.access_token_enc)?;
        let refresh_token =
            self.refresh_token_enc.map(|s| sealer.open(SealedColumn::RefreshToken, self.id, &s)).transpose()?;
        Ok(SocialAccount {
            id: SocialAccountId(self.id),
            user_id: UserId(self.user_id),
            team_id: TeamId(self.team_id),
            platform: choice(&self.platform)?,
            platform_id: self.platform_id,
            username: self.username,
            access_token,
            refresh_token,
            token_expires: self.token_expires,
            permissions: self.permissions.0,
            is_active: self.is_active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn cursor(a: &SocialAccount) -> Cursor {
    Cursor::after(a.created_at, a.id)
}

const FIND_FOR_RECONNECT: &str =
    "SELECT id FROM social_accounts WHERE team_id = $1 AND platform = $2 AND platform_id = $3 FOR UPDATE";

const RECONNECT: &str = "UPDATE social_accounts SET username = $2, access_token_enc = $3, \
     refresh_token_enc = COALESCE($4, refresh_token_enc), token_expires = $5, permissions = $6, is_active = true, \
     updated_at = $7 WHERE id = $1 RETURNING *";

const CONNECT: &str = "INSERT INTO social_accounts (id, user_id, team_id, platform, platform_id, username, \
     access_token_enc, refresh_token_enc, token_expires, permissions, is_active, created_at, updated_at) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true, $11, $11 WHERE EXISTS (SELECT 1 FROM teams WHERE id = $3) \
     ON CONFLICT (platform, platform_id, team_id) DO NOTHING RETURNING *";

const SAVE: &str = "UPDATE social_accounts SET username = $2, access_token_enc = $3, refresh_token_enc = $4, \
     token_expires = $5, permissions = $6, is_active = $7, updated_at = $8 WHERE id = $1 RETURNING *";

const LIST: &str = "SELECT * FROM social_accounts WHERE team_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

const EXPIRING: &str = "SELECT * FROM social_accounts WHERE is_active AND token_expires IS NOT NULL \
     AND token_expires < $1 ORDER BY token_expires, id LIMIT $2";

/// What one attempt at connecting did.
enum Connect {
    /// The account, stored.
    Done(Box<AccountRow>),
    /// Another caller connected the same account at the same time: try again.
    Raced,
}

impl PgStore {
    /// Reconnect the existing row `id` in place.
    async fn reconnect(&self, tx: &mut Tx, id: Uuid, a: &NewSocialAccount) -> Result<AccountRow> {
        let sealer = self.sealer();
        let access = sealer.seal(SealedColumn::AccessToken, id, &a.access_token)?;
        let refresh = a.refresh_token.as_ref().map(|t| sealer.seal(SealedColumn::RefreshToken, id, t)).transpose()?;
        sqlx::query_as(RECONNECT)
            .bind(id)
            .bind(&a.username)
            .bind(access)
            .bind(refresh)
            .bind(a.token_expires)
            .bind(Json(&a.permissions))
            .bind(self.now())
            .fetch_one(&mut **tx)
            .await
            .map_err(map_sqlx)
    }

    /// Insert a new row, unless the team is missing or another caller just inserted it.
    async fn insert_account(&self, tx: &mut Tx, team: TeamId, a: &NewSocialAccount) -> Result<Connect> {
        let id = SocialAccountId::new().0;
        let sealer = self.sealer();
        let access = sealer.seal(SealedColumn::AccessToken, id, &a.access_token)?;
        let refresh = a.refresh_token.as_ref().map(|t| sealer.seal(SealedColumn::RefreshToken, id, t)).transpose()?;
        let row: Option<AccountRow> = sqlx::query_as(CONNECT)
            .bind(id)
            .bind(a.user_id.0)
            .bind(team.0)
            .bind(a.platform.as_str())
            .bind(&a.platform_id)
            .bind(&a.username)
            .bind(access)
            .bind(refresh)
            .bind(a.token_expires)
            .bind(Json(&a.permissions))
            .bind(self.now())
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_sqlx)?;
        if let Some(row) = row {
            return Ok(Connect::Done(Box::new(row)));
        }
        let team_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)")
            .bind(team.0)
            .fetch_one(&mut **tx)
            .await
            .map_err(map_sqlx)?;
        if team_exists {
            Ok(Connect::Raced)
        } else {
            Err(missing(Entity::SocialAccount, Entity::Team, FK_SOCIAL_ACCOUNTS_TEAM))
        }
    }

    /// One attempt: check the connecting user's membership (locked until the end), then update
    /// the existing row or insert a new one.
    async fn connect_once(&self, team: TeamId, a: &NewSocialAccount) -> Result<Connect> {
        let mut tx = self.begin().await?;
        require_member(&mut *tx, team, a.user_id, Acting::SOCIAL_ACCOUNT).await?;
        let existing: Option<Uuid> = sqlx::query_scalar(FIND_FOR_RECONNECT)
            .bind(team.0)
            .bind(a.platform.as_str())
            .bind(&a.platform_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let outcome = match existing {
            Some(id) => Connect::Done(Box::new(self.reconnect(&mut tx, id, a).await?)),
            None => self.insert_account(&mut tx, team, a).await?,
        };
        if matches!(outcome, Connect::Done(_)) {
            commit(tx).await?;
        }
        Ok(outcome)
    }

    /// An account row of the team, locked for update.
    async fn locked_account(&self, tx: &mut Tx, team: TeamId, id: SocialAccountId) -> Result<AccountRow> {
        let row: Option<AccountRow> =
            sqlx::query_as("SELECT * FROM social_accounts WHERE id = $1 AND team_id = $2 FOR UPDATE")
                .bind(id.0)
                .bind(team.0)
                .fetch_optional(&mut **tx)
                .await
                .map_err(map_sqlx)?;
        row.ok_or_else(|| Error::not_found(Entity::SocialAccount, id))
    }
}

#[async_trait]
impl SocialAccountRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn connect_account(&self, team: TeamId, mut account: NewSocialAccount) -> Result<SocialAccount> {
        account.check()?;
        account.token_expires = account.token_expires.map(to_micros);
        for _ in 0..3 {
            if let Connect::Done(row) = self.connect_once(team, &account).await? {
                return row.open(self.sealer());
            }
        }
        Err(Error::Conflict { entity: Entity::SocialAccount, rule: UQ_SOCIAL_ACCOUNTS_PLATFORM_ACCOUNT_TEAM })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_account(&self, team: TeamId, id: SocialAccountId) -> Result<SocialAccount> {
        owned_row::<AccountRow>(
            self.pool(),
            "SELECT * FROM social_accounts WHERE id = $1 AND team_id = $2",
            id.0,
            team.0,
            Entity::SocialAccount,
            id,
        )
        .await?
        .open(self.sealer())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_accounts(&self, team: TeamId, page: PageRequest) -> Result<Page<SocialAccount>> {
        self.fetch_page::<AccountRow, _>(LIST, team.0, &page, |r| r.open(self.sealer()), cursor).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_account(
        &self,
        team: TeamId,
        id: SocialAccountId,
        mut update: SocialAccountUpdate,
    ) -> Result<SocialAccount> {
        update.check()?;
        update.token_expires = update.token_expires.map(|t| t.map(to_micros));
        let now = self.now();
        let sealer = self.sealer();
        let mut tx = self.begin().await?;
        let mut account = self.locked_account(&mut tx, team, id).await?.open(sealer)?;
        update.apply(&mut account, now);
        let access = sealer.seal(SealedColumn::AccessToken, id.0, &account.access_token)?;
        let refresh =
            account.refresh_token.as_ref().map(|t| sealer.seal(SealedColumn::RefreshToken, id.0, t)).transpose()?;
        let row: AccountRow = sqlx::query_as(SAVE)
            .bind(id.0)
            .bind(&account.username)
            .bind(access)
            .bind(refresh)
            .bind(account.token_expires)
            .bind(Json(&account.permissions))
            .bind(account.is_active)
            .bind(account.updated_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        commit(tx).await?;
        row.open(sealer)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn delete_account(&self, team: TeamId, id: SocialAccountId) -> Result<()> {
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
        let rows: Vec<AccountRow> = sqlx::query_as(EXPIRING)
            .bind(clamp_time(before))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        rows.into_iter().map(|r| r.open(self.sealer())).collect()
    }
}

/// One page of the re-seal sweep in `social_accounts`: up to `limit` rows with an id after
/// `after`, in id order, locked until the commit; the tokens of the rows not under the primary
/// key are re-sealed (no other column changes).
pub(super) async fn reseal_page(store: &PgStore, after: Option<Uuid>, limit: u32) -> Result<ResealTally> {
    let sealer = store.sealer();
    let mut tx = store.begin().await?;
    let rows: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "SELECT id, access_token_enc, refresh_token_enc FROM social_accounts \
         WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2 FOR UPDATE",
    )
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(map_sqlx)?;
    let mut tally = ResealTally::default();
    for (id, access, refresh) in rows {
        let stale = sealer.needs_rotation(&access) || refresh.as_deref().is_some_and(|r| sealer.needs_rotation(r));
        let outcome = if stale {
            let access = sealer.reseal(SealedColumn::AccessToken, id, &access);
            let refresh = refresh.map(|r| sealer.reseal(SealedColumn::RefreshToken, id, &r)).transpose();
            match (access, refresh) {
                (Ok(access), Ok(refresh)) => {
                    sqlx::query(
                        "UPDATE social_accounts SET access_token_enc = $2, refresh_token_enc = $3 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(access)
                    .bind(refresh)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_sqlx)?;
                    Ok(true)
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        } else {
            Ok(false)
        };
        tally.count(id, outcome)?;
    }
    commit(tx).await?;
    Ok(tally)
}
