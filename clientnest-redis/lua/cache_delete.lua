-- Delete a cached value and advance its generation, atomically (so a loader that read the
-- old generation cannot store what it loaded).
-- KEYS[1]: the value {p:cache:<namespace>:<id>}
-- KEYS[2]: its generation {p:cache:<namespace>:<id>}:gen
-- ARGV[1]: how long the generation is kept, in milliseconds
-- Returns: 1 when a value was deleted, 0 when there was none.
local deleted = redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return deleted
