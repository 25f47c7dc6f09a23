--[[ compact: one chunk of a partition's compaction.
KEYS[1]  stream  the partition's log
KEYS[2]  index   hash of key bytes -> id of the key's latest entry
ARGV[1]  exclusive start id, or '-' for the beginning
ARGV[2]  chunk size (entries)
ARGV[3]  min compaction lag (ms): younger superseded entries stay, and so do younger tombstones
ARGV[4]  delete retention (ms): younger tombstones stay
Returns  { last id scanned, entries scanned, entries held back (by the lag or the retention, or adopted), entries deleted }.
Deletes the chunk's entries older than their key's latest known id, and tombstones older than both the delete
retention and the lag (removing their key from the index). The index is kept by keyed's append script, but any client
may XADD: an entry with no index entry, or newer than its key's indexed id, is its key's newest and is adopted (the
index is set to it), never deleted; an adopted entry newer than an indexed one counts as held back, so the partition
stays dirty and the next pass deletes what it superseded (entries scanned before it). A tombstone waits for the lag as
well, so every older entry of its key has been deleted before it is (one left behind would lose its index entry with
the tombstone's and be adopted again). Ages come from the entry ids (append time) and the server's clock. ]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lag = tonumber(ARGV[3])
local keep = math.max(tonumber(ARGV[4]), lag)
-- a > b for stream ids "<ms>-<seq>" (decimal, no leading zeros), compared as digit strings: exact at any size.
local function newer(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not bm then return true end -- an index value that is not an id: the entry takes its place
  if #am ~= #bm then return #am > #bm end
  if am ~= bm then return am > bm end
  if #as ~= #bs then return #as > #bs end
  return as > bs
end
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
    if latest == id then
      -- its key's latest: a value stays; a tombstone goes once old enough
      if not hasValue then
        if age >= keep then
          del[#del + 1] = id
          redis.call('HDEL', KEYS[2], key)
        else
          held = held + 1
        end
      end
    elseif latest and not newer(id, latest) then
      -- superseded
      if age >= lag then del[#del + 1] = id else held = held + 1 end
    elseif latest then
      -- newer than the indexed id (another client's XADD): adopted; what it superseded goes on the next pass
      redis.call('HSET', KEYS[2], key, id)
      held = held + 1
    elseif hasValue then
      -- no index entry (another client's XADD, nothing of its key before it): adopted
      redis.call('HSET', KEYS[2], key, id)
    elseif age >= keep then
      -- an unindexed tombstone with nothing of its key before it
      del[#del + 1] = id
    else
      redis.call('HSET', KEYS[2], key, id)
      held = held + 1
    end
  end
end
if #del > 0 then redis.call('XDEL', KEYS[1], unpack(del)) end
return { last, #entries, held, #del }
