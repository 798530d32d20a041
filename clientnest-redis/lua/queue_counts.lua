-- Count a queue's jobs per state; delayed jobs already due count as ready, dead letters past the
-- retention age do not count.
-- KEYS[1]: ready jobs {p:queue:<name>}:ready
-- KEYS[2]: delayed jobs {p:queue:<name>}:delayed
-- KEYS[3]: in-flight jobs {p:queue:<name>}:inflight
-- KEYS[4]: dead jobs {p:queue:<name>}:dead
-- ARGV[1]: the dead-letter retention age in µs
-- Returns: {ready, delayed, in-flight, dead}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local due = redis.call('ZCOUNT', KEYS[2], '-inf', string.format('%.0f', now))
return {
  redis.call('ZCARD', KEYS[1]) + due,
  redis.call('ZCARD', KEYS[2]) - due,
  redis.call('ZCARD', KEYS[3]),
  redis.call('ZCOUNT', KEYS[4], '(' .. string.format('%.0f', now - tonumber(ARGV[1])), '+inf'),
}
