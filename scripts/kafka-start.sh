#!/usr/bin/env bash
# Start a single-node Kafka broker (KRaft, broker+controller) on 127.0.0.1:9092
# for local development and tests. Idempotent: a no-op if a broker answers.
#
# Env: KEYED_KAFKA_VERSION (default in kafka-lib.sh), KEYED_CACHE (jar cache,
# default ~/.cache/keyed), KEYED_STATE (data/logs, default /tmp/keyed-kafka),
# KEYED_KAFKA_WAIT (seconds to wait for readiness, default 90),
# KEYED_KAFKA_PORT (default 9092; the controller takes the next port).
# --fresh: when this call has to start the broker, start it on empty storage.
set -euo pipefail
# shellcheck source=kafka-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka-lib.sh"

FRESH=0
[[ "${1:-}" == "--fresh" ]] && FRESH=1

PORT="$KAFKA_SINGLE_PORT"
CONTROLLER_PORT=$((PORT + 1))
STATE="$KAFKA_SINGLE_STATE"
PROPS="$STATE/server.properties"
LOG="$STATE/broker.log"
PIDFILE="$STATE/broker.pid"
WAIT="${KEYED_KAFKA_WAIT:-90}"

# Fast path: anything answering on the port is good enough (ours or not),
# unless a start is in progress (its broker may answer before it is ready).
if ! kafka_lock_busy "$STATE/.lock" && kafka_probe --quiet "127.0.0.1:$PORT" 2>/dev/null; then
  klog "broker already answering on 127.0.0.1:$PORT"
  exit 0
fi

t0=$(know_ms)
kafka_lock "$STATE/.lock"
# Another caller may have brought it up while we waited for the lock.
if kafka_probe --quiet "127.0.0.1:$PORT" 2>/dev/null; then
  klog "broker already answering on 127.0.0.1:$PORT"
  exit 0
fi

if pid=$(kafka_pid_alive "$PIDFILE"); then
  # Started earlier (maybe by a concurrent call) and still booting: just wait.
  klog "broker pid $pid is starting; waiting"
else
  kafka_resolve
  data="$STATE/data"
  # Test runs create topics every time: a broker started for them starts on empty storage.
  if [[ "$FRESH" == 1 && -d "$data" ]]; then
    klog "--fresh: removing $data"
    rm -rf "$data"
  fi
  kafka_write_props "$PROPS" 1 "$PORT" "$CONTROLLER_PORT" "1@127.0.0.1:$CONTROLLER_PORT" "$data" 1 1
  if [[ ! -f "$data/meta.properties" ]]; then
    klog "formatting $data"
    kafka_format "$PROPS" "$(kafka_new_cluster_id)" "$LOG"
  fi
  kafka_launch "$PROPS" "$LOG" "$PIDFILE"
  pid=$(cat "$PIDFILE")
  klog "started Kafka $KAFKA_VERSION (pid $pid), log $LOG"
fi

# --canary: answering is not enough after a restart on a big data dir; wait
# until a freshly created topic is visible, as tests will expect.
if ! kafka_probe --quiet --canary --wait "$WAIT" --pid "$pid" "127.0.0.1:$PORT"; then
  kafka_log_excerpt "$LOG"
  if ! kafka_pid_alive "$PIDFILE" >/dev/null; then
    kdie "broker process exited; see $LOG"
  fi
  kdie "broker (pid $pid) not ready on 127.0.0.1:$PORT within ${WAIT}s; see $LOG (stop it with scripts/kafka-stop.sh)"
fi
klog "broker ready on 127.0.0.1:$PORT after $(kelapsed "$t0")"
