//! The key layout, with Cluster hash tags, and the escaping of caller-given key parts.
//!
//! Every key is `{<prefix>:<kind>:<id>}` followed by an optional `:<part>`. The braces are the
//! Cluster hash tag, so all keys of one entity (a queue, a cache entry and its load lock, a
//! session bucket) live in one slot and one Lua script may touch them all. Caller-given parts are
//! escaped by [`escape`], which never lets a brace, a `:` or a glob character through: a key
//! part cannot end its tag early, open another one, or fake a separator.
//!
//! | port | keys |
//! |---|---|
//! | sessions | `{p:session:<bucket>}:id:<session id>` (hash) and `{p:session:<bucket>}:index` (zset) |
//! | cache | `{p:cache:<namespace>:<id>}` (value), `{p:cache:<namespace>:<id>}:lock` (load lock) |
//! | queue | `{p:queue:<name>}:ready`, `:delayed`, `:inflight`, `:dead` (zsets), `:jobs` (hash), `:seq`, `:idem:<key>` |
//! | rate limit | `{p:rate:<subject>}` (the GCRA theoretical arrival time) |
//! | temp data | `{p:temp:<key>}` |
//!
//! The seed's patterns (`session:{id}`, `user:{id}`, `api:{endpoint}`, `queue:{name}`,
//! `rate:{user_id}`, `temp:{key}`) map onto these: a `user:{id}` cache entry is
//! `{p:cache:user:<id>}`, an `api:{endpoint}` one `{p:cache:api:<endpoint>?<params hash>}`.
//!
//! Sessions: a session's bucket is derived from its user (12 bits of a hash of the user id) and
//! written into the first two characters of the session id, so `get_session(id)` finds the
//! bucket from the id alone, and a user's sessions and the bucket's index share one slot:
//! revoking every session of a user is one script over one slot.

use clientnest_core::ids::UserId;
use clientnest_core::model::{CacheKey, QueueName, SessionId};
use sha2::{Digest, Sha256};

/// The URL-safe base64 alphabet, in which session ids are written.
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Escape a caller-given key part: `%`, `{`, `}`, `:`, the glob characters `*?[]\`, spaces,
/// control characters and every non-ASCII byte become `%XX`. Everything else stays, so the
/// mapping is one-to-one and common keys stay readable.
pub fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for &b in part.as_bytes() {
        if needs_escape(b) {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Whether a byte is written as `%XX`.
fn needs_escape(b: u8) -> bool {
    !b.is_ascii_graphic() || b"%{}:*?[]\\".contains(&b)
}

/// An upper-case hex digit of a nibble.
fn hex_digit(n: u8) -> char {
    char::from(b"0123456789ABCDEF"[usize::from(n & 0x0f)])
}

/// The hash tag Redis Cluster hashes for a key: what lies between the first `{` and the next
/// `}`, when that is not empty; else the whole key.
pub fn hash_tag(key: &str) -> &str {
    if let Some(open) = key.find('{')
        && let Some(len) = key[open + 1..].find('}')
        && len > 0
    {
        return &key[open + 1..open + 1 + len];
    }
    key
}

/// The SHA-256 digest of a session id in lowercase hex (64 characters): what Redis stores in
/// place of the token, in keys, index members and script arguments. A 256-bit random token
/// needs no salt or slow hash: its digest cannot be reversed or guessed.
pub fn session_digest(id: &SessionId) -> String {
    let digest = Sha256::digest(id.expose().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The two-character session bucket of a user: 12 bits of an FNV-1a hash of the user id,
/// in URL-safe base64.
pub fn session_bucket(user: UserId) -> [u8; 2] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in user.as_uuid().as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let bits = (h >> 52) as usize;
    [B64[(bits >> 6) & 63], B64[bits & 63]]
}

/// Key names of one deployment (one prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under a prefix (see [`RedisConfig::check`](crate::RedisConfig::check) for its rules).
    pub fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned() }
    }

    /// The tagged base `{<prefix>:<kind>:<id>}`.
    fn tagged(&self, kind: &str, id: &str) -> String {
        format!("{{{}:{kind}:{id}}}", self.prefix)
    }

    /// The hash of one session: `{p:session:<bucket>}:id:<digest>`, where the bucket is the
    /// id's first two characters and the digest [`session_digest`] of the whole id, so the key
    /// (what `KEYS`, `SCAN`, `MONITOR`, `SLOWLOG` and a dump show) never holds the token.
    pub fn session(&self, id: &SessionId) -> String {
        let token = id.expose();
        let bucket = token.get(..2).unwrap_or(token);
        self.session_of_digest(bucket, &session_digest(id))
    }

    /// The hash of the session of a bucket (two characters `[A-Za-z0-9_-]`) with a digest
    /// (64 lowercase hex digits), as listed in the bucket's index.
    pub fn session_of_digest(&self, bucket: &str, digest: &str) -> String {
        format!("{}:id:{}", self.tagged("session", &escape(bucket)), escape(digest))
    }

    /// The index of a session bucket: members `<user id>|<session digest>`, scored by expiry.
    pub fn session_index_of_id(&self, id: &SessionId) -> String {
        let id = id.expose();
        let bucket = id.get(..2).unwrap_or(id);
        format!("{}:index", self.tagged("session", &escape(bucket)))
    }

    /// The bucket of a user's sessions, as the two characters of their ids and keys.
    pub fn session_bucket_of_user(user: UserId) -> String {
        String::from_utf8_lossy(&session_bucket(user)).into_owned()
    }

    /// The index of the bucket a user's sessions live in.
    pub fn session_index_of_user(&self, user: UserId) -> String {
        let bucket = session_bucket(user);
        let bucket = std::str::from_utf8(&bucket).unwrap_or("AA");
        format!("{}:index", self.tagged("session", bucket))
    }

    /// A cached value: `{<prefix>:cache:<namespace>:<id>}`, both parts escaped.
    pub fn cache(&self, key: &CacheKey) -> String {
        self.tagged("cache", &format!("{}:{}", escape(key.namespace()), escape(key.id())))
    }

    /// The load lock of a cached value (same slot as the value).
    pub fn cache_lock(&self, key: &CacheKey) -> String {
        format!("{}:lock", self.cache(key))
    }

    /// The generation of a cached value (same slot as the value): advanced by every delete.
    pub fn cache_generation(&self, key: &CacheKey) -> String {
        format!("{}:gen", self.cache(key))
    }

    /// A rate limiter's state.
    pub fn rate(&self, subject: &str) -> String {
        self.tagged("rate", &escape(subject))
    }

    /// A temporary value: `{<prefix>:temp:<key>}`, the key escaped.
    pub fn temp(&self, key: &str) -> String {
        self.tagged("temp", &escape(key))
    }

    /// The keys of one queue: `{<prefix>:queue:<name>}` and its parts, all in one slot.
    pub fn queue(&self, name: &QueueName) -> QueueKeys {
        QueueKeys { base: self.tagged("queue", &escape(name.as_str())) }
    }
}

/// The keys of one queue, all in the queue's slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueKeys {
    base: String,
}

impl QueueKeys {
    /// Ready jobs: zset of job ids scored by `(9 - priority) * 10^15 + sequence`.
    pub fn ready(&self) -> String {
        format!("{}:ready", self.base)
    }

    /// Delayed jobs: zset scored by due time (µs since the epoch).
    pub fn delayed(&self) -> String {
        format!("{}:delayed", self.base)
    }

    /// Reserved jobs: zset scored by lease expiry (µs).
    pub fn inflight(&self) -> String {
        format!("{}:inflight", self.base)
    }

    /// Dead letters: zset of job ids scored by death time (µs).
    pub fn dead(&self) -> String {
        format!("{}:dead", self.base)
    }

    /// Job data: one hash for the queue, fields `<job id>:<field>` (`p` payload, `s` ready
    /// score, `a` attempts, `t` enqueue time, `i` fixed fields, `m`/`b`/`x` retry policy,
    /// `e` last error, `k` lease token and `w` worker while in flight). Scripts then name every
    /// key they touch in KEYS, whichever job they pick.
    pub fn jobs(&self) -> String {
        format!("{}:jobs", self.base)
    }

    /// The enqueue sequence counter, the tie-breaker of the ready score (`<base>:seq`).
    pub fn seq(&self) -> String {
        format!("{}:seq", self.base)
    }

    /// An idempotency key's record (the job id), kept 24 hours.
    pub fn idempotency(&self, key: &str) -> String {
        format!("{}:idem:{}", self.base, escape(key))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn hostile() -> Vec<String> {
        let mut v: Vec<String> = [
            "a", "a:b", "a%3Ab", "a%b", "{a}", "a}", "{", "}", "}{", "a b", "a\nb", "a\tb", "*", "?", "[x]", "\\", "%",
            "%25", "é", "%C3%A9", "😀", "a\u{0}b", "a\u{7f}", "x:lock", "x}:lock", "user:1", "user%3A1",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.push("k".repeat(1024));
        v
    }

    #[test]
    fn escaping_is_one_to_one_and_leaves_no_special_byte() {
        let inputs = hostile();
        let escaped: HashSet<String> = inputs.iter().map(|s| escape(s)).collect();
        assert_eq!(escaped.len(), inputs.len(), "distinct inputs give distinct escapes");
        for e in &escaped {
            assert!(e.bytes().all(|b| b.is_ascii_graphic() && !b"{}:*?[]\\".contains(&b)), "{e}");
        }
        assert_eq!(escape("user-42_x.y"), "user-42_x.y", "plain keys stay readable");
        assert_eq!(escape("a:{b}"), "a%3A%7Bb%7D");
    }

    #[test]
    fn every_key_has_its_intended_tag() {
        let keys = Keys::new("cn");
        for input in hostile() {
            let t = keys.temp(&input);
            assert_eq!(hash_tag(&t), format!("cn:temp:{}", escape(&input)), "{t}");
            let r = keys.rate(&input);
            assert_eq!(hash_tag(&r), format!("cn:rate:{}", escape(&input)));
            let ck = CacheKey::new("api", input.clone()).expect("valid key");
            let (value, lock) = (keys.cache(&ck), keys.cache_lock(&ck));
            assert_eq!(hash_tag(&value), format!("cn:cache:api:{}", escape(&input)));
            assert_eq!(hash_tag(&value), hash_tag(&lock), "value and lock share a slot");
        }
    }

    #[test]
    fn distinct_inputs_give_distinct_keys_across_kinds() {
        let keys = Keys::new("cn");
        let mut all = HashSet::new();
        let mut count = 0;
        for input in hostile() {
            let ck = CacheKey::new("user", input.clone()).expect("valid key");
            for k in [keys.temp(&input), keys.rate(&input), keys.cache(&ck), keys.cache_lock(&ck)] {
                all.insert(k);
                count += 1;
            }
        }
        assert_eq!(all.len(), count);
    }

    #[test]
    fn queue_keys_share_the_queue_tag() {
        let keys = Keys::new("cn").queue(&QueueName::new("mail.send-1").expect("valid"));
        let all = [
            keys.ready(),
            keys.delayed(),
            keys.inflight(),
            keys.dead(),
            keys.jobs(),
            keys.seq(),
            keys.idempotency("a}{b:c"),
        ];
        for k in &all {
            assert_eq!(hash_tag(k), "cn:queue:mail.send-1", "{k}");
        }
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len());
    }

    #[test]
    fn a_users_sessions_share_the_bucket_of_their_index() {
        let keys = Keys::new("cn");
        let user = UserId::new();
        let bucket = session_bucket(user);
        let raw = SessionId::generate();
        let id = SessionId::parse(&format!(
            "{}{}",
            std::str::from_utf8(&bucket).expect("ascii"),
            raw.expose().get(2..).expect("43 chars")
        ))
        .expect("valid id");
        let session = keys.session(&id);
        assert_eq!(hash_tag(&session), hash_tag(&keys.session_index_of_user(user)));
        assert_eq!(keys.session_index_of_id(&id), keys.session_index_of_user(user));
        assert!(hash_tag(&session).starts_with("cn:session:"));
    }

    #[test]
    fn hash_tag_follows_redis_rules() {
        assert_eq!(hash_tag("{a}b"), "a");
        assert_eq!(hash_tag("x{}y"), "x{}y");
        assert_eq!(hash_tag("x{a}{b}"), "a");
        assert_eq!(hash_tag("plain"), "plain");
    }
}
