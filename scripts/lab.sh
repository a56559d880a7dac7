#!/usr/bin/env bash
# A multi-node swarm on one host, for trying the swarm path: make lab-up | lab-exec | lab-down.
#
#   scripts/lab.sh up      N Docker engines as containers (NODES, default 3) on one network,
#                          a swarm of 1 manager + N-1 workers, and a registry they all pull from
#   scripts/lab.sh exec    a docker command on the manager: scripts/lab.sh exec docker node ls
#   scripts/lab.sh host    the DOCKER_HOST of the manager, for swarm.sh (LAB=1)
#   scripts/lab.sh down    remove the nodes, the registry, their network and volumes
#
# Each node is a container running its own dockerd (lab/node/), started with the flags
# that work without --privileged (docs/several-machines.md). The manager's engine socket
# is shared with the host at $LAB_DIR/docker.sock; the registry is published on
# 127.0.0.1:$LAB_REGISTRY_PORT (default 5000), and every node reaches it at that address too.
set -euo pipefail
cd "$(dirname "$0")/.."

NODES=${NODES:-3}
LAB=${LAB_NAME:-pycluster-lab}
LAB_DIR=${LAB_DIR:-/tmp/$LAB}
LAB_REGISTRY_PORT=${LAB_REGISTRY_PORT:-5000}
HTTP_PORT=${HTTP_PORT:-8080}
HTTP_BIND=${HTTP_BIND:-0.0.0.0}
NODE_IMAGE=${LAB_NODE_IMAGE:-pycluster-lab-node:local}
TIMEOUT_S=${LAB_TIMEOUT_S:-120}
LABEL="pycluster.lab=$LAB"

log() { echo "lab: $*" >&2; }
die() { echo "lab: ERROR: $*" >&2; exit 1; }

image_var() {
    [ -x .venv/bin/python ] || die "no .venv here: run make setup first (it also builds the stand-in images)"
    .venv/bin/python scripts/images.py "$1"
}

build_node_image() {
    log "building the node image $NODE_IMAGE (Debian's docker.io on $(image_var PYTHON_IMAGE))"
    docker build -q -t "$NODE_IMAGE" --build-arg "BASE_IMAGE=$(image_var PYTHON_IMAGE)" lab/node >/dev/null ||
        die "the node image did not build: docker build lab/node"
}

start_registry() {
    local image
    image=$(image_var REGISTRY_IMAGE)
    log "registry $image on 127.0.0.1:$LAB_REGISTRY_PORT, and at $LAB-registry:5000 for the nodes"
    docker run -d --name "$LAB-registry" --label "$LABEL" --network "$LAB" --restart unless-stopped \
        -p "127.0.0.1:$LAB_REGISTRY_PORT:5000" -v "$LAB-registry:/var/lib/registry" "$image" >/dev/null
}

# start_node I: engine I. The first, the manager, also publishes nginx's port and shares
# its socket. Flags: --privileged fails on these VMs (no CAP_SYS_RESOURCE), so all other
# capabilities, no seccomp/apparmor, writable /sys/fs/cgroup and /proc/sys.
start_node() {
    local i=$1 extra=()
    [ "$i" != 1 ] || extra=(-p "$HTTP_BIND:$HTTP_PORT:$HTTP_PORT" -v "$LAB_DIR:/run/lab")
    docker run -d --name "$LAB-$i" --hostname "lab-$i" --label "$LABEL" --network "$LAB" \
        --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
        --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
        -v /sys/fs/cgroup:/sys/fs/cgroup:rw -v "$LAB-$i:/var/lib/docker" \
        -v "$PWD:$PWD:ro" -e "LAB_REGISTRY=$LAB-registry" -e "LAB_REGISTRY_PORT=$LAB_REGISTRY_PORT" "${extra[@]}" "$NODE_IMAGE" \
        --host unix:///var/run/docker.sock ${extra:+--host unix:///run/lab/docker.sock} \
        --cgroup-parent "/$LAB-$i" >/dev/null
}

on() { local node=$1; shift; docker exec "$LAB-$node" docker "$@"; }

wait_engine() {
    local i=$1 deadline=$((SECONDS + TIMEOUT_S))
    until on "$i" info >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "the engine of node $i did not start in ${TIMEOUT_S}s: docker logs $LAB-$i"
        sleep 1
    done
}

form_swarm() {
    local ip token i
    ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$LAB\").IPAddress}}" "$LAB-1")
    on 1 swarm init --advertise-addr "$ip" >/dev/null
    token=$(on 1 swarm join-token -q worker)
    for i in $(seq 2 "$NODES"); do
        on "$i" swarm join --token "$token" "$ip:2377" >/dev/null
    done
    local deadline=$((SECONDS + TIMEOUT_S))
    until [ "$(on 1 node ls --format '{{.Status}}' | grep -c Ready)" = "$NODES" ]; do
        [ $SECONDS -lt $deadline ] || die "not every node is Ready after ${TIMEOUT_S}s: make lab-exec CMD='docker node ls'"
        sleep 1
    done
}

cmd_up() {
    [[ $NODES =~ ^[1-9][0-9]*$ ]] || die "NODES=$NODES is not a number of nodes (1 or more)"
    [ -z "$(docker ps -aq --filter "label=$LABEL")" ] || die "a lab is already up: make lab-down first"
    build_node_image
    mkdir -p "$LAB_DIR"
    docker network create --label "$LABEL" "$LAB" >/dev/null
    start_registry
    local i
    for i in $(seq 1 "$NODES"); do start_node "$i"; done
    for i in $(seq 1 "$NODES"); do wait_engine "$i"; done
    form_swarm
    log "up: $NODES nodes (lab-1 manages), registry 127.0.0.1:$LAB_REGISTRY_PORT"
    log "  try: make lab-exec CMD='docker node ls'; deploy: make swarm-up LAB=1 SCALE=6"
}

cmd_down() {
    local ids
    ids=$(docker ps -aq --filter "label=$LABEL")
    [ -z "$ids" ] || xargs docker rm -f -v <<<"$ids" >/dev/null
    docker network ls -q --filter "label=$LABEL" | xargs -r docker network rm >/dev/null
    docker volume ls -q --filter "name=^$LAB-" | xargs -r docker volume rm >/dev/null
    rm -rf "$LAB_DIR"
    log "down: nodes, registry, network and volumes of $LAB removed"
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    exec) shift; [ $# -gt 0 ] || die "usage: $0 exec COMMAND..."; docker exec -i "$LAB-1" "$@" ;;
    host) echo "unix://$LAB_DIR/docker.sock" ;;
    *) die "usage: $0 up|exec CMD...|host|down (make lab-up NODES=3)" ;;
esac
