//! Analytics for one team over one month: ingest, rollups, CSV export and two SVG charts.
//!
//! It makes a month (November 2026, team zone `Europe/Berlin`) of synthetic rows with a fixed
//! seed, so every run prints the same numbers:
//!
//! - **engagement**: 120 posts on five platforms, a snapshot of each post's cumulative counters
//!   about every 30 minutes from publication to the end of the month. Likes are sometimes taken
//!   back (a counter drops by one), and Facebook and Instagram stop reporting `impressions` on
//!   18 November, as Meta did in Graph API v22;
//! - **performance**: requests to four API endpoints, with a slow, failing hour on 17 November;
//! - **AI**: requests of four features on four models, and the team's **costs** in three
//!   currencies.
//!
//! The rows go through a [`BufferedWriter`] (batched, bounded, flushed at the end), then the
//! example prints the rollups as tables, writes `team-engagement.csv` (the daily team rollup,
//! streamed) and two SVG files a browser opens: `engagement-per-day.svg` (likes gained per day,
//! stacked by platform) and `best-time.svg` (the 7 x 24 best-time-to-post heatmap).
//!
//! It runs on [`MemoryAnalytics`] with no environment. With `TIMESCALE_URL` set (and the
//! `timescale` feature) it runs on [`TimescaleStore`](clientnest::timescale::TimescaleStore)
//! instead, TimescaleDB or plain PostgreSQL alike, in a schema of its own that it drops at the
//! end. Files go to `target/analytics/`, or to `ANALYTICS_OUT`.
//!
//! ```text
//! cargo run --example analytics
//! TIMESCALE_URL=postgres://postgres@127.0.0.1:5433/test cargo run --example analytics --features timescale
//! ```

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Europe::Berlin;
use chrono_tz::Tz;
use clientnest::analytics::{
    AiMetric, Analytics, AnalyticsWriter, BestTimeCell, BestTimeQuery, Bucket, BufferConfig, BufferedWriter, Cost,
    EngagementCounter, EngagementSnapshot, Overflow, Performance, PerformanceQuery, Rollup, TeamEngagementPoint,
    csv_stream,
};
use clientnest::ids::{PostId, TeamId, UserId};
use clientnest::memory::MemoryAnalytics;
use clientnest::model::{FeatureType, Period, Platform};
use futures::StreamExt;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rust_decimal::Decimal;

type BoxError = Box<dyn StdError + Send + Sync>;
type Res<T> = std::result::Result<T, BoxError>;

/// The seed of every random choice: the same rows on every run.
const SEED: u64 = 0x0C11_E4E5;
/// Posts published in the month.
const POSTS: usize = 120;
/// The platforms the team posts on, with the colour of each in the charts.
const PLATFORMS: [(Platform, RGBColor); 5] = [
    (Platform::Instagram, RGBColor(225, 48, 108)),
    (Platform::Facebook, RGBColor(24, 119, 242)),
    (Platform::LinkedIn, RGBColor(10, 102, 194)),
    (Platform::Twitter, RGBColor(40, 40, 40)),
    (Platform::TikTok, RGBColor(37, 190, 200)),
];
/// The endpoints of the performance rows: name and typical response time in milliseconds.
const ENDPOINTS: [(&str, f64); 4] =
    [("GET /posts", 12.0), ("POST /posts", 35.0), ("GET /analytics/engagement", 80.0), ("POST /ai/generate", 900.0)];
/// The AI features of the team with the model each uses and its price per 1,000 tokens (USD).
const AI_USES: [(FeatureType, &str, i64); 4] = [
    (FeatureType::ContentGeneration, "gpt-4o-mini", 6),
    (FeatureType::ResponseGeneration, "claude-3-5-haiku", 40),
    (FeatureType::SentimentAnalysis, "distilbert-sst2", 1),
    (FeatureType::ContentOptimization, "gpt-4o", 100),
];

#[tokio::main]
async fn main() -> Res<()> {
    let out = std::env::var_os("ANALYTICS_OUT").map_or_else(|| PathBuf::from("target/analytics"), PathBuf::from);
    std::fs::create_dir_all(&out)?;
    match std::env::var("TIMESCALE_URL").ok().filter(|u| !u.is_empty()) {
        None => {
            println!("backend: in memory (set TIMESCALE_URL to run on TimescaleDB or PostgreSQL)");
            run(Arc::new(MemoryAnalytics::new()), &out).await
        }
        Some(url) => on_timescale(&url, &out).await,
    }
}

/// Run on the server of `url`, in a schema of this run's own, dropped at the end (also when
/// the run fails).
#[cfg(feature = "timescale")]
async fn on_timescale(url: &str, out: &Path) -> Res<()> {
    use clientnest::timescale::{TimescaleConfig, TimescaleStore};

    let schema = format!("analytics_example_{}", std::process::id());
    let store = TimescaleStore::connect_with(url, TimescaleConfig::new().with_schema(&schema)?).await?;
    let outcome = async {
        store.migrate().await?;
        println!("backend: {} at {}, schema {schema}", store.flavour().await?, redact(url));
        run(Arc::new(store.clone()), out).await
    }
    .await;
    // The schema name is a checked identifier (TimescaleConfig::with_schema).
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")))
        .execute(store.pool())
        .await?;
    println!("dropped schema {schema}");
    store.close().await;
    outcome
}

/// Without the `timescale` feature there is no SQL backend to run on.
#[cfg(not(feature = "timescale"))]
async fn on_timescale(_url: &str, _out: &Path) -> Res<()> {
    Err("TIMESCALE_URL is set, but the example was built without the `timescale` feature: \
         cargo run --example analytics --features timescale"
        .into())
}

/// `url` without its password, for printing.
#[cfg(feature = "timescale")]
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..s + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Ingest the month, print the rollups, write the CSV and the two charts.
async fn run(backend: Arc<dyn Analytics>, out: &Path) -> Res<()> {
    let month = month_in(Berlin, 2026, 11)?;
    let team = TeamId::from(uuid::Uuid::from_u128(0x7ea3_0000_0000_4000_8000_0000_0000_0001));
    let data = Month::generate(team, month, SEED);

    // Ingest through the buffer, as an application's hot path would: rows are checked on the
    // way in, batched per table, and written by one background task.
    let started = std::time::Instant::now();
    let writer: Arc<dyn AnalyticsWriter> = backend.clone();
    let buffer = BufferedWriter::spawn(
        writer,
        BufferConfig::default()
            .with_capacity(20_000)
            .with_max_batch_rows(5_000)
            .with_flush_interval(StdDuration::from_millis(200))
            .with_overflow(Overflow::Wait),
    );
    for row in data.engagement {
        buffer.record(row).await?;
    }
    for row in data.performance {
        buffer.record(row).await?;
    }
    for row in data.ai {
        buffer.record(row).await?;
    }
    for row in data.costs {
        buffer.record(row).await?;
    }
    buffer.shutdown().await;
    let stats = buffer.stats();
    println!(
        "ingested {} rows in {:.2?} through the buffer (dropped {}, failed {})",
        stats.written,
        started.elapsed(),
        stats.dropped,
        stats.failed_rows
    );
    if stats.failed_rows > 0 || stats.dropped > 0 {
        return Err(format!("{} rows failed and {} were dropped", stats.failed_rows, stats.dropped).into());
    }
    // What a periodic job does: bring the pre-aggregated rollups up to date (a no-op in memory;
    // reads are right without it, it only moves work out of them).
    backend.refresh_rollups(month).await?;

    let days = backend.team_engagement(Rollup::new(team, month, Bucket::Day).in_zone(Berlin)).await?;
    print_team_engagement(&days);
    let csv = out.join("team-engagement.csv");
    let lines = write_csv(&csv, &days).await?;
    println!("wrote {} ({lines} lines)", csv.display());
    let chart = out.join("engagement-per-day.svg");
    engagement_chart(&chart, &days)?;
    println!("wrote {}", chart.display());

    let query = BestTimeQuery {
        team,
        published: month,
        window_hours: 24,
        counter: EngagementCounter::Likes,
        platform: None,
        zone: Berlin,
    };
    let grid = backend.best_time_to_post(query).await?;
    print_best_time(&grid);
    let heatmap = out.join("best-time.svg");
    best_time_heatmap(&heatmap, &grid)?;
    println!("wrote {}", heatmap.display());

    let incident_day = Utc.with_ymd_and_hms(2026, 11, 17, 10, 0, 0).single().ok_or("no such time")?;
    let perf = backend
        .service_performance(PerformanceQuery {
            range: Period::new(incident_day, incident_day + Duration::hours(6))?,
            bucket: Bucket::Hour,
            service: Some("api".to_owned()),
        })
        .await?;
    section("Service performance, api, 17 Nov 10:00-16:00 UTC, per hour");
    table(
        &["hour (UTC)", "endpoint", "requests", "errors", "p50 ms", "p95 ms", "p99 ms"],
        perf.iter()
            .map(|b| {
                vec![
                    b.bucket.format("%H:%M").to_string(),
                    b.endpoint.clone(),
                    b.requests.to_string(),
                    b.errors.to_string(),
                    format!("{:.1}", b.p50_us / 1000.0),
                    format!("{:.1}", b.p95_us / 1000.0),
                    format!("{:.1}", b.p99_us / 1000.0),
                ]
            })
            .collect(),
    );

    let first_week = Period::new(month.start, month.start + Duration::days(7))?;
    let ai = backend.ai_rollup(Rollup::new(team, first_week, Bucket::Day).in_zone(Berlin)).await?;
    section("AI per day by feature and model (first week of the month, Berlin days)");
    table(
        &["day", "feature", "model", "requests", "tokens", "cost USD", "success", "mean ms"],
        ai.iter()
            .map(|b| {
                vec![
                    local_day(b.bucket, Berlin),
                    b.feature_type.as_str().to_owned(),
                    b.model_used.clone(),
                    b.requests.to_string(),
                    b.tokens.to_string(),
                    format!("{:.4}", b.cost),
                    format!("{:.0}%", b.success_rate * 100.0),
                    format!("{:.0}", b.mean_response_us / 1000.0),
                ]
            })
            .collect(),
    );
    let ai_month = backend.ai_rollup(Rollup::new(team, month, Bucket::Month).in_zone(Berlin)).await?;
    section("AI over the month by feature and model");
    table(
        &["feature", "model", "requests", "tokens", "cost USD", "success", "mean ms"],
        ai_month
            .iter()
            .map(|b| {
                vec![
                    b.feature_type.as_str().to_owned(),
                    b.model_used.clone(),
                    b.requests.to_string(),
                    b.tokens.to_string(),
                    format!("{:.4}", b.cost),
                    format!("{:.1}%", b.success_rate * 100.0),
                    format!("{:.0}", b.mean_response_us / 1000.0),
                ]
            })
            .collect(),
    );

    let costs = backend.cost_totals(team, month).await?;
    section("Costs per billing period, service and currency (never summed across currencies)");
    table(
        &["period", "service", "currency", "amount", "entries"],
        costs
            .iter()
            .map(|c| {
                vec![
                    c.billing_period.clone(),
                    c.service_type.clone(),
                    c.currency.clone(),
                    format!("{:.2}", c.amount),
                    c.entries.to_string(),
                ]
            })
            .collect(),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The synthetic month
// ---------------------------------------------------------------------------------------------

/// A small deterministic generator (SplitMix64): enough randomness for synthetic rows, no
/// dependency, the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A log-normal factor with median 1 and spread `sigma` (Box-Muller).
    fn lognormal(&mut self, sigma: f64) -> f64 {
        let (u, v) = (self.unit().max(1e-12), self.unit());
        let normal = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        (sigma * normal).exp()
    }
}

/// The month's rows, in time order within each table.
struct Month {
    engagement: Vec<EngagementSnapshot>,
    performance: Vec<Performance>,
    ai: Vec<AiMetric>,
    costs: Vec<Cost>,
}

/// One calendar month of `zone` as a UTC period.
fn month_in(zone: Tz, year: i32, month: u32) -> Res<Period> {
    let first = |y, m| {
        NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| zone.from_local_datetime(&t).single())
            .map(|t| t.with_timezone(&Utc))
            .ok_or("no such month")
    };
    let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    Ok(Period::new(first(year, month)?, first(ny, nm)?)?)
}

/// How much a post published at this local time is liked, relative to the best slot: weekday
/// evenings and weekend late mornings do best, nights worst.
fn slot_factor(platform: Platform, weekday: u32, hour: u32) -> f64 {
    let weekend = weekday >= 5;
    let by_hour = match (weekend, hour) {
        (_, 0..=5) => 0.15,
        (false, 6..=8) => 0.55,
        (false, 9..=11) => 0.6,
        (false, 12..=13) => 0.8,
        (false, 14..=16) => 0.55,
        (false, 17..=20) => 1.0,
        (true, 6..=9) => 0.45,
        (true, 10..=13) => 1.0,
        (true, 14..=20) => 0.7,
        (_, _) => 0.35,
    };
    // LinkedIn is a weekday-morning network.
    match platform {
        Platform::LinkedIn if weekend => by_hour * 0.35,
        Platform::LinkedIn if (7..=10).contains(&hour) => 1.2,
        _ => by_hour,
    }
}

impl Month {
    fn generate(team: TeamId, month: Period, seed: u64) -> Month {
        let mut rng = Rng(seed);
        let meta_drop = Utc.with_ymd_and_hms(2026, 11, 18, 0, 0, 0).single().unwrap_or(month.start);
        let mut engagement = Vec::new();
        for n in 0..POSTS {
            let (platform, _) = PLATFORMS[rng.below(PLATFORMS.len())];
            // Published on one of the first 26 days, mostly in the daytime (Berlin).
            let day = rng.below(26) as i64;
            let hour = [7, 8, 9, 10, 11, 12, 13, 15, 17, 18, 19, 20, 21, 23][rng.below(14)];
            let local = month.start.with_timezone(&Berlin) + Duration::days(day);
            let published = local
                .with_hour(hour)
                .and_then(|t| t.with_minute(rng.below(60) as u32))
                .map_or(month.start, |t| t.with_timezone(&Utc));
            let at = published.with_timezone(&Berlin);
            let (base, tau_hours, views_per_like) = match platform {
                Platform::Instagram => (900.0, 10.0, 20.0),
                Platform::Facebook => (400.0, 14.0, 30.0),
                Platform::LinkedIn => (250.0, 22.0, 40.0),
                Platform::Twitter => (300.0, 3.0, 60.0),
                _ => (1500.0, 30.0, 80.0),
            };
            let final_likes =
                base * slot_factor(platform, at.weekday().num_days_from_monday(), at.hour()) * rng.lognormal(0.35);
            let post = PostId::from(uuid::Uuid::from_u128(0x9057_0000_0000_4000_8000_0000_0000_0000 + n as u128));
            let mut counters = [0i64; 6];
            let mut t = published + Duration::minutes(5);
            while t < month.end {
                let age = (t - published).num_seconds() as f64 / 3600.0;
                let reached = 1.0 - (-age / tau_hours).exp();
                let target = [
                    final_likes,
                    final_likes * 0.07,
                    final_likes * 0.04,
                    final_likes * views_per_like,
                    final_likes * 12.0,
                    final_likes * 18.0,
                ];
                for (c, want) in counters.iter_mut().zip(target) {
                    *c = (*c).max((want * reached) as i64);
                }
                // Now and then a like is taken back: the cumulative counter drops by one.
                if counters[0] > 0 && rng.chance(0.02) {
                    counters[0] -= 1;
                }
                let mut snap = EngagementSnapshot::new(team, post, platform, published, t)
                    .with(EngagementCounter::Likes, counters[0])
                    .with(EngagementCounter::Comments, counters[1])
                    .with(EngagementCounter::Shares, counters[2])
                    .with(EngagementCounter::Views, counters[3])
                    .with(EngagementCounter::Reach, counters[4]);
                // Meta stopped reporting impressions in Graph API v22: later snapshots of
                // Facebook and Instagram posts have none (absent, not zero).
                let meta = matches!(platform, Platform::Facebook | Platform::Instagram);
                if !(meta && t >= meta_drop) {
                    snap = snap.with(EngagementCounter::Impressions, counters[5]);
                }
                if platform == Platform::Instagram {
                    snap.extra = serde_json::json!({ "saves": counters[0] / 9 });
                }
                engagement.push(snap);
                t += Duration::minutes(27) + Duration::seconds(rng.below(360) as i64);
            }
        }
        engagement.sort_by_key(|s| s.time);

        let mut performance = Vec::new();
        let incident = Utc.with_ymd_and_hms(2026, 11, 17, 14, 0, 0).single().unwrap_or(month.start);
        let mut hour = month.start;
        while hour < month.end {
            let local_hour = hour.with_timezone(&Berlin).hour();
            let busy = if (8..20).contains(&local_hour) { 1.0 } else { 0.3 };
            for (endpoint, typical_ms) in ENDPOINTS {
                let requests = (12.0 * busy * rng.lognormal(0.2)) as usize + 1;
                for _ in 0..requests {
                    let in_incident = endpoint == "GET /analytics/engagement"
                        && hour >= incident
                        && hour < incident + Duration::hours(1);
                    let slow = if in_incident { 6.0 } else { 1.0 };
                    let ms = typical_ms * slow * rng.lognormal(0.45);
                    let status = if in_incident && rng.chance(0.15) {
                        503
                    } else if rng.chance(0.003) {
                        500
                    } else {
                        200
                    };
                    let at = hour + Duration::milliseconds(rng.below(3_600_000) as i64);
                    performance.push(Performance::new(
                        "api",
                        endpoint,
                        at,
                        StdDuration::from_micros((ms * 1000.0) as u64),
                        status,
                    ));
                }
            }
            hour += Duration::hours(1);
        }
        performance.sort_by_key(|p| p.time);

        let users: Vec<UserId> = (0..4u128)
            .map(|i| UserId::from(uuid::Uuid::from_u128(0x05e7_0000_0000_4000_8000_0000_0000_0000 + i)))
            .collect();
        let mut ai = Vec::new();
        let mut costs = Vec::new();
        let mut day = month.start;
        while day < month.end {
            let next = (day.with_timezone(&Berlin) + Duration::days(1)).with_timezone(&Utc);
            let mut day_cost = Decimal::ZERO;
            for (feature, model, price_per_k) in AI_USES {
                let requests = rng.below(8) + 2;
                for _ in 0..requests {
                    let tokens = 200 + rng.below(1800) as i32;
                    // price in USD per 1,000 tokens, in thousandths of a cent
                    let cost = Decimal::new(i64::from(tokens) * price_per_k, 6).round_dp(4);
                    day_cost += cost;
                    let millis = (1200.0 * rng.lognormal(0.5)) as u64;
                    let at = day + Duration::seconds(rng.below(86_000) as i64);
                    ai.push(AiMetric {
                        id: uuid::Uuid::now_v7(),
                        time: at,
                        user_id: users[rng.below(users.len())],
                        team_id: team,
                        feature_type: feature,
                        tokens_used: tokens,
                        cost,
                        model_used: model.to_owned(),
                        response_time: StdDuration::from_millis(millis),
                        success_rate: if rng.chance(0.97) { 1.0 } else { 0.0 },
                    });
                }
            }
            let period = "2026-11";
            let end_of_day = next - Duration::seconds(1);
            costs.push(Cost::new(team, "ai", day_cost.round_dp(2), "USD", period, end_of_day));
            costs.push(Cost::new(team, "storage", Decimal::new(35, 2), "EUR", period, end_of_day));
            if rng.chance(0.4) {
                let sms = Decimal::new(4 * (rng.below(20) as i64 + 1), 2);
                costs.push(Cost::new(team, "sms", sms, "GBP", period, end_of_day));
            }
            day = next;
        }
        ai.sort_by_key(|a| a.time);
        costs.sort_by_key(|c| c.time);
        Month { engagement, performance, ai, costs }
    }
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

fn section(title: &str) {
    println!("\n## {title}\n");
}

/// Print a compact table: columns as wide as their widest cell, numbers right-aligned.
fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let numeric = |s: &str| s.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '-');
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| if numeric(c) { format!("{c:>w$}") } else { format!("{c:<w$}") })
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(headers.to_vec());
    println!("{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
    if rows.is_empty() {
        println!("(no rows)");
    }
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn local_day(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format("%a %d %b").to_string()
}

fn opt(n: Option<i64>) -> String {
    n.map_or_else(|| "-".to_owned(), |n| n.to_string())
}

/// The team rollup by day: likes gained per platform, then all platforms' likes, views and
/// impressions gained.
fn print_team_engagement(points: &[TeamEngagementPoint]) {
    let mut by_day: BTreeMap<DateTime<Utc>, Vec<&TeamEngagementPoint>> = BTreeMap::new();
    for p in points {
        by_day.entry(p.bucket).or_default().push(p);
    }
    section("Team engagement gained per day (Berlin days; impressions: Meta stops reporting on 18 Nov)");
    let mut headers: Vec<&str> = PLATFORMS.iter().map(|(p, _)| p.as_str()).collect();
    headers.insert(0, "day");
    headers.extend(["likes", "views", "impressions"]);
    let sum = |ps: &[&TeamEngagementPoint], c: EngagementCounter| {
        ps.iter().filter_map(|p| p.gained.get(c)).reduce(|a, b| a + b)
    };
    let rows = by_day
        .iter()
        .map(|(day, ps)| {
            let mut row = vec![local_day(*day, Berlin)];
            for (platform, _) in PLATFORMS {
                let gained =
                    ps.iter().find(|p| p.platform == platform).and_then(|p| p.gained.get(EngagementCounter::Likes));
                row.push(opt(gained));
            }
            row.push(opt(sum(ps, EngagementCounter::Likes)));
            row.push(opt(sum(ps, EngagementCounter::Views)));
            row.push(opt(sum(ps, EngagementCounter::Impressions)));
            row
        })
        .collect();
    table(&headers, rows);
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn print_best_time(grid: &[BestTimeCell]) {
    let mut cells: Vec<&BestTimeCell> = grid.iter().filter(|c| c.mean_gained.is_some()).collect();
    cells.sort_by(|a, b| b.mean_gained.partial_cmp(&a.mean_gained).unwrap_or(std::cmp::Ordering::Equal));
    section("Best time to post: likes gained in the first 24 hours, by Berlin weekday and hour (top 8)");
    table(
        &["weekday", "hour", "posts", "likes", "mean likes"],
        cells
            .iter()
            .take(8)
            .map(|c| {
                vec![
                    WEEKDAYS[usize::from(c.weekday) % 7].to_owned(),
                    format!("{:02}:00", c.hour),
                    c.posts.to_string(),
                    c.total_gained.to_string(),
                    format!("{:.0}", c.mean_gained.unwrap_or_default()),
                ]
            })
            .collect(),
    );
}

// ---------------------------------------------------------------------------------------------
// CSV and charts
// ---------------------------------------------------------------------------------------------

/// The daily team rollup as CSV through core's streamed export (`csv_stream`: RFC 4180, a
/// header line, then one line per platform and day as the stream yields it); the lines written.
async fn write_csv(path: &Path, points: &[TeamEngagementPoint]) -> Res<usize> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut lines = std::pin::pin!(csv_stream(futures::stream::iter(points.iter().copied().map(Ok))));
    let mut n = 0;
    while let Some(line) = lines.next().await {
        file.write_all(line?.as_bytes())?;
        n += 1;
    }
    file.flush()?;
    Ok(n)
}

/// Likes gained per day, stacked by platform.
fn engagement_chart(path: &Path, points: &[TeamEngagementPoint]) -> Res<()> {
    let days: Vec<DateTime<Utc>> = {
        let mut d: Vec<_> = points.iter().map(|p| p.bucket).collect();
        d.sort();
        d.dedup();
        d
    };
    let gained = |day: DateTime<Utc>, platform: Platform| {
        points
            .iter()
            .find(|p| p.bucket == day && p.platform == platform)
            .and_then(|p| p.gained.get(EngagementCounter::Likes))
            .unwrap_or(0)
            .max(0) as f64
    };
    let top = days.iter().map(|d| PLATFORMS.iter().map(|(p, _)| gained(*d, *p)).sum::<f64>()).fold(0.0, f64::max);

    let root = SVGBackend::new(path, (1000, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Likes gained per day, by platform (Europe/Berlin days)", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5f64..(days.len() as f64 - 0.5), 0f64..(top * 1.1).max(1.0))
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(days.len().min(16))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            days.get(i as usize).map(|d| d.with_timezone(&Berlin).format("%d %b").to_string()).unwrap_or_default()
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .y_desc("likes gained")
        .draw()
        .map_err(plot_err)?;
    let mut base = vec![0.0; days.len()];
    for (platform, colour) in PLATFORMS {
        let bars: Vec<Rectangle<(f64, f64)>> = days
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let (x, y0) = (i as f64, base[i]);
                let y1 = y0 + gained(*d, platform);
                base[i] = y1;
                Rectangle::new([(x - 0.38, y0), (x + 0.38, y1)], colour.filled())
            })
            .collect();
        chart
            .draw_series(bars)
            .map_err(plot_err)?
            .label(platform.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// The 7 x 24 best-time grid: mean likes in the first 24 hours per slot, darker is better,
/// grey where nothing was published. Monday is the top row.
fn best_time_heatmap(path: &Path, grid: &[BestTimeCell]) -> Res<()> {
    let best = grid.iter().filter_map(|c| c.mean_gained).fold(0.0, f64::max).max(1.0);
    // Segmented ranges hold their end: 0..23 is the 24 hours, 0..6 the 7 rows.
    let row_of = |weekday: u8| 6 - u32::from(weekday.min(6));
    let root = SVGBackend::new(path, (1100, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Best time to post: mean likes in the first 24 h by publication slot (Europe/Berlin; grey: no post)",
            ("sans-serif", 18),
        )
        .margin(16)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d((0u32..23u32).into_segmented(), (0u32..6u32).into_segmented())
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(24)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(h) => format!("{h:02}h"),
            _ => String::new(),
        })
        .y_labels(7)
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(row) => {
                WEEKDAYS.get(6usize.saturating_sub(*row as usize)).copied().unwrap_or("").to_owned()
            }
            _ => String::new(),
        })
        .x_desc("hour of publication")
        .draw()
        .map_err(plot_err)?;
    let cells = grid.iter().map(|c| {
        let (x, y) = (u32::from(c.hour), row_of(c.weekday));
        let colour = match c.mean_gained {
            None => RGBColor(235, 235, 235),
            Some(m) => {
                let t = (m / best).clamp(0.0, 1.0);
                let mix = |lo: u8, hi: u8| (f64::from(lo) + (f64::from(hi) - f64::from(lo)) * t).round() as u8;
                RGBColor(mix(255, 120), mix(245, 20), mix(225, 60))
            }
        };
        let mut cell = Rectangle::new(
            [
                (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
            ],
            colour.filled(),
        );
        cell.set_margin(2, 2, 2, 2);
        cell
    });
    chart.draw_series(cells).map_err(plot_err)?;
    let labels = grid.iter().filter_map(|c| {
        let mean = c.mean_gained?;
        let colour = if mean / best > 0.55 { WHITE } else { BLACK };
        let style = ("sans-serif", 12).into_font().color(&colour).pos(Pos::new(HPos::Center, VPos::Center));
        let at = (SegmentValue::CenterOf(u32::from(c.hour)), SegmentValue::CenterOf(row_of(c.weekday)));
        Some(Text::new(format!("{mean:.0}"), at, style))
    });
    chart.draw_series(labels).map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// A plotters error as a boxed error (its backend error is not `Send`).
fn plot_err<E: StdError + Send + Sync + 'static>(e: DrawingAreaErrorKind<E>) -> BoxError {
    e.to_string().into()
}
