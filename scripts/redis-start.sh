#!/usr/bin/env bash
# Start a throwaway redis-server on 127.0.0.1 (default port 6379) unless one already answers PING.
# No persistence: tests use unique key prefixes and clean up. Env: KEYED_REDIS_PORT, KEYED_REDIS_WAIT (seconds).
set -euo pipefail
PORT="${KEYED_REDIS_PORT:-6379}"
WAIT="${KEYED_REDIS_WAIT:-15}"
STATE="${KEYED_REDIS_STATE:-/tmp/keyed-redis-$PORT}"

ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" == "PONG" ]]; }

if ping; then
  echo "[redis] already answering on 127.0.0.1:$PORT"
  exit 0
fi
if ! command -v redis-server >/dev/null; then
  echo "[redis] redis-server is not installed: apt-get install redis-server (7.0+)" >&2
  exit 1
fi
mkdir -p "$STATE"
# A concurrent caller may be starting it too; a second server on the same port just fails to bind.
redis-server --daemonize yes --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no \
  --dir "$STATE" --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" || true
for _ in $(seq 1 $((WAIT * 10))); do
  if ping; then
    echo "[redis] started on 127.0.0.1:$PORT"
    exit 0
  fi
  sleep 0.1
done
echo "[redis] no answer on 127.0.0.1:$PORT after ${WAIT}s; see $STATE/redis.log" >&2
exit 1
