//! Secret wrappers: values that never show in `Debug`, `Display` or logs.

use std::fmt;

use zeroize::Zeroize;

/// A secret string (OAuth token, webhook secret, plaintext password, session token).
///
/// `Debug` and `Display` print `[redacted]`; the memory is wiped on drop; equality runs in
/// constant time. Read it with [`Secret::expose`], only where it is needed.
///
/// ```
/// use clientnest_core::secret::Secret;
/// let token = Secret::new("ya29.a0Af");
/// assert_eq!(format!("{token:?}"), "Secret([redacted])");
/// assert_eq!(token.expose(), "ya29.a0Af");
/// ```
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value; from then on `Debug` shows `Secret([redacted])`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Keep the borrow short.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes (safe to show).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// An argon2id password hash in PHC string form.
///
/// Not a secret in the sense of a token (it is what is stored), but it never leaves the
/// process: `Debug` and `Serialize` write `[redacted]` (serde is there only for validation
/// reports), it does not deserialize, and
/// [`User`](crate::model::User) skips it when serialized, so neither a cached `user:{id}`
/// entry nor a `Json(user)` response carries it. A user read back from such a form holds the
/// [absent](PasswordHash::is_absent) hash, which verifies nothing: passwords are always
/// checked against the user read from the repository.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wrap a stored PHC string as read from storage. Use
    /// [`hash_password`](crate::crypto::hash_password) to make a new one.
    pub fn from_phc(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string, for storage.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// The hash of a user that came from a hash-free form (a cache entry, JSON): empty, and
    /// [`verify_password`](crate::crypto::verify_password) refuses it as malformed.
    pub fn absent() -> Self {
        Self(String::new())
    }

    /// Whether this is the [absent](PasswordHash::absent) hash (no PHC string at all).
    pub fn is_absent(&self) -> bool {
        self.0.is_empty()
    }
}

/// Serializes as `"[redacted]"`, never as the PHC string.
impl serde::Serialize for PasswordHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("[redacted]")
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}
