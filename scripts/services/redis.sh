#!/usr/bin/env bash
# Redis from Debian's redis-server, in-memory only (no RDB/AOF), daemonized.
#   redis.sh prepare | up | down
set -euo pipefail
SERVICE=redis
# shellcheck source=scripts/services/lib.sh
source "$(dirname "$0")/lib.sh"

HOME_DIR="$STATE/redis"
PIDFILE="$RUN/redis.pid"
LOGFILE="$LOGS/redis.log"

ping() {
  command -v redis-cli >/dev/null || return 1
  [[ $(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

prepare() {
  command -v redis-server >/dev/null || apt_install redis-server
  command -v redis-server >/dev/null || die "redis-server is still missing after apt-get install"
  # The Debian package enables a system redis on 6379; ours runs on its own port, so leave it be.
}

up() {
  if pid_alive "$PIDFILE" redis-server; then
    wait_until 20 "$LOGFILE" "Redis" ping
    log "already running (pid $(<"$PIDFILE"))"
    return 0
  fi
  rm -f "$PIDFILE"
  adopt_or_clear "$REDIS_PORT" "redis-server" ping && return 0
  provision
  mkdir -p "$HOME_DIR"
  log "starting on $HOST:$REDIS_PORT (log: ${LOGFILE#"$ROOT"/})"
  # --dir is also the daemon's cwd, which adopt_or_clear uses to spot an orphan of a deleted clone.
  redis-server --bind "$HOST" --port "$REDIS_PORT" --save "" --appendonly no --daemonize yes \
    --pidfile "$PIDFILE" --logfile "$LOGFILE" --dir "$HOME_DIR" ||
    die_with_log "redis-server failed to start" "$LOGFILE"
  wait_until 20 "$LOGFILE" "Redis" ping
  log "ready"
}

down() {
  if pid_alive "$PIDFILE" redis-server; then
    log "stopping (pid $(<"$PIDFILE"))"
    stop_pid "$(<"$PIDFILE")" 10
  fi
  rm -f "$PIDFILE"
}

"${1:?usage: redis.sh prepare|up|down}"
