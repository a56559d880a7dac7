"""testssl.sh (https://testssl.sh), run against the TLS stack, and what its JSON must say.

Only the checks the edge's claims need, so that a run takes about 20 s, not testssl's full
few minutes: -p protocols (and ALPN), -f forward secrecy, -U vulnerabilities, -h HTTP
headers (HSTS), -S the certificate, which --add-ca checks against our local CA.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

# Debian's package installs it as `testssl`; upstream's checkout runs as `testssl.sh`.
NAMES = ("testssl", "testssl.sh")

# What -U reports in testssl 3.0.8, id by id, and why it cannot apply here. Each must be in
# the JSON (a missing one means the check did not run) and rated OK or INFO. testssl rates
# "VULNERABLE" MEDIUM to CRITICAL, and LOW for "potentially vulnerable" (BEAST with TLS 1.0,
# LUCKY13 with CBC suites): the edge offers neither, so LOW is a regression here too.
VULNERABILITIES = {
    "heartbleed": "OpenSSL's heartbeat over-read (CVE-2014-0160)",
    "CCS": "OpenSSL's ChangeCipherSpec injection (CVE-2014-0224)",
    "ticketbleed": "F5's session-ticket over-read; we send no tickets (ssl_session_tickets off)",
    "ROBOT": "RSA key-exchange padding oracle; our suites are ECDHE only, the key ECDSA",
    "secure_renego": "RFC 5746 secure renegotiation, for TLS 1.2 (TLS 1.3 has no renegotiation)",
    "secure_client_renego": "client-initiated renegotiation, a CPU DoS; nginx refuses it",
    "CRIME_TLS": "TLS-level compression leaking secrets; OpenSSL 3 builds without it",
    "BREACH": "HTTP compression of responses with secrets; nginx's gzip is off (its default)",
    "POODLE_SSL": "SSLv3's CBC padding oracle; SSLv3 is not offered",
    "fallback_SCSV": "downgrade protection; nothing below TLS 1.2 to fall back to",
    "SWEET32": "64-bit block ciphers (3DES); not in our suites",
    "FREAK": "RSA export suites; not in our suites",
    "DROWN": "SSLv2 on this (or another) host with the same RSA key; no SSLv2, no RSA key",
    "LOGJAM": "DH export suites and weak DH groups; no DHE suites at all",
    "BEAST": "CBC in SSLv3/TLS 1.0; neither is offered",
    "LUCKY13": "CBC MAC-then-encrypt timing; our TLS 1.2 suites are AEAD only",
    "RC4": "RC4 suites; not in our suites",
}
NOT_VULNERABLE = {"OK", "INFO"}
NOT_OFFERED = ("SSLv2", "SSLv3", "TLS1", "TLS1_1")
OFFERED = ("TLS1_2", "TLS1_3")
# testssl's own trouble. A check above that could not run (WARN "check failed because of
# connect problem") fails by its own rule; one outside them is only reported (warnings()):
# its session-ticket resumption check was seen to WARN so once on the busy 2-core machine.
SCAN_PROBLEM = "scanProblem"


def find() -> str | None:
    """testssl's path on this machine, or None."""
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def command(testssl: str, url: str, ca: Path, jsonfile: Path, ip: str = "127.0.0.1") -> list[str]:
    """The run: only the checks above, trusting our CA too, no DNS (CAA) or OCSP/CRL lookups
    (CI has no network), timeouts so that a hung handshake fails instead of waiting. `url`
    names the server (SNI, Host, the certificate's name); `ip` is where it is, as no DNS
    knows a test name."""
    return [testssl, "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none", "--ip", ip,
            "--connect-timeout", "10", "--openssl-timeout", "10", "--add-ca", str(ca),
            "-p", "-f", "-U", "-h", "-S", "--jsonfile", str(jsonfile), url]


def problems(findings: list[dict[str, Any]]) -> list[str]:
    """What the edge's TLS gets wrong by testssl's JSON (--jsonfile, a flat list of
    {id, severity, finding}); empty when it passes."""
    by_id: dict[str, dict[str, Any]] = {}
    found: list[str] = []
    for item in findings:
        by_id.setdefault(item["id"], item)
        if item["id"] == SCAN_PROBLEM or item.get("severity") == "FATAL":
            found.append(f"testssl could not check {item['id']}: {item['severity']} {item.get('finding')}")

    def finding(name: str) -> str:
        return str(by_id[name].get("finding", "")) if name in by_id else ""

    for name in VULNERABILITIES:
        if name not in by_id:
            found.append(f"vulnerability check {name} did not run (not in the JSON)")
        elif by_id[name]["severity"] not in NOT_VULNERABLE:
            found.append(f"{name}: {by_id[name]['severity']} {finding(name)}")
    for name in NOT_OFFERED:
        if not finding(name).startswith("not offered"):
            found.append(f"{name} must not be offered: {finding(name) or 'no finding'}")
    for name in OFFERED:
        if not finding(name).startswith("offered"):
            found.append(f"{name} must be offered: {finding(name) or 'no finding'}")
    # testssl 3.0 names it PFS; 3.2 FS.
    fs = next((by_id[name] for name in ("PFS", "FS") if name in by_id), None)
    if fs is None or fs["severity"] != "OK" or not str(fs.get("finding", "")).startswith("offered"):
        found.append(f"forward secrecy must be offered: {fs or 'no finding'}")
    if "HSTS_time" not in by_id or by_id["HSTS_time"]["severity"] != "OK":
        found.append(f"HSTS must be sent with a long max-age: {by_id.get('HSTS_time') or by_id.get('HSTS')}")
    if "h2" not in finding("ALPN_HTTP2").split():
        found.append(f"HTTP/2 must be negotiated by ALPN: {finding('ALPN_HTTP2') or 'no finding'}")
    # --add-ca: the chain must lead to our CA, and the name must match.
    for name in ("cert_chain_of_trust", "cert_trust"):
        if name not in by_id or by_id[name]["severity"] != "OK":
            found.append(f"{name}: {by_id.get(name) or 'no finding'}")
    return found


def connect_problem_only(returncode: int, findings: list[dict[str, Any]]) -> bool:
    """testssl failed only because some check could not connect: no rule broken, and every
    unfinished check says so."""
    unfinished = warnings(findings)
    return returncode != 0 and not problems(findings) and bool(unfinished) and all(
        "connect problem" in w for w in unfinished)


def warnings(findings: list[dict[str, Any]]) -> list[str]:
    """The checks testssl could not finish (WARN), for the record."""
    return [f"{item['id']}: {item.get('finding')}" for item in findings if item.get("severity") == "WARN"]
