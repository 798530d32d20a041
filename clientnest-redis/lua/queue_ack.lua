-- Acknowledge a finished job: forget it, if the lease still holds it. "<id>:k" exists exactly
-- while the job is in flight (every script that takes a job out of in-flight deletes it), so
-- the token check alone proves the job is in flight under this lease.
-- KEYS[1]: in-flight jobs {p:queue:<name>}:inflight
-- KEYS[2]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the job id
-- ARGV[2]: the lease's token
-- Returns: 1 when acknowledged, 0 when the lease is lost.
local id = ARGV[1]
local lease = redis.call('HGET', KEYS[2], id .. ':k')
if not lease or string.sub(lease, 1, #ARGV[2] + 1) ~= ARGV[2] .. '|' then
  return 0
end
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', KEYS[2], id .. ':d', id .. ':a', id .. ':k', id .. ':e')
return 1
