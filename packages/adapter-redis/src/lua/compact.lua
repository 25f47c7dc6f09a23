--[[ compact: one chunk of a partition's compaction.
KEYS[1]  stream  the partition's log
KEYS[2]  index   hash of key bytes -> id of the key's latest entry
ARGV[1]  exclusive start id, or '-' for the beginning
ARGV[2]  chunk size (entries)
ARGV[3]  min compaction lag (ms): younger superseded entries stay
ARGV[4]  delete retention (ms): younger tombstones stay
Returns  { last id scanned, entries scanned, entries held back by the lag or retention, entries deleted }.
Deletes the chunk's entries that are not their key's latest, and tombstones older than the delete retention (removing
their key from the index). Ages come from the entry ids (append time) and the server's clock. ]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lag = tonumber(ARGV[3])
local keep = tonumber(ARGV[4])
local entries
if ARGV[1] == '-' then
  entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[2])
else
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
end
local held, del, last = 0, {}, ARGV[1]
for _, e in ipairs(entries) do
  local id, f = e[1], e[2]
  last = id
  local key, hasValue = nil, false
  for j = 1, #f, 2 do
    if f[j] == 'k' then key = f[j + 1] elseif f[j] == 'v' then hasValue = true end
  end
  if key then
    local age = now - tonumber(string.match(id, '^(%d+)'))
    local latest = redis.call('HGET', KEYS[2], key)
    if latest ~= id then
      if age >= lag then del[#del + 1] = id else held = held + 1 end
    elseif not hasValue then
      if age >= keep then
        del[#del + 1] = id
        redis.call('HDEL', KEYS[2], key)
      else
        held = held + 1
      end
    end
  end
end
if #del > 0 then redis.call('XDEL', KEYS[1], unpack(del)) end
return { last, #entries, held, #del }
