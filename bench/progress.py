"""Progress lines on stderr: which profile, which phase, and roughly how long is left."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, planned_s: float) -> None:
        self.started = time.monotonic()
        self.planned_s = planned_s
        self.label = ""

    def left_s(self) -> float:
        return max(self.planned_s - (time.monotonic() - self.started), 0)

    def say(self, message: str) -> None:
        print(f"bench [{self.label}] {message} (about {self.left_s():.0f} s left in all)", file=sys.stderr, flush=True)


def note(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
