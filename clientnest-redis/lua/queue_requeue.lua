-- Make ready again the jobs whose lease expired; they keep their place and count the attempt.
-- Moves at most ARGV[1] per call (earliest expiry first), so a mass expiry never blocks the
-- server. Also deletes up to ARGV[1] dead letters past the retention age.
-- Runs after queue_lib.lua.
-- KEYS[1]: in-flight jobs {p:queue:<name>}:inflight
-- KEYS[2]: ready jobs {p:queue:<name>}:ready
-- KEYS[3]: job data {p:queue:<name>}:jobs
-- KEYS[4]: dead jobs {p:queue:<name>}:dead
-- ARGV[1]: the most jobs to requeue in this call
-- ARGV[2]: the dead-letter retention age in µs
-- Returns: how many jobs were requeued.
local now = now_us()
forget_dead(KEYS[4], KEYS[3], now - ARGV[2], ARGV[1])
return requeue_expired(KEYS[2], KEYS[1], KEYS[3], now, ARGV[1])
