//! The list of hostile cases.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::model::*;
use crate::page::Cursor;
use crate::secret::Secret;
use crate::validate::rule;

use super::fixture::unique_email as fresh_email;
use super::{Case, Expect, Target};

/// The classic injection: closes a quote, drops `users`, comments out the rest.
const SQL_DROP: &str = "'; DROP TABLE users; --";
/// An always-true predicate.
const SQL_OR: &str = "\" OR 1=1 --";
/// Quotes, backslashes, placeholders, dollar quoting, LIKE wildcards, comments and escapes.
const QUOTES: &str = r#"O'Brien "the" `x` \ \\ \' \" $1 $$ $tag$ %_ \x00 E'\\' -- /* */ ; NULL \N"#;
/// A combining sequence: `e` and an acute accent, two characters.
const E_ACUTE: &str = "e\u{301}";

pub(super) fn exact(name: impl Into<String>, target: Target) -> Case {
    Case { name: name.into(), target, expect: Expect::Exact }
}

pub(super) fn rejected(name: impl Into<String>, target: Target, field: &'static str, rule: &'static str) -> Case {
    Case { name: name.into(), target, expect: Expect::Rejected { field, rule } }
}

fn not_found(name: impl Into<String>, target: Target) -> Case {
    Case { name: name.into(), target, expect: Expect::NotFound }
}

pub(super) fn user(f: impl Fn(&mut NewUser) + Send + Sync + 'static) -> Target {
    Target::User(Box::new(f))
}
pub(super) fn team(f: impl Fn(&mut NewTeam) + Send + Sync + 'static) -> Target {
    Target::Team(Box::new(f))
}
pub(super) fn account(f: impl Fn(&mut NewSocialAccount) + Send + Sync + 'static) -> Target {
    Target::Account(Box::new(f))
}
pub(super) fn post(f: impl Fn(&mut NewPost) + Send + Sync + 'static) -> Target {
    Target::Post(Box::new(f))
}
pub(super) fn import(f: impl Fn(&mut ImportedPost) + Send + Sync + 'static) -> Target {
    Target::Import(Box::new(f))
}
pub(super) fn comment(f: impl Fn(&mut NewComment) + Send + Sync + 'static) -> Target {
    Target::Comments(Box::new(f))
}
pub(super) fn template(f: impl Fn(&mut NewTemplate) + Send + Sync + 'static) -> Target {
    Target::Template(Box::new(f))
}
fn schedule(f: impl Fn(&mut NewSchedule) + Send + Sync + 'static) -> Target {
    Target::Schedule(Box::new(f))
}
pub(super) fn billing(f: impl Fn(&mut NewBilling) + Send + Sync + 'static) -> Target {
    Target::Billing(Box::new(f))
}
pub(super) fn usage(f: impl Fn(&mut NewAiUsage) + Send + Sync + 'static) -> Target {
    Target::AiUsage(Box::new(f))
}
pub(super) fn notification(f: impl Fn(&mut NewNotification) + Send + Sync + 'static) -> Target {
    Target::Notification(Box::new(f))
}
pub(super) fn webhook(f: impl Fn(&mut NewWebhook) + Send + Sync + 'static) -> Target {
    Target::Webhook(Box::new(f))
}

/// `n` times `s`.
pub(super) fn times(s: &str, n: usize) -> String {
    s.repeat(n)
}

/// One mebibyte of ASCII (`1 << 20` bytes of `x`).
fn megabyte() -> String {
    times("x", 1 << 20)
}

/// A valid UTC time; `None` only for impossible dates, which the cases never ask for.
fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The last storable instant, with nanoseconds the backends truncate to microseconds.
fn last_storable() -> DateTime<Utc> {
    utc(9999, 12, 31, 23, 59, 59) + Duration::nanoseconds(999_999_999)
}

/// A JSON document full of hostile but storable content.
fn hostile_json() -> serde_json::Value {
    serde_json::json!({
        "sql": SQL_DROP,
        "quotes": QUOTES,
        "escaped_nul_text": "\\u0000",
        "emoji": "😀👩‍👩‍👧",
        "combining": E_ACUTE,
        "nested": [{"$1": "\\"}, [], {}, null, true],
        "big": u64::MAX,
        "negative": i64::MIN,
        "small": -1.5e-7,
        "'; --": "key with quotes",
    })
}

/// Every hostile case, the hygiene cases included.
pub fn cases() -> Vec<Case> {
    [
        users(),
        teams_and_accounts(),
        posts(),
        media(),
        batches(),
        texts(),
        money(),
        times_cases(),
        lookups(),
        super::hygiene::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn users() -> Vec<Case> {
    vec![
        exact("first name is an SQL injection", user(|u| u.first_name = SQL_DROP.to_owned())),
        exact("last name is an always-true predicate", user(|u| u.last_name = SQL_OR.to_owned())),
        exact("first name is a placeholder", user(|u| u.first_name = "$1".to_owned())),
        exact("last name is a literal \\x00 escape", user(|u| u.last_name = "\\x00\\0\\".to_owned())),
        rejected(
            "first name holds a NUL byte",
            user(|u| u.first_name = "a\0b".to_owned()),
            "first_name",
            rule::NUL_BYTE,
        ),
        exact("first name is 50 emoji (the limit)", user(|u| u.first_name = times("😀", 50))),
        rejected("first name is 51 emoji", user(|u| u.first_name = times("😀", 51)), "first_name", rule::MAX_LENGTH),
        exact("last name is 50 combining characters (the limit)", user(|u| u.last_name = times(E_ACUTE, 25))),
        rejected(
            "last name is 51 combining characters",
            user(|u| u.last_name = times(E_ACUTE, 25) + "e"),
            "last_name",
            rule::MAX_LENGTH,
        ),
        rejected(
            "email is an SQL injection",
            user(|u| u.email = format!("{SQL_DROP}@example.com")),
            "email",
            rule::EMAIL,
        ),
        rejected("email is 1 MB", user(|u| u.email = megabyte() + "@example.com"), "email", rule::MAX_LENGTH),
        exact("email with LIKE wildcards", user(|u| u.email = format!("a_b%c+{}", fresh_email()))),
        rejected("zone on Mars", user(|u| u.timezone = "Mars/Olympus".to_owned()), "timezone", rule::TIMEZONE),
        rejected(
            "zone with an SQL tail",
            user(|u| u.timezone = "Europe/Paris'; --".to_owned()),
            "timezone",
            rule::TIMEZONE,
        ),
        rejected("zone is a path", user(|u| u.timezone = "../../etc/passwd".to_owned()), "timezone", rule::TIMEZONE),
        rejected("empty zone", user(|u| u.timezone = String::new()), "timezone", rule::TIMEZONE),
        exact("zone at the far east edge", user(|u| u.timezone = "Etc/GMT-14".to_owned())),
        exact("preferences full of hostile JSON", user(|u| u.preferences = hostile_json())),
        rejected(
            "preferences with \\u0000 in a value",
            user(|u| u.preferences = serde_json::json!({"k": "a\u{0}b"})),
            "preferences",
            rule::NUL_BYTE,
        ),
        rejected(
            "preferences with \\u0000 in a key",
            user(|u| u.preferences = serde_json::json!({"a\u{0}": 1})),
            "preferences",
            rule::NUL_BYTE,
        ),
        rejected(
            "avatar is a javascript: URL",
            user(|u| u.avatar_url = Some("javascript:alert(1)".to_owned())),
            "avatar_url",
            rule::URL,
        ),
        exact(
            "avatar URL with quotes and escapes",
            user(|u| u.avatar_url = Some("https://cdn.example.com/a'b?q=$1&x=%00#'--".to_owned())),
        ),
    ]
}

fn teams_and_accounts() -> Vec<Case> {
    vec![
        exact("team name is an SQL injection", team(|t| t.name = SQL_DROP.to_owned())),
        rejected("blank team name", team(|t| t.name = "   ".to_owned()), "name", rule::REQUIRED),
        rejected("team name is 101 emoji", team(|t| t.name = times("😀", 101)), "name", rule::MAX_LENGTH),
        rejected(
            "team settings with \\u0000",
            team(|t| t.settings = serde_json::json!(["\u{0}"])),
            "settings",
            rule::NUL_BYTE,
        ),
        exact("account handle is an SQL injection", account(|a| a.username = SQL_DROP.to_owned())),
        exact(
            "access token with quotes, backslashes and emoji",
            account(|a| a.access_token = Secret::new(QUOTES.to_owned() + "😀")),
        ),
        rejected(
            "access token with a NUL byte",
            account(|a| a.access_token = Secret::new("tok\0en")),
            "access_token",
            rule::NUL_BYTE,
        ),
        rejected(
            "access token of 8193 bytes",
            account(|a| a.access_token = Secret::new(times("t", 8193))),
            "access_token",
            rule::MAX_LENGTH,
        ),
        rejected("blank scope", account(|a| a.permissions = vec![String::new()]), "permissions", rule::REQUIRED),
    ]
}

fn posts() -> Vec<Case> {
    vec![
        exact("content with quotes and backslashes", post(|p| p.content = QUOTES.to_owned())),
        rejected("content of 1 MB", post(|p| p.content = megabyte()), "content", rule::MAX_LENGTH),
        exact("content of 100,000 emoji (the limit)", post(|p| p.content = times("🎉", 100_000))),
        rejected(
            "content of 100,001 characters",
            post(|p| p.content = times("x", 100_001)),
            "content",
            rule::MAX_LENGTH,
        ),
        rejected(
            "content with a NUL byte",
            post(|p| p.content = "before\0after".to_owned()),
            "content",
            rule::NUL_BYTE,
        ),
        exact("title of 200 combining characters (the limit)", post(|p| p.title = times(E_ACUTE, 100))),
        rejected("title of 201 characters", post(|p| p.title = times(E_ACUTE, 100) + "e"), "title", rule::MAX_LENGTH),
        exact(
            "hashtags: 100 emoji and 100 letters (the limit)",
            post(|p| p.hashtags = vec![times("😀", 100), times("a", 100)]),
        ),
        rejected(
            "hashtag is an SQL injection",
            post(|p| p.hashtags = vec![SQL_DROP.to_owned()]),
            "hashtags",
            rule::HASHTAG_WORD,
        ),
        rejected(
            "hashtag of 101 characters",
            post(|p| p.hashtags = vec![times("a", 101)]),
            "hashtags",
            rule::MAX_LENGTH,
        ),
        exact("metadata holding 1 MB", post(|p| p.metadata = serde_json::json!({ "blob": megabyte() }))),
        rejected(
            "metadata with \\u0000",
            post(|p| p.metadata = serde_json::json!({"k": ["\u{0}"]})),
            "metadata",
            rule::NUL_BYTE,
        ),
        exact(
            "X post of 280 emoji (the platform's limit)",
            post(|p| {
                p.platforms = vec![Platform::Twitter];
                p.content = times("😀", 280);
            }),
        ),
        exact(
            "X post of 280 combining characters",
            post(|p| {
                p.platforms = vec![Platform::Twitter];
                p.content = times(E_ACUTE, 140);
            }),
        ),
        rejected(
            "X post of 281 emoji",
            post(|p| {
                p.platforms = vec![Platform::Twitter];
                p.content = times("😀", 281);
            }),
            "content",
            rule::PLATFORM_TEXT,
        ),
        exact("AI prompt with quotes", post(|p| p.ai_prompt = QUOTES.to_owned())),
    ]
}

/// A post with two media, the second edited.
fn with_media(f: impl Fn(&mut NewPostMedia) + Send + Sync + 'static) -> Target {
    post(move |p| {
        let mut second = NewPostMedia::new(MediaType::Video, "https://cdn.example.com/2.mp4", 4096);
        f(&mut second);
        p.media = vec![NewPostMedia::new(MediaType::Image, "https://cdn.example.com/1.png", 1024), second];
    })
}

fn media() -> Vec<Case> {
    vec![
        exact("alt text of 1,000 combining characters (the limit)", with_media(|m| m.alt_text = times(E_ACUTE, 500))),
        rejected(
            "alt text with a NUL byte: no post, no media",
            with_media(|m| m.alt_text = "\0".to_owned()),
            "media[1].alt_text",
            rule::NUL_BYTE,
        ),
        rejected(
            "media URL is javascript:",
            with_media(|m| m.file_url = "javascript:alert(1)".to_owned()),
            "media[1].file_url",
            rule::URL,
        ),
        exact(
            "media URL with quotes and escapes",
            with_media(|m| m.file_url = "https://cdn.example.com/o'brien.png?x=%00&y=$1#--".to_owned()),
        ),
        rejected("negative file size", with_media(|m| m.file_size = -1), "media[1].file_size", rule::RANGE),
        exact("largest file size", with_media(|m| m.file_size = i64::MAX)),
        exact(
            "largest dimensions",
            with_media(|m| m.dimensions = Some(Dimensions { width: u32::MAX, height: u32::MAX })),
        ),
    ]
}

fn batches() -> Vec<Case> {
    vec![
        rejected(
            "import: the second post holds a NUL byte",
            import(|p| p.post.content = "\0".to_owned()),
            "posts[1].content",
            rule::NUL_BYTE,
        ),
        rejected(
            "import: the second post was created in 1899",
            import(|p| p.created_at = utc(1899, 12, 31, 23, 59, 59)),
            "posts[1].created_at",
            rule::TIME_RANGE,
        ),
        exact("import: a post created on 1900-01-01", import(|p| p.created_at = utc(1900, 1, 1, 0, 0, 0))),
        exact(
            "import: a published post with hostile media",
            import(|p| {
                p.post.status = PostStatus::Published;
                p.post.media = vec![NewPostMedia::new(MediaType::Gif, "https://cdn.example.com/'.gif", 1)];
                p.post.hashtags = vec!["#o_brien".to_owned()];
            }),
        ),
        exact("comment text with quotes and an injection", comment(|c| c.content = format!("{QUOTES} {SQL_DROP}"))),
        exact("comment of 100,000 emoji (the limit)", comment(|c| c.content = times("💬", 100_000))),
        exact(
            "platform comment id is an injection",
            comment(|c| c.platform_id = format!("{SQL_OR} {}", Uuid::new_v4())),
        ),
        rejected(
            "platform comment id with a NUL byte: no comment stored",
            comment(|c| c.platform_id = "id\0".to_owned()),
            "comments[1].platform_id",
            rule::NUL_BYTE,
        ),
        rejected(
            "author name of 101 emoji",
            comment(|c| c.author_name = times("😀", 101)),
            "comments[1].author_name",
            rule::MAX_LENGTH,
        ),
        rejected(
            "comment metadata with \\u0000",
            comment(|c| c.metadata = serde_json::json!({"\u{0}": null})),
            "comments[1].metadata",
            rule::NUL_BYTE,
        ),
    ]
}

fn texts() -> Vec<Case> {
    vec![
        exact("template category is an injection", template(|t| t.category = SQL_DROP.to_owned())),
        rejected("template name with a NUL byte", template(|t| t.name = "n\0".to_owned()), "name", rule::NUL_BYTE),
        exact("template of 100,000 characters with quotes", template(|t| t.content = times("'\"\\", 33_333))),
        exact("notification title of 200 emoji (the limit)", notification(|n| n.title = times("🔔", 200))),
        rejected(
            "notification message of 1 MB",
            notification(|n| n.message = megabyte() + "!"),
            "message",
            rule::MAX_LENGTH,
        ),
        rejected(
            "notification data with \\u0000",
            notification(|n| n.data = serde_json::json!({"x": "\u{0}"})),
            "data",
            rule::NUL_BYTE,
        ),
        exact("notification data full of hostile JSON", notification(|n| n.data = hostile_json())),
        exact("webhook event is an injection", webhook(|w| w.event_type = SQL_DROP.to_owned())),
        rejected(
            "webhook event with a NUL byte",
            webhook(|w| w.event_type = "\0x".to_owned()),
            "event_type",
            rule::NUL_BYTE,
        ),
        exact(
            "webhook secret with quotes",
            webhook(|w| w.secret_key = Secret::new(r#"'"\$1%_ -- a signing secret of 32+ bytes"#)),
        ),
        exact("AI request data full of hostile JSON", usage(|u| u.request_data = hostile_json())),
        rejected("AI model name is blank", usage(|u| u.model_used = " ".to_owned()), "model_used", rule::REQUIRED),
    ]
}

fn negative_zero() -> Decimal {
    let mut d = Decimal::new(0, 2);
    d.set_sign_negative(true);
    d
}

fn money() -> Vec<Case> {
    vec![
        rejected("negative amount", billing(|b| b.amount = Decimal::new(-1, 2)), "amount", rule::RANGE),
        exact("negative zero amount", billing(|b| b.amount = negative_zero())),
        rejected("amount with three decimals", billing(|b| b.amount = Decimal::new(1, 3)), "amount", rule::PRECISION),
        rejected("smallest decimal (1e-28)", billing(|b| b.amount = Decimal::new(1, 28)), "amount", rule::PRECISION),
        exact("amount 1.500 (trailing zeros)", billing(|b| b.amount = Decimal::new(1500, 3))),
        exact("largest amount 99,999,999.99", billing(|b| b.amount = Decimal::new(9_999_999_999, 2))),
        rejected(
            "amount 100,000,000.00",
            billing(|b| b.amount = Decimal::new(10_000_000_000, 2)),
            "amount",
            rule::PRECISION,
        ),
        rejected("largest decimal", billing(|b| b.amount = Decimal::MAX), "amount", rule::PRECISION),
        rejected("lower-case currency", billing(|b| b.currency = "usd".to_owned()), "currency", rule::CURRENCY),
        rejected("currency is an injection", billing(|b| b.currency = SQL_DROP.to_owned()), "currency", rule::CURRENCY),
        rejected("negative AI cost", usage(|u| u.cost = Decimal::new(-1, 4)), "cost", rule::COST_NON_NEGATIVE),
        rejected("AI cost with five decimals", usage(|u| u.cost = Decimal::new(1, 5)), "cost", rule::PRECISION),
        exact("largest AI cost 999,999.9999", usage(|u| u.cost = Decimal::new(9_999_999_999, 4))),
        rejected("zero tokens", usage(|u| u.tokens_used = 0), "tokens_used", rule::TOKENS_POSITIVE),
        rejected("most negative tokens", usage(|u| u.tokens_used = i32::MIN), "tokens_used", rule::TOKENS_POSITIVE),
        exact("most tokens", usage(|u| u.tokens_used = i32::MAX)),
    ]
}

fn times_cases() -> Vec<Case> {
    vec![
        exact("last sign-in at the last storable nanosecond", Target::LastLogin(last_storable())),
        rejected(
            "last sign-in in the year 10000",
            Target::LastLogin(utc(10000, 1, 1, 0, 0, 0)),
            "last_login",
            rule::TIME_RANGE,
        ),
        exact("last sign-in on 1900-01-01", Target::LastLogin(utc(1900, 1, 1, 0, 0, 0))),
        rejected(
            "last sign-in in 1899",
            Target::LastLogin(utc(1899, 12, 31, 23, 59, 59)),
            "last_login",
            rule::TIME_RANGE,
        ),
        rejected(
            "planned in the year 10000",
            post(|p| p.scheduled_at = Some(utc(10000, 1, 1, 0, 0, 0))),
            "scheduled_at",
            rule::TIME_RANGE,
        ),
        exact("planned at the last storable nanosecond", post(|p| p.scheduled_at = Some(last_storable()))),
        exact("scheduled at the last storable nanosecond", schedule(|s| s.scheduled_time = last_storable())),
        rejected(
            "scheduled in the year 10000: the post stays a draft",
            schedule(|s| s.scheduled_time = utc(10000, 1, 1, 0, 0, 0)),
            "scheduled_time",
            rule::TIME_RANGE,
        ),
        rejected(
            "scheduled in 1970",
            schedule(|s| s.scheduled_time = DateTime::<Utc>::UNIX_EPOCH),
            "scheduled_time",
            rule::SCHEDULE_FUTURE,
        ),
        rejected(
            "scheduled in a zone on Mars",
            schedule(|s| s.timezone = "Mars/Olympus".to_owned()),
            "timezone",
            rule::TIMEZONE,
        ),
        exact("scheduled in the far east zone", schedule(|s| s.timezone = "Etc/GMT-14".to_owned())),
        exact(
            "billing period from 1900",
            billing(|b| {
                b.period_start = utc(1900, 1, 1, 0, 0, 0);
                b.period_end = utc(1900, 2, 1, 0, 0, 0);
            }),
        ),
        rejected(
            "next charge in the year 10000",
            billing(|b| b.next_billing = utc(10000, 1, 1, 0, 0, 0)),
            "next_billing",
            rule::TIME_RANGE,
        ),
        rejected(
            "token expiry in the year 10000",
            account(|a| a.token_expires = Some(utc(10000, 1, 1, 0, 0, 0))),
            "token_expires",
            rule::TIME_RANGE,
        ),
    ]
}

/// A cursor token for a raw microsecond count and id bytes, as a forger would make it.
fn forged_token(micros: i64) -> String {
    use base64::Engine;
    let mut raw = micros.to_be_bytes().to_vec();
    raw.extend_from_slice(Uuid::max().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Microseconds since the epoch of midnight, 1 January of `year` (proleptic Gregorian).
fn micros_of_year(year: i32) -> i64 {
    NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(i64::MIN, |t| t.and_utc().timestamp_micros())
}

/// Store a fresh email holding LIKE wildcards, then search for `query(stored)`.
fn find(query: impl Fn(&str) -> String, found: bool) -> Target {
    let stored = format!("a_b%c+{}", fresh_email());
    Target::FindEmail { query: query(&stored), stored, found }
}

fn lookups() -> Vec<Case> {
    vec![
        exact("email found regardless of case", find(str::to_uppercase, true)),
        exact("email search with % does not match as a pattern", find(|s| s.replace('_', "%"), false)),
        exact("email search with _ does not match as a pattern", find(|s| s.replace('%', "_"), false)),
        exact("email search is an always-true predicate", find(|_| SQL_OR.to_owned(), false)),
        exact("email search holds a NUL byte", find(|s| format!("{s}\0"), false)),
        exact("email search of 1 MB", find(|_| megabyte(), false)),
        exact("template filter %", Target::TemplateCategory("%".to_owned())),
        exact("template filter with _", Target::TemplateCategory("hostil_".to_owned())),
        exact("template filter is an injection", Target::TemplateCategory(SQL_OR.to_owned())),
        exact("template filter holds a NUL byte", Target::TemplateCategory("hostile\0".to_owned())),
        rejected("empty cursor token", Target::CursorToken(String::new()), "cursor", rule::CURSOR),
        rejected("cursor token is an injection", Target::CursorToken(SQL_OR.to_owned()), "cursor", rule::CURSOR),
        rejected("cursor token of 1 MB", Target::CursorToken(times("A", 1 << 20)), "cursor", rule::CURSOR),
        rejected(
            "cursor token one byte short",
            Target::CursorToken(forged_token(0)[..31].to_owned()),
            "cursor",
            rule::CURSOR,
        ),
        rejected("cursor token past any time", Target::CursorToken(forged_token(i64::MAX)), "cursor", rule::CURSOR),
        rejected(
            "cursor token in the year -200000",
            Target::CursorToken(forged_token(micros_of_year(-200_000))),
            "cursor",
            rule::CURSOR,
        ),
        exact(
            "cursor token at the last storable instant",
            Target::CursorToken(Cursor::after(last_storable(), Uuid::max()).encode()),
        ),
        exact("cursor at the last storable instant: every post", Target::CursorAt(last_storable().timestamp_micros())),
        rejected("cursor in the year 1000", Target::CursorAt(micros_of_year(1000)), "cursor", rule::CURSOR),
        rejected("cursor in the year -200000", Target::CursorAt(micros_of_year(-200_000)), "cursor", rule::CURSOR),
        rejected("page of 0 rows", Target::PageLimit(0), "limit", rule::RANGE),
        rejected("page of 501 rows", Target::PageLimit(501), "limit", rule::RANGE),
        rejected("page of u32::MAX rows", Target::PageLimit(u32::MAX), "limit", rule::RANGE),
        exact("page of 500 rows", Target::PageLimit(500)),
        not_found("another team's post id", Target::ForeignPost(None)),
        not_found("the nil post id", Target::ForeignPost(Some(Uuid::nil()))),
        not_found("the max post id", Target::ForeignPost(Some(Uuid::max()))),
    ]
}
