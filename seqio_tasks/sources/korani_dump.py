"""The KORANI authors' release dump: pre-rendered prompts, one CSV per template.

Layout (under $XLIT_KORANI_DIR, either the `KORANI` folder itself or its parent)::

    KORANI/{cluster}/{dataset}/train*.csv          training prompts
    KORANI/{cluster}/{dataset}/test_tmp{k}.csv     evaluation prompts of template k

CSV columns: input, output, choices, dataset_name, id; `choices` joins the options with
'|||'. The rows are rendered prompts, so each example is
{idx, inputs, targets, options, label, template_index, dataset, id, file, scoring, scoring_reason}.

Scoring decision. In the dump, `choices` is the dataset's label set, not the template's
answer words: for some templates (e.g. a yes/no question about a sentiment label) the
target is not among the options. Such a row cannot be scored by rank classification
against those options without inventing a mapping, so:

- target among the options (compared after stripping surrounding whitespace):
  scoring = "rank", label = index of the target in options;
- options present but the target is not among them: scoring = "generation",
  label = None, scoring_reason = "target_not_in_options" (the options stay in the
  example for reference);
- no options: scoring = "generation", scoring_reason = "no_options".

`last_load_report.per_file` counts these three cases for every file read.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Sequence

from seqio_tasks.sources import fields, readers
from seqio_tasks.sources.base import LoadReport, SkippedRow
from seqio_tasks.sources.errors import MalformedRowError, MissingDataError, RowError

DUMP_COLUMNS = ["input", "output", "choices", "dataset_name", "id"]
OPTION_SEPARATOR = "|||"
DUMP_ORIGIN = ("the KORANI release (CHLee0801/KORANI-Instruction-Tuning README: "
               "gdown https://drive.google.com/uc?id=1W8tXUZFK-J09kYV1-ZxDOE6QDOrYh_6x, then unzip KORANI.zip)")
SPLITS = ("train", "test")
RANK, GENERATION = "rank", "generation"
NO_OPTIONS, TARGET_NOT_IN_OPTIONS = "no_options", "target_not_in_options"
_TEMPLATE_FILE = re.compile(r"_tmp(\d+)\.csv$")


def template_index_of(path: str | Path) -> int | None:
    """The template number k of a `..._tmp{k}.csv` file, else None."""
    match = _TEMPLATE_FILE.search(Path(path).name)
    return int(match.group(1)) if match else None


def dump_root(korani_dir: str | Path | None = None) -> Path | None:
    """The KORANI folder: `korani_dir` (default $XLIT_KORANI_DIR) or its `KORANI` subfolder."""
    if korani_dir is None:
        from seqio_tasks import paths
        korani_dir = paths.korani_dir()
    if korani_dir is None:
        return None
    root = Path(korani_dir).expanduser()
    return root / "KORANI" if (root / "KORANI").is_dir() else root


def split_options(choices: str) -> list[str] | None:
    """The options of a `choices` cell ('a|||b|||c'), or None when the cell is empty."""
    if not choices.strip():
        return None
    options = [option.strip() for option in choices.split(OPTION_SEPARATOR)]
    if any(not option for option in options):
        raise RowError(f"choices {choices!r} has an empty option")
    return options


def dump_example(row: dict) -> dict:
    """One dump CSV row as a pre-rendered example (without idx, file and template index)."""
    inputs = fields.text(row, "input")
    targets = row["output"].strip() if isinstance(row["output"], str) else ""
    if not targets:
        raise RowError("field 'output' is empty")
    options = split_options(row["choices"])
    if options is None:
        scoring, reason, label = GENERATION, NO_OPTIONS, None
    elif targets in options:
        scoring, reason, label = RANK, None, options.index(targets)
    else:
        scoring, reason, label = GENERATION, TARGET_NOT_IN_OPTIONS, None
    return {"inputs": inputs, "targets": targets, "options": options, "label": label,
            "dataset": fields.text(row, "dataset_name", allow_empty=True), "id": row["id"].strip(),
            "scoring": scoring, "scoring_reason": reason}


@dataclasses.dataclass
class KoraniDumpSource:
    """One KORANI dataset read from the authors' dump; same interface as `Source`."""

    dataset: str
    cluster: str
    name: str = ""
    family: str = "prerendered"
    language: str = "ko"
    label_names: list[str] | None = None
    description: str = ""
    upstream: str = DUMP_ORIGIN
    hf: None = None
    tfds: None = None
    unlabelled_splits: tuple[str, ...] = ()
    templates: tuple[int, ...] | None = None   # only these test_tmp{k}.csv files (None: all)
    last_load_report: LoadReport | None = dataclasses.field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.name = self.name or f"korani_dump_{self.dataset}"
        self.description = self.description or f"KORANI {self.dataset} ({self.cluster}) from the authors' pre-rendered dump"

    @property
    def splits(self) -> tuple[str, ...]:
        """train (train*.csv) and test (test_tmp{k}.csv, one file per template)."""
        return SPLITS

    def for_template(self, index: int) -> "KoraniDumpSource":
        """The same dataset restricted to the dump's template k (`test_tmp{k}.csv`)."""
        return dataclasses.replace(self, name=f"{self.name}_tmp{index}", templates=(index,))

    def data_root(self, data_dir: Path | None, korani_dir: Path | None) -> Path | None:
        """Which of the two data settings this source reads from: the KORANI dump folder."""
        del data_dir
        return korani_dir

    def paths(self, split: str, data_dir: str | Path | None = None) -> list[Path]:
        """Absolute paths of `split`'s CSVs under the KORANI folder `data_dir`; MissingDataError when absent."""
        root = dump_root(data_dir)
        paths = [root / f for f in self.files(split, data_dir)]
        if not paths:
            raise MissingDataError(f"KORANI dataset {self.dataset!r} split {split!r}: no file of templates "
                                   f"{list(self.templates or ())} in the dump under {root}")
        return paths

    def dataset_dir(self, korani_dir: str | Path | None = None) -> Path:
        """The dataset's folder in the dump (any cluster folder); MissingDataError when absent."""
        root = dump_root(korani_dir)
        if root is None or not root.is_dir():
            where = f"{root}" if root is not None else "nowhere ($XLIT_KORANI_DIR is not set)"
            raise MissingDataError(f"KORANI dataset {self.dataset!r} needs the KORANI release dump, looked {where}. "
                                   f"It comes from {DUMP_ORIGIN}. Set $XLIT_KORANI_DIR (or gin `xlit.korani_dir.path`) "
                                   f"to the unzipped KORANI folder (layout KORANI/{{cluster}}/{{dataset}}/*.csv).")
        found = sorted(p for p in root.glob(f"*/{self.dataset}") if p.is_dir())
        if not found:
            raise MissingDataError(f"KORANI dataset {self.dataset!r}: no folder */{self.dataset} under {root} "
                                   f"(expected {root}/{self.cluster}/{self.dataset}/). It comes from {DUMP_ORIGIN}.")
        return found[0]

    def files(self, split: str, korani_dir: str | Path | None = None) -> list[str]:
        """The CSV files of `split`, relative to the KORANI folder (found on disk: one per template)."""
        if split not in SPLITS:
            raise KeyError(f"source {self.name!r} has no split {split!r}; its splits are {SPLITS}")
        folder = self.dataset_dir(korani_dir)
        pattern = "train*.csv" if split == "train" else "test_tmp*.csv"
        paths = sorted(folder.glob(pattern), key=lambda p: (template_index_of(p) or 0, p.name))
        if not paths:
            readme = " (the folder's README.md explains how to obtain this dataset)" if (folder / "README.md").exists() else ""
            raise MissingDataError(f"KORANI dataset {self.dataset!r} split {split!r}: no {pattern} in {folder}{readme}. "
                                   f"The authors did not release every dataset in the dump; see {DUMP_ORIGIN}.")
        if self.templates is not None:
            paths = [p for p in paths if template_index_of(p) in self.templates]
        root = dump_root(korani_dir)
        return [str(p.relative_to(root)) for p in paths]

    def load(self, split: str, data_dir: str | Path | None = None, on_error: str = "raise",
             backend: str = "local", templates: Sequence[int] | None = None) -> list[dict]:
        """Reads the split's CSVs; `data_dir` overrides the KORANI folder; `templates` picks template numbers."""
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if backend != "local":
            raise ValueError(f"source {self.name!r} reads the local KORANI dump only (backend='local')")
        root = dump_root(data_dir)
        relative = self.files(split, data_dir)
        if templates is not None:
            wanted = set(templates)
            relative = [f for f in relative if template_index_of(f) in wanted]
        paths = [root / f for f in relative]
        report = LoadReport(self.name, split, [str(p) for p in paths])
        examples = []
        read = readers.csv_rows(DUMP_COLUMNS)
        for path, file_name in zip(paths, relative):
            counts = report.per_file.setdefault(file_name, {RANK: 0, NO_OPTIONS: 0, TARGET_NOT_IN_OPTIONS: 0})
            for path_, line, raw in read([path]):
                try:
                    if isinstance(raw, readers.BadRecord):
                        raise RowError(raw.reason)
                    example = dump_example(raw)
                except (RowError, KeyError, ValueError) as err:
                    reason = str(err) if not isinstance(err, KeyError) else f"missing field {err.args[0]!r}"
                    if on_error == "raise":
                        raise MalformedRowError(path_, line, reason) from err
                    report.skipped.append(SkippedRow(str(path_), line, reason))
                    continue
                counts[example["scoring_reason"] or RANK] += 1
                examples.append({"idx": len(examples) + report.num_skipped, **example,
                                 "template_index": template_index_of(path), "file": file_name})
        report.loaded = len(examples)
        for key in (RANK, NO_OPTIONS, TARGET_NOT_IN_OPTIONS):
            report.counts[key] = sum(c[key] for c in report.per_file.values())
        self.last_load_report = report
        return examples


def dump_folders(korani_dir: str | Path | None = None) -> dict[str, str]:
    """Dataset folder -> its cluster folder, for every `{cluster}/{dataset}/` of the dump that holds a CSV.

    Empty when there is no dump. A folder without CSVs (e.g. one with only a README for a
    dataset the authors did not release) is not a dataset of the dump.
    """
    root = dump_root(korani_dir)
    if root is None or not root.is_dir():
        return {}
    found: dict[str, str] = {}
    for folder in sorted(p for p in root.glob("*/*") if p.is_dir()):
        if any(folder.glob("train*.csv")) or any(folder.glob("test_tmp*.csv")):
            found.setdefault(folder.name, folder.parent.name)
    return found


def dump_sources() -> list[KoraniDumpSource]:
    """One dump source per KORANI dataset of the taxonomy (named korani_dump_{dataset})."""
    from seqio_tasks import taxonomy
    return [KoraniDumpSource(info.name, info.cluster) for info in taxonomy.all_datasets() if info.meta == "korani"]
