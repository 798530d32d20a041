//! W1-W5: the hot paths through the library at a given concurrency, and the pgbench scripts
//! holding the SQL the library issues for W1 and W2.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use clientnest::postgres::{PgStore, sql};
use clientnest::prelude::*;

use crate::baseline::{Base, Csv, bind_sql, literal, pgbench_count, psql, psql_copy, psql_rows};
use crate::seed::{TeamInfo, World, ts};
use crate::{BenchResult, Config};
use clientnest_testkit::measure::{Rng, Stats, for_duration, own_cpu};

/// The largest number of pgbench scripts (pgbench takes at most 128).
const MAX_SCRIPTS: usize = 100;

/// The team and a user of it for operation `i` of `task` (spread over every team).
fn pick(world: &World, task: usize, i: usize) -> (&TeamInfo, UserId) {
    let mut rng = Rng::new(((task as u64) << 40) ^ i as u64);
    let team = &world.teams[rng.below(world.teams.len())];
    (team, team.users[rng.below(team.users.len())])
}

fn uuid_lit(id: impl std::fmt::Display) -> String {
    format!("'{id}'::uuid")
}

/// W1 on the library: the first feed page (20 posts with media) of a random team.
pub(crate) async fn feed(store: &PgStore, world: &Arc<World>, tasks: usize, secs: Duration) -> BenchResult<Stats> {
    let (store, world) = (store.clone(), Arc::clone(world));
    for_duration(tasks, secs, move |task, i| {
        let (store, team) = (store.clone(), pick(&world, task, i).0.id);
        async move {
            store.feed(team, PageRequest::first(20)).await?;
            Ok(())
        }
    })
    .await
}

/// The first page of a team's published posts: `$1` team, `$2`/`$3` keyset, `$4` rows.
macro_rules! feed_page {
    () => {
        "SELECT * FROM posts WHERE team_id = $1 AND status = 'published' AND (created_at, id) < ($2, $3) \
         ORDER BY created_at DESC, id DESC LIMIT $4"
    };
}

/// The library's feed statement before the `UNION ALL`: the page `LEFT JOIN`ed with its media,
/// one row per media item with the post's columns on each.
const FEED_FLAT: &str = concat!(
    "WITH page AS (",
    feed_page!(),
    ") SELECT page.*, m.id AS m_id, m.media_type AS m_media_type, m.file_url AS m_file_url, \
     m.file_size AS m_file_size, m.dimensions AS m_dimensions, m.alt_text AS m_alt_text, \
     m.order_index AS m_order_index, m.created_at AS m_created_at, m.content_hash AS m_content_hash \
     FROM page LEFT JOIN post_media m ON m.team_id = page.team_id AND m.post_id = page.id \
     ORDER BY page.created_at DESC, page.id DESC, m.order_index"
);

/// The library's feed statement before the flat join: the page, each post's media as
/// `jsonb_agg(to_jsonb(m))`.
const FEED_JSONB: &str = concat!(
    "WITH page AS (",
    feed_page!(),
    ") SELECT page.*, COALESCE((SELECT jsonb_agg(to_jsonb(m) ORDER BY m.order_index) FROM post_media m \
     WHERE m.team_id = page.team_id AND m.post_id = page.id), '[]'::jsonb) AS media \
     FROM page ORDER BY page.created_at DESC, page.id DESC"
);

/// The feed with each post's media as typed arrays, one `array_agg` per column.
const FEED_ARRAYS: &str = concat!(
    "WITH page AS (",
    feed_page!(),
    ") SELECT page.*, m.* FROM page LEFT JOIN LATERAL (SELECT array_agg(m.id ORDER BY m.order_index) AS m_ids, \
     array_agg(m.media_type ORDER BY m.order_index) AS m_types, array_agg(m.file_url ORDER BY m.order_index) AS m_urls, \
     array_agg(m.file_size ORDER BY m.order_index) AS m_sizes, array_agg(m.dimensions ORDER BY m.order_index) AS m_dims, \
     array_agg(m.alt_text ORDER BY m.order_index) AS m_alts, array_agg(m.order_index ORDER BY m.order_index) AS m_order, \
     array_agg(m.created_at ORDER BY m.order_index) AS m_created, \
     array_agg(m.content_hash ORDER BY m.order_index) AS m_hashes \
     FROM post_media m WHERE m.team_id = page.team_id AND m.post_id = page.id) m ON true \
     ORDER BY page.created_at DESC, page.id DESC"
);

/// Second of the two-statement feed: the media of the page's posts `$2` of team `$1`.
const FEED_MEDIA: &str =
    "SELECT * FROM post_media WHERE team_id = $1 AND post_id = ANY($2) ORDER BY post_id, order_index";

/// W1's raw forms for pgbench (each returns the same page of posts with their media): a name and
/// one script per team. The two-statement form's second statement names the page's post ids as
/// a literal array (read here, once: W1 and W2 never change which posts are published), as
/// pgbench cannot carry a set of rows from one statement to the next; the round trips and the
/// server's work are those of a client that does.
pub(crate) fn feed_forms(world: &World, cfg: &Config, dir: &Path) -> BenchResult<Vec<(&'static str, Vec<PathBuf>)>> {
    let first_page = ["'10000-01-01T00:00:00Z'::timestamptz", "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid"];
    let pages: std::collections::HashMap<String, String> = psql_rows(
        &cfg.url,
        "SELECT team_id, array_agg(id)::text FROM (SELECT team_id, id, row_number() OVER \
           (PARTITION BY team_id ORDER BY created_at DESC, id DESC) AS n FROM posts WHERE status = 'published') x \
         WHERE n <= 21 GROUP BY team_id",
    )?
    .into_iter()
    .filter_map(|l| l.split_once('|').map(|(t, ids)| (t.to_owned(), ids.to_owned())))
    .collect();
    let forms: [(&'static str, &str); 5] = [
        ("UNION ALL of the page's rows and its media rows (the library's SQL)", sql::FEED),
        ("flat LEFT JOIN of the page and its media (the library's SQL before)", FEED_FLAT),
        ("jsonb_agg of media per post (the library's SQL before the flat join)", FEED_JSONB),
        ("typed arrays: array_agg per media column", FEED_ARRAYS),
        ("two statements: the page, then media = ANY(page ids)", feed_page!()),
    ];
    let mut out = Vec::new();
    for (f, (name, query)) in forms.into_iter().enumerate() {
        let mut scripts = Vec::new();
        for (t, team) in world.teams.iter().take(MAX_SCRIPTS).enumerate() {
            let team_lit = uuid_lit(team.id);
            let mut script = format!("{};\n", bind_sql(query, &[&team_lit, first_page[0], first_page[1], "21"])?);
            if f == 4 {
                let ids = pages.get(&team.id.to_string()).map_or("{}", String::as_str);
                let media = bind_sql(FEED_MEDIA, &[&team_lit, &format!("{}::uuid[]", literal(ids))])?;
                script.push_str(&format!("{media};\n"));
            }
            let path = dir.join(format!("w1_form{f}_{t}.sql"));
            std::fs::write(&path, script)?;
            scripts.push(path);
        }
        out.push((name, scripts));
    }
    Ok(out)
}

/// A post with two images for Facebook.
fn w2_post(user: UserId, task: usize, i: usize) -> NewPost {
    let mut post = NewPost::draft(user, format!("W2 post {task}-{i}: new arrivals this week"));
    post.platforms = vec![Platform::Facebook];
    post.media = (1..=2)
        .map(|m| NewPostMedia::new(MediaType::Image, format!("https://cdn.example.com/w2/{m}.png"), 2048 * m))
        .collect();
    post
}

/// W2 on the library: `create_post` with 2 media, then `create_schedule` on the team's account.
pub(crate) async fn create(store: &PgStore, world: &Arc<World>, tasks: usize, secs: Duration) -> BenchResult<Stats> {
    let (store, world) = (store.clone(), Arc::clone(world));
    for_duration(tasks, secs, move |task, i| {
        let store = store.clone();
        let (team, user) = pick(&world, task, i);
        let (team, account) = (team.id, team.account);
        async move {
            let post = store.create_post(team, w2_post(user, task, i)).await?;
            let schedule = NewSchedule {
                user_id: user,
                post_id: post.post.id,
                social_account_id: account,
                scheduled_time: Utc::now() + chrono::Duration::days(1),
                timezone: "Europe/Paris".to_owned(),
            };
            store.create_schedule(team, schedule).await?;
            Ok(())
        }
    })
    .await
}

/// The literals of `sql::CREATE_POST`'s parameters (also the first ones of
/// `sql::CREATE_POST_WITH_SCHEDULES`) for a Facebook post of `user_id` in `team_id` with two
/// images: its content, status and `scheduled_at` as given.
fn post_literals(user_id: &str, team_id: &str, content: &str, status: &str, scheduled_at: &str) -> Vec<String> {
    [
        "bench_uuid7()",
        user_id,
        team_id,
        "''::text",
        &literal(content),
        "'[]'::jsonb",
        &format!("'{status}'::text"),
        scheduled_at,
        "NULL::timestamptz",
        "false",
        "''::text",
        "'{}'::jsonb",
        "now()",
        "now()",
        "'{}'::jsonb",
        "ARRAY['facebook']::text[]",
        "ARRAY[bench_uuid7(), bench_uuid7()]",
        "ARRAY[NULL, NULL]::uuid[]",
        "ARRAY[NULL, NULL]::uuid[]",
        "ARRAY['image', 'image']::text[]",
        "ARRAY['https://cdn.example.com/w2/1.png', 'https://cdn.example.com/w2/2.png']::text[]",
        "ARRAY[2048, 4096]::int8[]",
        "ARRAY[NULL, NULL]::jsonb[]",
        "ARRAY['', '']::text[]",
        "ARRAY[0, 1]::int4[]",
        "ARRAY[now(), now()]::timestamptz[]",
        "ARRAY[NULL, NULL]::text[]",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// W2's three statements for one team, with literals for the values the client supplies.
fn create_script(team: &TeamInfo, user: UserId) -> BenchResult<String> {
    let (team_id, user_id, account) = (uuid_lit(team.id), uuid_lit(user), uuid_lit(team.account));
    let post = bind_sql(
        sql::CREATE_POST,
        &post_literals(&user_id, &team_id, "W2 post: new arrivals this week", "draft", "NULL::timestamptz"),
    )?;
    let refs = bind_sql(sql::SCHEDULE_REFERENCES, &[&team_id, ":id", &account, &user_id])?;
    let schedule = bind_sql(
        sql::CREATE_SCHEDULE,
        &[
            "bench_uuid7()",
            &user_id,
            &team_id,
            ":id",
            &account,
            "'facebook'::text",
            "(now() + interval '1 day')",
            "'Europe/Paris'::text",
            "'pending'::text",
            "0",
            "0",
            "NULL::uuid",
            "NULL::timestamptz",
            "now()",
            "now()",
            "(now() + interval '1 day')",
            "NULL::text",
            "NULL::timestamptz",
            "NULL::text",
            "NULL::text",
        ],
    )?;
    Ok(format!("{post} \\gset\n{refs};\n{schedule};\n"))
}

/// W2 for pgbench: one script per team.
pub(crate) fn create_scripts(world: &World, dir: &Path) -> BenchResult<Vec<PathBuf>> {
    world
        .teams
        .iter()
        .take(MAX_SCRIPTS)
        .enumerate()
        .map(|(t, team)| {
            let path = dir.join(format!("w2_create_{t}.sql"));
            std::fs::write(&path, create_script(team, team.users[t % team.users.len()])?)?;
            Ok(path)
        })
        .collect()
}

/// W6 on the library: `create_post_with_schedules`, a post with 2 media and one schedule on the
/// team's account (the seed gives each team one), in one transaction.
pub(crate) async fn create_scheduled(
    store: &PgStore,
    world: &Arc<World>,
    tasks: usize,
    secs: Duration,
) -> BenchResult<Stats> {
    let (store, world) = (store.clone(), Arc::clone(world));
    for_duration(tasks, secs, move |task, i| {
        let store = store.clone();
        let (team, user) = pick(&world, task, i);
        let (team, account) = (team.id, team.account);
        async move {
            let schedule = NewPostSchedule::new(account, Utc::now() + chrono::Duration::days(1), "Europe/Paris");
            store.create_post_with_schedules(team, w2_post(user, task, i), vec![schedule]).await?;
            Ok(())
        }
    })
    .await
}

/// W6's transaction for one team: `BEGIN`, the library's two statements
/// (`sql::NEW_POST_ACCOUNTS`, `sql::CREATE_POST_WITH_SCHEDULES`) with literals for what the
/// client supplies (the post stored `scheduled`, as the library stores it), `COMMIT`.
fn create_scheduled_script(team: &TeamInfo, user: UserId) -> BenchResult<String> {
    let (team_id, user_id, account) = (uuid_lit(team.id), uuid_lit(user), uuid_lit(team.account));
    let accounts = bind_sql(sql::NEW_POST_ACCOUNTS, &[&team_id, &user_id, &format!("ARRAY[{account}]")])?;
    let when = "(now() + interval '1 day')";
    let mut args = post_literals(&user_id, &team_id, "W6 post: new arrivals this week", "scheduled", when);
    args.extend([
        "ARRAY[bench_uuid7()]".to_owned(),
        format!("ARRAY[{user_id}]"),
        "ARRAY[NULL]::uuid[]".to_owned(),
        "ARRAY[NULL]::uuid[]".to_owned(),
        format!("ARRAY[{account}]"),
        "ARRAY['facebook']::text[]".to_owned(),
        format!("ARRAY[{when}]"),
        "ARRAY['Europe/Paris']::text[]".to_owned(),
        "ARRAY['pending']::text[]".to_owned(),
        "ARRAY[0]::int4[]".to_owned(),
        "ARRAY[0]::int4[]".to_owned(),
        "ARRAY[NULL]::uuid[]".to_owned(),
        "ARRAY[NULL]::timestamptz[]".to_owned(),
        "ARRAY[now()]::timestamptz[]".to_owned(),
        "ARRAY[now()]::timestamptz[]".to_owned(),
        format!("ARRAY[{when}]"),
        "ARRAY[NULL]::text[]".to_owned(),
        "ARRAY[NULL]::timestamptz[]".to_owned(),
        "ARRAY[NULL]::text[]".to_owned(),
        "ARRAY[NULL]::text[]".to_owned(),
    ]);
    let insert = bind_sql(sql::CREATE_POST_WITH_SCHEDULES, &args)?;
    Ok(format!("BEGIN;\n{accounts};\n{insert};\nCOMMIT;\n"))
}

/// W6 for pgbench: one script per team.
pub(crate) fn create_scheduled_scripts(world: &World, dir: &Path) -> BenchResult<Vec<PathBuf>> {
    world
        .teams
        .iter()
        .take(MAX_SCRIPTS)
        .enumerate()
        .map(|(t, team)| {
            let path = dir.join(format!("w6_create_{t}.sql"));
            std::fs::write(&path, create_scheduled_script(team, team.users[t % team.users.len()])?)?;
            Ok(path)
        })
        .collect()
}

/// W3 for pgbench: `clients` clients run the library's claim statement (`sql::CLAIM_DUE`, batch
/// 50, a 10-minute lease) on the same due schedules, `expected / 50 / clients` times each (as
/// many claims as the library needs, none empty). Returns the schedules claimed per second, the
/// claims' seconds and pgbench's CPU per schedule, and how many schedules were claimed twice
/// (`attempt_count > 1`; must be 0).
pub(crate) fn claim_pgbench(cfg: &Config, clients: usize, expected: usize, dir: &Path) -> BenchResult<(Base, usize)> {
    let script = dir.join("w3_claim.sql");
    let claim =
        bind_sql(sql::CLAIM_DUE, &["'pgbench-claimer'::text", "(now() + interval '10 minutes')", "now()", "50"])?;
    std::fs::write(&script, format!("{claim};\n"))?;
    let per_client = expected.div_ceil(50 * clients);
    let (_, elapsed, cpu) = pgbench_count(&cfg.url, &script, clients, cfg.threads, per_client)?;
    let counts = psql_rows(
        &cfg.url,
        "SELECT count(*) FILTER (WHERE status = 'processing'), count(*) FILTER (WHERE attempt_count > 1) \
         FROM schedules WHERE timezone = 'Etc/UTC'",
    )?;
    let (claimed, twice) = counts
        .first()
        .and_then(|l| l.split_once('|'))
        .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
        .ok_or("no counts after the pgbench claims")?;
    Ok((Base::of(claimed, elapsed, cpu), twice))
}

/// W3 setup: `n` pending schedules due within the last hour, on random posts that have no
/// schedule yet (W2 and W6 schedule theirs; not measured).
pub(crate) fn due_schedules(cfg: &Config, n: usize) -> BenchResult<()> {
    psql(
        &cfg.url,
        &format!(
            "INSERT INTO schedules (id, user_id, team_id, post_id, social_account_id, platform, scheduled_time, \
               timezone, status, retry_count, created_at, updated_at, next_attempt_at) \
             SELECT bench_uuid7(), p.user_id, p.team_id, p.id, a.id, 'facebook', p.due, 'Etc/UTC', 'pending', 0, \
               p.due - interval '1 hour', p.due, p.due \
             FROM (SELECT *, now() - interval '1 hour' + random() * interval '50 minutes' AS due \
                   FROM posts WHERE NOT EXISTS (SELECT 1 FROM schedules s WHERE s.post_id = posts.id) \
                   ORDER BY random() LIMIT {n}) p \
             JOIN social_accounts a ON a.team_id = p.team_id"
        ),
    )
}

/// W3 between runs: every seeded schedule pending again, the table vacuumed.
pub(crate) fn reset_schedules(cfg: &Config) -> BenchResult<()> {
    psql(
        &cfg.url,
        "UPDATE schedules SET status = 'pending', locked_by = NULL, locked_until = NULL, last_attempt = NULL, \
           attempt_count = 0, attempt_id = NULL \
         WHERE timezone = 'Etc/UTC'",
    )?;
    psql(&cfg.url, "VACUUM ANALYZE schedules")
}

/// W3 on the library: `workers` claimers take batches of 50 until none is due. Returns the
/// schedules per second and how many schedules were claimed twice (must be 0).
pub(crate) async fn claim(store: &PgStore, workers: usize, expected: usize) -> BenchResult<(Stats, usize)> {
    let (started, cpu) = (Instant::now(), own_cpu());
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let worker = WorkerId::unique(&format!("bench-{w}"));
                let (mut ids, mut latencies) = (Vec::new(), Vec::new());
                loop {
                    let call = Instant::now();
                    let batch = store.claim_due(&worker, ClaimRequest::new(50, chrono::Duration::minutes(10))).await?;
                    latencies.push(call.elapsed());
                    if batch.is_empty() {
                        return Ok::<_, Error>((ids, latencies));
                    }
                    ids.extend(batch.into_iter().map(|c| c.schedule.id));
                }
            })
        })
        .collect();
    let (mut ids, mut latencies) = (Vec::new(), Vec::new());
    for h in handles {
        let (i, l) = h.await??;
        ids.extend(i);
        latencies.extend(l);
    }
    let (elapsed, cpu) = (started.elapsed(), own_cpu().saturating_sub(cpu));
    let distinct: HashSet<ScheduleId> = ids.iter().copied().collect();
    if distinct.len() != expected {
        return Err(format!("W3 claimed {} distinct schedules, {expected} were due", distinct.len()).into());
    }
    Ok((Stats::of(ids.len(), elapsed, latencies).with_cpu(cpu), ids.len() - distinct.len()))
}

/// The comments columns the COPY baseline fills (every column).
const COMMENT_COLUMNS: &str = "id, team_id, account_id, platform_id, content, author_name, author_id, sentiment, priority, \
     status, replied_at, created_at, metadata";

/// W4's batch `b` of run `run`: `size` comments on one team's account, new platform ids per
/// run.
fn comments_of(team: &TeamInfo, b: usize, run: usize, size: usize) -> Vec<NewComment> {
    let mut rng = Rng::new(((run as u64) << 32) ^ b as u64);
    (0..size)
        .map(|i| {
            let mut c = NewComment::new(
                team.account,
                format!("r{run}-b{b}-c{i}"),
                "Love this! When does the spring collection ship to Canada?",
                format!("Fan {}", rng.below(10_000)),
                format!("fb-user-{}", rng.below(1_000_000)),
            );
            c.sentiment = Some([Sentiment::Positive, Sentiment::Neutral, Sentiment::Negative][rng.below(3)]);
            c.priority = [Priority::Low, Priority::Medium, Priority::High][rng.below(3)];
            c
        })
        .collect()
}

/// The same comments of `team` as CSV rows for COPY (fresh ids, created now).
fn write_comments(team: TeamId, batch: &[NewComment], out: &mut Csv) -> BenchResult<()> {
    let now = ts(Utc::now());
    for c in batch {
        out.text(&uuid::Uuid::now_v7().to_string())?.text(&team.to_string())?;
        out.text(&c.account_id.to_string())?.text(&c.platform_id)?;
        out.text(&c.content)?.text(&c.author_name)?.text(&c.author_id)?.value(c.sentiment.map(|s| s.as_str()))?;
        out.text(c.priority.as_str())?.text("new")?.value(None)?.text(&now)?.text(&c.metadata.to_string())?.end()?;
    }
    Ok(())
}

/// W4 on the library (`tasks` at once, `ingest_batch` comments per call) and with `\copy` of
/// the same rows (`tasks` psql processes at once): comments per second of each.
pub(crate) async fn ingest(
    store: &PgStore,
    world: &World,
    cfg: &Config,
    tasks: usize,
    run: usize,
    dir: &Path,
) -> BenchResult<(Stats, Base)> {
    let batches = (cfg.comments / cfg.ingest_batch).max(1);
    let mut files: Vec<PathBuf> = (0..tasks).map(|k| dir.join(format!("comments_{run}_{k}.csv"))).collect();
    let mut csv: Vec<Csv> = files.iter().map(|f| Csv::create(f)).collect::<BenchResult<_>>()?;
    let mut queues: Vec<Vec<(TeamId, Vec<NewComment>)>> = vec![Vec::new(); tasks];
    for b in 0..batches {
        let team = &world.teams[b % world.teams.len()];
        let batch = comments_of(team, b, run, cfg.ingest_batch);
        write_comments(team.id, &batch, &mut csv[b % tasks])?;
        queues[b % tasks].push((team.id, batch));
    }
    csv.into_iter().try_for_each(Csv::finish)?;
    let (started, cpu) = (Instant::now(), own_cpu());
    let handles: Vec<_> = queues
        .into_iter()
        .map(|queue| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for (team, batch) in queue {
                    let call = Instant::now();
                    store.ingest_comments(team, batch).await?;
                    latencies.push(call.elapsed());
                }
                Ok::<_, Error>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.await??);
    }
    let (elapsed, cpu) = (started.elapsed(), own_cpu().saturating_sub(cpu));
    let rows = batches * cfg.ingest_batch;
    let ours = Stats::of(rows, elapsed, latencies).with_cpu(cpu);
    let (copy_wall, copy_cpu) = psql_copy(&cfg.url, "copy_baseline.comments", COMMENT_COLUMNS, &files)?;
    files.iter_mut().for_each(|f| drop(std::fs::remove_file(f)));
    Ok((ours, Base::of(rows, copy_wall, copy_cpu)))
}

/// W5 setup: 10 unread notifications for every user (not measured).
pub(crate) fn notifications(cfg: &Config) -> BenchResult<()> {
    psql(
        &cfg.url,
        "INSERT INTO notifications (id, user_id, type, title, message, data, is_read, priority, created_at) \
         SELECT bench_uuid7(), u.id, 'comment', 'New comment', 'Someone commented on your post', '{}', false, \
           'medium', now() - g * interval '1 minute' \
         FROM users u CROSS JOIN generate_series(1, 10) g",
    )
}

/// W5 between runs: every notification unread again, the table vacuumed.
pub(crate) fn reset_notifications(cfg: &Config) -> BenchResult<()> {
    psql(&cfg.url, "UPDATE notifications SET is_read = false, read_at = NULL")?;
    psql(&cfg.url, "VACUUM ANALYZE notifications")
}

/// W5 on the library: for each user, `unread_count` then `mark_all_read`, `tasks` users at once.
pub(crate) async fn read_all(store: &PgStore, users: Vec<UserId>, tasks: usize) -> BenchResult<Stats> {
    let total = users.len();
    let (started, cpu) = (Instant::now(), own_cpu());
    let handles: Vec<_> = (0..tasks)
        .map(|k| {
            let store = store.clone();
            let mine: Vec<UserId> = users.iter().skip(k).step_by(tasks).copied().collect();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(mine.len());
                for user in mine {
                    let call = Instant::now();
                    let unread = store.unread_count(user).await?;
                    let marked = store.mark_all_read(user).await?;
                    latencies.push(call.elapsed());
                    if unread != marked {
                        return Err(format!("user {user}: {unread} unread but {marked} marked").into());
                    }
                }
                Ok::<_, crate::BenchError>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.await??);
    }
    let (elapsed, cpu) = (started.elapsed(), own_cpu().saturating_sub(cpu));
    Ok(Stats::of(total, elapsed, latencies).with_cpu(cpu))
}
