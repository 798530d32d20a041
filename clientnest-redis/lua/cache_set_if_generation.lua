-- Store a cached value only if its generation is still the one the loader read.
-- KEYS[1]: the value {p:cache:<namespace>:<id>}
-- KEYS[2]: its generation {p:cache:<namespace>:<id>}:gen (absent means 0)
-- ARGV[1]: the value's bytes
-- ARGV[2]: its TTL in milliseconds
-- ARGV[3]: the generation read before loading, in decimal
-- Returns: 1 when stored, 0 when the generation moved (a delete came in between).
local current = redis.call('GET', KEYS[2]) or '0'
if current ~= ARGV[3] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
