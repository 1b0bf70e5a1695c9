"""Benchmarks: a seeded feed generator (generate.py) and the suite (run.py, `make bench`)."""
