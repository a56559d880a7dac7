"""Zero-downtime rolling restart of the api replicas (make rollout), e.g. after a new build.

One step per old replica: start one new replica from the current image and config, wait
until it is healthy, give nginx time to resolve it, then stop the old one with SIGTERM (it
drains: in-flight requests finish) and remove it. nginx retries anything that reaches a
stopping replica on another one, so no request fails.
Works on the stack of the current compose project (COMPOSE_PROJECT_NAME is honoured).
"""

import os
import shlex
import time
from pathlib import Path

from proc import Failed, Log, output, succeeds

ROOT = Path(__file__).resolve().parents[1]
# Longer than nginx's resolver valid=2s (nginx/conf.d/resolver.conf): not an event to wait
# on, since nginx tells no one when it re-resolved. tests/test_rules.py holds the two together.
SETTLE_S = 3
# Above the replicas' graceful shutdown, so that a drain ends before SIGKILL (tests/test_rules.py).
STOP_TIMEOUT_S = 30


log = Log("rollout")
die = log.die


def replace(compose: list[str], old: str, step: str, replicas: int, settle_s: float, stop_timeout_s: int) -> None:
    """One step: a new replica up and healthy, then the old one drained and removed."""
    log(f"{step} starting a new replica and waiting until it is healthy")
    try:
        output([*compose, "up", "-d", "--no-recreate", "--no-deps", "--wait", "--scale", f"api={replicas + 1}", "api"])
    except Failed as exc:
        die(f"the new replica did not become healthy; the old ones still serve ({exc}). "
            f"See: {shlex.join(compose)} logs api")
    time.sleep(settle_s)
    log(f"{step} draining old replica {old[:12]} (SIGTERM, up to {stop_timeout_s}s)")
    output(["docker", "stop", "-t", str(stop_timeout_s), old])
    code = output(["docker", "inspect", "-f", "{{.State.ExitCode}}", old])
    if code != "0":
        log(f"warning: {old[:12]} exited with {code} instead of 0: it did not drain cleanly")
    output(["docker", "rm", old])


def main() -> None:
    os.chdir(ROOT)
    compose = shlex.split(os.environ.get("COMPOSE", "docker compose"))
    settle_s = float(os.environ.get("SETTLE_S", SETTLE_S))
    stop_timeout_s = int(os.environ.get("STOP_TIMEOUT_S", STOP_TIMEOUT_S))
    # Stopped replicas (killed, crashed) would count towards --scale and be restarted on the
    # old image instead of new ones being created: remove them first.
    succeeds([*compose, "rm", "-f", "api"])
    old = output([*compose, "ps", "-q", "--status", "running", "api"]).split()
    if not old:
        die("no running api replica in this compose project; start one with: make up")
    log(f"replacing {len(old)} replicas, one at a time")
    for step, replica in enumerate(old, start=1):
        replace(compose, replica, f"[{step}/{len(old)}]", len(old), settle_s, stop_timeout_s)
    for replica in old:
        if output(["docker", "ps", "-q", "--filter", f"id={replica}"]):
            die(f"old replica {replica[:12]} still runs: the rollout is incomplete")
    log(f"done: {len(old)} new replicas serve")


if __name__ == "__main__":
    try:
        main()
    except Failed as exc:
        die(str(exc))
