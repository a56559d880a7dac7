"""`bench tls`'s tables: per mode, capacity and CPU per request against the plain baseline;
then h2load's closed loop. Reads tls.json's dict, so a committed run renders again."""

from __future__ import annotations

from typing import Any

from .. import report

Table = list[list[str]]


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} us"


def _ratio(value: float | None, base: float | None) -> str:
    return "-" if value is None or not base else f"{value / base:.2f}x"


def per_request_us(cpu_s: float | None, requests: int) -> float | None:
    return None if cpu_s is None or requests <= 0 else cpu_s / requests * 1e6


def cpu_us(measured: dict[str, Any]) -> dict[str, float | None]:
    """CPU per request in us: nginx's container, all replicas, both, and the load tool."""
    res, done = measured["resources"] or {}, measured["requests"]
    nginx, replicas = per_request_us(res.get("proxy_cpu_s"), done), per_request_us(res.get("replicas_cpu_s"), done)
    edge = None if nginx is None or replicas is None else nginx + replicas
    client = per_request_us(measured["client_cpu_s"], done)
    return {"nginx": nginx, "replicas": replicas, "edge": edge, "client": client}


def capacity_table(summary: dict[str, Any]) -> Table:
    modes = summary["modes"]
    base = modes[0]
    base_cpu = cpu_us(base["cpu"])
    rows = [["Client to nginx", f"Capacity (p95 < {summary['p95_bound_ms']:g} ms)", "vs plain", "p50 at capacity",
             "nginx CPU/req", "vs plain", "replicas CPU/req", "nginx + replicas", "vs plain", "k6 CPU/req",
             "k6 saw", "nginx saw"]]
    for m in modes:
        cpu = cpu_us(m["cpu"])
        p50 = "-" if m["p50_ms"] is None else f"{m['p50_ms']:.1f} ms"
        rows.append([m["label"], f"{m['capacity']:.0f} req/s", _ratio(m["capacity"], base["capacity"]), p50,
                     _us(cpu["nginx"]), _ratio(cpu["nginx"], base_cpu["nginx"]), _us(cpu["replicas"]),
                     _us(cpu["edge"]), _ratio(cpu["edge"], base_cpu["edge"]), _us(cpu["client"]),
                     k6_saw(m["cpu"]["k6"]), m["cpu"]["nginx_log"]["text"]])
    return rows


def resumption_line(summary: dict[str, Any]) -> str:
    """Whether the new-connection row's handshakes were full ones, and whether nginx would
    have resumed a session a client offered (openssl s_client -reconnect)."""
    new = next((m for m in summary["modes"] if m["new_connections"]), None)
    seen = new["cpu"]["nginx_log"] if new else None
    k6 = ("-" if not seen else f"nginx resumed {seen['resumed']} of the {seen['new_connections']} TLS sessions k6 "
          "opened one per request: k6 (Go's client, no session cache) offers none, so each was a full handshake")
    offered = summary.get("resumption_offered") or {}
    probes = "; ".join(f"{v}: \"{p['offered'] or 'no answer'}\"" for v, p in offered.items())
    return (f"Session resumption: {k6}. A client that offers its session again (openssl s_client -sess_out, then "
            f"-sess_in): {probes or '-'}.")


def k6_saw(k6: dict[str, Any]) -> str:
    """The protocols of k6's answers, and its mean time in the TLS handshake per request."""
    protocols = ", ".join(f"{p} {n}" for p, n in k6["protocols"].items() if n) or "none"
    return f"{protocols}; TLS handshake {k6['tls_handshaking_ms']:.2f} ms/req"


def h2load_table(summary: dict[str, Any]) -> Table:
    runs = summary["h2load"]
    base = next((r for r in runs if not r["tls"]), None)
    base_cpu = cpu_us(base) if base else {}
    base_rps = base["result"]["rps"] if base else None
    rows = [["h2load, closed loop", "In flight", "Answers/s", "vs plain", "Mean time per request", "nginx CPU/req",
             "replicas CPU/req", "nginx + replicas", "vs plain", "h2load CPU/req", "Negotiated", "Failed, non-2xx"]]
    for r in runs:
        res, cpu = r["result"], cpu_us(r)
        rows.append([r["label"], r["in_flight"], f"{res['rps']:.0f}", _ratio(res["rps"], base_rps),
                     f"{res['mean_ms']:.1f} ms", _us(cpu["nginx"]), _us(cpu["replicas"]), _us(cpu["edge"]),
                     _ratio(cpu["edge"], base_cpu.get("edge")), _us(cpu["client"]),
                     ", ".join(filter(None, [res["protocol"], res["tls"]])), f"{res['failed']}, {res['non_2xx']}"])
    return rows


def _answer_bytes(run: dict[str, Any]) -> str:
    res, done = run["result"], run["requests"]
    saved = f" (HPACK saved {res['header_savings_pct']:.0f}%)" if res["header_savings_pct"] else ""
    return (f"{run['label']}: {res['header_bytes'] / done:.0f} bytes of headers{saved}, "
            f"{res['data_bytes'] / done:.0f} of body")


def traffic_line(summary: dict[str, Any]) -> str:
    """What each h2load answer weighed, from its "traffic:" line ("" for a run that did not
    record it)."""
    runs = [r for r in summary["h2load"] if r["result"].get("header_savings_pct") is not None and r["requests"]]
    return f"h2load's traffic per answer: {'; '.join(map(_answer_bytes, runs))}." if runs else ""


def markdown(summary: dict[str, Any]) -> str:
    s = summary
    md = [f"# HTTPS and HTTP/2 at the edge {s['started']}", "", *report.machine_lines(s['machine']), "",
          f"nginx + {s['scale']} replicas (compose's many profile), one stack for every row; GET {s['path']}. "
          "Only nginx's listener changes: TLS off for the plain rows, NGINX_TLS=on (nginx recreated, the "
          "replicas kept) for the others. k6 and h2load connect to nginx's container address, not through "
          "Docker's port proxy; k6 verifies the certificate (the bench's own CA, SSL_CERT_FILE).", "",
          f"Capacity: the highest offered rate with 0 errors, 0 dropped iterations and p95 < {s['p95_bound_ms']:g} ms, "
          f"found by `bench rate`'s step search of {s['search_duration']} k6 runs. CPU per request: one "
          f"{s['duration']} k6 run per row at the same {s['cpu_rate']:g} req/s (half the lowest capacity), "
          "the containers' CPU (cgroup) and k6's own divided by the requests served. On a shared machine the "
          "load tool's CPU comes out of the server's: capacity counts both, CPU per request only the server's.",
          "", report.markdown(capacity_table(s)), "", resumption_line(s), "",
          f"h2load: {s['h2load_requests']} requests each, as fast as the stack answers a fixed number of "
          "requests in flight (no latency bound); CPU over the whole run, connecting included.", "",
          report.markdown(h2load_table(s)), ""]
    if traffic := traffic_line(s):
        md += [traffic, ""]
    return "\n".join(md)


def text(summary: dict[str, Any]) -> str:
    return (f"HTTPS and HTTP/2 at the edge: nginx + {summary['scale']} replicas, GET {summary['path']}\n\n"
            + report.text(capacity_table(summary)) + "\n\n" + report.text(h2load_table(summary)))
