--[[ append: one partition's records of one send, appended in one atomic step (they land together or not at all).
KEYS[1]  stream  the partition's log
KEYS[2]  index   compacted topics only: hash of key bytes -> id of the key's latest entry
KEYS[3]  dirty   compacted topics only: count of appends that superseded a key or wrote a tombstone
ARGV[1]  a MessagePack array of five fields per record: flags (bit 1 = has a key, bit 2 = has a value), key, value,
         headers JSON ('' = none), timestamp (ms, decimal); one argument, so the client frames one, not five per record
Returns  the new entries' ids, in record order.
With the index keys, each key's latest id is recorded with its append, and an append that supersedes a key or is a
tombstone marks the partition dirty for the cleaner. ]]
local a = cmsgpack.unpack(ARGV[1])
local ids = {}
local dirty = 0
local compact = #KEYS > 1
for i = 1, #a, 5 do
  local flags = a[i]
  local hasKey = flags % 2 == 1
  local hasValue = flags % 4 >= 2
  local f = {}
  if hasKey then f[#f + 1] = 'k'; f[#f + 1] = a[i + 1] end
  if hasValue then f[#f + 1] = 'v'; f[#f + 1] = a[i + 2] end
  if a[i + 3] ~= '' then f[#f + 1] = 'h'; f[#f + 1] = a[i + 3] end
  f[#f + 1] = 't'; f[#f + 1] = a[i + 4]
  local id = redis.call('XADD', KEYS[1], '*', unpack(f))
  ids[#ids + 1] = id
  if compact and hasKey then
    local added = redis.call('HSET', KEYS[2], a[i + 1], id)
    if added == 0 or not hasValue then dirty = dirty + 1 end
  end
end
if dirty > 0 then redis.call('INCRBY', KEYS[3], dirty) end
return ids
