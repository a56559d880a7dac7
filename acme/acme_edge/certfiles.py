"""The certificate folder nginx reads (nginx/certs/README.md), replaced in one step.

fullchain.pem and privkey.pem are links into `live`, itself a link to a folder holding
both files. A new pair goes into a new folder, then one rename() swaps `live`: nginx,
reloaded or restarted at any moment, never reads a new certificate with the old key.
https://man7.org/linux/man-pages/man2/rename.2.html (atomic replacement of the link)
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

FILES = ("fullchain.pem", "privkey.pem")


def present(certs: Path) -> bool:
    return all((certs / name).is_file() for name in FILES)


def read(certs: Path) -> bytes:
    """The served chain, empty when there is none."""
    try:
        return (certs / "fullchain.pem").read_bytes()
    except OSError:
        return b""


def install(certs: Path, fullchain: bytes, privkey: bytes) -> None:
    generation = certs / f".gen-{time.time_ns()}"
    generation.mkdir(mode=0o700)
    for name, data in zip(FILES, (fullchain, privkey), strict=True):
        # 0600, as its owner (nginx's user) is the one reader. O_EXCL: a fresh file.
        fd = os.open(generation / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            os.fsync(file.fileno())
    swap = certs / ".live.new"
    swap.unlink(missing_ok=True)
    swap.symlink_to(generation.name)
    swap.rename(certs / "live")
    for name in FILES:
        link = certs / name
        if not (link.is_symlink() and os.readlink(link) == f"live/{name}"):
            tmp = certs / f".{name}.new"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(f"live/{name}")
            tmp.rename(link)
    for old in certs.glob(".gen-*"):
        if old != generation:
            shutil.rmtree(old, ignore_errors=True)
