//! A publishing worker: the loop a real worker runs, on any `ScheduleRepository`.
//!
//! 1. Claim a batch of due schedules (`claim_due` also recovers lapsed claims, so this loop alone
//!    makes progress).
//! 2. Heartbeat: a task renews every held lease at a third of its length.
//! 3. For each claim: load the post, mark the publish boundary (`mark_publishing`), call the
//!    platform with the attempt's idempotency key, then `complete` (the platform took it) or
//!    `fail` (a definite refusal). When the platform's answer is lost (a timeout), do neither:
//!    stop renewing, and the lapsed claim becomes `outcome_unknown` for a reconciler, never a
//!    second automatic publish.
//! 4. Graceful shutdown: claims not started yet are released (pending again, attempt not counted).
//!
//! The platform here is a fake that sometimes refuses and sometimes times out. With no
//! environment the example runs in memory; with `DATABASE_URL` it runs on PostgreSQL.
//!
//! ```text
//! cargo run --example publisher
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --example publisher
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, Utc};
use clientnest::memory::MemoryStore;
use clientnest::prelude::*;
use tokio::sync::watch;

/// What a platform call can end in.
#[derive(Debug)]
enum PublishError {
    /// The platform said no (bad media, revoked token): nothing went out. Safe to retry later.
    Refused(String),
    /// No answer (a timeout, a dropped connection): the post may or may not have gone out.
    OutcomeLost(String),
}

/// The client of one social platform, as a worker sees it.
#[async_trait]
trait PlatformClient: Send + Sync {
    /// Publish `post` for `schedule`; `idempotency_key` is the same for every call of one
    /// attempt. Returns the platform's id of the published post.
    async fn publish(
        &self,
        schedule: &Schedule,
        post: &PostWithMedia,
        idempotency_key: &str,
    ) -> Result<String, PublishError>;
}

/// A fake platform: every seventh call is refused, every eleventh times out (after posting!).
#[derive(Default)]
struct FakePlatform {
    calls: AtomicU64,
    posted: Mutex<HashMap<ScheduleId, Vec<String>>>,
}

#[async_trait]
impl PlatformClient for FakePlatform {
    async fn publish(
        &self,
        schedule: &Schedule,
        _post: &PostWithMedia,
        idempotency_key: &str,
    ) -> Result<String, PublishError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(7) {
            return Err(PublishError::Refused("media rejected".into()));
        }
        self.posted.lock().expect("lock").entry(schedule.id).or_default().push(idempotency_key.to_owned());
        if n.is_multiple_of(11) {
            return Err(PublishError::OutcomeLost("timed out waiting for the platform".into()));
        }
        Ok(format!("{}-{}", schedule.platform, &idempotency_key[..8]))
    }
}

/// How a worker runs: its batch size and lease.
#[derive(Debug, Clone, Copy)]
struct PublisherConfig {
    /// Claims per batch (1 to 1,000, as `claim_due` allows).
    batch: u32,
    /// Each claim's lease; renewed at a third of it.
    lease: Duration,
    /// Retries of definite failures, and of claims that keep lapsing.
    policy: RetryPolicy,
    /// Sleep when nothing is due.
    idle: std::time::Duration,
}

/// What a worker did, counted per outcome.
#[derive(Debug, Default)]
struct Tally {
    published: u64,
    refused: u64,
    lost: u64,
    released: u64,
    stale: u64,
}

/// One worker process: a fresh worker id per start.
struct Publisher {
    repos: Arc<dyn Repositories>,
    platform: Arc<dyn PlatformClient>,
    worker: WorkerId,
    config: PublisherConfig,
}

impl Publisher {
    /// Run until `shutdown` turns true; then release what was not started and return.
    async fn run(&self, mut shutdown: watch::Receiver<bool>) -> Result<Tally> {
        let mut tally = Tally::default();
        while !*shutdown.borrow() {
            let request = ClaimRequest::new(self.config.batch, self.config.lease).with_policy(self.config.policy);
            let claims = self.repos.claim_due(&self.worker, request).await?;
            if claims.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.idle) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let held: Arc<Mutex<Vec<ClaimToken>>> = Arc::new(Mutex::new(claims.iter().map(|c| c.token).collect()));
            let heartbeat = self.heartbeat(Arc::clone(&held));
            for claim in claims {
                let forget = |t: &ClaimToken| held.lock().expect("lock").retain(|h| h != t);
                if *shutdown.borrow() {
                    match self.repos.release(&claim.token).await {
                        Ok(_) => tally.released += 1,
                        Err(Error::StaleClaim { .. }) => tally.stale += 1,
                        Err(e) => return Err(e),
                    }
                    forget(&claim.token);
                    continue;
                }
                self.publish_one(&claim, &mut tally).await?;
                forget(&claim.token);
            }
            heartbeat.abort();
        }
        Ok(tally)
    }

    /// Renew every held lease at a third of its length until aborted.
    fn heartbeat(&self, held: Arc<Mutex<Vec<ClaimToken>>>) -> tokio::task::JoinHandle<()> {
        let (repos, lease) = (Arc::clone(&self.repos), self.config.lease);
        let every = (lease / 3).to_std().unwrap_or(std::time::Duration::from_secs(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let tokens = held.lock().expect("lock").clone();
                for token in tokens {
                    if let Err(e) = repos.renew_lease(&token, lease).await {
                        eprintln!("lease of {} not renewed: {e}", token.schedule_id());
                    }
                }
            }
        })
    }

    /// The protocol for one claim: read the post, mark publishing, call the platform, then
    /// complete or fail.
    async fn publish_one(&self, claim: &Claim, tally: &mut Tally) -> Result<()> {
        let s = &claim.schedule;
        let post = self.repos.get_post(s.team_id, s.post_id).await?;
        match self.repos.mark_publishing(&claim.token).await {
            Ok(_) => {}
            Err(Error::StaleClaim { .. }) => {
                tally.stale += 1; // the lease lapsed: someone else may hold it now; do not publish
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        match self.platform.publish(s, &post, &claim.token.idempotency_key()).await {
            Ok(platform_post_id) => match self.repos.complete(&claim.token, &platform_post_id).await {
                Ok(_) => tally.published += 1,
                // Lapsed meanwhile: it is (or will be) outcome_unknown, for the reconciler.
                Err(Error::StaleClaim { .. }) => tally.stale += 1,
                Err(e) => return Err(e),
            },
            Err(PublishError::Refused(why)) => match self.repos.fail(&claim.token, &why, self.config.policy).await {
                Ok(_) => tally.refused += 1,
                Err(Error::StaleClaim { .. }) => tally.stale += 1,
                Err(e) => return Err(e),
            },
            // Neither complete nor fail: the claim lapses into outcome_unknown.
            Err(PublishError::OutcomeLost(why)) => {
                eprintln!("schedule {}: {why}; left for the reconciler", s.id);
                tally.lost += 1;
            }
        }
        Ok(())
    }
}

/// The repositories: PostgreSQL with `DATABASE_URL`, else memory.
async fn repositories() -> Result<Arc<dyn Repositories>> {
    #[cfg(feature = "postgres")]
    if let Ok(url) = std::env::var("DATABASE_URL") {
        use clientnest::postgres::{PgConfig, PgStore};
        let keys = KeyRing::new("example", [7u8; 32])?;
        let store = PgStore::connect(&PgConfig::new(url), keys).await?;
        clientnest::postgres::migrate(store.pool()).await?;
        return Ok(Arc::new(store));
    }
    Ok(Arc::new(MemoryStore::new()))
}

#[tokio::main]
async fn main() -> Result<()> {
    let repos = repositories().await?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let hash = hash_password(&Secret::new("publisher example password"))?;
    let ada = repos.create_user(NewUser::new(format!("ada-{}@example.com", &run[..8]), hash, "Ada", "L")).await?;
    let (team, _) = repos.create_team(NewTeam::new("Engines", ada.id, PlanType::Business)).await?;
    let account = NewSocialAccount {
        user_id: ada.id,
        platform: Platform::Facebook,
        platform_id: format!("page-{}", &run[..8]),
        username: "engines".into(),
        access_token: Secret::new("page-token"),
        refresh_token: None,
        token_expires: None,
        permissions: Vec::new(),
    };
    let account = repos.connect_account(team.id, account).await?;
    let due = Utc::now() + Duration::milliseconds(500);
    for i in 0..30 {
        let post = repos.create_post(team.id, NewPost::draft(ada.id, format!("Engine note {i}"))).await?;
        let schedule = NewSchedule {
            user_id: ada.id,
            post_id: post.post.id,
            social_account_id: account.id,
            scheduled_time: due,
            timezone: "Europe/London".into(),
        };
        repos.create_schedule(team.id, schedule).await?;
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;

    let platform = Arc::new(FakePlatform::default());
    let config = PublisherConfig {
        batch: 8,
        lease: Duration::seconds(2),
        policy: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::milliseconds(100),
            max_delay: Duration::seconds(1),
        },
        idle: std::time::Duration::from_millis(50),
    };
    let (stop, shutdown) = watch::channel(false);
    let workers: Vec<_> = (0..2)
        .map(|i| {
            let publisher = Publisher {
                repos: Arc::clone(&repos),
                platform: platform.clone(),
                worker: WorkerId::unique(&format!("publisher-{i}")),
                config,
            };
            let shutdown = shutdown.clone();
            tokio::spawn(async move { publisher.run(shutdown).await })
        })
        .collect();
    // Long enough for refusals to be retried and lost answers to lapse into outcome_unknown.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    stop.send(true).map_err(|e| Error::backend(clientnest::error::store::LOCAL, e))?;
    for (i, w) in workers.into_iter().enumerate() {
        let tally = w.await.map_err(|e| Error::backend(clientnest::error::store::LOCAL, e))??;
        println!("worker {i}: {tally:?}");
    }

    // The reconciler's view: what may have gone out and needs a decision.
    let unknown = repos.unknown_outcomes(100).await?;
    let ours: Vec<_> = unknown.iter().filter(|s| s.team_id == team.id).collect();
    let posted = platform.posted.lock().expect("lock").clone();
    for s in &ours {
        // This fake platform can be asked: did the attempt with this key go out?
        let went_out =
            s.attempt_id.is_some_and(|a| posted.get(&s.id).is_some_and(|keys| keys.contains(&a.to_string())));
        let resolution = if went_out {
            Resolution::ConfirmPublished(format!("found-{}", &s.id.to_string()[..8]))
        } else {
            Resolution::Retry
        };
        repos.resolve_outcome(team.id, s.id, resolution).await?;
    }
    let twice = posted.values().filter(|keys| keys.len() > 1).count();
    println!("{} unknown outcomes resolved; schedules posted twice: {twice}", ours.len());
    assert_eq!(twice, 0, "no schedule was posted twice");
    Ok(())
}
