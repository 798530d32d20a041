-- Acknowledge finished jobs at once: forget each one whose lease still holds it (the in-flight
-- member "<id>|<token>" exists exactly while it does, so removing it is the lease check).
-- KEYS[1]: in-flight jobs {p:queue:<name>}:inflight
-- KEYS[2]: job data {p:queue:<name>}:jobs
-- ARGV: job id, lease token, for each lease (1 to 1000 pairs)
-- Returns: for each lease in order, 1 when acknowledged, 0 when the lease is lost.
local out = {}
local fields = {}
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  local acked = redis.call('ZREM', KEYS[1], id .. '|' .. ARGV[i + 1])
  out[#out + 1] = acked
  if acked == 1 then
    local n = #fields
    fields[n + 1], fields[n + 2], fields[n + 3] = id .. ':d', id .. ':a', id .. ':e'
  end
end
if #fields > 0 then
  redis.call('HDEL', KEYS[2], unpack(fields))
end
return out
