-- Move a dead job back to ready with its attempts reset (its last error is kept).
-- KEYS[1]: dead jobs {p:queue:<name>}:dead
-- KEYS[2]: ready jobs {p:queue:<name>}:ready
-- KEYS[3]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the job id
-- Returns: 1 when replayed, 0 when no such dead job.
local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[1], id) then
  return 0
end
redis.call('ZREM', KEYS[1], id)
redis.call('HSET', KEYS[3], id .. ':a', 0)
redis.call('ZADD', KEYS[2], redis.call('HGET', KEYS[3], id .. ':s'), id)
return 1
