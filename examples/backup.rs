//! Backups of a PostgreSQL database to object storage: a command-line template.
//!
//! ```text
//! cargo run --example backup --features s3 -- <command>
//!
//!   create                               back up the database of DATABASE_URL
//!   list                                 list its complete backups
//!   prune [--daily N] [--weekly N]       apply the retention policy (default 7 daily, 4 weekly)
//!   restore [--backup ID] [--into NAME]  restore a backup (default the newest) into a NEW database
//!   verify [ID]                          check a backup's checksum and manifest (no restore)
//!   drill                                restore the newest backup into a scratch database, verify
//!                                        it, drop it, record the outcome (takes a backup first if
//!                                        there is none)
//! ```
//!
//! Environment:
//!
//! * `DATABASE_URL`: the database to back up; restores and drills create their databases on
//!   the same server.
//! * `S3_ENDPOINT` with `S3_BUCKET`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`:
//!   an S3-compatible store (path-style requests; plain http only for a loopback endpoint).
//!   Without `S3_ENDPOINT`, the local folder `BACKUP_DIR` (default `./backups`).
//! * `BACKUP_KEY` (optional): 32 bytes in hex or base64 to encrypt backups with, and
//!   `BACKUP_KEY_ID` (optional) its id (default: the key's fingerprint).
//! * `BACKUP_PREFIX` (optional): the prefix of the backup objects (default `backups`).
//!
//! Every step is printed; long ones get a progress bar. Any failure exits non-zero.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clientnest_s3::backup::{
    BackupError, BackupId, BackupKey, Backups, Progress, RestoreOptions, RetentionPolicy, Step,
};
use indicatif::{ProgressBar, ProgressStyle};
use object_store::ObjectStore;

const USAGE: &str = "usage: backup <create | list | prune [--daily N] [--weekly N] | \
restore [--backup ID] [--into NAME] | verify [ID] | drill>";

/// What the command line asks for.
enum Command {
    Create,
    List,
    Prune { daily: usize, weekly: usize },
    Restore { backup: Option<String>, into: Option<String> },
    Verify { backup: Option<String> },
    Drill,
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    let (command, rest) = args.split_first().ok_or_else(|| USAGE.to_owned())?;
    let mut options: Vec<(String, String)> = Vec::new();
    let mut positional: Vec<String> = Vec::new();
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        if let Some(name) = arg.strip_prefix("--") {
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => (name.to_owned(), it.next().ok_or_else(|| format!("--{name} needs a value\n{USAGE}"))?.clone()),
            };
            options.push((name, value));
        } else {
            positional.push(arg.clone());
        }
    }
    let mut take = |name: &str| -> Option<String> {
        let i = options.iter().position(|(n, _)| n == name)?;
        Some(options.remove(i).1)
    };
    let number = |value: Option<String>, default: usize, name: &str| -> Result<usize, String> {
        value.map_or(Ok(default), |v| v.parse().map_err(|_| format!("--{name} takes a number, not {v:?}")))
    };
    let command = match command.as_str() {
        "create" => Command::Create,
        "list" => Command::List,
        "prune" => {
            let defaults = RetentionPolicy::default();
            Command::Prune {
                daily: number(take("daily"), defaults.daily, "daily")?,
                weekly: number(take("weekly"), defaults.weekly, "weekly")?,
            }
        }
        "restore" => Command::Restore { backup: take("backup"), into: take("into") },
        "verify" => Command::Verify { backup: positional.pop().or_else(|| take("backup")) },
        "drill" => Command::Drill,
        "help" | "-h" => return Err(USAGE.to_owned()),
        other => return Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    if let Some((name, _)) = options.first() {
        return Err(format!("unknown option --{name}\n{USAGE}"));
    }
    if !positional.is_empty() {
        return Err(format!("unexpected argument {:?}\n{USAGE}", positional[0]));
    }
    Ok(command)
}

/// Progress bars: a bar when the size is known, a spinner with a byte count otherwise.
struct Bars {
    current: Mutex<Option<ProgressBar>>,
    interactive: bool,
}

impl Bars {
    fn new() -> Self {
        Self { current: Mutex::new(None), interactive: std::io::stderr().is_terminal() }
    }
}

impl Progress for Bars {
    fn step_started(&self, step: Step, total_bytes: Option<u64>) {
        println!("  - {step}");
        if !self.interactive || !matches!(step, Step::Dump | Step::Download | Step::Restore | Step::CountRows) {
            return;
        }
        let bar = match total_bytes {
            Some(total) => {
                let bar = ProgressBar::new(total);
                if let Ok(style) = ProgressStyle::with_template(
                    "    {spinner} {msg:<10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar
            }
            None => {
                let bar = ProgressBar::new_spinner();
                if let Ok(style) =
                    ProgressStyle::with_template("    {spinner} {msg:<10} {bytes} {bytes_per_sec} {elapsed}")
                {
                    bar.set_style(style);
                }
                bar
            }
        };
        bar.set_message(step.as_str());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut current) = self.current.lock() {
            *current = Some(bar);
        }
    }

    fn bytes(&self, step: Step, done: u64) {
        if matches!(step, Step::Dump | Step::Download)
            && let Ok(current) = self.current.lock()
            && let Some(bar) = current.as_ref()
        {
            bar.set_position(done);
        }
    }

    fn step_finished(&self, _step: Step) {
        if let Ok(mut current) = self.current.lock()
            && let Some(bar) = current.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// The object store from the environment: S3 when `S3_ENDPOINT` is set, else `BACKUP_DIR`.
fn object_store() -> Result<(Arc<dyn ObjectStore>, String), String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(endpoint) = var("S3_ENDPOINT") {
        let bucket = var("S3_BUCKET").ok_or("S3_ENDPOINT is set but S3_BUCKET is not")?;
        let url = url_host(&endpoint).ok_or_else(|| format!("S3_ENDPOINT {endpoint:?} is not a URL"))?;
        let loopback = matches!(url.1.as_str(), "127.0.0.1" | "localhost" | "::1" | "[::1]");
        if url.0 == "http" && !loopback {
            return Err(format!("S3_ENDPOINT {endpoint:?} uses plain http on a non-loopback host; use https"));
        }
        for required in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            if var(required).is_none() {
                return Err(format!("S3_ENDPOINT is set but {required} is not"));
            }
        }
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_endpoint(&endpoint)
            .with_bucket_name(&bucket)
            .with_region(var("AWS_REGION").unwrap_or_else(|| "us-east-1".to_owned()))
            .with_virtual_hosted_style_request(false)
            .with_allow_http(loopback)
            .build()
            .map_err(|e| format!("cannot use the S3 store at {endpoint}: {e}"))?;
        Ok((Arc::new(store), format!("s3 bucket {bucket} at {endpoint}")))
    } else {
        let dir = var("BACKUP_DIR").unwrap_or_else(|| "./backups".to_owned());
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create BACKUP_DIR {dir:?}: {e}"))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| format!("cannot use BACKUP_DIR {dir:?}: {e}"))?;
        Ok((Arc::new(store), format!("folder {dir}")))
    }
}

/// `(scheme, host)` of a URL.
fn url_host(endpoint: &str) -> Option<(String, String)> {
    let (scheme, rest) = endpoint.split_once("://")?;
    let authority = rest.split('/').next()?;
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// The database name in a `postgres://` URL (libpq's default: the user name).
fn database_name(url: &str) -> Result<String, String> {
    let rest = url.split_once("://").map(|(_, r)| r).ok_or("DATABASE_URL is not a postgres:// URL")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let name = path.split('?').next().unwrap_or("");
    if !name.is_empty() {
        return Ok(name.to_owned());
    }
    let user = authority.rsplit_once('@').map(|(u, _)| u.split(':').next().unwrap_or(u)).unwrap_or("");
    if user.is_empty() { Err("DATABASE_URL names no database".to_owned()) } else { Ok(user.to_owned()) }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A message for an error, with its causes.
fn explain(e: &BackupError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!("\n  caused by: {cause_text}"));
        }
        source = cause.source();
    }
    text
}

async fn resolve(backups: &Backups, database: &str, given: Option<String>) -> Result<BackupId, BackupError> {
    match given {
        Some(text) => backups.parse_id(&text),
        None => backups.latest(database).await,
    }
}

async fn run(command: Command) -> Result<(), String> {
    let database_url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set".to_owned())?;
    let database = database_name(&database_url)?;
    let (store, place) = object_store()?;
    let mut backups = Backups::new(store).with_progress(Arc::new(Bars::new()));
    if let Ok(prefix) = std::env::var("BACKUP_PREFIX") {
        backups = backups.with_prefix(&prefix);
    }
    if let Some(text) = std::env::var("BACKUP_KEY").ok().filter(|v| !v.trim().is_empty()) {
        let id = std::env::var("BACKUP_KEY_ID").ok().filter(|v| !v.trim().is_empty());
        let key = BackupKey::parse(&text, id.as_deref()).map_err(|e| format!("BACKUP_KEY: {e}"))?;
        println!("encrypting with key {}", key.id());
        backups = backups.with_key(key);
    }
    println!("database {database}, backups in {place}");
    let fail = |e: BackupError| explain(&e);

    match command {
        Command::Create => {
            println!("==> backing up {database}");
            let m = backups.create(&database_url).await.map_err(fail)?;
            println!(
                "ok: {} ({}, sha256 {}, {} tables, {} rows{})",
                m.id,
                mib(m.size_bytes),
                &m.sha256[..16],
                m.tables.len(),
                m.total_rows(),
                if m.encrypted { ", encrypted" } else { "" }
            );
        }
        Command::List => {
            let list = backups.list(&database).await.map_err(fail)?;
            if list.is_empty() {
                println!("no complete backups of {database}");
            }
            for s in list {
                let drill = match backups.drill_record(&s.id).await.map_err(fail)? {
                    Some(r) if r.ok => format!("drill ok {}", r.started_at.format("%Y-%m-%d %H:%M")),
                    Some(_) => "drill FAILED".to_owned(),
                    None => "no drill".to_owned(),
                };
                println!("{}  {:>10}  {drill}", s.id, mib(s.dump_bytes));
            }
        }
        Command::Prune { daily, weekly } => {
            println!("==> pruning {database}: newest of {daily} days and {weekly} ISO weeks");
            let report = backups.prune(&database, &RetentionPolicy::new(daily, weekly)).await.map_err(fail)?;
            for id in &report.deleted {
                println!("deleted {id}");
            }
            for id in &report.incomplete_deleted {
                println!("deleted incomplete {id}");
            }
            println!(
                "ok: kept {}, deleted {}",
                report.kept.len(),
                report.deleted.len() + report.incomplete_deleted.len()
            );
        }
        Command::Restore { backup, into } => {
            let id = resolve(&backups, &database, backup).await.map_err(fail)?;
            let into = into.unwrap_or_else(|| format!("{}_restored_{}", database, id.stamp().to_lowercase()));
            println!("==> restoring {id} into new database {into}");
            let r = backups.restore(&id, &database_url, &RestoreOptions::new(&into)).await.map_err(fail)?;
            println!(
                "ok: {} restored into {} in {:.1} s; {} tables, {} rows match the manifest",
                r.backup,
                r.database,
                r.duration_ms as f64 / 1000.0,
                r.tables_checked,
                r.rows_checked
            );
        }
        Command::Verify { backup } => {
            let id = resolve(&backups, &database, backup).await.map_err(fail)?;
            println!("==> verifying {id}");
            let v = backups.verify(&id).await.map_err(fail)?;
            println!(
                "ok: {} matches its manifest (sha256 {}, {}{})",
                v.backup,
                v.manifest.sha256,
                mib(v.manifest.size_bytes),
                if v.decrypted { ", decrypted end to end" } else { "" }
            );
        }
        Command::Drill => {
            if backups.list(&database).await.map_err(fail)?.is_empty() {
                println!("==> no backup of {database} yet: taking one");
                let m = backups.create(&database_url).await.map_err(fail)?;
                println!("ok: {} ({})", m.id, mib(m.size_bytes));
            }
            println!("==> restore drill of the newest backup of {database}");
            let r = backups.drill(&database, &database_url).await.map_err(fail)?;
            println!(
                "ok: drill of {} passed in {:.1} s; {} tables, {} rows checked; scratch database {} dropped",
                r.backup,
                r.duration_ms as f64 / 1000.0,
                r.tables_checked,
                r.rows_checked,
                r.scratch_database
            );
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
