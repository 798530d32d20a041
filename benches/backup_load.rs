//! Backup benchmark: `Backups::create` and `Backups::restore` beside plain `pg_dump` and
//! `pg_restore`, in the same run, on the same database.
//!
//! | part | the library | baseline |
//! | --- | --- | --- |
//! | backup | `Backups::create` into a local folder (`LocalFileSystem`): `pg_dump --format=custom --snapshot` streamed through a multipart upload and SHA-256, rows counted in the snapshot, manifest | `pg_dump --format=custom -f <file>` into the same folder's disk |
//! | encrypted backup | the same with a `BackupKey` (AES-256-GCM, 1 MiB chunks) | the same `pg_dump -f` |
//! | restore + verify | `Backups::restore`: download while hashing, checksum against the manifest, `CREATE DATABASE`, `pg_restore --clean --if-exists --no-owner`, every table recounted | `CREATE DATABASE` + `pg_restore --no-owner -d` of the plain file |
//!
//! The database: `BENCH_BACKUP_POSTS` (200,000) rows of a synthetic `posts` table shaped like
//! ClientNest's (uuid ids, team and user ids, ~280 characters of content, jsonb settings, a
//! status, timestamps) with a `post_media` table of one row per 4 posts (FK to `posts`), in a
//! database created for the run on `DATABASE_URL`'s server and dropped after it. Seeding
//! ClientNest's own schema through the repositories would take longer than the measurement.
//! `BENCH_BACKUP_ROUNDS` (3) rounds, the sides alternating, the best of each kept. Ratios are
//! baseline time / library time: >= 1 means the library is as fast as the baseline.
//! Run: `cargo bench --bench backup_load --features s3` (release).

use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clientnest_s3::backup::{BackupKey, Backups, RestoreOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn db_url(server: &str, name: &str) -> Result<String, String> {
    let mut url = url_parts(server)?;
    url.1 = name.to_owned();
    Ok(format!("{}/{}{}", url.0, url.1, url.2))
}

/// `(scheme://authority, database, ?query)` of a URL.
fn url_parts(url: &str) -> Result<(String, String, String), String> {
    let (scheme, rest) = url.split_once("://").ok_or("DATABASE_URL is not a URL")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (db, query) = match path.split_once('?') {
        Some((d, q)) => (d, format!("?{q}")),
        None => (path, String::new()),
    };
    Ok((format!("{scheme}://{authority}"), db.to_owned(), query))
}

async fn exec(url: &str, sql: String) -> Result<(), String> {
    let mut conn = PgConnection::connect(url).await.map_err(|e| format!("connect: {e}"))?;
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await.map_err(|e| format!("sql: {e}"))?;
    conn.close().await.map_err(|e| e.to_string())
}

async fn seed(url: &str, posts: usize) -> Result<(), String> {
    exec(
        url,
        format!(
            r"
            CREATE TABLE posts (
                id uuid PRIMARY KEY,
                team_id uuid NOT NULL,
                user_id uuid NOT NULL,
                content text NOT NULL,
                status text NOT NULL,
                settings jsonb NOT NULL,
                scheduled_time timestamptz,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE INDEX posts_team_created ON posts (team_id, created_at DESC, id DESC);
            CREATE TABLE post_media (
                id uuid PRIMARY KEY,
                post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
                file_url text NOT NULL,
                file_type text NOT NULL,
                file_size bigint NOT NULL
            );
            INSERT INTO posts
            SELECT md5('p' || g)::uuid, md5('t' || (g % 50))::uuid, md5('u' || (g % 400))::uuid,
                   'Post ' || g || ': ' || repeat(md5(g::text), 8) || ' #launch #product',
                   (ARRAY['draft', 'scheduled', 'published', 'failed'])[1 + g % 4],
                   jsonb_build_object('platforms', jsonb_build_array('x', 'linkedin'), 'utm', 'spring-' || (g % 30),
                                      'first_comment', g % 3 = 0),
                   timestamptz '2026-01-01' + g * interval '37 seconds',
                   timestamptz '2025-12-01' + g * interval '30 seconds',
                   timestamptz '2025-12-01' + g * interval '31 seconds'
            FROM generate_series(1, {posts}) g;
            INSERT INTO post_media
            SELECT md5('m' || g)::uuid, md5('p' || g)::uuid,
                   'https://cdn.example.com/teams/' || (g % 50) || '/media/' || md5('m' || g) || '.jpg',
                   'image/jpeg', 100000 + g
            FROM generate_series(1, {posts}, 4) g;
            "
        ),
    )
    .await?;
    exec(url, "VACUUM ANALYZE".to_owned()).await
}

fn best(times: &[Duration]) -> Duration {
    times.iter().copied().min().unwrap_or_default()
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

async fn run() -> Result<(), String> {
    let server = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set")?;
    let posts = env_usize("BENCH_BACKUP_POSTS", 200_000);
    let rounds = env_usize("BENCH_BACKUP_ROUNDS", 3).max(1);
    let name = format!("bench_backup_{}", std::process::id());
    let source = db_url(&server, &name)?;
    exec(&server, format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
    exec(&server, format!("CREATE DATABASE \"{name}\"")).await?;
    println!("seeding {posts} synthetic posts (+ {} media rows) into {name}", posts.div_ceil(4));
    let t = Instant::now();
    let result = async {
        seed(&source, posts).await?;
        println!("seeded in {:.1} s", t.elapsed().as_secs_f64());
        measure(&server, &source, rounds).await
    }
    .await;
    exec(&server, format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
    result
}

async fn measure(server: &str, source: &str, rounds: usize) -> Result<(), String> {
    let (mut raw_dump, mut lib_dump, mut lib_enc) = (Vec::new(), Vec::new(), Vec::new());
    let (mut raw_restore, mut lib_restore) = (Vec::new(), Vec::new());
    let (mut raw_bytes, mut lib_bytes, mut tables, mut rows) = (0u64, 0u64, 0usize, 0i64);
    for round in 1..=rounds {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        // Baseline: pg_dump into a file.
        let file = dir.path().join("plain.dump");
        let t = Instant::now();
        let status = Command::new("pg_dump")
            .arg("--format=custom")
            .arg("-f")
            .arg(&file)
            .arg("--dbname")
            .arg(source)
            .status()
            .map_err(|e| format!("pg_dump: {e}"))?;
        if !status.success() {
            return Err(format!("pg_dump failed: {status}"));
        }
        raw_dump.push(t.elapsed());
        raw_bytes = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();

        // The library into a local folder on the same disk.
        let store =
            Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir.path()).map_err(|e| e.to_string())?);
        let backups = Backups::new(store.clone());
        let t = Instant::now();
        let manifest = backups.create(source).await.map_err(|e| format!("create: {e}"))?;
        lib_dump.push(t.elapsed());
        lib_bytes = manifest.size_bytes;
        tables = manifest.tables.len();
        rows = manifest.total_rows();

        let encrypted = Backups::new(store.clone()).with_prefix("encrypted").with_key(BackupKey::generate());
        let t = Instant::now();
        encrypted.create(source).await.map_err(|e| format!("encrypted create: {e}"))?;
        lib_enc.push(t.elapsed());

        // Baseline restore: a new database and pg_restore of the plain file.
        let raw_target = format!("bench_backup_raw_{}_{round}", std::process::id());
        let t = Instant::now();
        exec(server, format!("CREATE DATABASE \"{raw_target}\"")).await?;
        let status = Command::new("pg_restore")
            .arg("--no-owner")
            .arg("--dbname")
            .arg(db_url(server, &raw_target)?)
            .arg(&file)
            .status()
            .map_err(|e| format!("pg_restore: {e}"))?;
        raw_restore.push(t.elapsed());
        exec(server, format!("DROP DATABASE IF EXISTS \"{raw_target}\" WITH (FORCE)")).await?;
        if !status.success() {
            return Err(format!("pg_restore failed: {status}"));
        }

        // The library: download + hash + checksum + create + pg_restore --clean + recount.
        let lib_target = format!("bench_backup_lib_{}_{round}", std::process::id());
        let t = Instant::now();
        let restored = backups.restore(&manifest.id, server, &RestoreOptions::new(&lib_target)).await;
        lib_restore.push(t.elapsed());
        exec(server, format!("DROP DATABASE IF EXISTS \"{lib_target}\" WITH (FORCE)")).await?;
        let report = restored.map_err(|e| format!("restore: {e}"))?;
        println!(
            "round {round}: pg_dump {} s, create {} s, encrypted create {} s, pg_restore {} s, restore+verify {} s ({} tables)",
            secs(raw_dump[round - 1]),
            secs(lib_dump[round - 1]),
            secs(lib_enc[round - 1]),
            secs(raw_restore[round - 1]),
            secs(lib_restore[round - 1]),
            report.tables_checked
        );
    }
    let ratio = |raw: Duration, lib: Duration| raw.as_secs_f64() / lib.as_secs_f64().max(1e-9);
    println!();
    println!(
        "synthetic post-like tables: {tables} tables, {rows} rows; dump {raw_bytes} bytes (pg_dump -f), {lib_bytes} bytes stored"
    );
    println!("best of {rounds} rounds:");
    println!();
    println!("| case | library s | baseline | baseline s | ratio (baseline / library) |");
    println!("|---|---:|---|---:|---:|");
    let (rd, ld, le) = (best(&raw_dump), best(&lib_dump), best(&lib_enc));
    let (rr, lr) = (best(&raw_restore), best(&lib_restore));
    println!(
        "| backup (`create`, local folder) | {} | `pg_dump -Fc -f file` | {} | **{:.2}x** |",
        secs(ld),
        secs(rd),
        ratio(rd, ld)
    );
    println!("| encrypted backup | {} | `pg_dump -Fc -f file` | {} | {:.2}x |", secs(le), secs(rd), ratio(rd, le));
    println!(
        "| restore + verify (`restore`) | {} | `CREATE DATABASE` + `pg_restore -d` | {} | **{:.2}x** |",
        secs(lr),
        secs(rr),
        ratio(rr, lr)
    );
    Ok(())
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
