-- Reserve the next ready job for a worker. First makes ready again the jobs whose lease expired
-- (they keep their attempts and their place) and the delayed jobs now due, so a job is never
-- lost whatever worker dies: it is in exactly one of ready, delayed, in-flight or dead. Moves at
-- most ARGV[4] of each per call (earliest first), so a mass expiry never blocks the server: the
-- rest move on the next calls. Also deletes up to ARGV[4] dead letters past the retention age.
-- KEYS[1]: ready jobs {p:queue:<name>}:ready
-- KEYS[2]: delayed jobs {p:queue:<name>}:delayed
-- KEYS[3]: in-flight jobs {p:queue:<name>}:inflight (zset: job id by lease expiry in µs)
-- KEYS[4]: job data {p:queue:<name>}:jobs
-- KEYS[5]: dead jobs {p:queue:<name>}:dead
-- ARGV[1]: the visibility timeout in µs
-- ARGV[2]: the new lease's token
-- ARGV[3]: the worker id
-- ARGV[4]: the most expired leases, and the most due delayed jobs, to move in this call
-- ARGV[5]: the dead-letter retention age in µs
-- Returns: nil when no job is ready, else
--   {job id, payload, attempt, enqueued µs, fixed fields, last error or nil, lease expiry µs}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%.0f', x) end
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
local batch = tonumber(ARGV[4])
trim_old_dead(KEYS[5], KEYS[4], now - tonumber(ARGV[5]), batch)
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', int(now), 'LIMIT', 0, batch)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id .. ':k', id .. ':w')
  redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[4], id .. ':s'), id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(now), 'LIMIT', 0, batch)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[4], id .. ':s'), id)
end
local first = redis.call('ZPOPMIN', KEYS[1])
if #first == 0 then
  return false
end
local id = first[1]
local expires = now + tonumber(ARGV[1])
redis.call('ZADD', KEYS[3], int(expires), id)
redis.call('HSET', KEYS[4], id .. ':k', ARGV[2], id .. ':w', ARGV[3])
local attempt = redis.call('HINCRBY', KEYS[4], id .. ':a', 1)
local data = redis.call('HMGET', KEYS[4], id .. ':p', id .. ':t', id .. ':i', id .. ':e')
return {id, data[1], attempt, data[2], data[3], data[4], int(expires)}
