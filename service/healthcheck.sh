#!/bin/bash
# Docker HEALTHCHECK probe: exit 0 when /healthz answers 200, else 1 (and say why).
#
# bash, not Python: a probe that starts an interpreter every 5 s cost ~0.3 s of CPU on PyPy
# (~0.2 s on CPython), in bursts that stalled the replica's own requests for up to ~130 ms
# (docs/runtimes.md). bash's /dev/tcp opens the connection; the port is the replica's own,
# so the probe asks where the replica really listens.
set -u

# Settings' choice (app/settings.py): API_PORT when it is a number (a Kubernetes service
# link sets it to tcp://...), else PORT as platforms set it, else 8000.
# It sets $port without a subshell: no fork every 5 s. tests/test_rules.py sources this
# file to hold the two to the same answer.
listen_port() {
    if [[ ${API_PORT:-} =~ ^[[:space:]]*([0-9]+)[[:space:]]*$ ]]; then
        port=${BASH_REMATCH[1]}
    elif [[ ${PORT:-} =~ [^[:space:]] ]]; then
        port=${PORT//[[:space:]]/}
    else
        port=8000
    fi
}

[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0
listen_port
if ! exec 3<>"/dev/tcp/127.0.0.1/$port"; then
    echo "healthcheck failed: nothing accepts connections on port $port" >&2
    exit 1
fi
printf 'GET /healthz HTTP/1.1\r\nHost: healthcheck\r\nConnection: close\r\n\r\n' >&3
if ! read -r -t 2 _ status _ <&3; then
    echo "healthcheck failed: GET /healthz on port $port got no answer within 2 s" >&2
    exit 1
fi
if [ "$status" != 200 ]; then
    echo "healthcheck failed: GET /healthz on port $port answered $status" >&2
    exit 1
fi
