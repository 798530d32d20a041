//! The migrated template: built once per set of migrations, found by every later process.

use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, PgConnection};

use super::database::TestDatabase;
use super::names::{
    BUILD_PREFIX, LOCK_KEY, STALE_AFTER, TEMPLATE_PREFIX, is_plain_identifier, is_stale_test_database, migrations_hash,
    unix_now, used_at, used_comment,
};

/// A migrated template database on one server, from which [`database`](Self::database) makes a
/// copy per test. It holds no connection: keep it in a `static` and use it from every test's
/// runtime. See the [module documentation](super).
#[derive(Debug, Clone)]
pub struct PgTemplate {
    /// Where the kit connects to create and drop databases (`DATABASE_URL`).
    admin_url: String,
    admin: PgConnectOptions,
    /// The template database's name; each test database is copied from it.
    name: String,
    /// The schema the migrations ran in; every test connection's `search_path`.
    schema: String,
    /// `synchronous_commit` of every test connection.
    synchronous_commit: bool,
}

impl PgTemplate {
    /// Find or build the template of `migrator`'s migrations applied in `schema` (a plain
    /// lower-case identifier), on the server of `admin_url`, and drop what stale runs left
    /// (see [`STALE_AFTER`]). Several processes may call it at once: one builds, the others
    /// wait for it.
    ///
    /// # Errors
    ///
    /// When the server cannot be reached, `schema` is not a plain identifier, or a migration
    /// fails (`sqlx::Error::Migrate`).
    pub async fn prepare(admin_url: &str, migrator: &Migrator, schema: &str) -> Result<PgTemplate, sqlx::Error> {
        if !is_plain_identifier(schema) {
            return Err(sqlx::Error::Configuration(format!("{schema:?} is not a plain lower-case identifier").into()));
        }
        let admin: PgConnectOptions = admin_url.parse()?;
        let hash = migrations_hash(migrator, schema);
        let template = PgTemplate {
            admin_url: admin_url.to_owned(),
            admin: admin.clone(),
            name: format!("{TEMPLATE_PREFIX}{hash}"),
            schema: schema.to_owned(),
            synchronous_commit: true,
        };
        let mut conn = admin.connect().await?;
        sqlx::query("SELECT pg_advisory_lock($1)").bind(LOCK_KEY).execute(&mut conn).await?;
        let prepared = template.prepare_locked(&mut conn, migrator, &hash).await;
        // Closing the session releases the lock even if the unlock fails.
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK_KEY).execute(&mut conn).await;
        let _ = conn.close().await;
        prepared.map(|()| template)
    }

    /// Test connections that commit without waiting for the WAL flush (`false`), or that wait
    /// (`true`, the server's default). What a committed transaction shows to other sessions is
    /// the same either way; only a crash of the server could lose the last commits, which no
    /// test survives anyway. Off, a test that commits many small transactions runs several times
    /// faster on a disk with slow fsync.
    pub fn with_synchronous_commit(mut self, on: bool) -> PgTemplate {
        self.synchronous_commit = on;
        self
    }

    /// A fresh copy of the template with a pool of at most `max_connections` (one opened at
    /// once, 60 s to acquire one) whose connections use the migrated schema. The database
    /// is dropped when the last handle to the pool goes.
    ///
    /// # Errors
    ///
    /// When the server cannot be reached or refuses the copy.
    pub async fn database(&self, max_connections: u32) -> Result<TestDatabase, sqlx::Error> {
        TestDatabase::create(self, max_connections).await
    }

    /// The template database's name (`cn_tpl_<hash>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema the migrations ran in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Where databases are created and dropped.
    pub(crate) fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The admin connection options, parsed from `admin_url`; used to create test databases.
    pub(crate) fn admin(&self) -> &PgConnectOptions {
        &self.admin
    }

    /// Whether test connections wait for the WAL flush at commit.
    pub(crate) fn synchronous_commit(&self) -> bool {
        self.synchronous_commit
    }

    /// Under the lock: sweep, then build the template unless it exists, then mark it used.
    async fn prepare_locked(
        &self,
        conn: &mut PgConnection,
        migrator: &Migrator,
        hash: &str,
    ) -> Result<(), sqlx::Error> {
        self.sweep(conn).await?;
        if !database_exists(conn, &self.name).await? {
            self.build(conn, migrator, &format!("{BUILD_PREFIX}{hash}")).await?;
        }
        let comment = used_comment(unix_now());
        conn.execute(AssertSqlSafe(format!("COMMENT ON DATABASE {} IS '{comment}'", self.name))).await?;
        Ok(())
    }

    /// Migrate a new database under `building`, then rename it to the template's name: a
    /// template that exists is complete.
    async fn build(&self, conn: &mut PgConnection, migrator: &Migrator, building: &str) -> Result<(), sqlx::Error> {
        drop_database(conn, building).await?;
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE {building} TEMPLATE template0"))).await?;
        let mut target = self.admin.clone().database(building).connect().await?;
        target.execute(AssertSqlSafe(format!("CREATE SCHEMA {0}; SET search_path TO {0}", self.schema))).await?;
        let migrated = migrator.run(&mut target).await;
        target.close().await?;
        migrated.map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
        conn.execute(AssertSqlSafe(format!("ALTER DATABASE {building} RENAME TO {}", self.name))).await?;
        // Nobody connects to a template: a connected session would make every copy fail.
        conn.execute(AssertSqlSafe(format!(
            "ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
            self.name
        )))
        .await?;
        Ok(())
    }

    /// Drop test databases older than [`STALE_AFTER`], other templates not prepared for as
    /// long, and builds that crashed (none is running: we hold the lock).
    async fn sweep(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let cutoff = unix_now().saturating_sub(STALE_AFTER.as_secs());
        let databases: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT datname::text, shobj_description(oid, 'pg_database') FROM pg_database")
                .fetch_all(&mut *conn)
                .await?;
        for (name, comment) in databases {
            let stale_template = name.starts_with(TEMPLATE_PREFIX)
                && name != self.name
                && comment.as_deref().and_then(used_at).is_none_or(|at| at < cutoff);
            let stale = stale_template || name.starts_with(BUILD_PREFIX) || is_stale_test_database(&name, cutoff);
            if stale && is_plain_identifier(&name) {
                drop_database(conn, &name).await?;
            }
        }
        Ok(())
    }
}

/// Whether the server has a database of that name.
async fn database_exists(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)").bind(name).fetch_one(conn).await
}

/// Drop a database if it exists, templates included, closing its sessions.
pub(crate) async fn drop_database(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    if database_exists(conn, name).await? {
        conn.execute(AssertSqlSafe(format!("ALTER DATABASE {name} WITH IS_TEMPLATE false"))).await?;
        conn.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await?;
    }
    Ok(())
}
