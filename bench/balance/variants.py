"""The stacks `bench balance` compares: the shipped one, and variants of it one line away.

A variant changes what ops could change in one place: the balancing method line of
nginx/upstream.conf (a copy with that line swapped, mounted over the shipped file) and the
replicas' API_LONG_JOB_S (0: one lane, every job FIFO). Nothing else differs, so a row of
the table is that change alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from app.settings import Settings as LanesDefault

from ..settings import ROOT, BenchError

UPSTREAM = ROOT / "nginx" / "upstream.conf"
# The method directives of ngx_http_upstream_module a line of upstream.conf may hold.
METHOD = re.compile(r"^[ \t]*(least_conn|random(\s+two(\s+least_conn)?)?|ip_hash|hash\s+\S+(\s+consistent)?)[ \t]*;",
                    re.MULTILINE)


@dataclass(frozen=True)
class Variant:
    name: str
    method: str | None       # the method line; None: the shipped file as is. "" : no line (round-robin)
    one_lane: bool = False   # API_LONG_JOB_S=0 on the replicas

    @cached_property  # reads upstream.conf once (cached_property writes past frozen's __setattr__)
    def label(self) -> str:
        if self.method is not None:
            return self.name
        lanes = "two lanes" if LanesDefault.long_job_s > 0 else "one lane"
        return f"shipped: {shipped_method(UPSTREAM.read_text()).rstrip(';') or 'round-robin'}, {lanes}"

    def files(self, out: Path) -> list[str]:
        """The compose override for this variant (none for the shipped method)."""
        if self.method is None:
            return []
        folder = out / f"nginx-{self.slug}"
        folder.mkdir(exist_ok=True)
        (folder / "upstream.conf").write_text(with_method(UPSTREAM.read_text(), self.method))
        override = out / f"compose-{self.slug}.yml"
        override.write_text(
            "# bench balance: the shipped stack with nginx/upstream.conf's method line swapped.\n"
            "services:\n  nginx:\n    volumes:\n"
            f"      - {{type: bind, source: {folder / 'upstream.conf'}, target: /etc/nginx/upstream.conf, "
            "read_only: true}\n")
        return [str(override)]

    def env(self) -> dict[str, str]:
        # Empty: the replicas' own default (two lanes), whatever the caller's shell exports.
        return {"API_LONG_JOB_S": "0" if self.one_lane else ""}

    @property
    def slug(self) -> str:
        return slug(self.name)


def slug(text: str) -> str:
    """A file-name part: "least_conn, one lane" -> "least-conn-one-lane"."""
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def shipped_method(text: str) -> str:
    """The method line of an upstream.conf ("" for round-robin, nginx's default)."""
    found = [m[0].strip() for m in METHOD.finditer(text)]
    if len(found) > 1:
        raise BenchError(f"nginx/upstream.conf names {len(found)} balancing methods; nginx takes one")
    return found[0] if found else ""


def with_method(text: str, method: str) -> str:
    """upstream.conf with its method line replaced by `method` ("" removes it)."""
    if METHOD.search(text):
        return METHOD.sub(f"    {method}" if method else "", text, count=1)
    if not method:
        return text
    return re.sub(r"(\n\s*zone [^;]*;\n)", rf"\1    {method}\n", text, count=1)


SHIPPED = Variant("shipped", None)
# The article's method on today's replicas (one lane): the baseline every row is read against.
ROUND_ROBIN = Variant("round-robin, one lane", "", one_lane=True)
VARIANTS = (
    ROUND_ROBIN,
    Variant("least_conn, one lane", "least_conn;", one_lane=True),
    Variant("random two least_conn, one lane", "random two least_conn;", one_lane=True),
    Variant("round-robin, two lanes", ""),
    SHIPPED,
)
