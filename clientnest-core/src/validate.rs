//! Validation in one place: every rule every backend applies before it stores anything.
//!
//! Field rules are declared with `validator` derives on the input types; the custom functions
//! here carry the seed's CHECKs and the limits storage imposes (no NUL bytes, the time range
//! PostgreSQL can store, numeric precision). [`Validate::validate`] results are turned into
//! [`ValidationErrors`] naming the field path and the rule.
//!
//! # Text classes
//!
//! * **One-line text** ([`one_line`], [`required_line`]): names, titles, display names.
//!   No control character (C0 `U+0000`-`U+001F` with CR, LF and tab, DEL `U+007F`, C1
//!   `U+0080`-`U+009F`: rule [`rule::CONTROL_CHAR`], NUL alone [`rule::NUL_BYTE`]) and no
//!   bidirectional embedding, override or isolate (`U+202A`-`U+202E`, `U+2066`-`U+2069`:
//!   [`rule::BIDI_CONTROL`]). The marks LRM, RLM and ALM stay allowed: right-to-left names
//!   need them and they reorder nothing beyond themselves.
//! * **Identifiers** ([`identifier`], [`required_identifier`]): platform ids, handles,
//!   scopes, subscription ids, model names, event types, categories. One-line, and no leading
//!   or trailing whitespace ([`rule::SURROUNDING_WHITESPACE`]).
//! * **Hashtags** ([`hashtag`]): one word ([`rule::HASHTAG_WORD`]).
//! * **Multi-line text** ([`no_nul`], [`required_text`]): post, comment, response, template
//!   and notification bodies, descriptions, prompts, alt text. Line breaks and tabs are kept.
//! * **Outbound URLs** ([`http_url`] plus a [`HostPolicy`]): webhook endpoints and avatars.
//! * **Session permissions** ([`permission`]): a small grammar.

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
    /// A required text is empty or only white space.
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
    /// A malformed keyset cursor: not a [`Cursor`](crate::page::Cursor) token, or a time outside
    /// 1900 to 9999.
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
    /// A media content hash that is not a SHA-256 digest as 64 lowercase hex characters; also
    /// the name of the PostgreSQL CHECK that guards `post_media.content_hash`.
    pub const CONTENT_HASH: &str = "chk_post_media_content_hash";
}

fn verr(code: &'static str, message: impl Into<Cow<'static, str>>) -> validator::ValidationError {
    validator::ValidationError::new(code).with_message(message.into())
}

/// No NUL bytes (PostgreSQL `text` rejects them).
pub fn no_nul(s: &str) -> Result<(), validator::ValidationError> {
    if s.contains('\0') { Err(verr(rule::NUL_BYTE, "must not contain NUL bytes")) } else { Ok(()) }
}

/// One-line text: no NUL ([`rule::NUL_BYTE`]), no other control character
/// ([`rule::CONTROL_CHAR`]: C0 with CR, LF and tab, DEL, C1) and no bidirectional embedding,
/// override or isolate ([`rule::BIDI_CONTROL`]: `U+202A`-`U+202E`, `U+2066`-`U+2069`).
/// May be empty.
pub fn one_line(s: &str) -> Result<(), validator::ValidationError> {
    no_nul(s)?;
    if s.chars().any(char::is_control) {
        return Err(verr(rule::CONTROL_CHAR, "must be one line, without control characters"));
    }
    if s.chars().any(is_bidi_control) {
        return Err(verr(rule::BIDI_CONTROL, "must not contain bidirectional control characters"));
    }
    Ok(())
}

/// A bidirectional embedding, override or isolate control (`U+202A`-`U+202E`,
/// `U+2066`-`U+2069`).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Non-blank ([`rule::REQUIRED`]) [`one_line`] text.
pub fn required_line(s: &str) -> Result<(), validator::ValidationError> {
    if s.trim().is_empty() {
        return Err(verr(rule::REQUIRED, "must not be blank"));
    }
    one_line(s)
}

/// An identifier: [`one_line`], and no leading or trailing whitespace
/// ([`rule::SURROUNDING_WHITESPACE`], any Unicode white space). May be empty.
pub fn identifier(s: &str) -> Result<(), validator::ValidationError> {
    one_line(s)?;
    if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Err(verr(rule::SURROUNDING_WHITESPACE, "must not start or end with whitespace"));
    }
    Ok(())
}

/// A non-blank ([`rule::REQUIRED`]) [`identifier`].
pub fn required_identifier(s: &str) -> Result<(), validator::ValidationError> {
    if s.trim().is_empty() {
        return Err(verr(rule::REQUIRED, "must not be blank"));
    }
    identifier(s)
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

/// A SHA-256 digest as 64 lowercase hex characters, as the `chk_post_media_content_hash`
/// CHECK states it (`^[0-9a-f]{64}$`).
pub fn sha256_hex(s: &str) -> Result<(), validator::ValidationError> {
    if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(verr(rule::CONTENT_HASH, "must be a SHA-256 digest as 64 lowercase hex characters"))
    }
}

/// An absolute `http` or `https` URL with a host, without NUL or whitespace.
pub fn http_url(s: &str) -> Result<(), validator::ValidationError> {
    let ok = s.len() <= 2048
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && (s.starts_with("https://") || s.starts_with("http://"))
        && validator::ValidateUrl::validate_url(&s);
    if ok { Ok(()) } else { Err(verr(rule::URL, "is not an absolute http(s) URL")) }
}

/// Which hosts an outbound URL (a webhook endpoint, an avatar) may name.
///
/// The default, [`HostPolicy::PublicOnly`], refuses ([`rule::PRIVATE_HOST`]) a URL whose host
/// is not a public address, however it is written. The host is read the way the WHATWG URL
/// standard (the `url` crate) reads it, so decimal (`2130706433`), hex (`0x7f000001`), octal
/// (`0177.0.0.1`) and short (`127.1`) IPv4, bracketed IPv6, percent-encoded names, upper case,
/// userinfo (`https://good@127.0.0.1/`) and a trailing dot all come to the address or name
/// they mean. Refused:
///
/// * IPv4: `0.0.0.0/8` (unspecified, "this network"), `10/8`, `172.16/12`, `192.168/16`
///   (RFC 1918), `100.64/10` (shared, CGNAT), `127/8` (loopback), `169.254/16` (link-local,
///   cloud metadata `169.254.169.254`), `192.0.0/24` (IETF protocol), `198.18/15`
///   (benchmarking), `224/4` (multicast), `240/4` (reserved, broadcast).
/// * IPv6: `::`, `::1`, `fe80::/10` (link-local), `fec0::/10` (site-local), `fc00::/7`
///   (unique local, metadata `fd00:ec2::254`), `ff00::/8` (multicast), `64:ff9b:1::/48`
///   (local NAT64); and any IPv4 address above embedded as IPv4-mapped (`::ffff:a.b.c.d`),
///   IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`).
/// * Names: `localhost` and `*.localhost`, the local-only suffixes `.local`, `.internal`,
///   `.localdomain` and `.home.arpa`, and single-label names (`http://intranet/`), which
///   resolve through local search domains.
///
/// Names are judged by their form only: a public name whose DNS points at a private address
/// must still be refused by whoever connects (resolve, then check the address).
///
/// Stores hold a policy (`MemoryStore::with_host_policy`, `PgStore::with_host_policy`);
/// tests and development that deliver to `http://localhost` opt in with
/// [`HostPolicy::AllowPrivate`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostPolicy {
    /// Only public hosts (the default, for production).
    #[default]
    PublicOnly,
    /// Any host, private and loopback ones included: an explicit opt-in for tests and
    /// development.
    AllowPrivate,
}

impl HostPolicy {
    /// Whether the policy lets `url` through: `true` for every URL under
    /// [`HostPolicy::AllowPrivate`], and for a URL that does not parse (that is
    /// [`http_url`]'s to refuse); otherwise whether its host is public.
    pub fn allows(self, url: &str) -> bool {
        match self {
            HostPolicy::AllowPrivate => true,
            HostPolicy::PublicOnly => match url::Url::parse(url) {
                Ok(u) => u.host().is_none_or(|h| host_is_public(&h)),
                Err(_) => true,
            },
        }
    }

    /// Add a [`rule::PRIVATE_HOST`] error on `field` when `url` is given, has no error on
    /// `field` yet, and names a host the policy refuses.
    pub fn ensure(self, checks: &mut Checks, field: &str, url: Option<&str>) {
        if let Some(url) = url
            && !checks.has_error(field)
            && !self.allows(url)
        {
            checks.push(FieldError::new(
                field,
                rule::PRIVATE_HOST,
                "must name a public host (not loopback, link-local, private or unspecified)",
            ));
        }
    }
}

/// Whether a parsed host is public under the rules of [`HostPolicy`].
fn host_is_public(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(a) => ipv4_is_public(*a),
        url::Host::Ipv6(a) => ipv6_is_public(*a),
        url::Host::Domain(d) => name_is_public(d),
    }
}

fn ipv4_is_public(a: std::net::Ipv4Addr) -> bool {
    let [o1, o2, o3, _] = a.octets();
    !(o1 == 0
        || o1 == 10
        || o1 == 127
        || (o1 == 100 && (64..128).contains(&o2))
        || (o1 == 169 && o2 == 254)
        || (o1 == 172 && (16..32).contains(&o2))
        || (o1 == 192 && o2 == 168)
        || (o1 == 192 && o2 == 0 && o3 == 0)
        || (o1 == 198 && (o2 == 18 || o2 == 19))
        || o1 >= 224)
}

fn ipv6_is_public(a: std::net::Ipv6Addr) -> bool {
    let s = a.segments();
    let embedded = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        std::net::Ipv4Addr::new(a, b, c, d)
    };
    if s[..5] == [0; 5] && (s[5] == 0 || s[5] == 0xffff) {
        // `::`, `::1`, IPv4-compatible `::a.b.c.d` and IPv4-mapped `::ffff:a.b.c.d`.
        return !a.is_unspecified() && !a.is_loopback() && ipv4_is_public(embedded(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return ipv4_is_public(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return ipv4_is_public(embedded(s[1], s[2]));
    }
    !((s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] & 0xff00) == 0xff00
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1))
}

fn name_is_public(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let local_suffix = ["localhost", "local", "internal", "localdomain", "home.arpa"]
        .iter()
        .any(|s| name == *s || name.ends_with(&format!(".{s}")));
    !name.is_empty() && name.contains('.') && !local_suffix
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

/// One hashtag word, with or without its leading `#`: one or more letters, combining marks,
/// digits, `_` or emoji (pictographs, skin-tone modifiers, regional-indicator flags, joined
/// with ZWJ or VS16), and nothing else: no whitespace, punctuation or second `#`.
static HASHTAG_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^#?[\p{L}\p{M}\p{N}_\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\x{200D}\x{FE0F}]+$",
    )
    .unwrap_or_else(|_| unreachable!("the hashtag pattern is a valid regex"))
});

/// One hashtag: non-blank ([`rule::REQUIRED`]), [`one_line`], at most 100 characters
/// ([`rule::MAX_LENGTH`]), and one word with or without its `#` ([`rule::HASHTAG_WORD`]:
/// letters, marks, digits, `_` and emoji; no whitespace or punctuation inside).
pub fn hashtag(t: &str) -> Result<(), validator::ValidationError> {
    if t.trim().is_empty() {
        return Err(verr(rule::REQUIRED, "must not be blank"));
    }
    one_line(t)?;
    if t.chars().count() > 100 {
        return Err(verr(rule::MAX_LENGTH, "each hashtag is at most 100 characters"));
    }
    if !HASHTAG_RE.is_match(t) {
        return Err(verr(
            rule::HASHTAG_WORD,
            "each hashtag is one word (letters, digits, _ or emoji), with or without #",
        ));
    }
    Ok(())
}

/// A list of hashtags, each a [`hashtag`].
pub fn hashtags(tags: &[String]) -> Result<(), validator::ValidationError> {
    tags.iter().try_for_each(|t| hashtag(t))
}

/// A list of [`required_identifier`]s (granted OAuth scopes).
pub fn identifiers(list: &[String]) -> Result<(), validator::ValidationError> {
    list.iter().try_for_each(|s| required_identifier(s))
}

/// The longest session permission, in bytes.
pub const MAX_PERMISSION_LEN: usize = 100;
/// The most segments a session permission has.
pub const MAX_PERMISSION_SEGMENTS: usize = 4;
/// The most permissions a session holds.
pub const MAX_PERMISSIONS: usize = 200;

/// A session permission ([`rule::PERMISSION_GRAMMAR`]):
///
/// ```text
/// permission = segment *3( ":" segment )      ; 1 to 4 segments, at most 100 bytes
/// segment    = lower *( lower / digit / "_" )  ; lower = a-z, digit = 0-9
/// ```
///
/// e.g. `posts:write`, `analytics:view`, `team:settings:billing:edit`, `admin`. Wildcards,
/// upper case, spaces, other punctuation and non-ASCII are refused, so a permission never
/// needs escaping and compares byte for byte.
pub fn permission(p: &str) -> Result<(), validator::ValidationError> {
    let segment_ok = |s: &str| {
        let mut b = s.bytes();
        b.next().is_some_and(|c| c.is_ascii_lowercase())
            && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    };
    let segments = p.split(':').count();
    if p.len() <= MAX_PERMISSION_LEN && segments <= MAX_PERMISSION_SEGMENTS && p.split(':').all(segment_ok) {
        Ok(())
    } else {
        Err(verr(
            rule::PERMISSION_GRAMMAR,
            "each permission is 1 to 4 `:`-separated segments of a-z, 0-9 and _ (starting with a letter), at most 100 bytes",
        ))
    }
}

/// A session's permissions: at most [`MAX_PERMISSIONS`] ([`rule::RANGE`]), each a
/// [`permission`]. Duplicates are kept as given.
pub fn permissions(list: &[String]) -> Result<(), validator::ValidationError> {
    if list.len() > MAX_PERMISSIONS {
        return Err(verr(rule::RANGE, "at most 200 permissions"));
    }
    list.iter().try_for_each(|p| permission(p))
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
        CONTENT_HASH,
    ]
    .into_iter()
    .find(|r| *r == code)
    .unwrap_or(FORMAT)
}

/// Turn one check's result into [`Error::Validation`] on `field`, keeping its rule name.
pub fn on_field(field: &str, result: Result<(), validator::ValidationError>) -> Result<(), Error> {
    result.map_err(|e| Error::Validation(ValidationErrors(vec![field_error(field, &e)])))
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

    /// Whether an error on `field` was already recorded.
    pub fn has_error(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    /// Add an error as it is (field, rule and message unchanged).
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
    fn content_hash_is_lowercase_sha256_hex() {
        let ok = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(sha256_hex(ok).is_ok());
        for bad in
            [&ok[1..], &ok.to_uppercase(), &format!("{ok}0"), &format!("{}g", &ok[1..]), "", &format!("{}\n", &ok[1..])]
        {
            let e = sha256_hex(bad).expect_err(bad);
            assert_eq!(e.code, rule::CONTENT_HASH);
        }
        assert_eq!(known_rule(rule::CONTENT_HASH), rule::CONTENT_HASH);
    }

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

    fn rule_of(r: Result<(), validator::ValidationError>) -> Option<String> {
        r.err().map(|e| e.code.to_string())
    }

    #[test]
    fn one_line_text_refuses_controls_and_bidi() {
        for ok in ["", "Eve", " Mary Ann ", "O'Brien \\ $1", "שלום\u{200F}", "e\u{301}", "😀"] {
            assert_eq!(rule_of(one_line(ok)), None, "{ok:?}");
        }
        for (bad, want) in [
            ("a\0b", rule::NUL_BYTE),
            ("a\nb", rule::CONTROL_CHAR),
            ("a\rb", rule::CONTROL_CHAR),
            ("a\tb", rule::CONTROL_CHAR),
            ("\u{1}", rule::CONTROL_CHAR),
            ("\u{1f}", rule::CONTROL_CHAR),
            ("\u{7f}", rule::CONTROL_CHAR),
            ("\u{80}", rule::CONTROL_CHAR),
            ("\u{9f}", rule::CONTROL_CHAR),
            ("\u{202A}", rule::BIDI_CONTROL),
            ("\u{202E}", rule::BIDI_CONTROL),
            ("\u{2066}", rule::BIDI_CONTROL),
            ("\u{2069}", rule::BIDI_CONTROL),
        ] {
            assert_eq!(rule_of(one_line(bad)).as_deref(), Some(want), "{bad:?}");
        }
        assert_eq!(rule_of(one_line("\u{a0}\u{2029}")), None, "no-break and paragraph separators are not controls");
        assert_eq!(rule_of(required_line(" ")).as_deref(), Some(rule::REQUIRED));
    }

    #[test]
    fn identifiers_refuse_surrounding_whitespace() {
        assert_eq!(rule_of(identifier("page-1")), None);
        assert_eq!(rule_of(identifier("a b")), None, "inner spaces are data");
        assert_eq!(rule_of(identifier("")), None);
        for bad in [" a", "a ", "\u{a0}a", "a\u{3000}", "a\u{2028}"] {
            assert_eq!(rule_of(identifier(bad)).as_deref(), Some(rule::SURROUNDING_WHITESPACE), "{bad:?}");
        }
        assert_eq!(rule_of(identifier("a\n")).as_deref(), Some(rule::CONTROL_CHAR), "a control is reported first");
        assert_eq!(rule_of(required_identifier("")).as_deref(), Some(rule::REQUIRED));
    }

    #[test]
    fn multi_line_text_keeps_line_breaks() {
        let text = "one\r\ntwo\n\tthree\r";
        assert!(required_text(text).is_ok());
        assert!(no_nul(text).is_ok());
        assert_eq!(rule_of(one_line(text)).as_deref(), Some(rule::CONTROL_CHAR), "but not in one-line fields");
    }

    #[test]
    fn a_hashtag_is_one_word() {
        for ok in [
            "#rust",
            "rust_lang",
            "#日本語",
            "café",
            "e\u{301}",
            "2026",
            "#😀",
            "👩\u{200d}👩\u{200d}👧",
            "🇫🇷",
            "❤\u{fe0f}",
        ] {
            assert_eq!(rule_of(hashtag(ok)), None, "{ok:?}");
        }
        for bad in ["#", "##a", "#a#b", "a b", "a,b", "a-b", "a.b", "a'b", "#a!", "a\u{3000}b", " a"] {
            assert_eq!(rule_of(hashtag(bad)).as_deref(), Some(rule::HASHTAG_WORD), "{bad:?}");
        }
        assert_eq!(rule_of(hashtag("")).as_deref(), Some(rule::REQUIRED));
        assert_eq!(rule_of(hashtag("a\nb")).as_deref(), Some(rule::CONTROL_CHAR));
        assert_eq!(rule_of(hashtag("a\u{202e}b")).as_deref(), Some(rule::BIDI_CONTROL));
        assert_eq!(rule_of(hashtag(&"a".repeat(101))).as_deref(), Some(rule::MAX_LENGTH));
    }

    #[test]
    fn private_hosts_are_refused_in_every_notation() {
        let private = [
            "http://localhost/",
            "http://LocalHost./",
            "http://a.b.localhost/",
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.0.0.1./",
            "http://0/",
            "http://[::]/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::127.0.0.1]/",
            "http://169.254.169.254/",
            "http://[fd00:ec2::254]/",
            "http://[fe80::abcd]/",
            "http://[fec0::1]/",
            "http://[ff02::1]/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://172.31.255.255/",
            "http://192.168.0.1/",
            "http://100.64.0.1/",
            "http://100.127.255.255/",
            "http://192.0.0.192/",
            "http://198.18.0.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[64:ff9b::a00:1]/",
            "http://[64:ff9b:1::1]/",
            "http://[2002:a9fe:a9fe::]/",
            "http://x@127.0.0.1:80/",
            "http://%31%32%37.0.0.1/",
            "http://service.internal/",
            "http://nas.local/",
            "http://router.home.arpa/",
            "http://box.localdomain/",
            "http://metadata/",
        ];
        for url in private {
            assert!(http_url(url).is_ok(), "{url} is a URL");
            assert!(!HostPolicy::PublicOnly.allows(url), "{url} must be refused by default");
            assert!(HostPolicy::AllowPrivate.allows(url), "{url} is allowed after opting in");
        }
        let public = [
            "https://hooks.example.com/in",
            "https://hooks.example.com./in",
            "https://localhost.example.com/",
            "https://93.184.216.34/",
            "http://1572395042/",
            "https://[2606:4700:4700::1111]/",
            "https://[::ffff:93.184.216.34]/",
            "https://[2002:5db8:d822::]/",
            "https://172.15.255.255/",
            "https://172.32.0.1/",
            "https://100.63.255.255/",
            "https://100.128.0.1/",
            "https://169.253.1.1/",
            "https://192.167.1.1/",
        ];
        for url in public {
            assert!(HostPolicy::PublicOnly.allows(url), "{url} is public");
        }
        assert_eq!(HostPolicy::default(), HostPolicy::PublicOnly);
    }

    #[test]
    fn host_errors_name_the_field_and_rule_once() {
        let mut c = Checks::default();
        HostPolicy::PublicOnly.ensure(&mut c, "endpoint_url", Some("http://[::1]/"));
        HostPolicy::PublicOnly.ensure(&mut c, "endpoint_url", Some("http://[::1]/"));
        HostPolicy::PublicOnly.ensure(&mut c, "avatar_url", None);
        HostPolicy::AllowPrivate.ensure(&mut c, "other", Some("http://[::1]/"));
        match c.finish() {
            Err(Error::Validation(v)) => {
                assert!(v.has("endpoint_url", rule::PRIVATE_HOST));
                assert_eq!(v.0.len(), 1, "one error, on the one refused field: {v:?}");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn permissions_follow_the_grammar() {
        for ok in ["a", "posts:write", "team:settings:billing:edit", "x9_y:z_1"] {
            assert_eq!(rule_of(permission(ok)), None, "{ok:?}");
        }
        let longest = format!("{}:{}", "a".repeat(50), "b".repeat(49));
        assert_eq!(rule_of(permission(&longest)), None, "100 bytes");
        assert_eq!(rule_of(permission(&format!("{longest}b"))).as_deref(), Some(rule::PERMISSION_GRAMMAR));
        for bad in [
            "",
            ":",
            "posts:",
            ":write",
            "a::b",
            "a:b:c:d:e",
            "Posts",
            "posts:*",
            "*",
            "1a",
            "_a",
            "a-b",
            "a.b",
            "a b",
            " a",
            "a\n",
            "é",
            "{a}",
            "a|b",
            "a\0",
        ] {
            assert_eq!(rule_of(permission(bad)).as_deref(), Some(rule::PERMISSION_GRAMMAR), "{bad:?}");
        }
        assert!(permissions(&vec!["a".to_owned(); 200]).is_ok());
        assert_eq!(rule_of(permissions(&vec!["a".to_owned(); 201])).as_deref(), Some(rule::RANGE));
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
