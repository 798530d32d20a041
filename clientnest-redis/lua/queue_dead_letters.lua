-- List dead letters, oldest first; those past the retention age are gone (not listed).
-- KEYS[1]: dead jobs {p:queue:<name>}:dead
-- KEYS[2]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the most to list
-- ARGV[2]: the dead-letter retention age in µs
-- Returns: a flat list of {job id, death µs, payload, attempt, enqueued µs, fixed fields, error}
--   for each dead job.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cutoff = string.format('%.0f', now - tonumber(ARGV[2]))
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. cutoff, '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i = 1, #ids, 2 do
  local id = ids[i]
  local data = redis.call('HMGET', KEYS[2], id .. ':p', id .. ':a', id .. ':t', id .. ':i', id .. ':e')
  local row = {id, ids[i + 1], data[1], data[2], data[3], data[4], data[5]}
  for _, v in ipairs(row) do
    out[#out + 1] = v
  end
end
return out
