--[[ renew: extends a lease if the token still holds it (compare-and-set).
KEYS[1]  lease
ARGV[1]  token
ARGV[2]  lease length (ms)
Returns  1 when still held (and renewed), 0 when lost. ]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
