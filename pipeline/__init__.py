"""The data side of the complaint pipeline: the record contract, paths and settings, ingest,
weak labels, aggregation and reports.

This package sits at the bottom of the dependency graph: it imports neither ``crawler`` nor
``models``; both build on it.
"""

__version__ = "0.1.0"
