//! What the API promises, each as one function run on every backend (registered in
//! `tests/api.rs`).

use chrono::Duration;
use clientnest::prelude::*;
use serde_json::{Value, json};

use crate::app::Settings;
use crate::support::{PASSWORD, Server};

/// The settings of most scenarios: the defaults with sessions short enough to expire soon
/// after a run (they are left in Redis under the run's prefix).
pub(crate) fn settings() -> Settings {
    Settings { session_ttl: Duration::minutes(10), ..Settings::default() }
}

/// Three requests per user per minute, so the fourth is refused.
pub(crate) fn tight_settings() -> Settings {
    Settings { user_quota: Quota::per(3, Duration::minutes(1)), ..settings() }
}

/// Sign-up makes a user and a team; log-in sets an `HttpOnly; SameSite=Lax; Path=/` cookie
/// that authenticates; log-out deletes the session, so the old cookie no longer works.
pub(crate) async fn sign_up_log_in_log_out(s: &Server) {
    let email = format!("ada+{}@example.com", uuid::Uuid::new_v4().simple());
    let body = json!({ "email": email, "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace",
        "team_name": "Analytical Engines" });
    let signed_up = s.post("/signup", None, &body).await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.body);
    assert_eq!(signed_up.body["team"]["name"], "Analytical Engines");
    assert!(signed_up.body["user"].get("password_hash").is_none(), "the hash never leaves the server");
    assert!(signed_up.session_cookie().is_none(), "sign-up does not log in");

    let mut same_email = body.clone();
    same_email["email"] = json!(email.to_uppercase());
    let again = s.post("/signup", None, &same_email).await;
    assert_eq!((again.status, again.body["rule"].as_str()), (409, Some("uq_users_email")), "{}", again.body);

    let wrong = s.post("/login", None, &json!({ "email": email, "password": "not the password" })).await;
    assert_eq!((wrong.status, wrong.body["error"].as_str()), (401, Some("invalid_credentials")));
    let unknown = s.post("/login", None, &json!({ "email": "nobody@example.com", "password": PASSWORD })).await;
    assert_eq!(unknown.body, wrong.body, "an unknown email answers like a wrong password");

    let logged_in = s.post("/login", None, &json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(logged_in.status, 200, "{}", logged_in.body);
    let (cookie, line) = logged_in.session_cookie().expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(line.split("; ").any(|a| a == attribute), "{attribute} in {line}");
    }
    assert!(logged_in.body["user"]["last_login"].is_string(), "log-in records last_login");

    let me = s.get("/me", Some(&cookie)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["user"]["email"], email.as_str());
    assert_eq!(me.body["teams"]["items"][0]["id"], signed_up.body["team"]["id"]);

    let out = s.post("/logout", Some(&cookie), &json!({})).await;
    assert_eq!(out.status, 204);
    assert!(out.session_cookie().is_some_and(|(_, line)| line.contains("Max-Age=0")), "the cookie is cleared");
    assert_eq!(s.get("/me", Some(&cookie)).await.status, 401, "the session is gone");
    assert_eq!(s.post("/logout", Some(&cookie), &json!({})).await.status, 204, "logging out twice is harmless");
}

/// Every route but sign-up and log-in wants a live session: none, a malformed one or an
/// unknown one is 401.
pub(crate) async fn unauthenticated_is_401(s: &Server) {
    let ada = s.account("ada").await;
    let feed = format!("/teams/{}/feed", ada.team);
    let posts = format!("/teams/{}/posts", ada.team);
    let unknown = format!("clientnest_session={}", SessionId::generate().expose());
    for cookie in [None, Some("clientnest_session=not-a-session"), Some(unknown.as_str()), Some("other=1")] {
        for reply in [
            s.get("/me", cookie).await,
            s.get(&feed, cookie).await,
            s.get(&format!("/teams/{}/inbox", ada.team), cookie).await,
            s.post(&posts, cookie, &json!({ "content": "hi" })).await,
            s.post("/teams", cookie, &json!({ "name": "Second" })).await,
        ] {
            assert_eq!((reply.status, reply.body["error"].as_str()), (401, Some("unauthenticated")), "{cookie:?}");
        }
    }
    let with_others = format!("theme=dark; {}; lang=en", ada.cookie);
    assert_eq!(s.get("/me", Some(&with_others)).await.status, 200, "the cookie is found among others");
}

/// A post with media comes back with its media in order; the feed shows published posts only,
/// newest first, in keyset pages whose opaque cursor continues where the last page ended.
pub(crate) async fn post_with_media_and_paged_feed(s: &Server) {
    let ada = s.account("ada").await;
    let path = format!("/teams/{}/posts", ada.team);
    let media = json!([
        { "media_type": "image", "file_url": "https://cdn.example.com/engine.png", "file_size": 482113,
          "dimensions": { "width": 1200, "height": 800 }, "alt_text": "The engine" },
        { "media_type": "video", "file_url": "https://cdn.example.com/tour.mp4", "file_size": 9000000 },
    ]);
    let created = s
        .post(
            &path,
            ada.cookie(),
            &json!({ "content": "Notes on the engine #history", "status": "published",
            "platforms": ["twitter"], "hashtags": ["history"], "media": media }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["post"]["user_id"], ada.user.to_string());
    let kinds: Vec<&Value> =
        created.body["media"].as_array().expect("media").iter().map(|m| &m["media_type"]).collect();
    assert_eq!(kinds, [&json!("image"), &json!("video")]);
    assert_eq!(created.body["media"][0]["dimensions"]["width"], 1200);
    assert_eq!(created.body["media"][1]["order_index"], 1);

    let draft = s.post(&path, ada.cookie(), &json!({ "content": "Not yet" })).await;
    assert_eq!((draft.status, draft.body["post"]["status"].as_str()), (201, Some("draft")));
    for n in 2..=4 {
        let reply =
            s.post(&path, ada.cookie(), &json!({ "content": format!("Post {n}"), "status": "published" })).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }

    let feed = format!("/teams/{}/feed", ada.team);
    let mut seen = Vec::new();
    let mut query = format!("{feed}?limit=3");
    loop {
        let page = s.get(&query, ada.cookie()).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|p| p["post"]["content"].as_str().unwrap_or("").to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => query = format!("{feed}?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Post 4", "Post 3", "Post 2", "Notes on the engine #history"], "published, newest first");
    let first = s.get(&format!("{feed}?limit=1"), ada.cookie()).await;
    assert_eq!(first.body["items"][0]["media"], json!([]));
    let last = s.get(&format!("{feed}?limit=100"), ada.cookie()).await;
    assert_eq!(last.body["items"][3]["media"].as_array().map(Vec::len), Some(2), "the feed carries media");
    assert!(last.body["next_cursor"].is_null());
}

/// The inbox lists the team's comments newest first and applies its filters together.
pub(crate) async fn inbox_with_filters(s: &Server) {
    let ada = s.account("ada").await;
    let account = s
        .repos
        .connect_account(
            ada.team,
            NewSocialAccount {
                user_id: ada.user,
                platform: Platform::Instagram,
                platform_id: "ig-1".into(),
                username: "ada_ig".into(),
                access_token: Secret::new("ig-access-token"),
                refresh_token: None,
                token_expires: None,
                permissions: vec!["read_comments".into()],
            },
        )
        .await
        .expect("an account");
    let comments =
        (1..=5).map(|n| NewComment::new(account.id, format!("c-{n}"), format!("Comment {n}"), "Mary", "u-mary"));
    s.repos.ingest_comments(ada.team, comments.collect()).await.expect("ingested");
    let inbox = format!("/teams/{}/inbox", ada.team);
    let all = s.get(&inbox, ada.cookie()).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let ids: Vec<CommentId> = (0..5).map(|i| all.id(&["items", &i.to_string(), "id"])).collect();
    assert_eq!(all.body["items"][0]["content"], "Comment 5", "newest first");

    let urgent = CommentUpdate {
        priority: Some(Priority::High),
        sentiment: Some(Some(Sentiment::Negative)),
        ..Default::default()
    };
    s.repos.update_comment(ada.team, ids[1], urgent).await.expect("triaged");
    s.repos
        .update_comment(ada.team, ids[2], CommentUpdate { priority: Some(Priority::High), ..Default::default() })
        .await
        .expect("triaged");
    let contents = |reply: &crate::support::Reply| -> Vec<String> {
        let items = reply.body["items"].as_array().cloned().unwrap_or_default();
        items.iter().map(|c| c["content"].as_str().unwrap_or("").to_owned()).collect()
    };
    let high = s.get(&format!("{inbox}?priority=high"), ada.cookie()).await;
    assert_eq!(contents(&high), ["Comment 4", "Comment 3"]);
    let both = s.get(&format!("{inbox}?priority=high&sentiment=negative&status=new"), ada.cookie()).await;
    assert_eq!(contents(&both), ["Comment 4"]);
    let by_account = s.get(&format!("{inbox}?account_id={}&limit=2", account.id), ada.cookie()).await;
    assert_eq!(contents(&by_account), ["Comment 5", "Comment 4"]);
    let cursor = by_account.body["next_cursor"].as_str().expect("a next page");
    let next = s.get(&format!("{inbox}?account_id={}&limit=2&cursor={cursor}", account.id), ada.cookie()).await;
    assert_eq!(contents(&next), ["Comment 3", "Comment 2"]);
    let replied = s.get(&format!("{inbox}?status=replied"), ada.cookie()).await;
    assert_eq!(contents(&replied), Vec::<String>::new());
}

/// A user outside a team is refused on every team route (403), whether the team exists or
/// not; their own team stays theirs.
pub(crate) async fn other_users_team_is_refused(s: &Server) {
    let ada = s.account("ada").await;
    let eve = s.account("eve").await;
    let published = json!({ "content": "Ada's post", "status": "published" });
    assert_eq!(s.post(&format!("/teams/{}/posts", ada.team), ada.cookie(), &published).await.status, 201);
    for team in [ada.team, TeamId::new()] {
        for reply in [
            s.get(&format!("/teams/{team}/feed"), eve.cookie()).await,
            s.get(&format!("/teams/{team}/inbox"), eve.cookie()).await,
            s.post(&format!("/teams/{team}/posts"), eve.cookie(), &json!({ "content": "Eve was here" })).await,
        ] {
            assert_eq!((reply.status, reply.body["error"].as_str()), (403, Some("forbidden")), "{}", reply.body);
        }
    }
    let ada_feed = s.get(&format!("/teams/{}/feed", ada.team), ada.cookie()).await;
    assert_eq!(ada_feed.body["items"].as_array().map(Vec::len), Some(1), "nothing of Eve's landed");
    let eve_feed = s.get(&format!("/teams/{}/feed", eve.team), eve.cookie()).await;
    assert_eq!((eve_feed.status, eve_feed.body["items"].as_array().map(Vec::len)), (200, Some(0)));
    let bad_id = s.get("/teams/not-a-uuid/feed", eve.cookie()).await;
    assert_eq!(bad_id.status, 400, "{}", bad_id.body);

    let second = s.post("/teams", eve.cookie(), &json!({ "name": "Eve's second team", "plan_type": "starter" })).await;
    assert_eq!((second.status, second.body["plan_type"].as_str()), (201, Some("starter")), "{}", second.body);
    let team: TeamId = second.id(&["id"]);
    assert_eq!(s.get(&format!("/teams/{team}/feed"), eve.cookie()).await.status, 200);
    assert_eq!(s.get(&format!("/teams/{team}/feed"), ada.cookie()).await.status, 403);
}

/// Each user has their own budget; over it, 429 with a `Retry-After` in whole seconds.
pub(crate) async fn rate_limit_per_user(s: &Server) {
    let ada = s.account("ada").await;
    let eve = s.account("eve").await;
    for _ in 0..3 {
        assert_eq!(s.get("/me", ada.cookie()).await.status, 200);
    }
    let refused = s.get("/me", ada.cookie()).await;
    assert_eq!((refused.status, refused.body["error"].as_str()), (429, Some("rate_limited")), "{}", refused.body);
    let retry_after: u64 = refused.headers["retry-after"].to_str().ok().and_then(|v| v.parse().ok()).expect("seconds");
    assert!((1..=20).contains(&retry_after), "one request is back after 20 s at 3 a minute: {retry_after}");
    assert_eq!(s.get(&format!("/teams/{}/feed", ada.team), ada.cookie()).await.status, 429, "on every route");
    assert_eq!(s.get("/me", eve.cookie()).await.status, 200, "another user is not limited");
}

/// Log-in attempts are limited per email, before the password is checked.
pub(crate) async fn log_in_attempts_are_limited(s: &Server) {
    let ada = s.account("ada").await;
    let wrong = json!({ "email": ada.email, "password": "wrong password" });
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(s.post("/login", None, &wrong).await.status);
    }
    // The burst of 5 includes the log-in of `account`.
    assert_eq!(statuses, [401, 401, 401, 401, 429]);
    let right = json!({ "email": ada.email.to_uppercase(), "password": PASSWORD });
    let refused = s.post("/login", None, &right).await;
    assert_eq!(refused.status, 429, "even the right password waits; the email's case does not matter");
    assert!(refused.headers.contains_key("retry-after"));
}

/// Bad input is refused before anything is stored: 422 naming each field and rule, or the
/// decoder's status for a body that is not the JSON expected.
pub(crate) async fn bad_input_is_422(s: &Server) {
    let bad_user = json!({ "email": "not-an-email", "password": PASSWORD, "first_name": "X", "last_name": "Y" });
    let reply = s.post("/signup", None, &bad_user).await;
    assert_eq!((reply.status, reply.body["error"].as_str()), (422, Some("validation")), "{}", reply.body);
    assert!(reply.fields().contains(&("email".into(), "chk_users_email_format".into())), "{}", reply.body);
    let short = json!({ "email": "short@example.com", "password": "short", "first_name": "X", "last_name": "Y" });
    assert_eq!(s.post("/signup", None, &short).await.fields(), [("password".to_owned(), "length".to_owned())]);
    let bad_team = json!({ "email": "team@example.com", "password": PASSWORD, "first_name": "X", "last_name": "Y",
        "team_name": "" });
    assert_eq!(s.post("/signup", None, &bad_team).await.status, 422);
    let logged = s.post("/login", None, &json!({ "email": "team@example.com", "password": PASSWORD })).await;
    assert_eq!(logged.status, 401, "a refused sign-up left no user behind");

    let ada = s.account("ada").await;
    let posts = format!("/teams/{}/posts", ada.team);
    let bad_media =
        json!({ "content": "Look", "media": [{ "media_type": "image", "file_url": "ftp://x", "file_size": 1 }] });
    let reply = s.post(&posts, ada.cookie(), &bad_media).await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert!(reply.fields().iter().any(|(field, _)| field == "media[0].file_url"), "{}", reply.body);
    let too_long = json!({ "content": "x".repeat(281), "platforms": ["twitter"] });
    let reply = s.post(&posts, ada.cookie(), &too_long).await;
    assert!(reply.fields().contains(&("content".into(), "platform_text_length".into())), "{}", reply.body);
    let unknown_kind = json!({ "content": "Look", "media": [{ "media_type": "hologram", "file_url": "https://x.io/a", "file_size": 1 }] });
    assert_eq!(s.post(&posts, ada.cookie(), &unknown_kind).await.status, 422, "an unknown choice in a body");
    assert_eq!(s.post_raw("/login", "application/json", "{not json").await.status, 400);
    assert_eq!(s.post_raw("/login", "text/plain", "hello").await.status, 415);

    let feed = format!("/teams/{}/feed", ada.team);
    let inbox = format!("/teams/{}/inbox", ada.team);
    for (query, field) in [
        (format!("{feed}?cursor=garbage"), "cursor"),
        (format!("{feed}?limit=0"), "limit"),
        (format!("{feed}?limit=many"), "limit"),
        (format!("{inbox}?status=urgent"), "status"),
        (format!("{inbox}?account_id=42"), "account_id"),
    ] {
        let reply = s.get(&query, ada.cookie()).await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.body);
        assert_eq!(reply.fields().first().map(|(f, _)| f.as_str()), Some(field), "{query}: {}", reply.body);
    }
    let feed_now = s.get(&feed, ada.cookie()).await;
    assert_eq!(feed_now.body["items"], json!([]), "nothing was stored");
}
