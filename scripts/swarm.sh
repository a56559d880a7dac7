#!/usr/bin/env bash
# The same stack on a Docker Swarm: make swarm-up | swarm-scale | swarm-rollout | swarm-down.
#
#   scripts/swarm.sh up        build the api image, deploy STACK with SCALE replicas, wait
#   scripts/swarm.sh scale     change the replica count to SCALE, wait until all serve
#   scripts/swarm.sh rollout   rebuild, then a rolling update of every api task, wait
#   scripts/swarm.sh down      remove the stack and wait until its containers are gone
#   scripts/swarm.sh config    print the stack file that `up` deploys, as swarm reads it
#
# Swarm does the scheduling, service discovery and rolling updates; this only renders the
# stack file (why: compose/swarm.yml) and waits, saying what happened. It needs a manager
# node (`docker swarm init`) and never creates or leaves the swarm itself.
set -euo pipefail
cd "$(dirname "$0")/.."

STACK=${STACK:-pycluster-swarm}
SCALE=${SCALE:-8}
HTTP_PORT=${HTTP_PORT:-8080}
TIMEOUT_S=${SWARM_TIMEOUT_S:-300}
# 1: `docker compose build` the api image first (swarm-up, swarm-rollout).
SWARM_BUILD=${SWARM_BUILD:-1}
# 1: push API_IMAGE (a name in a registry every node can reach) and pin its digest.
SWARM_PUSH=${SWARM_PUSH:-0}
# Flags as arrays, so that an absent one is no argument at all (not an empty one).
# A pushed image goes with the registry login, so that every node can pull it.
REGISTRY_AUTH=()
[ "$SWARM_PUSH" != 1 ] || REGISTRY_AUTH=(--with-registry-auth)

log() { echo "swarm: $*" >&2; }
die() { echo "swarm: ERROR: $*" >&2; exit 1; }

# .env as compose reads it: a variable already in the environment wins.
load_dotenv() {
    [ -f .env ] || return 0
    local key value
    while IFS='=' read -r key value; do
        [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
        [ -n "${!key+x}" ] || export "$key=$value"
    done <.env
}

require_manager() {
    local state manager
    state=$(docker info --format '{{.Swarm.LocalNodeState}}')
    manager=$(docker info --format '{{.Swarm.ControlAvailable}}')
    [ "$state" = active ] || die "this engine is not in a swarm (state: $state). Start one:
    docker swarm init --advertise-addr <this node's IP>   (127.0.0.1 for a single node)"
    [ "$manager" = true ] || die "this node is a swarm worker; run this on a manager (docker node ls there)"
}

compose() { docker compose --project-directory . -f docker-compose.yml "$@"; }

# Keep the services named in argv[1] (comma-separated) of a compose JSON on stdin, and the
# volumes they use; drop the top-level name, which the stack loader refuses. JSON is YAML.
KEEP_SERVICES='
import json, sys
config = json.load(sys.stdin)
keep = sys.argv[1].split(",")
config.pop("name", None)
config["services"] = {name: s for name, s in config["services"].items() if name in keep}
used = {v.get("source") for s in config["services"].values() for v in s.get("volumes", [])}
config["volumes"] = {name: v for name, v in config.get("volumes", {}).items() if name in used}
json.dump(config, sys.stdout, indent=1)
'

# Compose-only services: nginx-log-exporter reads the local engine's container logs by
# compose labels (a swarm task has neither); grafana waits on a healthcheck condition.
NOT_ON_SWARM='^(nginx-log-exporter|grafana)$'

render() {
    local active
    # `config --no-interpolate` renders every service, active profile or not (compose
    # 2.40); plain `config --services` lists the active ones (COMPOSE_PROFILES=monitoring).
    active=$(compose config --services | grep -Ev "$NOT_ON_SWARM" | paste -sd, -)
    # -p STACK: network names come out as STACK_edge, STACK_backend, as the stack names them.
    compose -f compose/swarm.yml -p "$STACK" config --no-interpolate --format json |
        python3 -c "$KEEP_SERVICES" "$active"
}

# The engine that builds and pushes: this host's, also when LAB=1 points DOCKER_HOST at
# the lab's manager for the swarm commands.
BUILD_ENGINE=${DOCKER_HOST:-}
builder() { DOCKER_HOST=$BUILD_ENGINE "$@"; }

build_image() {
    [ "$SWARM_BUILD" = 1 ] || { log "SWARM_BUILD=0: using $API_IMAGE as it is"; return; }
    log "building $API_IMAGE with docker compose build"
    builder compose build -q api || die "the api image did not build; see the output above"
    if [ "$SWARM_PUSH" = 1 ]; then
        log "pushing $API_IMAGE (every node pulls it from there)"
        builder docker push -q "$API_IMAGE" >/dev/null || die "docker push $API_IMAGE failed: is API_IMAGE in a registry you are logged in to?"
    elif [ "$(docker node ls -q | wc -l)" -gt 1 ]; then
        log "warning: $API_IMAGE is only on this node. Other nodes cannot start api tasks unless you"
        log "  push it (SWARM_PUSH=1 API_IMAGE=registry.example:5000/pycluster-api:TAG) or load it there"
        log "  (docker save $API_IMAGE | ssh NODE docker load)"
    fi
}

# Pushed images are pinned by digest so every node runs the same bytes; local ones cannot be.
resolve_image() { if [ "$SWARM_PUSH" = 1 ]; then echo always; else echo never; fi; }

# "running/desired" for a service, e.g. 4/4; empty if there is no such service. Running
# means started and healthy. From the tasks swarm wants running: `docker service ls` also
# counts the tasks of a node that went down, which it has already replaced (9/6).
replicas_of() {
    local desired running
    desired=$(docker service inspect --format '{{.Spec.Mode.Replicated.Replicas}}' "${STACK}_$1" 2>/dev/null) ||
        return 0
    running=$(docker service ps --filter desired-state=running --format '{{.CurrentState}}' "${STACK}_$1" |
        grep -c '^Running' || true)
    echo "$running/$desired"
}

wait_replicas() {
    local service=$1 want=$2 deadline=$((SECONDS + TIMEOUT_S)) got
    while :; do
        got=$(replicas_of "$service")
        [ "$got" = "$want/$want" ] && break
        [ $SECONDS -lt $deadline ] || die "${STACK}_$service has $got tasks running after ${TIMEOUT_S}s, want $want. Why:
    docker service ps --no-trunc ${STACK}_$service"
        sleep 1
    done
    log "${STACK}_$service: $want/$want tasks running and healthy"
}

wait_http() {
    local url="http://127.0.0.1:$HTTP_PORT/" deadline=$((SECONDS + TIMEOUT_S))
    # Only on the node nginx runs on, which is this one unless SWARM_LB_NODE says otherwise.
    [ "$SWARM_LB_NODE" = "$(docker info --format '{{.Swarm.NodeID}}')" ] || return 0
    # python3 rather than curl: the project needs it anyway, and minimal hosts lack curl.
    until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$url" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || die "nginx does not answer $url after ${TIMEOUT_S}s. See:
    docker service logs ${STACK}_nginx"
        sleep 1
    done
    log "serving: $url (through nginx, round-robin over every api task)"
}

# "<started at> <state>" of the service's last update, empty before the first one.
update_status() {
    docker service inspect --format '{{with .UpdateStatus}}{{.StartedAt}} {{.State}}{{end}}' "${STACK}_api"
}

cmd_up() {
    build_image
    log "deploying stack $STACK: $SCALE api replicas, nginx on node $SWARM_LB_NODE port $HTTP_PORT (host mode)"
    render | API_REPLICAS=$SCALE docker stack deploy --detach=true --prune \
        --resolve-image "$(resolve_image)" "${REGISTRY_AUTH[@]}" \
        -c - "$STACK" >&2 || die "docker stack deploy failed; the stack file it read: scripts/swarm.sh config"
    wait_replicas api "$SCALE"
    wait_replicas nginx 1
    wait_http
}

cmd_scale() {
    [ -n "$(replicas_of api)" ] || die "no service ${STACK}_api; deploy first: make swarm-up"
    log "scaling ${STACK}_api to $SCALE (nginx re-resolves \"api\" every 2 s: no reload)"
    docker service scale --detach "${STACK}_api=$SCALE" >/dev/null
    wait_replicas api "$SCALE"
}

cmd_rollout() {
    [ -n "$(replicas_of api)" ] || die "no service ${STACK}_api; deploy first: make swarm-up"
    build_image
    local want deadline=$((SECONDS + TIMEOUT_S)) before status state resolve=()
    [ "$SWARM_PUSH" = 1 ] || resolve=(--no-resolve-image)  # a local image has no digest to pin
    want=$(docker service inspect --format '{{.Spec.Mode.Replicated.Replicas}}' "${STACK}_api")
    before=$(update_status)
    log "rolling update of ${STACK}_api ($want tasks, start-first, 2 at a time): docker service update --force"
    docker service update --detach --force --image "$API_IMAGE" "${REGISTRY_AUTH[@]}" "${resolve[@]}" \
        "${STACK}_api" >/dev/null
    # Until swarm reports THIS update (a new start time) as completed.
    while status=$(update_status); state=${status##* }; [ "$status" = "$before" ] || [ "$state" != completed ]; do
        case $state in
            rollback_*|paused) die "the update did not complete (state: $state); swarm rolled back or stopped. Why:
    docker service inspect --format '{{json .UpdateStatus}}' ${STACK}_api; docker service ps ${STACK}_api" ;;
        esac
        [ $SECONDS -lt $deadline ] || die "the update is still '$state' after ${TIMEOUT_S}s: docker service ps ${STACK}_api"
        sleep 1
    done
    wait_replicas api "$want"
    log "rollout done: every api task was replaced"
}

cmd_down() {
    if [ -z "$(docker stack ls --format '{{.Name}}' | grep -Fx "$STACK" || true)" ]; then
        log "no stack $STACK: nothing to remove"
        return
    fi
    log "removing stack $STACK (replicas drain on SIGTERM first)"
    # --detach=false waits for the tasks; a network still held by a stopping task can
    # outlive it, so the loop below removes what is left.
    docker stack rm --detach=false "$STACK" >/dev/null 2>&1 || true
    local deadline=$((SECONDS + TIMEOUT_S)) label="label=com.docker.stack.namespace=$STACK" left
    while left="$(docker ps -aq --filter "$label")$(docker network ls -q --filter "$label")"; [ -n "$left" ]; do
        [ $SECONDS -lt $deadline ] || die "containers or networks of $STACK are still there after ${TIMEOUT_S}s:
    docker ps -a --filter $label; docker network ls --filter $label"
        [ -n "$(docker ps -aq --filter "$label")" ] ||
            docker network ls -q --filter "$label" | xargs -r docker network rm >/dev/null 2>&1 || true
        sleep 1
    done
    log "stack $STACK removed (the swarm itself stays; leave it with: docker swarm leave --force)"
}

# mirror VAR REGISTRY: the image VAR names (pulled here if missing), pushed to REGISTRY,
# and VAR pointed at the copy: the lab's nodes reach no other registry.
mirror() {
    local var=$1 registry=$2 image copy
    image=$(.venv/bin/python scripts/images.py "$var")
    copy="$registry/${image##*/}"
    builder docker image inspect "$image" >/dev/null 2>&1 || builder docker pull -q "$image" >/dev/null ||
        die "$image ($var) is neither here nor pullable: make setup builds the stand-ins"
    builder docker tag "$image" "$copy"
    builder docker push -q "$copy" >/dev/null || die "docker push $copy failed: is the lab's registry up? make lab-up"
    export "$var=$copy"
}

# LAB=1: the swarm is the lab of `make lab-up`. Its manager's engine runs the swarm
# commands; this host builds, and every image reaches the nodes through the lab's
# registry, pinned by digest: the push path of a real cluster (SWARM_PUSH=1).
use_lab() {
    local registry="127.0.0.1:${LAB_REGISTRY_PORT:-5000}" socket
    socket=$(bash scripts/lab.sh host)
    [ -S "${socket#unix://}" ] || die "no lab here: start one with make lab-up NODES=3"
    export DOCKER_HOST=$socket API_IMAGE=${API_IMAGE:-$registry/pycluster-api:lab}
    SWARM_PUSH=1
    REGISTRY_AUTH=(--with-registry-auth)
    [ "${1:-}" != up ] || {
        mirror NGINX_IMAGE "$registry"
        if [[ ,${COMPOSE_PROFILES:-}, == *,monitoring,* ]]; then
            mirror PROMETHEUS_IMAGE "$registry"
            mirror NGINX_EXPORTER_IMAGE "$registry"
        fi
    }
    log "LAB=1: the lab's swarm ($socket), images through its registry $registry"
}

load_dotenv
[ "${LAB:-0}" != 1 ] || use_lab "${1:-}"
export STACK HTTP_PORT API_IMAGE=${API_IMAGE:-pycluster-api:local}
case ${1:-} in
    config)
        SWARM_LB_NODE=${SWARM_LB_NODE:-$(docker info --format '{{.Swarm.NodeID}}' 2>/dev/null || true)}
        render | API_REPLICAS=$SCALE SWARM_LB_NODE=${SWARM_LB_NODE:-THIS_NODE} docker stack config -c - ;;
    up|scale|rollout|down)
        require_manager
        export SWARM_LB_NODE=${SWARM_LB_NODE:-$(docker info --format '{{.Swarm.NodeID}}')}
        "cmd_$1" ;;
    *) die "usage: $0 up|scale|rollout|down|config (make swarm-up SCALE=4 HTTP_PORT=8080)" ;;
esac
