-- Reserve the next ready job under a lease. First makes ready again the jobs whose lease
-- expired (they keep their place and count the attempt) and the delayed jobs now due, so a job
-- is never lost whatever worker dies: it is in exactly one of ready, delayed, in-flight or
-- dead. Moves at most ARGV[3] of each per call (earliest first), so a mass expiry never blocks
-- the server: the rest move on the next calls. Runs after queue_lib.lua.
-- KEYS[1]: ready jobs {p:queue:<name>}:ready (zset: job id by (9 - priority) * 10^15 + sequence)
-- KEYS[2]: delayed jobs {p:queue:<name>}:delayed (zset: job id by due time in µs)
-- KEYS[3]: in-flight jobs {p:queue:<name>}:inflight (zset: "<job id>|<token>" by lease expiry in µs)
-- KEYS[4]: job data {p:queue:<name>}:jobs (hash: "<job id>:<field>")
-- ARGV[1]: the visibility timeout in µs
-- ARGV[2]: the new lease's token
-- ARGV[3]: the most expired leases, and the most due delayed jobs, to move in this call
-- Returns: false when no job is ready, else
--   {job id, job data ("<id>:d", see queue_enqueue.lua), attempt, last error or nil, lease expiry µs}.
local now = now_us()
requeue_expired(KEYS[1], KEYS[3], KEYS[4], now, ARGV[3])
promote_due(KEYS[1], KEYS[2], KEYS[4], now, ARGV[3])
return take_next(KEYS[1], KEYS[3], KEYS[4], now + ARGV[1], ARGV[2])
