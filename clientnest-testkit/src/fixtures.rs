//! Fixtures the adapters' tests and the load generators share: the test key ring, names no
//! other test or run uses, and sample users whose password is hashed once per process.
//!
//! The conformance suite keeps its own fixtures (`clientnest_core::conformance`); these are
//! for the tests around it.

use std::sync::OnceLock;

use clientnest_core::crypto::{KeyRing, hash_password};
use clientnest_core::model::NewUser;
use clientnest_core::secret::{PasswordHash, Secret};

/// The id of the test key ring's primary key.
pub const TEST_KEY_ID: &str = "test-key";

/// The test key ring's primary key: fixed, so a failure reproduces with the same ciphertexts.
pub const TEST_KEY: [u8; 32] = [42; 32];

/// The password of every [`new_user`]; its hash is [`password_hash`].
pub const TEST_PASSWORD: &str = "clientnest test password";

/// A key ring of one key, [`TEST_KEY`] under [`TEST_KEY_ID`].
///
/// # Panics
///
/// Never in practice: the fixed id is valid.
pub fn keys() -> KeyRing {
    KeyRing::new(TEST_KEY_ID, TEST_KEY).expect("the test key id is valid")
}

/// `tag-<32 hex digits>`: a key prefix (or any name) no other test or run uses.
pub fn unique_name(tag: &str) -> String {
    format!("{tag}-{}", uuid::Uuid::new_v4().simple())
}

/// A key prefix of its own for one Redis test (`t-<32 hex digits>`).
pub fn unique_prefix() -> String {
    unique_name("t")
}

/// `tag-<32 hex digits>@example.com`: an address no other user of the run has.
pub fn unique_email(tag: &str) -> String {
    format!("{}@example.com", unique_name(tag))
}

/// The argon2id hash of [`TEST_PASSWORD`], computed once per process (hashing is slow on
/// purpose; tests need many users, not many hashes).
///
/// # Panics
///
/// If hashing fails, which it does not with the default parameters.
pub fn password_hash() -> PasswordHash {
    static HASH: OnceLock<PasswordHash> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&Secret::new(TEST_PASSWORD)).expect("hash the test password")).clone()
}

/// A user named `first last` with a [unique address](unique_email) under `tag` and the
/// [shared hash](password_hash).
pub fn new_user(tag: &str, first: &str, last: &str) -> NewUser {
    NewUser::new(unique_email(tag), password_hash(), first, last)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use clientnest_core::crypto::verify_password;

    use super::*;

    #[test]
    fn the_key_ring_opens_what_it_sealed() {
        let sealed = keys().seal_secret(&Secret::new("token"), b"aad").unwrap();
        assert!(sealed.starts_with(&format!("v1.{TEST_KEY_ID}.")));
        assert_eq!(keys().open_secret(&sealed, b"aad").unwrap().expose(), "token");
    }

    #[test]
    fn names_and_addresses_are_unique() {
        assert_ne!(unique_prefix(), unique_prefix());
        let email = unique_email("who");
        assert!(email.starts_with("who-") && email.ends_with("@example.com"), "{email}");
        assert_ne!(new_user("a", "A", "B").email, new_user("a", "A", "B").email);
    }

    #[test]
    fn the_shared_hash_verifies_the_test_password() {
        assert_eq!(password_hash(), password_hash());
        assert!(verify_password(&Secret::new(TEST_PASSWORD), &password_hash()).unwrap());
        assert!(!verify_password(&Secret::new("another"), &password_hash()).unwrap());
    }
}
