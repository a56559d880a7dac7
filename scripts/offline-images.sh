#!/usr/bin/env bash
# Stand-in base images for machines that cannot reach a container registry.
#
# Builds a Python and an nginx image from Debian packages with debootstrap, then
# records them in .env (PYTHON_IMAGE=..., NGINX_IMAGE=...), which docker compose
# reads by itself. After this, a plain `docker compose up --scale api=8` works offline.
# Images that already exist are reused; on a machine with a registry you never need this.
set -euo pipefail

PYTHON_STANDIN=${PYTHON_STANDIN:-local/python-base:bookworm}
NGINX_STANDIN=${NGINX_STANDIN:-local/nginx-base:sid}
ENV_FILE=${ENV_FILE:-.env}
# The host's CA bundle goes into the images so that pip inside `docker build` trusts
# a TLS-inspecting proxy, as a user behind a corporate proxy would have to do.
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

log() { echo "offline-images: $*" >&2; }

build_image() {
    local image=$1 suite=$2 include=$3 rootfs
    if docker image inspect "$image" >/dev/null 2>&1; then
        log "$image already exists, reusing it (docker rmi $image to rebuild)"
        return
    fi
    command -v debootstrap >/dev/null || {
        log "debootstrap is missing: apt-get install -y debootstrap"; exit 1; }
    rootfs=$(mktemp -d /tmp/rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' RETURN
    log "building $image from Debian $suite (about a minute)..."
    debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" >"$rootfs.log" 2>&1 || {
        log "debootstrap failed, last lines of $rootfs.log:"; tail -n 20 "$rootfs.log" >&2; exit 1; }
    rm -f "$rootfs.log"
    [ -f "$CA_BUNDLE" ] && cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$image" >/dev/null
    log "built $image"
}

set_env_var() {
    local key=$1 value=$2
    touch "$ENV_FILE"
    grep -v "^$key=" "$ENV_FILE" >"$ENV_FILE.tmp" || true
    echo "$key=$value" >>"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
}

build_image "$PYTHON_STANDIN" bookworm python3,python3-venv,ca-certificates
# nginx >= 1.27.3 is needed for `server ... resolve` in an upstream; bookworm has 1.22,
# sid has 1.30. https://nginx.org/en/docs/http/ngx_http_upstream_module.html#resolve
build_image "$NGINX_STANDIN" sid nginx,ca-certificates

set_env_var PYTHON_IMAGE "$PYTHON_STANDIN"
set_env_var NGINX_IMAGE "$NGINX_STANDIN"
log "wrote PYTHON_IMAGE and NGINX_IMAGE to $ENV_FILE"
