"""`python -m bench runtimes`: CPython, PyPy and the article's Node cluster, side by side;
its command, its summary (the article's rows, ratios of capacities), tables and chart."""
