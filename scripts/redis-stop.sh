#!/usr/bin/env bash
# Stop the redis-server that scripts/redis-start.sh started (only ours: found through its pid file).
set -euo pipefail
PORT="${KEYED_REDIS_PORT:-6379}"
STATE="${KEYED_REDIS_STATE:-/tmp/keyed-redis-$PORT}"
if [[ -f "$STATE/redis.pid" ]] && kill -0 "$(cat "$STATE/redis.pid")" 2>/dev/null; then
  redis-cli -h 127.0.0.1 -p "$PORT" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$STATE/redis.pid")"
  echo "[redis] stopped 127.0.0.1:$PORT"
else
  echo "[redis] no server started by redis-start.sh on port $PORT"
fi
