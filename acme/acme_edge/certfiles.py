"""The certificate folder nginx reads (nginx/certs/README.md), replaced in one step.

fullchain.pem and privkey.pem are links into `live`, itself a link to a folder holding
both files. A new pair goes into a new folder, then one rename() swaps `live`, so each of
the two paths always names a whole file of one pair or the other.
https://man7.org/linux/man-pages/man2/rename.2.html (atomic replacement of the link)

nginx opens the two paths one after the other, so a reload that lands on the swap may read
the new certificate with the old key. nginx then refuses the pair and the reload, and keeps
serving its old config and certificate; the SIGHUP sent after the swap reloads again, and
the acme service's sync, which checks what nginx serves (served.py), sends another if one
is lost. Only an nginx (re)start at that very instant would fail, and stay down until
`docker compose up -d` starts it again.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path

FILES = ("fullchain.pem", "privkey.pem")
# Held around install(): certbot's deploy hook (`make acme-renew` runs `certbot renew` in
# the acme container) and the acme service's own sync may install at the same time.
LOCK = ".install.lock"


def present(certs: Path) -> bool:
    return all((certs / name).is_file() for name in FILES)


def read(certs: Path) -> bytes:
    """The served chain, empty when there is none."""
    try:
        return (certs / "fullchain.pem").read_bytes()
    except OSError:
        return b""


def install(certs: Path, fullchain: bytes, privkey: bytes) -> None:
    # An flock, released when the file is closed (the process's end included).
    fd = os.open(certs / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "rb") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        generation = _swap(certs, fullchain, privkey)
        prune(certs, keep=generation)


def _swap(certs: Path, fullchain: bytes, privkey: bytes) -> Path:
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
    return generation


def prune(certs: Path, keep: Path) -> None:
    """Every older generation removed, but `keep` and whichever one `live` points to: an
    installer that took no lock (an older image's hook) may have swapped it since."""
    try:
        live = certs / os.readlink(certs / "live")
    except OSError:
        live = keep
    for old in certs.glob(".gen-*"):
        if old not in (keep, live):
            shutil.rmtree(old, ignore_errors=True)
