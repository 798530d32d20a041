-- Acknowledge a finished job: forget it, if the lease still holds it.
-- KEYS[1]: in-flight jobs {p:queue:<name>}:inflight
-- KEYS[2]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the job id
-- ARGV[2]: the lease's token
-- Returns: 1 when acknowledged, 0 when the lease is lost.
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id .. ':k') ~= ARGV[2] or not redis.call('ZSCORE', KEYS[1], id) then
  return 0
end
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', KEYS[2], id .. ':p', id .. ':s', id .. ':a', id .. ':t', id .. ':i', id .. ':m',
  id .. ':b', id .. ':x', id .. ':k', id .. ':w', id .. ':e')
return 1
