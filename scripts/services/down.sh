#!/usr/bin/env bash
# `make services-down`: stop the services this checkout started (by their pidfiles / data dir).
# Idempotent; services reused from another checkout are not ours to stop and are left running.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/services/lib.sh
source scripts/services/lib.sh
lock_machine_wide "$0" "$@"
status=0
for svc in s3 redis postgres kafka; do
  scripts/services/$svc.sh down || status=1
done
rm -f .services/env
exit "$status"
