-- Enqueue jobs in one call, in order, each as queue_enqueue.lua would: the batch takes
-- consecutive sequence numbers, so its jobs keep their order among themselves and against other
-- enqueues. A job whose idempotency key is remembered, or was given to an earlier job of the
-- batch, answers that job's id as a duplicate and is not stored.
-- KEYS[1]: ready jobs {p:queue:<name>}:ready (zset: job id by (9 - priority) * 10^15 + sequence)
-- KEYS[2]: delayed jobs {p:queue:<name>}:delayed (zset: job id by due time in µs)
-- KEYS[3]: job data {p:queue:<name>}:jobs (hash: "<job id>:<field>")
-- KEYS[4]: the sequence counter {p:queue:<name>}:seq
-- KEYS[5...]: the idempotency keys {p:queue:<name>}:idem:<key> of the jobs that have one, in order
-- ARGV[1]: how long an idempotency key is remembered, in ms
-- ARGV[2...]: six per job: its id, its payload, its priority (0 to 9), its delay in µs (0: ready
--   now), "<enqueued µs>|<fixed fields>" (see queue_enqueue.lua), and 1 when it has an
--   idempotency key (the next of KEYS[5...]) else 0
-- Returns: for each job, its id (or the earlier job's) and "1" when a duplicate else "0".
local n = (#ARGV - 1) / 6
local first = redis.call('INCRBY', KEYS[4], n) - n + 1
local out, data, ready, delayed, given = {}, {}, {}, {}, {}
local key, now = 4, nil
for j = 0, n - 1 do
  local a = 2 + 6 * j
  local id, idem = ARGV[a], nil
  if ARGV[a + 5] == '1' then
    key = key + 1
    idem = KEYS[key]
  end
  local known = idem and (given[idem] or redis.call('GET', idem))
  if known then
    out[#out + 1], out[#out + 2] = known, '1'
  else
    local score = (9 - ARGV[a + 2]) * 1000000000000000 + first + j
    data[#data + 1], data[#data + 2] = id .. ':d', string.format('%d|', score) .. ARGV[a + 4] .. '|' .. ARGV[a + 1]
    local delay = tonumber(ARGV[a + 3])
    if delay > 0 then
      if not now then
        local t = redis.call('TIME')
        now = t[1] * 1000000 + t[2]
      end
      delayed[#delayed + 1], delayed[#delayed + 2] = now + delay, id
    else
      ready[#ready + 1], ready[#ready + 2] = score, id
    end
    if idem then
      given[idem] = id
      redis.call('SET', idem, id, 'PX', ARGV[1])
    end
    out[#out + 1], out[#out + 2] = id, '0'
  end
end
if #data > 0 then
  redis.call('HSET', KEYS[3], unpack(data))
end
if #ready > 0 then
  redis.call('ZADD', KEYS[1], unpack(ready))
end
if #delayed > 0 then
  redis.call('ZADD', KEYS[2], unpack(delayed))
end
return out
