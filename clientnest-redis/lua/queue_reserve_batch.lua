-- Reserve up to ARGV[6] ready jobs for a worker in one call, each under a lease of its own: the
-- jobs as many calls of queue_reserve.lua would take, in the same order, after the same
-- housekeeping (expired leases and due delayed jobs back to ready, old dead letters deleted, at
-- most ARGV[4] of each), done once.
-- KEYS[1]: ready jobs {p:queue:<name>}:ready
-- KEYS[2]: delayed jobs {p:queue:<name>}:delayed
-- KEYS[3]: in-flight jobs {p:queue:<name>}:inflight (zset: job id by lease expiry in µs)
-- KEYS[4]: job data {p:queue:<name>}:jobs
-- KEYS[5]: dead jobs {p:queue:<name>}:dead
-- ARGV[1]: the visibility timeout in µs
-- ARGV[2]: the leases' token prefix: job i (from 1) gets the token ARGV[2] .. '.' .. i
-- ARGV[3]: the worker id
-- ARGV[4]: the most expired leases, and the most due delayed jobs, to move in this call
-- ARGV[5]: the dead-letter retention age in µs
-- ARGV[6]: the most jobs to reserve (1 to 1000)
-- Returns: {lease expiry µs, then for each job: job id, job data ("<id>:d", see
--   queue_enqueue.lua), attempt, last error or nil}; {lease expiry µs} alone when no job is ready.
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
local expires = int(now + tonumber(ARGV[1]))
local out = {expires}
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[6]))
if #popped == 0 then
  return out
end
local leased = {}
local fields = {}
for i = 1, #popped, 2 do
  local id = popped[i]
  leased[#leased + 1] = expires
  leased[#leased + 1] = id
  fields[#fields + 1] = id .. ':d'
  fields[#fields + 1] = id .. ':a'
  fields[#fields + 1] = id .. ':e'
end
redis.call('ZADD', KEYS[3], unpack(leased))
local data = redis.call('HMGET', jobs, unpack(fields))
local writes = {}
for j = 1, #popped / 2 do
  local id = popped[2 * j - 1]
  local attempt = (tonumber(data[3 * j - 1]) or 0) + 1
  local n = #writes
  writes[n + 1], writes[n + 2] = id .. ':a', attempt
  writes[n + 3], writes[n + 4] = id .. ':k', ARGV[2] .. '.' .. j .. '|' .. ARGV[3]
  n = #out
  out[n + 1], out[n + 2], out[n + 3], out[n + 4] = id, data[3 * j - 2], tostring(attempt), data[3 * j]
end
redis.call('HSET', jobs, unpack(writes))
return out
