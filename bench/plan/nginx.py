"""nginx's balancing methods, as ngx_http_upstream_module picks a server for one try.

Each instance counts the requests it has in flight per replica (what least_conn compares);
a request already refused by a replica is not sent there again on its next try.
https://nginx.org/en/docs/http/ngx_http_upstream_module.html#least_conn
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from .workload import QUEUE


class Proxy:
    """One nginx instance: its own count of requests in flight per replica."""

    def __init__(self, replicas: int, method: str, rng: random.Random) -> None:
        self.conns = [0] * replicas
        self.method, self.rng = method, rng
        self.next = rng.randrange(replicas)
        # QUEUE only: requests held until a replica is idle, oldest first.
        self.waiting: deque[Any] = deque()

    def pick(self, tried: set[int]) -> int | None:
        """The replica for the next try; None when every one was tried (or, for QUEUE, none is idle)."""
        n = len(self.conns)
        if len(tried) >= n:
            return None
        if not tried:
            return self.first_try(n)
        if self.method == "random":
            return self.rng.choice(self.untried(tried))
        if self.method == "random two least_conn":
            free = self.untried(tried)
            if len(free) == 1:
                return free[0]
            a, b = self.rng.sample(free, 2)
            return a if self.conns[a] < self.conns[b] else b  # a tie goes to the second, as in nginx
        order: list[int] = [i for i in (*range(self.next, n), *range(self.next)) if i not in tried]
        if self.method == "round-robin":
            chosen = order[0]
        else:  # least_conn, QUEUE: the fewest in flight, ties in round-robin order as nginx
            fewest = min(self.conns[i] for i in order)
            if self.method == QUEUE and fewest:
                return None
            chosen = next(i for i in order if self.conns[i] == fewest)
        self.next = (chosen + 1) % n
        return chosen

    def first_try(self, n: int) -> int | None:
        """pick() with nothing tried yet, the common case, at C speed (list.index, min)."""
        if self.method == "random":
            return self.rng.randrange(n)
        if self.method == "random two least_conn":
            if n == 1:
                return 0
            a, b = self.rng.randrange(n), self.rng.randrange(n - 1)
            b += b >= a
            return a if self.conns[a] < self.conns[b] else b
        chosen = self.next
        if self.method != "round-robin":
            fewest = min(self.conns)
            if self.method == QUEUE and fewest:
                return None
            try:
                chosen = self.conns.index(fewest, self.next)
            except ValueError:
                chosen = self.conns.index(fewest)
        self.next = (chosen + 1) % n
        return chosen

    def untried(self, tried: set[int]) -> list[int]:
        return [i for i in range(len(self.conns)) if i not in tried]
