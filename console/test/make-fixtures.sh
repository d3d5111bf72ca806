#!/bin/sh
# Generates verification test vectors from the server's own proofs: starts
# `cloudpact serve --demo` on a temporary data dir and a free loopback port, runs
# make-fixtures.mjs against it, and stops it.
#   console/test/make-fixtures.sh BINARY [OUT.json]
# OUT defaults to console/test/fixtures/live-server.json, which verify.test.mjs picks up
# next to the committed static.json.
set -eu
bin=${1:?usage: make-fixtures.sh path/to/cloudpact [OUT.json]}
here=$(cd "$(dirname "$0")" && pwd)
out=${2:-$here/fixtures/live-server.json}
tmp=$(mktemp -d)
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
"$bin" serve --data-dir "$tmp/data" --listen "127.0.0.1:$port" --ssh-listen off --demo --checkpoint-interval 100ms \
  >"$tmp/server.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
i=0
until node -e "fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" "http://127.0.0.1:$port/healthz" 2>/dev/null; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "make-fixtures: the server did not start:" >&2
    cat "$tmp/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
node "$here/make-fixtures.mjs" "http://127.0.0.1:$port" "$tmp/data" "$out"
