"""Data sources: each dataset's original files read into its family's canonical examples.

    from seqio_tasks.sources import get_source
    examples = get_source("kobest_copa").load("validation")   # list of dicts with idx

The built-in sources are listed in `registry._builtin_sources` (Korean: kobest.py, korean.py,
English: english.py, KORANI release dump: korani_dump.py).
"""
from seqio_tasks.sources.base import LoadReport, RemoteRef, SkippedRow, Source
from seqio_tasks.sources.errors import DataError, MalformedFileError, MalformedRowError, MissingDataError, RowError
from seqio_tasks.sources.registry import all_sources, format_sources_table, get_source, register_source

__all__ = ["Source", "LoadReport", "SkippedRow", "RemoteRef", "get_source", "all_sources", "register_source", "format_sources_table",
           "DataError", "MalformedRowError", "MalformedFileError", "MissingDataError", "RowError"]
