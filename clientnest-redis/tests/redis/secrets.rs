//! Session tokens never reach Redis in clear: keys, values, the user index and every command's
//! arguments (what `MONITOR` and `SLOWLOG` show) hold only a SHA-256 digest of the token. Runs on
//! a `redis-server` of the test's own that logs every command in its slow log.

use chrono::Duration;
use clientnest_core::ids::UserId;
use clientnest_core::model::NewSession;
use clientnest_core::ports::SessionStore;
use clientnest_redis::{RedisConfig, RedisKv};
use redis::Value;

use crate::common::{OwnRedis, unique_prefix};

/// Every byte string inside a reply, flattened.
fn strings(value: &Value, out: &mut Vec<Vec<u8>>) {
    match value {
        Value::BulkString(b) => out.push(b.clone()),
        Value::SimpleString(s) => out.push(s.clone().into_bytes()),
        Value::Int(i) => out.push(i.to_string().into_bytes()),
        Value::Array(items) | Value::Set(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            strings(k, out);
            strings(v, out);
        }),
        _ => {}
    }
}

/// Every key of the server with its value, as text (raw bytes, lossily).
async fn dump(admin: &mut redis::aio::MultiplexedConnection) -> Vec<String> {
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(admin).await.expect("KEYS");
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(admin).await.expect("TYPE");
        let value: Value = match kind.as_str() {
            "hash" => redis::cmd("HGETALL").arg(&key).query_async(admin).await,
            "zset" => redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).arg("WITHSCORES").query_async(admin).await,
            "set" => redis::cmd("SMEMBERS").arg(&key).query_async(admin).await,
            "string" => redis::cmd("GET").arg(&key).query_async(admin).await,
            other => panic!("a key of an unexpected type {other}: {key}"),
        }
        .expect("read a value");
        let mut parts = Vec::new();
        strings(&value, &mut parts);
        out.push(key);
        out.extend(parts.iter().map(|p| String::from_utf8_lossy(p).into_owned()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_tokens_are_stored_and_sent_only_as_digests() {
    let Some(own) = OwnRedis::start(&["--slowlog-log-slower-than", "0", "--slowlog-max-len", "100000"]) else {
        return;
    };
    let mut admin = own.admin().await;
    let kv = RedisKv::connect(&RedisConfig::new(own.url()).with_key_prefix(unique_prefix())).await.expect("connect");
    let user = UserId::new();
    let new = || NewSession { user_id: user, permissions: vec!["posts:write".into()], ttl: Duration::hours(1) };
    let kept = kv.create_session(new()).await.expect("create");
    let deleted = kv.create_session(new()).await.expect("create");
    let revoked = kv.create_session(new()).await.expect("create");
    assert!(kv.get_session(&kept.id).await.expect("get").is_some());
    assert!(kv.touch_session(&kept.id, Duration::hours(2)).await.expect("touch").is_some());
    assert!(kv.delete_session(&deleted.id).await.expect("delete"));

    // At rest: the kept and the revoked session are live; no key or value names their token.
    let stored = dump(&mut admin).await;
    assert!(stored.iter().any(|s| s.contains(":index")), "the user index is there: {stored:?}");
    for session in [&kept, &deleted, &revoked] {
        let token = session.id.expose();
        for s in &stored {
            assert!(!s.contains(token) && !s.contains(&token[2..]), "a stored key or value holds a token: {s}");
        }
    }

    assert_eq!(kv.revoke_user_sessions(user).await.expect("revoke"), 2);
    assert!(kv.get_session(&kept.id).await.expect("get").is_none(), "revoked");

    // On the wire: no command argument (what MONITOR and SLOWLOG show) held a token.
    let log: Value = redis::cmd("SLOWLOG").arg("GET").arg(100_000).query_async(&mut admin).await.expect("SLOWLOG");
    let mut args = Vec::new();
    strings(&log, &mut args);
    assert!(args.len() > 20, "the slow log holds every command");
    for session in [&kept, &deleted, &revoked] {
        let token = session.id.expose().as_bytes();
        for a in &args {
            assert!(
                !a.windows(token.len() - 2).any(|w| w == &token[2..]),
                "a command argument held a token: {:?}",
                String::from_utf8_lossy(a)
            );
        }
    }
}
