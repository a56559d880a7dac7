"""Prometheus metrics from nginx's JSON access log, read from Docker's json-file log on the host.

Open-source nginx counts no retries and nothing per upstream; its access log has both
($upstream_status, $upstream_addr). This reads that log the way log shippers do (a read-only
mount of /var/lib/docker/containers), so nginx's own request path is unchanged.
"""
