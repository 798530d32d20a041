-- Make ready again the jobs whose lease expired; they keep their attempts and their place.
-- KEYS[1]: in-flight jobs {p:queue:<name>}:inflight
-- KEYS[2]: ready jobs {p:queue:<name>}:ready
-- KEYS[3]: job data {p:queue:<name>}:jobs
-- Returns: how many jobs were requeued.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[3], id .. ':k', id .. ':w')
  redis.call('ZADD', KEYS[2], redis.call('HGET', KEYS[3], id .. ':s'), id)
end
return #expired
