-- Shared by the queue scripts that move jobs between states: prepended to each of them
-- (scripts.rs), so they take jobs the same way. Defines local functions only.
--
-- A job in flight is the member "<job id>|<lease token>" of the in-flight zset, scored by its
-- lease expiry in µs: the member alone proves the lease (ack, fail and extend look it up), and
-- the job's attempt count ("<id>:a") is written only when the job leaves in flight without an
-- ack.

-- The ready score of a job, from its data ("<id>:d", see queue_enqueue.lua).
local function ready_score(jobs, id)
  return string.match(redis.call('HGET', jobs, id .. ':d'), '^(%d+)|')
end

-- Make ready again, earliest expiry first and at most `max`, the jobs whose lease expired by
-- `now`; each keeps its place and counts the attempt. Returns how many.
local function requeue_expired(ready, inflight, jobs, now, max)
  local expired = redis.call('ZRANGEBYSCORE', inflight, '-inf', now, 'LIMIT', 0, max)
  for _, member in ipairs(expired) do
    local id = string.match(member, '^[^|]*')
    redis.call('ZREM', inflight, member)
    redis.call('HINCRBY', jobs, id .. ':a', 1)
    redis.call('ZADD', ready, ready_score(jobs, id), id)
  end
  return #expired
end

-- Make ready, earliest first and at most `max`, the delayed jobs due by `now`.
local function promote_due(ready, delayed, jobs, now, max)
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, max)
  for _, id in ipairs(due) do
    redis.call('ZREM', delayed, id)
    redis.call('ZADD', ready, ready_score(jobs, id), id)
  end
end

-- Delete a dead letter: its id and its data.
local function forget_dead_job(dead, jobs, id)
  redis.call('ZREM', dead, id)
  redis.call('HDEL', jobs, id .. ':d', id .. ':a', id .. ':e')
end

-- Delete the dead letters that died at or before `cutoff` µs, oldest first, at most `max`.
local function forget_dead(dead, jobs, cutoff, max)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', dead, '-inf', cutoff, 'LIMIT', 0, max)) do
    forget_dead_job(dead, jobs, id)
  end
end

-- The server's time in µs (exact: below 2^53).
local function now_us()
  local t = redis.call('TIME')
  return t[1] * 1000000 + t[2]
end

-- Take the next ready job (highest priority, then oldest) under the lease `token` until
-- `expires` µs. Returns false when no job is ready, else {job id, job data ("<id>:d"), attempt,
-- last error or false, expires}.
local function take_next(ready, inflight, jobs, expires, token)
  local id = redis.call('ZPOPMIN', ready)[1]
  if not id then
    return false
  end
  redis.call('ZADD', inflight, expires, id .. '|' .. token)
  local data = redis.call('HMGET', jobs, id .. ':d', id .. ':a', id .. ':e')
  return {id, data[1], (tonumber(data[2]) or 0) + 1, data[3], expires}
end
