--[[ retain: trims a partition to its time and size retention.
KEYS[1]  stream  the partition's log
ARGV[1]  retention (ms), or -1 for none
ARGV[2]  retention (bytes), or -1 for none
Returns  the number of entries trimmed.
Time: drops entries older than the retention by their id's append time. Size: estimates the entry size from the newest
100 entries and keeps as many entries as fit (MAXLEN), an approximation of Kafka's retention.bytes. ]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
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
return trimmed
