"""Mean waits in queue from queueing theory's closed forms, to pin the simulation against.

Kleinrock, Queueing Systems vol. 1 (1975): M/M/1 (3.24), Erlang's C formula for M/M/c
(3.40-3.43), and G/M/1 (6.30) whose root for Erlang-N arrivals gives E_N/M/1.
"""

import math


def mm1_wait(arrivals: float, service: float) -> float:
    rho = arrivals / service
    return rho / (service - arrivals)


def erlang_c(servers: int, offered: float) -> float:
    """The chance that an arrival waits in M/M/c; offered = arrivals / service rate."""
    top = offered**servers / math.factorial(servers) * servers / (servers - offered)
    return top / (sum(offered**k / math.factorial(k) for k in range(servers)) + top)


def mmc_wait(arrivals: float, service: float, servers: int) -> float:
    return erlang_c(servers, arrivals / service) / (servers * service - arrivals)


def en_m1_wait(arrivals: float, service: float, n: int) -> float:
    """One of n servers dealt every n-th of a Poisson stream in turn: its gaps are Erlang-n.
    G/M/1: sigma = A*(mu (1 - sigma)), with A*(s) = (lambda / (lambda + s))^n; W = sigma / (mu (1 - sigma))."""
    sigma = 0.5
    for _ in range(10_000):
        following = (arrivals / (arrivals + service * (1 - sigma))) ** n
        if abs(following - sigma) < 1e-13:
            break
        sigma = following
    return sigma / (service * (1 - sigma))
