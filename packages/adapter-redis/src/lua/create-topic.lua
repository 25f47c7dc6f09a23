--[[ create-topic: writes a topic's metadata unless the topic exists (the first declaration wins).
KEYS[1]  topic   hash of the topic's settings
ARGV     field, value pairs (partitions, cleanupPolicy, retentionMs, …)
Returns  1 when created, 0 when it existed. ]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
