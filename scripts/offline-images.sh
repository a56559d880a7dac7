#!/usr/bin/env bash
# Stand-in base images for machines that cannot reach a container registry.
#
# Builds a CPython, a PyPy, an nginx, two Node.js and two monitoring (Prometheus, nginx
# exporter) images from Debian packages with debootstrap, then records them in .env
# (PYTHON_IMAGE=..., PYPY_IMAGE=..., NGINX_IMAGE=..., NODE_IMAGE=..., NODE_BUILD_IMAGE=...,
# PROMETHEUS_IMAGE=..., NGINX_EXPORTER_IMAGE=...), which docker compose reads by itself. After this, a plain
# `docker compose up --scale api=8` works offline, and so does the Node reference
# (reference/node-cluster/compose.yml, whose .env links to this one).
# Images that already exist are reused; on a machine with a registry you never need this.
#
#   scripts/offline-images.sh              build what is missing, write .env
#   scripts/offline-images.sh VAR...       only these, e.g. PYTHON_IMAGE NGINX_IMAGE (what
#                                          make up and make bench run)
#   scripts/offline-images.sh --refresh    only if .env already names stand-ins from here:
#                                          bring them to the current recipe (make setup)
#
# Building needs root (debootstrap): it runs those steps through sudo when not root.
set -euo pipefail

PYTHON_STANDIN=${PYTHON_STANDIN:-local/python-base:bookworm}
# PyPy 3.11 (RUNTIME=pypy): bookworm's PyPy is 3.9, too old for current pydantic-core wheels.
PYPY_STANDIN=${PYPY_STANDIN:-local/pypy-base:sid}
# The tag names the recipe. Change it with the recipe, so that `make setup` on a machine
# holding an older stand-in builds the new one instead of reusing the old.
# sid-2: /var/log/nginx/{access,error}.log forward to stdout/stderr, as in the official image.
NGINX_STANDIN=${NGINX_STANDIN:-local/nginx-base:sid-2}
# The Node reference: the runtime needs only nodejs; npm (for `npm ci` in the build stage)
# is a second image on top, since Debian's npm brings ~370 packages (node-gyp, python3, dev
# headers) that the runtime image is better without. The build tag names its base's too.
NODE_STANDIN=${NODE_STANDIN:-local/node-base:sid-24}
NODE_BUILD_STANDIN=${NODE_BUILD_STANDIN:-local/node-build:sid-24}
# Monitoring: bookworm's Prometheus 2.42 (with promtool) and nginx exporter 0.11, laid out
# as the official prom/prometheus and nginx/nginx-prometheus-exporter images are.
PROMETHEUS_STANDIN=${PROMETHEUS_STANDIN:-local/prometheus-base:bookworm}
NGINX_EXPORTER_STANDIN=${NGINX_EXPORTER_STANDIN:-local/nginx-exporter-base:bookworm}
REGISTRY_STANDIN=${REGISTRY_STANDIN:-local/registry-base:bookworm}
# Tests only (tests/e2e/test_acme.py): Let's Encrypt's ACME test server, bookworm's 2.4.
PEBBLE_STANDIN=${PEBBLE_STANDIN:-local/pebble-base:bookworm}
ENV_FILE=${ENV_FILE:-.env}
# The host's CA bundle goes into the images so that pip inside `docker build` trusts
# a TLS-inspecting proxy, as a user behind a corporate proxy would have to do.
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

log() { echo "offline-images: $*" >&2; }
die() { echo "offline-images: ERROR: $*" >&2; exit 1; }
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "building a stand-in needs root for: $*"; fi
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null && return
    log "installing debootstrap from Debian"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

# What the official nginx image does to its logs: the default paths write to the
# container's stdout/stderr (`docker logs`), and no nginx command needs a writable file.
nginx_like_official() {
    as_root ln -sf /dev/stdout "$1/var/log/nginx/access.log"
    as_root ln -sf /dev/stderr "$1/var/log/nginx/error.log"
}

# ln -s TARGET LINK unless LINK already is TARGET: with merged /usr (bookworm's debootstrap
# default) /bin/x already is /usr/bin/x, and a link there would point at itself.
link_if_missing() {
    [ -e "$2" ] || as_root ln -s "$1" "$2"
}

# The official prom/prometheus image: /bin/prometheus and /bin/promtool, /prometheus (the
# TSDB, a volume) and /etc/prometheus owned by nobody (65534), which the image runs as.
# https://github.com/prometheus/prometheus/blob/main/Dockerfile
prometheus_like_official() {
    link_if_missing /usr/bin/prometheus "$1/bin/prometheus"
    link_if_missing /usr/bin/promtool "$1/bin/promtool"
    as_root mkdir -p "$1/prometheus" "$1/etc/prometheus"
    as_root chown -R 65534:65534 "$1/prometheus" "$1/etc/prometheus"
}
PROMETHEUS_CHANGES=('ENTRYPOINT ["/bin/prometheus"]'
    'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]'
    'USER nobody' 'WORKDIR /prometheus' 'VOLUME /prometheus' 'EXPOSE 9090')

# The official nginx/nginx-prometheus-exporter image runs /usr/bin/nginx-prometheus-exporter
# as 65534 on :9113; Debian names the same program prometheus-nginx-exporter.
# https://github.com/nginx/nginx-prometheus-exporter/blob/main/build/Dockerfile
nginx_exporter_like_official() {
    link_if_missing prometheus-nginx-exporter "$1/usr/bin/nginx-prometheus-exporter"
}
NGINX_EXPORTER_CHANGES=('ENTRYPOINT ["/usr/bin/nginx-prometheus-exporter"]'
    'USER 65534:65534' 'EXPOSE 9113')

# The official registry:2 image serves /etc/docker/registry/config.yml on :5000; Debian's
# docker-registry is the same program (distribution 2.8). Its packaged config asks for
# htpasswd logins and stores elsewhere: the official image's config replaces it.
# https://github.com/distribution/distribution-library-image/blob/master/config-example.yml
registry_like_official() {
    as_root mkdir -p "$1/var/lib/registry"
    as_root tee "$1/etc/docker/registry/config.yml" >/dev/null <<'YAML'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
YAML
}
REGISTRY_CHANGES=('ENTRYPOINT ["/usr/bin/docker-registry"]' 'CMD ["serve", "/etc/docker/registry/config.yml"]'
    'EXPOSE 5000' 'VOLUME /var/lib/registry')

# The official ghcr.io/letsencrypt/pebble image: /usr/bin/pebble, run from / so that its
# default -config test/config/pebble-config.json is found, with the HTTPS API's
# certificate under /test/certs. Debian ships neither: the API's certificate (names
# pebble and localhost) is made here, by a throwaway CA whose key is not kept; its
# certificate is /test/certs/pebble.minica.pem, what ACME clients trust for the API.
# https://github.com/letsencrypt/pebble/blob/main/docker/pebble/linux.Dockerfile
pebble_like_official() {
    local certs=$1/test/certs
    as_root mkdir -p "$1/test/config" "$certs/localhost"
    as_root tee "$1/test/config/pebble-config.json" >/dev/null <<'JSON'
{
  "pebble": {
    "listenAddress": "0.0.0.0:14000",
    "managementListenAddress": "0.0.0.0:15000",
    "certificate": "test/certs/localhost/cert.pem",
    "privateKey": "test/certs/localhost/key.pem",
    "httpPort": 5002,
    "tlsPort": 5001,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
JSON
    as_root openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=pebble stand-in CA" -keyout "$certs/ca.key" -out "$certs/pebble.minica.pem" 2>/dev/null
    as_root openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1825 \
        -subj /CN=pebble -addext "subjectAltName=DNS:pebble,DNS:localhost,IP:127.0.0.1" \
        -CA "$certs/pebble.minica.pem" -CAkey "$certs/ca.key" \
        -keyout "$certs/localhost/key.pem" -out "$certs/localhost/cert.pem" 2>/dev/null
    as_root rm "$certs/ca.key"
    as_root chmod 644 "$certs/localhost/key.pem"  # a test key, readable by any user it runs as
}
PEBBLE_CHANGES=('CMD ["/usr/bin/pebble"]' 'WORKDIR /' 'EXPOSE 14000 15000')

# import_rootfs DIR IMAGE [CHANGE...]: DIR as IMAGE, with the host's CA bundle. The bundle
# goes in last, so that no package step before it (update-ca-certificates) drops the
# host's CAs. Each CHANGE is a Dockerfile instruction for the image's config (ENTRYPOINT,
# USER...): https://docs.docker.com/reference/cli/docker/image/import/
import_rootfs() {
    local rootfs=$1 image=$2 change changes=(-c 'ENV LANG=C.UTF-8')
    for change in "${@:3}"; do changes+=(-c "$change"); done
    [ -f "$CA_BUNDLE" ] && as_root cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
    as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    as_root tar -C "$rootfs" -c . | docker import "${changes[@]}" - "$image" >/dev/null
    log "built $image"
}

# build_image IMAGE SUITE PACKAGES [FINISH [CHANGE...]]: FINISH (may be '') is called with
# the rootfs before import; the CHANGEs go to import_rootfs.
build_image() {
    local image=$1 suite=$2 include=$3 finish=${4:-} rootfs
    if docker image inspect "$image" >/dev/null 2>&1; then
        log "$image already exists, reusing it (docker rmi $image to rebuild)"
        return
    fi
    ensure_debootstrap
    rootfs=$(mktemp -d /tmp/rootfs.XXXXXX)
    # shellcheck disable=SC2064  # expand now: $rootfs is local to this call
    trap "as_root rm -rf '$rootfs' '$rootfs.log'" RETURN
    log "building $image from Debian $suite (about a minute)..."
    as_root debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" >"$rootfs.log" 2>&1 || {
        log "debootstrap failed, last lines of $rootfs.log:"; tail -n 20 "$rootfs.log" >&2; exit 1; }
    [ -z "$finish" ] || "$finish" "$rootfs"
    import_rootfs "$rootfs" "$image" "${@:5}"
}

# derive_image IMAGE BASE PACKAGES: BASE (a stand-in from here) plus Debian PACKAGES
# (comma-separated, as for debootstrap), installed by apt in a chroot. For packages that
# debootstrap cannot install: it ignores virtual packages, and npm depends on several
# (node-cli-table3, node-cssesc, ...).
derive_image() {
    local image=$1 base=$2 rootfs cid packages
    IFS=, read -ra packages <<<"$3"
    if docker image inspect "$image" >/dev/null 2>&1; then
        log "$image already exists, reusing it (docker rmi $image to rebuild)"
        return
    fi
    docker image inspect "$base" >/dev/null 2>&1 || die "$image is built on $base, which is missing"
    rootfs=$(mktemp -d /tmp/rootfs.XXXXXX)
    # shellcheck disable=SC2064  # expand now: $rootfs is local to this call
    trap "as_root rm -rf '$rootfs' '$rootfs.log'" RETURN
    log "building $image: $base + $3 (about a minute)..."
    cid=$(docker create "$base" true)
    docker export "$cid" | as_root tar -C "$rootfs" -x
    docker rm "$cid" >/dev/null
    # The chroot shares the host's network, so apt needs the host's resolver (docker
    # replaces this file in every container anyway).
    as_root cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
    # sid's Release file says how long it is valid (a week); a mirror that serves a snapshot
    # outlives that, and apt would refuse the index. Its signature is still checked.
    # https://manpages.debian.org/apt.conf.5#Acquire::Check-Valid-Until
    {
        as_root chroot "$rootfs" apt-get -o Acquire::Check-Valid-Until=false update -qq &&
            as_root chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq --no-install-recommends "${packages[@]}"
    } >"$rootfs.log" 2>&1 || {
        log "apt-get in $base failed, last lines of $rootfs.log:"; tail -n 20 "$rootfs.log" >&2; exit 1; }
    import_rootfs "$rootfs" "$image"
}

set_env_var() {
    local key=$1 value=$2
    touch "$ENV_FILE"
    grep -v "^$key=" "$ENV_FILE" >"$ENV_FILE.tmp" || true
    echo "$key=$value" >>"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# The value of KEY in .env, empty when absent.
env_value() { [ -f "$ENV_FILE" ] && sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1; }

# ensure VAR BUILDER IMAGE ARGS...: when VAR was asked for, `BUILDER IMAGE ARGS...` if
# IMAGE is missing, then point VAR at IMAGE.
ensure() {
    local var=$1 image=$3 current
    [[ " ${WANTED[*]} " == *" $var "* ]] || return 0
    current=$(env_value "$var" || true)
    if [ "$MODE" = refresh ] && [ "${current%:*}" != "${image%:*}" ]; then
        return  # .env names another image (pulled, or the user's own): leave it alone
    fi
    "${@:2}"
    [ "$current" = "$image" ] || { set_env_var "$var" "$image"; log "$ENV_FILE: $var=$image (was: ${current:-unset})"; }
}

MODE=build
if [ "${1:-}" = --refresh ]; then MODE=refresh; shift; fi
KNOWN=(PYTHON_IMAGE PYPY_IMAGE NGINX_IMAGE NODE_IMAGE NODE_BUILD_IMAGE PROMETHEUS_IMAGE
    NGINX_EXPORTER_IMAGE REGISTRY_IMAGE PEBBLE_IMAGE)
WANTED=("${@:-${KNOWN[@]}}")
for var in "${WANTED[@]}"; do
    [[ " ${KNOWN[*]} " == *" $var "* ]] || die "no stand-in for $var; known: ${KNOWN[*]}"
done
# The npm image is built on the Node one.
[[ " ${WANTED[*]} " != *" NODE_BUILD_IMAGE "* ]] || WANTED+=(NODE_IMAGE)

ensure PYTHON_IMAGE build_image "$PYTHON_STANDIN" bookworm python3,python3-venv,ca-certificates
ensure PYPY_IMAGE build_image "$PYPY_STANDIN" sid pypy3,pypy3-venv,ca-certificates
# nginx >= 1.27.3 is needed for `server ... resolve` in an upstream; bookworm has 1.22,
# sid has 1.30. https://nginx.org/en/docs/http/ngx_http_upstream_module.html#resolve
ensure NGINX_IMAGE build_image "$NGINX_STANDIN" sid nginx,ca-certificates nginx_like_official
# Node.js 24, the current LTS, from sid (bookworm's 18 is end of life): a yardstick should
# be the best of its kind. It runs the reference's Express 5; Debian's node trusts the
# system CA bundle, so npm in `docker build` trusts the host's CAs with no extra setting.
# https://nodejs.org/en/about/previous-releases
ensure NODE_IMAGE build_image "$NODE_STANDIN" sid nodejs,ca-certificates
ensure NODE_BUILD_IMAGE derive_image "$NODE_BUILD_STANDIN" "$NODE_STANDIN" npm
# Monitoring (monitoring/): Prometheus with promtool (make monitor-check), and the exporter
# of nginx's stub_status. wget: compose's healthcheck, as busybox's in the official image
# (promtool 2.42 has no `check ready`).
ensure PROMETHEUS_IMAGE build_image "$PROMETHEUS_STANDIN" bookworm prometheus,wget,ca-certificates \
    prometheus_like_official "${PROMETHEUS_CHANGES[@]}"
ensure NGINX_EXPORTER_IMAGE build_image "$NGINX_EXPORTER_STANDIN" bookworm prometheus-nginx-exporter,ca-certificates \
    nginx_exporter_like_official "${NGINX_EXPORTER_CHANGES[@]}"
# The swarm lab's registry (make lab-up; docs/several-machines.md).
ensure REGISTRY_IMAGE build_image "$REGISTRY_STANDIN" bookworm docker-registry,ca-certificates registry_like_official \
    "${REGISTRY_CHANGES[@]}"
# The acme profile's test CA (tests/e2e/test_acme.py), never a service of the stack.
ensure PEBBLE_IMAGE build_image "$PEBBLE_STANDIN" bookworm pebble,ca-certificates pebble_like_official \
    "${PEBBLE_CHANGES[@]}"
