#!/usr/bin/env bash
# Runs one of Kafka's own tools against the local broker's version, resolving
# org.apache.kafka:kafka-tools once (see kafka_tools_resolve in kafka-lib.sh).
# Usage: bash scripts/kafka-tools.sh org.apache.kafka.tools.ProducerPerformance --topic t …
set -euo pipefail
# shellcheck source=kafka-lib.sh
source "$(dirname "$0")/kafka-lib.sh"
[[ $# -ge 1 ]] || kdie "usage: kafka-tools.sh MAIN_CLASS [ARGS...]"
kafka_tools_resolve
mapfile -d '' cmd < <(KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m}" kafka_tools_java "$@")
exec "${cmd[@]}"
