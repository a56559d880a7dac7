"""What each container used during a run: cgroup and /proc parsing, and the arithmetic."""

import threading
from pathlib import Path

import pytest

from bench.model import Compare, Run
from bench.report import compare_table
from bench.resources import cgroup, meter
from bench.resources.cpu import TICK_S
from bench.resources.report import usage_table
from bench.resources.usage import PROXY, REPLICA, Reading, Resources, summarize

pytestmark = pytest.mark.unit
FULL_ID = "ab" * 32


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v1_reads_nanoseconds_and_resets_the_peak(tmp_path: Path) -> None:
    _write(tmp_path / "cpuacct" / "docker" / FULL_ID / "cpuacct.usage", "2500000000\n")
    peak = tmp_path / "memory" / "docker" / FULL_ID / "memory.max_usage_in_bytes"
    _write(peak, "73400320\n")
    assert cgroup.version(tmp_path) == "v1"
    assert cgroup.cpu_s(FULL_ID, tmp_path) == 2.5
    assert cgroup.peak_mb(FULL_ID, tmp_path) == pytest.approx(73.40032)
    assert cgroup.reset_peak(FULL_ID, tmp_path) and peak.read_text() == "0"


def test_cgroup_v2_reads_usage_usec_and_memory_peak_under_the_systemd_scope(tmp_path: Path) -> None:
    scope = tmp_path / "system.slice" / f"docker-{FULL_ID}.scope"
    _write(tmp_path / "cgroup.controllers", "cpu memory\n")
    _write(scope / "cpu.stat", "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n")
    _write(scope / "memory.peak", "50000000\n")
    assert cgroup.version(tmp_path) == "v2"
    assert cgroup.cpu_s(FULL_ID, tmp_path) == pytest.approx(1.234567)
    assert cgroup.peak_mb(FULL_ID, tmp_path) == 50.0
    assert not cgroup.reset_peak(FULL_ID, tmp_path), "v2's peak cannot be reset for everyone"


def test_no_cgroup_reads_as_none(tmp_path: Path) -> None:
    assert cgroup.cpu_s(FULL_ID, tmp_path) is None and cgroup.peak_mb(FULL_ID, tmp_path) is None


def test_docker_stats_sizes() -> None:
    assert cgroup.size_mb("12.5MiB") == pytest.approx(12.5 * 1.048576)
    assert cgroup.size_mb("800kB") == 0.8
    assert cgroup.stats_mem_mb(f"{FULL_ID[:12]} 1GiB / 2GiB\nbad line\nx --\n") == {
        FULL_ID[:12]: pytest.approx(1073.741824)}
    with pytest.raises(ValueError, match="not a size"):
        cgroup.size_mb("12 parsecs")


def test_container_names_put_replicas_first_in_numeric_order() -> None:
    ps = "c\tnginx\t1\nb\tapi\t10\na\tapi\t2\nd\tprometheus\t1\n"
    assert meter.container_names(ps) == [("a", "api-2", REPLICA), ("b", "api-10", REPLICA),
                                         ("c", "nginx", PROXY), ("d", "prometheus", "other")]


def test_cpu_per_request_is_the_replicas_cpu_over_completed_requests() -> None:
    readings = [Reading("api-1", REPLICA, cpu_before=10.0, cpu_after=13.0, peak_mem_mb=60.0),
                Reading("api-2", REPLICA, cpu_before=5.0, cpu_after=8.5, peak_mem_mb=70.0),
                Reading("nginx", PROXY, cpu_before=1.0, cpu_after=1.2, peak_mem_mb=9.0),
                Reading("prometheus", "other", cpu_before=0.0, cpu_after=4.0)]
    res = summarize(readings, 200, "cgroup v1")
    assert (res.replicas_cpu_s, res.proxy_cpu_s) == (6.5, 0.2)
    assert res.cpu_ms_per_request == 32.5 and res.proxy_cpu_ms_per_request == 1.0
    assert res.peak_mem_mb == 70.0 and res.containers["prometheus"].cpu_s == 4.0
    assert Resources.from_dict(res.to_dict()) == res


def test_a_missing_reading_leaves_the_total_unknown_and_says_why_once() -> None:
    readings = [Reading("api-1", REPLICA, cpu_before=1.0, cpu_after=2.0, problems=["no cgroup"]),
                Reading("api-2", REPLICA, cpu_before=None, cpu_after=2.0, problems=["no cgroup"])]
    res = summarize(readings, 0, "none")
    assert res.replicas_cpu_s is None and res.cpu_ms_per_request is None and res.proxy_cpu_s is None
    assert res.note == "no cgroup"


def test_docker_meter_reads_the_cgroup_of_each_container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = {"api-1": "1" * 64, "nginx": "2" * 64}
    usage = {ids["api-1"]: 1_000_000_000, ids["nginx"]: 100_000_000}
    for cid, ns in usage.items():
        _write(tmp_path / "cpuacct" / "docker" / cid / "cpuacct.usage", str(ns))
        _write(tmp_path / "memory" / "docker" / cid / "memory.max_usage_in_bytes", "5000000")
    docker = meter.DockerMeter("p", tmp_path)
    monkeypatch.setattr(docker, "_list", lambda: [(ids["api-1"], "api-1", REPLICA), (ids["nginx"], "nginx", PROXY)])
    docker.start()
    for cid, ns in usage.items():
        (tmp_path / "cpuacct" / "docker" / cid / "cpuacct.usage").write_text(str(ns * 3))
        (tmp_path / "memory" / "docker" / cid / "memory.max_usage_in_bytes").write_text("42000000")
    res = docker.stop(100)
    assert res.source == "cgroup v1" and res.cpu_ms_per_request == 20.0 and res.proxy_cpu_ms_per_request == 2.0
    assert res.containers["api-1"].peak_mem_mb == 42.0 and res.containers["api-1"].id == "1" * 12


def test_docker_meter_falls_back_to_proc_and_docker_stats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = iter([3.0, 4.5])
    monkeypatch.setattr(meter, "container_cpu_s", lambda _cid: next(cpu))
    sampled = threading.Event()

    def stats(ids: list[str]) -> dict[str, float]:
        sampled.set()
        return {ids[0][:12]: 33.0}
    monkeypatch.setattr(meter.cgroup, "docker_stats_mem_mb", stats)
    monkeypatch.setattr(meter, "SAMPLE_EVERY_S", 0.01)
    docker = meter.DockerMeter("p", tmp_path)  # an empty cgroup tree: nothing readable there
    monkeypatch.setattr(docker, "_list", lambda: [(FULL_ID, "api-1", REPLICA)])
    docker.start()
    assert sampled.wait(timeout=10), "the sampler never ran"
    res = docker.stop(10)
    assert res.containers["api-1"].cpu_s == 1.5 and res.containers["api-1"].peak_mem_mb == 33.0
    assert res.source == "/proc via docker top + docker stats (memory, sampled every second)"


def _proc(root: Path, pid: int, ppid: int, ticks: int, hwm_kb: int) -> None:
    _write(root / str(pid) / "stat", f"{pid} (nginx: worker) S {ppid} 0 0 0 -1 0 0 0 0 0 {ticks} 0 0 0 20 0 1 0")
    _write(root / str(pid) / "status", f"Name:\tnginx\nVmHWM:\t    {hwm_kb} kB\nVmRSS:\t 1 kB\n")


def test_host_meter_sums_each_process_tree(tmp_path: Path) -> None:
    _proc(tmp_path, 10, 1, 100, 4000)     # nginx master
    _proc(tmp_path, 11, 10, 300, 6000)    # its worker
    _proc(tmp_path, 20, 1, 1000, 50000)   # a replica
    host = meter.HostMeter([meter.Process("replica-1", REPLICA, 20), meter.Process("nginx", PROXY, 10)], tmp_path)
    host.start()
    _proc(tmp_path, 20, 1, 1500, 52000)
    _proc(tmp_path, 11, 10, 310, 6000)
    res = host.stop(50)
    assert res.replicas_cpu_s == pytest.approx(500 * TICK_S, abs=1e-3)
    assert res.proxy_cpu_s == pytest.approx(10 * TICK_S, abs=1e-3)
    assert res.containers["nginx"].peak_mem_mb == pytest.approx(10000 * 1024 / 1e6, abs=0.1)
    assert res.cpu_ms_per_request == pytest.approx(500 * TICK_S / 50 * 1000, abs=1e-3)


def test_runs_with_resources_round_trip_and_show_in_the_report(compare_80rps: dict) -> None:
    summary = Compare.from_dict(compare_80rps)
    assert all(r.resources is None for r in summary.runs), "old summaries have no resources"
    assert "Replicas' CPU per request" not in [row[0] for row in compare_table(summary)]
    res = summarize([Reading("api-1", REPLICA, cpu_before=0.0, cpu_after=4.0, peak_mem_mb=61.0),
                     Reading("nginx", PROXY, cpu_before=0.0, cpu_after=0.5, peak_mem_mb=8.0)], 400, "cgroup v1")
    run = Run.from_dict({**summary.runs[0].to_dict(), "resources": res.to_dict(), "per_replica": {"api-1": 200}})
    assert Run.from_dict(run.to_dict()) == run
    rows = {row[0]: row[1:] for row in compare_table(Compare.from_dict({**compare_80rps, "runs": [run.to_dict()]}))}
    assert rows["Replicas' CPU per request"] == ["10.00 ms"] and rows["nginx CPU per request"] == ["1.25 ms"]
    assert usage_table(run)[1] == ["api-1", REPLICA, "4.00 s", "61 MB", "20.00 ms"], "its own 200 requests"
    assert usage_table(run)[2][-1] == "1.25 ms", "nginx proxied all 400"
