"""The benchmarking harness: ``steepest bench`` (or ``python -m steepest.bench``).

Times each update rule's step against the pure-NumPy reference (steepest.reference) at sizes
across the cache levels, and writes the results as JSON with the machine's description.
"""

from .cli import main

__all__ = ["main"]
