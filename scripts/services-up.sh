#!/usr/bin/env bash
# Brings up the real services the tests use (Kafka on 127.0.0.1:9092, Redis on 127.0.0.1:6379)
# unless they already answer. Each starter waits until its server answers, or fails loudly.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/redis-start.sh"
bash "$here/kafka-start.sh" --fresh
