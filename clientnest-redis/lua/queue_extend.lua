-- Extend a lease (heartbeat) to now + visibility, if it still holds the job ("<id>:k" is
-- "<token>|<worker>" exactly while the job is in flight).
-- KEYS[1]: in-flight jobs {p:queue:<name>}:inflight
-- KEYS[2]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the job id
-- ARGV[2]: the lease's token
-- ARGV[3]: the visibility timeout in µs
-- Returns: {0, nil} when the lease is lost, else {1, new lease expiry µs}.
local id = ARGV[1]
local lease = redis.call('HGET', KEYS[2], id .. ':k')
if not lease or string.sub(lease, 1, #ARGV[2] + 1) ~= ARGV[2] .. '|' then
  return {0, false}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local expires = string.format('%.0f', now + tonumber(ARGV[3]))
redis.call('ZADD', KEYS[1], expires, id)
return {1, expires}
