"""Benchmarks, each run as a script: ``python bench/node.py``."""
