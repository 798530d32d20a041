//! The raw baseline: `redis-benchmark` against the same server, at the same concurrency, in the
//! same run.

use std::process::Command;

use clientnest::{Error, Result};

/// Where `redis-benchmark` connects: host, port, database and credentials from a
/// `redis://[user[:password]@]host[:port][/db]` URL.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    host: String,
    port: u16,
    db: Option<u32>,
    user: Option<String>,
    password: Option<String>,
}

impl Server {
    /// Parse a single-node Redis URL.
    pub(crate) fn from_url(url: &str) -> Result<Self> {
        let bad = |why: &str| Error::backend("bench", format!("REDIS_URL (not shown, it may hold a password): {why}"));
        let rest = url.strip_prefix("redis://").ok_or_else(|| bad("only redis:// URLs are supported"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo.map(|u| u.split_once(':').unwrap_or((u, ""))) {
            Some((u, p)) => {
                (Some(u.to_owned()).filter(|u| !u.is_empty()), Some(p.to_owned()).filter(|p| !p.is_empty()))
            }
            None => (None, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad("bad port"))?),
            None => (hostport.to_owned(), 6379),
        };
        let db = if path.is_empty() { None } else { Some(path.parse().map_err(|_| bad("bad database number"))?) };
        Ok(Self { host, port, db, user, password })
    }

    /// The connection options of `redis-benchmark` and `redis-cli`.
    fn args(&self) -> Vec<String> {
        let mut args = vec!["-h".to_owned(), self.host.clone(), "-p".to_owned(), self.port.to_string()];
        if let Some(db) = self.db {
            args.extend(["--dbnum".to_owned(), db.to_string()]);
        }
        if let Some(user) = &self.user {
            args.extend(["--user".to_owned(), user.clone()]);
        }
        if let Some(password) = &self.password {
            args.extend(["-a".to_owned(), password.clone(), "--no-auth-warning".to_owned()]);
        }
        args
    }
}

/// Run `redis-benchmark -c <concurrency> -n <requests> --csv <options...> <command...>` (one
/// connection per client, no pipelining) and return its requests per second.
pub(crate) fn redis_benchmark(
    server: &Server,
    concurrency: usize,
    requests: usize,
    options: &[&str],
    command: &[&str],
) -> Result<f64> {
    let output = Command::new("redis-benchmark")
        .args(server.args())
        .args(["-c", &concurrency.to_string(), "-n", &requests.to_string(), "--csv"])
        .args(options)
        .args(command)
        .output()
        .map_err(|e| Error::backend("bench", format!("running redis-benchmark: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::backend("bench", format!("redis-benchmark failed: {stderr}")));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    parse_rps(&stdout).ok_or_else(|| Error::backend("bench", format!("no result in redis-benchmark output: {stdout}")))
}

/// The `rps` of the first result row of `redis-benchmark --csv`: the sixth field from the right
/// of the second line (the test name on the left may hold commas and quotes).
fn parse_rps(csv: &str) -> Option<f64> {
    let row = csv.lines().nth(1)?;
    let fields: Vec<&str> = row.rsplitn(8, ',').collect();
    let rps = fields.get(6)?.trim_matches('"');
    rps.parse().ok().filter(|r: &f64| r.is_finite())
}
