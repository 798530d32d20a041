-- Enqueue a job, ready now or delayed; with an idempotency key, a second enqueue while the key
-- is remembered returns the first job's id instead.
-- KEYS[1]: ready jobs {p:queue:<name>}:ready (zset: job id by (9 - priority) * 10^15 + sequence)
-- KEYS[2]: delayed jobs {p:queue:<name>}:delayed (zset: job id by due time in µs)
-- KEYS[3]: job data {p:queue:<name>}:jobs (hash: "<job id>:<field>")
-- KEYS[4]: the sequence counter {p:queue:<name>}:seq
-- KEYS[5]: optional, the idempotency key {p:queue:<name>}:idem:<key>
-- ARGV[1]: the new job's id
-- ARGV[2]: the payload (bytes)
-- ARGV[3]: the priority, 0 to 9
-- ARGV[4]: the delay in µs (0: ready now)
-- ARGV[5]: the job's fixed fields as the client encodes them (priority and retry policy)
-- ARGV[6]: the retry policy's max attempts
-- ARGV[7]: the retry policy's base delay in ms
-- ARGV[8]: the retry policy's max delay in µs
-- ARGV[9]: how long the idempotency key is remembered, in ms
-- Returns: {job id, 1 when an earlier job holds the idempotency key else 0}.
if KEYS[5] then
  local known = redis.call('GET', KEYS[5])
  if known then
    return {known, 1}
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%.0f', x) end
local id = ARGV[1]
local seq = redis.call('INCR', KEYS[4])
local score = (9 - tonumber(ARGV[3])) * 1000000000000000 + seq
redis.call('HSET', KEYS[3],
  id .. ':p', ARGV[2],
  id .. ':s', int(score),
  id .. ':a', 0,
  id .. ':t', int(now),
  id .. ':i', ARGV[5],
  id .. ':m', ARGV[6],
  id .. ':b', ARGV[7],
  id .. ':x', ARGV[8])
local delay = tonumber(ARGV[4])
if delay > 0 then
  redis.call('ZADD', KEYS[2], int(now + delay), id)
else
  redis.call('ZADD', KEYS[1], int(score), id)
end
if KEYS[5] then
  redis.call('SET', KEYS[5], id, 'PX', ARGV[9])
end
return {id, 0}
