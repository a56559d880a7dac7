"""scripts/k8s_check.py (make k8s-check): passes on deploy/kubernetes, fails on each kind of break."""

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.deploy.manifests import rendered

pytestmark = pytest.mark.config

SCRIPT = ROOT / "scripts" / "k8s_check.py"


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    rendered()  # skips loudly off CI when the tools are missing, as the other Kubernetes tests do
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True, text=True,
                          timeout=180)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """deploy/kubernetes and the nginx/ folder it reads, laid out as in the repo."""
    shutil.copytree(ROOT / "deploy" / "kubernetes", tmp_path / "deploy" / "kubernetes")
    shutil.copytree(ROOT / "nginx", tmp_path / "nginx")
    return tmp_path / "deploy" / "kubernetes"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is no longer in {path.name}: update this test"
    path.write_text(text.replace(old, new, 1))


def test_the_shipped_manifests_pass() -> None:
    run = run_check(ROOT / "deploy" / "kubernetes")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 5 and all("valid on Kubernetes 1.30 and 1.37" in line for line in lines), run.stdout
    [queue_wait] = [line for line in lines if "overlays/queue-wait:" in line]
    assert "no schema: PodMonitor (the Prometheus Operator), ScaledObject (KEDA)" in queue_wait


def break_reference(root: Path) -> None:
    edit(root / "base" / "kustomization.yaml", "  - api-pdb.yaml\n", "  - api-pdb.yaml\n  - api-gone.yaml\n")


def break_schema(root: Path) -> None:
    edit(root / "base" / "api-deployment.yaml", "readinessProbe:", "readinesProbe:")


def break_type(root: Path) -> None:
    edit(root / "base" / "api-deployment.yaml", "failureThreshold: 60", "failureThreshold: sixty")


def break_kind(root: Path) -> None:
    edit(root / "overlays" / "monitoring" / "api-podmonitor.yaml", "kind: PodMonitor", "kind: PodMonitors")


def break_security(root: Path) -> None:
    edit(root / "base" / "nginx-deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")


def break_nginx_mount(root: Path) -> None:
    (root.parent.parent / "nginx" / "conf.d" / "basics.conf").unlink()


@pytest.mark.parametrize(("breaks", "says"), [
    (break_reference, "kustomize build"),
    (break_schema, "'readinesProbe' was unexpected"),
    (break_type, "'sixty' is not of type 'integer'"),
    (break_kind, "kind PodMonitors has no schema"),
    (break_security, "CKV_K8S_22"),
    (break_nginx_mount, "conf.d/basics.conf"),
])
def test_a_broken_manifest_fails_and_says_where(copy: Path, breaks: Callable[[Path], None], says: str) -> None:
    breaks(copy)
    run = run_check(copy)
    assert run.returncode == 1, run.stdout
    assert "k8s-check: FAILED: " in run.stderr and says in run.stderr, run.stderr
