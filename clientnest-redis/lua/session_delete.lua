-- End one session and drop it from its bucket's index.
-- KEYS[1]: the session hash {p:session:<bucket>}:id:<SHA-256 of the session id>
-- KEYS[2]: the bucket's index {p:session:<bucket>}:index
-- ARGV[1]: the session digest (SHA-256 of the id, hex)
-- Returns: 1 when the session existed, else 0.
local user = redis.call('HGET', KEYS[1], 'u')
if not user then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], user .. '|' .. ARGV[1])
return 1
