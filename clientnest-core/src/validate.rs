//! Validation in one place: every rule every backend applies before it stores anything.
//!
//! Field rules are declared with `validator` derives on the input types; the custom functions
//! here carry the seed's CHECKs and the limits storage imposes (no NUL bytes, the time range
//! PostgreSQL can store, numeric precision). [`Validate::validate`] results are turned into
//! [`ValidationErrors`] naming the field path and the rule.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Utc};
use regex::Regex;
use rust_decimal::Decimal;

use crate::error::{Error, FieldError, ValidationErrors};

pub use validator::Validate;

/// The seed's `chk_users_email_format` pattern, matched case-insensitively as `~*` does.
pub const EMAIL_PATTERN: &str = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$";

static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    regex::RegexBuilder::new(EMAIL_PATTERN)
        .case_insensitive(true)
        .build()
        .unwrap_or_else(|_| unreachable!("the email pattern is a valid regex"))
});

/// Rule names used in [`FieldError::rule`].
pub mod rule {
    /// A text longer than its column allows.
    pub const MAX_LENGTH: &str = "max_length";
    /// A required text is empty.
    pub const REQUIRED: &str = "required";
    /// Not an absolute http(s) URL.
    pub const URL: &str = "url";
    /// Not an IANA time zone name.
    pub const TIMEZONE: &str = "timezone";
    /// Not an ISO 4217 currency code.
    pub const CURRENCY: &str = "currency";
    /// A NUL byte, which PostgreSQL text cannot hold.
    pub const NUL_BYTE: &str = "nul_byte";
    /// A time outside 1900-01-01 ..= 9999-12-31.
    pub const TIME_RANGE: &str = "time_range";
    /// A number outside its allowed range.
    pub const RANGE: &str = "range";
    /// A decimal with more digits than its column.
    pub const PRECISION: &str = "precision";
    /// The seed's email CHECK.
    pub const EMAIL: &str = "chk_users_email_format";
    /// The seed's `tokens_used > 0` CHECK.
    pub const TOKENS_POSITIVE: &str = "chk_ai_usage_tokens_positive";
    /// The seed's `cost >= 0` CHECK.
    pub const COST_NON_NEGATIVE: &str = "chk_ai_usage_cost_positive";
    /// The seed's `scheduled_time > created_at` CHECK.
    pub const SCHEDULE_FUTURE: &str = "chk_schedules_future_time";
    /// `period_end > period_start` on billing.
    pub const BILLING_PERIOD: &str = "chk_billing_period";
    /// Text longer than the target platform allows.
    pub const PLATFORM_TEXT: &str = "platform_text_length";
    /// Media count outside what the target platform allows.
    pub const PLATFORM_MEDIA: &str = "platform_media_count";
    /// Media kind the target platform does not take.
    pub const PLATFORM_MEDIA_KIND: &str = "platform_media_kind";
    /// An argon2id PHC string was expected.
    pub const PASSWORD_HASH: &str = "password_hash";
    /// A malformed keyset cursor.
    pub const CURSOR: &str = "cursor";
    /// A key, name or id that is not allowed.
    pub const FORMAT: &str = "format";
    /// Two fields that must agree do not.
    pub const MISMATCH: &str = "mismatch";
    /// A one-line field holds a control character: C0 (U+0000-U+001F, CR, LF and tab
    /// included), DEL (U+007F) or C1 (U+0080-U+009F). NUL alone is reported as [`NUL_BYTE`].
    pub const CONTROL_CHAR: &str = "control_char";
    /// A one-line field holds a Unicode bidirectional embedding, override or isolate control
    /// (U+202A-U+202E, U+2066-U+2069), which can make displayed text differ from stored text.
    pub const BIDI_CONTROL: &str = "bidi_control";
    /// An identifier starts or ends with whitespace.
    pub const SURROUNDING_WHITESPACE: &str = "surrounding_whitespace";
    /// A hashtag that is not one word: an optional leading `#`, then letters, marks, digits,
    /// `_` and emoji only.
    pub const HASHTAG_WORD: &str = "hashtag_word";
    /// A URL whose host is not public (loopback, link-local, private, shared/CGNAT,
    /// unspecified, multicast, reserved, or a local-only name) while the [`HostPolicy`]
    /// refuses them.
    ///
    /// [`HostPolicy`]: super::HostPolicy
    pub const PRIVATE_HOST: &str = "private_host";
    /// A session permission outside the grammar of [`permission`](super::permission).
    pub const PERMISSION_GRAMMAR: &str = "permission_grammar";
}

fn verr(code: &'static str, message: impl Into<Cow<'static, str>>) -> validator::ValidationError {
    validator::ValidationError::new(code).with_message(message.into())
}

/// No NUL bytes (PostgreSQL `text` rejects them).
pub fn no_nul(s: &str) -> Result<(), validator::ValidationError> {
    if s.contains('\0') { Err(verr(rule::NUL_BYTE, "must not contain NUL bytes")) } else { Ok(()) }
}

/// A required, non-blank text without NUL bytes.
pub fn required_text(s: &str) -> Result<(), validator::ValidationError> {
    if s.trim().is_empty() {
        return Err(verr(rule::REQUIRED, "must not be blank"));
    }
    no_nul(s)
}

/// The seed's email format, as the `chk_users_email_format` CHECK states it.
pub fn email(s: &str) -> Result<(), validator::ValidationError> {
    if EMAIL_RE.is_match(s) { Ok(()) } else { Err(verr(rule::EMAIL, "is not an email address")) }
}

/// An absolute `http` or `https` URL with a host, without NUL or whitespace.
pub fn http_url(s: &str) -> Result<(), validator::ValidationError> {
    let ok = s.len() <= 2048
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && (s.starts_with("https://") || s.starts_with("http://"))
        && validator::ValidateUrl::validate_url(&s);
    if ok { Ok(()) } else { Err(verr(rule::URL, "is not an absolute http(s) URL")) }
}

/// An IANA time zone name known to the tz database (`Europe/Paris`, `UTC`).
pub fn timezone(s: &str) -> Result<(), validator::ValidationError> {
    if s.parse::<chrono_tz::Tz>().is_ok() { Ok(()) } else { Err(verr(rule::TIMEZONE, "is not an IANA time zone name")) }
}

/// An ISO 4217 currency code, upper case (`USD`, `EUR`).
pub fn currency(s: &str) -> Result<(), validator::ValidationError> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) && iso_currency::Currency::from_code(s).is_some() {
        Ok(())
    } else {
        Err(verr(rule::CURRENCY, "is not an ISO 4217 currency code"))
    }
}

/// A time every backend can store: from 1900-01-01 through 9999-12-31 UTC.
pub fn storable_time(t: &DateTime<Utc>) -> Result<(), validator::ValidationError> {
    if (1900..=9999).contains(&t.year()) {
        Ok(())
    } else {
        Err(verr(rule::TIME_RANGE, "must be between the years 1900 and 9999"))
    }
}

/// JSON whose strings and keys hold no NUL (PostgreSQL `jsonb` rejects `\u0000`).
pub fn json(v: &serde_json::Value) -> Result<(), validator::ValidationError> {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => !s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().all(walk),
            serde_json::Value::Object(o) => o.iter().all(|(k, v)| !k.contains('\0') && walk(v)),
            _ => true,
        }
    }
    if walk(v) { Ok(()) } else { Err(verr(rule::NUL_BYTE, "JSON must not contain NUL characters")) }
}

/// A list of hashtags: each non-blank, at most 100 characters, no NUL.
pub fn hashtags(tags: &[String]) -> Result<(), validator::ValidationError> {
    for t in tags {
        required_text(t)?;
        if t.chars().count() > 100 {
            return Err(verr(rule::MAX_LENGTH, "each hashtag is at most 100 characters"));
        }
    }
    Ok(())
}

/// An argon2id PHC string (what [`hash_password`](crate::crypto::hash_password) makes).
pub fn password_hash(h: &crate::secret::PasswordHash) -> Result<(), validator::ValidationError> {
    if crate::crypto::is_argon2id_phc(h.as_phc()) {
        Ok(())
    } else {
        Err(verr(rule::PASSWORD_HASH, "must be an argon2id PHC string"))
    }
}

/// A decimal that fits `numeric(precision, scale)` exactly, without rounding.
pub(crate) fn decimal_fits(d: &Decimal, precision: u32, scale: u32) -> bool {
    if d.scale() > scale {
        let n = d.normalize();
        if n.scale() > scale {
            return false;
        }
    }
    let limit = Decimal::from(10u64.pow(precision - scale));
    d.abs() < limit
}

/// `numeric(10, 4)` and `>= 0`: the AI usage cost (`chk_ai_usage_cost_positive`).
pub fn ai_cost(d: &Decimal) -> Result<(), validator::ValidationError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(verr(rule::COST_NON_NEGATIVE, "must be zero or more"));
    }
    if decimal_fits(d, 10, 4) {
        Ok(())
    } else {
        Err(verr(rule::PRECISION, "must fit numeric(10,4): under 1,000,000 with at most 4 decimals"))
    }
}

/// `numeric(10, 2)` and `>= 0`: a billing amount.
pub fn money_amount(d: &Decimal) -> Result<(), validator::ValidationError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(verr(rule::RANGE, "must be zero or more"));
    }
    if decimal_fits(d, 10, 2) {
        Ok(())
    } else {
        Err(verr(rule::PRECISION, "must fit numeric(10,2): under 100,000,000 with at most 2 decimals"))
    }
}

/// Convert the `validator` crate's errors into ours, with dotted/indexed field paths.
pub fn convert(errors: &validator::ValidationErrors) -> ValidationErrors {
    let mut out = Vec::new();
    collect("", errors, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    ValidationErrors(out)
}

fn collect(prefix: &str, errors: &validator::ValidationErrors, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind as K;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            K::Field(list) => {
                for e in list {
                    out.push(field_error(&path, e));
                }
            }
            K::Struct(inner) => collect(&path, inner, out),
            K::List(items) => {
                for (i, inner) in items {
                    collect(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

fn field_error(path: &str, e: &validator::ValidationError) -> FieldError {
    let rule: &'static str = match e.code.as_ref() {
        "length" => rule::MAX_LENGTH,
        "range" => rule::RANGE,
        "url" => rule::URL,
        other => known_rule(other),
    };
    let message = e.message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| match rule {
        r if r == rule::MAX_LENGTH => match e.params.get("max") {
            Some(max) => format!("must be at most {max} characters"),
            None => "has the wrong length".to_owned(),
        },
        r if r == rule::RANGE => "is out of range".to_owned(),
        _ => "is invalid".to_owned(),
    });
    FieldError::new(path, rule, message)
}

fn known_rule(code: &str) -> &'static str {
    use rule::*;
    [
        MAX_LENGTH,
        REQUIRED,
        URL,
        TIMEZONE,
        CURRENCY,
        NUL_BYTE,
        TIME_RANGE,
        RANGE,
        PRECISION,
        EMAIL,
        TOKENS_POSITIVE,
        COST_NON_NEGATIVE,
        SCHEDULE_FUTURE,
        BILLING_PERIOD,
        PLATFORM_TEXT,
        PLATFORM_MEDIA,
        PLATFORM_MEDIA_KIND,
        PASSWORD_HASH,
        CURSOR,
        FORMAT,
        MISMATCH,
        CONTROL_CHAR,
        BIDI_CONTROL,
        SURROUNDING_WHITESPACE,
        HASHTAG_WORD,
        PRIVATE_HOST,
        PERMISSION_GRAMMAR,
    ]
    .into_iter()
    .find(|r| *r == code)
    .unwrap_or(FORMAT)
}

/// Run an input's derived rules and turn failures into [`Error::Validation`].
pub fn check<T: Validate>(input: &T) -> Result<(), Error> {
    input.validate().map_err(|e| Error::Validation(convert(&e)))
}

/// Accumulates errors from checks that need context (the clock, another record).
#[derive(Debug, Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// Start from an input's derived rules.
    pub fn of<T: Validate>(input: &T) -> Self {
        match input.validate() {
            Ok(()) => Self::default(),
            Err(e) => Self(convert(&e).0),
        }
    }

    /// Add an error when `ok` is false.
    pub fn ensure(&mut self, ok: bool, field: &str, rule: &'static str, message: &str) -> &mut Self {
        if !ok {
            self.0.push(FieldError::new(field, rule, message));
        }
        self
    }

    /// Add an error.
    pub fn push(&mut self, e: FieldError) -> &mut Self {
        self.0.push(e);
        self
    }

    /// Ok when nothing failed, else [`Error::Validation`].
    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            let mut v = self.0;
            v.sort_by(|a, b| a.field.cmp(&b.field));
            Err(Error::Validation(ValidationErrors(v)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_follows_the_seed_check() {
        assert!(email("a.b+c@example.co").is_ok());
        assert!(email("A@EXAMPLE.COM").is_ok());
        assert!(email("no-at.example.com").is_err());
        assert!(email("a@b.c").is_err());
        assert!(email("a b@example.com").is_err());
    }

    #[test]
    fn decimals_must_fit_without_rounding() {
        assert!(ai_cost(&Decimal::new(12345, 4)).is_ok());
        assert!(ai_cost(&Decimal::new(12345, 5)).is_err());
        assert!(ai_cost(&Decimal::new(-1, 0)).is_err());
        assert!(ai_cost(&Decimal::new(9_999_999_999, 4)).is_ok());
        assert!(ai_cost(&Decimal::new(1_000_000, 0)).is_err());
        assert!(money_amount(&Decimal::new(150, 3)).is_ok(), "0.150 normalizes to 0.15");
    }

    #[test]
    fn zones_and_currencies() {
        assert!(timezone("Europe/Paris").is_ok());
        assert!(timezone("Mars/Olympus").is_err());
        assert!(currency("EUR").is_ok());
        assert!(currency("eur").is_err());
        assert!(currency("XYZ").is_err());
    }
}
