#!/usr/bin/env bash
# Stop the broker started by kafka-start.sh and wait for it to exit.
# usage: kafka-stop.sh [--clean]   (--clean also deletes its data and log)
# Env: KEYED_STATE and KEYED_KAFKA_PORT, as given to kafka-start.sh.
set -euo pipefail
# shellcheck source=kafka-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka-lib.sh"

STATE="$KAFKA_SINGLE_STATE"
PIDFILE="$STATE/broker.pid"

clean=false
case "${1:-}" in
  "") ;;
  --clean) clean=true ;;
  *) echo "usage: $0 [--clean]" >&2; exit 2 ;;
esac

[[ -d "$STATE" ]] && kafka_lock "$STATE/.lock"
if pid=$(kafka_pid_alive "$PIDFILE"); then
  klog "stopping broker (pid $pid)"
  kafka_stop_pid "$PIDFILE" broker 30
  klog "broker stopped"
else
  rm -f "$PIDFILE"
  klog "no broker started by kafka-start.sh is running"
fi

if $clean; then
  rm -rf "$STATE"
  klog "removed $STATE"
fi
