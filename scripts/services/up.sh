#!/usr/bin/env bash
# `make services`: start real Kafka (KRaft), PostgreSQL, Redis and s3proxy on 127.0.0.1, without
# Docker, and write .services/env for tests/conftest.py. Idempotent: a service that already answers
# is left alone, so a second run takes about a second. Stop them with scripts/services/down.sh.
#
# The four services start in parallel (the two JVMs dominate the wall time); each script provisions
# (apt, Maven) only when it has to start its service, serialised by a lock (lib.sh: provision).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/services/lib.sh
source scripts/services/lib.sh
lock_machine_wide "$0" "$@"

started=$SECONDS
declare -A jobs=()
for svc in kafka postgres redis s3; do
  "$SERVICES_DIR/$svc.sh" up &
  jobs[$svc]=$!
  [[ $svc == kafka ]] && sleep 0.2 # Kafka is the longest path: let it take the provisioning lock first
done
failed=()
for svc in "${!jobs[@]}"; do
  wait "${jobs[$svc]}" || failed+=("$svc")
done
if ((${#failed[@]})); then
  die "could not start: ${failed[*]} (see the messages above and .services/logs/)"
fi

cat >"$STATE/env" <<ENV
SDS_TEST_KAFKA=$HOST:$KAFKA_PORT
SDS_TEST_POSTGRES=postgresql://sds:sds@$HOST:$POSTGRES_PORT/sds
SDS_TEST_REDIS=redis://$HOST:$REDIS_PORT/0
SDS_TEST_S3=http://$S3_ACCESS:$S3_SECRET@$HOST:$S3_PORT
ENV

where() { # where NAME LOGFILE: this checkout's log, or the folder of a reused service
  if [[ -f $RUN/$1.reused ]]; then echo "reused from $(<"$RUN/$1.reused")"; else echo "$2"; fi
}
printf '\n%-11s %-48s %s\n' SERVICE ADDRESS LOG
printf '%-11s %-48s %s\n' \
  kafka "$HOST:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT)" "$(where kafka .services/logs/kafka.log)" \
  postgres "postgresql://sds:sds@$HOST:$POSTGRES_PORT/sds" "$(where postgres .services/logs/postgres.log)" \
  redis "redis://$HOST:$REDIS_PORT/0" "$(where redis .services/logs/redis.log)" \
  s3proxy "http://$HOST:$S3_PORT (sdsaccess/sdssecret)" "$(where s3 .services/logs/s3proxy.log)"
printf '\nready in %ss; tests read .services/env; stop with: make services-down\n' $((SECONDS - started))
