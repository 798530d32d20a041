//! HMAC-signed URLs for stores without a signature scheme of their own (local disk, memory):
//! the same [`presign`](super::MediaStore::presign) API as S3, and a verifier for the
//! application that serves them.

use std::fmt;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use url::Url;

use super::key::MediaKey;
use super::port::{PresignMethod, PresignedUrl, check_expiry};
use crate::error::{CryptoFailure, Error, Result};

const METHOD: &str = "cn-method";
const EXPIRES: &str = "cn-expires";
const SIGNATURE: &str = "cn-signature";

/// Signs and verifies URLs `{base}{key}?cn-method=GET&cn-expires=<unix>&cn-signature=<hex>`,
/// where the signature is HMAC-SHA256 over the method, the key and the expiry, under a key of
/// at least 32 bytes. The key never shows in `Debug`.
///
/// ```
/// use chrono::{Duration, Utc};
/// use clientnest_core::ids::{PostId, TeamId};
/// use clientnest_core::media::{MediaFormat, MediaKey, PresignMethod, UrlSigner};
///
/// let signer = UrlSigner::new("http://127.0.0.1:3000/media/".parse()?, [7u8; 32].to_vec())?;
/// let key = MediaKey::new(TeamId::new(), PostId::new(), MediaFormat::Png);
/// let now = Utc::now();
/// let signed = signer.sign(&key, PresignMethod::Get, Duration::minutes(5), now)?;
/// assert_eq!(signer.verify(PresignMethod::Get, &signed.url, now)?, key);
/// assert!(signer.verify(PresignMethod::Put, &signed.url, now).is_err());
/// assert!(signer.verify(PresignMethod::Get, &signed.url, now + Duration::minutes(6)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct UrlSigner {
    base: Url,
    key: zeroize::Zeroizing<Vec<u8>>,
}

impl fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlSigner").field("base", &self.base.as_str()).field("key", &"<redacted>").finish()
    }
}

impl UrlSigner {
    /// A signer for URLs under `base` (an absolute http(s) URL, made to end in `/`), keyed by
    /// at least 32 bytes (else `Validation`, rule `signing_key_too_short`).
    pub fn new(base: Url, key: Vec<u8>) -> Result<UrlSigner> {
        let key = zeroize::Zeroizing::new(key);
        if key.len() < 32 {
            return Err(Error::invalid("key", "signing_key_too_short", "a URL signing key has at least 32 bytes"));
        }
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::invalid("base", "http_url", "the base of signed URLs is an absolute http(s) URL"));
        }
        let mut base = base;
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(UrlSigner { base, key })
    }

    /// A signer under `base` with a fresh random key (for one process: memory stores, tests).
    pub fn random(base: Url) -> Result<UrlSigner> {
        let mut key = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        UrlSigner::new(base, key)
    }

    /// The base every signed URL starts with (ends in `/`).
    pub fn url_base(&self) -> Url {
        self.base.clone()
    }

    /// The unsigned address of `key`: `{base}{key}`.
    pub fn url(&self, key: &MediaKey) -> Url {
        // The key is ids, a fixed layout and a known extension: always a valid path suffix.
        self.base.join(key.as_str()).unwrap_or_else(|_| self.base.clone())
    }

    /// A URL granting `method` on `key` until `now + expires_in` (rounded up to a second).
    pub fn sign(
        &self,
        key: &MediaKey,
        method: PresignMethod,
        expires_in: Duration,
        now: DateTime<Utc>,
    ) -> Result<PresignedUrl> {
        check_expiry(expires_in)?;
        let expires = (now + expires_in).timestamp() + i64::from((now + expires_in).timestamp_subsec_nanos() > 0);
        let mut url = self.url(key);
        url.query_pairs_mut()
            .append_pair(METHOD, method.as_str())
            .append_pair(EXPIRES, &expires.to_string())
            .append_pair(SIGNATURE, &hex::encode(self.mac(method, key, expires)));
        let expires_at = Utc.timestamp_opt(expires, 0).single().unwrap_or(now + expires_in);
        Ok(PresignedUrl { url, method, expires_at })
    }

    /// The key `url` grants `method` on at `now`, when it was signed by this signer and has
    /// not expired. Errors are [`Error::Crypto`]: `MalformedPresignedUrl`, `SignatureMismatch`
    /// (another method, key, expiry or signing key) or `PresignedUrlExpired`.
    pub fn verify(&self, method: PresignMethod, url: &Url, now: DateTime<Utc>) -> Result<MediaKey> {
        let malformed = || Error::Crypto(CryptoFailure::MalformedPresignedUrl);
        let path = url.as_str().split(['?', '#']).next().unwrap_or_default();
        let key = path.strip_prefix(self.base.as_str()).ok_or_else(malformed)?;
        let key = MediaKey::parse(key).map_err(|_| malformed())?;
        let (mut m, mut e, mut s) = (None, None, None);
        for (name, value) in url.query_pairs() {
            let slot = match name.as_ref() {
                METHOD => &mut m,
                EXPIRES => &mut e,
                SIGNATURE => &mut s,
                _ => return Err(malformed()),
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(malformed());
            }
        }
        let (Some(m), Some(e), Some(s)) = (m, e, s) else { return Err(malformed()) };
        let expires: i64 = e.parse().map_err(|_| malformed())?;
        let given = hex::decode(s).map_err(|_| malformed())?;
        let expected = self.mac(method, &key, expires);
        if m != method.as_str() || !bool::from(expected.as_slice().ct_eq(&given)) {
            return Err(Error::Crypto(CryptoFailure::SignatureMismatch));
        }
        if now.timestamp() >= expires {
            return Err(Error::Crypto(CryptoFailure::PresignedUrlExpired));
        }
        Ok(key)
    }

    fn mac(&self, method: PresignMethod, key: &MediaKey, expires: i64) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(format!("v1\n{}\n{}\n{expires}", method.as_str(), key.as_str()).as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ids::{PostId, TeamId};
    use crate::media::MediaFormat;

    #[test]
    fn tampering_with_any_part_is_refused() {
        let signer = UrlSigner::new("https://cdn.example.com/m".parse().unwrap(), vec![1; 32]).unwrap();
        let key = MediaKey::new(TeamId::new(), PostId::new(), MediaFormat::Png);
        let now = Utc::now();
        let signed = signer.sign(&key, PresignMethod::Get, Duration::seconds(60), now).unwrap();
        assert!(signed.url.as_str().starts_with("https://cdn.example.com/m/teams/"));
        assert!(!format!("{signed:?}").contains("cn-signature"));
        let other = MediaKey::new(key.team(), key.post(), MediaFormat::Png);
        let swapped: Url = signed.url.as_str().replace(key.as_str(), other.as_str()).parse().unwrap();
        let crypto = |r: Result<MediaKey>| match r {
            Err(Error::Crypto(c)) => c,
            other => panic!("{other:?}"),
        };
        assert_eq!(crypto(signer.verify(PresignMethod::Get, &swapped, now)), CryptoFailure::SignatureMismatch);
        let mut extra = signed.url.clone();
        extra.query_pairs_mut().append_pair("cn-expires", "9999999999");
        assert_eq!(crypto(signer.verify(PresignMethod::Get, &extra, now)), CryptoFailure::MalformedPresignedUrl);
        let later: Url = signed.url.as_str().replace("cn-expires=", "cn-expires=1").parse().unwrap();
        assert_eq!(crypto(signer.verify(PresignMethod::Get, &later, now)), CryptoFailure::SignatureMismatch);
        let wrong_key = UrlSigner::new("https://cdn.example.com/m/".parse().unwrap(), vec![2; 32]).unwrap();
        assert_eq!(crypto(wrong_key.verify(PresignMethod::Get, &signed.url, now)), CryptoFailure::SignatureMismatch);
        assert_eq!(
            crypto(signer.verify(PresignMethod::Get, &signed.url, now + Duration::seconds(61))),
            CryptoFailure::PresignedUrlExpired
        );
        assert!(signer.sign(&key, PresignMethod::Get, Duration::days(8), now).is_err());
        assert!(UrlSigner::new("https://x.example/".parse().unwrap(), vec![1; 31]).is_err());
    }
}
