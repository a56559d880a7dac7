"""`tail -F` for one log file: complete lines only, across rotation, none lost or read twice."""

import itertools
import os
from pathlib import Path

_CHUNK = 1 << 20
# A "line" that grows past this without a newline is not a log line: hand it on as is.
_MAX_LINE = 1 << 20


class Follower:
    """Reads the lines appended to `path`. Docker's json-file rotation renames the file to
    `path.1` (after `.1` to `.2`, ...) and starts a new one: the open descriptor still reads
    the old file to its end, then the new file is read from its start."""

    def __init__(self, path: Path, *, from_end: bool) -> None:
        self.path = path
        self._fd: int | None = None
        self._inode = 0
        self._pos = 0
        self._partial = b""
        self._skip_first = False
        self._open(from_end)
        # Read from the start: then also the files rotated before we came, oldest first.
        self._backlog: list[bytes] = [] if from_end or self._fd is None else self._skipped_rotations()

    def read_lines(self) -> list[bytes]:
        """The complete lines appended since the last call (without their newline)."""
        backlog, self._backlog = self._backlog, []
        return backlog + self._new_lines()

    def _new_lines(self) -> list[bytes]:
        if self._fd is None:
            self._open(from_end=False)  # appeared after we started: all of it is new
            if self._fd is None:
                return []
        lines = self._drain()
        try:
            current = os.stat(self.path)
        except FileNotFoundError:  # renamed, new one not created yet: next time
            return lines
        if current.st_ino != self._inode:
            lines += self._drain()  # what was written before the rename
            lines += self._flush_partial()
            lines += self._skipped_rotations()
            self.close()
            self._open(from_end=False)
            lines += self._drain()
        elif current.st_size < self._pos:  # truncated in place (copytruncate)
            lines += self._flush_partial()
            self._pos = 0
            lines += self._drain()
        return lines

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self, from_end: bool) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        stat = os.fstat(fd)
        self._fd, self._inode, self._partial = fd, stat.st_ino, b""
        self._pos = stat.st_size if from_end else 0
        # Started mid-line: that line's start is not ours, skip to the next newline.
        self._skip_first = self._pos > 0 and os.pread(fd, 1, self._pos - 1) != b"\n"

    def _drain(self) -> list[bytes]:
        lines: list[bytes] = []
        while self._fd is not None and (chunk := os.pread(self._fd, _CHUNK, self._pos)):
            self._pos += len(chunk)
            lines += self._split(chunk)
        return lines

    def _split(self, chunk: bytes) -> list[bytes]:
        *lines, rest = (self._partial + chunk).split(b"\n")
        if self._skip_first and lines:  # the part line _open skips
            del lines[0]
            self._skip_first = False
        self._partial = rest
        if len(rest) > _MAX_LINE:
            lines.append(rest)
            self._partial = b""
        return lines

    def _flush_partial(self) -> list[bytes]:
        """An unfinished last line of a file that will get no more writes: a line of its own."""
        rest, self._partial = self._partial, b""
        return [rest] if rest and not self._skip_first else []

    def _skipped_rotations(self) -> list[bytes]:
        """All of each file rotated after ours and before the current one: several rotations
        between two reads. They are `path.1`, `path.2`, ... up to ours (or to the last, when
        ours was already deleted), the oldest last."""
        fds: list[int] = []
        for n in itertools.count(1):
            try:
                fd = os.open(f"{self.path}.{n}", os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                break
            if os.fstat(fd).st_ino == self._inode:
                os.close(fd)
                break
            fds.append(fd)
        lines: list[bytes] = []
        for fd in reversed(fds):
            with os.fdopen(fd, "rb") as rotated:
                lines += rotated.read().splitlines()
        return lines
