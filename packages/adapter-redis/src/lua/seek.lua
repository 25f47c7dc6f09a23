--[[ seek: moves a group's position in a partition: the group next reads the entries after ARGV[3], and nothing is
pending any more (what was delivered and not acknowledged is dropped: it is read again if it comes after the id).
KEYS[1]  stream  the partition's log
KEYS[2]  lease   the group's lease of the partition
ARGV[1]  token   the lease token of the member that seeks, or '' for an admin reset: then only while no one holds it
ARGV[2]  group
ARGV[3]  id      the last id counted as read: the entry before the next one to read, '0' for the start, '$' for the end
Returns  1, -1 when the token no longer holds the lease, -2 when an admin reset finds the lease held (nothing changed). ]]
local holder = redis.call('GET', KEYS[2])
if ARGV[1] ~= '' then
  if holder ~= ARGV[1] then return -1 end
elseif holder then
  return -2
end
local set = redis.pcall('XGROUP', 'SETID', KEYS[1], ARGV[2], ARGV[3])
if type(set) == 'table' and set.err then
  -- No such group (it never had a member) or stream: create it there.
  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[2], ARGV[3], 'MKSTREAM')
  return 1
end
while true do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[2], '-', '+', 1000)
  if #pending == 0 then break end
  local ids = {}
  for i, entry in ipairs(pending) do ids[i] = entry[1] end
  redis.call('XACK', KEYS[1], ARGV[2], unpack(ids))
end
return 1
