"""One-off studies, each a `python -m bench` command of its own: where a request's CPU goes
(breakdown), PyPy cold against warm (warmup), and what the HTTP stack and the metrics cost
(stack_cost, metrics_cost)."""
