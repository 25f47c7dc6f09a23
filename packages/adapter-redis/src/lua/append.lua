--[[ append: one partition's records of one send, appended in one atomic step (they land together or not at all).
KEYS[1]  stream  the partition's log
KEYS[2]  sent    hash, this producer's recent appends to the partition, with a TTL: field "top" = the highest sequence
                 applied; field "<sequence mod 16>" = "<sequence> <id> <id> …" of the latest applied sequence in that slot
KEYS[3]  index   compacted topics only: hash of key bytes -> id of the key's latest entry
KEYS[4]  dirty   compacted topics only: count of appends that superseded a key or wrote a tombstone
ARGV[1]  a MessagePack array of five fields per record: flags (bit 1 = has a key, bit 2 = has a value), key, value,
         headers JSON ('' = none), timestamp (ms, decimal); one argument, so the client frames one, not five per record
ARGV[2]  the send's sequence number within its producer (decimal; increasing in the order the producer writes sends)
ARGV[3]  how long the sent key is kept (ms)
Returns  the new entries' ids, in record order; or, appending nothing, the error reply
         "KEYEDSTALE <sequence> <top>" (see below).
Idempotent per producer: the same append run again (ioredis resends commands a lost connection left unanswered, and
they may have been applied before the connection went) finds its sequence in its slot and returns the first run's ids,
appending nothing. The window is 16 slots, so an append is recognized as long as no later applied append of the
producer to this partition has a sequence 16k above it. An append whose sequence is not above "top" and is not in
the window is refused with KEYEDSTALE, appending nothing: it is either an applied append no longer remembered (appending
it again would duplicate its records) or one never applied that reached the server after a later one (appending it
would put its records after later records of its keys). With the index keys, each key's latest id is recorded with
its append, and an append that supersedes a key or is a tombstone marks the partition dirty for the cleaner.
Normal path: HMGET, the XADDs (and HSETs of the index), HSET, PEXPIRE. ]]
local slot = tostring(tonumber(ARGV[2]) % 16)
local seen = redis.call('HMGET', KEYS[2], slot, 'top')
if seen[1] then
  local sep = string.find(seen[1], ' ', 1, true)
  if sep and string.sub(seen[1], 1, sep - 1) == ARGV[2] then
    local again = {}
    for id in string.gmatch(string.sub(seen[1], sep + 1), '%S+') do again[#again + 1] = id end
    return again
  end
end
if seen[2] and tonumber(ARGV[2]) <= tonumber(seen[2]) then
  return redis.error_reply('KEYEDSTALE ' .. ARGV[2] .. ' ' .. seen[2])
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
redis.call('HSET', KEYS[2], slot, ARGV[2] .. ' ' .. table.concat(ids, ' '), 'top', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return ids
