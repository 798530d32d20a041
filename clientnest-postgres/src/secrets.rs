//! Secrets at rest: OAuth tokens and webhook secrets are sealed with the application's
//! [`KeyRing`] (AES-256-GCM) before they reach PostgreSQL, and opened on read.
//!
//! Each ciphertext is bound to its place by the associated data
//! `"<table>.<column>:<row id>"` (see [`aad`]): a value copied into another row or column does
//! not decrypt, it fails with [`Error::Crypto`].
//!
//! To retire a key, make a ring whose primary key is the new one with the old key added by
//! `KeyRing::with_old_key`, then run the re-seal sweep
//! ([`SecretReseal`](clientnest_core::ports::SecretReseal) on `PgStore`) to its end: each page
//! locks up to `limit` rows (`FOR UPDATE`, in id order), re-encrypts the values not under the
//! primary key and commits. When a whole sweep reports `unreadable == 0`, drop the old key.

use std::sync::Arc;

use clientnest_core::crypto::KeyRing;
use clientnest_core::ports::{ResealCursor, ResealProgress, ResealTable};
use clientnest_core::secret::Secret;
use clientnest_core::{Error, Result};
use uuid::Uuid;

/// A column that holds sealed secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SealedColumn {
    /// `social_accounts.access_token_enc`.
    AccessToken,
    /// `social_accounts.refresh_token_enc`.
    RefreshToken,
    /// `webhooks.secret_key_enc`.
    WebhookSecret,
}

impl SealedColumn {
    /// The logical place named in the associated data, e.g. `social_accounts.access_token`.
    pub const fn place(self) -> &'static str {
        match self {
            SealedColumn::AccessToken => "social_accounts.access_token",
            SealedColumn::RefreshToken => "social_accounts.refresh_token",
            SealedColumn::WebhookSecret => "webhooks.secret_key",
        }
    }

    /// The SQL column that stores the ciphertext.
    pub const fn column(self) -> &'static str {
        match self {
            SealedColumn::AccessToken => "access_token_enc",
            SealedColumn::RefreshToken => "refresh_token_enc",
            SealedColumn::WebhookSecret => "secret_key_enc",
        }
    }
}

/// The associated data of a sealed value: `"<place>:<row id>"`, e.g.
/// `social_accounts.access_token:0190...`.
pub fn aad(column: SealedColumn, row: Uuid) -> Vec<u8> {
    format!("{}:{row}", column.place()).into_bytes()
}

/// Seals and opens the secrets of one store.
#[derive(Clone)]
pub(crate) struct Sealer(Arc<KeyRing>);

impl Sealer {
    /// A sealer over a key ring: seals under its primary key, opens under any key it holds.
    pub(crate) fn new(keys: KeyRing) -> Self {
        Self(Arc::new(keys))
    }

    /// Encrypt a secret for a column of a row.
    pub(crate) fn seal(&self, column: SealedColumn, row: Uuid, secret: &Secret) -> Result<String> {
        self.0.seal_secret(secret, &aad(column, row))
    }

    /// Decrypt a secret read from a column of a row.
    pub(crate) fn open(&self, column: SealedColumn, row: Uuid, sealed: &str) -> Result<Secret> {
        self.0.open_secret(sealed, &aad(column, row))
    }

    /// The key ring's primary key id (safe to show).
    pub(crate) fn primary_key_id(&self) -> &str {
        self.0.primary_key_id()
    }

    /// Whether a stored value is sealed under a key other than the primary one (or is not a
    /// well-formed sealed value at all).
    pub(crate) fn needs_rotation(&self, sealed: &str) -> bool {
        self.0.needs_rotation(sealed)
    }

    /// The value sealed under the primary key: as is when it already is, else opened (with
    /// whichever key of the ring sealed it) and sealed again for the same place.
    pub(crate) fn reseal(&self, column: SealedColumn, row: Uuid, sealed: &str) -> Result<String> {
        if !self.needs_rotation(sealed) {
            return Ok(sealed.to_owned());
        }
        self.seal(column, row, &self.open(column, row, sealed)?)
    }
}

/// What one page of the re-seal sweep did in one table.
#[derive(Debug, Default)]
pub(crate) struct ResealTally {
    /// Rows visited in this page.
    pub(crate) visited: u64,
    /// Rows re-sealed under the primary key.
    pub(crate) resealed: u64,
    /// Rows left alone because a value could not be opened.
    pub(crate) unreadable: u64,
    /// The last row id visited; `None` when the page was empty.
    pub(crate) last: Option<Uuid>,
}

impl ResealTally {
    /// Count the outcome of re-sealing one row: `Ok(true)` re-sealed, `Ok(false)` already
    /// current, a crypto error unreadable (left alone); other errors stop the page.
    pub(crate) fn count(&mut self, row: Uuid, outcome: Result<bool>) -> Result<()> {
        self.visited += 1;
        self.last = Some(row);
        match outcome {
            Ok(true) => self.resealed += 1,
            Ok(false) => {}
            Err(Error::Crypto(reason)) => {
                tracing::warn!(row = %row, %reason, "re-seal sweep: a stored secret cannot be opened; left as is");
                self.unreadable += 1;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// The sweep's progress after this page of `table`, visited with `limit`.
    pub(crate) fn progress(self, table: ResealTable, limit: u32) -> ResealProgress {
        ResealProgress {
            scanned: self.visited,
            resealed: self.resealed,
            unreadable: self.unreadable,
            next: ResealCursor::after_page(table, self.visited, limit, self.last),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_in_its_place() -> Result<()> {
        let sealer = Sealer::new(KeyRing::new("k1", [7u8; 32])?);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = sealer.seal(SealedColumn::AccessToken, a, &Secret::new("tok"))?;
        assert!(!sealed.contains("tok"));
        assert_eq!(sealer.open(SealedColumn::AccessToken, a, &sealed)?.expose(), "tok");
        assert!(sealer.open(SealedColumn::AccessToken, b, &sealed).is_err());
        assert!(sealer.open(SealedColumn::RefreshToken, a, &sealed).is_err());
        Ok(())
    }
}
