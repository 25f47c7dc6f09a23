/** Lua scripts. Each touches keys of one partition (one hash tag) or of one group, so each runs on one Cluster slot. */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

/**
 * KEYS: stream [, index, dirty]. ARGV: groups of (flags, key, value, headers, timestamp); flags bit 1 = has key,
 * bit 2 = has value. One script per partition batch: the batch lands whole or not at all. With the index keys the
 * latest id per key is recorded with the append, and a superseding append or a tombstone marks the partition dirty.
 */
export const APPEND = `local ids = {}
local dirty = 0
local compact = #KEYS > 1
for i = 1, #ARGV, 5 do
  local flags = tonumber(ARGV[i])
  local hasKey = flags % 2 == 1
  local hasValue = flags % 4 >= 2
  local f = {}
  if hasKey then f[#f + 1] = 'k'; f[#f + 1] = ARGV[i + 1] end
  if hasValue then f[#f + 1] = 'v'; f[#f + 1] = ARGV[i + 2] end
  if ARGV[i + 3] ~= '' then f[#f + 1] = 'h'; f[#f + 1] = ARGV[i + 3] end
  f[#f + 1] = 't'; f[#f + 1] = ARGV[i + 4]
  local id = redis.call('XADD', KEYS[1], '*', unpack(f))
  ids[#ids + 1] = id
  if compact and hasKey then
    local added = redis.call('HSET', KEYS[2], ARGV[i + 1], id)
    if added == 0 or not hasValue then dirty = dirty + 1 end
  end
end
if dirty > 0 then redis.call('INCRBY', KEYS[3], dirty) end
return ids`

/** KEYS: lease, epoch. ARGV: member id, lease ms. The token (existing one if this member holds it) or false. */
export const ACQUIRE = `local cur = redis.call('GET', KEYS[1])
if cur then
  if string.sub(cur, 1, #ARGV[1] + 1) == ARGV[1] .. '/' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return cur
  end
  return false
end
local token = ARGV[1] .. '/' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token`

/** KEYS: lease. ARGV: token, lease ms. 1 when still held (and renewed), 0 when lost. */
export const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`

/** KEYS: lease. ARGV: token. Deletes the lease only if this token still holds it. */
export const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/**
 * KEYS: stream, lease. ARGV: token, group, then the ids to acknowledge (delivered to this owner, up to the committed
 * offset). Acknowledges only while the token holds the lease: -1 means fenced.
 */
export const COMMIT = `if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local acked = 0
for i = 3, #ARGV, 4000 do
  acked = acked + redis.call('XACK', KEYS[1], ARGV[2], unpack(ARGV, i, math.min(i + 3999, #ARGV)))
end
return acked`

/**
 * KEYS: member sets of one group (one per topic). ARGV: member id, session ms, '1' to leave.
 * Drops expired members, refreshes this one, returns the live members of each set.
 */
export const HEARTBEAT = `${NOW}
local out = {}
for i, k in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  if ARGV[3] == '1' then
    redis.call('ZREM', k, ARGV[1])
  else
    redis.call('ZADD', k, now + tonumber(ARGV[2]), ARGV[1])
    redis.call('PEXPIRE', k, tonumber(ARGV[2]) * 10)
  end
  out[i] = redis.call('ZRANGE', k, 0, -1)
end
return out`

/**
 * KEYS: stream, index. ARGV: exclusive start id or '-', count, min compaction lag ms, delete retention ms.
 * Deletes superseded entries, and tombstones older than the delete retention, in the next chunk.
 * Returns { last id scanned, entries scanned, entries held back by the lag or retention, entries deleted }.
 */
export const COMPACT = `${NOW}
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
return { last, #entries, held, #del }`

/**
 * KEYS: stream. ARGV: retention ms (or -1), retention bytes (or -1).
 * Time: drops entries older than the retention (by their id's append time). Size: estimates the entry size from the
 * newest 100 entries and keeps as many entries as fit (MAXLEN), an approximation of Kafka's retention.bytes.
 */
export const RETAIN = `${NOW}
local trimmed = 0
local ms = tonumber(ARGV[1])
if ms >= 0 then trimmed = trimmed + redis.call('XTRIM', KEYS[1], 'MINID', now - ms) end
local bytes = tonumber(ARGV[2])
if bytes >= 0 then
  local sample = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 100)
  if #sample > 0 then
    local total = 0
    for _, e in ipairs(sample) do
      for _, x in ipairs(e[2]) do total = total + #x end
    end
    local avg = math.max(1, total / #sample)
    trimmed = trimmed + redis.call('XTRIM', KEYS[1], 'MAXLEN', math.floor(bytes / avg))
  end
end
return trimmed`

/** KEYS: topic hash. ARGV: field/value pairs. Creates the topic's metadata unless it exists; 1 when created. */
export const CREATE_TOPIC = `if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`
