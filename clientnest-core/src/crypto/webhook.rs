//! Webhook signatures: HMAC-SHA256 in a `t=<unix seconds>,v1=<hex>` header, with a
//! tolerance cap and a replay guard.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{CryptoFailure, Error, Result};
use crate::ports::TempStore;
use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// SHA-256 block size, the HMAC key block length.
const HMAC_BLOCK_LEN: usize = 64;
/// Longest signature header accepted by [`verify_webhook`].
const MAX_WEBHOOK_HEADER_LEN: usize = 4096;

/// Shortest webhook signing secret, in bytes (HMAC-SHA256 wants a key of at least its 32-byte
/// output; [`generate_webhook_secret`] draws 32 random bytes). Shorter secrets are refused when
/// a webhook is registered or rotated and when a signature is checked.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 32;

/// Largest tolerance [`verify_webhook`] accepts between a delivery's timestamp and now, in
/// seconds (10 minutes: twice the common 5-minute default, enough for clock skew and retries,
/// and it bounds how long the replay guard of [`verify_webhook_once`] keeps a signature).
pub const MAX_WEBHOOK_TOLERANCE_SECS: i64 = 600;

/// Prefix of the [`TempStore`] keys of the replay guard: `webhook-replay:<hex sha256 of the MAC>`.
const REPLAY_KEY_PREFIX: &str = "webhook-replay:";

/// HMAC-SHA256 keyed with `key`, without a fallible constructor.
///
/// This is the RFC 2104 key preparation: a key longer than the block is hashed first, then the
/// key is zero-padded to the block length, which gives exactly the same MAC as
/// `Hmac::new_from_slice(key)`.
fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    let mut block = Zeroizing::new([0u8; HMAC_BLOCK_LEN]);
    if key.len() > HMAC_BLOCK_LEN {
        let mut digest = <Sha256 as sha2::Digest>::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
        digest.as_mut_slice().zeroize();
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    <HmacSha256 as KeyInit>::new(hmac::digest::Key::<HmacSha256>::from_slice(block.as_slice()))
}

/// The MAC over `"<timestamp>." || payload`.
fn webhook_mac(secret: &Secret, timestamp: i64, payload: &[u8]) -> HmacSha256 {
    let mut mac = hmac_sha256(secret.expose().as_bytes());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// Lowercase hex of `bytes`.
fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Bytes of a hex string (either case), or `None` if it is not hex.
fn hex_decode(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes().chunks_exact(2).map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?)).collect()
}

/// A parsed `t=...,v1=...` header.
struct SignatureHeader {
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

/// Parse a signature header: comma-separated `key=value` items, exactly one `t` (unix
/// seconds), at least one `v1` (64 hex digits); other keys are ignored.
fn parse_signature_header(header: &str) -> Option<SignatureHeader> {
    if header.len() > MAX_WEBHOOK_HEADER_LEN {
        return None;
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (key, value) = item.split_once('=')?;
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return None;
                }
                timestamp = Some(value.trim().parse::<i64>().ok()?);
            }
            "v1" => {
                let signature = hex_decode(value.trim())?;
                if signature.len() != 32 {
                    return None;
                }
                signatures.push(signature);
            }
            _ => {}
        }
    }
    match timestamp {
        Some(timestamp) if !signatures.is_empty() => Some(SignatureHeader { timestamp, signatures }),
        _ => None,
    }
}

/// Sign a webhook delivery: returns the header value `t=<timestamp>,v1=<hex>` where the hex is
/// the lowercase HMAC-SHA256, keyed with the endpoint's secret, of `"<timestamp>." || payload`.
pub fn sign_webhook(secret: &Secret, timestamp: i64, payload: &[u8]) -> String {
    let tag = webhook_mac(secret, timestamp, payload).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex_encode(&tag))
}

/// Refuse a secret shorter than [`MIN_WEBHOOK_SECRET_LEN`] bytes (field `secret_key`, rule
/// `min_length`).
fn check_webhook_secret_len(secret: &Secret) -> Result<()> {
    if secret.len() < MIN_WEBHOOK_SECRET_LEN {
        return Err(Error::invalid(
            "secret_key",
            WEBHOOK_SECRET_RULE,
            format!("must be at least {MIN_WEBHOOK_SECRET_LEN} bytes long"),
        ));
    }
    Ok(())
}

/// The rule name of a webhook secret shorter than [`MIN_WEBHOOK_SECRET_LEN`] bytes.
pub const WEBHOOK_SECRET_RULE: &str = "min_length";

/// Check the caller's side of a verification: the secret's length and the tolerance.
fn check_verify_input(secret: &Secret, tolerance_secs: i64) -> Result<()> {
    check_webhook_secret_len(secret)?;
    if !(0..=MAX_WEBHOOK_TOLERANCE_SECS).contains(&tolerance_secs) {
        return Err(Error::invalid(
            "tolerance_secs",
            "range",
            format!("must be between 0 and {MAX_WEBHOOK_TOLERANCE_SECS} seconds"),
        ));
    }
    Ok(())
}

/// Verify a header and return the delivery's timestamp and the matching MAC.
fn verify_signature(
    secret: &Secret,
    header: &str,
    payload: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(i64, [u8; 32])> {
    check_verify_input(secret, tolerance_secs)?;
    let parsed = parse_signature_header(header).ok_or(Error::Crypto(CryptoFailure::MalformedSignatureHeader))?;
    let skew = (i128::from(now) - i128::from(parsed.timestamp)).abs();
    if skew > i128::from(tolerance_secs) {
        return Err(Error::Crypto(CryptoFailure::TimestampOutsideTolerance));
    }
    let mac = webhook_mac(secret, parsed.timestamp, payload);
    // Check every candidate (no early exit) so timing does not tell which one matched.
    let matched = parsed.signatures.iter().fold(false, |found, sig| mac.clone().verify_slice(sig).is_ok() | found);
    if matched {
        Ok((parsed.timestamp, mac.finalize().into_bytes().into()))
    } else {
        Err(Error::Crypto(CryptoFailure::SignatureMismatch))
    }
}

/// Verify a webhook signature header made by [`sign_webhook`].
///
/// The header may carry several `v1=` signatures (e.g. during a secret rotation); any one
/// matching is enough. Items with other keys are ignored. The timestamp must be within
/// `tolerance_secs` of `now` (both unix seconds) in either direction. Signatures are compared in
/// constant time. This check alone does not stop a replay inside the window: receivers use
/// [`verify_webhook_once`].
///
/// # Errors
///
/// [`Error::Validation`] when `tolerance_secs` is not within 0 to
/// [`MAX_WEBHOOK_TOLERANCE_SECS`] (field `tolerance_secs`, rule `range`) or the secret is
/// shorter than [`MIN_WEBHOOK_SECRET_LEN`] bytes (field `secret_key`, rule `min_length`);
/// [`Error::Crypto`] with [`CryptoFailure::MalformedSignatureHeader`],
/// [`CryptoFailure::TimestampOutsideTolerance`] or [`CryptoFailure::SignatureMismatch`].
pub fn verify_webhook(secret: &Secret, header: &str, payload: &[u8], now: i64, tolerance_secs: i64) -> Result<()> {
    verify_signature(secret, header, payload, now, tolerance_secs).map(|_| ())
}

/// [`verify_webhook`], then refuse a signature already accepted inside its window: the first
/// verification of a delivery records it in `store` with set-if-absent
/// ([`TempStore::put_temp_if_absent`]), so of two deliveries with the same signature, even
/// concurrent ones and across processes sharing the store, exactly one is accepted.
///
/// The record's key is `webhook-replay:<hex SHA-256 of the MAC>` (no secret, no payload) and
/// it lives until the delivery's timestamp leaves the window (`timestamp + tolerance_secs -
/// now + 1` seconds, at most `2 * tolerance_secs + 1`), after which the timestamp check
/// refuses the signature anyway. A header that fails verification records nothing.
///
/// # Errors
///
/// As [`verify_webhook`]; [`Error::Crypto`] with [`CryptoFailure::SignatureReplayed`] when the
/// signature was already accepted; the store's error (e.g. [`Error::Unavailable`]) when it
/// cannot record the signature, in which case the delivery must be refused (and retried by the
/// sender).
pub async fn verify_webhook_once<T: TempStore + ?Sized>(
    store: &T,
    secret: &Secret,
    header: &str,
    payload: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<()> {
    let (timestamp, mac) = verify_signature(secret, header, payload, now, tolerance_secs)?;
    let digest = <Sha256 as sha2::Digest>::digest(mac);
    let key = format!("{REPLAY_KEY_PREFIX}{}", hex_encode(&digest));
    // Inside the window, so 1 ..= 2 * tolerance + 1 seconds.
    let remaining = i128::from(timestamp) + i128::from(tolerance_secs) - i128::from(now) + 1;
    let ttl = chrono::Duration::seconds(
        i64::try_from(remaining.clamp(1, 2 * i128::from(MAX_WEBHOOK_TOLERANCE_SECS) + 1)).unwrap_or(1),
    );
    if store.put_temp_if_absent(&key, b"seen".to_vec(), ttl).await? {
        Ok(())
    } else {
        Err(Error::Crypto(CryptoFailure::SignatureReplayed))
    }
}

/// A fresh webhook secret: `whsec_` followed by 32 random bytes in unpadded base64url
/// (49 characters in all).
pub fn generate_webhook_secret() -> Secret {
    let mut bytes = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(bytes.as_mut_slice());
    let mut secret = String::with_capacity(6 + 43);
    secret.push_str("whsec_");
    URL_SAFE_NO_PAD.encode_string(bytes.as_slice(), &mut secret);
    Secret::new(secret)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crypto::testing::{crypto_msg, rule};
    use crate::model::{NewWebhook, Platform};

    const T: i64 = 1_700_000_000;

    #[test]
    fn hmac_key_preparation_matches_rfc_4231() {
        // RFC 4231 test case 2 (short key) and test case 6 (key longer than the block).
        let mut mac = hmac_sha256(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex_encode(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mut mac = hmac_sha256(&[0xaa; 131]);
        mac.update(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(
            hex_encode(&mac.finalize().into_bytes()),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        // And agrees with the crate's own key handling for every length around the block size.
        for len in [0, 1, 32, 63, 64, 65, 200] {
            let key = vec![0x5a; len];
            let mut ours = hmac_sha256(&key);
            let mut theirs = <HmacSha256 as Mac>::new_from_slice(&key).unwrap();
            ours.update(b"payload");
            theirs.update(b"payload");
            assert_eq!(ours.finalize().into_bytes(), theirs.finalize().into_bytes(), "{len}");
        }
    }

    #[test]
    fn webhook_sign_and_verify() {
        let secret = generate_webhook_secret();
        let payload = br#"{"event":"post.published","id":"42"}"#;
        let header = sign_webhook(&secret, T, payload);
        let (t, v1) = header.split_once(',').unwrap();
        assert_eq!(t, format!("t={T}"));
        let hex = v1.strip_prefix("v1=").unwrap();
        assert_eq!(hex.len(), 64);
        assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));

        verify_webhook(&secret, &header, payload, T, 300).unwrap();
        verify_webhook(&secret, &header, payload, T + 300, 300).unwrap();
        verify_webhook(&secret, &header, payload, T - 300, 300).unwrap();
        // Spaces, unknown schemes and several v1 entries (one of them right) are fine.
        let other = sign_webhook(&Secret::new("whsec_old_0123456789abcdefghijklmnopqr"), T, payload);
        let other_sig = other.split_once(",v1=").unwrap().1;
        let multi = format!("t={T}, v0=legacy, v1={other_sig}, {v1}");
        verify_webhook(&secret, &multi, payload, T, 300).unwrap();
        // Uppercase hex is accepted.
        verify_webhook(&secret, &format!("t={T},v1={}", hex.to_uppercase()), payload, T, 5).unwrap();
    }

    #[test]
    fn webhook_signature_is_deterministic_and_covers_timestamp() {
        let secret = Secret::new("whsec_test_0123456789abcdefghijklmnop");
        assert_eq!(sign_webhook(&secret, T, b"x"), sign_webhook(&secret, T, b"x"));
        let a = sign_webhook(&secret, T, b"x");
        let b = sign_webhook(&secret, T + 1, b"x");
        assert_ne!(a.split_once(',').unwrap().1, b.split_once(',').unwrap().1);
        // Moving the signature to another timestamp fails.
        let moved = format!("t={},{}", T + 1, a.split_once(',').unwrap().1);
        assert_eq!(crypto_msg(verify_webhook(&secret, &moved, b"x", T, 300)), CryptoFailure::SignatureMismatch);
    }

    #[test]
    fn webhook_tampered_payload_or_wrong_secret_fails() {
        let secret = Secret::new("whsec_test_0123456789abcdefghijklmnop");
        let header = sign_webhook(&secret, T, b"{\"amount\":1}");
        assert_eq!(
            crypto_msg(verify_webhook(&secret, &header, b"{\"amount\":9}", T, 300)),
            CryptoFailure::SignatureMismatch
        );
        assert_eq!(
            crypto_msg(verify_webhook(
                &Secret::new("whsec_other_0123456789abcdefghijklmno"),
                &header,
                b"{\"amount\":1}",
                T,
                300
            )),
            CryptoFailure::SignatureMismatch
        );
    }

    #[test]
    fn webhook_old_or_future_timestamp_fails() {
        let secret = Secret::new("whsec_test_0123456789abcdefghijklmnop");
        let header = sign_webhook(&secret, T, b"x");
        assert_eq!(
            crypto_msg(verify_webhook(&secret, &header, b"x", T + 301, 300)),
            CryptoFailure::TimestampOutsideTolerance
        );
        assert_eq!(
            crypto_msg(verify_webhook(&secret, &header, b"x", T - 301, 300)),
            CryptoFailure::TimestampOutsideTolerance
        );
        assert_eq!(rule(verify_webhook(&secret, &header, b"x", T, -1)), "range");
        // Extreme values do not overflow.
        let extreme = sign_webhook(&secret, i64::MIN, b"x");
        assert_eq!(
            crypto_msg(verify_webhook(&secret, &extreme, b"x", i64::MAX, MAX_WEBHOOK_TOLERANCE_SECS)),
            CryptoFailure::TimestampOutsideTolerance
        );
    }

    #[test]
    fn webhook_malformed_header_fails() {
        let secret = Secret::new("whsec_test_0123456789abcdefghijklmnop");
        let good = sign_webhook(&secret, T, b"x");
        let sig = good.split_once(",v1=").unwrap().1;
        let cases = [
            String::new(),
            "garbage".to_owned(),
            format!("v1={sig}"),
            format!("t={T}"),
            format!("t={T},v0={sig}"),
            format!("t=abc,v1={sig}"),
            format!("t={T},v1=zz{}", &sig[2..]),
            format!("t={T},v1={}", &sig[..62]),
            format!("t={T},v1={sig}00"),
            format!("t={T},t={T},v1={sig}"),
            format!("t={T},v1"),
            format!("t={T},v1={sig},{}", "x".repeat(MAX_WEBHOOK_HEADER_LEN)),
        ];
        for header in &cases {
            assert_eq!(
                crypto_msg(verify_webhook(&secret, header, b"x", T, 300)),
                CryptoFailure::MalformedSignatureHeader,
                "{header:?}"
            );
        }
    }

    #[test]
    fn webhook_secrets_are_random_and_fit_the_column() {
        let a = generate_webhook_secret();
        let b = generate_webhook_secret();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(a.len(), 49);
        assert!(a.len() < 100);
        assert!(a.expose()["whsec_".len()..].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(URL_SAFE_NO_PAD.decode(&a.expose()[6..]).unwrap().len(), 32);
    }

    #[test]
    fn hex_helpers() {
        assert_eq!(hex_encode(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex_decode("000fA5ff"), Some(vec![0x00, 0x0f, 0xa5, 0xff]));
        assert_eq!(hex_decode(""), Some(vec![]));
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_decode("gg"), None);
        assert_eq!(hex_decode("é0"), None);
    }

    #[test]
    fn short_webhook_secrets_are_refused() {
        let hook = |secret: &str| NewWebhook {
            platform: Platform::Facebook,
            event_type: "comment.created".to_owned(),
            endpoint_url: "https://hooks.example.com/in".to_owned(),
            secret_key: Secret::new(secret),
        };
        let short = "s".repeat(31);
        match hook(&short).check(crate::validate::HostPolicy::default()) {
            Err(Error::Validation(v)) => assert!(v.has("secret_key", WEBHOOK_SECRET_RULE), "{v}"),
            other => panic!("a 31-byte secret: {other:?}"),
        }
        hook(&"s".repeat(32)).check(crate::validate::HostPolicy::default()).unwrap();
        hook(generate_webhook_secret().expose()).check(crate::validate::HostPolicy::default()).unwrap();
        // A short secret cannot verify a delivery either.
        let header = sign_webhook(&Secret::new(short.clone()), T, b"x");
        assert!(matches!(verify_webhook(&Secret::new(short), &header, b"x", T, 300), Err(Error::Validation(_))));
    }

    #[test]
    fn webhook_tolerance_is_capped() {
        let secret = generate_webhook_secret();
        let header = sign_webhook(&secret, T, b"x");
        verify_webhook(&secret, &header, b"x", T, 600).unwrap();
        for tolerance in [601, 86_400, i64::MAX, -1] {
            let result = verify_webhook(&secret, &header, b"x", T, tolerance);
            assert!(matches!(result, Err(Error::Validation(_))), "{tolerance}: {result:?}");
        }
    }
}
