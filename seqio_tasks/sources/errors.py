"""Errors raised while reading dataset files: each names the file (and line) at fault."""
from __future__ import annotations

from pathlib import Path


class DataError(Exception):
    """Base class of the data errors of seqio_tasks.sources."""


class RowError(ValueError):
    """Raised by a converter for one bad row; the loader adds the file and line."""


class MalformedRowError(DataError, ValueError):
    """A row that does not parse: `MalformedRowError: /path/file.tsv line 17: expected 4 columns, got 3`."""

    def __init__(self, path: str | Path, line: int, reason: str):
        self.path, self.line, self.reason = str(path), line, reason
        super().__init__(f"{path} line {line}: {reason}")


class MalformedFileError(DataError, ValueError):
    """A file whose whole structure is wrong (mismatched parallel files, wrong header, bad JSON)."""

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")


class MissingDataError(DataError, FileNotFoundError):
    """A data directory or file is absent; the message names the dataset, files, origin and setting."""
