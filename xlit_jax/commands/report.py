"""`xlit report RESULT_DIR [RESULT_DIR ...] [--output DIR] [--names A,B] [--baseline RUN] [--template_set SET] [--metric M]`:
paper-style table (with gains over a baseline run) and chart."""
from __future__ import annotations

import argparse
import sys

from xlit_jax import reports


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xlit report",
        description="Render a Markdown table (rows: runs; columns: held-out datasets by cluster, then averages "
                    "per language, per language and template set, and over unseen languages) and a PNG chart "
                    "from evaluation result directories; with --baseline, each run's gain over a baseline run.")
    parser.add_argument("result_dirs", nargs="+",
                        help="directories holding results.json: `xlit eval` output dirs or MODEL_DIR/inference_eval/"
                             "step_N (runs sharing a recorded name are told apart by their directories)")
    parser.add_argument("--output", help="write report.md, report.json and report.png here")
    parser.add_argument("--names", nargs="+",
                        help="row names, one per result dir (comma-separated or separate; default: each "
                             "results.json's run name)")
    parser.add_argument("--statistic", choices=("median", "mean"), default="median",
                        help="per-dataset statistic over templates (default median, as T0 reports)")
    parser.add_argument("--setting", choices=reports.SETTING_ORDER,
                        help="only templates of one setting (native, cross_lingual, translated)")
    parser.add_argument("--template_set",
                        help="only these template sets, comma-separated: " + ", ".join(reports.CATEGORY_ORDER)
                             + " (native: promptsource for English P3 data, KORANI-style for Korean; native_xlit: "
                               "xlit's own English P3-style templates; cross_lingual_aligned: the English "
                               "counterpart's promptsource templates on Korean data; dump: the KORANI authors' "
                               "test_tmp{k}.csv templates)")
    parser.add_argument("--baseline", metavar="RUN",
                        help="a run (row name or result directory) to compute every other run's gain over, per "
                             "average column: points and percent of the baseline, e.g. +20.7 (+45.1%%)")
    parser.add_argument("--seen_languages", default=",".join(reports.DEFAULT_SEEN_LANGUAGES),
                        help="the tuning languages (default %(default)s); the other data languages are averaged "
                             "in an 'unseen avg' column, shown when a run has such results")
    parser.add_argument("--metric",
                        help="tabulate this metric of each task instead of its primary score, over the tasks that "
                             "report it: e.g. script_ratio or language_rate (language correctness of "
                             "generation-scored tasks), bleu, chrf")
    parser.add_argument("--all_datasets", action="store_true", help="include training-role datasets too")
    return parser


def main(argv: list[str]) -> int:
    """Entry point of `xlit report`."""
    args = _parser().parse_args(argv)
    names = None
    if args.names:
        names = [n for item in args.names for n in item.split(",") if n]
    try:
        markdown, _ = reports.report(args.result_dirs, args.output, names, statistic=args.statistic,
                                     setting=args.setting, heldout_only=not args.all_datasets,
                                     template_sets=args.template_set, seen_languages=args.seen_languages,
                                     baseline=args.baseline, metric=args.metric)
    except (FileNotFoundError, ValueError) as error:
        print(f"xlit report: {error}", file=sys.stderr)
        return 2
    print(markdown, end="")
    if args.output:
        print(f"\nwrote {args.output}/report.md, report.json, report.png")
    return 0
