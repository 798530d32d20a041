//! The schema: the six tables in both flavours, their rollups, policies and SQL functions, as
//! numbered migrations applied by [`TimescaleStore::migrate`](crate::TimescaleStore::migrate).
//!
//! Every statement is a template: `{schema}` is the store's schema (a checked identifier, see
//! [`TimescaleConfig::with_schema`](crate::TimescaleConfig::with_schema)), `{ext}` the schema
//! of the `timescaledb` extension, `{platforms}` and `{features}` the quoted choice lists of
//! core, and `{retention}` / `{compress_after}` the configured horizons.
//!
//! ## Keys
//!
//! The keys of [`clientnest_core::analytics::rows`], as primary keys (hypertables need the
//! partitioning column in every unique index, and each key has `time`):
//! `events (time, id)`, `metrics (team_id, metric_name, dimensions, time)`, `performance (time,
//! id)`, `engagement (team_id, post_id, platform, time)`, `ai_metrics (time, id)`, `costs (time,
//! id)`.
//!
//! ## Chunk intervals (TimescaleDB)
//!
//! Chosen by expected volume, so that the chunk being written and its indexes fit comfortably
//! in memory (TimescaleDB's advice: the hot chunks of all hypertables within about a quarter of
//! RAM), and old data leaves by whole chunks:
//!
//! | table | interval | why |
//! |---|---|---|
//! | `performance` | 1 day | one row per request of every service: the highest volume by far; a day of a busy API is millions of rows |
//! | `engagement` | 7 days | one snapshot per post and platform every few minutes; a week keeps chunks in the low millions of rows, and week-long charts read one or two chunks |
//! | `events` | 7 days | product events, a few per user action |
//! | `metrics` | 7 days | sampled series, a handful per team per minute at most |
//! | `ai_metrics` | 30 days | one row per AI request, far fewer than requests; a month matches the billing rollup |
//! | `costs` | 90 days | a few entries per team per billing period: tiny; a quarter per chunk avoids thousands of near-empty chunks |
//!
//! The hourly rollups are continuous aggregates (materialisation hypertables with the default
//! interval, ten times the source's).

/// One migration: its version, name and the statements of each flavour (templates).
pub(crate) struct Migration {
    /// Version recorded once applied.
    pub(crate) version: i32,
    /// A short name recorded with it.
    pub(crate) name: &'static str,
    /// Statements for TimescaleDB, run in one transaction.
    pub(crate) timescaledb: &'static [&'static str],
    /// Statements for plain PostgreSQL, run in one transaction.
    pub(crate) plain: &'static [&'static str],
}

/// The migrations table, created in the store's schema before anything else.
pub(crate) const MIGRATIONS_TABLE: &str = r#"
CREATE TABLE IF NOT EXISTS "{schema}".clientnest_timescale_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    flavour    text NOT NULL CHECK (flavour IN ('timescaledb', 'plain')),
    applied_at timestamptz NOT NULL DEFAULT now()
)"#;

/// The six tables: the seed's columns plus core's additions, core's checks as CHECKs.
const TABLES: &str = r#"
CREATE TABLE "{schema}".events (
    id          uuid NOT NULL,
    time        timestamptz NOT NULL,
    team_id     uuid NOT NULL,
    user_id     uuid,
    event_type  text NOT NULL,
    event_data  jsonb NOT NULL DEFAULT '{}',
    platform    text,
    session_id  text,
    ip_address  inet,
    user_agent  text,
    CONSTRAINT events_pkey PRIMARY KEY (time, id),
    CONSTRAINT chk_events_event_type CHECK (char_length(event_type) BETWEEN 1 AND 50),
    CONSTRAINT chk_events_event_data CHECK (jsonb_typeof(event_data) = 'object'),
    CONSTRAINT chk_events_platform CHECK (platform IN ({platforms})),
    CONSTRAINT chk_events_session_id CHECK (char_length(session_id) <= 128),
    CONSTRAINT chk_events_user_agent CHECK (char_length(user_agent) <= 512)
);

CREATE TABLE "{schema}".metrics (
    time         timestamptz NOT NULL,
    team_id      uuid NOT NULL,
    user_id      uuid,
    metric_name  text NOT NULL,
    metric_value double precision NOT NULL,
    dimensions   jsonb NOT NULL DEFAULT '{}',
    tags         text[] NOT NULL DEFAULT '{}',
    CONSTRAINT metrics_pkey PRIMARY KEY (team_id, metric_name, dimensions, time),
    CONSTRAINT chk_metrics_metric_name CHECK (char_length(metric_name) BETWEEN 1 AND 100),
    CONSTRAINT chk_metrics_metric_value CHECK (metric_value > '-Infinity' AND metric_value < 'Infinity'),
    CONSTRAINT chk_metrics_dimensions CHECK (jsonb_typeof(dimensions) = 'object'),
    CONSTRAINT chk_metrics_tags CHECK (cardinality(tags) <= 50)
);

CREATE TABLE "{schema}".performance (
    id            uuid NOT NULL,
    time          timestamptz NOT NULL,
    service_name  text NOT NULL,
    endpoint      text NOT NULL,
    response_time bigint NOT NULL,
    status_code   integer NOT NULL,
    error_count   integer NOT NULL DEFAULT 0,
    memory_usage  bigint,
    cpu_usage     double precision,
    CONSTRAINT performance_pkey PRIMARY KEY (time, id),
    CONSTRAINT chk_performance_service_name CHECK (char_length(service_name) BETWEEN 1 AND 100),
    CONSTRAINT chk_performance_endpoint CHECK (char_length(endpoint) BETWEEN 1 AND 255),
    CONSTRAINT chk_performance_response_time CHECK (response_time BETWEEN 0 AND 86400000000),
    CONSTRAINT chk_performance_status_code CHECK (status_code BETWEEN 100 AND 599),
    CONSTRAINT chk_performance_error_count CHECK (error_count >= 0),
    CONSTRAINT chk_performance_memory_usage CHECK (memory_usage >= 0),
    CONSTRAINT chk_performance_cpu_usage CHECK (cpu_usage >= 0 AND cpu_usage < 'Infinity')
);

CREATE TABLE "{schema}".engagement (
    time         timestamptz NOT NULL,
    team_id      uuid NOT NULL,
    post_id      uuid NOT NULL,
    platform     text NOT NULL,
    published_at timestamptz NOT NULL,
    likes        bigint,
    comments     bigint,
    shares       bigint,
    views        bigint,
    reach        bigint,
    impressions  bigint,
    extra        jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT engagement_pkey PRIMARY KEY (team_id, post_id, platform, time),
    CONSTRAINT chk_engagement_platform CHECK (platform IN ({platforms})),
    CONSTRAINT chk_engagement_counters CHECK (
        likes >= 0 AND comments >= 0 AND shares >= 0 AND views >= 0 AND reach >= 0 AND impressions >= 0
    ),
    CONSTRAINT chk_engagement_extra CHECK (jsonb_typeof(extra) = 'object')
);

CREATE TABLE "{schema}".ai_metrics (
    id            uuid NOT NULL,
    time          timestamptz NOT NULL,
    user_id       uuid NOT NULL,
    team_id       uuid NOT NULL,
    feature_type  text NOT NULL,
    tokens_used   integer NOT NULL,
    cost          numeric(10,4) NOT NULL DEFAULT 0,
    model_used    text NOT NULL,
    response_time bigint NOT NULL,
    success_rate  double precision NOT NULL,
    CONSTRAINT ai_metrics_pkey PRIMARY KEY (time, id),
    CONSTRAINT chk_ai_metrics_feature_type CHECK (feature_type IN ({features})),
    CONSTRAINT chk_ai_metrics_tokens_positive CHECK (tokens_used > 0),
    CONSTRAINT chk_ai_metrics_cost_positive CHECK (cost >= 0),
    CONSTRAINT chk_ai_metrics_model_used CHECK (char_length(model_used) BETWEEN 1 AND 50),
    CONSTRAINT chk_ai_metrics_response_time CHECK (response_time BETWEEN 0 AND 86400000000),
    CONSTRAINT chk_ai_metrics_success_rate CHECK (success_rate BETWEEN 0 AND 1)
);

CREATE TABLE "{schema}".costs (
    id             uuid NOT NULL,
    time           timestamptz NOT NULL,
    user_id        uuid,
    team_id        uuid NOT NULL,
    service_type   text NOT NULL,
    cost_amount    numeric(12,4) NOT NULL,
    currency       text NOT NULL,
    billing_period text NOT NULL,
    CONSTRAINT costs_pkey PRIMARY KEY (time, id),
    CONSTRAINT chk_costs_service_type CHECK (char_length(service_type) BETWEEN 1 AND 50),
    CONSTRAINT chk_costs_cost_amount CHECK (cost_amount >= 0),
    CONSTRAINT chk_costs_currency CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT chk_costs_billing_period CHECK (char_length(billing_period) BETWEEN 1 AND 20)
);

CREATE INDEX events_team_time ON "{schema}".events (team_id, time DESC);
CREATE INDEX metrics_team_time ON "{schema}".metrics (team_id, time DESC);
CREATE INDEX performance_service_time ON "{schema}".performance (service_name, time DESC);
CREATE INDEX engagement_team_time ON "{schema}".engagement (team_id, time DESC);
CREATE INDEX ai_metrics_team_time ON "{schema}".ai_metrics (team_id, time DESC);
CREATE INDEX costs_team_time ON "{schema}".costs (team_id, time DESC)
"#;

/// TimescaleDB: each table a hypertable with its chunk interval (see the module docs).
const HYPERTABLES: &str = r#"
SELECT {ext}.create_hypertable('"{schema}".performance', {ext}.by_range('time', INTERVAL '1 day'));
SELECT {ext}.create_hypertable('"{schema}".engagement', {ext}.by_range('time', INTERVAL '7 days'));
SELECT {ext}.create_hypertable('"{schema}".events', {ext}.by_range('time', INTERVAL '7 days'));
SELECT {ext}.create_hypertable('"{schema}".metrics', {ext}.by_range('time', INTERVAL '7 days'));
SELECT {ext}.create_hypertable('"{schema}".ai_metrics', {ext}.by_range('time', INTERVAL '30 days'));
SELECT {ext}.create_hypertable('"{schema}".costs', {ext}.by_range('time', INTERVAL '90 days'))
"#;

/// Plain PostgreSQL: BRIN on time (rows arrive roughly in time order, so a BRIN of a few pages
/// replaces a b-tree of gigabytes for range scans; the b-tree keys and team indexes stay).
const BRIN: &str = r#"
CREATE INDEX events_time_brin ON "{schema}".events USING brin (time);
CREATE INDEX metrics_time_brin ON "{schema}".metrics USING brin (time);
CREATE INDEX performance_time_brin ON "{schema}".performance USING brin (time);
CREATE INDEX engagement_time_brin ON "{schema}".engagement USING brin (time);
CREATE INDEX ai_metrics_time_brin ON "{schema}".ai_metrics USING brin (time);
CREATE INDEX costs_time_brin ON "{schema}".costs USING brin (time)
"#;

/// TimescaleDB: the hourly continuous aggregates, real-time (`materialized_only = false`).
/// `last(x, time) FILTER (WHERE x IS NOT NULL)` is the last reported value of each counter in
/// the hour: exact, since a series has at most one snapshot per instant (its key).
const CAGGS: &str = r#"
CREATE MATERIALIZED VIEW "{schema}".engagement_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT team_id, post_id, platform, {ext}.time_bucket(INTERVAL '1 hour', time) AS hour,
       {ext}.last(likes, time) FILTER (WHERE likes IS NOT NULL) AS likes,
       {ext}.last(comments, time) FILTER (WHERE comments IS NOT NULL) AS comments,
       {ext}.last(shares, time) FILTER (WHERE shares IS NOT NULL) AS shares,
       {ext}.last(views, time) FILTER (WHERE views IS NOT NULL) AS views,
       {ext}.last(reach, time) FILTER (WHERE reach IS NOT NULL) AS reach,
       {ext}.last(impressions, time) FILTER (WHERE impressions IS NOT NULL) AS impressions
FROM "{schema}".engagement
GROUP BY team_id, post_id, platform, hour
WITH NO DATA;

CREATE MATERIALIZED VIEW "{schema}".ai_metrics_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT team_id, feature_type, model_used, {ext}.time_bucket(INTERVAL '1 hour', time) AS hour,
       count(*) AS requests,
       sum(tokens_used) AS tokens,
       sum(cost) AS cost,
       sum(success_rate) AS success_sum,
       sum(response_time) AS response_us_sum
FROM "{schema}".ai_metrics
GROUP BY team_id, feature_type, model_used, hour
WITH NO DATA
"#;

/// TimescaleDB: what readers call for hourly rows (the same signature in both flavours).
const TS_HOURLY_FUNCTIONS: &str = r#"
CREATE FUNCTION "{schema}".clientnest_engagement_hourly(p_team uuid, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (post_id uuid, platform text, hour timestamptz, likes bigint, comments bigint, shares bigint,
               views bigint, reach bigint, impressions bigint)
LANGUAGE sql STABLE AS $fn$
    SELECT post_id, platform, hour, likes, comments, shares, views, reach, impressions
    FROM "{schema}".engagement_hourly
    WHERE team_id = p_team AND hour >= p_from AND hour < p_to
$fn$;

CREATE FUNCTION "{schema}".clientnest_ai_metrics_hourly(p_team uuid, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (feature_type text, model_used text, hour timestamptz, requests bigint, tokens bigint,
               cost numeric, success_sum double precision, response_us_sum numeric)
LANGUAGE sql STABLE AS $fn$
    SELECT feature_type, model_used, hour, requests, tokens, cost, success_sum, response_us_sum
    FROM "{schema}".ai_metrics_hourly
    WHERE team_id = p_team AND hour >= p_from AND hour < p_to
$fn$
"#;

/// TimescaleDB: refresh policies ending an hour back (the hot, current bucket stays live),
/// starting at the beginning (`start_offset => NULL`: late rows of any age are picked up from
/// the invalidation log, never hidden below the watermark); compression segmented by team
/// (performance: by service and endpoint), newest first; retention. First runs are deferred by
/// one schedule interval.
const TS_POLICIES: &str = r#"
SELECT {ext}.add_continuous_aggregate_policy('"{schema}".engagement_hourly',
    start_offset => NULL, end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes',
    initial_start => now() + INTERVAL '30 minutes');
SELECT {ext}.add_continuous_aggregate_policy('"{schema}".ai_metrics_hourly',
    start_offset => NULL, end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes',
    initial_start => now() + INTERVAL '30 minutes');

ALTER TABLE "{schema}".events SET (timescaledb.compress, timescaledb.compress_segmentby = 'team_id',
    timescaledb.compress_orderby = 'time DESC, id');
ALTER TABLE "{schema}".metrics SET (timescaledb.compress, timescaledb.compress_segmentby = 'team_id',
    timescaledb.compress_orderby = 'time DESC, metric_name, dimensions');
ALTER TABLE "{schema}".performance SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'service_name, endpoint', timescaledb.compress_orderby = 'time DESC, id');
ALTER TABLE "{schema}".engagement SET (timescaledb.compress, timescaledb.compress_segmentby = 'team_id',
    timescaledb.compress_orderby = 'time DESC, post_id, platform');
ALTER TABLE "{schema}".ai_metrics SET (timescaledb.compress, timescaledb.compress_segmentby = 'team_id',
    timescaledb.compress_orderby = 'time DESC, id');
ALTER TABLE "{schema}".costs SET (timescaledb.compress, timescaledb.compress_segmentby = 'team_id',
    timescaledb.compress_orderby = 'time DESC, id');

SELECT {ext}.add_compression_policy(t, compress_after => INTERVAL '{compress_after} seconds',
    initial_start => now() + INTERVAL '12 hours')
FROM unnest(ARRAY['"{schema}".events', '"{schema}".metrics', '"{schema}".performance',
                  '"{schema}".engagement', '"{schema}".ai_metrics', '"{schema}".costs']::regclass[]) AS t;

SELECT {ext}.add_retention_policy(t, drop_after => INTERVAL '{retention} seconds',
    initial_start => now() + INTERVAL '1 day')
FROM unnest(ARRAY['"{schema}".events', '"{schema}".metrics', '"{schema}".performance',
                  '"{schema}".engagement', '"{schema}".ai_metrics', '"{schema}".costs']::regclass[]) AS t
"#;

/// Plain: materialised hourly rollups of the caggs' shape, their watermark (rows with `hour`
/// below it are read from the rollup, newer ones from the raw table), and the functions
/// readers call, with the signatures of the TimescaleDB ones.
const PLAIN_ROLLUPS: &str = r#"
CREATE TABLE "{schema}".engagement_hourly (
    team_id uuid NOT NULL, post_id uuid NOT NULL, platform text NOT NULL, hour timestamptz NOT NULL,
    likes bigint, comments bigint, shares bigint, views bigint, reach bigint, impressions bigint,
    PRIMARY KEY (team_id, post_id, platform, hour)
);
CREATE INDEX engagement_hourly_team_hour ON "{schema}".engagement_hourly (team_id, hour);

CREATE TABLE "{schema}".ai_metrics_hourly (
    team_id uuid NOT NULL, feature_type text NOT NULL, model_used text NOT NULL, hour timestamptz NOT NULL,
    requests bigint NOT NULL, tokens bigint NOT NULL, cost numeric NOT NULL,
    success_sum double precision NOT NULL, response_us_sum numeric NOT NULL,
    PRIMARY KEY (team_id, hour, feature_type, model_used)
);

CREATE TABLE "{schema}".clientnest_rollup_watermarks (
    name      text PRIMARY KEY,
    watermark timestamptz NOT NULL
);
INSERT INTO "{schema}".clientnest_rollup_watermarks VALUES ('engagement_hourly', '-infinity'), ('ai_metrics_hourly', '-infinity');

CREATE FUNCTION "{schema}".clientnest_engagement_hourly_raw(p_team uuid, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (team_id uuid, post_id uuid, platform text, hour timestamptz, likes bigint, comments bigint,
               shares bigint, views bigint, reach bigint, impressions bigint)
LANGUAGE sql STABLE AS $fn$
    SELECT team_id, post_id, platform, date_bin(INTERVAL '1 hour', time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS hour,
           (array_agg(likes ORDER BY time DESC) FILTER (WHERE likes IS NOT NULL))[1],
           (array_agg(comments ORDER BY time DESC) FILTER (WHERE comments IS NOT NULL))[1],
           (array_agg(shares ORDER BY time DESC) FILTER (WHERE shares IS NOT NULL))[1],
           (array_agg(views ORDER BY time DESC) FILTER (WHERE views IS NOT NULL))[1],
           (array_agg(reach ORDER BY time DESC) FILTER (WHERE reach IS NOT NULL))[1],
           (array_agg(impressions ORDER BY time DESC) FILTER (WHERE impressions IS NOT NULL))[1]
    FROM "{schema}".engagement
    WHERE (p_team IS NULL OR team_id = p_team) AND time >= p_from AND time < p_to
    GROUP BY 1, 2, 3, 4
$fn$;

CREATE FUNCTION "{schema}".clientnest_ai_metrics_hourly_raw(p_team uuid, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (team_id uuid, feature_type text, model_used text, hour timestamptz, requests bigint, tokens bigint,
               cost numeric, success_sum double precision, response_us_sum numeric)
LANGUAGE sql STABLE AS $fn$
    SELECT team_id, feature_type, model_used,
           date_bin(INTERVAL '1 hour', time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS hour,
           count(*), sum(tokens_used), sum(cost), sum(success_rate), sum(response_time)
    FROM "{schema}".ai_metrics
    WHERE (p_team IS NULL OR team_id = p_team) AND time >= p_from AND time < p_to
    GROUP BY 1, 2, 3, 4
$fn$;

CREATE FUNCTION "{schema}".clientnest_engagement_hourly(p_team uuid, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (post_id uuid, platform text, hour timestamptz, likes bigint, comments bigint, shares bigint,
               views bigint, reach bigint, impressions bigint)
LANGUAGE sql STABLE AS $fn$
    WITH w AS (SELECT watermark FROM "{schema}".clientnest_rollup_watermarks WHERE name = 'engagement_hourly')
    SELECT m.post_id, m.platform, m.hour, m.likes, m.comments, m.shares, m.views, m.reach, m.impressions
    FROM "{schema}".engagement_hourly m, w
    WHERE m.team_id = p_team AND m.hour >= p_from AND m.hour < least(p_to, w.watermark)
    UNION ALL
    SELECT r.post_id, r.platform, r.hour, r.likes, r.comments, r.shares, r.views, r.reach, r.impressions
    FROM w, "{schema}".clientnest_engagement_hourly_raw(p_team, greatest(p_from, w.watermark), p_to) r
$fn$;

CREATE FUNCTION "{schema}".clientnest_ai_metrics_hourly(p_team uuid, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (feature_type text, model_used text, hour timestamptz, requests bigint, tokens bigint,
               cost numeric, success_sum double precision, response_us_sum numeric)
LANGUAGE sql STABLE AS $fn$
    WITH w AS (SELECT watermark FROM "{schema}".clientnest_rollup_watermarks WHERE name = 'ai_metrics_hourly')
    SELECT m.feature_type, m.model_used, m.hour, m.requests, m.tokens, m.cost, m.success_sum, m.response_us_sum
    FROM "{schema}".ai_metrics_hourly m, w
    WHERE m.team_id = p_team AND m.hour >= p_from AND m.hour < least(p_to, w.watermark)
    UNION ALL
    SELECT r.feature_type, r.model_used, r.hour, r.requests, r.tokens, r.cost, r.success_sum, r.response_us_sum
    FROM w, "{schema}".clientnest_ai_metrics_hourly_raw(p_team, greatest(p_from, w.watermark), p_to) r
$fn$;

-- Recompute the hourly rollups for every hour from the older of p_start and the watermark up
-- to the end of the hour holding the last instant before p_end (never into the current, hot
-- hour, which stays live), then raise the watermark to there: late rows in the window show,
-- and nothing below the watermark is left unmaterialised. Serialised by a transaction-level
-- advisory lock per schema.
CREATE FUNCTION "{schema}".clientnest_refresh_rollups(p_start timestamptz, p_end timestamptz)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    origin CONSTANT timestamptz := TIMESTAMPTZ '2000-01-01 00:00:00+00';
    hi timestamptz;
    lo timestamptz;
    wm timestamptz;
BEGIN
    IF p_end <= p_start THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('clientnest_refresh_rollups:{schema}'));
    hi := least(date_bin(INTERVAL '1 hour', p_end - INTERVAL '1 microsecond', origin) + INTERVAL '1 hour',
                date_bin(INTERVAL '1 hour', now(), origin));
    SELECT watermark INTO wm FROM "{schema}".clientnest_rollup_watermarks WHERE name = 'engagement_hourly' FOR UPDATE;
    lo := CASE WHEN isfinite(p_start) THEN least(date_bin(INTERVAL '1 hour', p_start, origin), wm) ELSE p_start END;
    DELETE FROM "{schema}".engagement_hourly WHERE hour >= lo AND hour < hi;
    INSERT INTO "{schema}".engagement_hourly SELECT * FROM "{schema}".clientnest_engagement_hourly_raw(NULL, lo, hi);
    UPDATE "{schema}".clientnest_rollup_watermarks SET watermark = greatest(wm, hi) WHERE name = 'engagement_hourly';

    SELECT watermark INTO wm FROM "{schema}".clientnest_rollup_watermarks WHERE name = 'ai_metrics_hourly' FOR UPDATE;
    lo := CASE WHEN isfinite(p_start) THEN least(date_bin(INTERVAL '1 hour', p_start, origin), wm) ELSE p_start END;
    DELETE FROM "{schema}".ai_metrics_hourly WHERE hour >= lo AND hour < hi;
    INSERT INTO "{schema}".ai_metrics_hourly SELECT * FROM "{schema}".clientnest_ai_metrics_hourly_raw(NULL, lo, hi);
    UPDATE "{schema}".clientnest_rollup_watermarks SET watermark = greatest(wm, hi) WHERE name = 'ai_metrics_hourly';
END
$fn$;

-- Retention: delete rows older than p_before from the six tables, then recompute the rollups
-- below it (so they hold nothing of the deleted rows). Returns the rows deleted.
CREATE FUNCTION "{schema}".clientnest_drop_before(p_before timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    n bigint;
    total bigint := 0;
BEGIN
    DELETE FROM "{schema}".events WHERE time < p_before; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM "{schema}".metrics WHERE time < p_before; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM "{schema}".performance WHERE time < p_before; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM "{schema}".engagement WHERE time < p_before; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM "{schema}".ai_metrics WHERE time < p_before; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM "{schema}".costs WHERE time < p_before; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    PERFORM "{schema}".clientnest_refresh_rollups('-infinity', p_before);
    RETURN total;
END
$fn$
"#;

/// Every migration, in order.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "tables", timescaledb: &[TABLES], plain: &[TABLES] },
    Migration { version: 2, name: "time_layout", timescaledb: &[HYPERTABLES], plain: &[BRIN] },
    Migration {
        version: 3,
        name: "hourly_rollups",
        timescaledb: &[CAGGS, TS_HOURLY_FUNCTIONS],
        plain: &[PLAIN_ROLLUPS],
    },
    Migration { version: 4, name: "policies", timescaledb: &[TS_POLICIES], plain: &[] },
];

/// The hourly rollups (continuous aggregates, or plain rollup tables).
pub(crate) const HOURLY_ROLLUPS: [&str; 2] = ["engagement_hourly", "ai_metrics_hourly"];

/// The six tables, in the order maintenance visits them.
pub(crate) const TABLE_NAMES: [&str; 6] = ["events", "metrics", "performance", "engagement", "ai_metrics", "costs"];
