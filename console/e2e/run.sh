#!/bin/sh
# End-to-end tests of the console in Debian's Chromium against a real server:
#   console/e2e/run.sh path/to/cloudpact [ARTIFACTS_DIR]
# Starts `cloudpact serve --demo` on a temporary data dir and a free loopback port, serving
# the built console (console/dist; built here if missing) at `/` with --console-dir, runs
# e2e/*.test.mjs, and stops the server. A binary without --console-dir (before the console
# was served by cloudpact) gets e2e/serve-dist.mjs in front of it instead.
# Screenshots go to ARTIFACTS_DIR (default: $CLOUDPACT_ARTIFACTS, else console/e2e/artifacts).
set -eu
bin=${1:?usage: e2e/run.sh path/to/cloudpact [ARTIFACTS_DIR]}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
here=$(cd "$(dirname "$0")" && pwd)
console=$(dirname "$here")
artifacts=${2:-${CLOUDPACT_ARTIFACTS:-$here/artifacts}}
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "e2e: $chromium is missing (apt-get install chromium)" >&2; exit 1; }
[ -d "$console/node_modules/playwright-core" ] || (cd "$console" && npm ci --no-audit --no-fund)
[ -f "$console/dist/index.html" ] || (cd "$console" && npm run build)

up() { node -e "fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" "$1" 2>/dev/null; }
freeport() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
tmp=$(mktemp -d)
port=$(freeport)
pids=
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

extra=
# CLOUDPACT_CSP=POLICY puts e2e/serve-dist.mjs in front to try another Content-Security-Policy.
if [ -z "${CLOUDPACT_CSP:-}" ] && "$bin" serve --help 2>/dev/null | grep -q -- '--console-dir'; then
  extra="--console-dir $console/dist"
fi
sshport=$(freeport)
# --checkpoint-interval 100ms: entries are covered by a checkpoint quickly. The SSH gateway
# listens on loopback so that the session routes (/v1/sessions…) exist.
# shellcheck disable=SC2086
"$bin" serve --data-dir "$tmp/data" --listen "127.0.0.1:$port" --ssh-listen "127.0.0.1:$sshport" --demo \
  --checkpoint-interval 100ms $extra >"$tmp/server.log" 2>&1 &
pids="$pids $!"
server=$!
i=0
until up "http://127.0.0.1:$port/healthz"; do
  i=$((i + 1))
  if [ $i -gt 150 ] || ! kill -0 "$server" 2>/dev/null; then
    echo "e2e: the server did not start:" >&2
    cat "$tmp/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
api="http://127.0.0.1:$port"
console_url=$api
if [ -z "$extra" ]; then
  cport=$(freeport)
  node "$here/serve-dist.mjs" "$console/dist" "$api" "$cport" >"$tmp/console.log" 2>&1 &
  pids="$pids $!"
  console_url="http://127.0.0.1:$cport"
  i=0
  until up "$console_url/"; do
    i=$((i + 1)); [ $i -gt 50 ] && { cat "$tmp/console.log" >&2; exit 1; }; sleep 0.1
  done
fi

mkdir -p "$artifacts"
status=0
# One file at a time: they share the server (and node --test would run files in parallel).
for f in "$here"/*.test.mjs; do
  CLOUDPACT_URL=$api CLOUDPACT_CONSOLE_URL=$console_url CLOUDPACT_DATA_DIR=$tmp/data \
    CLOUDPACT_ARTIFACTS=$artifacts CHROMIUM=$chromium \
    node --test "$f" || status=$?
done
if [ $status -ne 0 ]; then
  echo "e2e: failed; server log:" >&2
  tail -n 50 "$tmp/server.log" >&2
fi
echo "e2e: screenshots in $artifacts"
exit $status
