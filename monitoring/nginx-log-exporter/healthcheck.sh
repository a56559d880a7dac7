#!/bin/bash
# Docker HEALTHCHECK probe: exit 0 when /metrics answers 200, else 1 (and say why).
# bash's /dev/tcp instead of curl (not in the image) or a Python start every interval.
# Healthy means serving: whether nginx's log is found shows in nginx_log_followed_containers.
set -u
port=${EXPORTER_PORT:-9114}
if ! exec 3<>"/dev/tcp/127.0.0.1/$port"; then
    echo "healthcheck failed: nothing accepts connections on port $port" >&2
    exit 1
fi
printf 'GET /metrics HTTP/1.1\r\nHost: healthcheck\r\nConnection: close\r\n\r\n' >&3
if ! read -r -t 2 _ status _ <&3; then
    echo "healthcheck failed: GET /metrics on port $port got no answer within 2 s" >&2
    exit 1
fi
# Read the rest, so that the server does not write into a closed connection.
timeout 2 cat <&3 >/dev/null
if [ "$status" != 200 ]; then
    echo "healthcheck failed: GET /metrics on port $port answered $status" >&2
    exit 1
fi
