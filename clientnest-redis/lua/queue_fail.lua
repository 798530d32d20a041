-- Report a failed attempt, if the lease still holds the job: retry it after
-- delay = min(base * 2^(attempt - 1), max) jittered uniformly in [delay / 2, delay], or, after
-- its last attempt, move it to the dead letters. The error and the attempt count are kept
-- either way. When a job dies, the dead letters past the retention age and the oldest beyond
-- the retention count are deleted (at most ARGV[7] of each). The retry policy is read from the
-- job's data ("<id>:d", see queue_enqueue.lua). Runs after queue_lib.lua.
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
local jobs = KEYS[5]
if redis.call('ZREM', KEYS[1], id .. '|' .. ARGV[2]) == 0 then
  return {0, false}
end
local now = now_us()
local fields = redis.call('HMGET', jobs, id .. ':a', id .. ':d')
local attempt = (tonumber(fields[1]) or 0) + 1
redis.call('HSET', jobs, id .. ':a', attempt, id .. ':e', ARGV[3])
local score, max_attempts, base_s, base_ns, max_s, max_ns =
  string.match(fields[2], '^(%d+)|%d+|%d+|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|')
if attempt >= tonumber(max_attempts) then
  redis.call('ZADD', KEYS[4], now, id)
  local batch = tonumber(ARGV[7])
  forget_dead(KEYS[4], jobs, now - ARGV[5], batch)
  local excess = math.min(redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[6]), batch)
  if excess > 0 then
    for _, dead in ipairs(redis.call('ZRANGE', KEYS[4], 0, excess - 1)) do
      forget_dead_job(KEYS[4], jobs, dead)
    end
  end
  return {2, now}
end
-- The policy's delays as the client's chrono gives them: base in whole ms, max in whole µs.
local base_ms = tonumber(base_s) * 1000 + math.floor(tonumber(base_ns) / 1000000)
local max_us = tonumber(max_s) * 1000000 + math.floor(tonumber(max_ns) / 1000)
local exponent = math.min(math.max(attempt - 1, 0), 30)
local full = math.min(base_ms * (2 ^ exponent) * 1000, max_us)
local low = math.floor(full / 2)
local jitter = math.min(low + math.floor((full - low + 1) * tonumber(ARGV[4]) / 4294967296), full)
if jitter <= 0 then
  redis.call('ZADD', KEYS[2], score, id)
  return {1, now}
end
redis.call('ZADD', KEYS[3], now + jitter, id)
return {1, now + jitter}
