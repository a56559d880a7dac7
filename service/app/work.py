"""The CPU-bound job from the article: sum i from n down to 0, one step at a time.

It stands for real work, so it stays a plain Python loop: no closed form, no caching.
"""

DEFAULT_N = 7**7  # the article's Math.pow(7, 7); the sum is 339111948196


def sum_down(n: int = DEFAULT_N) -> int:
    total = 0
    for i in range(n, -1, -1):
        total += i
    return total
