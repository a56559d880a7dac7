#!/usr/bin/env bash
# Zero-downtime rolling restart of the api replicas (make rollout), e.g. after a new build.
#
# One step per old replica: start one new replica from the current image and config,
# wait until it is healthy, give nginx time to resolve it, then stop the old one with
# SIGTERM (it drains: in-flight requests finish) and remove it. nginx retries anything
# that reaches a stopping replica on another one, so no request fails.
# Works on the stack of the current compose project (COMPOSE_PROJECT_NAME is honoured).
set -euo pipefail
cd "$(dirname "$0")/.."

read -r -a COMPOSE <<<"${COMPOSE:-docker compose}"
# Longer than nginx's resolver valid=2s (nginx/conf.d/resolver.conf).
SETTLE_S=${SETTLE_S:-3}
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-30}

log() { echo "rollout: $*" >&2; }
die() { echo "rollout: ERROR: $*" >&2; exit 1; }

# Stopped replicas (killed, crashed) would count towards --scale and be restarted on the
# old image instead of new ones being created: remove them first.
"${COMPOSE[@]}" rm -f api >/dev/null 2>&1 || true
mapfile -t old < <("${COMPOSE[@]}" ps -q --status running api)
count=${#old[@]}
[ "$count" -gt 0 ] || die "no running api replica in this compose project; start one with: make up"
log "replacing $count replicas, one at a time"

step=0
for id in "${old[@]}"; do
    step=$((step + 1))
    log "[$step/$count] starting a new replica and waiting until it is healthy"
    if ! out=$("${COMPOSE[@]}" up -d --no-recreate --no-deps --wait --scale "api=$((count + 1))" api 2>&1); then
        echo "$out" | tail -n 15 >&2
        die "the new replica did not become healthy; the old ones still serve. See: ${COMPOSE[*]} logs api"
    fi
    sleep "$SETTLE_S"
    log "[$step/$count] draining old replica ${id:0:12} (SIGTERM, up to ${STOP_TIMEOUT_S}s)"
    docker stop -t "$STOP_TIMEOUT_S" "$id" >/dev/null
    code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
    [ "$code" = 0 ] || log "warning: ${id:0:12} exited with $code instead of 0: it did not drain cleanly"
    docker rm "$id" >/dev/null
done
for id in "${old[@]}"; do
    [ -z "$(docker ps -q --filter "id=$id")" ] || die "old replica ${id:0:12} still runs: the rollout is incomplete"
done
log "done: $count new replicas serve"
