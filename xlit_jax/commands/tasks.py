"""`xlit tasks`: list registered tasks and mixtures, show rendered examples, print the taxonomy.

    xlit tasks [--filter REGEX] [--json] [--counts]      tasks (counts read the data: slower)
    xlit tasks --mixtures [--filter REGEX] [--json]      mixtures and their task counts
    xlit tasks --show NAME [--num N] [--split S]         a few rendered examples of a task
    xlit tasks --taxonomy                                the dataset taxonomy table

Listing and --show read no TensorFlow: they use the TF-free task specs. --mixtures
registers the seqio mixtures (imports seqio).
"""
from __future__ import annotations

import argparse
import json
import re
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlit tasks", description=__doc__.split("\n")[0])
    parser.add_argument("--filter", default=None, help="regular expression over task or mixture names")
    parser.add_argument("--show", default=None, metavar="NAME", help="print rendered examples of this task")
    parser.add_argument("--num", type=int, default=3, help="examples to print with --show")
    parser.add_argument("--split", default=None, help="split for --show (default: the task's eval/train split)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--mixtures", action="store_true", help="list mixtures instead of tasks")
    parser.add_argument("--counts", action="store_true", help="read the data to count examples")
    parser.add_argument("--taxonomy", action="store_true", help="print the dataset taxonomy table")
    return parser


def _task_rows(pattern: str | None, counts: bool) -> list[dict]:
    from seqio_tasks import task_specs

    regex = re.compile(pattern) if pattern else None
    rows = []
    for spec in task_specs.all_specs():
        if regex and not regex.search(spec.name):
            continue
        info = spec.info
        present = task_specs.has_data(spec, None if info.kind == "eval" else task_specs.train_split(spec))
        row = {
            "name": info.name, "kind": info.kind, "dataset": info.dataset, "cluster": info.cluster,
            "role": info.role, "data_language": info.data_language,
            "template_language": info.template_language, "template_style": info.template_style,
            "template_id": info.template_id, "setting": info.setting, "scoring": info.scoring,
            "metrics": list(info.metrics), "has_data": present, "num_examples": None,
        }
        if present and counts:
            row["num_examples"] = task_specs.num_examples(info.name)
        rows.append(row)
    return rows


def _print_table(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(_cell(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(_cell(row[c]).ljust(widths[c]) for c in columns))


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO DATA"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def _show(name: str, num: int, split: str | None) -> int:
    from seqio_tasks import eval_data, task_specs

    info = task_specs.task_info(name)
    print(json.dumps(info.to_dict(), ensure_ascii=False))
    spec = task_specs.get_spec(name)
    if not task_specs.has_data(spec, split or (info.eval_split if info.kind == "eval" else task_specs.train_split(spec))):
        print(f"task {name}: its data is not present (set XLIT_DATA_DIR)", file=sys.stderr)
        return 1
    rows = task_specs.rendered_examples(spec, split, max_examples=num)
    del eval_data
    for row in rows:
        print(f"--- idx {row['idx']}")
        print(f"inputs:  {row['inputs']}")
        print(f"targets: {row['targets']}")
        if row["options"]:
            print(f"options: {row['options']} (answer_index {row['answer_index']})")
    return 0


def _mixture_rows(pattern: str | None) -> list[dict]:
    from seqio_tasks import mixtures
    from xlit_jax.commands import wiring

    wiring.register(wiring.resolve_vocabulary())   # imports TensorFlow and seqio quietly
    import seqio

    definitions = mixtures.mixture_definitions()
    regex = re.compile(pattern) if pattern else None
    rows = []
    for name, task_names in sorted(definitions.items()):
        if regex and not regex.search(name):
            continue
        registered = name in seqio.MixtureRegistry.names()
        present = [t.name for t in seqio.MixtureRegistry.get(name).tasks] if registered else []
        rows.append({"name": name, "registered": registered, "num_tasks": len(task_names),
                     "num_tasks_with_data": len(present),
                     "tasks_without_data": sorted(set(task_names) - set(present))})
    return rows


def _taxonomy() -> int:
    from seqio_tasks import taxonomy

    print(taxonomy.format_table())
    return 0


def main(argv: list[str]) -> int:
    """Runs `xlit tasks`."""
    args = _parser().parse_args(argv)
    from xlit_jax.commands import wiring

    if not args.taxonomy:
        wiring.load_registry()
    if args.taxonomy:
        return _taxonomy()
    if args.show:
        try:
            return _show(args.show, args.num, args.split)
        except (KeyError, ValueError, FileNotFoundError) as error:
            from xlit_jax.commands import wiring

            return wiring.fail("tasks", error, 1)
    if args.mixtures:
        rows = _mixture_rows(args.filter)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=1))
        else:
            _print_table(rows, ["name", "registered", "num_tasks", "num_tasks_with_data"])
        return 0
    rows = _task_rows(args.filter, counts=args.counts or args.json)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print("no tasks match", file=sys.stderr)
        return 1
    columns = ["name", "kind", "data_language", "template_language", "template_style", "setting",
               "cluster", "role", "has_data"] + (["num_examples"] if args.counts else [])
    _print_table(rows, columns)
    with_data = {r["dataset"] for r in rows if r["has_data"]}
    missing = sorted({r["dataset"] for r in rows} - with_data)
    partial = sorted({r["dataset"] for r in rows if not r["has_data"]} & with_data)
    print(f"\n{len(rows)} tasks, {sum(r['has_data'] for r in rows)} with data present"
          + (f"\ndatasets without data: {', '.join(missing)}" if missing else "")
          + (f"\ndatasets with some tasks lacking their split (e.g. no train file): {', '.join(partial)}"
             if partial else ""))
    return 0
