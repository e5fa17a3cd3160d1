"""Benchmarks: run with ``python -m fitcli.bench.<name>``; they print tables of medians.

Speed targets live here, not in timed tests.
"""
