# shellcheck shell=bash disable=SC2034  # constants used by the sourcing scripts
# Shared helpers for scripts/services/*.sh (sourced, not run). Every path is under the repo root that
# the sourcing script computed, so a clone in any folder runs its own services.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SERVICES_DIR="$ROOT/scripts/services"
STATE="$ROOT/.services"
LOGS="$STATE/logs"
RUN="$STATE/run"
LIB="$STATE/lib"
HOST=127.0.0.1
PYTHON=${PYTHON:-python3}

# SDS_SERVICES_PORT_SHIFT moves every port, to exercise these scripts beside the shared services.
SHIFT=${SDS_SERVICES_PORT_SHIFT:-0}
KAFKA_PORT=$((59092 + SHIFT))
KAFKA_CONTROLLER_PORT=$((59093 + SHIFT))
POSTGRES_PORT=$((55432 + SHIFT))
REDIS_PORT=$((56379 + SHIFT))
S3_PORT=$((59000 + SHIFT))
S3_ACCESS=sdsaccess
S3_SECRET=sdssecret

mkdir -p "$LOGS" "$RUN" "$LIB"

log() { printf '[%s] %s\n' "${SERVICE:-services}" "$*" >&2; }

die() {
  log "ERROR: $*"
  exit 1
}

# die_with_log MESSAGE LOGFILE: fail with the tail of the service's log, so CI output says why.
die_with_log() {
  log "ERROR: $1"
  if [[ -f $2 ]]; then
    log "last lines of $2:"
    tail -n 40 "$2" | sed "s/^/    /" >&2
  fi
  exit 1
}

# apt_install PACKAGE...: install Debian packages, refreshing the index only if the first try fails.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  log "installing $* with apt-get"
  apt-get install -y -q --no-install-recommends "$@" >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "$@" >/dev/null; }
}

# maven_fetch NAME: copy the jars listed in maven/NAME/pom.xml into .services/lib/NAME/ once.
# Tries offline first: in a fresh clone ~/.m2 already has everything and resolution takes seconds.
maven_fetch() {
  local name=$1 pom="$SERVICES_DIR/maven/$1/pom.xml" dest="$LIB/$1"
  local stamp
  stamp=$(cksum <"$pom" | cut -d' ' -f1)
  if [[ -f $dest/.complete && $(<"$dest/.complete") == "$stamp" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn (Maven 3) is needed to fetch $name jars"
  log "fetching $name jars with Maven into ${dest#"$ROOT"/}"
  rm -rf "$dest"
  local args=(-B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies "-DoutputDirectory=$dest")
  mvn -o "${args[@]}" >/dev/null 2>&1 || mvn "${args[@]}" >&2 || die "Maven could not fetch $name"
  echo "$stamp" >"$dest/.complete"
}

# provision: run this service script's `prepare` (apt, Maven) under a machine-wide lock: dpkg and
# Maven 3's ~/.m2 do not take concurrent writers, and up.sh (or two checkouts) run them in parallel.
provision() {
  command -v flock >/dev/null || die "flock (util-linux) is needed"
  # -o: the lock fd is not inherited by what `prepare` spawns (apt maintainer scripts).
  flock -o "${TMPDIR:-/tmp}/sds-services-provision.lock" "$0" prepare
}

# lock_machine_wide "$0" "$@": re-run the calling script under a machine-wide lock, so two checkouts
# (or two terminals) running up.sh/down.sh at once cannot both decide a port is free and race for it.
# -o keeps the lock fd out of the daemons started under it (else they would hold the lock forever).
lock_machine_wide() {
  if [[ -z ${SDS_SERVICES_LOCKED:-} ]]; then
    command -v flock >/dev/null || die "flock (util-linux) is needed"
    SDS_SERVICES_LOCKED=1 exec flock -o "${TMPDIR:-/tmp}/sds-services-up.lock" "$@"
  fi
}

# pid_alive PIDFILE SIGNATURE: the pid in PIDFILE is alive and its command line contains SIGNATURE
# (so a pid recycled after a reboot is never taken for, or stopped as, our service).
pid_alive() {
  [[ -s $1 ]] || return 1
  local pid
  pid=$(<"$1")
  kill -0 "$pid" 2>/dev/null && cmdline_has "$pid" "$2"
}

cmdline_has() { # cmdline_has PID TEXT: the process's command line contains TEXT
  [[ -n $1 ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# port_pid PORT: pid of the process listening on HOST:PORT (empty if none).
port_pid() {
  ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2
}

port_busy() {
  ss -ltnH "sport = :$1" 2>/dev/null | grep -q .
}

# home_deleted PID: the process runs in a folder that no longer exists (its clone was deleted).
home_deleted() {
  local cwd
  cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
  [[ $cwd == *" (deleted)" || ! -d $cwd ]]
}

# wait_until TIMEOUT_S LOGFILE DESCRIPTION COMMAND...: poll COMMAND until it succeeds.
wait_until() {
  local timeout=$1 logfile=$2 what=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      die_with_log "$what did not answer within ${timeout}s" "$logfile"
    fi
    sleep 0.5
  done
}

# answers_within SECONDS COMMAND...: COMMAND succeeds at least once within SECONDS (a busy service
# is not declared broken on one slow answer).
answers_within() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# stop_pid PID [GRACE_S] [SIGNAL]: SIGNAL (TERM), wait, then KILL. Only ever called with a pid from our own pidfile or
# a listener whose command line we recognise as one of these scripts' services.
stop_pid() {
  local pid=$1 grace=${2:-30} signal=${3:-TERM} deadline
  kill "-$signal" "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "pid $pid ignored TERM for ${grace}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
}

# adopt_or_clear PORT SIGNATURE PROBE...: decide what to do when our pidfile has no live process.
#
# Why this policy: CI runs from fresh clones in other folders on this same machine, and developers keep
# services running from their checkout. The ports are fixed, so a port may already be served by
# another checkout's service. We REUSE it when it passes the same real probe the tests rely on (for
# example SQL login as sds, an authenticated S3 call) and its working folder still exists: tests
# isolate themselves by unique topic/bucket/schema names, so sharing is safe, and stopping it would
# break whoever else is using it. We STOP it and start our own only when it is ours by command line
# (SIGNATURE) but broken or orphaned (its clone was deleted, so its data files are going away). A port
# held by anything else is an error with a clear message: we never kill unknown processes.
# Returns 0 when the port is reused (nothing to start), 1 when the caller should start its own.
adopt_or_clear() {
  local port=$1 signature=$2
  shift 2
  rm -f "$RUN/$SERVICE.reused"
  port_busy "$port" || return 1
  local pid cmdline=""
  pid=$(port_pid "$port")
  [[ -n $pid ]] && cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  if [[ -n $pid ]] && ! home_deleted "$pid" && answers_within 10 "$@"; then
    readlink "/proc/$pid/cwd" >"$RUN/$SERVICE.reused"
    log "reusing the working service on $HOST:$port (pid $pid, folder $(<"$RUN/$SERVICE.reused"))"
    return 0
  fi
  if [[ -n $pid && $cmdline == *"$signature"* ]]; then
    log "stopping stale service on port $port (pid $pid, broken or its folder was deleted)"
    stop_pid "$pid" 30 "${STOP_SIGNAL:-TERM}"
    port_busy "$port" && die "port $port is still busy after stopping pid $pid"
    return 1
  fi
  die "port $port is held by another program (pid ${pid:-unknown}: ${cmdline:-?}); free it first"
}
