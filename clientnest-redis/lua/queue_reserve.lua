-- Reserve the next ready job for a worker. First makes ready again the jobs whose lease expired
-- (they keep their attempts and their place) and the delayed jobs now due, so a job is never
-- lost whatever worker dies: it is in exactly one of ready, delayed, in-flight or dead.
-- KEYS[1]: ready jobs {p:queue:<name>}:ready
-- KEYS[2]: delayed jobs {p:queue:<name>}:delayed
-- KEYS[3]: in-flight jobs {p:queue:<name>}:inflight (zset: job id by lease expiry in µs)
-- KEYS[4]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the visibility timeout in µs
-- ARGV[2]: the new lease's token
-- ARGV[3]: the worker id
-- Returns: nil when no job is ready, else
--   {job id, payload, attempt, enqueued µs, fixed fields, last error or nil, lease expiry µs}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%.0f', x) end
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', int(now))
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id .. ':k', id .. ':w')
  redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[4], id .. ':s'), id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(now))
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
