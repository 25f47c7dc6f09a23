#!/usr/bin/env bash
# A throwaway Redis Cluster on loopback: 3 primaries + 3 replicas on ports BASE..BASE+5 (default 7000-7005), the
# machine's redis-server, no persistence, small memory. Used by packages/adapter-redis's cluster tests and bench.
#   start        start the nodes, create the cluster, wait until every node reports cluster_state:ok (no-op when up)
#   stop         kill every node and remove their state
#   kill N       SIGKILL node N (0-5): a primary's replica takes over after cluster-node-timeout
#   restart N    start node N again with its state (it rejoins, as a replica if it was failed over)
#   wait         wait until every running node reports cluster_state:ok and every slot is served
# Env: KEYED_REDIS_CLUSTER_PORT (base port), KEYED_REDIS_CLUSTER_WAIT (seconds), KEYED_REDIS_CLUSTER_TIMEOUT
# (cluster-node-timeout ms, default 1000, so a failover takes a couple of seconds).
set -euo pipefail
BASE="${KEYED_REDIS_CLUSTER_PORT:-7000}"
WAIT="${KEYED_REDIS_CLUSTER_WAIT:-60}"
NODE_TIMEOUT="${KEYED_REDIS_CLUSTER_TIMEOUT:-1000}"
STATE="${KEYED_REDIS_CLUSTER_STATE:-/tmp/keyed-redis-cluster-$BASE}"
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=($((BASE + i))); done

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }
ping() { [[ "$(cli "$1" ping)" == "PONG" ]]; }
node_ok() { cli "$1" cluster info | tr -d '\r' | grep -q '^cluster_state:ok'; }

start_node() {
  local port=$1 dir="$STATE/$1"
  mkdir -p "$dir"
  ping "$port" && return 0
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
    --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout "$NODE_TIMEOUT" \
    --save '' --appendonly no --maxmemory 256mb --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" || true
}

wait_until() { # description, then a command that must succeed
  local what=$1
  shift
  for _ in $(seq 1 $((WAIT * 10))); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  echo "[redis-cluster] $what not within ${WAIT}s; logs under $STATE/*/redis.log" >&2
  return 1
}

all_up() { for p in "${PORTS[@]}"; do ping "$p" || return 1; done; }
# Every running node sees the cluster as ok, and the cluster serves all 16384 slots with 3 primaries.
all_ok() {
  local up=0
  for p in "${PORTS[@]}"; do
    if ping "$p"; then
      node_ok "$p" || return 1
      up=1
    fi
  done
  [[ $up == 1 ]]
}

# Each primary has a replica whose link is up (initial sync done): redis-cli's create returns before they finish.
replicas_synced() {
  local replicas=0 info
  for p in "${PORTS[@]}"; do
    info="$(cli "$p" info replication | tr -d '\r')"
    if grep -q '^role:slave' <<<"$info"; then
      grep -q '^master_link_status:up' <<<"$info" || return 1
      grep -q '^master_sync_in_progress:0' <<<"$info" || return 1
      replicas=$((replicas + 1))
    fi
  done
  [[ $replicas == 3 ]]
}

case "${1:-}" in
  start)
    command -v redis-server >/dev/null || { echo "[redis-cluster] redis-server is not installed: apt-get install redis-server (7.0+)" >&2; exit 1; }
    if all_up && all_ok; then
      echo "[redis-cluster] already ok on 127.0.0.1:${PORTS[0]}-${PORTS[5]}"
      exit 0
    fi
    mkdir -p "$STATE"
    for p in "${PORTS[@]}"; do start_node "$p"; done
    wait_until "all 6 nodes answering" all_up
    # A fresh set of nodes knows only itself (cluster_known_nodes:1): create the cluster. Nodes that already belong
    # to one (a start after a partial kill) only need to converge.
    if [[ "$(cli "${PORTS[0]}" cluster info | tr -d '\r' | sed -n 's/^cluster_known_nodes://p')" == "1" ]]; then
      hosts=()
      for p in "${PORTS[@]}"; do hosts+=("127.0.0.1:$p"); done
      redis-cli --cluster create "${hosts[@]}" --cluster-replicas 1 --cluster-yes >"$STATE/create.log" 2>&1 ||
        { cat "$STATE/create.log" >&2; exit 1; }
    fi
    wait_until "cluster_state:ok on every node" all_ok
    # Every replica attached: redis-cli's create returns before replicas finish their first sync.
    wait_until "every replica in sync with its primary" replicas_synced
    echo "[redis-cluster] ok on 127.0.0.1:${PORTS[0]}-${PORTS[5]}"
    ;;
  stop)
    for p in "${PORTS[@]}"; do
      pidfile="$STATE/$p/redis.pid"
      if [[ -f "$pidfile" ]]; then kill -9 "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    rm -rf "$STATE"
    echo "[redis-cluster] stopped"
    ;;
  kill)
    n="${2:?kill N (0-5)}"
    pidfile="$STATE/${PORTS[$n]}/redis.pid"
    kill -9 "$(cat "$pidfile")"
    rm -f "$pidfile"
    echo "[redis-cluster] killed node $n (port ${PORTS[$n]})"
    ;;
  restart)
    n="${2:?restart N (0-5)}"
    start_node "${PORTS[$n]}"
    wait_until "node $n answering" ping "${PORTS[$n]}"
    wait_until "cluster_state:ok on every node" all_ok
    echo "[redis-cluster] node $n (port ${PORTS[$n]}) back"
    ;;
  wait)
    wait_until "cluster_state:ok on every node" all_ok
    ;;
  *)
    echo "usage: $0 start|stop|kill N|restart N|wait" >&2
    exit 2
    ;;
esac
