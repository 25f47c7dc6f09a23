--[[ commit: acknowledges entries for a group, only while the token holds the partition's lease (fencing).
KEYS[1]  stream  the partition's log
KEYS[2]  lease   the group's lease of the partition
ARGV[1]  token
ARGV[2]  group
ARGV[3…] the ids to acknowledge (delivered to this owner, up to the committed offset)
Returns  the number of entries acknowledged, or -1 when the token no longer holds the lease (nothing changed). ]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local acked = 0
for i = 3, #ARGV, 4000 do
  acked = acked + redis.call('XACK', KEYS[1], ARGV[2], unpack(ARGV, i, math.min(i + 3999, #ARGV)))
end
return acked
