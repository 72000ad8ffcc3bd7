#!/usr/bin/env bash
# PostgreSQL from the Debian binaries, cluster in .services/pg owned by the `postgres` OS user
# (the server refuses to run as root).
#   postgres.sh prepare | up | down
set -euo pipefail
SERVICE=postgres
# shellcheck source=scripts/services/lib.sh
source "$(dirname "$0")/lib.sh"

PGDATA="$STATE/pg"
LOGFILE="$LOGS/postgres.log"
STOP_SIGNAL=INT # fast shutdown (TERM waits for clients), used when replacing a stale server
SOCKET_DIR=/tmp # short path: a deep clone folder could exceed the 107-byte socket path limit

pg_bin() { find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n1; }

as_pg() { # from /, since the postgres user may not be allowed into the checkout (see place_data_dir)
  if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# The server tools get the real path: the postgres user cannot follow a symlink inside .services
# when it cannot enter the checkout.
resolve_data_dir() {
  if [[ -L $PGDATA ]]; then PGDATA=$(readlink -f "$PGDATA"); fi
}

sql_login() { # the check the tests depend on: the sds role logs into the sds database over TCP
  PGPASSWORD=sds PGCONNECT_TIMEOUT=3 "$BIN/psql" -X -q -h "$HOST" -p "$POSTGRES_PORT" -U sds -d sds \
    -tAc 'select 1' | grep -qx 1
}

prepare() {
  if [[ -z $(pg_bin) ]]; then
    apt_install postgresql
  fi
  [[ -n $(pg_bin) ]] || die "PostgreSQL binaries not found under /usr/lib/postgresql"
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    die "the postgres OS user is missing (apt-get install postgresql creates it)"
  fi
}

# When the postgres user cannot reach .services (a clone under a private folder such as a 0700
# mktemp dir), the cluster lives under /var/tmp and .services/pg is a symlink to it.
place_data_dir() {
  [[ -e $PGDATA ]] && return 0
  if [[ $(id -u) -ne 0 ]] || runuser -u postgres -- test -x "$STATE"; then
    mkdir -p "$PGDATA"
  else
    local outside
    outside="/var/tmp/sds-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
    rm -rf "$outside"
    mkdir -p "$outside"
    ln -s "$outside" "$PGDATA"
    log "postgres cannot reach $STATE; cluster placed in $outside"
  fi
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PGDATA/"
  chmod 700 "$PGDATA/"
}

init_once() {
  [[ -f $PGDATA/PG_VERSION ]] && return 0
  place_data_dir
  resolve_data_dir
  log "initdb ${PGDATA#"$ROOT"/}"
  as_pg "$BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --no-locale --no-sync \
    --auth-local=trust --auth-host=scram-sha-256 >"$LOGS/initdb.log" 2>&1 ||
    die_with_log "initdb failed" "$LOGS/initdb.log"
  echo "include_if_exists = 'sds.conf'" >>"$PGDATA/postgresql.conf"
}

write_config() {
  # Rewritten on every start so a changed setting here takes effect without a new cluster.
  as_pg tee "$PGDATA/sds.conf" >/dev/null <<CONF
listen_addresses = '$HOST'
port = $POSTGRES_PORT
unix_socket_directories = '$SOCKET_DIR'
max_connections = 200
shared_buffers = 128MB
# Test data is disposable: trade durability for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
}

ensure_role() {
  local psql=(as_pg "$BIN/psql" -X -q -h "$SOCKET_DIR" -p "$POSTGRES_PORT" -U postgres -d postgres -tA)
  if [[ $("${psql[@]}" -c "select 1 from pg_roles where rolname = 'sds'") != 1 ]]; then
    "${psql[@]}" -c "create role sds login superuser password 'sds'"
  fi
  if [[ $("${psql[@]}" -c "select 1 from pg_database where datname = 'sds'") != 1 ]]; then
    "${psql[@]}" -c "create database sds owner sds"
  fi
}

up() {
  provision # the binaries are needed even to probe (psql), so always; a no-op once installed
  BIN=$(pg_bin)
  resolve_data_dir
  if [[ -f $PGDATA/PG_VERSION ]] && as_pg "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    wait_until 60 "$LOGFILE" "PostgreSQL" sql_login
    log "already running (pid $(head -n1 "$PGDATA/postmaster.pid"))"
    return 0
  fi
  adopt_or_clear "$POSTGRES_PORT" "postgres" sql_login && return 0
  init_once
  write_config
  [[ -L $LOGFILE ]] || touch "$LOGFILE"
  [[ $(id -u) -eq 0 && ! -L $LOGFILE ]] && chown postgres "$LOGFILE"
  if ! as_pg test -w "$LOGFILE"; then # the private-folder case of place_data_dir
    ln -sfn "$PGDATA/postgres.log" "$LOGFILE"
    LOGFILE="$PGDATA/postgres.log"
  fi
  log "starting on $HOST:$POSTGRES_PORT (log: ${LOGFILE#"$ROOT"/})"
  # pg_ctl detaches the server; its cwd is the data directory (orphan detection in adopt_or_clear).
  as_pg "$BIN/pg_ctl" -D "$PGDATA" -l "$LOGFILE" -w -t 60 start >/dev/null ||
    die_with_log "pg_ctl start failed" "$LOGFILE"
  wait_until 30 "$LOGFILE" "PostgreSQL" "$BIN/pg_isready" -q -h "$HOST" -p "$POSTGRES_PORT"
  ensure_role
  wait_until 30 "$LOGFILE" "PostgreSQL login as sds" sql_login
  log "ready"
}

down() {
  BIN=$(pg_bin)
  resolve_data_dir
  if [[ -n $BIN && -f $PGDATA/PG_VERSION ]] && as_pg "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    log "stopping"
    as_pg "$BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null
  fi
}

"${1:?usage: postgres.sh prepare|up|down}"
