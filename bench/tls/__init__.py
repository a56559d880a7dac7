"""`python -m bench tls` (make bench-tls): what HTTPS and HTTP/2 at the edge cost (command.py)."""
