-- Report a failed attempt, if the lease still holds the job: retry it after
-- delay = min(base * 2^(attempt - 1), max) jittered uniformly in [delay / 2, delay], or, after
-- its last attempt, move it to the dead letters. The error is kept either way. When a job dies,
-- the dead letters past the retention age and the oldest beyond the retention count are deleted
-- (at most ARGV[7] of each).
-- KEYS[1]: in-flight jobs {p:queue:<name>}:inflight
-- KEYS[2]: ready jobs {p:queue:<name>}:ready
-- KEYS[3]: delayed jobs {p:queue:<name>}:delayed
-- KEYS[4]: dead jobs {p:queue:<name>}:dead (zset: job id by death time in µs)
-- KEYS[5]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the job id
-- ARGV[2]: the lease's token
-- ARGV[3]: the error message (already clipped)
-- ARGV[4]: a random integer in [0, 2^32) choosing the jitter
-- ARGV[5]: the dead-letter retention age in µs
-- ARGV[6]: the dead-letter retention count
-- ARGV[7]: the most dead letters to delete per rule in this call
-- Returns: {0, nil} when the lease is lost, {1, ready-again µs} when retrying, {2, death µs} when dead.
local id = ARGV[1]
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
if redis.call('HGET', KEYS[5], id .. ':k') ~= ARGV[2] or not redis.call('ZSCORE', KEYS[1], id) then
  return {0, false}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%.0f', x) end
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', KEYS[5], id .. ':k', id .. ':w')
redis.call('HSET', KEYS[5], id .. ':e', ARGV[3])
local fields = redis.call('HMGET', KEYS[5], id .. ':a', id .. ':m', id .. ':b', id .. ':x', id .. ':s')
local attempt = tonumber(fields[1])
if attempt >= tonumber(fields[2]) then
  redis.call('ZADD', KEYS[4], int(now), id)
  local batch = tonumber(ARGV[7])
  trim_old_dead(KEYS[4], KEYS[5], now - tonumber(ARGV[5]), batch)
  local excess = math.min(redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[6]), batch)
  if excess > 0 then
    for _, old in ipairs(redis.call('ZRANGE', KEYS[4], 0, excess - 1)) do
      redis.call('ZREM', KEYS[4], old)
      forget(KEYS[5], old)
    end
  end
  return {2, int(now)}
end
local exponent = math.min(math.max(attempt - 1, 0), 30)
local full = math.min(tonumber(fields[3]) * (2 ^ exponent) * 1000, tonumber(fields[4]))
local low = math.floor(full / 2)
local jitter = math.min(low + math.floor((full - low + 1) * tonumber(ARGV[4]) / 4294967296), full)
if jitter <= 0 then
  redis.call('ZADD', KEYS[2], fields[5], id)
  return {1, int(now)}
end
redis.call('ZADD', KEYS[3], int(now + jitter), id)
return {1, int(now + jitter)}
