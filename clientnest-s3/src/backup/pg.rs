//! PostgreSQL side of backups: the client tools, identifiers, database names, URLs, row counts.

use std::path::Path;
use std::process::Stdio;

use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};
use tokio::io::AsyncReadExt;
use tokio::process::{ChildStderr, Command};
use url::Url;

use super::error::BackupError;
use super::manifest::{ExtensionVersion, TableRows};

/// Longest database name PostgreSQL keeps (NAMEDATALEN - 1), in bytes.
pub const MAX_DATABASE_NAME_LEN: usize = 63;

/// How much of a tool's standard error is kept for an error message.
const STDERR_TAIL: usize = 8 * 1024;

/// `ident` as a PostgreSQL quoted identifier: always double-quoted, inner quotes doubled.
pub(crate) fn quote_ident(ident: &str) -> String {
    let mut s = String::with_capacity(ident.len() + 2);
    s.push('"');
    for c in ident.chars() {
        if c == '"' {
            s.push('"');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// `ident` as PostgreSQL would print it: bare when it is a plain lowercase identifier, quoted
/// otherwise.
pub(crate) fn display_ident(ident: &str) -> String {
    let plain = ident.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && ident.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain { ident.to_owned() } else { quote_ident(ident) }
}

/// Check a name of a database the library creates or drops: 1 to 63 bytes of ASCII letters,
/// digits, `_` and `-`, not starting with a digit or `-`, and not a template or the `postgres`
/// maintenance database. It is quoted anyway whenever it goes into SQL.
///
/// # Errors
///
/// [`BackupError::InvalidDatabaseName`] saying why.
pub fn validate_database_name(name: &str) -> Result<(), BackupError> {
    let bad = |reason| Err(BackupError::InvalidDatabaseName { name: name.to_owned(), reason });
    if name.is_empty() || name.len() > MAX_DATABASE_NAME_LEN {
        return bad("a database name must be 1 to 63 bytes long");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return bad("only ASCII letters, digits, '_' and '-' are accepted");
    }
    if name.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return bad("a database name must start with a letter or '_'");
    }
    if matches!(name, "postgres" | "template0" | "template1") {
        return bad("the maintenance and template databases are never created or dropped");
    }
    Ok(())
}

/// A connection target for libpq tools: the URL without its password, and the password apart
/// (given to the tool as `PGPASSWORD`, so it is not on its command line).
#[derive(Clone)]
pub(crate) struct Target {
    url: Url,
    password: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("url", &self.url.as_str()).finish_non_exhaustive()
    }
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Self, BackupError> {
        let mut url = Url::parse(url).map_err(|e| BackupError::InvalidUrl { reason: e.to_string() })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(BackupError::InvalidUrl { reason: format!("scheme {:?} is not postgres://", url.scheme()) });
        }
        let password = url.password().map(percent_decode);
        let _ = url.set_password(None);
        Ok(Self { url, password })
    }

    /// The same server, database `name`.
    pub(crate) fn with_database(&self, name: &str) -> Self {
        let mut url = self.url.clone();
        url.set_path(&format!("/{name}"));
        Self { url, password: self.password.clone() }
    }

    /// The URL for sqlx (with the password).
    pub(crate) fn sqlx_url(&self) -> String {
        let mut url = self.url.clone();
        if let Some(p) = &self.password {
            let _ = url.set_password(Some(p));
        }
        url.to_string()
    }

    /// The URL for a libpq tool (without the password).
    pub(crate) fn libpq_url(&self) -> &str {
        self.url.as_str()
    }

    /// Set the tool's connection arguments and environment.
    pub(crate) fn apply(&self, cmd: &mut Command) {
        cmd.arg("--no-password").arg("--dbname").arg(self.libpq_url());
        if let Some(p) = &self.password {
            cmd.env("PGPASSWORD", p);
        }
    }

    pub(crate) async fn connect(&self, context: &str) -> Result<PgConnection, BackupError> {
        PgConnection::connect(&self.sqlx_url()).await.map_err(BackupError::db(context))
    }
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or(""), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a client tool says its version is.
#[derive(Debug, Clone)]
pub(crate) struct ToolVersion {
    /// The whole first line (`pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)`).
    pub(crate) text: String,
    /// The version number (`15.20`).
    pub(crate) number: String,
    /// The major version (15).
    pub(crate) major: u32,
}

/// Parse `pg_dump (PostgreSQL) 15.20 (Debian ...)`.
pub(crate) fn parse_tool_version(text: &str) -> Option<ToolVersion> {
    let line = text.lines().next()?.trim();
    let number = line.split_whitespace().find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    let number: String = number.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let major = number.split('.').next()?.parse().ok()?;
    Some(ToolVersion { text: line.to_owned(), number, major })
}

/// Run `program --version`.
pub(crate) async fn tool_version(tool: &'static str, program: &Path) -> Result<ToolVersion, BackupError> {
    let out = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| BackupError::MissingTool { tool, path: program.to_owned(), source })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(BackupError::ToolFailed { tool, status: out.status, stderr: tail(&out.stderr) });
    }
    parse_tool_version(&text).ok_or_else(|| BackupError::MissingTool {
        tool,
        path: program.to_owned(),
        source: std::io::Error::other(format!("unexpected --version output {:?}", text.trim())),
    })
}

/// Refuse a tool older than the server.
pub(crate) fn check_versions(
    tool: &'static str,
    version: &ToolVersion,
    server_version: &str,
    server_version_num: u32,
) -> Result<(), BackupError> {
    let server_major = server_major(server_version_num);
    if version.major < server_major {
        return Err(BackupError::VersionMismatch {
            tool,
            tool_version: version.number.clone(),
            server_version: server_version.to_owned(),
            server_major,
        });
    }
    Ok(())
}

/// The major version of a `server_version_num` (150020 -> 15, 90624 -> 9).
pub(crate) fn server_major(num: u32) -> u32 {
    num / 10_000
}

/// Read a tool's standard error to the end, keeping the last [`STDERR_TAIL`] bytes.
pub(crate) async fn read_stderr(mut stderr: ChildStderr) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * STDERR_TAIL {
            kept.drain(..kept.len() - STDERR_TAIL);
        }
    }
    tail(&kept)
}

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(STDERR_TAIL);
    String::from_utf8_lossy(&bytes[start..]).trim().to_owned()
}

/// `SHOW server_version` and `server_version_num`.
pub(crate) async fn server_version(conn: &mut PgConnection) -> Result<(String, u32), BackupError> {
    let row = sqlx::query("SELECT current_setting('server_version'), current_setting('server_version_num')::int4")
        .fetch_one(&mut *conn)
        .await
        .map_err(BackupError::db("reading the server version"))?;
    let num: i32 = row.get(1);
    Ok((row.get(0), u32::try_from(num).unwrap_or(0)))
}

/// Installed extensions, by name.
pub(crate) async fn extensions(conn: &mut PgConnection) -> Result<Vec<ExtensionVersion>, BackupError> {
    let rows = sqlx::query("SELECT extname::text, extversion FROM pg_extension ORDER BY extname")
        .fetch_all(&mut *conn)
        .await
        .map_err(BackupError::db("listing extensions"))?;
    Ok(rows.iter().map(|r| ExtensionVersion { name: r.get(0), version: r.get(1) }).collect())
}

/// Every ordinary and partitioned table whose rows a backup carries: outside `pg_catalog`,
/// `information_schema`, TOAST and temporary schemas and TimescaleDB's internal schemas
/// (`_timescaledb_*`, `timescaledb_*`), and not a member of an extension (its content comes
/// with the extension). A hypertable is an ordinary table here; its chunks live in
/// `_timescaledb_internal`.
const LIST_TABLES: &str = r"
SELECT n.nspname::text, c.relname::text
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
  AND n.nspname NOT LIKE 'pg\_temp\_%'
  AND n.nspname NOT LIKE '\_timescaledb\_%'
  AND n.nspname NOT LIKE 'timescaledb\_%'
  AND NOT EXISTS (
    SELECT 1 FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
ORDER BY 1, 2";

/// The tables whose rows are counted.
pub(crate) async fn list_tables(conn: &mut PgConnection) -> Result<Vec<(String, String)>, BackupError> {
    let rows = sqlx::query(LIST_TABLES).fetch_all(&mut *conn).await.map_err(BackupError::db("listing tables"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Exact row counts of `tables`, in the connection's current transaction (snapshot).
pub(crate) async fn count_rows(
    conn: &mut PgConnection,
    tables: &[(String, String)],
) -> Result<Vec<TableRows>, BackupError> {
    let mut out = Vec::with_capacity(tables.len());
    for (schema, table) in tables {
        // Both names come from the catalog and are quoted, never pasted bare.
        let sql = format!("SELECT count(*) FROM {}.{}", quote_ident(schema), quote_ident(table));
        let rows: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await
            .map_err(BackupError::db(format!("counting rows of {}.{}", display_ident(schema), display_ident(table))))?;
        out.push(TableRows { schema: schema.clone(), table: table.clone(), rows });
    }
    Ok(out)
}

/// Whether database `name` exists.
pub(crate) async fn database_exists(conn: &mut PgConnection, name: &str) -> Result<bool, BackupError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map_err(BackupError::db("looking for the target database"))
}

/// `CREATE DATABASE "name"` (validated and quoted).
pub(crate) async fn create_database(conn: &mut PgConnection, name: &str) -> Result<(), BackupError> {
    validate_database_name(name)?;
    let sql = format!("CREATE DATABASE {}", quote_ident(name));
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .map_err(BackupError::db(format!("creating database {name}")))?;
    Ok(())
}

/// `DROP DATABASE IF EXISTS "name" WITH (FORCE)` (validated and quoted).
pub(crate) async fn drop_database(conn: &mut PgConnection, name: &str) -> Result<(), BackupError> {
    validate_database_name(name)?;
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .map_err(BackupError::db(format!("dropping database {name}")))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("posts"), "\"posts\"");
        assert_eq!(quote_ident("we\"ird; DROP TABLE x"), "\"we\"\"ird; DROP TABLE x\"");
        assert_eq!(display_ident("posts_2"), "posts_2");
        assert_eq!(display_ident("Posts"), "\"Posts\"");
        assert_eq!(display_ident("2x"), "\"2x\"");
    }

    #[test]
    fn database_names_are_validated() {
        for ok in ["app", "clientnest_drill_ab12", "App-Restore_2", "_x"] {
            validate_database_name(ok).unwrap();
        }
        for bad in ["", "a b", "x\"y", "1abc", "-x", "postgres", "template1", &"a".repeat(64), "é"] {
            assert!(validate_database_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tool_versions_parse() {
        let v = parse_tool_version("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n").unwrap();
        assert_eq!((v.number.as_str(), v.major), ("15.20", 15));
        let v = parse_tool_version("pg_restore (PostgreSQL) 9.6.24").unwrap();
        assert_eq!(v.major, 9);
        assert!(parse_tool_version("nonsense").is_none());
        assert_eq!(server_major(150020), 15);
        assert_eq!(server_major(90624), 9);
        let old = parse_tool_version("pg_dump (PostgreSQL) 14.1").unwrap();
        assert!(matches!(
            check_versions("pg_dump", &old, "15.2", 150002),
            Err(BackupError::VersionMismatch { server_major: 15, .. })
        ));
        check_versions("pg_dump", &v, "9.6", 90600).unwrap();
    }

    #[test]
    fn passwords_leave_the_url() {
        let t = Target::parse("postgres://u:p%40ss@127.0.0.1:5432/app?sslmode=disable").unwrap();
        assert_eq!(t.libpq_url(), "postgres://u@127.0.0.1:5432/app?sslmode=disable");
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        assert!(t.sqlx_url().contains("p%40ss"));
        assert_eq!(t.with_database("other").libpq_url(), "postgres://u@127.0.0.1:5432/other?sslmode=disable");
        assert!(!format!("{t:?}").contains("p%40ss"));
        assert!(Target::parse("mysql://x/y").is_err());
    }
}
