"""`python -m bench balance`: balancing methods on mixed job sizes (make bench-balance)."""
