"""Which interpreter runs this replica, and what that means for its warm-up."""

from __future__ import annotations

import platform
import sys

# Seconds of warm-up requests before the port opens (app/warmup.py). PyPy's JIT compiles
# the request path over its first few thousand requests; CPython has nothing to compile.
PYPY_WARMUP_S = 5.0


def name() -> str:
    """E.g. "CPython 3.11.2" or "PyPy 7.3.20 (Python 3.11.13)", as GET / reports it."""
    python = platform.python_version()
    if sys.implementation.name == "pypy":
        pypy = sys.pypy_version_info  # type: ignore[attr-defined]  # PyPy only
        return f"PyPy {pypy.major}.{pypy.minor}.{pypy.micro} (Python {python})"
    return f"{platform.python_implementation()} {python}"


def default_warmup_s() -> float:
    return PYPY_WARMUP_S if sys.implementation.name == "pypy" else 0.0
