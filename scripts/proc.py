"""Running docker and compose from the scripts: argument lists, never a shell."""

import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn


class Failed(Exception):
    """A command that exited non-zero; the message quotes it and the end of its stderr."""

    def __init__(self, args: Sequence[str], stderr: str) -> None:
        super().__init__(f"`{shlex.join(args)}` failed: {stderr.strip()[-1500:] or 'no message'}")


def output(args: Sequence[str], *, env: Mapping[str, str] | None = None, stdin: str | None = None,
           timeout: float | None = None) -> str:
    """The command's stdout, stripped; Failed if it exits non-zero."""
    result = subprocess.run(list(args), input=stdin, capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode != 0:
        raise Failed(args, result.stderr)
    return result.stdout.strip()


def succeeds(args: Sequence[str], *, env: Mapping[str, str] | None = None) -> bool:
    """Whether the command exits 0; its output is dropped."""
    return subprocess.run(list(args), capture_output=True, env=env).returncode == 0


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


class Log:
    """`NAME: message` on stderr as the script goes, and `NAME: ERROR: message` as its exit."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, message: str) -> None:
        print(f"{self.name}: {message}", file=sys.stderr, flush=True)

    def die(self, message: str) -> NoReturn:
        raise SystemExit(f"{self.name}: ERROR: {message}")
