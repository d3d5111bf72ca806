#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit and end-to-end suites on the
# ASan+UBSan `dev` build against SQLite and a real PostgreSQL server started here on
# loopback, then each libFuzzer target over its corpus. This is what `.ci/run` runs.
set -euo pipefail
cd "$(dirname "$0")/.."
# Let ccache share objects between checkouts in different folders (CI clones anew).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true

bash scripts/setup.sh

echo "== build (dev: ASan+UBSan)"
cmake --preset dev >/dev/null
cmake --build --preset dev

echo "== PostgreSQL on loopback"
PGDIR="$(mktemp -d /tmp/cloudpact-pg.XXXXXX)"
cleanup() { bash scripts/pg.sh stop "$PGDIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
CLOUDPACT_TEST_PG_URL="$(bash scripts/pg.sh start "$PGDIR")"
export CLOUDPACT_TEST_PG_URL
echo "PostgreSQL: $CLOUDPACT_TEST_PG_URL"

echo "== unit and end-to-end tests"
ctest --preset dev

echo "== fuzz targets (clang-14 libFuzzer)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
ctest --test-dir build/fuzz --output-on-failure -j 2
