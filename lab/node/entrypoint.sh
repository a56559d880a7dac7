#!/usr/bin/env bash
# One node of the swarm lab: its own dockerd, plus 127.0.0.1:5000 forwarded to the lab's
# registry. Docker trusts a registry on 127.0.0.1 over plain HTTP with no setting, so the
# image the host pushes to 127.0.0.1:5000/... has the same name on every node, as with a
# registry published on every node of a real swarm:
# https://docs.docker.com/engine/swarm/stack-deploy/#set-up-a-docker-registry
set -euo pipefail
# A node stopped hard (docker kill, as the e2e test loses one) leaves its pid files, and
# dockerd refuses to start again while they exist.
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
socat "TCP-LISTEN:${LAB_REGISTRY_PORT:-5000},bind=127.0.0.1,fork,reuseaddr" "TCP:${LAB_REGISTRY:?}:5000" &
exec dockerd "$@"
