#!/usr/bin/env bash
# dropped-session.sh: a client finishes 10000 numbers although the server drops every
# connection after 50 ms (the reference's scenario 3, in one command).
#
# Usage: examples/dropped-session.sh [BUILD_DIR]
#   BUILD_DIR holds numsequence-server and numsequence-client (default: ./build/release/apps,
#   where scripts/build puts them).
#   NUMSEQUENCE_SERVER and NUMSEQUENCE_CLIENT, if set, name each binary directly.
#
# The server runs in test mode, so the numbers are the reference's and the result is known
# in advance: SUM 504721, checksum 589f9ca74cb5ea9a32eddd14840d5b64.
set -euo pipefail

build_dir=${1:-./build/release/apps}
server=${NUMSEQUENCE_SERVER:-$build_dir/numsequence-server}
client=${NUMSEQUENCE_CLIENT:-$build_dir/numsequence-client}
for bin in "$server" "$client"; do
  if [[ ! -x $bin ]]; then
    echo "not found: $bin (build first, or pass the build directory)" >&2
    exit 2
  fi
done
server=$(cd "$(dirname "$server")" && pwd)/$(basename "$server")
client=$(cd "$(dirname "$client")" && pwd)/$(basename "$client")

work=$(mktemp -d)
server_pid=
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Port 0: the server picks a free port and says which on its first stdout line.
# --interval 0.0005 paces the batches so that even a fast machine sees many drops.
mkfifo "$work/server-stdout"
TEST_MODE=1 "$server" 0 --session-timeout 0.05 --interval 0.0005 \
  >"$work/server-stdout" 2>"$work/server.log" &
server_pid=$!
exec 3<"$work/server-stdout"  # kept open until the end, so the server can always write
if ! read -r -t 10 ready <&3; then
  echo "the server did not start within 10 s; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
port=${ready##*:}
echo "server: $ready (test mode, every connection dropped after 50 ms)"

# The client keeps its state file in its working directory.
cd "$work"
id=123e4567-e89b-12d3-a456-426614174000
echo
echo "\$ numsequence-client NEW 10000 $port --client_id $id --json"
status=0
"$client" NEW 10000 "$port" --client_id "$id" --json >result.json || status=$?
cat result.json
reconnects=$(sed -n 's/.*"reconnects":[[:space:]]*\([0-9]*\).*/\1/p' result.json)
echo "exit status $status; the client reconnected ${reconnects:-?} times and resumed each time"

# A finished session can be re-checked from the state file (the reference's scenario 4).
echo
echo "\$ numsequence-client CONTINUE $port"
"$client" CONTINUE "$port" || status=$?

kill -TERM "$server_pid"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=
echo
echo "server stopped (exit status $server_status)"
exit "$status"
