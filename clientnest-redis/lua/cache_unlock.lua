-- Release a cache load lock if the token still holds it.
-- KEYS[1]: the lock {p:cache:<namespace>:<id>}:lock
-- ARGV[1]: the token returned when the lock was taken
-- Returns: 1 when released, 0 when the lock was held by another token or gone.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
