--[[ release: deletes a lease if the token still holds it (compare-and-delete).
KEYS[1]  lease
ARGV[1]  token
Returns  1 when deleted, 0 when the lease was not (or no longer) this token's. ]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
