--[[ acquire: takes a partition's lease for a member, or tells that another member holds it.
KEYS[1]  lease   the group's lease of the partition: '<member>/<epoch>', with a TTL
KEYS[2]  epoch   counter of the fencing epochs handed out for the partition in the group
ARGV[1]  member id
ARGV[2]  lease length (ms)
Returns  the token ('<member>/<epoch>': the member's existing one, renewed, if it holds the lease already),
         or false while another member holds it. ]]
local cur = redis.call('GET', KEYS[1])
if cur then
  if string.sub(cur, 1, #ARGV[1] + 1) == ARGV[1] .. '/' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return cur
  end
  return false
end
local token = ARGV[1] .. '/' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token
