#!/usr/bin/env bash
# A three-node Kafka cluster (KRaft, each node broker+controller) on loopback,
# for fault tests: kill a partition leader, keep producing, bring it back.
#
# usage: kafka-cluster.sh start            start missing nodes, wait for all 3
#        kafka-cluster.sh stop             stop all nodes (controlled shutdown)
#        kafka-cluster.sh kill <nodeId>    SIGKILL one node (1, 2 or 3)
#        kafka-cluster.sh restart <nodeId> start that node again, wait for it
#        kafka-cluster.sh freeze <nodeId>  SIGSTOP one node: it accepts connections, answers nothing
#        kafka-cluster.sh thaw <nodeId>    SIGCONT a frozen node
#        kafka-cluster.sh status           which nodes run / answer
#        kafka-cluster.sh clean            stop, then delete all cluster state
#        kafka-cluster.sh bootstrap        print the bootstrap servers
#
# Node n: PLAINTEXT 127.0.0.1:1909(n+1), CONTROLLER 127.0.0.1:1919(n+1), i.e.
# 19092-19094 and 19192-19194, clear of the single broker's 9092/9093.
# Defaults: replication factor 3, min.insync.replicas 2.
# Env: as kafka-start.sh; KEYED_KAFKA_WAIT (default 90 s);
#      KEYED_KAFKA_CLUSTER_PORT (default 19092) moves all six ports (PLAINTEXT
#      P..P+2, CONTROLLER P+100..P+102) so a second cluster can run beside.
set -euo pipefail
# shellcheck source=kafka-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka-lib.sh"

NODES=(1 2 3)
BASE_PORT="${KEYED_KAFKA_CLUSTER_PORT:-19092}"
[[ "$BASE_PORT" =~ ^[0-9]+$ ]] || kdie "KEYED_KAFKA_CLUSTER_PORT must be a port number"
# A cluster on other ports gets its own state (pids, data) too.
if [[ "$BASE_PORT" == 19092 ]]; then STATE="$KAFKA_STATE_ROOT/cluster"; else STATE="$KAFKA_STATE_ROOT/cluster-$BASE_PORT"; fi
WAIT="${KEYED_KAFKA_WAIT:-90}"
# Three JVMs share two cores and the test run: keep heaps small.
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx384m -Xms128m}"

port_of() { echo $((BASE_PORT - 1 + $1)); }
cport_of() { echo $((BASE_PORT + 99 + $1)); }
voters() {
  local n out=()
  for n in "${NODES[@]}"; do out+=("$n@127.0.0.1:$(cport_of "$n")"); done
  (IFS=,; echo "${out[*]}")
}
bootstrap() {
  local n out=()
  for n in "${NODES[@]}"; do out+=("127.0.0.1:$(port_of "$n")"); done
  (IFS=,; echo "${out[*]}")
}
node_dir() { echo "$STATE/node-$1"; }
pidfile_of() { echo "$(node_dir "$1")/broker.pid"; }
log_of() { echo "$(node_dir "$1")/broker.log"; }

check_node() {
  [[ "${1:-}" =~ ^[123]$ ]] || { echo "node id must be 1, 2 or 3 (got '${1:-}')" >&2; exit 2; }
}

# All nodes must be formatted with the same cluster id; keep it in the state.
cluster_id() {
  local f="$STATE/cluster.id"
  [[ -s "$f" ]] || kafka_new_cluster_id >"$f"
  cat "$f"
}

start_node() {
  local n=$1 dir props pid
  dir=$(node_dir "$n")
  if pid=$(kafka_pid_alive "$(pidfile_of "$n")"); then
    klog "node $n already running (pid $pid)"
    return 0
  fi
  mkdir -p "$dir"
  props="$dir/server.properties"
  kafka_write_props "$props" "$n" "$(port_of "$n")" "$(cport_of "$n")" "$(voters)" "$dir/data" 3 2
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    kafka_format "$props" "$(cluster_id)" "$(log_of "$n")"
  fi
  kafka_launch "$props" "$(log_of "$n")" "$(pidfile_of "$n")"
  klog "node $n started (pid $(cat "$(pidfile_of "$n")")) on 127.0.0.1:$(port_of "$n")"
}

# Wait until the given nodes answer a Metadata request that lists all three
# brokers (so the quorum has a leader and every broker has registered), and
# each has caught up on metadata (a canary topic shows up with a leader).
wait_nodes() {
  local n pid addrs=() pids=()
  for n in "$@"; do
    addrs+=("127.0.0.1:$(port_of "$n")")
    if pid=$(kafka_pid_alive "$(pidfile_of "$n")"); then pids+=(--pid "$pid"); fi
  done
  if ! kafka_probe --quiet --canary --brokers "${#NODES[@]}" --wait "$WAIT" "${pids[@]}" "${addrs[@]}"; then
    for n in "$@"; do kafka_log_excerpt "$(log_of "$n")"; done
    kdie "cluster not ready (limit ${WAIT}s); nodes still up keep running: use '$(basename "$0") stop'"
  fi
}

cmd_start() {
  local t0 n
  t0=$(know_ms)
  kafka_resolve
  mkdir -p "$STATE"
  cluster_id >/dev/null
  for n in "${NODES[@]}"; do start_node "$n"; done
  wait_nodes "${NODES[@]}"
  klog "cluster ready on $(bootstrap) after $(kelapsed "$t0")"
}

cmd_stop() {
  local n pids=()
  # Stop all nodes at once: stopping them one by one can leave the last node
  # without a controller quorum, stalling its controlled shutdown.
  for n in "${NODES[@]}"; do
    kafka_stop_pid "$(pidfile_of "$n")" "node $n" 20 &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || true; done
  klog "cluster stopped"
}

cmd_kill() {
  local n=$1 pid
  check_node "$n"
  if ! pid=$(kafka_pid_alive "$(pidfile_of "$n")"); then
    klog "node $n is not running"
    return 0
  fi
  kill -KILL "$pid"
  kafka_wait_gone "$pid" 30 || kdie "node $n (pid $pid) survived SIGKILL"
  rm -f "$(pidfile_of "$n")"
  klog "node $n (pid $pid) killed"
}

cmd_signal() {
  local signal=$1 n=$2 pid
  check_node "$n"
  pid=$(kafka_pid_alive "$(pidfile_of "$n")") || kdie "node $n is not running"
  kill "-$signal" "$pid"
  klog "node $n (pid $pid) sent SIG$signal"
}

cmd_restart() {
  local n=$1 t0
  check_node "$n"
  t0=$(know_ms)
  kafka_resolve
  start_node "$n"
  wait_nodes "$n"
  klog "node $n ready after $(kelapsed "$t0")"
}

cmd_status() {
  local n pid state
  for n in "${NODES[@]}"; do
    if pid=$(kafka_pid_alive "$(pidfile_of "$n")"); then state="running (pid $pid)"; else state="not running"; fi
    if kafka_probe --quiet "127.0.0.1:$(port_of "$n")" 2>/dev/null; then state+=", answering"; fi
    echo "node $n 127.0.0.1:$(port_of "$n"): $state"
  done
}

# One cluster command at a time (parallel test files may call start).
case "${1:-}" in start | stop | kill | restart | clean) kafka_lock "$STATE/.lock" ;; esac

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill) cmd_kill "${2:-}" ;;
  restart) cmd_restart "${2:-}" ;;
  freeze) cmd_signal STOP "${2:-}" ;;
  thaw) cmd_signal CONT "${2:-}" ;;
  status) cmd_status ;;
  clean) cmd_stop; rm -rf "$STATE"; klog "removed $STATE" ;;
  bootstrap) bootstrap ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
