#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests of the postgres state backend (tests/state/test_postgres*.py).
#
#   eval "$(.ci/postgres.sh start)"   # initdb + pg_ctl in a temp dir, 127.0.0.1, a free port; prints the
#                                     # exports RECONCILER_TEST_PG_URL (with a generated password) and
#                                     # RECONCILER_TEST_PG_DIR
#   python -m pytest tests/state
#   .ci/postgres.sh stop              # stops the server of $RECONCILER_TEST_PG_DIR and deletes its directory
#
# Loopback TCP needs the password (scram-sha-256); the server's own socket lives in its directory.
# initdb refuses to run as root: as root, the server runs as the `postgres` user.
set -euo pipefail

find_bin() {
  local name=$1 dir
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  for dir in /usr/local/bin /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    if [ -x "$dir/$name" ]; then echo "$dir/$name"; return; fi
  done
  echo "postgres.sh: $name not found (install PostgreSQL 15 or newer)" >&2
  exit 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local initdb pg_ctl dir port password
  initdb=$(find_bin initdb)
  pg_ctl=$(find_bin pg_ctl)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/reconciler-pg.XXXXXX")
  chmod 700 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  printf '%s\n' "$password" > "$dir/pwfile"
  [ "$(id -u)" = 0 ] && chown postgres "$dir/pwfile"
  as_owner "$initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "export RECONCILER_TEST_PG_DIR='$dir'"
  echo "export RECONCILER_TEST_PG_URL='postgresql://postgres:$password@127.0.0.1:$port/postgres'"
}

stop() {
  local dir=${1:-${RECONCILER_TEST_PG_DIR:-}}
  [ -n "$dir" ] && [ -d "$dir/data" ] || { echo "postgres.sh: no server directory to stop" >&2; return 0; }
  as_owner "$(find_bin pg_ctl)" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop [DIR]" >&2; exit 2 ;;
esac
