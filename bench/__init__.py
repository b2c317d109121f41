"""Benchmark suite of the memory service (not part of the installed package).

`python bench/run.py --help` (or `make bench`) starts the real server on a temporary embedded
PostgreSQL and measures it over HTTP; `bench/RESULTS.md` holds the numbers written down.
"""
