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
-- Stores the lease as "<id>:k" = "<token>|<worker>" and the attempt count as "<id>:a".
-- Returns: nil when no job is ready, else
--   {job id, job data ("<id>:d", see queue_enqueue.lua), attempt, last error or nil, lease expiry µs}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%.0f', x) end
local jobs = KEYS[4]
-- The ready score of a job, from its data.
local function score(id)
  return string.match(redis.call('HGET', jobs, id .. ':d'), '^(%d+)|')
end
local batch = tonumber(ARGV[4])
local old = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', int(now - tonumber(ARGV[5])), 'LIMIT', 0, batch)
for _, id in ipairs(old) do
  redis.call('ZREM', KEYS[5], id)
  redis.call('HDEL', jobs, id .. ':d', id .. ':a', id .. ':k', id .. ':e')
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', int(now), 'LIMIT', 0, batch)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', jobs, id .. ':k')
  redis.call('ZADD', KEYS[1], score(id), id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(now), 'LIMIT', 0, batch)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], score(id), id)
end
local first = redis.call('ZPOPMIN', KEYS[1])
if #first == 0 then
  return false
end
local id = first[1]
local expires = int(now + tonumber(ARGV[1]))
redis.call('ZADD', KEYS[3], expires, id)
local data = redis.call('HMGET', jobs, id .. ':d', id .. ':a', id .. ':e')
local attempt = (tonumber(data[2]) or 0) + 1
redis.call('HSET', jobs, id .. ':a', attempt, id .. ':k', ARGV[2] .. '|' .. ARGV[3])
return {id, data[1], attempt, data[3], expires}
