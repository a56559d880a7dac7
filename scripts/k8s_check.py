"""make k8s-check: render every kustomization of deploy/kubernetes and check it offline.

No Kubernetes engine can run here, so each of base/ and overlays/*/ is checked as hard as a
cluster-less machine allows:

  1. kustomize build: a missing file, a bad patch or a broken reference fails;
  2. kubernetes-validate --strict, against the oldest and the newest Kubernetes minor the
     manifests claim: an unknown field or a wrong type fails. Kinds with no schema there
     (custom resources) must be the ones listed in CUSTOM_KINDS, so a misspelt kind fails too;
  3. checkov, the security linter, with the waivers (and their reasons) of
     deploy/kubernetes/checkov.yaml.

    python scripts/k8s_check.py [--root deploy/kubernetes] [--out DIR]

The tools live in .venv/k8s (scripts/setup.sh lint installs them).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / os.environ.get("VENV", ".venv") / "k8s" / "bin"
# Oldest: the api's preStop `sleep` action is on by default from 1.30 (beta; GA in 1.34).
# Newest: the newest minor kubernetes-validate (requirements-k8s.txt) has schemas for.
VERSIONS = ("1.30.0", "1.37.0")
# Custom resources of the overlays, with the operator each needs: no schema to check them against.
CUSTOM_KINDS = {"PodMonitor": "the Prometheus Operator", "ScaledObject": "KEDA"}


class CheckFailed(Exception):
    """One step failed for one kustomization; the message says which and what to do."""


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        raise CheckFailed(f"{path} is missing: run `make lint-setup` (scripts/setup.sh lint) to install it")
    return str(path)


def kustomizations(root: Path) -> list[Path]:
    found = [root / "base", *sorted(p.parent for p in root.glob("overlays/*/kustomization.yaml"))]
    return [d for d in found if (d / "kustomization.yaml").exists()]


def render(directory: Path) -> str:
    """What `kubectl apply -k DIRECTORY` would send, as one YAML stream."""
    run = subprocess.run([tool("kustomize"), "build", str(directory)], capture_output=True, text=True)
    if run.returncode != 0:
        raise CheckFailed(f"kustomize build {directory} failed:\n{run.stderr.strip()}")
    return run.stdout


def validate(rendered: Path) -> set[str]:
    """Strict schema check on each version; returns the custom kinds seen."""
    custom: set[str] = set()
    for version in VERSIONS:
        run = subprocess.run([tool("kubernetes-validate"), "--strict", "--quiet", "-k", version, str(rendered)],
                             capture_output=True, text=True)
        out = run.stdout + run.stderr
        if run.returncode != 0:
            raise CheckFailed(f"not valid Kubernetes {version} (strict schema):\n{out.strip()}")
        for kind in re.findall(r"Couldn't find schema for kind (\w+)", out):
            if kind not in CUSTOM_KINDS:
                raise CheckFailed(f"kind {kind} has no schema in Kubernetes {version}: a typo, or a custom "
                                  f"resource to add to CUSTOM_KINDS in {Path(__file__).name}")
            custom.add(kind)
    return custom


def lint(rendered: Path, config: Path) -> str:
    run = subprocess.run([tool("checkov"), "--config-file", str(config), "-f", str(rendered)],
                         capture_output=True, text=True)
    summary = re.search(r"Passed checks: (\d+), Failed checks: (\d+)", run.stdout)
    if run.returncode != 0 or summary is None:
        raise CheckFailed(f"checkov failed:\n{run.stdout.strip()}\n{run.stderr.strip()}\nFix the manifest, or "
                          f"waive the check with its reason in {config}")
    return f"checkov {summary[1]} passed"


def check(directory: Path, root: Path, out: Path) -> str:
    name = directory.relative_to(root)
    rendered, text = out / f"{str(name).replace('/', '-')}.yaml", render(directory)
    rendered.write_text(text)
    custom = validate(rendered)
    kinds = len(re.findall(r"^kind: ", text, flags=re.MULTILINE))
    unchecked = f"; no schema: {', '.join(f'{k} ({CUSTOM_KINDS[k]})' for k in sorted(custom))}" if custom else ""
    return (f"{name}: {kinds} objects, valid on Kubernetes {' and '.join(v[:-2] for v in VERSIONS)}"
            f"{unchecked}; {lint(rendered, root / 'checkov.yaml')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=REPO / "deploy" / "kubernetes")
    parser.add_argument("--out", type=Path, help="keep the rendered manifests here (default: a temporary folder)")
    args = parser.parse_args(argv)
    directories = kustomizations(args.root)
    if not directories:
        print(f"k8s-check: FAILED: no kustomization.yaml under {args.root}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        for directory in directories:
            try:
                print(f"k8s-check: {check(directory, args.root, out)}", flush=True)
            except CheckFailed as failure:
                print(f"k8s-check: FAILED: {directory.relative_to(args.root)}: {failure}", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
