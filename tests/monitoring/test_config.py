"""promtool on the real rule files in the image the stack runs, and the dashboard's PromQL
against the metrics that exist (service/app and the nginx exporters)."""

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.config

PROMETHEUS_DIR = ROOT / "monitoring" / "prometheus"
GRAFANA_DIR = ROOT / "monitoring" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "pycluster.json"

# What the scrape jobs export: the replicas (job api), the nginx exporter (job nginx) and
# the log exporter (job nginx-log); `up` is Prometheus' own, one per target.
METRICS = {
    "up",
    "api_requests_total", "api_request_duration_seconds_bucket",
    "api_job_run_seconds_bucket", "api_job_wait_seconds_bucket",
    "api_jobs_waiting", "api_jobs_running", "api_shed_total", "api_draining", "api_runtime_info",
    "api_max_wait_seconds",
    "nginx_up", "nginx_connections_active", "nginx_http_requests_total",
    "nginx_log_retried_requests_total", "nginx_log_requests_total",
}
# PromQL words that look like names: operators, modifiers, and the grouping keywords.
KEYWORDS = {"and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "inf", "nan"}


@pytest.fixture(scope="session")
def prometheus_image(docker: None) -> str:
    """The Prometheus image (promtool included), as compose resolves it: scripts/images.py."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "images.py"), "PROMETHEUS_IMAGE"],
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def promtool(image: str, rules_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`promtool ARGS` as make monitor-check runs it: rules_dir at /etc/prometheus, non-root."""
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp",
         "-u", "65534:65534", "--mount", f"type=bind,source={rules_dir},target=/etc/prometheus,readonly",
         "-w", "/etc/prometheus", "--entrypoint", "/bin/promtool", image, *args],
        capture_output=True, text=True, timeout=120)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: what is left once strings, label matchers,
    ranges, grouping label lists, Grafana variables, numbers and function calls are taken out."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\$\{?\w+\}?", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = re.findall(r"(?<![\w.:])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {name for name in names if name.lower() not in KEYWORDS and not re.fullmatch(r"\d*e\d+", name)}


def recorded() -> set[str]:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    return {rule["record"] for group in rules["groups"] for rule in group["rules"] if "record" in rule}


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside (collapsed) rows too."""
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


def dashboard_exprs() -> dict[str, str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return {f"{panel['title']} {target['refId']}": target["expr"]
            for panel in panels(dashboard["panels"]) for target in panel.get("targets", [])}


# --- promtool, in the image ------------------------------------------------------------

def test_the_rule_file_passes_promtool_check_rules(prometheus_image: str) -> None:
    result = promtool(prometheus_image, PROMETHEUS_DIR, "check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alerts_pass_their_unit_test(prometheus_image: str) -> None:
    result = promtool(prometheus_image, PROMETHEUS_DIR, "test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_test_catches_a_wrong_threshold(prometheus_image: str, tmp_path: Path) -> None:
    """The unit test can fail: shedding at 20 % instead of 5 % misses its 10 % case."""
    rules = (PROMETHEUS_DIR / "alerts.yml").read_text()
    broken, count = re.subn(r'(\{route="/api"\}\[5m\]\)\) > )0\.05', r"\g<1>0.2", rules)
    assert count == 1, "the shed alert's threshold moved: update this test"
    (tmp_path / "alerts.yml").write_text(broken)
    (tmp_path / "alerts.test.yml").write_text((PROMETHEUS_DIR / "alerts.test.yml").read_text())
    tmp_path.chmod(0o755)
    result = promtool(prometheus_image, tmp_path, "test", "rules", "alerts.test.yml")
    assert result.returncode != 0
    assert "alertname: ApiSheddingLoad" in result.stdout + result.stderr


def test_the_prometheus_config_passes_promtool_check_config(prometheus_image: str) -> None:
    assert (PROMETHEUS_DIR / "prometheus.yml").exists(), "monitoring/prometheus/prometheus.yml is missing"
    result = promtool(prometheus_image, PROMETHEUS_DIR, "check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_knows_the_flags_compose_passes(prometheus_image: str) -> None:
    """The stand-in is Prometheus 2.42, the official image 3.x: both have these."""
    result = subprocess.run(["docker", "run", "--rm", "--network", "none", prometheus_image, "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for flag in ("--config.file", "--storage.tsdb.path", "--web.enable-remote-write-receiver"):
        assert flag in result.stdout + result.stderr


# --- the dashboard and the rules read only metrics that exist ---------------------------

def test_metric_names_finds_the_names_and_nothing_else() -> None:
    expr = ('histogram_quantile(0.95, sum by (le, route) (rate(api_request_duration_seconds_bucket'
            '{route="/api", le!="+Inf"}[$__rate_interval]))) / on (instance) group_left (replica) '
            'api_runtime_info > 1e3 and count(up{job="api"} == 1) offset 5m')
    assert metric_names(expr) == {"api_request_duration_seconds_bucket", "api_runtime_info", "up"}


def test_the_dashboard_reads_only_exported_or_recorded_metrics() -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 12, exprs
    used = {name for expr in exprs.values() for name in metric_names(expr)}
    unknown = {where: metric_names(expr) - METRICS - recorded() for where, expr in exprs.items()}
    assert not {where: names for where, names in unknown.items() if names}
    # Every replica metric has a panel.
    assert {m for m in METRICS if m.startswith("api_")} <= used, used


def test_the_rules_read_only_exported_or_recorded_metrics() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule["record"]
            assert not metric_names(rule["expr"]) - METRICS - recorded(), name
            if "alert" in rule:
                assert rule["for"] and rule["labels"]["severity"] in {"warning", "critical"}, name
                assert {"summary", "description"} <= rule["annotations"].keys(), name


def test_the_dashboard_uses_the_provisioned_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    datasources = yaml.safe_load((GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasources["datasources"][0]["uid"]
    variable = next(v for v in dashboard["templating"]["list"] if v["type"] == "datasource")
    assert variable["current"]["value"] == uid == "prometheus"
    assert dashboard["schemaVersion"] >= 39
    for panel in panels(dashboard["panels"]):
        for source in [panel.get("datasource"), *(t.get("datasource") for t in panel.get("targets", []))]:
            assert source in (None, {"type": "prometheus", "uid": f"${{{variable['name']}}}"}), panel["title"]


def test_grafana_rate_interval_matches_the_scrape_interval() -> None:
    """$__rate_interval is built from the datasource's timeInterval, which must be
    Prometheus' scrape interval."""
    config = PROMETHEUS_DIR / "prometheus.yml"
    assert config.exists(), "monitoring/prometheus/prometheus.yml is missing"
    scrape = yaml.safe_load(config.read_text()).get("global", {}).get("scrape_interval", "1m")
    datasources = yaml.safe_load((GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert datasources["datasources"][0]["jsonData"]["timeInterval"] == scrape


def test_compose_defaults_to_the_images_scripts_images_py_names() -> None:
    """scripts/images.py resolves PROMETHEUS_IMAGE and NGINX_EXPORTER_IMAGE with its own
    defaults (promtool runs without the stack): compose's ${VAR:-default} must agree."""
    spec = importlib.util.spec_from_file_location("images", ROOT / "scripts" / "images.py")
    assert spec and spec.loader
    images = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(images)
    found = {}
    for path in [ROOT / "docker-compose.yml", *sorted((ROOT / "compose").glob("*.yml"))]:
        # The text, not YAML: compose's own tags (!reset in compose/swarm.yml) need no loader.
        for variable, default in re.findall(r"(?m)^\s*image:\s*[\"']?\$\{(\w+):-([^}]*)\}", path.read_text()):
            if variable in images.MONITORING:
                found[f"{path.name} {variable}"] = (variable, default)
    assert found, "no compose service runs PROMETHEUS_IMAGE or NGINX_EXPORTER_IMAGE"
    for where, (variable, default) in found.items():
        assert default == images.MONITORING[variable], f"{where}: {variable} defaults to {default}"
