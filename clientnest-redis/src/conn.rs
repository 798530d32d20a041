//! One connection type over both topologies: a single node through redis-rs'
//! `ConnectionManager` (reconnects by itself), or a Cluster through `cluster_async`
//! (routes each command to its slot's master, follows MOVED/ASK).
//!
//! Re-sending: `ConnectionManager` never re-sends a command (a failed call fails; the
//! connection is reopened in the background). The Cluster client re-sends a request after a
//! timeout or a dropped connection as many times as its `retries` setting allows, and that
//! setting is per client, not per request. So a Cluster handle keeps two clients: one with
//! retries for the calls that are safe to send twice ([`Conns::retrying`]), and one with
//! `retries(0)` for those that are not ([`Conns::once`]); the adapter itself re-sends on the
//! latter only after errors that prove the server did not run the call (MOVED, TRYAGAIN, ...).

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::config::RedisConfig;

/// A cheap-to-clone handle on one node or on a Cluster. Both multiplex every call of every
/// clone over their connections.
#[derive(Clone)]
pub(crate) enum Conn {
    /// One Redis server, through a reconnecting connection manager.
    Single(ConnectionManager),
    /// A Redis Cluster, through the cluster client's connection (routes by slot).
    Cluster(ClusterConnection),
}

impl Conn {
    /// Connect to the first URL of the config as a single node.
    async fn single(config: &RedisConfig) -> redis::RedisResult<Self> {
        let url = config.urls().first().map(String::as_str).unwrap_or_default();
        let client = redis::Client::open(url)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout()))
            .set_response_timeout(Some(config.response_timeout()))
            .set_number_of_retries(config.reconnect_retries());
        let manager = ConnectionManager::new_with_config(client, manager_config).await?;
        Ok(Conn::Single(manager))
    }

    /// Connect to a Cluster through any of the config's URLs; the client re-sends a request up
    /// to `retries` times (after a redirect, a timeout or a dropped connection).
    async fn cluster(config: &RedisConfig, retries: u32) -> redis::RedisResult<Self> {
        let client = ClusterClientBuilder::new(config.urls().iter().map(String::as_str))
            .connection_timeout(config.connect_timeout())
            .response_timeout(config.response_timeout())
            .retries(retries)
            .build()?;
        Ok(Conn::Cluster(client.get_async_connection().await?))
    }
}

/// The connections of one handle: `retrying` for calls that are safe to send twice, `once` for
/// those that are not. On a single node both are the same `ConnectionManager` (which never
/// re-sends); on a Cluster they are two clients, with and without retries.
#[derive(Clone)]
pub(crate) struct Conns {
    /// Re-sends after a timeout or a dropped connection (on a Cluster, up to the config's
    /// reconnect retries).
    pub(crate) retrying: Conn,
    /// Never re-sends by itself.
    pub(crate) once: Conn,
}

impl Conns {
    /// Connect to the first URL of the config as a single node.
    pub(crate) async fn single(config: &RedisConfig) -> redis::RedisResult<Self> {
        let conn = Conn::single(config).await?;
        Ok(Conns { retrying: conn.clone(), once: conn })
    }

    /// Connect to a Cluster through any of the config's URLs: two clients, one with the
    /// config's retries, one with none.
    pub(crate) async fn cluster(config: &RedisConfig) -> redis::RedisResult<Self> {
        let retries = u32::try_from(config.reconnect_retries()).unwrap_or(u32::MAX);
        let retrying = Conn::cluster(config, retries).await?;
        let once = Conn::cluster(config, 0).await?;
        Ok(Conns { retrying, once })
    }

    /// Whether this is a Cluster connection.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.once, Conn::Cluster(_))
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}
