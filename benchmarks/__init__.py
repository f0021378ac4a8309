"""Reproducible overhead and scale measurements of mavi_core and both adapters.

`python -m benchmarks.run` (or `make bench`) runs them all; see benchmarks/README.md.
"""
