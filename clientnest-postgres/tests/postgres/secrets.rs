//! Secrets at rest: tokens and webhook secrets are ciphertext in their columns, bound to their
//! row and column; tampering, moving or a foreign key ring reads as `Error::Crypto`.

use std::sync::Arc;

use clientnest_core::crypto::KeyRing;
use clientnest_core::prelude::*;
use clientnest_postgres::PgStore;
use clientnest_postgres::secrets::{SealedColumn, aad};

use crate::support::{TestDb, keys};

const ACCESS: &str = "ya29.plaintext-access-token-0123456789";
const REFRESH: &str = "1//plaintext-refresh-token-abcdef";
const WEBHOOK_SECRET: &str = "whsec_plaintext_signing_secret_42";

async fn owner_and_team(store: &PgStore) -> (UserId, TeamId) {
    let hash = hash_password(&Secret::new("secrets test password")).unwrap();
    let email = format!("sec-{}@example.com", uuid::Uuid::new_v4().simple());
    let user = store.create_user(NewUser::new(email, hash, "Sec", "Ret")).await.unwrap();
    let (team, _) = store.create_team(NewTeam::new("Secrets", user.id, PlanType::Free)).await.unwrap();
    (user.id, team.id)
}

fn account(user: UserId, platform_id: &str) -> NewSocialAccount {
    NewSocialAccount {
        user_id: user,
        platform: Platform::Instagram,
        platform_id: platform_id.to_owned(),
        username: "nest".to_owned(),
        access_token: Secret::new(ACCESS),
        refresh_token: Some(Secret::new(REFRESH)),
        token_expires: None,
        permissions: vec!["publish".to_owned()],
    }
}

fn webhook() -> NewWebhook {
    NewWebhook {
        platform: Platform::Facebook,
        event_type: "comment.created".to_owned(),
        endpoint_url: "https://hooks.example.com/in".to_owned(),
        secret_key: Secret::new(WEBHOOK_SECRET),
    }
}

#[tokio::test]
async fn raw_columns_hold_no_plaintext() {
    let Some(db) = TestDb::new().await else { return };
    let (user, team) = owner_and_team(&db.store).await;
    let acc = db.store.connect_account(team, account(user, "ig-1")).await.unwrap();
    let hook = db.store.create_webhook(user, webhook()).await.unwrap();

    let (access, refresh): (String, Option<String>) =
        sqlx::query_as("SELECT access_token_enc, refresh_token_enc FROM social_accounts WHERE id = $1")
            .bind(acc.id.0)
            .fetch_one(db.pool())
            .await
            .unwrap();
    let secret: String = sqlx::query_scalar("SELECT secret_key_enc FROM webhooks WHERE id = $1")
        .bind(hook.id.0)
        .fetch_one(db.pool())
        .await
        .unwrap();
    let refresh = refresh.expect("a sealed refresh token");
    for (sealed, plain) in [(&access, ACCESS), (&refresh, REFRESH), (&secret, WEBHOOK_SECRET)] {
        assert!(sealed.starts_with("v1.test-key."), "{sealed}");
        assert!(!sealed.contains(plain), "plaintext stored");
    }
    // Nowhere in the rows, whatever the column.
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT row_to_json(a)::text FROM social_accounts a UNION ALL SELECT row_to_json(w)::text FROM webhooks w",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    for row in rows {
        for plain in [ACCESS, REFRESH, WEBHOOK_SECRET] {
            assert!(!row.contains(plain), "plaintext in {row}");
        }
    }
    // And they read back as given.
    let read = db.store.get_account(team, acc.id).await.unwrap();
    assert_eq!(read.access_token.expose(), ACCESS);
    assert_eq!(read.refresh_token.as_ref().map(Secret::expose), Some(REFRESH));
    assert_eq!(db.store.get_webhook(user, hook.id).await.unwrap().secret_key.expose(), WEBHOOK_SECRET);
}

#[tokio::test]
async fn the_associated_data_names_table_column_and_row() {
    let Some(db) = TestDb::new().await else { return };
    let (user, team) = owner_and_team(&db.store).await;
    let acc = db.store.connect_account(team, account(user, "ig-aad")).await.unwrap();
    let access: String = sqlx::query_scalar("SELECT access_token_enc FROM social_accounts WHERE id = $1")
        .bind(acc.id.0)
        .fetch_one(db.pool())
        .await
        .unwrap();
    let opened = keys().open_secret(&access, &aad(SealedColumn::AccessToken, acc.id.0)).unwrap();
    assert_eq!(opened.expose(), ACCESS);
    assert_eq!(
        aad(SealedColumn::AccessToken, acc.id.0),
        format!("social_accounts.access_token:{}", acc.id).into_bytes()
    );
    assert_eq!(SealedColumn::WebhookSecret.column(), "secret_key_enc");
}

#[tokio::test]
async fn tampered_ciphertext_reads_as_a_crypto_error() {
    let Some(db) = TestDb::new().await else { return };
    let (user, team) = owner_and_team(&db.store).await;
    let acc = db.store.connect_account(team, account(user, "ig-2")).await.unwrap();
    let sealed: String = sqlx::query_scalar("SELECT access_token_enc FROM social_accounts WHERE id = $1")
        .bind(acc.id.0)
        .fetch_one(db.pool())
        .await
        .unwrap();
    // Flip one character of the body (not the version or key id).
    let mut bytes = sealed.into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    sqlx::query("UPDATE social_accounts SET access_token_enc = $2 WHERE id = $1")
        .bind(acc.id.0)
        .bind(tampered)
        .execute(db.pool())
        .await
        .unwrap();
    let err = db.store.get_account(team, acc.id).await.unwrap_err();
    assert!(matches!(err, Error::Crypto(_)), "{err:?}");
    assert!(!err.to_string().contains(ACCESS));
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_row_does_not_open() {
    let Some(db) = TestDb::new().await else { return };
    let (user, team) = owner_and_team(&db.store).await;
    let a = db.store.connect_account(team, account(user, "ig-a")).await.unwrap();
    let b = db.store.connect_account(team, account(user, "ig-b")).await.unwrap();
    sqlx::query(
        "UPDATE social_accounts SET access_token_enc = (SELECT access_token_enc FROM social_accounts WHERE id = $1) \
         WHERE id = $2",
    )
    .bind(a.id.0)
    .bind(b.id.0)
    .execute(db.pool())
    .await
    .unwrap();
    assert!(matches!(db.store.get_account(team, b.id).await, Err(Error::Crypto(_))));
    // Nor into another column of the same row.
    sqlx::query("UPDATE social_accounts SET refresh_token_enc = access_token_enc WHERE id = $1")
        .bind(a.id.0)
        .execute(db.pool())
        .await
        .unwrap();
    assert!(matches!(db.store.get_account(team, a.id).await, Err(Error::Crypto(_))));
}

#[tokio::test]
async fn another_key_ring_cannot_read_and_rotation_reseals() {
    let Some(db) = TestDb::new().await else { return };
    let (user, team) = owner_and_team(&db.store).await;
    let acc = db.store.connect_account(team, account(user, "ig-rot")).await.unwrap();

    let stranger = PgStore::from_pool(db.pool().clone(), KeyRing::new("other", [1u8; 32]).unwrap());
    assert!(matches!(stranger.get_account(team, acc.id).await, Err(Error::Crypto(_))));

    let rotated = KeyRing::new("key-2", [9u8; 32]).unwrap().with_old_key("test-key", [42u8; 32]).unwrap();
    let store = PgStore::from_pool(db.pool().clone(), rotated).with_clock(Arc::new(db.clock.clone()));
    assert_eq!(store.get_account(team, acc.id).await.unwrap().access_token.expose(), ACCESS);
    let update = SocialAccountUpdate { username: Some("renamed".to_owned()), ..Default::default() };
    store.update_account(team, acc.id, update).await.unwrap();
    let sealed: String = sqlx::query_scalar("SELECT access_token_enc FROM social_accounts WHERE id = $1")
        .bind(acc.id.0)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(sealed.starts_with("v1.key-2."), "re-sealed under the new primary key: {sealed}");
    assert_eq!(store.get_account(team, acc.id).await.unwrap().refresh_token.unwrap().expose(), REFRESH);
}

#[tokio::test]
async fn passwords_are_stored_only_as_argon2id() {
    let Some(db) = TestDb::new().await else { return };
    let (user, _) = owner_and_team(&db.store).await;
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user.0)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains("secrets test password"));
}
