//! Password hashing: argon2id PHC strings, with caps on the cost of a stored hash.

use argon2::password_hash::{PasswordHash as PhcHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use rand::rngs::OsRng;

use crate::error::{CryptoFailure, Error, Result, store};
use crate::secret::{PasswordHash, Secret};

/// Longest password accepted by [`hash_password`], in bytes.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Largest argon2 memory cost [`verify_password`] accepts in a stored hash, in KiB (64 MiB: the
/// second recommended option of RFC 9106 section 4, three times the `argon2` crate's default of
/// 19 MiB that [`hash_password`] uses).
pub const MAX_ARGON2_MEMORY_KIB: u32 = 65_536;

/// Largest argon2 time cost (passes over memory) [`verify_password`] accepts in a stored hash
/// (the OWASP and RFC 9106 recommendations use 1 to 5; our hashes use 2).
pub const MAX_ARGON2_TIME_COST: u32 = 8;

/// Largest argon2 parallelism (lanes) [`verify_password`] accepts in a stored hash (RFC 9106
/// recommends 4; our hashes use 1). The lanes are computed one after the other here, so more
/// lanes buy an attacker nothing but cost us time.
pub const MAX_ARGON2_LANES: u32 = 8;

/// Whether argon2 parameters stay within the caps ([`MAX_ARGON2_MEMORY_KIB`],
/// [`MAX_ARGON2_TIME_COST`], [`MAX_ARGON2_LANES`]).
fn within_argon2_caps(params: &argon2::Params) -> bool {
    params.m_cost() <= MAX_ARGON2_MEMORY_KIB
        && params.t_cost() <= MAX_ARGON2_TIME_COST
        && params.p_cost() <= MAX_ARGON2_LANES
}

/// Hash a password with argon2id (default parameters, random 16-byte salt from the OS).
///
/// Returns the PHC string (`$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>`).
///
/// # Errors
///
/// [`Error::Validation`] on field `password`, rule `length`, when the password is empty or
/// longer than [`MAX_PASSWORD_LEN`] bytes; [`Error::Backend`] if hashing itself fails.
pub fn hash_password(password: &Secret) -> Result<PasswordHash> {
    let bytes = password.expose().as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_PASSWORD_LEN {
        return Err(Error::invalid(
            "password",
            "length",
            format!("password must be between 1 and {MAX_PASSWORD_LEN} bytes long"),
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    let phc = Argon2::default()
        .hash_password(bytes, &salt)
        .map_err(|e| Error::backend(store::LOCAL, format!("argon2id hashing failed: {e}")))?;
    Ok(PasswordHash::from_phc(phc.to_string()))
}

/// Check a password against a stored PHC hash, in constant time with respect to the hash.
///
/// The parameters, salt and argon2 variant are read from the hash itself, so hashes made with
/// older parameters still verify, as long as they stay within the caps
/// ([`MAX_ARGON2_MEMORY_KIB`], [`MAX_ARGON2_TIME_COST`], [`MAX_ARGON2_LANES`]), checked before
/// any hashing. Returns `Ok(false)` when the password does not match (including an empty
/// password or one longer than [`MAX_PASSWORD_LEN`] bytes, which [`hash_password`] never
/// accepts).
///
/// A user served by a cache ([`CachedUsers`](crate::cache_aside::CachedUsers)) or read back
/// from JSON carries no hash (see [`PasswordHash::is_absent`]): verifying against it fails with
/// `MalformedPasswordHash`. Check passwords against the user read from the repository.
///
/// # Errors
///
/// [`Error::Crypto`] with [`CryptoFailure::MalformedPasswordHash`] when the stored string is not
/// a PHC string with a salt and a hash; [`CryptoFailure::UnsupportedPasswordHash`] when it is a
/// PHC string that argon2 cannot verify (another algorithm, invalid parameters);
/// [`CryptoFailure::PasswordHashTooCostly`] when its parameters exceed the caps.
pub fn verify_password(password: &Secret, hash: &PasswordHash) -> Result<bool> {
    let parsed = PhcHash::new(hash.as_phc()).map_err(|_| Error::Crypto(CryptoFailure::MalformedPasswordHash))?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(Error::Crypto(CryptoFailure::MalformedPasswordHash));
    }
    let params =
        argon2::Params::try_from(&parsed).map_err(|_| Error::Crypto(CryptoFailure::UnsupportedPasswordHash))?;
    if !within_argon2_caps(&params) {
        return Err(Error::Crypto(CryptoFailure::PasswordHashTooCostly));
    }
    let bytes = password.expose().as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_PASSWORD_LEN {
        return Ok(false);
    }
    match Argon2::default().verify_password(bytes, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(_) => Err(Error::Crypto(CryptoFailure::UnsupportedPasswordHash)),
    }
}

/// Whether `s` is a well-formed argon2id PHC string: it parses as PHC, the algorithm is
/// `argon2id`, the version (if given) and parameters are valid for argon2 and within the caps
/// [`verify_password`] applies, and it carries both a salt and a hash. A hash that could not be
/// verified is never stored.
pub fn is_argon2id_phc(s: &str) -> bool {
    let Ok(parsed) = PhcHash::new(s) else {
        return false;
    };
    parsed.algorithm == argon2::ARGON2ID_IDENT
        && parsed.salt.is_some()
        && parsed.hash.is_some()
        && parsed.version.is_none_or(|v| argon2::Version::try_from(v).is_ok())
        && argon2::Params::try_from(&parsed).is_ok_and(|p| within_argon2_caps(&p))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crypto::testing::{crypto_msg, rule};

    #[test]
    fn password_hash_roundtrip_and_wrong_password() {
        let hash = hash_password(&Secret::new("correct horse battery staple")).unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$"), "{}", hash.as_phc());
        assert!(is_argon2id_phc(hash.as_phc()));
        assert!(verify_password(&Secret::new("correct horse battery staple"), &hash).unwrap());
        assert!(!verify_password(&Secret::new("correct horse battery stapl"), &hash).unwrap());
    }

    #[test]
    fn password_length_is_validated_without_hashing() {
        assert_eq!(rule(hash_password(&Secret::new(""))), "length");
        assert_eq!(rule(hash_password(&Secret::new("x".repeat(MAX_PASSWORD_LEN + 1)))), "length");
        // Empty and oversized passwords never match, and the hash is not even computed.
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                   AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let hash = PasswordHash::from_phc(phc);
        assert!(!verify_password(&Secret::new(""), &hash).unwrap());
        assert!(!verify_password(&Secret::new("x".repeat(MAX_PASSWORD_LEN + 1)), &hash).unwrap());
    }

    #[test]
    fn malformed_password_hash_is_an_error() {
        let pw = Secret::new("hunter2");
        for bad in ["", "plaintext", "$argon2id$v=19$m=19456,t=2,p=1", "$$$"] {
            assert_eq!(
                crypto_msg(verify_password(&pw, &PasswordHash::from_phc(bad))),
                CryptoFailure::MalformedPasswordHash,
                "{bad}"
            );
        }
        let other_algo = "$pbkdf2-sha256$i=1000$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(
            crypto_msg(verify_password(&pw, &PasswordHash::from_phc(other_algo))),
            CryptoFailure::UnsupportedPasswordHash
        );
    }

    #[test]
    fn argon2id_phc_detection() {
        let good = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(is_argon2id_phc(good));
        assert!(!is_argon2id_phc(&good.replace("argon2id", "argon2i")));
        assert!(!is_argon2id_phc(&good.replace("v=19", "v=7")));
        assert!(!is_argon2id_phc("$argon2id$v=19$m=19456,t=2,p=1"));
        assert!(!is_argon2id_phc("$argon2id$v=19$m=1,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAA"));
        assert!(!is_argon2id_phc(""));
        assert!(!is_argon2id_phc("not a hash"));
    }

    const SALT_AND_HASH: &str = "c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    fn phc(params: &str) -> PasswordHash {
        PasswordHash::from_phc(format!("$argon2id$v=19${params}${SALT_AND_HASH}"))
    }

    #[test]
    fn costly_stored_hashes_are_refused_before_hashing() {
        let pw = Secret::new("hunter2");
        // Over the lane cap, the time cap and the memory cap (64 MiB + 8 KiB), one at a time.
        for params in ["m=19456,t=2,p=16", "m=64,t=100,p=1", "m=65544,t=1,p=1"] {
            let started = std::time::Instant::now();
            let result = verify_password(&pw, &phc(params));
            assert!(matches!(result, Err(Error::Crypto(CryptoFailure::PasswordHashTooCostly))), "{params}: {result:?}");
            assert!(started.elapsed() < std::time::Duration::from_millis(200), "{params}: refused before hashing");
            assert!(!is_argon2id_phc(phc(params).as_phc()), "{params}: not storable either");
        }
        // At the caps' edges (and our own defaults) the hash is verified.
        assert!(!verify_password(&pw, &phc("m=64,t=2,p=8")).unwrap());
    }
}
