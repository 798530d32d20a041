//! Hostile input, checked in the keyspace itself, on a single node and on a Cluster: keys,
//! subjects, namespaces, permissions, idempotency keys and payloads with braces, colons, spaces,
//! newlines, globs, `%`, unicode, NUL, invalid UTF-8 and 1 MB values either round-trip exactly or
//! are refused with `Error::Validation`. After every step the test SCANs its own prefix on every
//! master: exactly the expected keys exist, each printable ASCII and inside its own hash tag,
//! whose escaped part decodes back to the caller's input; and "neighbour" keys planted where a
//! naive concatenation of prefix and input would have written are left untouched.

use std::collections::{BTreeSet, HashMap};

use chrono::Duration;
use clientnest_core::Error;
use clientnest_core::ids::UserId;
use clientnest_core::model::{CacheKey, MAX_VALUE_BYTES, NewJob, NewSession, QueueName, Quota, WorkerId};
use clientnest_core::ports::{Cache, JobQueue, RateLimiter, SessionStore, TempStore};
use clientnest_redis::RedisKv;
use clientnest_redis::keys::hash_tag;
use redis::aio::MultiplexedConnection;

use crate::common::{Topology, config};

/// Generates, for each listed `async fn(Ctx)`, a test on the single node and one on the
/// Cluster (each skipped loudly when its servers are not configured).
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod single_node {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(ctx) = super::Ctx::new(crate::common::Topology::Single).await {
                        super::$name(ctx).await;
                    }
                }
            )+
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(ctx) = super::Ctx::new(crate::common::Topology::Cluster).await {
                        super::$name(ctx).await;
                    }
                }
            )+
        }
    };
}

on_both!(temp_keys, cache_keys, rate_subjects, queue_payloads_and_idempotency_keys, session_permissions);

/// Fragments that mean something to a key pattern, a hash tag, a glob, the escaping or a
/// terminal, and keys at the 1024-byte limit.
fn hostile_inputs() -> Vec<String> {
    let fragments = [
        "{",
        "}",
        "{}",
        "{a}",
        "{a}:b",
        "a}:{b",
        "}{",
        ":",
        "a:b",
        "::",
        "a:lock",
        ":lock",
        "with space",
        " ",
        "new\nline",
        "\r\n",
        "tab\t",
        "*",
        "a*",
        "*:*",
        "?",
        "[",
        "]",
        "[a-z]",
        "\\",
        "%",
        "%7B",
        "%25",
        "%%",
        "ünïcødé ✓ 🚀",
        "nul\0byte",
        "\u{7f}",
        "temp:x",
        "a",
        "%7Ba%7D%3Ab",
    ];
    let mut inputs: Vec<String> = fragments.iter().map(|s| (*s).to_owned()).collect();
    inputs.extend(["k".repeat(1024), "é".repeat(512), "{".repeat(1024)]);
    inputs
}

/// A value of every byte, not valid UTF-8, of `len` bytes.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from((i * 31 + 7) % 256).expect("a byte")).collect()
}

/// Payloads: empty, invalid UTF-8, punctuation with NUL and CRLF, unicode, 1 MB of binary.
fn hostile_payloads() -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        vec![0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0xed, 0xa0, 0x80],
        b"{a}:b *?[x] %7B\r\n\0\"'\\ -- end".to_vec(),
        "ünïcødé ✓ 🚀".as_bytes().to_vec(),
        binary(1024 * 1024),
    ]
}

/// Undo the adapter's `%XX` escaping, independently of its code.
fn unescape(escaped: &str) -> Vec<u8> {
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = escaped.get(i + 1..i + 3).expect("two hex digits after %");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Assert that a call was refused with a validation error (and say what it was).
fn assert_validation<T: std::fmt::Debug>(what: &str, outcome: clientnest_core::Result<T>) {
    assert!(matches!(outcome, Err(Error::Validation(_))), "{what}: expected Error::Validation, got {outcome:?}");
}

/// One test's view: the handle, its key prefix, and a connection to every master to SCAN.
struct Ctx {
    kv: RedisKv,
    prefix: String,
    masters: Vec<MultiplexedConnection>,
}

impl Ctx {
    /// A fresh handle (own prefix) on a topology, or `None` when it is not configured.
    async fn new(topology: Topology) -> Option<Self> {
        let config = config(topology)?;
        let kv = match topology {
            Topology::Single => RedisKv::connect(&config).await,
            Topology::Cluster => RedisKv::connect_cluster(&config).await,
        }
        .expect("connect");
        let seed = config.urls().first().expect("a URL").clone();
        let masters = match topology {
            Topology::Single => vec![seed],
            Topology::Cluster => cluster_masters(&seed).await,
        };
        let mut conns = Vec::new();
        for url in masters {
            let client = redis::Client::open(url.as_str()).expect("a node URL");
            conns.push(client.get_multiplexed_async_connection().await.expect("connect to a node"));
        }
        let prefix = config.key_prefix().to_owned();
        Some(Self { kv, prefix, masters: conns })
    }

    /// Every key under this test's prefix, over every master.
    async fn scan(&self) -> BTreeSet<Vec<u8>> {
        let pattern = format!("{{{}:*", self.prefix);
        let mut keys = BTreeSet::new();
        for conn in &self.masters {
            let mut conn = conn.clone();
            let mut cursor = 0u64;
            loop {
                let (next, page): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn)
                    .await
                    .expect("SCAN");
                keys.extend(page);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        keys
    }

    /// Assert the keyspace under the prefix is exactly `expected`.
    async fn assert_keyspace(&self, what: &str, expected: &BTreeSet<Vec<u8>>) {
        let found = self.scan().await;
        let show = |set: &BTreeSet<Vec<u8>>| -> Vec<String> {
            set.iter().map(|k| String::from_utf8_lossy(k).chars().take(80).collect()).collect()
        };
        let extra: BTreeSet<_> = found.difference(expected).cloned().collect();
        let missing: BTreeSet<_> = expected.difference(&found).cloned().collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{what}: {} keys found, {} expected; unexpected {:?}; missing {:?}",
            found.len(),
            expected.len(),
            show(&extra),
            show(&missing)
        );
    }

    /// Delete every key under this test's prefix (the planted ones have no TTL).
    async fn clean_up(&self) {
        for key in self.scan().await {
            let _: i64 = self.kv.command(redis::cmd("DEL").arg(&key)).await.expect("DEL");
        }
    }

    /// Plant a sentinel value at each raw key that is not one of the adapter's own keys, with
    /// no TTL; returns the planted keys.
    async fn plant(&self, raw: impl IntoIterator<Item = String>, own: &BTreeSet<Vec<u8>>) -> BTreeSet<Vec<u8>> {
        let mut planted = BTreeSet::new();
        for key in raw {
            if own.contains(key.as_bytes()) || !planted.insert(key.clone().into_bytes()) {
                continue;
            }
            let _: () = self.kv.command(redis::cmd("SET").arg(&key).arg("sentinel")).await.expect("plant");
        }
        planted
    }

    /// Assert every planted sentinel still holds its value and has no TTL.
    async fn assert_untouched(&self, planted: &BTreeSet<Vec<u8>>) {
        for key in planted {
            let shown = String::from_utf8_lossy(key);
            let value: Option<String> = self.kv.command(redis::cmd("GET").arg(key)).await.expect("GET");
            assert_eq!(value.as_deref(), Some("sentinel"), "the neighbour key {shown:?} was touched");
            let ttl: i64 = self.kv.command(redis::cmd("PTTL").arg(key)).await.expect("PTTL");
            assert_eq!(ttl, -1, "the neighbour key {shown:?} got a TTL");
        }
    }

    /// The raw keys a naive `{prefix:kind:input}` concatenation would give, with `suffixes`.
    fn naive(&self, kind: &str, inputs: &[String], suffixes: &[&str]) -> Vec<String> {
        let p = &self.prefix;
        inputs.iter().flat_map(|s| suffixes.iter().map(move |suffix| format!("{{{p}:{kind}:{s}}}{suffix}"))).collect()
    }
}

/// The `host:port` of every master of a Cluster, from `CLUSTER NODES` on a seed node.
async fn cluster_masters(seed: &str) -> Vec<String> {
    let client = redis::Client::open(seed).expect("a seed URL");
    let mut conn = client.get_multiplexed_async_connection().await.expect("connect to the seed");
    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query_async(&mut conn).await.expect("CLUSTER NODES");
    let masters: Vec<String> = nodes
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let flags = fields.get(2)?;
            let addr = fields.get(1)?.split('@').next()?;
            (flags.split(',').any(|f| f == "master") && !flags.contains("fail")).then(|| format!("redis://{addr}"))
        })
        .collect();
    assert!(!masters.is_empty(), "the Cluster lists its masters");
    masters
}

/// Check one adapter key of the shape `{<tag>}<suffix>`: printable ASCII without spaces, the
/// hash tag is the whole braced part, which is `<prefix>:<kind>:<escaped>` with no brace or glob
/// in `<escaped>` and no `:` but the cache's `<namespace>:<id>` one; returns the escaped part
/// and the suffix.
fn split_key(prefix: &str, kind: &str, key: &[u8]) -> (String, String) {
    let text = std::str::from_utf8(key).expect("keys are ASCII");
    assert!(key.iter().all(u8::is_ascii_graphic), "key {text:?} holds a space, control or non-ASCII byte");
    let tag = hash_tag(text);
    let braced = format!("{{{tag}}}");
    let suffix = text.strip_prefix(&braced).unwrap_or_else(|| panic!("{text:?} does not start with its tag"));
    let head = format!("{prefix}:{kind}:");
    let escaped = tag.strip_prefix(&head).unwrap_or_else(|| panic!("{text:?}: tag {tag:?} is not under {head:?}"));
    assert!(!escaped.contains(['{', '}', '*', '?', '[', ']']), "{text:?}: the escaped part holds a special byte");
    let separators = usize::from(kind == "cache");
    assert_eq!(escaped.matches(':').count(), separators, "{text:?}: separators in the escaped part");
    (escaped.to_owned(), suffix.to_owned())
}

/// Temp keys: each hostile key keeps its own value (a 1 MB binary one too), lives at exactly
/// one key `{p:temp:<escaped>}` that decodes back to it, and never reaches a neighbour;
/// take and delete remove exactly their key; bad keys and values are refused, storing nothing.
async fn temp_keys(ctx: Ctx) {
    let kv = &ctx.kv;
    let inputs = hostile_inputs();
    let own: BTreeSet<Vec<u8>> = inputs.iter().map(|s| kv.keys().temp(s).into_bytes()).collect();
    assert_eq!(own.len(), inputs.len(), "distinct inputs, distinct keys");
    let planted = ctx.plant(ctx.naive("temp", &inputs, &[""]), &own).await;
    let value = |i: usize| if i == 0 { binary(1024 * 1024) } else { format!("value {i}").into_bytes() };
    for (i, key) in inputs.iter().enumerate() {
        kv.put_temp(key, value(i), Duration::minutes(5)).await.expect("put a hostile key");
    }
    for (i, key) in inputs.iter().enumerate() {
        assert_eq!(kv.get_temp(key).await.expect("get"), Some(value(i)), "{key:?} round-trips");
    }
    ctx.assert_keyspace("after the puts", &own.union(&planted).cloned().collect()).await;
    let decoded: BTreeSet<Vec<u8>> = own
        .iter()
        .map(|k| {
            let (escaped, suffix) = split_key(&ctx.prefix, "temp", k);
            assert_eq!(suffix, "", "a temp key is its tag");
            unescape(&escaped)
        })
        .collect();
    assert_eq!(decoded, inputs.iter().map(|s| s.clone().into_bytes()).collect(), "each key decodes to its input");
    ctx.assert_untouched(&planted).await;

    assert_eq!(kv.take_temp(&inputs[0]).await.expect("take"), Some(value(0)));
    for key in &inputs[1..] {
        assert!(kv.delete_temp(key).await.expect("delete"), "{key:?} existed");
    }
    ctx.assert_keyspace("after take and delete", &planted).await;

    assert_validation("an empty key", kv.put_temp("", b"x".to_vec(), Duration::minutes(1)).await);
    assert_validation("a 1025-byte key", kv.put_temp(&"k".repeat(1025), b"x".to_vec(), Duration::minutes(1)).await);
    let too_big = vec![0u8; MAX_VALUE_BYTES + 1];
    assert_validation("a value over 8 MiB", kv.put_temp("big", too_big, Duration::minutes(1)).await);
    assert_validation("a 1025-byte key read", kv.get_temp(&"k".repeat(1025)).await);
    ctx.assert_keyspace("after the refusals", &planted).await;
    ctx.assert_untouched(&planted).await;
    ctx.clean_up().await;
}

/// Cache keys (namespace + hostile id, API keys with hostile endpoints and parameters) keep
/// their own values, live at `{p:cache:<ns>:<id>}` (their load lock at the same tag plus
/// `:lock`), never reach a neighbour, and hostile namespaces are refused.
async fn cache_keys(ctx: Ctx) {
    let kv = &ctx.kv;
    let inputs = hostile_inputs();
    let mut keys: Vec<CacheKey> = Vec::new();
    for id in &inputs {
        for namespace in ["user", "api", "h_ns0"] {
            keys.push(CacheKey::new(namespace, id.clone()).expect("a valid cache key"));
        }
        let params = [(id.as_str(), id.as_str()), ("page", "2"), ("q", "a&b=c")];
        match CacheKey::api(id, &params) {
            Ok(key) => keys.push(key),
            // The endpoint, `?` and the parameters' hash must fit the 1024-byte id.
            Err(e) => assert!(id.len() > 1024 - 33 && matches!(e, Error::Validation(_)), "API key {id:?}: {e:?}"),
        }
    }
    let own: BTreeSet<Vec<u8>> = keys.iter().map(|k| kv.keys().cache(k).into_bytes()).collect();
    assert_eq!(own.len(), keys.len(), "distinct cache keys, distinct Redis keys");
    let locked = [&keys[0], &keys[17]];
    let locks: BTreeSet<Vec<u8>> = locked.iter().map(|k| kv.keys().cache_lock(k).into_bytes()).collect();
    let mut naive = ctx.naive("cache", &inputs.iter().map(|s| format!("user:{s}")).collect::<Vec<_>>(), &["", ":lock"]);
    naive.extend(ctx.naive("cache", &inputs.iter().map(|s| format!("api:{s}")).collect::<Vec<_>>(), &[""]));
    let planted = ctx.plant(naive, &own.union(&locks).cloned().collect()).await;

    let payloads = hostile_payloads();
    let value = |i: usize| {
        let mut v = payloads[i % payloads.len()].clone();
        v.extend_from_slice(format!("#{i}").as_bytes());
        v
    };
    for (i, key) in keys.iter().enumerate() {
        kv.set_bytes(key, value(i), Duration::minutes(5)).await.expect("set a hostile key");
    }
    let mut tokens = Vec::new();
    for key in locked {
        tokens.push(kv.try_lock(key, Duration::minutes(1)).await.expect("lock").expect("a free lock"));
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(kv.get_bytes(key).await.expect("get"), Some(value(i)), "{key:?} round-trips");
    }
    let all: BTreeSet<Vec<u8>> = own.union(&locks).chain(&planted).cloned().collect();
    ctx.assert_keyspace("after the sets and locks", &all).await;
    let expected: BTreeSet<(Vec<u8>, Vec<u8>)> =
        keys.iter().map(|k| (k.namespace().as_bytes().to_vec(), k.id().as_bytes().to_vec())).collect();
    let mut decoded = BTreeSet::new();
    for key in own.union(&locks) {
        let (escaped, suffix) = split_key(&ctx.prefix, "cache", key);
        assert!(suffix.is_empty() || suffix == ":lock", "cache key suffix {suffix:?}");
        let (namespace, id) = escaped.split_once(':').expect("namespace:id inside the tag");
        assert!(expected.contains(&(unescape(namespace), unescape(id))), "{escaped:?} decodes to a written key");
        if suffix.is_empty() {
            decoded.insert((unescape(namespace), unescape(id)));
        }
    }
    assert_eq!(decoded, expected, "each value key decodes to its cache key");
    ctx.assert_untouched(&planted).await;

    for (key, token) in locked.iter().zip(&tokens) {
        kv.unlock(key, token).await.expect("unlock");
    }
    for key in &keys {
        assert!(kv.delete(key).await.expect("delete"), "{key:?} existed");
    }
    // A delete leaves the key's generation behind, in the value's own slot.
    let generations: BTreeSet<Vec<u8>> = keys.iter().map(|k| kv.keys().cache_generation(k).into_bytes()).collect();
    assert_eq!(generations.len(), keys.len(), "one generation per cache key");
    let after_delete: BTreeSet<Vec<u8>> = planted.union(&generations).cloned().collect();
    ctx.assert_keyspace("after unlock and delete", &after_delete).await;
    for key in &generations {
        let (_, suffix) = split_key(&ctx.prefix, "cache", key);
        assert_eq!(suffix, ":gen", "generation key suffix");
    }
    for namespace in ["{a}", "a:b", "A", "", "a b", "a*", "ü", &"n".repeat(33)] {
        assert_validation(&format!("namespace {namespace:?}"), CacheKey::new(namespace, "x"));
    }
    assert_validation("an empty id", CacheKey::new("user", ""));
    assert_validation("an empty endpoint", CacheKey::api::<&str, &str>("", &[]));
    let big = vec![0u8; MAX_VALUE_BYTES + 1];
    assert_validation("a value over 8 MiB", kv.set_bytes(&keys[0], big, Duration::minutes(1)).await);
    ctx.assert_keyspace("after the refusals", &after_delete).await;
    ctx.clean_up().await;
}

/// Hostile rate subjects each spend their own budget at `{p:rate:<escaped>}` and reach no
/// neighbour; empty and oversize subjects are refused.
async fn rate_subjects(ctx: Ctx) {
    let kv = &ctx.kv;
    let inputs = hostile_inputs();
    let quota = Quota::per(1, Duration::hours(1));
    let own: BTreeSet<Vec<u8>> = inputs.iter().map(|s| kv.keys().rate(s).into_bytes()).collect();
    let planted = ctx.plant(ctx.naive("rate", &inputs, &[""]), &own).await;
    for subject in &inputs {
        assert!(kv.check_rate(subject, &quota).await.expect("check").allowed, "{subject:?} has its own budget");
    }
    for subject in &inputs {
        assert!(!kv.check_rate(subject, &quota).await.expect("check").allowed, "{subject:?} spent its budget");
    }
    ctx.assert_keyspace("after the checks", &own.union(&planted).cloned().collect()).await;
    let decoded: BTreeSet<Vec<u8>> = own.iter().map(|k| unescape(&split_key(&ctx.prefix, "rate", k).0)).collect();
    assert_eq!(decoded, inputs.iter().map(|s| s.clone().into_bytes()).collect(), "each key decodes to its subject");
    ctx.assert_untouched(&planted).await;
    assert_validation("an empty subject", kv.check_rate("", &quota).await);
    assert_validation("a 1025-byte subject", kv.check_rate(&"s".repeat(1025), &quota).await);
    ctx.assert_keyspace("after the refusals", &own.union(&planted).cloned().collect()).await;
    ctx.clean_up().await;
}

/// Hostile payloads (binary, 1 MB) round-trip through the queue; hostile idempotency keys each
/// dedupe their own job only, at `{p:queue:<name>}:idem:<escaped>` in the queue's slot; hostile
/// queue names and oversize keys or payloads are refused.
async fn queue_payloads_and_idempotency_keys(ctx: Ctx) {
    let kv = &ctx.kv;
    let q = QueueName::new("hostile").expect("queue");
    let qk = kv.keys().queue(&q);
    let inputs = hostile_inputs();
    let payloads = hostile_payloads();
    let naive: Vec<String> = inputs.iter().map(|s| format!("{{{}:queue:hostile}}:idem:{s}", ctx.prefix)).collect();
    let idem: BTreeSet<Vec<u8>> = inputs.iter().map(|s| qk.idempotency(s).into_bytes()).collect();
    let planted = ctx.plant(naive, &idem).await;

    let mut sent = HashMap::new();
    for (i, key) in inputs.iter().enumerate() {
        let payload = payloads[i % payloads.len()].clone();
        let job = NewJob { idempotency_key: Some(key.clone()), ..NewJob::new(payload.clone()) };
        let first = kv.enqueue(&q, job.clone()).await.expect("enqueue");
        assert!(!first.duplicate, "{key:?} is a fresh idempotency key (no other key reached it)");
        let again = kv.enqueue(&q, job).await.expect("enqueue again");
        assert!(again.duplicate && again.id == first.id, "{key:?} dedupes its own job");
        sent.insert(first.id, payload);
    }
    let worker = WorkerId::unique("hostile");
    let mut leases = Vec::new();
    while let Some(reserved) = kv.reserve(&q, &worker, Duration::minutes(1)).await.expect("reserve") {
        let payload = sent.get(&reserved.job.id).expect("a job this test sent");
        assert!(&reserved.job.payload == payload, "job {} payload round-trips", reserved.job.id);
        leases.push(reserved.lease);
    }
    assert_eq!(leases.len(), inputs.len(), "one job per idempotency key");

    let own: BTreeSet<Vec<u8>> = [qk.inflight(), qk.jobs(), qk.seq()].map(String::into_bytes).into_iter().collect();
    let all: BTreeSet<Vec<u8>> = own.iter().chain(&idem).chain(&planted).cloned().collect();
    ctx.assert_keyspace("with every job in flight", &all).await;
    let mut decoded = BTreeSet::new();
    for key in own.union(&idem) {
        let (escaped, suffix) = split_key(&ctx.prefix, "queue", key);
        assert_eq!(escaped, "hostile", "every queue key is in the queue's tag");
        if let Some(idem_key) = suffix.strip_prefix(":idem:") {
            decoded.insert(unescape(idem_key));
        }
    }
    assert_eq!(decoded, inputs.iter().map(|s| s.clone().into_bytes()).collect(), "idempotency keys decode back");
    ctx.assert_untouched(&planted).await;

    for lease in &leases {
        kv.ack(&q, lease).await.expect("ack");
    }
    for name in ["a:b", "{q}", "*", "q q", "é", "q\n", ""] {
        assert_validation(&format!("queue name {name:?}"), QueueName::new(name));
    }
    let long_key = NewJob { idempotency_key: Some("i".repeat(1025)), ..NewJob::new(b"x".to_vec()) };
    assert_validation("a 1025-byte idempotency key", kv.enqueue(&q, long_key).await);
    let empty_key = NewJob { idempotency_key: Some(String::new()), ..NewJob::new(b"x".to_vec()) };
    assert_validation("an empty idempotency key", kv.enqueue(&q, empty_key).await);
    assert_validation("a payload over 8 MiB", kv.enqueue(&q, NewJob::new(vec![0u8; MAX_VALUE_BYTES + 1])).await);
    let after: BTreeSet<Vec<u8>> = [qk.seq().into_bytes()].into_iter().chain(idem).chain(planted.clone()).collect();
    ctx.assert_keyspace("after the acks and refusals", &after).await;
    ctx.assert_untouched(&planted).await;
    ctx.clean_up().await;
}

/// Permissions in the core grammar (`resource:action`, lower-case ASCII) round-trip exactly
/// through create, get and touch; the session and its bucket index share one tag; hostile
/// strings (separators, braces, globs, spaces, newlines, NUL, unicode), empty ones, ones over
/// 100 characters and more than 200 are refused and store nothing.
async fn session_permissions(ctx: Ctx) {
    let kv = &ctx.kv;
    let mut permissions: Vec<String> =
        ["posts:write", "posts:read", "team:settings:billing:edit", "a", "x9_y", "posts:write"]
            .map(String::from)
            .to_vec();
    permissions.push(format!("{}:{}", "a".repeat(50), "b".repeat(49)));
    let user = UserId::new();
    // Every hostile input but the four that happen to be lower-case `a:b` segments.
    let in_grammar = ["a", "a:b", "a:lock", "temp:x"];
    let mut refused: Vec<Vec<String>> =
        hostile_inputs().into_iter().filter(|p| !in_grammar.contains(&p.as_str())).map(|p| vec![p]).collect();
    refused.extend([vec![String::new()], vec!["x".repeat(101)], vec!["a".to_owned(); 201], vec!["a|b".to_owned()]]);
    for bad in refused {
        let new = NewSession { user_id: user, permissions: bad, ttl: Duration::minutes(5) };
        assert_validation("bad permissions", kv.create_session(new).await);
    }
    ctx.assert_keyspace("after the refusals", &BTreeSet::new()).await;

    let new = NewSession { user_id: user, permissions: permissions.clone(), ttl: Duration::minutes(5) };
    let session = kv.create_session(new).await.expect("create");
    assert_eq!(session.permissions, permissions);
    let got = kv.get_session(&session.id).await.expect("get").expect("live");
    assert_eq!(got.permissions, permissions, "permissions round-trip through get");
    let touched = kv.touch_session(&session.id, Duration::minutes(10)).await.expect("touch").expect("live");
    assert_eq!(touched.permissions, permissions, "permissions round-trip through touch");

    let (hash, index) = (kv.keys().session(&session.id), kv.keys().session_index_of_user(user));
    ctx.assert_keyspace("one session", &[hash.clone().into_bytes(), index.clone().into_bytes()].into()).await;
    let (hash_tag_part, hash_suffix) = split_key(&ctx.prefix, "session", hash.as_bytes());
    let (index_tag_part, index_suffix) = split_key(&ctx.prefix, "session", index.as_bytes());
    assert_eq!(hash_tag_part, index_tag_part, "a session and its index share a tag");
    // The key names the session by the digest of its token, never the token.
    assert_eq!(hash_suffix, format!(":id:{}", clientnest_redis::keys::session_digest(&session.id)));
    assert_eq!(index_suffix, ":index");
    assert_eq!(kv.revoke_user_sessions(user).await.expect("revoke"), 1);
    ctx.assert_keyspace("after the revocation", &BTreeSet::new()).await;
}
