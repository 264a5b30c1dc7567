"""Benchmarks: `python benchmarks/bench.py` prints the speed and memory figures (not tests)."""
