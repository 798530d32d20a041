//! PostgreSQL load generator: seeds teams x users x posts through the library's bulk path, then
//! runs the hot paths at 1 and 4 connections, each beside its raw baseline in the same run, and
//! prints one table (workload, connections, ops/s, p50, p95, baseline, baseline ops/s, ratio,
//! target).
//!
//! | workload | the library | baseline |
//! | --- | --- | --- |
//! | W0 seed | `import_posts`, one call per team (2,000 posts with 0-3 media) | `psql \copy` of the same posts and media |
//! | W1 feed | `feed(team, first 20)` of a random team | the fastest of five raw forms under `pgbench -M prepared`: the library's `UNION ALL`, the former flat join and `jsonb_agg`, typed arrays, two statements |
//! | W2 create | `create_post` (2 media) then `create_schedule` | `pgbench -M prepared` with the same three statements |
//! | W3 claim | workers `claim_due` 50 at a time until no schedule is due | `pgbench -M prepared` running `CLAIM_DUE` x50 with as many clients on the same due rows |
//! | W6 create | `create_post_with_schedules` (2 media, 1 schedule), one transaction | `pgbench -M prepared` with the same transaction |
//! | W4 ingest | `ingest_comments`, 5,000 per call | `psql \copy` of the same comments, one process per connection |
//! | W5 read | `unread_count` then `mark_all_read` per user | none |
//!
//! It works in a database of its own (`BENCH_PG_DB`, default `clientnest_bench`, dropped and
//! created on the server of `DATABASE_URL`), with the COPY baseline in its schema
//! `copy_baseline` (the same migrations). Run it with `scripts/bench-postgres` (release build).
//!
//! Knobs (environment): `BENCH_PG_TEAMS` (100), `BENCH_PG_USERS` (users per team, 10),
//! `BENCH_PG_POSTS` (posts per team, 2000), `BENCH_PG_SCHEDULES` (20000), `BENCH_PG_COMMENTS`
//! (100000), `BENCH_PG_INGEST_BATCH` (comments per `ingest_comments` call, 5000),
//! `BENCH_PG_SECS` (seconds per timed round, 5), `BENCH_PG_ROUNDS` (rounds per case,
//! the two sides alternating, the best of each side kept, 3), `BENCH_PG_THREADS` (client
//! threads, the number of cores: at `c` connections the library's runtime has `min(threads, c)`
//! tokio workers, as pgbench gets `-j min(threads, c)`), `BENCH_PG_KEEP=1` (keep the database afterwards), `BENCH_PG_PING=1`
//! (pools that ping a connection before each use, sqlx's default: shows what that round trip costs),
//! `BENCH_PG_SYNC_COMMIT=off` (both sides: shows what waiting for the WAL flush costs),
//! `BENCH_PG_LOG_MS=5` (log statements slower than that, for server-side durations) and
//! `BENCH_PG_ONLY=w1,w6` (W0 and then only these; `w1`...`w6`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clientnest::postgres::{PgConfig, PgStore};
use clientnest::prelude::*;
use clientnest_testkit::pg::with_database;
use tokio::runtime::Runtime;

#[path = "postgres_load/baseline.rs"]
mod baseline;
#[path = "postgres_load/seed.rs"]
mod seed;
#[path = "postgres_load/workloads.rs"]
mod workloads;

use baseline::{Base, pgbench, psql};
use clientnest_testkit::measure::{Stats, ratio};
use seed::World;

/// Any failure of the bench, boxed (`Send + Sync`, so it crosses tasks).
pub(crate) type BenchError = Box<dyn std::error::Error + Send + Sync>;
/// The bench's results.
pub(crate) type BenchResult<T> = Result<T, BenchError>;

/// Sizes, durations and where the server is.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// `DATABASE_URL`: where to create the bench database.
    admin_url: String,
    /// The bench database's URL.
    pub(crate) url: String,
    /// The bench database's name (`BENCH_PG_DB`, default `clientnest_bench`), dropped and
    /// created afresh at the start.
    db: String,
    pub(crate) teams: usize,
    pub(crate) users_per_team: usize,
    pub(crate) posts_per_team: usize,
    pub(crate) schedules: usize,
    pub(crate) comments: usize,
    /// Comments per `ingest_comments` call in W4.
    pub(crate) ingest_batch: usize,
    /// Length of each timed round (W1, W2), both sides.
    pub(crate) secs: Duration,
    /// Rounds per case, the two sides alternating; the best round of each side is kept.
    pub(crate) rounds: usize,
    /// The most client threads: tokio workers of the library's runtime and pgbench's `-j`, at
    /// most one per connection on both sides.
    pub(crate) threads: usize,
    keep: bool,
    /// Whether pools ping a connection before handing it out (sqlx's default; off in `PgConfig`).
    ping: bool,
    /// `synchronous_commit` for every session of both sides, when set (an experiment).
    sync_commit: Option<String>,
    /// `log_min_duration_statement` of the bench database, when set (an experiment).
    log_ms: Option<usize>,
    /// The workloads to run after W0 (`w1`...`w5`), all by default.
    only: Vec<String>,
}

fn env_usize(name: &str, default: usize) -> BenchResult<usize> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| format!("{name}={v} is not a number").into()),
        Err(_) => Ok(default),
    }
}

impl Config {
    /// Whether workload `w` (`w1`...`w5`) runs.
    fn runs(&self, w: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == w)
    }

    fn from_env() -> BenchResult<Config> {
        let admin_url =
            std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let db = std::env::var("BENCH_PG_DB").unwrap_or_else(|_| "clientnest_bench".to_owned());
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Config {
            url: with_database(&admin_url, &db).ok_or("DATABASE_URL has no scheme")?,
            admin_url,
            db,
            teams: env_usize("BENCH_PG_TEAMS", 100)?.max(1),
            users_per_team: env_usize("BENCH_PG_USERS", 10)?.max(1),
            posts_per_team: env_usize("BENCH_PG_POSTS", 2000)?.min(clientnest::constraint::MAX_BATCH),
            schedules: env_usize("BENCH_PG_SCHEDULES", 20_000)?,
            comments: env_usize("BENCH_PG_COMMENTS", 100_000)?,
            ingest_batch: env_usize("BENCH_PG_INGEST_BATCH", 5_000)?.clamp(1, clientnest::constraint::MAX_BATCH),
            secs: Duration::from_secs(env_usize("BENCH_PG_SECS", 5)? as u64),
            rounds: env_usize("BENCH_PG_ROUNDS", 3)?.max(1),
            threads: env_usize("BENCH_PG_THREADS", cores)?.max(1),
            keep: std::env::var("BENCH_PG_KEEP").is_ok_and(|v| v == "1"),
            ping: std::env::var("BENCH_PG_PING").is_ok_and(|v| v == "1"),
            sync_commit: std::env::var("BENCH_PG_SYNC_COMMIT").ok(),
            log_ms: std::env::var("BENCH_PG_LOG_MS").ok().map(|v| v.parse()).transpose()?,
            only: std::env::var("BENCH_PG_ONLY")
                .map(|v| v.split(',').map(|w| w.trim().to_lowercase()).collect())
                .unwrap_or_default(),
        })
    }
}

/// What a row must reach to pass: a share of the baseline, or nothing.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// At least this share of the baseline.
    Ratio(f64),
    None,
}

/// One line of the results table: the workload, its concurrency, our figures and the
/// baseline's.
struct Row {
    workload: String,
    conc: usize,
    ours: Stats,
    baseline: Option<(&'static str, Base)>,
    target: Target,
}

impl Row {
    fn ratio(&self) -> Option<f64> {
        self.baseline.map(|(_, b)| ratio(self.ours.per_sec, b.per_sec))
    }

    fn verdict(&self) -> String {
        match (self.target, self.ratio()) {
            (Target::Ratio(t), Some(r)) => format!(">= {t}x: {}", if r >= t { "met" } else { "MISSED" }),
            _ => String::new(),
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn print_table(rows: &[Row]) {
    println!(
        "| workload | conns | ops/s | p50 | p95 | client CPU/op | baseline | baseline ops/s | baseline CPU/op | ratio | target |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |");
    for r in rows {
        let (name, base, base_cpu) = match r.baseline {
            Some((n, b)) => (n, format!("{:.0}", b.per_sec), us(b.cpu_per_unit)),
            None => ("-", "-".to_owned(), "-".to_owned()),
        };
        let ratio = r.ratio().map_or("-".to_owned(), |x| format!("{x:.2}"));
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {name} | {base} | {base_cpu} | {ratio} | {} |",
            r.workload,
            r.conc,
            r.ours.per_sec,
            ms(r.ours.p50),
            ms(r.ours.p95),
            us(r.ours.cpu_per_unit),
            r.verdict()
        );
    }
}

/// A store whose pool holds exactly `n` connections: the library's pool options
/// ([`PgConfig::pool_options`], as `PgStore::connect` uses them), except for the experiments
/// `BENCH_PG_PING=1` (ping before each use) and `BENCH_PG_SYNC_COMMIT`.
async fn connect(cfg: &Config, n: u32) -> BenchResult<PgStore> {
    let config = PgConfig::new(&cfg.url).with_max_connections(n).with_min_connections(n);
    let mut options = config.connect_options()?;
    if let Some(mode) = &cfg.sync_commit {
        options = options.options([("synchronous_commit", mode.as_str())]);
    }
    let pool = config.pool_options().test_before_acquire(cfg.ping).connect_with(options).await?;
    Ok(PgStore::from_pool(pool, KeyRing::new("bench", [7u8; 32])?))
}

/// Run `work` on a fresh store of `n` connections, then close its pool.
fn with_store<T>(
    rt: &Runtime,
    cfg: &Config,
    n: usize,
    work: impl AsyncFnOnce(&PgStore) -> BenchResult<T>,
) -> BenchResult<T> {
    rt.block_on(async {
        let store = connect(cfg, n as u32).await?;
        let out = work(&store).await;
        store.close().await;
        out
    })
}

/// A time-ordered UUID made by the server, for the pgbench scripts and SQL set-up (the library
/// makes v7 ids on the client; random v4 ids would scatter the primary key's inserts).
const UUID7_FN: &str = "CREATE FUNCTION bench_uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS $$ \
     SELECT encode(overlay(uuid_send(gen_random_uuid()) PLACING \
       substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 'hex')::uuid $$";

/// A fresh database, migrated (public and `copy_baseline`), with the world seeded.
fn prepare(rt: &Runtime, cfg: &Config) -> BenchResult<Arc<World>> {
    psql(&cfg.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", cfg.db))?;
    psql(&cfg.admin_url, &format!("CREATE DATABASE {}", cfg.db))?;
    if let Some(ms) = cfg.log_ms {
        psql(&cfg.admin_url, &format!("ALTER DATABASE {} SET log_min_duration_statement = {ms}", cfg.db))?;
    }
    psql(&cfg.url, "CREATE SCHEMA copy_baseline")?;
    psql(&cfg.url, UUID7_FN)?;
    let world = rt.block_on(async {
        let store = connect(cfg, 4).await?;
        store.migrate().await?;
        let baseline = PgConfig::new(&cfg.url).with_search_path("copy_baseline").with_max_connections(1);
        PgStore::connect(&baseline, KeyRing::new("bench", [7u8; 32])?).await?.migrate().await?;
        let world = seed::world(&store, cfg).await?;
        store.close().await;
        Ok::<_, BenchError>(world)
    })?;
    for table in ["users", "teams", "team_members", "social_accounts"] {
        psql(&cfg.url, &format!("INSERT INTO copy_baseline.{table} SELECT * FROM public.{table}"))?;
    }
    Ok(Arc::new(world))
}

/// The best of a baseline's rounds.
fn best_base(a: Base, b: Base) -> Base {
    if b.per_sec > a.per_sec { b } else { a }
}

/// W0: seed the posts, one group of teams per round, each group imported by the library and
/// then copied by psql.
fn w0(rt: &Runtime, cfg: &Config, world: &World, dir: &std::path::Path) -> BenchResult<Row> {
    let (mut ours, mut copy, mut posts, mut media) = (Stats::default(), Base::default(), 0, 0);
    let per_round = world.teams.len().div_ceil(cfg.rounds);
    for start in (0..world.teams.len()).step_by(per_round) {
        let teams = start..(start + per_round).min(world.teams.len());
        let seeded = with_store(rt, cfg, 1, async |store| seed::seed_posts(store, world, cfg, dir, teams).await)?;
        (ours, copy) = (ours.best(seeded.ours), best_base(copy, seeded.copy));
        (posts, media) = (posts + seeded.posts, media + seeded.media);
    }
    eprintln!("seeded {posts} posts with {media} media");
    psql(&cfg.url, "VACUUM ANALYZE")?;
    Ok(Row {
        workload: "W0 seed: import_posts (posts/s)".to_owned(),
        conc: 1,
        ours,
        baseline: Some(("psql \\copy", copy)),
        target: Target::Ratio(0.8),
    })
}

/// The pgbench scripts of the timed cases: W1's raw forms (a name and one script per team
/// each), W2's and W6's.
struct Scripts {
    feed: Vec<(&'static str, Vec<PathBuf>)>,
    create: Vec<PathBuf>,
    scheduled: Vec<PathBuf>,
}

/// W1's result for one raw form at one concurrency (its best round).
struct FormRow {
    name: &'static str,
    conc: usize,
    base: Base,
    library: f64,
}

/// W1, W2 and W6 at one concurrency: rounds of the library and of pgbench, alternating. W1's
/// baseline is the fastest of its raw forms (each form's best round), every form listed apart.
fn timed(
    rt: &Runtime,
    cfg: &Config,
    world: &Arc<World>,
    scripts: &Scripts,
    c: usize,
) -> BenchResult<(Vec<Row>, Vec<FormRow>)> {
    let (mut feed, mut create, mut scheduled) = (Stats::default(), Stats::default(), Stats::default());
    let mut forms = vec![Base::default(); scripts.feed.len()];
    let (mut create_base, mut scheduled_base) = (Base::default(), Base::default());
    let secs = cfg.secs.as_secs();
    for _ in 0..cfg.rounds {
        if cfg.runs("w1") {
            feed = feed.best(with_store(rt, cfg, c, async |store| workloads::feed(store, world, c, cfg.secs).await)?);
            for (best, (_, files)) in forms.iter_mut().zip(&scripts.feed) {
                *best = best_base(*best, pgbench(&cfg.url, files, c, cfg.threads, secs)?);
            }
        }
        if cfg.runs("w2") {
            create =
                create.best(with_store(rt, cfg, c, async |store| workloads::create(store, world, c, cfg.secs).await)?);
            create_base = best_base(create_base, pgbench(&cfg.url, &scripts.create, c, cfg.threads, secs)?);
        }
        if cfg.runs("w6") {
            scheduled = scheduled.best(with_store(rt, cfg, c, async |store| {
                workloads::create_scheduled(store, world, c, cfg.secs).await
            })?);
            scheduled_base = best_base(scheduled_base, pgbench(&cfg.url, &scripts.scheduled, c, cfg.threads, secs)?);
        }
    }
    let row = |workload: &str, ours, base| Row {
        workload: workload.to_owned(),
        conc: c,
        ours,
        baseline: Some(base),
        target: Target::Ratio(0.9),
    };
    let mut rows = Vec::new();
    let mut form_rows = Vec::new();
    if cfg.runs("w1") {
        let best = scripts
            .feed
            .iter()
            .zip(&forms)
            .max_by(|a, b| a.1.per_sec.total_cmp(&b.1.per_sec))
            .map(|((name, _), base)| (*name, *base))
            .ok_or("W1 has no raw form")?;
        rows.push(row("W1 team feed (vs the fastest raw form)", feed, best));
        for ((name, _), base) in scripts.feed.iter().zip(&forms) {
            form_rows.push(FormRow { name, conc: c, base: *base, library: feed.per_sec });
        }
    }
    if cfg.runs("w2") {
        rows.push(row(
            "W2 create_post + create_schedule (2 transactions)",
            create,
            ("pgbench -M prepared", create_base),
        ));
    }
    if cfg.runs("w6") {
        rows.push(row(
            "W6 create_post_with_schedules (1 transaction)",
            scheduled,
            ("pgbench -M prepared, same transaction", scheduled_base),
        ));
    }
    Ok((rows, form_rows))
}

/// W1's raw forms, each beside the library's feed.
fn print_forms(forms: &[FormRow]) {
    if forms.is_empty() {
        return;
    }
    println!();
    println!("| W1 raw form (pgbench -M prepared) | conns | ops/s | client CPU/op | library ops/s | library / form |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for f in forms {
        println!(
            "| {} | {} | {:.0} | {} | {:.0} | {:.2} |",
            f.name,
            f.conc,
            f.base.per_sec,
            us(f.base.cpu_per_unit),
            f.library,
            ratio(f.library, f.base.per_sec)
        );
    }
}

/// W3 at one number of workers, beside pgbench running the same claim statement with as many
/// clients on the same due rows (both sides start from the same reset schedules).
fn w3(rt: &Runtime, cfg: &Config, workers: usize, dir: &std::path::Path) -> BenchResult<Row> {
    let (mut stats, mut duplicates, mut base) = (Stats::default(), 0, Base::default());
    for _ in 0..cfg.rounds {
        workloads::reset_schedules(cfg)?;
        let (round, dups) =
            with_store(rt, cfg, workers, async |store| workloads::claim(store, workers, cfg.schedules).await)?;
        (stats, duplicates) = (stats.best(round), duplicates + dups);
        workloads::reset_schedules(cfg)?;
        let (raw, twice) = workloads::claim_pgbench(cfg, workers, cfg.schedules, dir)?;
        if twice > 0 {
            return Err(format!("W3 pgbench: {twice} schedules were claimed twice").into());
        }
        base = best_base(base, raw);
    }
    if duplicates > 0 {
        return Err(format!("W3: {duplicates} schedules were claimed twice").into());
    }
    Ok(Row {
        workload: format!("W3 claim_due x50 (schedules/s, {duplicates} duplicates)"),
        conc: workers,
        ours: stats,
        baseline: Some(("pgbench -M prepared, CLAIM_DUE x50", base)),
        target: if workers == 4 { Target::Ratio(0.9) } else { Target::None },
    })
}

/// W4 at one concurrency, beside COPY.
fn w4(rt: &Runtime, cfg: &Config, world: &World, c: usize, dir: &std::path::Path) -> BenchResult<Row> {
    let (mut ours, mut copy) = (Stats::default(), Base::default());
    for round in 0..cfg.rounds {
        let run = c * 100 + round;
        let (o, b) = with_store(rt, cfg, c, async |store| workloads::ingest(store, world, cfg, c, run, dir).await)?;
        (ours, copy) = (ours.best(o), best_base(copy, b));
    }
    Ok(Row {
        workload: format!("W4 ingest_comments x{} (comments/s)", cfg.ingest_batch),
        conc: c,
        ours,
        baseline: Some(("psql \\copy", copy)),
        target: Target::Ratio(0.8),
    })
}

/// W5 at one concurrency.
fn w5(rt: &Runtime, cfg: &Config, world: &World, c: usize) -> BenchResult<Row> {
    let mut ours = Stats::default();
    for _ in 0..cfg.rounds {
        workloads::reset_notifications(cfg)?;
        let round = with_store(rt, cfg, c, async |store| workloads::read_all(store, world.users(), c).await)?;
        ours = ours.best(round);
    }
    Ok(Row {
        workload: "W5 unread_count + mark_all_read (users/s)".to_owned(),
        conc: c,
        ours,
        baseline: None,
        target: Target::None,
    })
}

fn run() -> BenchResult<()> {
    let cfg = Config::from_env()?;
    if let Some(mode) = &cfg.sync_commit {
        let _ = baseline::PGOPTIONS.set(format!("-c synchronous_commit={mode}"));
    }
    let dir = std::env::temp_dir().join(format!("clientnest-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(cfg.threads).enable_all().build()?;
    // One connection, one client thread, as pgbench runs it (`-j 1`): a second worker would only
    // hand the connection's wake-ups from one thread to the other.
    let rt1 = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let rt_for = |c: usize| if cfg.threads.min(c) == 1 { &rt1 } else { &rt };
    eprintln!("preparing {} ({} teams x {} users)", cfg.db, cfg.teams, cfg.users_per_team);
    let world = prepare(&rt, &cfg)?;
    eprintln!("W0: seeding {} posts per team", cfg.posts_per_team);
    let mut rows = vec![w0(&rt, &cfg, &world, &dir)?];
    let scripts = Scripts {
        feed: workloads::feed_forms(&world, &cfg, &dir)?,
        create: workloads::create_scripts(&world, &dir)?,
        scheduled: workloads::create_scheduled_scripts(&world, &dir)?,
    };
    let mut forms = Vec::new();
    for c in [1, 4].into_iter().filter(|_| cfg.runs("w1") || cfg.runs("w2") || cfg.runs("w6")) {
        eprintln!("W1, W2, W6 at {c} connection(s), {} rounds of {} s per side", cfg.rounds, cfg.secs.as_secs());
        let (timed_rows, form_rows) = timed(rt_for(c), &cfg, &world, &scripts, c)?;
        rows.extend(timed_rows);
        forms.extend(form_rows);
    }
    if cfg.runs("w3") {
        eprintln!("W3: {} due schedules", cfg.schedules);
        workloads::due_schedules(&cfg, cfg.schedules)?;
        for c in [1, 4] {
            rows.push(w3(rt_for(c), &cfg, c, &dir)?);
        }
    }
    for c in [1, 4].into_iter().filter(|_| cfg.runs("w4")) {
        eprintln!("W4: {} comments at {c} connection(s)", cfg.comments);
        rows.push(w4(rt_for(c), &cfg, &world, c, &dir)?);
    }
    if cfg.runs("w5") {
        workloads::notifications(&cfg)?;
        for c in [1, 4] {
            eprintln!("W5 at {c} connection(s)");
            rows.push(w5(rt_for(c), &cfg, &world, c)?);
        }
    }
    print_table(&rows);
    print_forms(&forms);
    std::fs::remove_dir_all(&dir)?;
    if !cfg.keep {
        psql(&cfg.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", cfg.db))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("postgres_load: {e}");
            ExitCode::FAILURE
        }
    }
}
