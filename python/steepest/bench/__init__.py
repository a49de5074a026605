"""The benchmarking harness: ``steepest bench`` (or ``python -m steepest.bench``).

Measures this machine's memory ceiling for each rule's access pattern, then times each update
rule's step against the pure-NumPy reference (steepest.reference) and torch.optim at sizes across
the cache levels; prints a table, writes JSON with the machine's description and draws a PNG.
"""

from .cli import main

__all__ = ["main"]
