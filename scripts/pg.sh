#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests (the PostgreSQL storage backend needs a real
# server; there is no embedded mode).
#
#   scripts/pg.sh start DIR   initialise (if needed) and start a cluster under DIR; prints
#                             exactly one line on stdout, the connection URL
#   scripts/pg.sh stop DIR    stop it and remove DIR
#
# Layout: DIR/data is the cluster, DIR/log holds the server and initdb logs, and the unix
# socket lives in DIR itself so that nothing is written to /run or /tmp. The server listens
# on 127.0.0.1 only, with trust auth for loopback only: anything else on the machine that can
# reach loopback can use it, so never point it at data you care about. fsync stays on so
# that the durability the tests assume is the durability production gets.
#
# Works as root (PostgreSQL refuses to run as root, so the server runs as the `postgres`
# system user via runuser) and as an ordinary user.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
FIRST_PORT=${PG_FIRST_PORT:-54320}
PORT_ATTEMPTS=50
MARKER=.cloudpact-pg  # only directories holding this are ever removed by `stop`

die() {
  echo "pg.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

# Runs a server command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# True if nothing is listening on 127.0.0.1:$1. Another process may still take the port
# before the server binds it; start() then retries with the next port.
port_free() {
  if command -v ss >/dev/null 2>&1; then
    [ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
  else
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 1; fi
  fi
}

# The port of the running server, from the fourth line of postmaster.pid.
running_port() {
  sed -n 4p "$DIR/data/postmaster.pid" 2>/dev/null
}

is_running() {
  [ -f "$DIR/data/PG_VERSION" ] && as_owner "$PGBIN/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1
}

url() {
  echo "postgresql://postgres@127.0.0.1:$1/postgres"
}

init_cluster() {
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user"
    chown postgres: "$DIR"
    runuser -u postgres -- test -w "$DIR" ||
      die "user postgres cannot write $DIR (is a parent directory private to root?)"
  fi
  if [ -n "$(ls -A "$DIR")" ]; then
    die "$DIR is not empty and holds no cluster; refusing to use it"
  fi
  touch "$DIR/$MARKER"
  as_owner mkdir -m 700 "$DIR/log"
  if ! as_owner "$PGBIN/initdb" -D "$DIR/data" -U postgres -E UTF8 --locale=C \
      --auth-local=peer --auth-host=reject >"$DIR/log/initdb.log" 2>&1; then
    cat "$DIR/log/initdb.log" >&2
    die "initdb failed (log: $DIR/log/initdb.log)"
  fi
  # Trust only loopback TCP; unix socket connections must come from the owner.
  as_owner tee "$DIR/data/pg_hba.conf" >/dev/null <<EOF
local all all peer
host  all all 127.0.0.1/32 trust
EOF
  as_owner tee -a "$DIR/data/postgresql.conf" >/dev/null <<EOF

# scripts/pg.sh: throwaway test server
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
fsync = on
synchronous_commit = on
max_connections = 200
logging_collector = off
EOF
}

start() {
  if [ -f "$DIR/data/PG_VERSION" ]; then
    [ -f "$DIR/$MARKER" ] || die "$DIR holds a cluster not made by pg.sh; refusing to use it"
    if is_running; then
      # Already up: report the same URL again, so that `start` is safe to repeat.
      url "$(running_port)"
      return
    fi
  else
    init_cluster
  fi

  local port=$FIRST_PORT attempt log="$DIR/log/postgresql.log"
  for ((attempt = 0; attempt < PORT_ATTEMPTS; attempt++, port++)); do
    port_free "$port" || continue
    local seen
    seen=0
    [ -f "$log" ] && seen=$(wc -l <"$log")
    if as_owner "$PGBIN/pg_ctl" start -D "$DIR/data" -l "$log" -w -t 60 -o "-p $port" \
        >>"$DIR/log/pg_ctl.log" 2>&1; then
      # pg_ctl -w waits for the postmaster to report ready; also check that it accepts
      # TCP connections, which is what the tests use.
      local i
      for ((i = 0; i < 60; i++)); do
        if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
          url "$port"
          return
        fi
        sleep 0.5
      done
      as_owner "$PGBIN/pg_ctl" stop -D "$DIR/data" -m immediate >/dev/null 2>&1 || true
      tail -n 20 "$log" >&2 || true
      die "server started but does not accept connections on 127.0.0.1:$port (log: $log)"
    fi
    # Lost a race for the port: try the next one. Any other failure is fatal. Only this
    # attempt's part of the log counts; it is appended to across attempts and restarts.
    if ! tail -n "+$((seen + 1))" "$log" 2>/dev/null | grep -q "Address already in use"; then
      tail -n "+$((seen + 1))" "$log" 2>/dev/null | tail -n 20 >&2 || true
      die "server failed to start (log: $log)"
    fi
  done
  die "no free port in $FIRST_PORT..$((FIRST_PORT + PORT_ATTEMPTS - 1))"
}

stop() {
  [ -e "$DIR" ] || return 0  # already stopped and removed
  [ -f "$DIR/$MARKER" ] || die "$DIR was not made by pg.sh; refusing to remove it"
  if is_running; then
    as_owner "$PGBIN/pg_ctl" stop -D "$DIR/data" -m fast -w -t 60 >>"$DIR/log/pg_ctl.log" 2>&1 ||
      die "pg_ctl stop failed (log: $DIR/log/pg_ctl.log)"
  fi
  rm -rf -- "$DIR"
}

[ $# -eq 2 ] || usage
[ -n "$2" ] || usage
[ -x "$PGBIN/pg_ctl" ] || die "PostgreSQL 15 not found in $PGBIN (scripts/setup.sh installs it)"
# Absolute, because the server runs from / (the postgres user may not enter the caller's
# working directory).
DIR=$(realpath -m -- "$2")
case "$DIR" in
  /) die "refusing to use / as the server directory" ;;
  *"'"* | *[[:space:]]*) die "DIR must not contain quotes or whitespace: $DIR" ;;
esac
# The socket path ($DIR/.s.PGSQL.PORT) must fit in sun_path (108 bytes).
[ ${#DIR} -le 90 ] || die "DIR path is too long for a unix socket: $DIR"
cd /

case "$1" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
