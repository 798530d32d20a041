//! Analytics load benchmark: the TimescaleDB / PostgreSQL adapter beside its raw baselines, in
//! the same run, on each target server and flavour.
//!
//! | part | the library | baseline |
//! | --- | --- | --- |
//! | ingest | `append_engagement` / `append_performance`, batches of `BENCH_ANALYTICS_BATCH` rows | `psql \copy` of the same rows (a CSV file written first) into the same table |
//! | rollup | `team_engagement` of one team, 90 Berlin days, over `BENCH_ANALYTICS_ROWS` engagement rows, after `refresh_rollups` (it reads the hourly continuous aggregate, or the plain flavour's rollup table) | the same result from raw SQL on the raw table (the adapter's own raw form and, on TimescaleDB, `last()`), and straight from the hourly rollup |
//! | size | `table_sizes` of `engagement` before and after `compress_before` (TimescaleDB) | the plain flavour's table |
//!
//! Every raw form's rows are finished by core's `team_engagement_points` and compared with the
//! library's answer: a form that gives another result fails the run.
//!
//! Targets (`BENCH_ANALYTICS_TARGETS`, comma-separated, default `plain,timescaledb`):
//! `plain` is the plain flavour on `DATABASE_URL`, `timescaledb` the TimescaleDB flavour on
//! `TIMESCALE_URL`, `plain@timescale` the plain flavour on the TimescaleDB server (same server
//! settings as `timescaledb`, so the flavours compare on equal terms). Each works in the schema
//! `BENCH_ANALYTICS_SCHEMA` (default `bench_analytics`), dropped before and after
//! (`BENCH_ANALYTICS_KEEP=1` keeps it).
//!
//! Knobs: `BENCH_ANALYTICS_ROWS` (engagement rows of the rollup, 10,000,000),
//! `BENCH_ANALYTICS_TEAMS` (teams sharing them, 50), `BENCH_ANALYTICS_INGEST_ROWS` (rows per
//! ingest case, 200,000), `BENCH_ANALYTICS_BATCH` (rows per append call, 10,000),
//! `BENCH_ANALYTICS_ROUNDS` (ingest rounds, the two sides alternating, the best of each kept, 3),
//! `BENCH_ANALYTICS_RUNS` (timed reads per rollup form after one warm-up, 9).
//! Run it with `scripts/bench-analytics` (release build).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Span, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use clientnest::analytics::{
    AnalyticsMaintenance, AnalyticsWriter, Bucket, Buckets, EngagementCounter, EngagementCounts, EngagementReader,
    EngagementSnapshot, Performance, Rollup, SeriesLast, TeamEngagementPoint, team_engagement_points,
};
use clientnest::ids::{PostId, TeamId};
use clientnest::model::{Period, Platform};
use clientnest::timescale::{Flavour, TimescaleConfig, TimescaleStore};
use clientnest_testkit::measure::{Stats, percentile, rate, ratio};
use sqlx::{AssertSqlSafe, Row as _};

type BenchError = Box<dyn std::error::Error + Send + Sync>;
type BenchResult<T> = Result<T, BenchError>;

/// Days of engagement history the rollup reads.
const DAYS: i64 = 90;
/// Snapshots per series per day in the rollup data (one every 30 minutes).
const SNAPS_PER_DAY: i64 = 48;
/// The target ratio of an ingest against `psql \copy`.
const INGEST_TARGET: f64 = 0.9;

/// One server and flavour to run on.
#[derive(Debug, Clone)]
struct Target {
    /// `plain`, `timescaledb` or `plain@timescale`.
    label: String,
    url: String,
    /// The flavour forced on the store, if any (else detected).
    forced: Option<Flavour>,
}

/// Sizes and where the servers are.
#[derive(Debug, Clone)]
struct Config {
    targets: Vec<Target>,
    schema: String,
    rollup_rows: usize,
    teams: usize,
    ingest_rows: usize,
    batch: usize,
    rounds: usize,
    runs: usize,
    keep: bool,
    /// Where the CSV files of the `\copy` baseline go.
    dir: PathBuf,
}

fn env_usize(name: &str, default: usize) -> BenchResult<usize> {
    match std::env::var(name) {
        Ok(v) => v.replace('_', "").parse().map_err(|_| format!("{name}={v} is not a number").into()),
        Err(_) => Ok(default),
    }
}

fn env_url(name: &str) -> BenchResult<String> {
    std::env::var(name).ok().filter(|u| !u.is_empty()).ok_or_else(|| format!("{name} is not set").into())
}

impl Config {
    fn from_env() -> BenchResult<Config> {
        let list = std::env::var("BENCH_ANALYTICS_TARGETS").unwrap_or_else(|_| "plain,timescaledb".to_owned());
        let mut targets = Vec::new();
        for label in list.split(',').map(str::trim).filter(|l| !l.is_empty()) {
            let (url, forced) = match label {
                "plain" => (env_url("DATABASE_URL")?, Some(Flavour::Plain)),
                "timescaledb" => (env_url("TIMESCALE_URL")?, Some(Flavour::TimescaleDb)),
                "plain@timescale" => (env_url("TIMESCALE_URL")?, Some(Flavour::Plain)),
                other => return Err(format!("unknown target {other} (plain, timescaledb, plain@timescale)").into()),
            };
            targets.push(Target { label: label.to_owned(), url, forced });
        }
        if targets.is_empty() {
            return Err("BENCH_ANALYTICS_TARGETS names no target".into());
        }
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| PathBuf::from("target"), PathBuf::from)
            .join("bench-analytics");
        Ok(Config {
            targets,
            schema: std::env::var("BENCH_ANALYTICS_SCHEMA").unwrap_or_else(|_| "bench_analytics".to_owned()),
            rollup_rows: env_usize("BENCH_ANALYTICS_ROWS", 10_000_000)?.max(1),
            teams: env_usize("BENCH_ANALYTICS_TEAMS", 50)?.max(1),
            ingest_rows: env_usize("BENCH_ANALYTICS_INGEST_ROWS", 200_000)?.max(1),
            batch: env_usize("BENCH_ANALYTICS_BATCH", 10_000)?.max(1),
            rounds: env_usize("BENCH_ANALYTICS_ROUNDS", 3)?.max(1),
            runs: env_usize("BENCH_ANALYTICS_RUNS", 9)?.max(1),
            keep: std::env::var("BENCH_ANALYTICS_KEEP").is_ok_and(|v| v == "1"),
            dir,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Ingest rows and their CSV
// ---------------------------------------------------------------------------------------------

/// SplitMix64: deterministic rows without a dependency.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

const PLATFORMS: [Platform; 5] =
    [Platform::Instagram, Platform::Facebook, Platform::LinkedIn, Platform::Twitter, Platform::TikTok];
const ENDPOINTS: [&str; 4] = ["GET /posts", "POST /posts", "GET /analytics/engagement", "POST /ai/generate"];

fn utc(y: i32, m: u32, d: u32) -> BenchResult<DateTime<Utc>> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().ok_or_else(|| "no such day".into())
}

/// `n` engagement snapshots of 20 teams' posts, every ~30 minutes from 1 September 2026, with
/// cumulative counters; Meta posts lose `impressions` half-way; Instagram rows carry `saves`.
fn engagement_rows(n: usize) -> BenchResult<Vec<EngagementSnapshot>> {
    let start = utc(2026, 9, 1)?;
    let mut rng = Rng(7);
    let per_post = 480usize;
    let posts = n.div_ceil(per_post);
    let mut rows = Vec::with_capacity(n);
    'posts: for p in 0..posts {
        let team = TeamId::from(uuid::Uuid::from_u128(0x1000_0000_0000_4000_8000_0000_0000_0000 + (p % 20) as u128));
        let post = PostId::from(uuid::Uuid::from_u128(0x2000_0000_0000_4000_8000_0000_0000_0000 + p as u128));
        let platform = PLATFORMS[p % PLATFORMS.len()];
        let published = start + Span::minutes((p * 7) as i64);
        let speed = 1 + rng.below(9) as i64;
        for i in 0..per_post {
            if rows.len() == n {
                break 'posts;
            }
            let t = published + Span::minutes(30 * i as i64) + Span::seconds(rng.below(60) as i64);
            let likes = (i as i64) * speed;
            let mut snap = EngagementSnapshot::new(team, post, platform, published, t)
                .with(EngagementCounter::Likes, likes)
                .with(EngagementCounter::Comments, likes / 14)
                .with(EngagementCounter::Shares, likes / 23)
                .with(EngagementCounter::Views, likes * 21)
                .with(EngagementCounter::Reach, likes * 9);
            if !(matches!(platform, Platform::Facebook | Platform::Instagram) && i >= per_post / 2) {
                snap = snap.with(EngagementCounter::Impressions, likes * 13);
            }
            if platform == Platform::Instagram {
                snap.extra = serde_json::json!({ "saves": likes / 9 });
            }
            rows.push(snap);
        }
    }
    Ok(rows)
}

/// `n` requests to four endpoints, from 1 September 2026, a few milliseconds apart.
fn performance_rows(n: usize) -> BenchResult<Vec<Performance>> {
    let start = utc(2026, 9, 1)?;
    let mut rng = Rng(11);
    Ok((0..n)
        .map(|i| {
            let endpoint = ENDPOINTS[i % ENDPOINTS.len()];
            let t = start + Span::milliseconds((i * 13) as i64);
            let micros = 2_000 + rng.below(200_000);
            let status = if rng.below(500) == 0 { 500 } else { 200 };
            Performance::new("api", endpoint, t, Duration::from_micros(micros), status)
        })
        .collect())
}

fn csv_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

fn csv_opt(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// A JSON value as a quoted CSV field.
fn csv_json(v: &serde_json::Value) -> String {
    format!("\"{}\"", v.to_string().replace('"', "\"\""))
}

const ENGAGEMENT_COLUMNS: &str =
    "time, team_id, post_id, platform, published_at, likes, comments, shares, views, reach, impressions, extra";
const PERFORMANCE_COLUMNS: &str =
    "id, time, service_name, endpoint, response_time, status_code, error_count, memory_usage, cpu_usage";

fn write_engagement_csv(path: &Path, rows: &[EngagementSnapshot]) -> BenchResult<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for r in rows {
        let c = |k| csv_opt(r.counts.get(k));
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_time(r.time),
            r.team_id,
            r.post_id,
            r.platform,
            csv_time(r.published_at),
            c(EngagementCounter::Likes),
            c(EngagementCounter::Comments),
            c(EngagementCounter::Shares),
            c(EngagementCounter::Views),
            c(EngagementCounter::Reach),
            c(EngagementCounter::Impressions),
            csv_json(&r.extra)
        )?;
    }
    out.flush()?;
    Ok(())
}

fn write_performance_csv(path: &Path, rows: &[Performance]) -> BenchResult<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for r in rows {
        writeln!(
            out,
            "{},{},{},{},{},{},{},,",
            r.id,
            csv_time(r.time),
            r.service_name,
            r.endpoint,
            r.response_time.as_micros(),
            r.status_code,
            r.error_count
        )?;
    }
    out.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Store helpers
// ---------------------------------------------------------------------------------------------

async fn exec(store: &TimescaleStore, sql: String) -> BenchResult<()> {
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(store.pool()).await?;
    Ok(())
}

async fn count(store: &TimescaleStore, table: &str) -> BenchResult<usize> {
    let sql = format!("SELECT count(*) FROM \"{}\".{table}", store.schema());
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(store.pool()).await?;
    Ok(usize::try_from(n)?)
}

async fn truncate(store: &TimescaleStore, table: &str) -> BenchResult<()> {
    exec(store, format!("TRUNCATE \"{}\".{table}", store.schema())).await
}

/// A fresh store in the bench schema of `target`.
async fn fresh_store(config: &Config, target: &Target) -> BenchResult<TimescaleStore> {
    let mut ts = TimescaleConfig::new().with_schema(&config.schema)?;
    if let Some(f) = target.forced {
        ts = ts.with_flavour(f);
    }
    let store = TimescaleStore::connect_with(&target.url, ts).await?;
    exec(&store, format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", config.schema)).await?;
    store.migrate().await?;
    Ok(store)
}

/// `psql \copy` of `file` into `table` (`columns`): its wall time.
fn psql_copy(url: &str, schema: &str, table: &str, columns: &str, file: &Path) -> BenchResult<Duration> {
    let command = format!("\\copy \"{schema}\".{table} ({columns}) FROM '{}' WITH (FORMAT csv)", file.display());
    let started = Instant::now();
    let out = Command::new("psql").args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", &command]).output()?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(format!("psql \\copy failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(took)
}

// ---------------------------------------------------------------------------------------------
// Ingest
// ---------------------------------------------------------------------------------------------

/// One ingest case: the library's rate and the `\copy` baseline's, best of the rounds.
struct Ingest {
    target: String,
    table: &'static str,
    rows: usize,
    ours: Stats,
    copy_per_sec: f64,
}

/// What one ingest case writes: the table, its columns in the CSV's order, and the CSV file.
struct Case<'a> {
    table: &'static str,
    columns: &'static str,
    file: &'a Path,
}

/// Append `rows` in batches (cloned before the clock starts), the same rows by `\copy`, each
/// into the emptied table, alternating which goes first; every side's row count is checked.
async fn ingest_case<R: Clone + Send + 'static>(
    config: &Config,
    target: &Target,
    store: &TimescaleStore,
    case: Case<'_>,
    rows: &[R],
    append: impl for<'a> Fn(&'a TimescaleStore, Vec<R>) -> futures::future::BoxFuture<'a, clientnest::Result<u64>>,
) -> BenchResult<Ingest> {
    let Case { table, columns, file } = case;
    let mut ours: Option<Stats> = None;
    let mut copy_best = 0f64;
    for round in 0..config.rounds {
        for side in [round % 2, 1 - round % 2] {
            truncate(store, table).await?;
            if side == 0 {
                let batches: Vec<Vec<R>> = rows.chunks(config.batch).map(<[R]>::to_vec).collect();
                let mut latencies = Vec::with_capacity(batches.len());
                let started = Instant::now();
                for batch in batches {
                    let t = Instant::now();
                    append(store, batch).await?;
                    latencies.push(t.elapsed());
                }
                let stats = Stats::of(rows.len(), started.elapsed(), latencies);
                ours = Some(ours.map_or(stats, |o| o.best(stats)));
            } else {
                let took = psql_copy(&target.url, store.schema(), table, columns, file)?;
                copy_best = copy_best.max(rate(rows.len(), took));
            }
            let stored = count(store, table).await?;
            if stored != rows.len() {
                return Err(format!("{table}: {stored} rows stored, {} sent", rows.len()).into());
            }
        }
    }
    truncate(store, table).await?;
    Ok(Ingest {
        target: target.label.clone(),
        table,
        rows: rows.len(),
        ours: ours.unwrap_or_default(),
        copy_per_sec: copy_best,
    })
}

// ---------------------------------------------------------------------------------------------
// Rollup at scale
// ---------------------------------------------------------------------------------------------

/// Where the rollup data starts (UTC midnight) and the Berlin range the rollup reads.
fn rollup_window() -> BenchResult<(DateTime<Utc>, Period)> {
    let start = utc(2026, 6, 1)?;
    let local = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| Berlin.from_local_datetime(&t).single())
            .map(|t| t.with_timezone(&Utc))
            .ok_or("no such local time")
    };
    let first = NaiveDate::from_ymd_opt(2026, 6, 1).ok_or("no such day")?;
    let range = Period::new(local(first)?, local(first + Span::days(DAYS))?)?;
    Ok((start, range))
}

/// The team every rollup reads (team 0 of the generated ones).
fn rollup_team() -> TeamId {
    TeamId::from(uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000))
}

/// One day of the rollup data, generated by the server: `series` posts spread over `teams`
/// teams, a snapshot every 30 minutes (offset per series, so times differ), cumulative
/// counters with a like taken back now and then, Meta posts without impressions in the second
/// half. `$1` data start, `$2` first snapshot index, `$3` series, `$4` teams.
const LOAD_DAY: &str = r#"
INSERT INTO "{schema}".engagement (time, team_id, post_id, platform, published_at, likes, comments, shares, views, reach, impressions)
SELECT $1::timestamptz + make_interval(mins => i * 30, secs => s % 1800),
       ('00000000-0000-4000-8000-' || lpad(to_hex(s % $4), 12, '0'))::uuid,
       ('00000000-0000-4000-9000-' || lpad(to_hex(s), 12, '0'))::uuid,
       (ARRAY['instagram', 'facebook', 'linkedin', 'twitter', 'tiktok'])[1 + s % 5],
       $1::timestamptz + make_interval(secs => s % 1800),
       l, l / 14, l / 23, l * 21, l * 9,
       CASE WHEN s % 5 < 2 AND i >= 2160 THEN NULL ELSE l * 13 END
FROM generate_series($2::int, $2::int + 47) AS i,
     generate_series(0, $3::int - 1) AS s,
     LATERAL (SELECT greatest(0, (i * (3 + s % 11)) / 8 - CASE WHEN (i + s) % 97 = 0 THEN 1 ELSE 0 END)::bigint AS l) AS v"#;

/// Load the rollup data day by day; the rows loaded and the wall time.
async fn load_rollup_data(
    config: &Config,
    store: &TimescaleStore,
    start: DateTime<Utc>,
) -> BenchResult<(usize, Duration)> {
    let per_series = (DAYS * SNAPS_PER_DAY) as usize;
    let series = config.rollup_rows.div_ceil(per_series).max(config.teams);
    let sql = LOAD_DAY.replace("{schema}", store.schema());
    let mut conn = store.pool().acquire().await?;
    sqlx::raw_sql("SET synchronous_commit = off").execute(&mut *conn).await?;
    let started = Instant::now();
    for day in 0..DAYS {
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(start)
            .bind(i32::try_from(day * SNAPS_PER_DAY)?)
            .bind(i32::try_from(series)?)
            .bind(i32::try_from(config.teams)?)
            .execute(&mut *conn)
            .await?;
        if (day + 1) % 15 == 0 {
            eprintln!("    loaded {} of {DAYS} days ({:.0?})", day + 1, started.elapsed());
        }
    }
    let took = started.elapsed();
    drop(conn);
    exec(store, format!("ANALYZE \"{}\".engagement", store.schema())).await?;
    Ok((series * per_series, took))
}

/// A raw SQL form returning core's input (last values per series and bucket) for the rollup.
struct RawForm {
    name: &'static str,
    sql: String,
}

const LAST_COLUMNS: [&str; 6] = ["likes", "comments", "shares", "views", "reach", "impressions"];

/// The raw forms for a store: `$1` team, `$2` boundaries, `$3` end.
fn raw_forms(schema: &str, ext: Option<&str>) -> Vec<RawForm> {
    let agg = |source: &str, time: &str| {
        let mut cols = String::new();
        for c in LAST_COLUMNS {
            let _ = write!(
                cols,
                ",\n       (array_agg({c} ORDER BY {time} DESC) FILTER (WHERE {c} IS NOT NULL))[1] AS {c}"
            );
        }
        format!(
            "SELECT post_id, platform, width_bucket({time}, $2::timestamptz[]) - 1 AS bucket{cols}\n\
             FROM \"{schema}\".{source}\nWHERE team_id = $1 AND {time} < $3\nGROUP BY post_id, platform, bucket"
        )
    };
    let mut forms =
        vec![RawForm { name: "raw table, array_agg (the adapter's raw form)", sql: agg("engagement", "time") }];
    if let Some(ext) = ext {
        let mut cols = String::new();
        for c in LAST_COLUMNS {
            let _ = write!(cols, ",\n       {ext}.last({c}, time) FILTER (WHERE {c} IS NOT NULL) AS {c}");
        }
        forms.push(RawForm {
            name: "raw table, TimescaleDB last()",
            sql: format!(
                "SELECT post_id, platform, width_bucket(time, $2::timestamptz[]) - 1 AS bucket{cols}\n\
                 FROM \"{schema}\".engagement\nWHERE team_id = $1 AND time < $3\nGROUP BY post_id, platform, bucket"
            ),
        });
    }
    forms.push(RawForm { name: "hourly rollup, direct SQL", sql: agg("engagement_hourly", "hour") });
    forms
}

/// Run a raw form once: its rows as core's input.
async fn run_raw(
    store: &TimescaleStore,
    form: &RawForm,
    team: TeamId,
    buckets: &Buckets,
) -> BenchResult<Vec<SeriesLast>> {
    let rows = sqlx::query(AssertSqlSafe(form.sql.clone()))
        .bind(team.as_uuid())
        .bind(buckets.boundaries())
        .bind(buckets.end())
        .fetch_all(store.pool())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let platform: String = row.try_get("platform")?;
        let bucket: i32 = row.try_get("bucket")?;
        let mut last = EngagementCounts::default();
        for c in EngagementCounter::ALL {
            last.0[c.index()] = row.try_get::<Option<i64>, _>(c.as_str())?;
        }
        out.push(SeriesLast {
            post_id: PostId::from(row.try_get::<uuid::Uuid, _>("post_id")?),
            platform: Platform::from_str(&platform).map_err(|_| format!("unknown platform {platform}"))?,
            bucket: usize::try_from(bucket).ok(),
            last,
        });
    }
    Ok(out)
}

/// One timed read of the rollup.
struct Read {
    target: String,
    phase: &'static str,
    form: String,
    p50: Duration,
    p95: Duration,
    points: usize,
}

/// Time `runs` reads (after one warm-up) of `f`.
async fn time_reads<F, Fut, T>(runs: usize, mut f: F) -> BenchResult<(Duration, Duration, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = BenchResult<T>>,
{
    let mut last = f().await?;
    let mut latencies = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        last = f().await?;
        latencies.push(t.elapsed());
    }
    latencies.sort_unstable();
    Ok((percentile(&latencies, 50), percentile(&latencies, 95), last))
}

/// The library's read and every raw form, checked against each other.
async fn rollup_reads(
    config: &Config,
    target: &Target,
    store: &TimescaleStore,
    ext: Option<&str>,
    phase: &'static str,
) -> BenchResult<Vec<Read>> {
    let (_, range) = rollup_window()?;
    let team = rollup_team();
    let rollup = Rollup::new(team, range, Bucket::Day).in_zone(Berlin);
    let buckets = Buckets::new(&rollup)?;
    let (p50, p95, ours): (_, _, Vec<TeamEngagementPoint>) =
        time_reads(config.runs, || async { Ok(store.team_engagement(rollup).await?) }).await?;
    if ours.is_empty() {
        return Err("the rollup returned nothing".into());
    }
    let mut reads = vec![Read {
        target: target.label.clone(),
        phase,
        form: "library `team_engagement`".to_owned(),
        p50,
        p95,
        points: ours.len(),
    }];
    for form in raw_forms(store.schema(), ext) {
        let (p50, p95, rows) = time_reads(config.runs, || run_raw(store, &form, team, &buckets)).await?;
        let theirs = team_engagement_points(&buckets, rows);
        if theirs != ours {
            return Err(format!("{}: `{}` gives another result than the library", target.label, form.name).into());
        }
        reads.push(Read {
            target: target.label.clone(),
            phase,
            form: form.name.to_owned(),
            p50,
            p95,
            points: theirs.len(),
        });
    }
    Ok(reads)
}

/// What a target's rollup part measured besides the reads.
struct Scale {
    target: String,
    flavour: Flavour,
    rows: usize,
    load: Duration,
    refresh: Duration,
    bytes: i64,
    compressed: Option<(i64, i64, i64, Duration)>,
}

async fn extension_schema(store: &TimescaleStore) -> BenchResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
         WHERE e.extname = 'timescaledb'",
    )
    .fetch_optional(store.pool())
    .await?)
}

async fn engagement_size(store: &TimescaleStore) -> BenchResult<clientnest::timescale::TableSize> {
    store
        .table_sizes()
        .await?
        .into_iter()
        .find(|t| t.table == "engagement")
        .ok_or_else(|| "no size for engagement".into())
}

async fn rollup_part(config: &Config, target: &Target, store: &TimescaleStore) -> BenchResult<(Scale, Vec<Read>)> {
    let flavour = store.flavour().await?;
    let ext = if flavour == Flavour::TimescaleDb { extension_schema(store).await? } else { None };
    let (start, range) = rollup_window()?;
    truncate(store, "engagement").await?;
    eprintln!("==> {}: loading the rollup data", target.label);
    let (rows, load) = load_rollup_data(config, store, start).await?;
    let refreshed = Instant::now();
    store.refresh_rollups(Period::new(range.start - Span::days(1), range.end + Span::days(1))?).await?;
    let refresh = refreshed.elapsed();
    eprintln!(
        "==> {}: {rows} rows loaded in {load:.0?}, rollups refreshed in {refresh:.1?}; timing reads",
        target.label
    );
    let mut reads = rollup_reads(config, target, store, ext.as_deref(), "").await?;
    let bytes = engagement_size(store).await?.total_bytes;
    let mut compressed = None;
    if flavour == Flavour::TimescaleDb {
        let t = Instant::now();
        store.compress_before(range.end + Span::days(30)).await?;
        let took = t.elapsed();
        let size = engagement_size(store).await?;
        let c = size.compression.ok_or("compress_before compressed no engagement chunk")?;
        compressed = Some((c.compressed_chunks, c.before_bytes, c.after_bytes, took));
        eprintln!("==> {}: compressed in {took:.1?}; timing reads on compressed chunks", target.label);
        reads.extend(rollup_reads(config, target, store, ext.as_deref(), "compressed").await?);
    }
    Ok((Scale { target: target.label.clone(), flavour, rows, load, refresh, bytes, compressed }, reads))
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn mib(bytes: i64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn report(config: &Config, ingest: &[Ingest], scales: &[Scale], reads: &[Read]) {
    println!("\n### Ingest ({} rows per case, {} rows per append call)\n", config.ingest_rows, config.batch);
    println!("| target | table | rows | library rows/s | batch p50 ms | `psql \\copy` rows/s | ratio | target |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
    for i in ingest {
        let r = ratio(i.ours.per_sec, i.copy_per_sec);
        println!(
            "| {} | {} | {} | {} | {} | {} | **{r:.2}x** | >= {INGEST_TARGET}x: {} |",
            i.target,
            i.table,
            thousands(i.rows as f64),
            thousands(i.ours.per_sec),
            ms(i.ours.p50),
            thousands(i.copy_per_sec),
            if r >= INGEST_TARGET { "met" } else { "MISSED" }
        );
    }

    println!(
        "\n### Rollup: `team_engagement`, one team of {}, {DAYS} Berlin days, by day ({} reads after a warm-up)\n",
        config.teams, config.runs
    );
    println!("| target | data | rows | read | p50 ms | p95 ms | points | library speed-up |");
    println!("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |");
    for r in reads {
        let lib = reads.iter().find(|l| l.target == r.target && l.phase == r.phase && l.form.starts_with("library"));
        let speedup =
            lib.map_or("-".to_owned(), |l| format!("{:.2}x", r.p50.as_secs_f64() / l.p50.as_secs_f64().max(1e-9)));
        let rows = scales.iter().find(|s| s.target == r.target).map_or(0, |s| s.rows);
        let data = if r.phase.is_empty() { "uncompressed" } else { r.phase };
        println!(
            "| {} | {data} | {} | {} | {} | {} | {} | {speedup} |",
            r.target,
            thousands(rows as f64),
            r.form,
            ms(r.p50),
            ms(r.p95),
            r.points
        );
    }
    let lib = |target: &str| {
        reads.iter().find(|r| r.target == target && r.phase.is_empty() && r.form.starts_with("library")).map(|r| r.p50)
    };
    let raw = |target: &str| {
        reads
            .iter()
            .find(|r| r.target == target && r.phase.is_empty() && r.form.starts_with("raw table, array_agg"))
            .map(|r| r.p50)
    };
    let plain_targets: Vec<&Scale> = scales.iter().filter(|s| s.flavour == Flavour::Plain).collect();
    if let Some(ts) = scales.iter().find(|s| s.flavour == Flavour::TimescaleDb) {
        println!("\n| comparison (p50) | plain | TimescaleDB | plain / TimescaleDB |");
        println!("| --- | ---: | ---: | ---: |");
        for p in &plain_targets {
            for (what, f) in [("library read", &lib as &dyn Fn(&str) -> Option<Duration>), ("raw array_agg", &raw)] {
                if let (Some(a), Some(b)) = (f(&p.target), f(&ts.target)) {
                    println!(
                        "| {what}: `{}` vs `{}` | {} ms | {} ms | {:.2}x |",
                        p.target,
                        ts.target,
                        ms(a),
                        ms(b),
                        a.as_secs_f64() / b.as_secs_f64().max(1e-9)
                    );
                }
            }
        }
    }

    println!("\n### Load, refresh and size of `engagement`\n");
    println!(
        "| target | flavour | rows | load rows/s | refresh s | size | compressed chunks | before | after | compression | compress s |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for s in scales {
        let (chunks, before, after, ratio_s, took) = match s.compressed {
            Some((c, b, a, t)) => (
                c.to_string(),
                mib(b),
                mib(a),
                format!("{:.1}x smaller", b as f64 / (a as f64).max(1.0)),
                format!("{:.1}", t.as_secs_f64()),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {} | {} | {} | {:.1} | {} | {chunks} | {before} | {after} | {ratio_s} | {took} |",
            s.target,
            s.flavour,
            thousands(s.rows as f64),
            thousands(rate(s.rows, s.load)),
            s.refresh.as_secs_f64(),
            mib(s.bytes)
        );
    }
}

async fn run() -> BenchResult<()> {
    let config = Config::from_env()?;
    std::fs::create_dir_all(&config.dir)?;
    let engagement = engagement_rows(config.ingest_rows)?;
    let performance = performance_rows(config.ingest_rows)?;
    let engagement_csv = config.dir.join("engagement.csv");
    let performance_csv = config.dir.join("performance.csv");
    write_engagement_csv(&engagement_csv, &engagement)?;
    write_performance_csv(&performance_csv, &performance)?;

    let (mut ingest, mut scales, mut reads) = (Vec::new(), Vec::new(), Vec::new());
    for target in &config.targets {
        let store = fresh_store(&config, target).await?;
        eprintln!("==> {}: {} flavour, ingest", target.label, store.flavour().await?);
        let outcome = async {
            let case = Case { table: "engagement", columns: ENGAGEMENT_COLUMNS, file: &engagement_csv };
            ingest.push(
                ingest_case(&config, target, &store, case, &engagement, |s, rows| s.append_engagement(rows)).await?,
            );
            let case = Case { table: "performance", columns: PERFORMANCE_COLUMNS, file: &performance_csv };
            ingest.push(
                ingest_case(&config, target, &store, case, &performance, |s, rows| s.append_performance(rows)).await?,
            );
            let (scale, r) = rollup_part(&config, target, &store).await?;
            scales.push(scale);
            reads.extend(r);
            Ok::<(), BenchError>(())
        }
        .await;
        if !config.keep {
            exec(&store, format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", config.schema)).await?;
        }
        store.close().await;
        outcome?;
    }
    report(&config, &ingest, &scales, &reads);
    Ok(())
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("analytics_load: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("analytics_load: {e}");
            ExitCode::FAILURE
        }
    }
}
