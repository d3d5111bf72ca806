#!/usr/bin/env bash
# Installs what cloudpact needs to build, run and test on Debian 12. Idempotent: packages
# already present are not touched, and apt-get runs only when something is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make git
  # libraries (see docs/DEPENDENCIES.md for why each)
  libboost1.74-dev libssl-dev libsqlite3-dev libpq-dev nlohmann-json3-dev libcli11-dev
  libargon2-dev liboath-dev libyaml-cpp-dev libssh-dev libre2-dev libzstd-dev libsimdjson-dev
  # tests, fuzzing and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev
  postgresql curl procps openssl openssh-client openssh-server zstd asciinema golang-go golang-golang-x-mod-dev
  python3-jsonschema  # validates OSCAL exports against the official schema (src/assess tests)
  # the web console's browser tests (console/e2e) drive Debian's Chromium headless; the
  # font gives its Simplified Chinese pages real glyphs in the kept screenshots
  chromium fonts-wqy-microhei
)
# The console (console/) is built with Node.js and npm. Judge them by the commands, not by
# package names: NodeSource's nodejs bundles npm and conflicts with Debian's npm package,
# and a node installed outside dpkg is fine too.
if ! command -v node >/dev/null; then
  PACKAGES+=(nodejs npm)
elif ! command -v npm >/dev/null; then
  PACKAGES+=(npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Wait for another apt (a parallel setup) instead of failing on its lock.
  $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
fi
