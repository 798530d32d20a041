-- One step of the generic cell rate algorithm, as clientnest_core::model::gcra computes it.
-- KEYS[1]: the limiter's theoretical arrival time (TAT) {p:rate:<subject>}, µs since the epoch
-- ARGV[1]: the emission interval T in µs (period / count)
-- ARGV[2]: the burst tolerance tau = T * burst in µs
-- ARGV[3]: the burst size
-- ARGV[4]: the current time in µs, or empty to read the server's TIME (tests pin it)
-- Returns: {allowed 1|0, remaining, reset-after µs, retry-after µs or -1 when allowed}.
local t = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
-- Floor of a / b for non-negative integers, exact even where the float quotient rounds.
local function floor_div(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = math.max(tonumber(stored), now)
end
local new_tat = tat + t
local allow_at = new_tat - tau
if allow_at <= now then
  local headroom = tau - (new_tat - now)
  local remaining = 0
  if headroom > 0 then
    remaining = math.min(floor_div(headroom, t), burst)
  end
  -- The TAT limits nothing once it has passed: it expires then (never earlier).
  local ttl_ms = math.max(math.ceil((new_tat - now) / 1000), 1)
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', ttl_ms))
  return {1, remaining, new_tat - now, -1}
end
return {0, 0, tat - now, allow_at - now}
