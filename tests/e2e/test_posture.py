"""Container posture, read back from the running containers with docker inspect."""

import subprocess

import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("service", ["api", "nginx"])
def test_containers_run_locked_down(stack: Stack, service: str) -> None:
    cid = stack.container_ids(service)[0]
    config = stack.inspect(cid)
    host = config["HostConfig"]
    assert config["Config"]["User"] not in {"", "0", "root"}, "must not run as root"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["PidsLimit"] and host["PidsLimit"] > 0
    assert host["Memory"] > 0
    assert host["Init"] is True


@pytest.mark.parametrize("service", ["api", "nginx"])
def test_root_filesystem_is_really_read_only(stack: Stack, service: str) -> None:
    cid = stack.container_ids(service)[0]
    uid = subprocess.run(["docker", "exec", cid, "id", "-u"], capture_output=True, text=True)
    assert uid.returncode == 0 and uid.stdout.strip() != "0"
    write = subprocess.run(["docker", "exec", cid, "touch", "/etc/probe"], capture_output=True, text=True)
    assert write.returncode != 0 and "Read-only file system" in write.stderr
