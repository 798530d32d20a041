-- Enqueue a job, ready now or delayed; with an idempotency key, a second enqueue while the key
-- is remembered returns the first job's id instead. A job is at most three fields of the job
-- data hash: "<id>:d" (written here, never changed), "<id>:a" (the attempts it has ended
-- without an ack, absent before the first) and "<id>:e" (the last error). Numbers go to Redis
-- as Lua numbers, which it writes with 17 significant digits: exact below 2^53.
-- KEYS[1]: ready jobs {p:queue:<name>}:ready (zset: job id by (9 - priority) * 10^15 + sequence)
-- KEYS[2]: delayed jobs {p:queue:<name>}:delayed (zset: job id by due time in µs)
-- KEYS[3]: job data {p:queue:<name>}:jobs (hash: "<job id>:<field>")
-- KEYS[4]: the sequence counter {p:queue:<name>}:seq
-- KEYS[5]: optional, the idempotency key {p:queue:<name>}:idem:<key>
-- ARGV[1]: the new job's id
-- ARGV[2]: the payload (bytes)
-- ARGV[3]: the priority, 0 to 9
-- ARGV[4]: the delay in µs (0: ready now)
-- ARGV[5]: the enqueue time (µs, the client's clock) and the job's fixed fields as the client
--   encodes them: "<enqueued µs>|priority|max attempts|base delay s|base delay ns|max delay
--   s|max delay ns", the retry policy stored once, read by queue_fail.lua
-- ARGV[6]: how long the idempotency key is remembered, in ms
-- Stores "<id>:d" = "<ready score>|<enqueued µs>|<fixed fields>|<payload>". A delayed job is
-- due at the server's time plus the delay.
-- Returns: {job id, 1 when an earlier job holds the idempotency key else 0}.
if KEYS[5] then
  local known = redis.call('GET', KEYS[5])
  if known then
    return {known, 1}
  end
end
local id = ARGV[1]
local score = (9 - ARGV[3]) * 1000000000000000 + redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[3], id .. ':d', string.format('%d|', score) .. ARGV[5] .. '|' .. ARGV[2])
local delay = tonumber(ARGV[4])
if delay > 0 then
  local t = redis.call('TIME')
  redis.call('ZADD', KEYS[2], t[1] * 1000000 + t[2] + delay, id)
else
  redis.call('ZADD', KEYS[1], score, id)
end
if KEYS[5] then
  redis.call('SET', KEYS[5], id, 'PX', ARGV[6])
end
return {id, 0}
