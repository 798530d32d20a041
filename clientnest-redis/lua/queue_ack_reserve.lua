-- Acknowledge a finished job, if the lease still holds it, then reserve the next ready job as
-- queue_reserve.lua does: a worker's loop in one call. When the lease is lost nothing changes
-- and nothing is reserved. Runs after queue_lib.lua.
-- KEYS[1]: ready jobs {p:queue:<name>}:ready
-- KEYS[2]: delayed jobs {p:queue:<name>}:delayed
-- KEYS[3]: in-flight jobs {p:queue:<name>}:inflight
-- KEYS[4]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the visibility timeout in µs
-- ARGV[2]: the new lease's token
-- ARGV[3]: the most expired leases, and the most due delayed jobs, to move in this call
-- ARGV[4]: the finished job's id
-- ARGV[5]: the finished job's lease token
-- Returns: 0 when the lease is lost; else as queue_reserve.lua: false when no job is ready, or
--   {job id, job data, attempt, last error or nil, lease expiry µs}.
local done = ARGV[4]
if redis.call('ZREM', KEYS[3], done .. '|' .. ARGV[5]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[4], done .. ':d', done .. ':a', done .. ':e')
local now = now_us()
requeue_expired(KEYS[1], KEYS[3], KEYS[4], now, ARGV[3])
promote_due(KEYS[1], KEYS[2], KEYS[4], now, ARGV[3])
return take_next(KEYS[1], KEYS[3], KEYS[4], now + ARGV[1], ARGV[2])
