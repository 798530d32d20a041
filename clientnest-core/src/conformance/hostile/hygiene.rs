//! Text and URL hygiene: one-line fields refuse control and bidirectional characters,
//! identifiers refuse surrounding whitespace, hashtags are one word, session-independent
//! outbound URLs (webhook endpoints, avatars) refuse non-public hosts in every notation, and
//! multi-line fields keep their line breaks.

use crate::model::*;
use crate::validate::rule;

use super::cases::{
    account, billing, comment, exact, notification, post, rejected, team, template, usage, user, webhook,
};
use super::{Case, Target};

/// CR LF, the classic header / log injection.
const CRLF: &str = "\r\n";
/// RIGHT-TO-LEFT OVERRIDE: displayed text runs backwards.
const RLO: char = '\u{202E}';

/// Line breaks of every kind and a tab, as multi-line text legitimately holds them.
fn multi_line() -> String {
    format!("first line{CRLF}second line\nthird\r\n\n\tindented, then a bare CR\rend")
}

fn user_change(f: impl Fn(&mut UserUpdate) + Send + Sync + 'static) -> Target {
    Target::UserChange(Box::new(f))
}

fn webhook_change(f: impl Fn(&mut WebhookUpdate) + Send + Sync + 'static) -> Target {
    Target::WebhookChange(Box::new(f))
}

/// Every hygiene case: one-line fields, identifiers, hashtags, hosts and line breaks.
pub(super) fn cases() -> Vec<Case> {
    [one_line(), identifiers(), hashtags(), hosts(), line_breaks()].into_iter().flatten().collect()
}

/// One-line text: control characters (C0, DEL, C1) and bidi controls are refused.
fn one_line() -> Vec<Case> {
    vec![
        rejected(
            "first name with a line feed",
            user(|u| u.first_name = "Eve\nroot".to_owned()),
            "first_name",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "last name ending in CR LF",
            user(|u| u.last_name = format!("Mallory{CRLF}")),
            "last_name",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "first name with a tab",
            user(|u| u.first_name = "E\tve".to_owned()),
            "first_name",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "last name with DEL",
            user(|u| u.last_name = "Mal\u{7f}lory".to_owned()),
            "last_name",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "last name with a C1 NEXT LINE",
            user(|u| u.last_name = "Mal\u{85}lory".to_owned()),
            "last_name",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "first name with an ANSI escape",
            user(|u| u.first_name = "\u{1b}[31mEve".to_owned()),
            "first_name",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "first name with a right-to-left override",
            user(|u| u.first_name = format!("{RLO}evE")),
            "first_name",
            rule::BIDI_CONTROL,
        ),
        rejected(
            "last name with a left-to-right isolate",
            user(|u| u.last_name = "a\u{2066}b".to_owned()),
            "last_name",
            rule::BIDI_CONTROL,
        ),
        rejected(
            "last name with a pop directional isolate",
            user(|u| u.last_name = "ab\u{2069}".to_owned()),
            "last_name",
            rule::BIDI_CONTROL,
        ),
        exact(
            "names in Hebrew and Arabic with a right-to-left mark",
            user(|u| {
                u.first_name = "שלום".to_owned();
                u.last_name = "عربي\u{200F}".to_owned();
            }),
        ),
        exact("a display name may keep inner and surrounding spaces", user(|u| u.first_name = " Mary Ann ".to_owned())),
        rejected("team name with a line feed", team(|t| t.name = "Team\nB".to_owned()), "name", rule::CONTROL_CHAR),
        rejected(
            "team name with a left-to-right override",
            team(|t| t.name = "\u{202D}Team".to_owned()),
            "name",
            rule::BIDI_CONTROL,
        ),
        rejected(
            "post title with a line feed",
            post(|p| p.title = "Title\nTwo".to_owned()),
            "title",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "post title with a right-to-left embedding",
            post(|p| p.title = "\u{202B}Title".to_owned()),
            "title",
            rule::BIDI_CONTROL,
        ),
        rejected(
            "comment author name with a right-to-left override",
            comment(|c| c.author_name = format!("Mal{RLO}lory")),
            "comments[1].author_name",
            rule::BIDI_CONTROL,
        ),
        rejected(
            "comment author name with a line feed",
            comment(|c| c.author_name = "Mal\nlory".to_owned()),
            "comments[1].author_name",
            rule::CONTROL_CHAR,
        ),
        rejected("template name with CR LF", template(|t| t.name = format!("a{CRLF}b")), "name", rule::CONTROL_CHAR),
        rejected(
            "notification title with an injected header",
            notification(|n| n.title = format!("Alert{CRLF}X-Injected: yes")),
            "title",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "notification title with a first-strong isolate",
            notification(|n| n.title = "\u{2068}Alert".to_owned()),
            "title",
            rule::BIDI_CONTROL,
        ),
    ]
}

/// Identifiers: one-line, and no leading or trailing whitespace.
fn identifiers() -> Vec<Case> {
    vec![
        rejected(
            "platform account id with a leading space",
            account(|a| a.platform_id = " page-1".to_owned()),
            "platform_id",
            rule::SURROUNDING_WHITESPACE,
        ),
        rejected(
            "platform account id with a tab",
            account(|a| a.platform_id = "page\t1".to_owned()),
            "platform_id",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "handle with a trailing space",
            account(|a| a.username = "hostile ".to_owned()),
            "username",
            rule::SURROUNDING_WHITESPACE,
        ),
        rejected(
            "handle with a trailing no-break space",
            account(|a| a.username = "hostile\u{a0}".to_owned()),
            "username",
            rule::SURROUNDING_WHITESPACE,
        ),
        rejected(
            "handle ending in a line feed",
            account(|a| a.username = "hostile\n".to_owned()),
            "username",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "handle with a right-to-left isolate",
            account(|a| a.username = "\u{2067}handle".to_owned()),
            "username",
            rule::BIDI_CONTROL,
        ),
        rejected(
            "granted scope with a trailing space",
            account(|a| a.permissions = vec!["publish ".to_owned()]),
            "permissions",
            rule::SURROUNDING_WHITESPACE,
        ),
        rejected(
            "granted scope with a line feed",
            account(|a| a.permissions = vec!["publish\nadmin".to_owned()]),
            "permissions",
            rule::CONTROL_CHAR,
        ),
        exact(
            "granted scopes as the platforms spell them",
            account(|a| {
                a.permissions = vec![
                    "pages_manage_posts".to_owned(),
                    "tweet.write".to_owned(),
                    "https://www.googleapis.com/auth/youtube.upload".to_owned(),
                ]
            }),
        ),
        rejected(
            "platform comment id with a trailing space",
            comment(|c| c.platform_id = "c-1 ".to_owned()),
            "comments[1].platform_id",
            rule::SURROUNDING_WHITESPACE,
        ),
        rejected(
            "platform comment id with a line feed",
            comment(|c| c.platform_id = "c-1\nc-2".to_owned()),
            "comments[1].platform_id",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "comment author id with a leading space",
            comment(|c| c.author_id = " 42".to_owned()),
            "comments[1].author_id",
            rule::SURROUNDING_WHITESPACE,
        ),
        exact("an empty comment author id (the author is hidden)", comment(|c| c.author_id = String::new())),
        rejected(
            "template category with a trailing space",
            template(|t| t.category = "hostile ".to_owned()),
            "category",
            rule::SURROUNDING_WHITESPACE,
        ),
        rejected(
            "template category with a right-to-left override",
            template(|t| t.category = format!("hos{RLO}tile")),
            "category",
            rule::BIDI_CONTROL,
        ),
        exact("template category with inner spaces", template(|t| t.category = "product launch".to_owned())),
        rejected(
            "webhook event type with a trailing line feed",
            webhook(|w| w.event_type = "comment.created\n".to_owned()),
            "event_type",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "webhook event type with a leading space",
            webhook(|w| w.event_type = " comment.created".to_owned()),
            "event_type",
            rule::SURROUNDING_WHITESPACE,
        ),
        rejected(
            "webhook event type with a right-to-left override",
            webhook(|w| w.event_type = format!("comment.{RLO}created")),
            "event_type",
            rule::BIDI_CONTROL,
        ),
        rejected(
            "changing a webhook's event type to one with a trailing space",
            webhook_change(|w| w.event_type = Some("comment.created ".to_owned())),
            "event_type",
            rule::SURROUNDING_WHITESPACE,
        ),
        rejected(
            "AI model name with a trailing space",
            usage(|u| u.model_used = "gpt-4o ".to_owned()),
            "model_used",
            rule::SURROUNDING_WHITESPACE,
        ),
        rejected(
            "AI model name with a line feed",
            usage(|u| u.model_used = "gpt\n4o".to_owned()),
            "model_used",
            rule::CONTROL_CHAR,
        ),
        rejected(
            "subscription id with a leading space",
            billing(|b| b.subscription_id = format!(" {}", b.subscription_id)),
            "subscription_id",
            rule::SURROUNDING_WHITESPACE,
        ),
        rejected(
            "subscription id with a C1 control",
            billing(|b| b.subscription_id.push('\u{9b}')),
            "subscription_id",
            rule::CONTROL_CHAR,
        ),
    ]
}

/// Hashtags: one word, with or without its `#`.
fn hashtags() -> Vec<Case> {
    let tags =
        |list: &'static [&'static str]| post(move |p| p.hashtags = list.iter().map(|t| (*t).to_owned()).collect());
    vec![
        exact(
            "hashtags in many scripts, with and without #",
            tags(&["#launch", "rust_lang", "café", "e\u{301}te", "#日本語", "2026", "#München", "Ünïcødé"]),
        ),
        exact("hashtags of emoji sequences", tags(&["#😀", "👩‍👩‍👧", "🇫🇷", "👍🏽", "❤️"])),
        rejected("hashtag of two words", tags(&["#two words"]), "hashtags", rule::HASHTAG_WORD),
        rejected("hashtag with a comma", tags(&["#tag,other"]), "hashtags", rule::HASHTAG_WORD),
        rejected("two hashtags in one", tags(&["#a#b"]), "hashtags", rule::HASHTAG_WORD),
        rejected("a bare #", tags(&["#"]), "hashtags", rule::HASHTAG_WORD),
        rejected("hashtag with a leading space", tags(&[" tag"]), "hashtags", rule::HASHTAG_WORD),
        rejected("hashtag with a hyphen", tags(&["#well-known"]), "hashtags", rule::HASHTAG_WORD),
        rejected("hashtag with an ideographic space", tags(&["#日本\u{3000}語"]), "hashtags", rule::HASHTAG_WORD),
        rejected("hashtag with a line feed", tags(&["tag\n"]), "hashtags", rule::CONTROL_CHAR),
        rejected("hashtag with a right-to-left override", tags(&["#\u{202E}gat"]), "hashtags", rule::BIDI_CONTROL),
        rejected(
            "template hashtag of two words",
            template(|t| t.hashtags = vec!["#ok".to_owned(), "not ok".to_owned()]),
            "hashtags",
            rule::HASHTAG_WORD,
        ),
    ]
}

/// Webhook endpoints and avatars that name a loopback, link-local, private, shared or
/// unspecified host, in any notation the URL standard accepts.
const PRIVATE_ENDPOINTS: &[&str] = &[
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "https://api.localhost/hook",
    "http://localhost:8080/hook",
    "http://127.0.0.1/hook",
    "http://127.0.0.1./hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://0x7f.0.0.1/hook",
    "http://0177.0.0.1/hook",
    "http://017700000001/hook",
    "http://127.255.255.254/hook",
    "http://0/hook",
    "http://0.0.0.0/hook",
    "http://[::]/hook",
    "http://[::1]/hook",
    "http://[0:0:0:0:0:0:0:1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://10.0.0.1/hook",
    "http://10.255.255.255/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.1/hook",
    "http://192.168.1.1/hook",
    "http://192.168.1.1./hook",
    "http://100.64.0.1/hook",
    "http://100.127.255.254/hook",
    "http://[fc00::1]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    "http://[2002:7f00:1::]/hook",
    "https://hooks.example.com@127.0.0.1/hook",
    "http://%6c%6f%63%61%6c%68%6f%73%74/hook",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://printer.local/hook",
    "http://intranet/hook",
];

/// Public hosts, written in the same notations, which stay allowed.
const PUBLIC_ENDPOINTS: &[&str] = &[
    "https://hooks.example.com/in",
    "https://localhost.example.com/in",
    "https://93.184.216.34/in",
    "http://1572395042/in",
    "https://[2606:4700:4700::1111]/in",
    "https://[::ffff:93.184.216.34]/in",
    "https://172.32.0.1/in",
    "https://100.128.0.1/in",
    "https://hooks.example.com./in",
];

fn hosts() -> Vec<Case> {
    let mut out = Vec::new();
    for url in PRIVATE_ENDPOINTS {
        out.push(rejected(
            format!("webhook endpoint {url}"),
            webhook(move |w| w.endpoint_url = (*url).to_owned()),
            "endpoint_url",
            rule::PRIVATE_HOST,
        ));
    }
    for url in PUBLIC_ENDPOINTS {
        out.push(exact(format!("webhook endpoint {url}"), webhook(move |w| w.endpoint_url = (*url).to_owned())));
    }
    for url in [
        "http://localhost/me.png",
        "http://0x7f000001/me.png",
        "http://[::ffff:10.0.0.1]/me.png",
        "http://169.254.169.254/",
    ] {
        out.push(rejected(
            format!("avatar {url}"),
            user(move |u| u.avatar_url = Some(url.to_owned())),
            "avatar_url",
            rule::PRIVATE_HOST,
        ));
        out.push(rejected(
            format!("changing the avatar to {url}"),
            user_change(move |u| u.avatar_url = Some(Some(url.to_owned()))),
            "avatar_url",
            rule::PRIVATE_HOST,
        ));
    }
    out.push(exact(
        "changing the avatar to a public host",
        user_change(|u| u.avatar_url = Some(Some("https://cdn.example.com/new.png".to_owned()))),
    ));
    out.push(exact("removing the avatar", user_change(|u| u.avatar_url = Some(None))));
    out.push(rejected(
        "changing a webhook's endpoint to the metadata address",
        webhook_change(|w| w.endpoint_url = Some("http://169.254.169.254/latest/meta-data/".to_owned())),
        "endpoint_url",
        rule::PRIVATE_HOST,
    ));
    out.push(rejected(
        "changing a webhook's endpoint to decimal loopback",
        webhook_change(|w| w.endpoint_url = Some("http://2130706433/".to_owned())),
        "endpoint_url",
        rule::PRIVATE_HOST,
    ));
    out.push(exact(
        "changing a webhook's endpoint to a public host",
        webhook_change(|w| w.endpoint_url = Some("https://hooks.example.com/v2".to_owned())),
    ));
    out
}

/// Multi-line text keeps CR, LF and tabs exactly.
fn line_breaks() -> Vec<Case> {
    vec![
        exact("post content with line breaks", post(|p| p.content = multi_line())),
        exact("AI prompt with line breaks", post(|p| p.ai_prompt = multi_line())),
        exact("comment content with line breaks", comment(|c| c.content = multi_line())),
        exact(
            "template content and description with line breaks",
            template(|t| {
                t.content = multi_line();
                t.description = multi_line();
            }),
        ),
        exact("notification message with line breaks", notification(|n| n.message = multi_line())),
    ]
}
