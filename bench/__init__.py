"""Benchmarks behind ``make bench-*``: each writes its figures to a JSON file under
``data/bench/``."""
