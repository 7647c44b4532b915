"""The task catalog: the registry object that holds every task spec, its data settings and its caches.

One `TaskCatalog` knows the data directory and the KORANI dump directory it was given (never
read from the environment per call), the task specs added to it, the source rows and counts
it has read (cached here, forgotten by `reset`), the mixtures registered over its tasks, and
the names it put into seqio's TaskRegistry / MixtureRegistry (removed again by `reset`).

`CATALOG` is the default instance, as seqio's TaskRegistry is: it starts empty and unloaded,
and is filled explicitly by `seqio_tasks.registration.register_builtin` (or `load_builtin`
for TF-free use). Using it before then is an error that says so.
"""
from __future__ import annotations

import dataclasses
import difflib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from seqio_tasks.task_specs import TaskSpec

log = logging.getLogger(__name__)

# Rows a source cannot read (e.g. an UnSmile row with no label set) are skipped and counted
# in one warning per source split; "raise" stops instead.
ON_ERROR = "skip"
DATA_DIR_SETTING = "$XLIT_DATA_DIR (gin xlit.data_dir.path)"
KORANI_DIR_SETTING = "$XLIT_KORANI_DIR (gin xlit.korani_dir.path)"


class CatalogNotLoadedError(RuntimeError):
    """The catalog was used before any task was registered into it."""


def close_names(name: str, names: Iterable[str], count: int = 5) -> list[str]:
    """The names most like `name` (difflib), for 'did you mean' messages."""
    return difflib.get_close_matches(name, list(names), n=count, cutoff=0.6)


def suggestion(name: str, names: Iterable[str]) -> str:
    """'; did you mean: a, b' for the names close to `name`, or ''."""
    close = close_names(name, names)
    return f"; did you mean: {', '.join(close)}" if close else ""


@dataclasses.dataclass
class MixtureEntry:
    """A mixture registered over catalog tasks: its tasks and, for a pinch mixture, where the pinch comes from."""

    name: str
    tasks: list[str]
    pinch_from: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # pinch task -> its source tasks


class TaskCatalog:
    """Task specs by name, with the data settings they read and the caches of what they read."""

    def __init__(self, data_dir: str | Path | None = None, korani_dir: str | Path | None = None):
        self._loaded = False
        self._specs: dict[str, TaskSpec] = {}
        self._rows: dict[tuple[str, str], tuple[dict, ...]] = {}
        self._counts: dict[tuple[str, str | None], int | None] = {}
        self._mixtures: dict[str, MixtureEntry] = {}
        self._seqio_tasks: set[str] = set()
        self._seqio_mixtures: set[str] = set()
        self.data_dir = Path(data_dir).expanduser() if data_dir is not None else None
        self.korani_dir = Path(korani_dir).expanduser() if korani_dir is not None else None

    # ------------------------------------------------------------------ the registry

    @property
    def loaded(self) -> bool:
        """Whether the catalog was filled (reset) at least once."""
        return self._loaded

    def reset(self, *, data_dir: str | Path | None = None, korani_dir: str | Path | None = None) -> None:
        """Empties the catalog under new data settings: specs, caches, mixtures, and its seqio registrations."""
        self._remove_from_seqio(self._seqio_mixtures, self._seqio_tasks)
        self.__init__(data_dir, korani_dir)
        self._loaded = True

    def add(self, spec: TaskSpec) -> TaskSpec:
        """Adds one task spec; a second spec of the same name is a ValueError."""
        if spec.name in self._specs:
            raise ValueError(f"duplicate task name {spec.name!r}")
        self._specs[spec.name] = spec
        self._loaded = True
        return spec

    def get(self, name: str) -> TaskSpec:
        """The spec of one task; KeyError names close task names."""
        self._check_loaded()
        if name not in self._specs:
            raise KeyError(f"no task {name!r}{suggestion(name, self._specs)}")
        return self._specs[name]

    def remove(self, name: str) -> None:
        """Forgets one task (its spec, cached rows and counts, and its seqio registration)."""
        spec = self.get(name)
        del self._specs[name]
        self._counts = {key: value for key, value in self._counts.items() if key[0] != name}
        self._rows = {key: value for key, value in self._rows.items() if key[0] != spec.source.name}
        if name in self._seqio_tasks:
            self._seqio_tasks.discard(name)
            self._remove_from_seqio((), {name})

    def names(self) -> list[str]:
        """Every task name, sorted."""
        self._check_loaded()
        return sorted(self._specs)

    def specs(self) -> list[TaskSpec]:
        """Every task spec, sorted by name."""
        return [self._specs[name] for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def _check_loaded(self) -> None:
        if not self._loaded:
            raise CatalogNotLoadedError(
                "no tasks are registered: call seqio_tasks.registration.register_builtin(vocabulary_path) "
                "(or registration.load_builtin() for the TF-free task specs) first")

    # ------------------------------------------------------------------- mixtures and seqio

    def add_mixture(self, name: str, tasks: Iterable[str], pinch_from: dict[str, list[str]] | None = None) -> None:
        """Records a mixture registered with seqio over catalog tasks (replacing one of the same name)."""
        self._mixtures[name] = MixtureEntry(name, list(tasks), dict(pinch_from or {}))
        self._seqio_mixtures.add(name)

    def mixture(self, name: str) -> MixtureEntry | None:
        """The recorded mixture of that name, or None."""
        return self._mixtures.get(name)

    def mixture_names(self) -> list[str]:
        """The recorded mixtures, sorted."""
        return sorted(self._mixtures)

    def record_seqio_task(self, name: str) -> None:
        """Notes a seqio task this catalog registered, so `reset` removes it."""
        self._seqio_tasks.add(name)

    @staticmethod
    def _remove_from_seqio(mixtures: Iterable[str], tasks: Iterable[str]) -> None:
        seqio = sys.modules.get("seqio")   # nothing to remove when seqio was never imported
        if seqio is None:
            return
        for name in mixtures:
            if name in seqio.MixtureRegistry.names():
                seqio.MixtureRegistry.remove(name)
        for name in tasks:
            if name in seqio.TaskRegistry.names():
                seqio.TaskRegistry.remove(name)

    # ------------------------------------------------------------------------------ data

    def data_root(self, spec: TaskSpec) -> Path | None:
        """The directory a task's source reads: the data directory, or the KORANI dump directory."""
        return spec.source.data_root(self.data_dir, self.korani_dir)

    def data_setting(self, spec: TaskSpec) -> str:
        """How a user points at a task's data: the data directory setting, or the KORANI dump's."""
        reads_dump = spec.source.data_root(None, Path("korani")) is not None
        return KORANI_DIR_SETTING if reads_dump else DATA_DIR_SETTING

    def has_data(self, spec: TaskSpec, split: str | None = None) -> bool:
        """Whether the files behind a task's split (default: its own split) exist; reads no rows."""
        split = split or spec.default_split
        if split is None or (spec.info.splits and split not in spec.info.splits):
            return False
        try:
            return bool(spec.source.paths(split, self.data_root(spec)))
        except (KeyError, FileNotFoundError):   # sources.MissingDataError is a FileNotFoundError
            return False

    def rows(self, spec: TaskSpec, split: str) -> tuple[dict, ...]:
        """The rows of a task's source split (read once, cached per source and split)."""
        key = (spec.source.name, split)
        if key not in self._rows:
            source = spec.source
            rows = source.load(split, data_dir=self.data_root(spec), on_error=ON_ERROR)
            report = getattr(source, "last_load_report", None)
            if report is not None and report.num_skipped:
                lines = report.summary().splitlines()   # one warning per source split, at most 4 lines
                more = f"\n  ... and {len(lines) - 4} more skipped rows" if len(lines) > 4 else ""
                log.warning("%s%s", "\n".join(lines[:4]), more)
            self._rows[key] = tuple(rows)
        return self._rows[key]

    def num_examples(self, name: str, split: str | None = None) -> int | None:
        """Source rows of a task's split (default: its own split), or None without data; cached."""
        key = (name, split)
        if key not in self._counts:
            spec = self.get(name)
            split = split or spec.default_split
            self._counts[key] = len(self.rows(spec, split)) if self.has_data(spec, split) else None
        return self._counts[key]

    def cached_row_splits(self) -> int:
        """How many source splits have been read (registration reads none)."""
        return len(self._rows)


CATALOG = TaskCatalog()
