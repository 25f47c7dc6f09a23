--[[ heartbeat: refreshes (or removes) a member in its group's member sets and returns who is alive.
KEYS[…]  one sorted set per subscribed topic: member id -> expiry (server ms); all of one group, one slot
ARGV[1]  member id
ARGV[2]  session timeout (ms)
ARGV[3]  '1' to leave the group, '0' to stay
Returns  for each key, in KEYS order, the ids of the live members.
Expired members are dropped first, by the server's clock. ]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
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
return out
