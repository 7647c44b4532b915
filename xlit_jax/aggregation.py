"""Aggregating per-template scores: per dataset (median and mean over its templates), then per
cluster, data language, template setting, template category, template language and style
(averages over datasets).

Input: one record per evaluation task (one dataset under one template) with the fields
`dataset, cluster, data_language, setting, template_language, template_style` and
`score` (the task's primary metric), and optionally `template_category` (the evaluation
protocol's category: native, native_xlit, cross_lingual_aligned, cross_lingual, translated,
dump; a record without one, e.g. from an older results.json, counts under its setting).
Every group reports

    mean    mean over the group's datasets of each dataset's mean over its templates
    median  mean over the group's datasets of each dataset's median over its templates
    n_datasets, n_templates, datasets

so a dataset with 20 templates weighs as much as one with 5 (T0 and KORANI report
per-dataset medians/means and average those). A dataset group ("dataset",
"dataset_setting", ...) holds one dataset: its mean and median are over its templates.
"""
from __future__ import annotations

import statistics
from typing import Callable, Iterable, Mapping

Record = Mapping[str, object]
# The template categories in report order (seqio_tasks.naming.TEMPLATE_CATEGORIES; repeated here
# because the core never imports the registry; a test checks that the two agree).
TEMPLATE_CATEGORIES = ("native", "native_xlit", "cross_lingual_aligned", "cross_lingual", "translated", "dump")


def template_category(record: Record) -> str:
    """A record's template category: its `template_category`, else its setting."""
    return str(record.get("template_category") or record["setting"])


REQUIRED_FIELDS = ("dataset", "cluster", "data_language", "setting", "template_language", "template_style", "score")

# group name -> key of a record in that group
GROUPINGS: dict[str, Callable[[Record], str]] = {
    "all": lambda r: "all",
    "dataset": lambda r: str(r["dataset"]),
    "dataset_setting": lambda r: f"{r['dataset']}/{r['setting']}",
    "dataset_template_set": lambda r: f"{r['dataset']}/{r['template_language']}_{r['template_style']}",
    "cluster": lambda r: str(r["cluster"]),
    "cluster_setting": lambda r: f"{r['cluster']}/{r['setting']}",
    "language": lambda r: str(r["data_language"]),
    "setting": lambda r: str(r["setting"]),
    "language_setting": lambda r: f"{r['data_language']}/{r['setting']}",
    "template_language": lambda r: str(r["template_language"]),
    "template_style": lambda r: str(r["template_style"]),
    "template_set": lambda r: f"{r['template_language']}_{r['template_style']}",
    "language_template_set": lambda r: f"{r['data_language']}/{r['template_language']}_{r['template_style']}",
    "template_category": template_category,
    "language_template_category": lambda r: f"{r['data_language']}/{template_category(r)}",
    "dataset_template_category": lambda r: f"{r['dataset']}/{template_category(r)}",
}


def _check(records: list[Record]) -> None:
    for position, record in enumerate(records):
        missing = [f for f in REQUIRED_FIELDS if record.get(f) is None]
        if missing:
            name = record.get("name", f"record {position}")
            raise ValueError(f"aggregation: {name} lacks field(s) {missing}")
        if not isinstance(record["score"], (int, float)):
            raise ValueError(f"aggregation: {record.get('name', position)} has a non-numeric score {record['score']!r}")


def dataset_statistics(scores: Iterable[float]) -> dict:
    """Mean, median, min, max and count of one dataset's template scores."""
    values = [float(s) for s in scores]
    if not values:
        raise ValueError("dataset_statistics: no scores")
    return {"mean": statistics.fmean(values), "median": float(statistics.median(values)),
            "min": min(values), "max": max(values), "n_templates": len(values)}


def group_statistics(records: Iterable[Record]) -> dict:
    """Mean over datasets of the per-dataset mean and median, for the records of one group."""
    by_dataset: dict[str, list[float]] = {}
    for record in records:
        by_dataset.setdefault(str(record["dataset"]), []).append(float(record["score"]))
    if not by_dataset:
        raise ValueError("group_statistics: no records")
    per_dataset = {name: dataset_statistics(scores) for name, scores in sorted(by_dataset.items())}
    return {
        "mean": statistics.fmean(s["mean"] for s in per_dataset.values()),
        "median": statistics.fmean(s["median"] for s in per_dataset.values()),
        "n_datasets": len(per_dataset),
        "n_templates": sum(s["n_templates"] for s in per_dataset.values()),
        "datasets": list(per_dataset),
    }


def aggregate(records: Iterable[Record], groupings: Iterable[str] | None = None) -> dict[str, dict[str, dict]]:
    """{grouping: {group key: statistics}} for each grouping in GROUPINGS (default: all of them)."""
    records = list(records)
    _check(records)
    names = list(groupings) if groupings is not None else list(GROUPINGS)
    out: dict[str, dict[str, dict]] = {}
    for name in names:
        if name not in GROUPINGS:
            raise KeyError(f"unknown grouping {name!r}; known: {sorted(GROUPINGS)}")
        groups: dict[str, list[Record]] = {}
        for record in records:
            groups.setdefault(GROUPINGS[name](record), []).append(record)
        out[name] = {key: group_statistics(group) for key, group in sorted(groups.items())}
    return out


def _label(grouping: str, key: str) -> str:
    if grouping == "all":
        return "all"
    if grouping == "setting":
        return f"all/{key}"
    if grouping.startswith("dataset"):
        return f"dataset/{key}"
    if grouping.startswith("cluster"):
        return f"cluster/{key}"
    return key


def flat_scores(aggregates: Mapping[str, Mapping[str, Mapping]], prefix: str = "eval",
                groupings: Iterable[str] = ("all", "language", "setting", "language_setting", "cluster", "dataset"),
                statistics_: Iterable[str] = ("mean", "median")) -> dict[str, float]:
    """Scalars for a metrics writer, e.g. eval/all/mean, eval/ko/mean, eval/all/native/mean,
    eval/ko/native/mean, eval/cluster/nli/median, eval/dataset/klue_nli/median."""
    out = {}
    for grouping in groupings:
        for key, stats in aggregates.get(grouping, {}).items():
            for stat in statistics_:
                out[f"{prefix}/{_label(grouping, key)}/{stat}"] = float(stats[stat])
    return out
