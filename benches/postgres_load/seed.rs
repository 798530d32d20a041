//! W0: the world the workloads run on (teams, users, accounts through the API) and the posts
//! seeded through the library's bulk path (`import_posts`), beside `psql \copy` of the same rows
//! into a schema with the same tables, constraints and indexes.

use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use clientnest::postgres::PgStore;
use clientnest::prelude::*;
use uuid::Uuid;

use crate::baseline::{Base, Csv, psql_copy};
use crate::{BenchResult, Config};
use clientnest_testkit::measure::{Rng, Stats, own_cpu};

/// The `posts` columns the COPY baseline fills (every column).
const POST_COLUMNS: &str = "id, user_id, team_id, title, content, hashtags, status, scheduled_at, published_at, \
     ai_generated, ai_prompt, engagement, created_at, updated_at, metadata, platforms";

/// The `post_media` columns the COPY baseline fills (every column).
const MEDIA_COLUMNS: &str =
    "id, team_id, post_id, media_type, file_url, file_size, dimensions, alt_text, order_index, created_at";

/// Filler for post text: one line of 91 characters, within every platform's text limit (X's
/// 280 is the lowest).
const LOREM: &str = "Launch week! Our spring collection is live: fresh colours, recycled fabrics, free shipping.";

/// A seeded team: its id, members and account.
#[derive(Debug, Clone)]
pub(crate) struct TeamInfo {
    /// The team's id.
    pub(crate) id: TeamId,
    /// Its members, the owner first.
    pub(crate) users: Vec<UserId>,
    /// Its active Facebook account.
    pub(crate) account: SocialAccountId,
}

/// Every seeded team, in seeding order.
#[derive(Debug, Clone)]
pub(crate) struct World {
    /// The teams, in seeding order.
    pub(crate) teams: Vec<TeamInfo>,
}

impl World {
    /// Every seeded user, team by team, each team's owner first.
    pub(crate) fn users(&self) -> Vec<UserId> {
        self.teams.iter().flat_map(|t| t.users.iter().copied()).collect()
    }
}

/// Teams with their users and account, through the API (not measured).
pub(crate) async fn world(store: &PgStore, cfg: &Config) -> BenchResult<World> {
    let hash = hash_password(&Secret::new("bench password"))?;
    let mut teams = Vec::with_capacity(cfg.teams);
    for t in 0..cfg.teams {
        let mut users = Vec::with_capacity(cfg.users_per_team);
        for u in 0..cfg.users_per_team {
            let email = format!("user{u}.team{t}@bench.example.com");
            users.push(store.create_user(NewUser::new(email, hash.clone(), "Bench", format!("User {u}"))).await?.id);
        }
        let (team, _) = store.create_team(NewTeam::new(format!("Team {t}"), users[0], PlanType::Business)).await?;
        for user in &users[1..] {
            store.add_member(team.id, NewTeamMember::new(*user, TeamRole::Editor)).await?;
        }
        let account = store.connect_account(team.id, account(users[0], t)).await?.id;
        teams.push(TeamInfo { id: team.id, users, account });
    }
    Ok(World { teams })
}

fn account(user: UserId, team: usize) -> NewSocialAccount {
    NewSocialAccount {
        user_id: user,
        platform: Platform::Facebook,
        platform_id: format!("page-{team}"),
        username: format!("team{team}"),
        access_token: Secret::new(format!("access-token-{team}")),
        refresh_token: Some(Secret::new(format!("refresh-token-{team}"))),
        token_expires: None,
        permissions: vec!["pages_manage_posts".to_owned()],
    }
}

/// A media item: images have dimensions and alt text.
fn media(rng: &mut Rng, team: usize, post: usize, i: usize) -> NewPostMedia {
    let kind = [MediaType::Image, MediaType::Image, MediaType::Video, MediaType::Gif][rng.below(4)];
    let mut m = NewPostMedia::new(
        kind,
        format!("https://cdn.example.com/t{team}/p{post}/{i}"),
        10_000 + rng.below(5_000_000) as i64,
    );
    if kind == MediaType::Image {
        m.dimensions = Some(Dimensions { width: 1080, height: 1350 });
        m.alt_text = "Product photo".to_owned();
    }
    m
}

/// The posts of one team: 0-3 media each, 70% published, created over the last 365 days.
pub(crate) fn posts_of(team: &TeamInfo, t: usize, cfg: &Config, now: DateTime<Utc>) -> Vec<ImportedPost> {
    let mut rng = Rng::new(t as u64);
    (0..cfg.posts_per_team)
        .map(|i| {
            let user = team.users[rng.below(team.users.len())];
            let mut post = NewPost::draft(user, format!("Team {t} post {i}. {LOREM}"));
            post.title = format!("Post {i}");
            post.hashtags = vec!["spring".to_owned(), format!("team{t}")];
            post.platforms = vec![Platform::Facebook];
            if rng.percent(70) {
                post.status = PostStatus::Published;
            }
            post.media = (0..rng.below(4)).map(|m| media(&mut rng, t, i, m)).collect();
            let age = chrono::Duration::seconds(rng.below(365 * 24 * 3600) as i64 + 60);
            ImportedPost { post, created_at: now - age }
        })
        .collect()
}

/// A time as PostgreSQL reads it.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    to_micros(t).to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    clientnest::clock::to_micros(t)
}

/// The same rows the library stores for `posts`, as CSV for COPY (fresh ids).
fn write_csv(team: TeamId, posts: &[ImportedPost], out: &mut Csv, media_out: &mut Csv) -> BenchResult<usize> {
    let mut media_rows = 0;
    for p in posts {
        let id = Uuid::now_v7().to_string();
        let created = ts(p.created_at);
        let published = (p.post.status == PostStatus::Published).then_some(created.as_str());
        let hashtags = serde_json::to_string(&p.post.hashtags)?;
        let metadata = p.post.metadata.to_string();
        out.text(&id)?.text(&p.post.user_id.to_string())?.text(&team.to_string())?;
        out.text(&p.post.title)?.text(&p.post.content)?.text(&hashtags)?.text(p.post.status.as_str())?;
        out.value(None)?.value(published)?.text("f")?.text(&p.post.ai_prompt)?.text("{}")?;
        out.text(&created)?.text(&created)?.text(&metadata)?.text("{facebook}")?.end()?;
        for (i, m) in p.post.media.iter().enumerate() {
            let dims = m.dimensions.map(|d| serde_json::to_string(&d)).transpose()?;
            media_out.text(&Uuid::now_v7().to_string())?.text(&team.to_string())?.text(&id)?;
            media_out.text(m.media_type.as_str())?;
            media_out.text(&m.file_url)?.text(&m.file_size.to_string())?.value(dims.as_deref())?;
            media_out.text(&m.alt_text)?.text(&i.to_string())?.text(&created)?.end()?;
            media_rows += 1;
        }
    }
    Ok(media_rows)
}

/// What one W0 round measured.
pub(crate) struct Seeded {
    /// The library: posts per second through `import_posts` (one call per team).
    pub(crate) ours: Stats,
    /// `psql \copy` of the same posts and media: posts per second.
    pub(crate) copy: Base,
    /// Posts and media rows stored by each side.
    pub(crate) posts: usize,
    pub(crate) media: usize,
}

/// Seed the posts of the teams in `teams` through `import_posts`, then COPY the same rows into
/// the baseline schema.
pub(crate) async fn seed_posts(
    store: &PgStore,
    world: &World,
    cfg: &Config,
    dir: &Path,
    teams: Range<usize>,
) -> BenchResult<Seeded> {
    let now = Utc::now();
    let (posts_file, media_file) = (dir.join("posts.csv"), dir.join("post_media.csv"));
    let (mut posts_csv, mut media_csv) = (Csv::create(&posts_file)?, Csv::create(&media_file)?);
    let (mut spent, mut cpu, mut latencies, mut posts, mut media) = (Duration::ZERO, Duration::ZERO, Vec::new(), 0, 0);
    for t in teams {
        let team = &world.teams[t];
        let batch = posts_of(team, t, cfg, now);
        media += write_csv(team.id, &batch, &mut posts_csv, &mut media_csv)?;
        posts += batch.len();
        let (started, cpu_before) = (Instant::now(), own_cpu());
        store.import_posts(team.id, batch).await?;
        let took = started.elapsed();
        cpu += own_cpu().saturating_sub(cpu_before);
        spent += took;
        latencies.push(took);
    }
    posts_csv.finish()?;
    media_csv.finish()?;
    let (posts_wall, posts_cpu) = psql_copy(&cfg.url, "copy_baseline.posts", POST_COLUMNS, &[posts_file])?;
    let (media_wall, media_cpu) = psql_copy(&cfg.url, "copy_baseline.post_media", MEDIA_COLUMNS, &[media_file])?;
    let copy = Base::of(posts, posts_wall + media_wall, posts_cpu + media_cpu);
    Ok(Seeded { ours: Stats::of(posts, spent, latencies).with_cpu(cpu), copy, posts, media })
}
