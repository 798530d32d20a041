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
local function forget(jobs, id)
  redis.call('HDEL', jobs, id .. ':p', id .. ':s', id .. ':a', id .. ':t', id .. ':i', id .. ':m', id .. ':b',
    id .. ':x', id .. ':e', id .. ':k', id .. ':w')
end
-- Delete at most `batch` dead letters that died at or before `cutoff` µs.
local function trim_old_dead(dead, jobs, cutoff, batch)
  local old = redis.call('ZRANGEBYSCORE', dead, '-inf', string.format('%.0f', cutoff), 'LIMIT', 0, batch)
  for _, id in ipairs(old) do
    redis.call('ZREM', dead, id)
    forget(jobs, id)
  end
end
trim_old_dead(KEYS[4], KEYS[3], now - tonumber(ARGV[2]), tonumber(ARGV[1]))
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now), 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[3], id .. ':k', id .. ':w')
  redis.call('ZADD', KEYS[2], redis.call('HGET', KEYS[3], id .. ':s'), id)
end
return #expired
