-- Record activity on a live session and push its expiry to now + lifetime (sliding expiry).
-- KEYS[1]: the session hash {p:session:<bucket>}:id:<SHA-256 of the session id>
-- KEYS[2]: the bucket's index {p:session:<bucket>}:index
-- ARGV[1]: the new lifetime in µs
-- ARGV[2]: the session digest (SHA-256 of the id, hex; the id itself never reaches Redis)
-- Returns: {user, permissions, created µs, expires µs, last activity µs}, or nil when gone.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local expires = now + tonumber(ARGV[1])
local function int(x) return string.format('%.0f', x) end
local expire_ms = math.ceil(expires / 1000) - 1
redis.call('HSET', KEYS[1], 'e', int(expires), 'l', int(now))
redis.call('PEXPIREAT', KEYS[1], int(expire_ms))
local user = redis.call('HGET', KEYS[1], 'u')
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(now))
redis.call('ZADD', KEYS[2], int(expires), user .. '|' .. ARGV[2])
local index_expiry = redis.call('PEXPIRETIME', KEYS[2])
if index_expiry < expire_ms then
  redis.call('PEXPIREAT', KEYS[2], int(expire_ms))
end
return redis.call('HMGET', KEYS[1], 'u', 'p', 'c', 'e', 'l')
