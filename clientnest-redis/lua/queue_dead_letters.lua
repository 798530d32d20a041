-- List dead letters, oldest first.
-- KEYS[1]: dead jobs {p:queue:<name>}:dead
-- KEYS[2]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the most to list
-- Returns: a flat list of {job id, death µs, payload, attempt, enqueued µs, fixed fields, error}
--   for each dead job.
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
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
