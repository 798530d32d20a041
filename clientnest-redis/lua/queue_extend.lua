-- Extend a lease (heartbeat) to now + visibility, if it still holds the job (the in-flight
-- member "<id>|<token>" exists exactly while it does).
-- KEYS[1]: in-flight jobs {p:queue:<name>}:inflight
-- ARGV[1]: the job id
-- ARGV[2]: the lease's token
-- ARGV[3]: the visibility timeout in µs
-- Returns: {0, nil} when the lease is lost, else {1, new lease expiry µs}.
local member = ARGV[1] .. '|' .. ARGV[2]
if not redis.call('ZSCORE', KEYS[1], member) then
  return {0, false}
end
local t = redis.call('TIME')
local expires = t[1] * 1000000 + t[2] + ARGV[3]
redis.call('ZADD', KEYS[1], expires, member)
return {1, expires}
