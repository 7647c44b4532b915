"""Paper-style reports from evaluation results: a Markdown table (rows: runs; columns: held-out
datasets grouped by cluster, then averages per language, per language x template category
and over the languages unseen in tuning) and a grouped bar chart (PNG) with the runs side by side.

Every number is recomputed from the per-template records in each results.json with
`xlit_jax.aggregation`, so runs evaluated with different task sets stay comparable
column by column (a cell a run has no templates for shows '-'). With a baseline run, a
second table gives each other run's gain over it per average column, in points and in
percent of the baseline ("+20.7 (+45.1%)", the KORANI paper's form).
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
CATEGORY_ORDER = aggregation.TEMPLATE_CATEGORIES   # columns per language, in this order
DEFAULT_SEEN_LANGUAGES = ("en", "ko")             # the languages of the tuning meta-datasets
UNSEEN_LABEL = "unseen avg"
HELDOUT_ROLES = ("heldout", "held_out", "held-out", "h", "eval", "evaluation")


@dataclasses.dataclass(frozen=True)
class Column:
    """One table column: its group header (a cluster, or 'average'), label and where its value comes from."""

    group: str
    label: str
    grouping: str        # aggregation grouping: 'dataset', 'language', 'language_template_category',
                         # or 'unseen' (mean of the language averages of languages not seen in tuning)
    key: str             # the group key within that grouping


@dataclasses.dataclass
class ReportTable:
    """Rows of runs over columns; values are None where a run has no templates for a column."""

    columns: list[Column]
    rows: list[tuple[str, list[float | None]]]
    statistic: str
    baseline: str | None = None
    # run -> column label -> {"absolute": points, "relative_percent": % of the baseline (None at 0)}
    gains: dict[str, dict[str, dict[str, float | None]]] | None = None
    template_sets: tuple[str, ...] | None = None
    seen_languages: tuple[str, ...] = DEFAULT_SEEN_LANGUAGES

    def value(self, run: str, label: str) -> float | None:
        """The cell of a run (row name) and a column label."""
        index = [c.label for c in self.columns].index(label)
        return dict(self.rows)[run][index]

    def gain(self, run: str, label: str) -> dict[str, float | None] | None:
        """A run's gain over the baseline in one average column (None where either value is missing)."""
        if self.gains is None:
            raise ValueError("the table has no baseline")
        return self.gains[run].get(label)

    def to_dict(self) -> dict:
        """A JSON-ready form: columns with their groups, each run's values by column label, and the gains."""
        out = {"statistic": self.statistic,
               "columns": [dataclasses.asdict(c) for c in self.columns],
               "runs": {name: dict(zip((c.label for c in self.columns), values)) for name, values in self.rows},
               "template_sets": list(self.template_sets) if self.template_sets else None,
               "seen_languages": list(self.seen_languages)}
        if self.baseline is not None:
            out["baseline"] = self.baseline
            out["gains"] = self.gains
        return out


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


def parse_template_sets(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Template categories from 'a,b' or a list; ValueError names an unknown one and lists the known."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else [v for item in value for v in str(item).split(",")]
    names = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    unknown = [name for name in names if name not in CATEGORY_ORDER]
    if unknown or not names:
        raise ValueError(f"unknown template set {', '.join(unknown) or repr(value)}: expected one or more of "
                         f"{', '.join(CATEGORY_ORDER)} (comma-separated)")
    return names


def parse_languages(value: str | Sequence[str]) -> tuple[str, ...]:
    """Language codes from 'en,ko' or a list."""
    items = value.split(",") if isinstance(value, str) else [v for item in value for v in str(item).split(",")]
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))


def _records(document: Mapping, heldout_only: bool, setting: str | None,
             template_sets: Sequence[str] | None = None, metric: str | None = None) -> list[dict]:
    records = list(document["tasks"].values())
    if metric:   # that metric as the score, on the tasks that report it (e.g. script_ratio: generation tasks)
        records = [dict(r, score=r["metrics"][metric], primary_metric=metric) for r in records
                   if metric in (r.get("metrics") or {})]
    if heldout_only:
        records = [r for r in records if _is_heldout(r)]
    if setting:
        records = [r for r in records if r.get("setting") == setting]
    if template_sets:
        records = [r for r in records if aggregation.template_category(r) in template_sets]
    return records


def build_table(runs: Sequence[tuple[str, Mapping]], *, statistic: str = "median", setting: str | None = None,
                heldout_only: bool = True, template_sets: Sequence[str] | None = None,
                seen_languages: Sequence[str] = DEFAULT_SEEN_LANGUAGES, baseline: str | None = None,
                metric: str | None = None) -> ReportTable:
    """The report table of named results documents (in row order).

    template_sets: keep only these template categories (aggregation.TEMPLATE_CATEGORIES);
    seen_languages: the tuning languages, the others are averaged in the 'unseen avg' column
    (shown when a run has results in such a language); baseline: a run name whose values
    the other runs' gains are computed against (ValueError when it is not a run, or lacks a
    data language another run has); metric: tabulate this metric of each task (e.g.
    script_ratio, the language correctness of generation-scored tasks) instead of its primary
    score, over the tasks that report it.
    """
    if statistic not in ("median", "mean"):
        raise ValueError(f"statistic must be 'median' or 'mean', got {statistic!r}")
    template_sets = parse_template_sets(template_sets) if template_sets else None
    seen_languages = parse_languages(seen_languages)
    aggregates, datasets = [], {}
    for name, document in runs:
        records = _records(document, heldout_only, setting, template_sets, metric)
        if not records:
            raise ValueError(f"run {name}: no {'held-out ' if heldout_only else ''}task results"
                             + (f" with metric {metric!r}" if metric else "")
                             + (f" in setting {setting!r}" if setting else "")
                             + (f" in template set(s) {', '.join(template_sets)}" if template_sets else ""))
        aggregates.append(aggregation.aggregate(records, ["dataset", "language", "language_template_category"]))
        for record in records:
            datasets[record["dataset"]] = (record["data_language"], record["cluster"])
    languages = sorted({language for language, _ in datasets.values()})
    columns = [Column(f"{cluster} ({language})" if len(languages) > 1 else cluster, dataset, "dataset", dataset)
               for dataset, (language, cluster) in sorted(datasets.items(), key=lambda kv: (kv[1], kv[0]))]
    categories_present = {key for agg in aggregates for key in agg["language_template_category"]}
    for language in languages:
        columns.append(Column("average", f"{language} avg", "language", language))
        present = [name for name in CATEGORY_ORDER if f"{language}/{name}" in categories_present]
        if language not in seen_languages and len(present) == 1:
            continue   # an unseen language in one category (XCOPA's): its category column repeats its avg
        for name in present:
            if f"{language}/{name}" in categories_present:
                columns.append(Column("average", f"{language} {name}", "language_template_category",
                                      f"{language}/{name}"))
    unseen = [language for language in languages if language not in seen_languages]
    if unseen:
        columns.append(Column("average", UNSEEN_LABEL, "unseen", ",".join(unseen)))
    rows = []
    for (name, _), agg in zip(runs, aggregates):
        values = []
        for column in columns:
            if column.grouping == "unseen":
                found = [agg["language"][lang][statistic] for lang in unseen if lang in agg["language"]]
                values.append(sum(found) / len(found) if found else None)
            else:
                group = agg[column.grouping]
                values.append(group[column.key][statistic] if column.key in group else None)
        rows.append((name, values))
    table = ReportTable(columns=columns, rows=rows, statistic=statistic, template_sets=template_sets,
                        seen_languages=seen_languages)
    if baseline is not None:
        table.baseline = baseline
        table.gains = compute_gains(table, baseline)
    return table


def compute_gains(table: ReportTable, baseline: str) -> dict[str, dict[str, dict[str, float | None]]]:
    """Each other run's gain over the baseline run per average column: absolute points and percent."""
    values = dict(table.rows)
    if baseline not in values:
        raise ValueError(f"baseline {baseline!r} is not among the runs ({', '.join(values)})")
    base = values[baseline]
    for index, column in enumerate(table.columns):
        if column.grouping == "language" and base[index] is None:
            others = [name for name, row in table.rows if row[index] is not None]
            raise ValueError(f"baseline {baseline!r} has no results in data language {column.key!r} "
                             f"(run(s) {', '.join(others)} have); evaluate it on the same tasks")
    gains = {}
    for name, row in table.rows:
        if name == baseline:
            continue
        gains[name] = {}
        for index, column in enumerate(table.columns):
            if column.group != "average":
                continue
            if row[index] is None or base[index] is None:
                gains[name][column.label] = None
                continue
            absolute = row[index] - base[index]
            relative = 100.0 * absolute / base[index] if base[index] else None
            gains[name][column.label] = {"absolute": absolute, "relative_percent": relative}
    return gains


def format_gain(gain: Mapping[str, float | None] | None) -> str:
    """'+20.7 (+45.1%)': points, then percent of the baseline ('-' when missing, 'n/a' over a zero baseline)."""
    if gain is None:
        return "-"
    relative = gain.get("relative_percent")
    return f"{gain['absolute']:+.1f} ({'n/a' if relative is None else f'{relative:+.1f}%'})"


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
    text = "\n".join(lines) + "\n"
    if table.baseline is not None:
        text += "\n" + render_gains(table)
    return text


def render_gains(table: ReportTable) -> str:
    """A Markdown table of each run's gain over the baseline per average column: '+20.7 (+45.1%)'."""
    labels = [c.label for c in table.columns if c.group == "average"]
    lines = [f"Gain over {table.baseline} (points, and percent of {table.baseline}'s score):", "",
             "| run | " + " | ".join(f"*{label}*" for label in labels) + " |",
             "|---|" + "---:|" * len(labels)]
    for name, gains in (table.gains or {}).items():
        lines.append(f"| {name} | " + " | ".join(format_gain(gains.get(label)) for label in labels) + " |")
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


def resolve_baseline(baseline: str, names: Sequence[str], result_dirs: Sequence[str | os.PathLike]) -> str:
    """The row name of the baseline run, given a row name or one of the result directories."""
    if baseline in names:
        return baseline
    wanted = Path(baseline).absolute()
    wanted = wanted.parent if wanted.name == RESULTS_FILE else wanted
    for name, directory in zip(names, result_dirs):
        path = Path(directory).absolute()
        path = path.parent if path.name == RESULTS_FILE else path
        if path.resolve() == wanted.resolve():
            return name
    raise ValueError(f"--baseline {baseline!r} is not among the runs: give one of the row names "
                     f"({', '.join(names)}) or one of the result directories")


def report(result_dirs: Sequence[str | os.PathLike], output_dir: str | os.PathLike | None = None,
           names: Iterable[str] | None = None, *, statistic: str = "median", setting: str | None = None,
           heldout_only: bool = True, template_sets: Sequence[str] | str | None = None,
           seen_languages: Sequence[str] | str = DEFAULT_SEEN_LANGUAGES,
           baseline: str | None = None, metric: str | None = None) -> tuple[str, ReportTable]:
    """Builds the table of several result directories; with output_dir writes report.md/.json/.png.

    baseline: a row name or a result directory; the table then carries each other run's gains.
    """
    documents = [load_results(d) for d in result_dirs]
    if names:
        names = list(names)
        if len(names) != len(documents):
            raise ValueError(f"{len(names)} names for {len(documents)} result directories")
        if len(set(names)) != len(names):
            raise ValueError(f"run names must be distinct, got {names}")
    else:
        names = distinct_run_names([run_name(d, doc) for d, doc in zip(result_dirs, documents)], result_dirs)
    if baseline is not None:
        baseline = resolve_baseline(baseline, names, result_dirs)
    table = build_table(list(zip(names, documents)), statistic=statistic, setting=setting, heldout_only=heldout_only,
                        template_sets=template_sets, seen_languages=seen_languages, baseline=baseline,
                        metric=metric)
    markdown = render_markdown(table)
    if output_dir is not None:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "report.md").write_text(markdown, encoding="utf-8")
        (output_dir / "report.json").write_text(json.dumps(table.to_dict(), indent=1), encoding="utf-8")
        filters = [f for f in (metric, setting, ",".join(table.template_sets or ())) if f]
        render_chart(table, output_dir / "report.png",
                     title=f"zero-shot ({statistic} over templates{''.join(', ' + f for f in filters)})")
    return markdown, table
