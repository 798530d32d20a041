-- List dead letters, oldest first; those past the retention age are gone (not listed).
-- KEYS[1]: dead jobs {p:queue:<name>}:dead
-- KEYS[2]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the most to list
-- ARGV[2]: the dead-letter retention age in µs
-- Returns: a flat list of {job id, death µs, job data ("<id>:d", see queue_enqueue.lua),
--   attempts, error} for each dead job.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cutoff = string.format('%.0f', now - tonumber(ARGV[2]))
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. cutoff, '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i = 1, #ids, 2 do
  local id = ids[i]
  local data = redis.call('HMGET', KEYS[2], id .. ':d', id .. ':a', id .. ':e')
  local n = #out
  out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = id, ids[i + 1], data[1], data[2] or '0', data[3]
end
return out
