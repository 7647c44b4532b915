"""The Source object: one dataset's files, its reader, and the map to its family's schema."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from seqio_tasks.sources.errors import MalformedRowError, MissingDataError, RowError
from seqio_tasks.sources.readers import BadRecord, RawRecord
Reader = Callable[[Sequence[Path]], Iterable[RawRecord]]
Converter = Callable[[Any], dict]

ON_ERROR = ("raise", "skip")
# A converter may add this key (a list of short strings) to an example: each note is
# counted in `LoadReport.counts` (e.g. "no_target_marker") and the key is removed.
NOTES_KEY = "_notes"
BACKENDS = ("local", "hf", "tfds")


@dataclasses.dataclass
class SkippedRow:
    """A row left out by `on_error="skip"`, with where it was and why."""

    path: str
    line: int
    reason: str


@dataclasses.dataclass
class LoadReport:
    """What one `Source.load` call read: files, examples kept, rows skipped, and counters."""

    source: str
    split: str
    files: list[str]
    loaded: int = 0
    skipped: list[SkippedRow] = dataclasses.field(default_factory=list)
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    per_file: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)

    @property
    def num_skipped(self) -> int:
        """Number of rows skipped as malformed."""
        return len(self.skipped)

    def summary(self) -> str:
        """One readable line, plus one line per skipped row."""
        lines = [f"{self.source}/{self.split}: {self.loaded} examples, {self.num_skipped} malformed rows skipped"]
        if self.counts:
            lines[0] += " (" + ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())) + ")"
        lines += [f"  skipped {row.path} line {row.line}: {row.reason}" for row in self.skipped]
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class RemoteRef:
    """Where the same dataset lives on the Hugging Face Hub or in TFDS, and how to map its rows."""

    name: str                          # HF dataset id or TFDS name
    config: str | None = None          # HF config name / TFDS builder config
    splits: Mapping[str, str] | None = None   # our split -> remote split
    convert: Converter | None = None   # remote row -> family schema (without idx)


@dataclasses.dataclass
class Source:
    """One dataset in its original files, read into its family's canonical examples."""

    name: str
    family: str
    language: str
    split_files: Mapping[str, tuple[str, ...]]   # split -> files relative to the data dir
    read: Reader
    convert: Converter
    upstream: str                                 # where the files come from (repo or URL)
    label_names: list[str] | None = None
    description: str = ""
    hf: RemoteRef | None = None
    tfds: RemoteRef | None = None
    unlabelled_splits: tuple[str, ...] = ()     # splits without gold labels: their `label` is set to -1
    last_load_report: LoadReport | None = dataclasses.field(default=None, init=False, repr=False, compare=False)

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits this source can load from local files."""
        return tuple(self.split_files)

    def files(self, split: str) -> list[str]:
        """The files (relative to the data directory) that `split` needs."""
        if split not in self.split_files:
            raise KeyError(f"source {self.name!r} has no split {split!r}; its splits are {self.splits}")
        return list(self.split_files[split])

    def data_root(self, data_dir: Path | None, korani_dir: Path | None) -> Path | None:
        """Which of the two data settings this source reads from: the benchmark data directory."""
        del korani_dir
        return data_dir

    def paths(self, split: str, data_dir: str | Path | None = None) -> list[Path]:
        """The absolute paths of `split`'s files; raises MissingDataError naming what is missing."""
        files = self.files(split)
        root = _resolve_data_dir(data_dir)
        if root is None or not root.is_dir():
            raise MissingDataError(self._missing_message(split, files, root, files))
        missing = [f for f in files if not (root / f).is_file()]
        if missing:
            raise MissingDataError(self._missing_message(split, files, root, missing))
        return [root / f for f in files]

    def load(self, split: str, data_dir: str | Path | None = None, on_error: str = "raise",
             backend: str = "local") -> list[dict]:
        """Reads `split` into a list of examples in the family's schema, each with an `idx`."""
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
        if backend != "local":
            from seqio_tasks.sources import remote  # lazy: only when a remote backend is asked for
            return remote.load_remote(self, split, backend)
        paths = self.paths(split, data_dir)
        report = LoadReport(self.name, split, [str(p) for p in paths])
        examples = []
        for idx, (path, line, raw) in enumerate(self.read(paths)):
            try:
                if isinstance(raw, BadRecord):
                    raise RowError(raw.reason)
                example = self.convert(raw)
            except (RowError, KeyError, ValueError, IndexError, TypeError) as err:
                reason = _reason(err)
                if on_error == "raise":
                    raise MalformedRowError(path, line, reason) from err
                report.skipped.append(SkippedRow(str(path), line, reason))
                continue
            for note in example.pop(NOTES_KEY, ()):
                report.counts[note] = report.counts.get(note, 0) + 1
            if split in self.unlabelled_splits and "label" in example:
                example["label"] = -1
            examples.append({"idx": idx, **example})
        report.loaded = len(examples)
        self.last_load_report = report
        return examples

    def _missing_message(self, split: str, files: list[str], root: Path | None, missing: list[str]) -> str:
        where = f"data directory {root}" if root is not None else "no data directory (XLIT_DATA_DIR is not set)"
        return (
            f"dataset source {self.name!r} split {split!r} needs {', '.join(files)}; "
            f"missing under {where}: {', '.join(missing)}. "
            f"These files come from {self.upstream}. Point $XLIT_DATA_DIR (or gin `xlit.data_dir.path`) "
            f"at a directory that holds them in this layout."
        )


def _resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    if data_dir is not None:
        return Path(data_dir).expanduser()
    from seqio_tasks import paths
    return paths.data_dir()


def _reason(err: Exception) -> str:
    if isinstance(err, KeyError):
        return f"missing field {err.args[0]!r}"
    return str(err) or type(err).__name__
