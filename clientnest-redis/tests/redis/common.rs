//! Connecting the tests: which servers (skip rules from `clientnest_testkit::services`), a
//! fresh key prefix per test, and throwaway servers of a test's own.

use std::sync::Arc;

use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_redis::{RedisConfig, RedisKv};
use clientnest_testkit::services;

pub(crate) use clientnest_testkit::fixtures::unique_prefix;

/// Which deployment a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topology {
    /// One node, from `REDIS_URL`.
    Single,
    /// A Cluster, from `REDIS_CLUSTER_URLS`.
    Cluster,
}

impl Topology {
    /// The servers' URLs (`REDIS_URL`, `REDIS_CLUSTER_URLS`), or `None` (said loudly) when
    /// they are not set.
    fn urls(self) -> Option<String> {
        match self {
            Topology::Single => services::redis_url(),
            Topology::Cluster => services::redis_cluster_urls(),
        }
    }
}

/// The configuration of a topology under a fresh prefix, or `None` (with a loud message) when
/// its variable is not set.
pub(crate) fn config(topology: Topology) -> Option<RedisConfig> {
    let urls = topology.urls()?;
    Some(RedisConfig::default().with_url_list(&urls).with_key_prefix(unique_prefix()))
}

/// A fresh handle on a topology, or `None` when it is not configured.
pub(crate) async fn connect(topology: Topology) -> Option<RedisKv> {
    let config = config(topology)?;
    let kv = match topology {
        Topology::Single => RedisKv::connect(&config).await,
        Topology::Cluster => RedisKv::connect_cluster(&config).await,
    };
    Some(kv.unwrap_or_else(|e| panic!("connect to Redis ({topology:?}, {config:?}): {e}")))
}

/// A conformance harness on a topology: real time (Redis `TIME`).
pub(crate) async fn harness(topology: Topology) -> Option<Harness<RedisKv>> {
    let kv = connect(topology).await?;
    Some(Harness { store: Arc::new(kv), time: TimeControl::Real })
}

/// A throwaway `redis-server` of the test's own on a free loopback port (no RDB, no AOF), for
/// tests that pause, reconfigure or cut a server and so must not touch the shared one. Killed
/// when dropped.
pub(crate) struct OwnRedis {
    child: std::process::Child,
    port: u16,
}

impl OwnRedis {
    /// Start one, or `None` (skipped loudly, or a failure with `CLIENTNEST_REQUIRE_SERVICES=1`)
    /// when `redis-server` cannot be run. Extra `--option value` pairs go on its command line.
    pub(crate) fn start(extra: &[&str]) -> Option<OwnRedis> {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).ok()?.local_addr().ok()?.port();
        let spawned = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) => return services::unavailable("Redis", &format!("redis-server could not be started: {e}")),
        };
        let own = OwnRedis { child, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(own);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("redis-server on port {port} did not start");
    }

    /// Start one as a one-node Redis Cluster that serves every slot (a Cluster of the test's
    /// own: the Cluster client's code path, with pauses and kills that reach no other test).
    pub(crate) async fn start_cluster() -> Option<OwnRedis> {
        let dir = std::env::temp_dir().join(format!("cn-own-cluster-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a folder for nodes.conf");
        let dir = dir.to_str().expect("a UTF-8 temp path").to_owned();
        let own = OwnRedis::start(&["--cluster-enabled", "yes", "--dir", &dir])?;
        let mut admin = own.admin().await;
        let _: () = redis::cmd("CLUSTER")
            .arg("ADDSLOTSRANGE")
            .arg(0)
            .arg(16383)
            .query_async(&mut admin)
            .await
            .expect("ADDSLOTSRANGE");
        for _ in 0..200 {
            let info: String = redis::cmd("CLUSTER").arg("INFO").query_async(&mut admin).await.expect("CLUSTER INFO");
            if info.contains("cluster_state:ok") {
                return Some(own);
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the own one-node cluster did not reach cluster_state:ok");
    }

    /// Its URL: `redis://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its address: `127.0.0.1:<port>`.
    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// A plain connection of its own (not through any `RedisKv`), for `CLIENT PAUSE`, `CONFIG`.
    pub(crate) async fn admin(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("own redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("connect to the own redis-server")
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
