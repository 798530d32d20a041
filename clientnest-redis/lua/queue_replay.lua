-- Move a dead job back to ready with its attempts reset (its last error is kept). A dead letter
-- past the retention age is gone: not replayed.
-- KEYS[1]: dead jobs {p:queue:<name>}:dead
-- KEYS[2]: ready jobs {p:queue:<name>}:ready
-- KEYS[3]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the job id
-- ARGV[2]: the dead-letter retention age in µs
-- Returns: 1 when replayed, 0 when no such dead job.
local id = ARGV[1]
local died = redis.call('ZSCORE', KEYS[1], id)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if not died or tonumber(died) <= now - tonumber(ARGV[2]) then
  return 0
end
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', KEYS[3], id .. ':a')
local data = redis.call('HGET', KEYS[3], id .. ':d')
redis.call('ZADD', KEYS[2], string.match(data, '^(%d+)|'), id)
return 1
