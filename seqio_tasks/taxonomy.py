"""The dataset taxonomy: the two meta-datasets KORANI (Korean) and P3 (T0's English mixture), and XCOPA.

The data lives in `seqio_tasks/taxonomy/*.yaml` (one file per meta-dataset, every file read); this module
reads it once and answers questions about it:

    taxonomy.get("kobest_copa").cluster        -> 'sentence_completion'
    taxonomy.heldout("korani")                 -> the 6 Korean held-out datasets
    print(taxonomy.format_table(meta="p3"))
"""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Iterable, Sequence

import yaml

TAXONOMY_DIR = Path(__file__).with_name("taxonomy")
# One file per meta-dataset, named after it: every `taxonomy/*.yaml` is read (korani, p3, and
# xcopa: XCOPA's 11 languages as held-out sets in languages no training mixture holds).
META_FILES = {path.stem: path.name for path in sorted(TAXONOMY_DIR.glob("*.yaml"))}
META_LANGUAGE = {"korani": "ko", "p3": "en", "demo": "en"}   # default data language; else each entry's `language`
KINDS = ("nlu", "nlg")
ROLES = ("train", "heldout")
CONFIRMABLE = ("name", "cluster", "role", "not_in_dump")


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """One dataset of a meta-dataset: where it sits in the taxonomy and where its data comes from."""

    name: str
    meta: str                     # "korani" | "p3" | "demo"
    language: str                 # data language, e.g. "ko"
    cluster: str                  # task cluster, e.g. "sentence_completion"
    kind: str                     # "nlu" | "nlg"
    role: str                     # "train" | "heldout"
    licence: str
    public: bool                  # raw data downloadable without an application
    family: str | None            # canonical example family of seqio_tasks.sources, if any
    source: str | None            # loader name in seqio_tasks.sources (raw files, else the KORANI dump)
    # Additions beyond the shared contract (all optional):
    confirmed: tuple[str, ...] = ()   # attributes confirmed by a primary source; the rest is reconstructed
    in_dump: bool = True              # KORANI: in the authors' release dump (if false, its tasks are
                                      # registered only when the dump given has its folder after all)
    origin: str = ""                  # upstream home of the raw data
    promptsource: tuple[str, ...] = ()  # P3: promptsource template folders

    @property
    def dump_source(self) -> str | None:
        """The KORANI-dump source name of a KORANI dataset (korani_dump_{name}), else None."""
        return f"korani_dump_{self.name}" if self.meta == "korani" else None

    @property
    def evidence(self) -> str:
        """'confirmed: name, cluster' style summary of what a primary source confirms."""
        return ", ".join(self.confirmed) if self.confirmed else "reconstructed"


def _parse(meta: str, entry: dict, path: Path) -> DatasetInfo:
    where = f"{path} dataset {entry.get('name')!r}"
    unknown = set(entry) - {f.name for f in dataclasses.fields(DatasetInfo)}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    if entry.get("kind") not in KINDS or entry.get("role") not in ROLES:
        raise ValueError(f"{where}: kind must be one of {KINDS} and role one of {ROLES}")
    confirmed = tuple(entry.get("confirmed") or ())
    if set(confirmed) - set(CONFIRMABLE):
        raise ValueError(f"{where}: confirmed may list only {CONFIRMABLE}")
    language = entry.get("language", META_LANGUAGE.get(meta))
    if not language:
        raise ValueError(f"{where}: no data language (add `language: xx`; {path.name} has no default)")
    info = DatasetInfo(
        name=entry["name"], meta=meta, language=language,
        cluster=entry["cluster"], kind=entry["kind"], role=entry["role"],
        licence=str(entry.get("licence") or "see the dataset card"), public=bool(entry.get("public", True)),
        family=entry.get("family"), source=entry.get("source"), confirmed=confirmed,
        in_dump=bool(entry.get("in_dump", True)), origin=str(entry.get("origin") or ""),
        promptsource=tuple(entry.get("promptsource") or ()))
    return info


@functools.lru_cache(maxsize=None)
def _load() -> tuple[DatasetInfo, ...]:
    infos: list[DatasetInfo] = []
    for meta, file_name in META_FILES.items():
        path = TAXONOMY_DIR / file_name
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        infos += [_parse(meta, entry, path) for entry in document["datasets"]]
    seen: set[str] = set()
    for info in infos:
        if info.name in seen:
            raise ValueError(f"dataset {info.name!r} is listed twice in {TAXONOMY_DIR}")
        seen.add(info.name)
    return tuple(infos)


_EXTRA: list[DatasetInfo] = []


def register(info: DatasetInfo) -> DatasetInfo:
    """Adds a dataset at run time (e.g. meta "demo"); its name must be new."""
    if any(existing.name == info.name for existing in all_datasets()):
        raise ValueError(f"dataset {info.name!r} is already in the taxonomy")
    _EXTRA.append(info)
    return info


def all_datasets(meta: str | None = None) -> list[DatasetInfo]:
    """Every dataset (of one meta-dataset when `meta` is given), in file order."""
    infos = list(_load()) + _EXTRA
    return [i for i in infos if meta is None or i.meta == meta]


def get(name: str) -> DatasetInfo:
    """The dataset named `name`; KeyError names close matches."""
    for info in all_datasets():
        if info.name == name:
            return info
    close = [i.name for i in all_datasets() if name.split("_")[0] in i.name][:8]
    raise KeyError(f"no dataset {name!r} in the taxonomy" + (f"; similar: {close}" if close else ""))


def _select(meta_or_language: str | None) -> list[DatasetInfo]:
    if meta_or_language is None:
        return all_datasets()
    by_meta = all_datasets(meta_or_language)
    if by_meta:
        return by_meta
    by_language = [i for i in all_datasets() if i.language == meta_or_language]
    if not by_language and meta_or_language not in META_FILES:
        raise KeyError(f"{meta_or_language!r} is neither a meta-dataset {sorted(META_FILES)} nor a data language")
    return by_language


def heldout(meta_or_language: str | None = None) -> list[DatasetInfo]:
    """The held-out (evaluation) datasets of a meta-dataset ('korani', 'p3') or language ('ko', 'en')."""
    return [i for i in _select(meta_or_language) if i.role == "heldout"]


def training(meta_or_language: str | None = None) -> list[DatasetInfo]:
    """The training-side datasets of a meta-dataset or language."""
    return [i for i in _select(meta_or_language) if i.role == "train"]


def clusters(meta_or_language: str | None = None) -> dict[str, list[str]]:
    """Cluster name -> dataset names, in file order."""
    result: dict[str, list[str]] = {}
    for info in _select(meta_or_language):
        result.setdefault(info.cluster, []).append(info.name)
    return result


TABLE_COLUMNS = ("name", "meta", "cluster", "kind", "role", "public", "licence", "family", "source", "evidence")


def format_table(meta: str | None = None, datasets: Iterable[DatasetInfo] | None = None,
                 columns: Sequence[str] = TABLE_COLUMNS, markdown: bool = False) -> str:
    """A readable table (plain text, or markdown) of the datasets, grouped by meta, role and cluster."""
    rows = list(datasets) if datasets is not None else all_datasets(meta)
    order = {role: i for i, role in enumerate(("heldout", "train"))}
    rows.sort(key=lambda i: (i.meta, order.get(i.role, 9), i.cluster))
    cells = [[_cell(info, column) for column in columns] for info in rows]
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [max(len(column), *(len(row[k]) for row in cells)) if cells else len(column)
              for k, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(widths[k]) for k, column in enumerate(columns)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(cell.ljust(widths[k]) for k, cell in enumerate(row)).rstrip() for row in cells]
    return "\n".join(lines)


def summary() -> str:
    """Counts per meta-dataset: datasets, held-out, NLU/NLG, public, with a raw-file loader."""
    lines = []
    for meta in sorted({i.meta for i in all_datasets()}):
        infos = all_datasets(meta)
        lines.append(
            f"{meta}: {len(infos)} datasets ({len(heldout(meta))} held-out, {len(training(meta))} training; "
            f"{sum(i.kind == 'nlu' for i in infos)} NLU, {sum(i.kind == 'nlg' for i in infos)} NLG; "
            f"{sum(i.public for i in infos)} public; {sum(i.source is not None for i in infos)} with a raw-file loader)")
    return "\n".join(lines)


def _cell(info: DatasetInfo, column: str) -> str:
    value = getattr(info, column)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    return str(value)
