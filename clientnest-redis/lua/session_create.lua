-- Create a session unless its id is taken, and enter it in its bucket's index.
-- KEYS[1]: the session hash {p:session:<bucket>}:id:<SHA-256 of the session id>
-- KEYS[2]: the bucket's index {p:session:<bucket>}:index (zset: "<user>|<session digest>" by expiry in µs)
-- ARGV[1]: lifetime in µs
-- ARGV[2]: the user id
-- ARGV[3]: the permissions, joined by NUL
-- ARGV[4]: the index member "<user>|<session digest>"
-- Returns: the creation time in µs (server TIME), or 0 when the id is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local expires = now + tonumber(ARGV[1])
local function int(x) return string.format('%.0f', x) end
-- The key lives while the current millisecond starts before the expiry: never dies early.
local expire_ms = math.ceil(expires / 1000) - 1
redis.call('HSET', KEYS[1], 'u', ARGV[2], 'p', ARGV[3], 'c', int(now), 'e', int(expires), 'l', int(now))
redis.call('PEXPIREAT', KEYS[1], int(expire_ms))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(now))
redis.call('ZADD', KEYS[2], int(expires), ARGV[4])
-- The index lives as long as its longest-lived session.
local index_expiry = redis.call('PEXPIRETIME', KEYS[2])
if index_expiry < expire_ms then
  redis.call('PEXPIREAT', KEYS[2], int(expire_ms))
end
return now
