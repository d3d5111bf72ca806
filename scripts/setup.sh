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
  nodejs $(command -v npm >/dev/null || echo npm)  # npm ships inside NodeSource's nodejs, which conflicts with Debian's npm
)

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
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
