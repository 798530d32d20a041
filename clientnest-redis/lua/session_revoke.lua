-- End the listed sessions of one user and drop them from their bucket's index. The caller
-- lists them from the index (ZSCAN MATCH "<user>|*") and calls again until none is left.
-- Members and keys name sessions by the SHA-256 digest of their id, never the id.
-- KEYS[1]: the bucket's index {p:session:<bucket>}:index
-- KEYS[2..n]: the session hashes, in the order of their members
-- ARGV[1]: the user id (a session of another user is never deleted)
-- ARGV[2..n]: the index members "<user>|<session digest>" of KEYS[2..n]
-- Returns: how many live sessions were deleted.
local deleted = 0
for i = 2, #KEYS do
  if redis.call('HGET', KEYS[i], 'u') == ARGV[1] then
    deleted = deleted + redis.call('DEL', KEYS[i])
  end
  redis.call('ZREM', KEYS[1], ARGV[i])
end
return deleted
