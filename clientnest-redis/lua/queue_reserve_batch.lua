-- Reserve up to ARGV[4] ready jobs in one call, each under a lease of its own: the jobs as many
-- calls of queue_reserve.lua would take, in the same order, after the same housekeeping
-- (expired leases and due delayed jobs back to ready, at most ARGV[3] of each), done once.
-- Runs after queue_lib.lua.
-- KEYS[1]: ready jobs {p:queue:<name>}:ready
-- KEYS[2]: delayed jobs {p:queue:<name>}:delayed
-- KEYS[3]: in-flight jobs {p:queue:<name>}:inflight (zset: "<job id>|<token>" by lease expiry in µs)
-- KEYS[4]: job data {p:queue:<name>}:jobs
-- ARGV[1]: the visibility timeout in µs
-- ARGV[2]: the leases' token prefix: job i (from 1) gets the token ARGV[2] .. '.' .. i
-- ARGV[3]: the most expired leases, and the most due delayed jobs, to move in this call
-- ARGV[4]: the most jobs to reserve (1 to 1000)
-- Returns: {lease expiry µs, then for each job: job id, job data ("<id>:d", see
--   queue_enqueue.lua), attempt, last error or nil}; {lease expiry µs} alone when no job is ready.
local now = now_us()
requeue_expired(KEYS[1], KEYS[3], KEYS[4], now, ARGV[3])
promote_due(KEYS[1], KEYS[2], KEYS[4], now, ARGV[3])
local expires = now + ARGV[1]
local out = {string.format('%d', expires)}
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[4])
if #popped == 0 then
  return out
end
local leased = {}
local fields = {}
for i = 1, #popped, 2 do
  local id = popped[i]
  local n = #leased
  leased[n + 1], leased[n + 2] = expires, id .. '|' .. ARGV[2] .. '.' .. (n / 2 + 1)
  n = #fields
  fields[n + 1], fields[n + 2], fields[n + 3] = id .. ':d', id .. ':a', id .. ':e'
end
redis.call('ZADD', KEYS[3], unpack(leased))
local data = redis.call('HMGET', KEYS[4], unpack(fields))
for j = 1, #popped / 2 do
  local n = #out
  out[n + 1], out[n + 2], out[n + 3], out[n + 4] =
    popped[2 * j - 1], data[3 * j - 2], tostring((tonumber(data[3 * j - 1]) or 0) + 1), data[3 * j]
end
return out
