-- Make ready again the jobs whose lease expired; they keep their attempts and their place. Moves
-- at most ARGV[1] per call (earliest expiry first), so a mass expiry never blocks the server.
-- Also deletes up to ARGV[1] dead letters past the retention age.
-- KEYS[1]: in-flight jobs {p:queue:<name>}:inflight
-- KEYS[2]: ready jobs {p:queue:<name>}:ready
-- KEYS[3]: job data {p:queue:<name>}:jobs
-- KEYS[4]: dead jobs {p:queue:<name>}:dead
-- ARGV[1]: the most jobs to requeue in this call
-- ARGV[2]: the dead-letter retention age in µs
-- Returns: how many jobs were requeued.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%.0f', x) end
local jobs = KEYS[3]
local batch = tonumber(ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', int(now - tonumber(ARGV[2])), 'LIMIT', 0, batch)
for _, id in ipairs(old) do
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', jobs, id .. ':d', id .. ':a', id .. ':k', id .. ':e')
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', int(now), 'LIMIT', 0, batch)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', jobs, id .. ':k')
  redis.call('ZADD', KEYS[2], string.match(redis.call('HGET', jobs, id .. ':d'), '^(%d+)|'), id)
end
return #expired
