#!/usr/bin/env bash
# Runs a private PostgreSQL 15 cluster on loopback, without systemd, for tests and scale-out demos.
#   tools/postgres-local.sh start   DIR PORT   initdb in DIR/data (first time), start on 127.0.0.1:PORT, socket in DIR
#   tools/postgres-local.sh stop    DIR PORT   pg_ctl stop (fast)
#   tools/postgres-local.sh restart DIR PORT   pg_ctl restart (fast): every connection drops, committed data stays
# Superuser media, password media (scram-sha-256): postgresql://media:media@127.0.0.1:PORT/postgres. Needs
# postgresql-15 and pgvector (make postgres). The binaries are Debian's under /usr/lib/postgresql/15/bin, named
# explicitly: /usr/local/bin/pg_ctl may be anything. Run as root, the cluster runs as the postgres user.
set -euo pipefail
cmd=${1:?start|stop|restart}; dir=$(realpath -m "${2:?DIR}"); port=${3:?PORT}
bin=/usr/lib/postgresql/15/bin
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
ctl() { as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" "$@"; }
case $cmd in
  start)
    [ -x "$bin/initdb" ] || { echo "$bin/initdb missing: make postgres installs postgresql-15" >&2; exit 1; }
    [ -e /usr/share/postgresql/15/extension/vector.control ] || { echo "pgvector is not installed: make postgres builds it" >&2; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    if [ ! -e "$dir/data/PG_VERSION" ]; then
      echo media | as_postgres tee "$dir/pwfile" >/dev/null
      as_postgres "$bin/initdb" -D "$dir/data" -U media --pwfile="$dir/pwfile" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    fi
    ctl -w -t 60 -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
    echo "postgres up on 127.0.0.1:$port ($dir)" ;;
  stop)
    [ -e "$dir/data/postmaster.pid" ] && ctl -m fast -w stop >/dev/null || true ;;
  restart)
    ctl -m fast -w -t 60 -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" restart >/dev/null
    echo "postgres restarted on 127.0.0.1:$port" ;;
  *) echo "usage: $0 start|stop|restart DIR PORT" >&2; exit 2 ;;
esac
