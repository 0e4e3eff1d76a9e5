"""Peer methods implemented from their papers, for side-by-side comparison.
Benchmarks and tests only; the library never imports these."""
