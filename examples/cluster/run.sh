#!/usr/bin/env bash
# Starts Redis, three numsequence servers sharing it and HAProxy in front of them, all on
# loopback, then runs one client session through HAProxy. A short session timer makes the
# client reconnect every 50 ms, so its session moves round-robin over all three servers.
#
#   examples/cluster/run.sh [BUILD_DIR]      (default: build/release; run scripts/build first)
#
# Ports: Redis 6390, servers 5101-5103, HAProxy 5100 (see haproxy.cfg).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$(cd "${1:-$root/build/release}" && pwd)/apps"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits (at most 10 s) until FILE contains TEXT: each program says when it is ready.
wait_for() {
  local file="$1" text="$2"
  for _ in $(seq 100); do grep -q "$text" "$file" 2>/dev/null && return 0; sleep 0.1; done
  echo "not ready: $file" >&2; cat "$file" >&2; exit 1
}

redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
wait_for "$work/redis.log" "Ready to accept connections"
echo "redis-server on 127.0.0.1:6390"

for i in 1 2 3; do
  TEST_MODE=1 "$bin/numsequence-server" 510$i --store redis://127.0.0.1:6390 \
    --session-timeout 0.05 --interval 0.0002 >"$work/server$i.out" 2>"$work/server$i.log" &
  pids+=($!)
  wait_for "$work/server$i.out" "listening on"
  echo "numsequence-server $i: $(cat "$work/server$i.out")"
done

haproxy -db -f "$here/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do nc -z 127.0.0.1 5100 2>/dev/null && break; sleep 0.1; done
echo "haproxy on 127.0.0.1:5100 (round-robin over 5101-5103)"

cd "$work"
echo
echo "\$ numsequence-client NEW 65535 5100 --client_id 123e4567-e89b-12d3-a456-426614174000 \\"
echo "      --server 127.0.0.1:5101 --server 127.0.0.1:5102 --server 127.0.0.1:5103"
"$bin/numsequence-client" NEW 65535 5100 --client_id 123e4567-e89b-12d3-a456-426614174000 \
  --server 127.0.0.1:5101 --server 127.0.0.1:5102 --server 127.0.0.1:5103
echo
for i in 1 2 3; do
  echo "server $i: $(grep -c ' created \| continued' "$work/server$i.log") connections of the session"
done
