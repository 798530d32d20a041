//! Secrets at rest: tokens and webhook secrets are ciphertext in their columns, bound to their
//! row and column; tampering, moving or a foreign key ring reads as `Error::Crypto`.

use std::sync::Arc;

use clientnest_core::crypto::KeyRing;
use clientnest_core::ports::{ResealCursor, SecretReseal};
use clientnest_core::prelude::*;
use clientnest_postgres::PgStore;
use clientnest_postgres::secrets::{SealedColumn, aad};

use clientnest_testkit::fixtures::{TEST_KEY, TEST_KEY_ID, new_user};

use crate::support::{TestDb, keys};

const ACCESS: &str = "ya29.plaintext-access-token-0123456789";
const REFRESH: &str = "1//plaintext-refresh-token-abcdef";
const WEBHOOK_SECRET: &str = "whsec_plaintext_signing_secret_42";

async fn owner_and_team(store: &PgStore) -> (UserId, TeamId) {
    let user = store.create_user(new_user("sec", "Sec", "Ret")).await.unwrap();
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
    assert!(matches!(err, Error::Crypto(CryptoFailure::AuthenticationFailed)), "{err:?}");
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
    assert!(matches!(db.store.get_account(team, b.id).await, Err(Error::Crypto(CryptoFailure::AuthenticationFailed))));
    // Nor into another column of the same row.
    sqlx::query("UPDATE social_accounts SET refresh_token_enc = access_token_enc WHERE id = $1")
        .bind(a.id.0)
        .execute(db.pool())
        .await
        .unwrap();
    assert!(matches!(db.store.get_account(team, a.id).await, Err(Error::Crypto(CryptoFailure::AuthenticationFailed))));
}

#[tokio::test]
async fn another_key_ring_cannot_read_and_rotation_reseals() {
    let Some(db) = TestDb::new().await else { return };
    let (user, team) = owner_and_team(&db.store).await;
    let acc = db.store.connect_account(team, account(user, "ig-rot")).await.unwrap();

    let stranger = PgStore::from_pool(db.pool().clone(), KeyRing::new("other", [1u8; 32]).unwrap());
    assert!(matches!(stranger.get_account(team, acc.id).await, Err(Error::Crypto(CryptoFailure::UnknownKeyId))));

    let rotated = KeyRing::new("key-2", [9u8; 32]).unwrap().with_old_key(TEST_KEY_ID, TEST_KEY).unwrap();
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

/// The core's re-seal conformance test (paging, resuming, idempotence) on PostgreSQL.
#[tokio::test]
async fn reseal_conformance() {
    let Some(db) = TestDb::new().await else { return };
    let harness = clientnest_core::conformance::Harness {
        store: Arc::new(db.store),
        time: clientnest_core::conformance::TimeControl::Manual(db.clock),
    };
    clientnest_core::conformance::relational::reseal_sweep_pages_and_resumes(&harness).await;
}

/// Every sealed column of both tables, raw.
async fn sealed_columns(pool: &sqlx::PgPool) -> Vec<String> {
    let accounts: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT access_token_enc, refresh_token_enc FROM social_accounts")
            .fetch_all(pool)
            .await
            .unwrap();
    let hooks: Vec<String> = sqlx::query_scalar("SELECT secret_key_enc FROM webhooks").fetch_all(pool).await.unwrap();
    accounts.into_iter().flat_map(|(a, r)| std::iter::once(a).chain(r)).chain(hooks).collect()
}

/// Seal under key A, rotate to B (A kept to decrypt), sweep in pages of two with an
/// interruption (the sweep resumes in a fresh store from the cursor's text), then drop A from
/// the ring: everything still reads, nothing else changed, and a second sweep re-seals nothing.
#[tokio::test]
async fn reseal_sweep_lets_the_old_key_retire() {
    let Some(db) = TestDb::new().await else { return };
    let (user, team) = owner_and_team(&db.store).await;
    let mut accounts = Vec::new();
    for i in 0..5 {
        let mut input = account(user, &format!("ig-sweep-{i}"));
        if i % 2 == 1 {
            input.refresh_token = None;
        }
        accounts.push(db.store.connect_account(team, input).await.unwrap());
    }
    let mut hooks = Vec::new();
    for event in ["comment.created", "mention", "message"] {
        let input = NewWebhook { event_type: event.to_owned(), ..webhook() };
        hooks.push(db.store.create_webhook(user, input).await.unwrap());
    }
    assert!(sealed_columns(db.pool()).await.iter().all(|s| s.starts_with("v1.test-key.")));

    const KEY_B: [u8; 32] = [9u8; 32];
    let rotated = || KeyRing::new("key-b", KEY_B).unwrap().with_old_key(TEST_KEY_ID, TEST_KEY).unwrap();
    let store_b = PgStore::from_pool(db.pool().clone(), rotated()).with_clock(Arc::new(db.clock.clone()));

    // Two pages, then the process stops; the saved cursor is all that survives.
    let first = store_b.reseal_secrets(ResealCursor::start(), 2).await.unwrap();
    let second = store_b.reseal_secrets(first.next.unwrap(), 2).await.unwrap();
    assert_eq!((first.scanned, first.resealed, second.scanned, second.resealed), (2, 2, 2, 2));
    let saved = second.next.unwrap().to_string();
    drop(store_b);
    let sealed = sealed_columns(db.pool()).await;
    let moved = sealed.iter().filter(|s| s.starts_with("v1.key-b.")).count();
    assert!(moved > 0 && moved < sealed.len(), "half way: {moved} of {}", sealed.len());

    let resumed_store = PgStore::from_pool(db.pool().clone(), rotated()).with_clock(Arc::new(db.clock.clone()));
    let rest = clientnest_core::conformance::relational::sweep(&resumed_store, saved.parse().unwrap(), 2).await;
    assert_eq!((rest.scanned, rest.resealed, rest.unreadable), (4, 4, 0), "one account and three webhooks left");
    assert!(sealed_columns(db.pool()).await.iter().all(|s| s.starts_with("v1.key-b.")), "all under key B");
    let again = clientnest_core::conformance::relational::sweep(&resumed_store, ResealCursor::start(), 3).await;
    assert_eq!((again.scanned, again.resealed, again.unreadable), (8, 0, 0), "idempotent");

    // Key A retired: B alone reads everything, and nothing but the ciphertext changed.
    let only_b = PgStore::from_pool(db.pool().clone(), KeyRing::new("key-b", KEY_B).unwrap());
    for a in &accounts {
        assert_eq!(&only_b.get_account(team, a.id).await.unwrap(), a, "the account reads the same");
    }
    for w in &hooks {
        assert_eq!(&only_b.get_webhook(user, w.id).await.unwrap(), w, "the webhook reads the same");
    }

    // A value no key of the ring opens is counted and left alone, and the sweep goes on.
    let ghost = KeyRing::new("ghost", [1u8; 32]).unwrap();
    let foreign = ghost.seal_secret(&Secret::new(ACCESS), &aad(SealedColumn::AccessToken, accounts[0].id.0)).unwrap();
    sqlx::query("UPDATE social_accounts SET access_token_enc = $2 WHERE id = $1")
        .bind(accounts[0].id.0)
        .bind(&foreign)
        .execute(db.pool())
        .await
        .unwrap();
    let with_ghost = clientnest_core::conformance::relational::sweep(&only_b, ResealCursor::start(), 1000).await;
    assert_eq!((with_ghost.scanned, with_ghost.resealed, with_ghost.unreadable), (8, 0, 1));
    let kept: String = sqlx::query_scalar("SELECT access_token_enc FROM social_accounts WHERE id = $1")
        .bind(accounts[0].id.0)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(kept, foreign, "an unreadable row is left as it was");
}
