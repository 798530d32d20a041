//! A tour of the ClientNest data layer for one team, from sign-up to analytics.
//!
//! With no environment it runs on the in-memory backends. With `DATABASE_URL` set, the
//! repositories run on PostgreSQL (migrated first); with `REDIS_URL` set, sessions, rate limits,
//! the job queue, the cache and temp data run on Redis; with `S3_ENDPOINT` set (and the `s3`
//! feature), post media go to that S3-compatible bucket (`S3_BUCKET`, `AWS_*` credentials).
//!
//! ```text
//! cargo run --example quickstart
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 cargo run --example quickstart
//! ```

use std::sync::Arc;

use chrono::{Duration, Utc};
use clientnest::cache_aside::CachedUsers;
use clientnest::crypto::generate_webhook_secret;
use clientnest::media::{MediaService, MediaStore, sample};
use clientnest::memory::{MemoryKv, MemoryMediaStore, MemoryStore};
use clientnest::prelude::*;
use rust_decimal::Decimal;

type Repos = Arc<dyn Repositories>;
type Kv = Arc<dyn KvStores>;
type Media = Arc<dyn MediaStore>;

#[tokio::main]
async fn main() -> Result<()> {
    let (repos, kv) = backends().await?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let run = &run[..8];

    // 1. Sign-up: the password is hashed with argon2id; only the hash is stored.
    let password = Secret::new("correct horse battery staple");
    let mut new_user = NewUser::new(format!("ada+{run}@example.com"), hash_password(&password)?, "Ada", "Lovelace");
    new_user.timezone = "Europe/London".into();
    let ada = repos.create_user(new_user).await?;
    assert!(verify_password(&password, &ada.password_hash)?);
    println!("1. signed up {} (password hash: {:?})", ada.email, ada.password_hash);

    // Bad input is refused with a typed error naming the field and rule, and stores nothing.
    let bad = NewUser::new("not-an-email", ada.password_hash.clone(), "X", "Y");
    let err = repos.create_user(bad).await.expect_err("invalid email");
    println!("   rejected: {err}");

    // 2. A team with its owner (one atomic step), and a member.
    let (team, owner) =
        repos.create_team(NewTeam::new(format!("Analytical Engines {run}"), ada.id, PlanType::Professional)).await?;
    let charles = repos
        .create_user(NewUser::new(
            format!("charles+{run}@example.com"),
            hash_password(&Secret::new("difference engine"))?,
            "Charles",
            "Babbage",
        ))
        .await?;
    repos.add_member(team.id, NewTeamMember::new(charles.id, TeamRole::Editor)).await?;
    let role = repos.membership(team.id, charles.id).await?.map(|m| m.role);
    println!("2. team '{}' owned by {:?}; Charles is {:?}", team.name, owner.role, role);

    // 3. Connected accounts. Tokens are secrets: redacted in Debug, encrypted at rest.
    repos.connect_account(team.id, account(ada.id, Platform::Twitter, "x-1", Some("x-refresh"))).await?;
    let insta =
        repos.connect_account(team.id, account(ada.id, Platform::Instagram, "ig-1", Some("ig-refresh"))).await?;
    // Reconnecting without a refresh token keeps the stored one.
    let x = repos.connect_account(team.id, account(ada.id, Platform::Twitter, "x-1", None)).await?;
    println!(
        "3. connected {} and {}; refresh token kept on reconnect: {:?}",
        x.platform, insta.platform, x.refresh_token
    );

    // 4. A post with media, written for X and Instagram, scheduled on both accounts.
    let mut post = NewPost::draft(ada.id, "Notes on the Analytical Engine, now in 280 characters. #history");
    post.platforms = vec![Platform::Twitter, Platform::Instagram];
    post.media = vec![
        NewPostMedia::new(MediaType::Image, "https://cdn.example.com/engine.png", 482_113),
        NewPostMedia::new(MediaType::Image, "https://cdn.example.com/notes.jpg", 120_882),
    ];
    let post = repos.create_post(team.id, post).await?;
    let due = Utc::now() + Duration::milliseconds(1200);
    for acc in [&x, &insta] {
        let schedule = NewSchedule {
            user_id: ada.id,
            post_id: post.post.id,
            social_account_id: acc.id,
            scheduled_time: due,
            timezone: "Europe/London".into(),
        };
        repos.create_schedule(team.id, schedule).await?;
    }
    println!("4. post {} with {} media scheduled on 2 platforms at {due}", post.post.id, post.media.len());

    // 4b. A real (tiny, generated) PNG uploaded for the post: its bytes are sniffed (a "PNG"
    //     that is HTML is refused), its size checked against X's and Instagram's limits while it
    //     streams, then it is stored and attached with its size, dimensions and SHA-256.
    let media = MediaService::new(media_store()?, Arc::clone(&repos));
    let png = media.upload_bytes(team.id, post.post.id, "image/png", sample::png(64, 48), "A gradient").await?;
    let dims = png.dimensions.map(|d| format!("{}x{}", d.width, d.height)).unwrap_or_default();
    println!("4b. uploaded a {dims} PNG of {} bytes to {}", png.file_size, png.file_url);
    let fake =
        media.upload_bytes(team.id, post.post.id, "image/png", &b"<html><script>x()</script></html>"[..], "").await;
    println!(
        "    an HTML file declared as a PNG: {}",
        fake.map(|_| "stored?!".to_owned()).unwrap_or_else(|e| e.to_string())
    );

    // 5. A publishing worker claims the due schedules under a lease (each claim with its own
    //    token), marks the publish boundary, calls the platform with the attempt's idempotency
    //    key and completes with the platform's post id: a retry can never publish twice, and a
    //    claim that dies after its mark is left for a reconciler, not re-sent
    //    (examples/publisher.rs is the whole worker loop).
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let worker = WorkerId::unique("publisher");
    let claimed = repos.claim_due(&worker, ClaimRequest::new(50, Duration::minutes(5))).await?;
    let ours: Vec<_> = claimed.iter().filter(|c| c.schedule.team_id == team.id).collect();
    for c in &claimed {
        repos.mark_publishing(&c.token).await?;
        let key = c.token.idempotency_key();
        repos.complete(&c.token, &format!("{}-post-{}", c.schedule.platform, &key[key.len() - 8..])).await?;
    }
    let feed = repos.feed(team.id, PageRequest::first(20)).await?;
    println!(
        "5. worker {worker} claimed {} schedules and published them; feed has {} post(s)",
        ours.len(),
        feed.items.len()
    );

    // 6. Comments ingested twice: the second batch is recognised, nothing is duplicated.
    let comments = vec![
        NewComment::new(insta.id, "c-1", "Wonderful!", "Mary", "u-mary"),
        NewComment::new(insta.id, "c-2", "This is wrong, the engine never ran.", "Critic", "u-critic"),
        NewComment::new(x.id, "c-3", "When is the next post?", "Jo", "u-jo"),
    ];
    let first = repos.ingest_comments(team.id, comments.clone()).await?;
    let again = repos.ingest_comments(team.id, comments).await?;
    println!(
        "6. ingested {} comments; re-ingest: {} new, {} duplicates",
        first.inserted, again.inserted, again.duplicates
    );

    // 7. Triage the inbox and send a reply; the comment becomes `replied`.
    let inbox = repos
        .inbox(team.id, InboxFilter { status: Some(CommentStatus::New), ..Default::default() }, PageRequest::first(10))
        .await?;
    let critic = inbox.items.iter().find(|c| c.platform_id == "c-2").expect("ingested comment");
    repos
        .update_comment(
            team.id,
            critic.id,
            CommentUpdate {
                sentiment: Some(Some(Sentiment::Negative)),
                priority: Some(Priority::High),
                ..Default::default()
            },
        )
        .await?;
    let reply = NewResponse {
        comment_id: critic.id,
        user_id: charles.id,
        content: "Thanks! The design was complete; see note G.".into(),
        ai_generated: true,
    };
    repos.send_response(team.id, reply).await?;
    let critic = repos.get_comment(team.id, critic.id).await?;
    println!("7. inbox had {} new comments; replied to the critic: status {}", inbox.items.len(), critic.status);

    // 8. Templates, with use counting.
    let template = repos
        .create_template(
            team.id,
            NewTemplate {
                user_id: ada.id,
                name: "Thank you".into(),
                description: "Short thanks".into(),
                content: "Thank you for your kind words!".into(),
                category: "replies".into(),
                hashtags: vec![],
                is_public: false,
            },
        )
        .await?;
    let uses = repos.record_template_use(team.id, template.id).await?;
    println!("8. template '{}' used {uses} time(s)", template.name);

    // 9. An automation: positive comments on Instagram get the template as an auto-reply.
    let automation = repos
        .create_automation(
            team.id,
            NewAutomation {
                user_id: ada.id,
                name: "Thank fans".into(),
                description: String::new(),
                trigger: Trigger::CommentReceived {
                    platforms: vec![Platform::Instagram],
                    keywords: vec![],
                    sentiment: Some(Sentiment::Positive),
                },
                action: Action::AutoReply { template_id: Some(template.id), message: None, use_ai: false },
                is_active: true,
            },
        )
        .await?;
    println!("9. automation '{}' on {} -> {}", automation.name, automation.trigger.kind(), automation.action.kind());

    // 10. A webhook with a generated secret, and a signed payload verified the way a receiver would.
    let webhook = repos
        .create_webhook(
            ada.id,
            NewWebhook {
                platform: Platform::Instagram,
                event_type: "comment.created".into(),
                endpoint_url: "https://hooks.example.com/clientnest".into(),
                secret_key: generate_webhook_secret(),
            },
        )
        .await?;
    let payload = br#"{"event":"comment.created","comment":"c-1"}"#;
    let now = Utc::now().timestamp();
    let header = sign_webhook(&webhook.secret_key, now, payload);
    verify_webhook(&webhook.secret_key, &header, payload, now, 300)?;
    println!("10. webhook {} signed and verified: {}", webhook.endpoint_url, &header[..20]);

    // 11. AI usage and its totals for the month.
    for (feature, tokens, cost) in
        [(FeatureType::ResponseGeneration, 420, "0.0084"), (FeatureType::SentimentAnalysis, 96, "0.0002")]
    {
        repos
            .record_ai_usage(
                team.id,
                NewAiUsage {
                    user_id: ada.id,
                    feature_type: feature,
                    tokens_used: tokens,
                    cost: cost.parse::<Decimal>().map_err(|e| Error::backend(clientnest::error::store::LOCAL, e))?,
                    model_used: "gpt-4o-mini".into(),
                    request_data: serde_json::json!({}),
                    response_data: serde_json::json!({}),
                    metadata: serde_json::json!({}),
                },
            )
            .await?;
    }
    let month = Period::new(Utc::now() - Duration::days(30), Utc::now() + Duration::minutes(1))?;
    for total in repos.ai_usage_totals(team.id, month).await? {
        println!(
            "11. AI {}: {} request(s), {} tokens, ${}",
            total.feature_type, total.requests, total.tokens, total.cost
        );
    }

    // 12. Billing: the team's active subscription.
    repos
        .create_billing(
            team.id,
            NewBilling {
                subscription_id: format!("sub_{run}"),
                plan_type: PlanType::Professional,
                amount: Decimal::new(4900, 2),
                currency: "USD".into(),
                status: BillingStatus::Active,
                period_start: Utc::now(),
                period_end: Utc::now() + Duration::days(30),
                next_billing: Utc::now() + Duration::days(30),
            },
        )
        .await?;
    let sub = repos.active_subscription(team.id).await?.expect("active subscription");
    println!("12. subscription {} on {}: {} {}", sub.subscription_id, sub.plan_type, sub.amount, sub.currency);

    // 13. Notifications: unread count, then mark all read.
    repos
        .notify(
            ada.id,
            NewNotification::new(
                NotificationType::PostPublished,
                "Post published",
                "Your post is live on X and Instagram.",
            ),
        )
        .await?;
    repos
        .notify(
            ada.id,
            NewNotification::new(NotificationType::Comment, "New comment", "Critic commented on your post."),
        )
        .await?;
    let unread = repos.unread_count(ada.id).await?;
    let marked = repos.mark_all_read(ada.id).await?;
    println!("13. {unread} unread notification(s); marked {marked} read");

    // 14. A session with sliding expiry, then revoked with every session of the user.
    let session = kv
        .create_session(NewSession {
            user_id: ada.id,
            permissions: vec!["posts:write".into()],
            ttl: Duration::minutes(30),
        })
        .await?;
    let touched = kv.touch_session(&session.id, Duration::minutes(30)).await?.expect("live session");
    let revoked = kv.revoke_user_sessions(ada.id).await?;
    println!("14. session {:?} expires {}; revoked {revoked}", session.id, touched.expires_at);

    // 15. Rate limiting: a burst of 2, then refusal with a retry-after.
    let quota = Quota::per(60, Duration::minutes(1)).with_burst(2);
    let subject = format!("user:{}", ada.id);
    let mut decisions = Vec::new();
    for _ in 0..3 {
        decisions.push(kv.check_rate(&subject, &quota).await?);
    }
    println!(
        "15. rate limit: {:?}; retry after {:?}",
        decisions.iter().map(|d| d.allowed).collect::<Vec<_>>(),
        decisions.last().and_then(|d| d.retry_after)
    );

    // 16. A job queue with a visibility timeout: reserve, then ack.
    let queue = QueueName::new(format!("ai-replies-{run}"))?;
    let mut job = NewJob::new(
        serde_json::to_vec(&serde_json::json!({ "comment": critic.id }))
            .map_err(|e| Error::backend(clientnest::error::store::LOCAL, e))?,
    );
    job.idempotency_key = Some(format!("reply:{}", critic.id));
    kv.enqueue(&queue, job.clone()).await?;
    let dup = kv.enqueue(&queue, job).await?;
    let reserved = kv.reserve(&queue, &worker, Duration::seconds(30)).await?.expect("a job");
    kv.ack(&queue, &reserved.lease).await?;
    println!(
        "16. job {} done on attempt {} (duplicate enqueue ignored: {}); counts {:?}",
        reserved.job.id,
        reserved.job.attempt,
        dup.duplicate,
        kv.counts(&queue).await?
    );

    // 17. Temporary data taken exactly once (e.g. an OAuth state).
    let key = format!("oauth-state:{run}");
    kv.put_temp(&key, b"pkce-verifier".to_vec(), Duration::minutes(10)).await?;
    let first_take = kv.take_temp(&key).await?;
    let second_take = kv.take_temp(&key).await?;
    println!("17. temp value taken once: {:?}, then {:?}", first_take.map(|v| v.len()), second_take);

    // 18. The user cache: reads served from the cache, invalidated on update.
    let users = CachedUsers::new(repos.clone(), kv.clone(), Duration::minutes(5));
    users.get_user(ada.id).await?;
    users.update_user(ada.id, UserUpdate { last_login: Some(Utc::now()), ..Default::default() }).await?;
    let fresh = users.get_user(ada.id).await?;
    println!("18. cached user read after update sees last_login = {:?}", fresh.last_login.map(|t| t.to_rfc3339()));

    // Clean up: deleting the users cascades to the team and everything in it.
    repos.delete_user(ada.id).await?;
    repos.delete_user(charles.id).await?;
    let gone = matches!(repos.get_team(team.id).await, Err(Error::NotFound { .. }));
    println!("done: the team and its data were deleted with their owner: {gone}");
    Ok(())
}

fn account(user: UserId, platform: Platform, id: &str, refresh: Option<&str>) -> NewSocialAccount {
    NewSocialAccount {
        user_id: user,
        platform,
        platform_id: id.into(),
        username: format!("ada_{platform}"),
        access_token: Secret::new(format!("{platform}-access-token")),
        refresh_token: refresh.map(Secret::new),
        token_expires: Some(Utc::now() + Duration::hours(2)),
        permissions: vec!["publish".into(), "read_comments".into()],
    }
}

/// Pick the backends from the environment: PostgreSQL and Redis when their URLs are set,
/// in memory otherwise.
async fn backends() -> Result<(Repos, Kv)> {
    let repos: Repos = match std::env::var("DATABASE_URL") {
        Ok(url) => postgres(&url).await?,
        Err(_) => {
            println!("(repositories: in memory; set DATABASE_URL for PostgreSQL)");
            Arc::new(MemoryStore::new())
        }
    };
    let kv: Kv = match std::env::var("REDIS_URL") {
        Ok(url) => redis(&url).await?,
        Err(_) => {
            println!("(sessions, cache, queue, rate limits, temp data: in memory; set REDIS_URL for Redis)");
            Arc::new(MemoryKv::new())
        }
    };
    Ok((repos, kv))
}

/// Post media on the S3-compatible bucket of `S3_ENDPOINT`, or in memory.
fn media_store() -> Result<Media> {
    #[cfg(feature = "s3")]
    if let Some(config) = clientnest::s3::S3Config::from_env() {
        println!("(post media: S3 at {})", config.endpoint);
        return Ok(Arc::new(clientnest::s3::ObjectMediaStore::s3(&config)?));
    }
    println!("(post media: in memory; set S3_ENDPOINT for S3)");
    Ok(Arc::new(MemoryMediaStore::new()))
}

#[cfg(feature = "postgres")]
async fn postgres(url: &str) -> Result<Repos> {
    use clientnest::postgres::{PgConfig, PgStore};
    // In production the key comes from your secret manager; tokens are sealed with it.
    let keys = KeyRing::new("quickstart", KeyRing::generate_key())?;
    let store = PgStore::connect(&PgConfig::new(url), keys).await?;
    store.migrate().await?;
    println!("(repositories: PostgreSQL, migrated)");
    Ok(Arc::new(store))
}

#[cfg(not(feature = "postgres"))]
async fn postgres(_url: &str) -> Result<Repos> {
    println!("(DATABASE_URL is set but the `postgres` feature is off: repositories in memory)");
    Ok(Arc::new(MemoryStore::new()))
}

#[cfg(feature = "redis")]
async fn redis(url: &str) -> Result<Kv> {
    use clientnest::redis::{RedisConfig, RedisKv};
    let kv = RedisKv::connect(&RedisConfig::new(url)).await?;
    println!("(sessions, cache, queue, rate limits, temp data: Redis)");
    Ok(Arc::new(kv))
}

#[cfg(not(feature = "redis"))]
async fn redis(_url: &str) -> Result<Kv> {
    println!("(REDIS_URL is set but the `redis` feature is off: key-value stores in memory)");
    Ok(Arc::new(MemoryKv::new()))
}
