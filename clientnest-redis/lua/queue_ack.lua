-- Acknowledge a finished job: forget it, if the lease still holds it. The in-flight member
-- "<id>|<token>" exists exactly while the job is in flight under that lease, so removing it is
-- the lease check.
-- KEYS[1]: in-flight jobs {p:queue:<name>}:inflight
-- KEYS[2]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the job id
-- ARGV[2]: the lease's token
-- Returns: 1 when acknowledged, 0 when the lease is lost.
local id = ARGV[1]
if redis.call('ZREM', KEYS[1], id .. '|' .. ARGV[2]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], id .. ':d', id .. ':a', id .. ':e')
return 1
