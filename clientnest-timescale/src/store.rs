//! [`TimescaleStore`]: the pool, the configuration, the detected flavour and the migrations.

use std::fmt;
use std::sync::{Arc, OnceLock};

use clientnest_core::Result;
use clientnest_core::error::store;
use clientnest_core::model::{FeatureType, Platform};
use clientnest_core::validate::rule;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, Row, Transaction};

use crate::config::{Flavour, TimescaleConfig};
use crate::error::{TsError, map_sqlx};
use crate::schema::{MIGRATIONS, MIGRATIONS_TABLE};

/// A transaction on the store's pool.
pub(crate) type Tx = Transaction<'static, Postgres>;

/// The six analytics tables on TimescaleDB or plain PostgreSQL: every analytics port of
/// `clientnest-core` (so `TimescaleStore: Analytics`).
///
/// Cheap to clone: clones share the pool and the detected flavour. Build it with
/// [`TimescaleStore::connect`] or [`TimescaleStore::from_pool`], then apply the schema with
/// [`TimescaleStore::migrate`].
#[derive(Clone)]
pub struct TimescaleStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    config: TimescaleConfig,
    /// The flavour and the quoted schema of the extension (TimescaleDB), once known.
    detected: OnceLock<Detected>,
    /// The export query, rendered once (the stream borrows it).
    snapshots_sql: Arc<str>,
}

/// What the store runs on.
#[derive(Debug, Clone)]
pub(crate) struct Detected {
    pub(crate) flavour: Flavour,
    /// The extension's schema, quoted (`public`), for TimescaleDB; empty for plain.
    pub(crate) ext: String,
}

/// What the server offers, read in one query.
const DETECT: &str = r#"
SELECT (SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'timescaledb') AS installed_in,
       EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
       current_setting('shared_preload_libraries') AS preload,
       current_setting('timescaledb.license', true) AS license"#;

impl TimescaleStore {
    /// Connect a pool (at most 20 connections, like the seed's pooling) to `url` with the
    /// default [`TimescaleConfig`].
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`](clientnest_core::Error::Unavailable) when the server cannot be
    /// reached; [`Error::Validation`](clientnest_core::Error::Validation) on `url` when it is
    /// not a PostgreSQL URL.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, TimescaleConfig::new()).await
    }

    /// Connect a pool to `url` for a store with `config`.
    ///
    /// # Errors
    ///
    /// As [`TimescaleStore::connect`].
    pub async fn connect_with(url: &str, config: TimescaleConfig) -> Result<Self> {
        let options: sqlx::postgres::PgConnectOptions =
            url.parse().map_err(|_| clientnest_core::Error::invalid("url", rule::FORMAT, "is not a PostgreSQL URL"))?;
        let pool = PgPoolOptions::new()
            .max_connections(20)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(map_sqlx)?;
        Ok(Self::from_pool(pool, config))
    }

    /// A store with `config` on a pool you built (many stores with different schemas may
    /// share one pool: every statement names its schema).
    pub fn from_pool(pool: PgPool, config: TimescaleConfig) -> Self {
        let snapshots_sql = Arc::from(render(crate::read::SNAPSHOTS, config.schema()));
        let detected = OnceLock::new();
        if let Some(Flavour::Plain) = config.forced_flavour() {
            let _ = detected.set(Detected { flavour: Flavour::Plain, ext: String::new() });
        }
        Self { inner: Arc::new(Inner { pool, config, detected, snapshots_sql }) }
    }

    /// The pool, for health checks or your own queries.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The configuration.
    pub fn config(&self) -> &TimescaleConfig {
        &self.inner.config
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        self.inner.config.schema()
    }

    /// Which flavour the store runs as: the forced one, else the one recorded when the schema
    /// was first migrated, else what the server offers now — [`Flavour::TimescaleDb`] only when
    /// the `timescaledb` extension is installed or installable, loaded through
    /// `shared_preload_libraries`, and licensed `timescale` (an Apache-only build has no
    /// compression or continuous aggregate policies: [`Flavour::Plain`]).
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`](clientnest_core::Error::Unavailable) when the server cannot be
    /// reached.
    pub async fn flavour(&self) -> Result<Flavour> {
        Ok(self.detected().await?.flavour)
    }

    /// The flavour and extension schema, detected once.
    pub(crate) async fn detected(&self) -> Result<Detected> {
        if let Some(d) = self.inner.detected.get() {
            return Ok(d.clone());
        }
        let mut conn = self.pool().acquire().await.map_err(map_sqlx)?;
        let recorded = self.recorded_flavour(&mut conn).await?;
        let (server, installed) = server_flavour(&mut conn).await?;
        let flavour = self.inner.config.forced_flavour().or(recorded).unwrap_or(server);
        let ext = if flavour == Flavour::TimescaleDb { installed.unwrap_or_default() } else { String::new() };
        let d = Detected { flavour, ext };
        if !d.ext.is_empty() || flavour == Flavour::Plain {
            let _ = self.inner.detected.set(d.clone());
        }
        Ok(d)
    }

    /// The flavour recorded by the schema's first migration, if it was migrated.
    async fn recorded_flavour(&self, conn: &mut PgConnection) -> Result<Option<Flavour>> {
        let table = format!("\"{}\".clientnest_timescale_migrations", self.schema());
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = 'clientnest_timescale_migrations')",
        )
        .bind(self.schema())
        .fetch_one(&mut *conn)
        .await
        .map_err(map_sqlx)?;
        if !exists {
            return Ok(None);
        }
        let recorded: Option<String> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT flavour FROM {table} ORDER BY version LIMIT 1")))
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_sqlx)?;
        Ok(recorded.as_deref().and_then(Flavour::parse))
    }

    /// Create the schema and apply every migration not applied yet, for the flavour of
    /// [`TimescaleStore::flavour`] (creating the `timescaledb` extension when the server has
    /// it loaded but not yet installed in this database). Applied versions are recorded in
    /// `clientnest_timescale_migrations` with the flavour; a second call is a no-op. Safe to
    /// call from several processes at once: one transaction under an advisory lock per schema.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`](clientnest_core::Error::Unavailable) when the server cannot be
    /// reached; [`Error::Backend`](clientnest_core::Error::Backend) when a statement fails, when
    /// [`Flavour::TimescaleDb`] is forced on a server without the extension, or when the schema
    /// was migrated for the other flavour.
    pub async fn migrate(&self) -> Result<()> {
        let schema = self.schema().to_owned();
        let mut tx: Tx = self.pool().begin().await.map_err(map_sqlx)?;
        let outcome = async {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext('clientnest-timescale:migrate:' || $1))")
                .bind(&schema)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx)?;
            let flavour = match self.inner.config.forced_flavour() {
                Some(f) => f,
                None => match self.recorded_flavour(&mut tx).await? {
                    Some(f) => f,
                    None => server_flavour(&mut tx).await?.0,
                },
            };
            let ext = if flavour == Flavour::TimescaleDb { self.ensure_extension(&mut tx).await? } else { String::new() };
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))).execute(&mut *tx).await.map_err(map_sqlx)?;
            sqlx::raw_sql(self.sql(MIGRATIONS_TABLE)).execute(&mut *tx).await.map_err(map_sqlx)?;
            let applied: Vec<(i32, String)> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT version, flavour FROM \"{schema}\".clientnest_timescale_migrations ORDER BY version"
            )))
            .fetch_all(&mut *tx)
            .await
            .map_err(map_sqlx)?;
            if let Some((_, recorded)) = applied.first()
                && recorded != flavour.as_str()
            {
                return Err(TsError::FlavourMismatch {
                    schema: schema.clone(),
                    recorded: Flavour::parse(recorded).map_or("unknown", Flavour::as_str),
                    current: flavour.as_str(),
                }
                .into());
            }
            for m in MIGRATIONS.iter().filter(|m| !applied.iter().any(|(v, _)| *v == m.version)) {
                let statements = match flavour {
                    Flavour::TimescaleDb => m.timescaledb,
                    Flavour::Plain => m.plain,
                };
                for sql in statements {
                    let sql = self.render_migration(sql, &ext);
                    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await.map_err(map_sqlx)?;
                }
                sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO \"{schema}\".clientnest_timescale_migrations (version, name, flavour) VALUES ($1, $2, $3)"
                )))
                .bind(m.version)
                .bind(m.name)
                .bind(flavour.as_str())
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx)?;
                tracing::info!(schema = %schema, version = m.version, name = m.name, %flavour, "applied analytics migration");
            }
            Ok(Detected { flavour, ext })
        }
        .await;
        let detected = finish(tx, outcome).await?;
        let _ = self.inner.detected.set(detected);
        Ok(())
    }

    /// Install the extension if needed (under a database-wide advisory lock, so two schemas
    /// migrating at once do not race), returning its quoted schema.
    async fn ensure_extension(&self, tx: &mut Tx) -> Result<String> {
        let (flavour, installed) = server_flavour(tx).await?;
        if flavour != Flavour::TimescaleDb {
            return Err(clientnest_core::Error::backend(
                store::TIMESCALE,
                "the timescaledb flavour was forced but the server has no loaded, Timescale-licensed timescaledb extension",
            ));
        }
        if let Some(ext) = installed {
            return Ok(ext);
        }
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('clientnest-timescale:extension'))")
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
        sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS timescaledb").execute(&mut **tx).await.map_err(map_sqlx)?;
        sqlx::query_scalar(
            "SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
             WHERE e.extname = 'timescaledb'",
        )
        .fetch_one(&mut **tx)
        .await
        .map_err(map_sqlx)
    }

    /// A migration template with every placeholder filled.
    fn render_migration(&self, template: &str, ext: &str) -> String {
        let quoted = |names: Vec<&str>| names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ");
        render(template, self.schema())
            .replace("{ext}", ext)
            .replace("{platforms}", &quoted(Platform::ALL.iter().map(|p| p.as_str()).collect()))
            .replace("{features}", &quoted(FeatureType::ALL.iter().map(|f| f.as_str()).collect()))
            .replace("{retention}", &self.inner.config.retention().as_secs().to_string())
            .replace("{compress_after}", &self.inner.config.compress_after().as_secs().to_string())
    }

    /// A statement template of this store's schema, marked safe: every template is a constant
    /// of this crate and the schema a checked identifier (see
    /// [`TimescaleConfig::with_schema`]); values always travel as bind parameters.
    pub(crate) fn sql(&self, template: &str) -> AssertSqlSafe<String> {
        AssertSqlSafe(render(template, self.schema()))
    }

    /// The rendered export query.
    pub(crate) fn snapshots_sql(&self) -> AssertSqlSafe<Arc<str>> {
        AssertSqlSafe(self.inner.snapshots_sql.clone())
    }

    /// Start a transaction on a pooled connection.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        self.pool().begin().await.map_err(map_sqlx)
    }

    /// Close the pool.
    pub async fn close(&self) {
        self.pool().close().await;
    }
}

/// What the server offers: the flavour, and the extension's quoted schema when installed.
async fn server_flavour(conn: &mut PgConnection) -> Result<(Flavour, Option<String>)> {
    let row = sqlx::query(DETECT).fetch_one(&mut *conn).await.map_err(map_sqlx)?;
    let installed_in: Option<String> = row.try_get("installed_in").map_err(map_sqlx)?;
    let available: bool = row.try_get("available").map_err(map_sqlx)?;
    let preload: String = row.try_get("preload").map_err(map_sqlx)?;
    let license: Option<String> = row.try_get("license").map_err(map_sqlx)?;
    let loaded = preload.split(',').any(|lib| lib.trim().trim_matches('"').contains("timescaledb"));
    let flavour = if (installed_in.is_some() || available) && loaded && license.as_deref() == Some("timescale") {
        Flavour::TimescaleDb
    } else {
        Flavour::Plain
    };
    Ok((flavour, installed_in))
}

/// `template` with `{schema}` replaced by `schema` (a checked identifier, used inside quotes).
pub(crate) fn render(template: &str, schema: &str) -> String {
    template.replace("{schema}", schema)
}

impl fmt::Debug for TimescaleStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimescaleStore")
            .field("schema", &self.schema())
            .field("flavour", &self.inner.detected.get().map(|d| d.flavour))
            .field("pool_size", &self.pool().size())
            .finish()
    }
}

/// End a transaction by its outcome: commit when `outcome` is `Ok`, roll back (and wait for
/// the rollback) when it is an error.
///
/// Dropping a transaction only queues the `ROLLBACK` for when the connection returns to the
/// pool, so its locks (and a half-written COPY) would outlive the call. Every transaction runs
/// its work as `let outcome = async { ... }.await;` and ends with `finish(tx, outcome).await`.
pub(crate) async fn finish<T>(tx: Tx, outcome: Result<T>) -> Result<T> {
    match outcome {
        Ok(value) => tx.commit().await.map_err(map_sqlx).map(|()| value),
        Err(e) => {
            // The refusal is the error to report; a failed rollback closes the connection.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}
