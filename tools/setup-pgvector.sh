#!/usr/bin/env bash
# Installs pgvector into PostgreSQL 15 (Debian 12), idempotently: skipped when vector.control is there already.
# 1. postgresql-15-pgvector when an apt source of this machine has it (bookworm has none);
# 2. otherwise Debian's own source package (trixie's pgvector 0.8.0) through a PRIVATE apt configuration under
#    $DEPS/apt (its own sources list, lists and caches), so the machine's apt sources and lists are never changed,
#    built with PGXS against postgresql-server-dev-15 and installed with `make install`.
# Usage: tools/setup-pgvector.sh [DEPS_DIR]   (needs root or sudo; postgresql-server-dev-15, dpkg-dev, gcc, make)
set -euo pipefail
DEPS=$(realpath -m "${1:-.deps}")
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
CONTROL=/usr/share/postgresql/15/extension/vector.control
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

if [ -e "$CONTROL" ]; then exit 0; fi
if apt-cache show postgresql-15-pgvector >/dev/null 2>&1; then
  echo "pgvector: installing postgresql-15-pgvector from apt"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql-15-pgvector
  exit 0
fi
[ -x "$PG_CONFIG" ] || { echo "pgvector: $PG_CONFIG missing: install postgresql-server-dev-15 first" >&2; exit 1; }

APT="$DEPS/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/src"
cat > "$APT/sources.list" <<SOURCES
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SOURCES
OPTS=(-o "Dir::Etc::sourcelist=$APT/sources.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$APT/lists"
      -o "Dir::Cache=$APT/cache" -o "APT::Get::List-Cleanup=0" -qq)
echo "pgvector: fetching Debian's pgvector source package (trixie) through a private apt configuration in $APT"
apt-get "${OPTS[@]}" update
rm -rf "$APT/src" && mkdir -p "$APT/src"
(cd "$APT/src" && apt-get "${OPTS[@]}" source pgvector)
SRC=$(find "$APT/src" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
[ -n "$SRC" ] || { echo "pgvector: apt-get source pgvector gave no source tree" >&2; exit 1; }
echo "pgvector: building $(basename "$SRC") against $($PG_CONFIG --version)"
# OPTFLAGS= : no -march=native, so the library runs on any x86-64 machine the folder is copied to (Debian builds it so too).
make -C "$SRC" -s USE_PGXS=1 PG_CONFIG="$PG_CONFIG" OPTFLAGS= -j"$(nproc)"
$SUDO make -C "$SRC" -s USE_PGXS=1 PG_CONFIG="$PG_CONFIG" OPTFLAGS= install
test -e "$CONTROL"
echo "pgvector: installed $(grep default_version "$CONTROL")"
