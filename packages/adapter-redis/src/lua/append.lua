--[[ append: one partition's records of one send, appended in one atomic step (they land together or not at all).
KEYS[1]  stream  the partition's log
KEYS[2]  sent    this producer's last append to the partition: "<sequence> <id> <id> …", with a TTL
KEYS[3]  index   compacted topics only: hash of key bytes -> id of the key's latest entry
KEYS[4]  dirty   compacted topics only: count of appends that superseded a key or wrote a tombstone
ARGV[1]  a MessagePack array of five fields per record: flags (bit 1 = has a key, bit 2 = has a value), key, value,
         headers JSON ('' = none), timestamp (ms, decimal); one argument, so the client frames one, not five per record
ARGV[2]  the send's sequence number within its producer
ARGV[3]  how long the sent key is kept (ms)
Returns  the new entries' ids, in record order.
Idempotent per producer: the same append run again (ioredis resends commands a lost connection left unanswered, and
it may have been applied before the connection went) finds its sequence in the sent key and returns the first run's
ids, appending nothing. With the index keys, each key's latest id is recorded with its append, and an append that
supersedes a key or is a tombstone marks the partition dirty for the cleaner. ]]
local last = redis.call('GET', KEYS[2])
if last then
  local sep = string.find(last, ' ', 1, true)
  if sep and string.sub(last, 1, sep - 1) == ARGV[2] then
    local again = {}
    for id in string.gmatch(string.sub(last, sep + 1), '%S+') do again[#again + 1] = id end
    return again
  end
end
local a = cmsgpack.unpack(ARGV[1])
local ids = {}
local dirty = 0
local compact = #KEYS > 2
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
    local added = redis.call('HSET', KEYS[3], a[i + 1], id)
    if added == 0 or not hasValue then dirty = dirty + 1 end
  end
end
if dirty > 0 then redis.call('INCRBY', KEYS[4], dirty) end
redis.call('SET', KEYS[2], ARGV[2] .. ' ' .. table.concat(ids, ' '), 'PX', ARGV[3])
return ids
