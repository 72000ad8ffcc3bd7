#!/usr/bin/env bash
# Apache Kafka 4.x, KRaft single node (broker + controller in one JVM), from Maven Central jars.
#   kafka.sh prepare   fetch the jars (once; ~/.m2 makes a fresh clone fast)
#   kafka.sh up        start it unless it already answers, and wait until it serves metadata
#   kafka.sh down      stop the broker this checkout started
set -euo pipefail
SERVICE=kafka
# shellcheck source=scripts/services/lib.sh
source "$(dirname "$0")/lib.sh"

HOME_DIR="$STATE/kafka"
PIDFILE="$RUN/kafka.pid"
LOGFILE="$LOGS/kafka.log"
CLASSPATH_GLOB="$LIB/kafka/*"
JAVA_OPTS=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$SERVICES_DIR/conf/kafka-log4j2.properties")

probe() { "$PYTHON" "$SERVICES_DIR/probe.py" kafka "$HOST:$KAFKA_PORT"; }

write_config() {
  mkdir -p "$HOME_DIR/data"
  cat >"$HOME_DIR/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$HOME_DIR/data
# Tests: several partitions so keyed ordering and consumer-group scaling are exercised for real.
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=1
# 50 partitions (the default) make the first consumer group of a fresh broker slow on 2 cores.
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.segment.bytes=67108864
CONF
}

prepare() {
  command -v java >/dev/null || die "java (17+) is needed for Kafka"
  maven_fetch kafka
}

format_once() {
  [[ -f $HOME_DIR/data/meta.properties ]] && return 0
  local cluster_id
  cluster_id=$("$PYTHON" -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
  log "formatting KRaft storage (cluster $cluster_id)"
  java -Xmx256m "-Dlog4j2.configurationFile=$SERVICES_DIR/conf/kafka-log4j2.properties" \
    -cp "$CLASSPATH_GLOB" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$HOME_DIR/server.properties" >>"$LOGFILE" 2>&1 ||
    die_with_log "kafka storage format failed" "$LOGFILE"
}

up() {
  if pid_alive "$PIDFILE" kafka.Kafka; then
    wait_until 90 "$LOGFILE" "Kafka (pid $(<"$PIDFILE"))" probe
    log "already running (pid $(<"$PIDFILE"))"
    return 0
  fi
  rm -f "$PIDFILE"
  if ! port_busy "$KAFKA_PORT" && port_busy "$KAFKA_CONTROLLER_PORT"; then
    # A broker's controller listener opens before its broker listener: one may still be starting.
    log "controller port $KAFKA_CONTROLLER_PORT is busy; giving that broker 60s to open $KAFKA_PORT"
    local until_s=$((SECONDS + 60))
    while ! port_busy "$KAFKA_PORT" && ((SECONDS < until_s)); do sleep 0.5; done
  fi
  adopt_or_clear "$KAFKA_PORT" "kafka.Kafka" probe && return 0
  if port_busy "$KAFKA_CONTROLLER_PORT"; then
    local pid
    pid=$(port_pid "$KAFKA_CONTROLLER_PORT")
    if ! cmdline_has "$pid" kafka.Kafka; then
      die "controller port $KAFKA_CONTROLLER_PORT is held by another program (pid ${pid:-unknown})"
    fi
    log "stopping stale broker pid $pid (controller up, broker port never opened)"
    stop_pid "$pid" 30
  fi
  provision
  write_config
  format_once
  log "starting on $HOST:$KAFKA_PORT (log: ${LOGFILE#"$ROOT"/})"
  # cwd = HOME_DIR: adopt_or_clear in another clone tells an orphan (deleted folder) by its cwd.
  (cd "$HOME_DIR" && exec setsid java "${JAVA_OPTS[@]}" -cp "$CLASSPATH_GLOB" kafka.Kafka \
    "$HOME_DIR/server.properties" >>"$LOGFILE" 2>&1 </dev/null) &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + 90))
  until probe >/dev/null 2>&1; do
    pid_alive "$PIDFILE" kafka.Kafka || die_with_log "Kafka exited during startup" "$LOGFILE"
    ((SECONDS < deadline)) || die_with_log "Kafka did not answer within 90s" "$LOGFILE"
    sleep 0.5
  done
  log "ready"
}

down() {
  if pid_alive "$PIDFILE" kafka.Kafka; then
    log "stopping (pid $(<"$PIDFILE"))"
    stop_pid "$(<"$PIDFILE")" 60
  fi
  rm -f "$PIDFILE"
}

"${1:?usage: kafka.sh prepare|up|down}"
