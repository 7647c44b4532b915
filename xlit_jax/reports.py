"""Paper-style reports from evaluation results: a Markdown table (rows: runs; columns: held-out
datasets grouped by cluster, then averages per language and per language x template
setting) and a grouped bar chart (PNG) with the runs side by side.

Every number is recomputed from the per-template records in each results.json with
`xlit_jax.aggregation`, so runs evaluated with different task sets stay comparable
column by column (a cell a run has no templates for shows '-').
"""
from __future__ import annotations

import collections
import dataclasses
import json
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from xlit_jax import aggregation
from xlit_jax.eval_results import RESULTS_FILE
SETTING_ORDER = ("native", "cross_lingual", "translated")
HELDOUT_ROLES = ("heldout", "held_out", "held-out", "h", "eval", "evaluation")


@dataclasses.dataclass(frozen=True)
class Column:
    """One table column: its group header (a cluster, or 'average'), label and where its value comes from."""

    group: str
    label: str
    grouping: str        # aggregation grouping: 'dataset', 'language', 'language_setting'
    key: str             # the group key within that grouping


@dataclasses.dataclass
class ReportTable:
    """Rows of runs over columns; values are None where a run has no templates for a column."""

    columns: list[Column]
    rows: list[tuple[str, list[float | None]]]
    statistic: str

    def value(self, run: str, label: str) -> float | None:
        """The cell of a run (row name) and a column label."""
        index = [c.label for c in self.columns].index(label)
        return dict(self.rows)[run][index]

    def to_dict(self) -> dict:
        """A JSON-ready form: columns with their groups, and each run's values by column label."""
        return {"statistic": self.statistic,
                "columns": [dataclasses.asdict(c) for c in self.columns],
                "runs": {name: dict(zip((c.label for c in self.columns), values)) for name, values in self.rows}}


def load_results(path: str | os.PathLike) -> dict:
    """A results.json document, given the file or the directory holding it; errors name the file."""
    path = Path(path)
    file = path / RESULTS_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no {RESULTS_FILE} at {path}")
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{file}: not valid JSON ({error})") from error
    if not isinstance(document, dict) or not isinstance(document.get("tasks"), dict):
        raise ValueError(f"{file}: not an xlit results file (no 'tasks' mapping)")
    return document


def _is_heldout(record: Mapping) -> bool:
    return str(record.get("role", "heldout")).lower().replace("-", "_") in HELDOUT_ROLES


def _records(document: Mapping, heldout_only: bool, setting: str | None) -> list[dict]:
    records = list(document["tasks"].values())
    if heldout_only:
        records = [r for r in records if _is_heldout(r)]
    if setting:
        records = [r for r in records if r.get("setting") == setting]
    return records


def build_table(runs: Sequence[tuple[str, Mapping]], *, statistic: str = "median", setting: str | None = None,
                heldout_only: bool = True) -> ReportTable:
    """The report table of named results documents (in row order)."""
    if statistic not in ("median", "mean"):
        raise ValueError(f"statistic must be 'median' or 'mean', got {statistic!r}")
    aggregates, datasets = [], {}
    for name, document in runs:
        records = _records(document, heldout_only, setting)
        if not records:
            raise ValueError(f"run {name}: no {'held-out ' if heldout_only else ''}task results"
                             + (f" in setting {setting!r}" if setting else ""))
        aggregates.append(aggregation.aggregate(records, ["dataset", "language", "language_setting"]))
        for record in records:
            datasets[record["dataset"]] = (record["data_language"], record["cluster"])
    languages = sorted({language for language, _ in datasets.values()})
    columns = [Column(f"{cluster} ({language})" if len(languages) > 1 else cluster, dataset, "dataset", dataset)
               for dataset, (language, cluster) in sorted(datasets.items(), key=lambda kv: (kv[1], kv[0]))]
    settings_present = {key for agg in aggregates for key in agg["language_setting"]}
    for language in languages:
        columns.append(Column("average", f"{language} avg", "language", language))
        for name in SETTING_ORDER:
            if f"{language}/{name}" in settings_present:
                columns.append(Column("average", f"{language} {name}", "language_setting", f"{language}/{name}"))
    rows = []
    for (name, _), agg in zip(runs, aggregates):
        values = [agg[c.grouping][c.key][statistic] if c.key in agg[c.grouping] else None for c in columns]
        rows.append((name, values))
    return ReportTable(columns=columns, rows=rows, statistic=statistic)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render_markdown(table: ReportTable) -> str:
    """A Markdown table: cluster header row, dataset/average label row, one row per run (best per column in bold)."""
    groups, previous = [], None
    for column in table.columns:
        groups.append(column.group if column.group != previous else "")
        previous = column.group
    best = []
    for index in range(len(table.columns)):
        values = [values[index] for _, values in table.rows if values[index] is not None]
        best.append(max(values) if values and len(table.rows) > 1 else None)
    lines = ["| run | " + " | ".join(groups) + " |",
             "|---|" + "---:|" * len(table.columns),
             "| | " + " | ".join(f"*{c.label}*" for c in table.columns) + " |"]
    for name, values in table.rows:
        cells = [f"**{_cell(v)}**" if v is not None and v == best[i] else _cell(v) for i, v in enumerate(values)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_chart(table: ReportTable, path: str | os.PathLike, title: str | None = None) -> Path:
    """A grouped bar chart (PNG): one group of bars per column, one bar per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [c.label for c in table.columns]
    num_runs = len(table.rows)
    width = 0.8 / max(num_runs, 1)
    figure, axes = plt.subplots(figsize=(max(6.0, 0.6 * len(labels) * max(1, num_runs) ** 0.5 + 2), 4.2))
    positions = np.arange(len(labels))
    for run_index, (name, values) in enumerate(table.rows):
        heights = [np.nan if v is None else v for v in values]
        axes.bar(positions + (run_index - (num_runs - 1) / 2) * width, heights, width, label=name)
    axes.set_xticks(positions)
    axes.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    axes.set_ylabel(f"score ({table.statistic} over templates)")
    boundaries = [i - 0.5 for i in range(1, len(labels)) if table.columns[i].group != table.columns[i - 1].group]
    for boundary in boundaries:
        axes.axvline(boundary, color="grey", linewidth=0.6, linestyle=":")
    axes.set_title(title or "zero-shot evaluation")
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def run_name(result_dir: str | os.PathLike, document: Mapping) -> str:
    """A run's row name: the run name recorded in results.json, else the directory name."""
    recorded = (document.get("run") or {}).get("name")
    return str(recorded) if recorded else Path(result_dir).resolve().name


def distinct_run_names(names: Sequence[str], result_dirs: Sequence[str | os.PathLike]) -> list[str]:
    """Row names made distinct: a name shared by several runs gets the fewest parent directories that tell
    them apart, after the parents they share ('step_100 (korani)' for runs/korani/inference_eval/step_100),
    or a position when the paths are the same."""
    dirs = [Path(d).absolute() for d in result_dirs]
    dirs = [d.parent if d.name == RESULTS_FILE else d for d in dirs]
    counts = collections.Counter(names)
    out = list(names)
    for name in (n for n in counts if counts[n] > 1):
        positions = [i for i, n in enumerate(names) if n == name]
        parents = [dirs[i].parts[:-1] for i in positions]
        while all(parents) and len({p[-1] for p in parents}) == 1:  # drop the trailing parents all share
            parents = [p[:-1] for p in parents]
        for k in range(1, max(len(p) for p in parents) + 1):
            labels = ["/".join(p[-k:]) for p in parents]
            if len(set(labels)) == len(labels):
                break
        else:
            labels = [f"#{j + 1}" for j in range(len(positions))]
        for i, label in zip(positions, labels):
            out[i] = f"{name} ({label})"
    return out


def report(result_dirs: Sequence[str | os.PathLike], output_dir: str | os.PathLike | None = None,
           names: Iterable[str] | None = None, *, statistic: str = "median", setting: str | None = None,
           heldout_only: bool = True) -> tuple[str, ReportTable]:
    """Builds the table of several result directories; with output_dir writes report.md/.json/.png."""
    documents = [load_results(d) for d in result_dirs]
    if names:
        names = list(names)
        if len(names) != len(documents):
            raise ValueError(f"{len(names)} names for {len(documents)} result directories")
        if len(set(names)) != len(names):
            raise ValueError(f"run names must be distinct, got {names}")
    else:
        names = distinct_run_names([run_name(d, doc) for d, doc in zip(result_dirs, documents)], result_dirs)
    table = build_table(list(zip(names, documents)), statistic=statistic, setting=setting, heldout_only=heldout_only)
    markdown = render_markdown(table)
    if output_dir is not None:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "report.md").write_text(markdown, encoding="utf-8")
        (output_dir / "report.json").write_text(json.dumps(table.to_dict(), indent=1), encoding="utf-8")
        render_chart(table, output_dir / "report.png",
                     title=f"zero-shot ({statistic} over templates{', ' + setting if setting else ''})")
    return markdown, table
