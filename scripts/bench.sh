#!/usr/bin/env bash
# Runs the benchmarks behind docs/BENCHMARKS.md on the release build. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
# Let ccache share objects between checkouts in different folders (CI clones anew).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target cloudpact ledger_bench http_load access_bench gateway_bench

B=build/release
echo "== in-process (Google Benchmark), SQLite and PostgreSQL on loopback"
PGDIR="$(mktemp -d /tmp/cloudpact-pg.XXXXXX)"
PGURL="$(bash scripts/pg.sh start "$PGDIR")"
psql -q "$PGURL" -c "CREATE DATABASE bench"
CLOUDPACT_BENCH_PG_URL="${PGURL%/postgres}/bench" $B/bench/ledger_bench --benchmark_counters_tabular=true
bash scripts/pg.sh stop "$PGDIR" >/dev/null

echo "== authorization checks (access_bench), then Cedar on the same dataset and check mix"
CEDAR="$(mktemp -d /tmp/cloudpact-cedar.XXXXXX)"
CLOUDPACT_CEDAR_EXPORT_DIR="$CEDAR" $B/bench/access_bench --benchmark_counters_tabular=true \
  --benchmark_out="$CEDAR/access_bench.json" --benchmark_out_format=json
(cd bench/cedar && npm ci --no-audit --no-fund --loglevel=error &&
  node cedar_bench.mjs "$CEDAR" --cloudpact "$CEDAR/access_bench.json")
rm -rf "$CEDAR"

echo "== SSH gateway vs direct SSH to the same sshd (gateway_bench)"
$B/bench/gateway_bench

echo "== over HTTP"
DATA="$(mktemp -d /tmp/cloudpact-bench.XXXXXX)"
$B/apps/cloudpact/cloudpact serve --data-dir "$DATA/data" --listen 127.0.0.1:18181 2>"$DATA/server.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18181/healthz >/dev/null 2>&1 && break; sleep 0.1; done
echo "-- closed loop, 64 clients"
$B/bench/http_load --url http://127.0.0.1:18181 --token-file "$DATA/data/initial-admin-token" --clients 64 --seconds 10
echo "-- fixed offered load 10000/s, 64 clients"
$B/bench/http_load --url http://127.0.0.1:18181 --token-file "$DATA/data/initial-admin-token" --clients 64 --seconds 10 --rate 10000
echo "-- server resident memory after $(curl -fs http://127.0.0.1:18181/healthz)"
grep VmRSS /proc/$pid/status
echo "-- checkpoint delay (server metrics)"
curl -fs http://127.0.0.1:18181/metrics | grep -E '^cloudpact_ledger_checkpoint_delay_seconds|^cloudpact_ledger_batch_size_(sum|count)'
