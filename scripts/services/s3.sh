#!/usr/bin/env bash
# s3proxy (S3 API over a local folder) from its self-contained Maven Central jar.
#   s3.sh prepare | up | down
set -euo pipefail
SERVICE=s3
# shellcheck source=scripts/services/lib.sh
source "$(dirname "$0")/lib.sh"

HOME_DIR="$STATE/s3proxy"
PIDFILE="$RUN/s3proxy.pid"
LOGFILE="$LOGS/s3proxy.log"
ENDPOINT="http://$HOST:$S3_PORT"

probe() { "$PYTHON" "$SERVICES_DIR/probe.py" s3 "$ENDPOINT" "$S3_ACCESS" "$S3_SECRET"; }

prepare() {
  command -v java >/dev/null || die "java (17+) is needed for s3proxy"
  maven_fetch s3proxy
}

write_config() {
  mkdir -p "$HOME_DIR" "$STATE/s3"
  cat >"$HOME_DIR/s3proxy.conf" <<CONF
s3proxy.endpoint=$ENDPOINT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS
s3proxy.credential=$S3_SECRET
jclouds.provider=filesystem
jclouds.filesystem.basedir=$STATE/s3
CONF
}

up() {
  if pid_alive "$PIDFILE" s3proxy; then
    wait_until 60 "$LOGFILE" "s3proxy (pid $(<"$PIDFILE"))" probe
    log "already running (pid $(<"$PIDFILE"))"
    return 0
  fi
  rm -f "$PIDFILE"
  adopt_or_clear "$S3_PORT" "s3proxy" probe && return 0
  provision
  write_config
  log "starting on $ENDPOINT (log: ${LOGFILE#"$ROOT"/})"
  # cwd = HOME_DIR: adopt_or_clear in another clone tells an orphan (deleted folder) by its cwd.
  (cd "$HOME_DIR" && exec setsid java -Xms64m -Xmx256m -Djava.awt.headless=true \
    -jar "$LIB/s3proxy/s3proxy.jar" --properties "$HOME_DIR/s3proxy.conf" \
    >>"$LOGFILE" 2>&1 </dev/null) &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + 60))
  until probe >/dev/null 2>&1; do
    pid_alive "$PIDFILE" s3proxy || die_with_log "s3proxy exited during startup" "$LOGFILE"
    ((SECONDS < deadline)) || die_with_log "s3proxy did not answer within 60s" "$LOGFILE"
    sleep 0.5
  done
  log "ready"
}

down() {
  if pid_alive "$PIDFILE" s3proxy; then
    log "stopping (pid $(<"$PIDFILE"))"
    stop_pid "$(<"$PIDFILE")" 15
  fi
  rm -f "$PIDFILE"
}

"${1:?usage: s3.sh prepare|up|down}"
