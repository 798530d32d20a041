//! The raw baselines, run beside the library in the same run: `pgbench -M prepared` with the
//! library's own SQL, and `psql \copy` of the same rows.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::BenchResult;
use clientnest_testkit::measure::{children_cpu, per_unit, rate};

/// `PGOPTIONS` for every pgbench and psql the bench starts (set once, at start-up).
pub(crate) static PGOPTIONS: OnceLock<String> = OnceLock::new();

/// A client command with the bench's `PGOPTIONS`.
fn client(program: &str) -> Command {
    let mut cmd = Command::new(program);
    if let Some(options) = PGOPTIONS.get() {
        cmd.env("PGOPTIONS", options);
    }
    cmd
}

/// A baseline's throughput and the CPU its client (pgbench, psql) used per unit of work.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Base {
    /// Units of work per second, over the whole run.
    pub(crate) per_sec: f64,
    /// The client's CPU time per unit.
    pub(crate) cpu_per_unit: Duration,
}

impl Base {
    /// `units` done in `elapsed` with `cpu` of client CPU.
    pub(crate) fn of(units: usize, elapsed: Duration, cpu: Duration) -> Base {
        Base { per_sec: rate(units, elapsed), cpu_per_unit: per_unit(cpu, units) }
    }
}

/// Replace the placeholders `$1`, `$2`... of `sql` by `args[0]`, `args[1]`... (SQL text: a
/// typed literal, an expression or a pgbench `:variable`).
pub(crate) fn bind_sql<S: AsRef<str>>(sql: &str, args: &[S]) -> BenchResult<String> {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '$' || !chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) {
            out.push(c);
            continue;
        }
        let mut n = 0usize;
        while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
            n = n * 10 + d.to_digit(10).map_or(0, |d| d as usize);
            chars.next();
        }
        let arg = n.checked_sub(1).and_then(|i| args.get(i)).ok_or_else(|| format!("no argument for ${n}"))?;
        out.push_str(arg.as_ref());
    }
    Ok(out)
}

/// A SQL string literal: single-quoted, each `'` doubled.
pub(crate) fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Run a pgbench command and read its result: transactions per second (without connection
/// time), transactions done, and the CPU pgbench used. Failed transactions are an error.
fn run_pgbench(mut cmd: Command) -> BenchResult<(f64, f64, Duration)> {
    let cpu = children_cpu();
    let out = cmd.output().map_err(|e| format!("pgbench could not start: {e}"))?;
    let cpu = children_cpu().saturating_sub(cpu);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("pgbench failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let failed = stdout.lines().find(|l| l.starts_with("number of failed transactions"));
    if let Some(line) = failed.filter(|l| !l.contains(": 0 ")) {
        return Err(format!("pgbench had failures: {line}").into());
    }
    let value = |prefix: &str| -> Option<f64> {
        let line = stdout.lines().find_map(|l| l.strip_prefix(prefix))?;
        line.split(|c: char| c.is_whitespace() || c == '/').find(|w| !w.is_empty())?.parse().ok()
    };
    let (Some(tps), Some(done)) = (value("tps = "), value("number of transactions actually processed: ")) else {
        return Err(format!("no tps in pgbench's output:\n{stdout}").into());
    };
    Ok((tps, done, cpu))
}

/// Run pgbench on `scripts` (picked at random, equal weights) with `clients` connections for
/// `secs` seconds, prepared statements, no vacuum: transactions (script runs) per second.
pub(crate) fn pgbench(url: &str, scripts: &[PathBuf], clients: usize, threads: usize, secs: u64) -> BenchResult<Base> {
    let mut cmd = client("pgbench");
    cmd.args(["-n", "-M", "prepared", "-c", &clients.to_string(), "-j", &threads.min(clients).to_string()]);
    cmd.args(["-T", &secs.to_string()]);
    for s in scripts {
        cmd.arg("-f").arg(format!("{}@1", s.display()));
    }
    cmd.arg(url);
    let (tps, done, cpu) = run_pgbench(cmd)?;
    Ok(Base { per_sec: tps, cpu_per_unit: Base::of(done as usize, Duration::from_secs(1), cpu).cpu_per_unit })
}

/// `\copy table (columns) FROM file` in CSV, one psql process per file, all at once; returns
/// the wall time until the last one finished and the CPU time the psql processes used.
pub(crate) fn psql_copy(url: &str, table: &str, columns: &str, files: &[PathBuf]) -> BenchResult<(Duration, Duration)> {
    let (started, cpu) = (Instant::now(), children_cpu());
    let children: Vec<Child> = files
        .iter()
        .map(|f| {
            let copy = format!("\\copy {table} ({columns}) FROM '{}' WITH (FORMAT csv)", f.display());
            client("psql")
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", &copy])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("psql could not start: {e}"))?;
    for child in children {
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(format!("psql \\copy into {table} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
    }
    Ok((started.elapsed(), children_cpu().saturating_sub(cpu)))
}

/// Run pgbench on one script with `clients` connections, each running it `per_client` times
/// (`-t`), prepared statements: the transactions done and the seconds they took (from pgbench's
/// tps, without connection time), and the CPU pgbench used.
pub(crate) fn pgbench_count(
    url: &str,
    script: &Path,
    clients: usize,
    threads: usize,
    per_client: usize,
) -> BenchResult<(f64, Duration, Duration)> {
    let mut cmd = client("pgbench");
    cmd.args(["-n", "-M", "prepared", "-c", &clients.to_string(), "-j", &threads.min(clients).to_string()]);
    cmd.args(["-t", &per_client.to_string()]).arg("-f").arg(script).arg(url);
    let (tps, done, cpu) = run_pgbench(cmd)?;
    Ok((done, Duration::from_secs_f64(done / tps), cpu))
}

/// The rows of one query, by psql (`-At`: unaligned, `|` between columns; setup, not measured).
pub(crate) fn psql_rows(url: &str, sql: &str) -> BenchResult<Vec<String>> {
    let out = Command::new("psql").args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]).output()?;
    if !out.status.success() {
        return Err(format!("psql failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect())
}

/// Run one SQL command with psql (setup, not measured).
pub(crate) fn psql(url: &str, sql: &str) -> BenchResult<()> {
    let out = Command::new("psql").args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("psql failed: {}", String::from_utf8_lossy(&out.stderr)).into())
    }
}

/// A CSV file in PostgreSQL's `FORMAT csv`: every value quoted, `NULL` as an unquoted empty
/// field.
pub(crate) struct Csv {
    out: BufWriter<File>,
    first: bool,
}

impl Csv {
    /// Create (or truncate) the file.
    pub(crate) fn create(path: &Path) -> BenchResult<Csv> {
        Ok(Csv { out: BufWriter::with_capacity(1 << 20, File::create(path)?), first: true })
    }

    /// One value; `None` is NULL.
    pub(crate) fn value(&mut self, v: Option<&str>) -> BenchResult<&mut Self> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        if let Some(v) = v {
            self.out.write_all(b"\"")?;
            self.out.write_all(v.replace('"', "\"\"").as_bytes())?;
            self.out.write_all(b"\"")?;
        }
        Ok(self)
    }

    /// One non-null value.
    pub(crate) fn text(&mut self, v: &str) -> BenchResult<&mut Self> {
        self.value(Some(v))
    }

    /// End the row with a newline.
    pub(crate) fn end(&mut self) -> BenchResult<()> {
        self.out.write_all(b"\n")?;
        self.first = true;
        Ok(())
    }

    /// Flush the buffered rows to the file.
    pub(crate) fn finish(mut self) -> BenchResult<()> {
        self.out.flush()?;
        Ok(())
    }
}
