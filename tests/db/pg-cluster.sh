#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, from Debian's packages (apt-get install postgresql); installs nothing.
#
#   tests/db/pg-cluster.sh start DIR   initdb in DIR (once), start it (or reuse it if it runs), print its URL
#   tests/db/pg-cluster.sh url DIR     print the URL of the cluster running in DIR
#   tests/db/pg-cluster.sh stop DIR    stop it (nothing to do when it is not running); DIR stays
#
# The URL is postgres://lobby:lobby@127.0.0.1:PORT/postgres: superuser `lobby`, password `lobby`
# (scram-sha-256 over TCP, on 127.0.0.1 only), PORT 54329 or the next free one (LOBBY_PG_PORT sets the
# first one tried). The server's unix socket is DIR/sock, its log DIR/postgres.log.
# PostgreSQL refuses to run as root: run as root, the cluster runs as LOBBY_PG_USER (default
# `postgres`, the user Debian's package creates) and DIR is handed to that user; run as anyone else,
# it runs as that user. Made for tests: fsync is off, so a machine crash may lose the cluster.
set -euo pipefail

usage() {
  echo "usage: $0 start|url|stop DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
case "$cmd" in start | url | stop) ;; *) usage ;; esac
if [ "$cmd" = stop ] && [ ! -d "$2" ]; then exit 0; fi
if [ "$cmd" = start ]; then mkdir -p "$2"; fi
dir=$(cd "$2" && pwd)
data=$dir/data

bin=${PG_BIN:-}
if [ -z "$bin" ]; then
  # The newest installed major version (PG_BIN overrides).
  bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
if [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
  echo "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2
  exit 1
fi

# Run a command as the cluster's owner.
if [ "$(id -u)" -eq 0 ]; then
  owner=${LOBBY_PG_USER:-postgres}
  if ! id "$owner" >/dev/null 2>&1; then
    echo "user $owner does not exist (Debian's postgresql package creates it; or set LOBBY_PG_USER)" >&2
    exit 1
  fi
  as_owner() { runuser -u "$owner" -- "$@"; }
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi

pg_ctl() { as_owner "$bin/pg_ctl" -D "$data" "$@"; }
running() { [ -f "$data/PG_VERSION" ] && pg_ctl status >/dev/null 2>&1; }
url() { echo "postgres://lobby:lobby@127.0.0.1:$(cat "$dir/port")/postgres"; }

# Whether something answers on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "$cmd" in
  stop)
    if running; then pg_ctl -m fast -w stop >/dev/null; fi
    exit 0
    ;;
  url)
    if ! running; then
      echo "no cluster runs in $dir" >&2
      exit 1
    fi
    url
    exit 0
    ;;
esac

if running; then
  url
  exit 0
fi

if [ ! -f "$data/PG_VERSION" ]; then
  if [ "$(id -u)" -eq 0 ]; then chown "$owner" "$dir"; fi
  if ! as_owner test -w "$dir"; then
    echo "$owner cannot write to $dir (and every directory above it must let $owner through)" >&2
    exit 1
  fi
  rm -rf "$data"
  pwfile=$dir/pwfile
  as_owner sh -c 'umask 077; echo lobby >"$1"' sh "$pwfile"
  as_owner "$bin/initdb" -D "$data" --username=lobby --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
  }
  rm -f "$pwfile"
  as_owner mkdir -p "$dir/sock"
  # Settings for a test cluster: loopback only, its own socket directory, speed over durability,
  # room for many test databases and pools at once.
  as_owner sh -c 'cat >>"$1"' sh "$data/postgresql.conf" <<EOF

# tests/db/pg-cluster.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
fi

port=${LOBBY_PG_PORT:-54329}
last=$((port + 100))
# A port nobody listens on may still be taken: a client's connection can hold it as its local
# (ephemeral) port, which no probe sees. Then the start fails with "Address already in use" and the
# next port is tried.
while :; do
  while port_busy "$port"; do
    port=$((port + 1))
    if [ "$port" -gt "$last" ]; then
      echo "no free port between ${LOBBY_PG_PORT:-54329} and $last on 127.0.0.1" >&2
      exit 1
    fi
  done
  echo "$port" >"$dir/port"
  # Emptied (as the owner, who writes it), so the log read below is this attempt's.
  as_owner sh -c ': >"$1"' sh "$dir/postgres.log"
  if pg_ctl -w -t 60 -l "$dir/postgres.log" -o "-p $port" start >/dev/null; then
    break
  fi
  if grep -q "Address already in use" "$dir/postgres.log" && [ "$port" -lt "$last" ]; then
    port=$((port + 1))
    continue
  fi
  echo "PostgreSQL did not start; its log, $dir/postgres.log:" >&2
  tail -n 30 "$dir/postgres.log" >&2 || true
  exit 1
done
url
