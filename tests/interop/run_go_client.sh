#!/usr/bin/env bash
# Interop test: a tlog-tiles client that cloudpact did not write (Go's
# golang.org/x/mod/sumdb/note and sumdb/tlog, from Debian) verifies a running
# `cloudpact serve`: checkpoint signature, root from the tiles, inclusion of every entry,
# and consistency with earlier checkpoints. It must also reject a wrong key and a fork.
#
#   tests/interop/run_go_client.sh CLOUDPACT_BIN [OUT_DIR]
#
# OUT_DIR (default build/interop) receives the Go client and its build cache.
# Loopback only. Exit 0 on success, non-zero on failure, including when Go or
# golang.org/x/mod is missing: scripts/setup.sh installs both, and a run without the
# independent client must not look green.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${1:?usage: run_go_client.sh CLOUDPACT_BIN [OUT_DIR]}"
OUT="${2:-$ROOT/build/interop}"
GOSRC=/usr/share/gocode
ENTRIES=600

die() { echo "interop: FAIL: $*" >&2; exit 1; }
say() { echo "interop: $*" >&2; }

[ -x "$BIN" ] || die "$BIN is not an executable"
if ! command -v go >/dev/null || [ ! -d "$GOSRC/src/golang.org/x/mod/sumdb/tlog" ]; then
  die "needs Debian packages golang-go and golang-golang-x-mod-dev (run scripts/setup.sh)"
fi

# --- Build the independent client (GOPATH mode, Debian's sources, no network). -------
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
CLIENT="$OUT/tlog_client"
(cd "$HERE/tlog_client" &&
  GO111MODULE=off GOPATH="$GOSRC" GOCACHE="$OUT/gocache" GOFLAGS= GOPROXY=off \
    go build -o "$CLIENT" main.go) || die "building the Go client"

# --- Servers ------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cloudpact-interop.XXXXXX")"
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f (tail)" >&2; tail -n 5 "$f" >&2; }; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_server NAME DATA_DIR [ARGS...]: starts `cloudpact serve` on 127.0.0.1:0 and sets
# URL to the base URL it logs ({"msg":"cloudpact serving","url":...}).
start_server() {
  local name=$1 dir=$2; shift 2
  local log="$WORK/$name.log"
  "$BIN" serve --data-dir "$dir" --listen 127.0.0.1:0 --ssh-listen 127.0.0.1:0 --checkpoint-interval 100ms "$@" \
    >/dev/null 2>"$log" &
  PIDS+=($!)
  local pid=$!
  URL=""
  for _ in $(seq 300); do
    URL="$(grep '"cloudpact serving"' "$log" 2>/dev/null |
      sed -n 's/.*"url":"\([^"]*\)".*/\1/p' | head -n1 || true)"
    [ -n "$URL" ] && break
    kill -0 "$pid" 2>/dev/null || die "server $name exited: $(tail -n 3 "$log")"
    sleep 0.1
  done
  [ -n "$URL" ] || die "server $name did not log its URL"
  URL="${URL%/}"
  case "$URL" in http://127.0.0.1:*) ;; *) die "server $name is not on loopback: $URL" ;; esac
}

# append URL TOKEN TAG FROM COUNT: appends COUNT entries with one curl process.
append() {
  local url=$1 token=$2 tag=$3 from=$4 count=$5 cfg="$WORK/curl.cfg" i
  : >"$cfg"
  for ((i = from; i < from + count; i++)); do
    [ "$i" -eq "$from" ] || echo "next" >>"$cfg"
    cat >>"$cfg" <<EOF
url = "$url/v1/ledger/entries"
header = "Authorization: Bearer $token"
header = "Content-Type: application/json"
data = "{\"type\":\"interop.test\",\"body\":{\"i\":$i,\"tag\":\"$tag\"}}"
output = "/dev/null"
write-out = "%{http_code}\n"
max-time = 30
EOF
  done
  local codes ok
  codes="$(curl -s -K "$cfg" || true)"
  ok="$(grep -c '^201$' <<<"$codes" || true)"
  [ "$ok" -eq "$count" ] || die "appending to $url: $ok of $count answered 201 (codes: $(sort <<<"$codes" | uniq -c | tr '\n' ' '))"
}

# wait_checkpoint URL SIZE: waits for a checkpoint of exactly SIZE; sets CP_SIZE, CP_ROOT.
wait_checkpoint() {
  local url=$1 want=$2 cp
  for _ in $(seq 200); do
    cp="$(curl -s --max-time 5 "$url/ledger/checkpoint" || true)"
    CP_SIZE="$(sed -n 2p <<<"$cp")"
    CP_ROOT="$(sed -n 3p <<<"$cp")"
    [ "$CP_SIZE" = "$want" ] && return 0
    sleep 0.1
  done
  die "no checkpoint of size $want at $url (last: ${CP_SIZE:-none})"
}

# client ARGS...: runs the Go client; must pass.
client_ok() {
  local out
  out="$("$CLIENT" "$@" 2>&1)" || die "Go client rejected a good log: $out"
  echo "$out"
}
# client_fails WHAT ARGS...: runs the Go client; must fail with exit status 1.
client_fails() {
  local what=$1 out rc=0; shift
  out="$("$CLIENT" "$@" 2>&1)" || rc=$?
  [ $rc -eq 1 ] || die "Go client did not reject $what (exit $rc): $out"
  say "rejected $what as expected: $out"
}

mkdir -m 700 "$WORK/a" "$WORK/b" "$WORK/c"

# Server A: the log under test.
start_server a "$WORK/a"
A="$URL"
VKEY="$(cat "$WORK/a/ledger-key.pub")"
ORIGIN="${VKEY%%+*}"
TOKEN="$(cat "$WORK/a/initial-admin-token")"
say "server A at $A, origin $ORIGIN"

# Every new log starts with one entry: the issuance of its initial admin token.
BASE=1

# Grow A, remembering checkpoints at sizes on both sides of the tile boundary.
declare -A ROOT_AT
n=$BASE
for size in 1 100 256 257 $ENTRIES; do
  if [ "$size" -gt "$n" ]; then append "$A" "$TOKEN" a "$n" $((size - n)); fi
  n=$size
  wait_checkpoint "$A" "$size"
  ROOT_AT[$size]="$CP_ROOT"
done

# The full check, and consistency from every earlier checkpoint.
client_ok -url "$A/ledger" -vkey "$VKEY"
for old in 1 100 256 257 $ENTRIES; do
  client_ok -url "$A/ledger" -vkey "$VKEY" -old-size "$old" -old-root "${ROOT_AT[$old]}" >/dev/null
done
say "consistency proofs from sizes 1, 100, 256, 257 and $ENTRIES verified"

# Negative: a wrong key. Server B has the same origin but its own key.
start_server b "$WORK/b" --ledger-origin "$ORIGIN"
B="$URL"
OTHER_VKEY="$(cat "$WORK/b/ledger-key.pub")"
[ "$OTHER_VKEY" != "$VKEY" ] || die "server B reused A's key"
append "$B" "$(cat "$WORK/b/initial-admin-token")" b 0 3
wait_checkpoint "$B" $((BASE + 3))
client_fails "A's checkpoint under another key" -url "$A/ledger" -vkey "$OTHER_VKEY"
client_fails "another log's checkpoint under A's key" -url "$B/ledger" -vkey "$VKEY"

# Negative: a wrong earlier root.
client_fails "a wrong old root" -url "$A/ledger" -vkey "$VKEY" -old-size 100 -old-root "${ROOT_AT[256]}"

# Negative: a fork. Server C holds A's signing key but different entries. Its checkpoint
# is validly signed; only consistency with what A showed earlier exposes it.
install -m 600 "$WORK/a/ledger-key" "$WORK/c/ledger-key"
start_server c "$WORK/c"
C="$URL"
append "$C" "$(cat "$WORK/c/initial-admin-token")" fork 0 300
wait_checkpoint "$C" $((BASE + 300))
client_ok -url "$C/ledger" -vkey "$VKEY" >/dev/null
client_fails "a fork signed with A's key" -url "$C/ledger" -vkey "$VKEY" -old-size 256 -old-root "${ROOT_AT[256]}"

say "PASS: Go's sumdb/note and sumdb/tlog verified cloudpact's checkpoint, tiles, $ENTRIES entries, inclusion and consistency"
