"""`xlit select`: rank training datasets by how close their instructions are to a target task's (INSTA-style).

    xlit select --target DATASET_OR_TASK [--top_k K] [--candidates korani|p3|ko|en] [--template_set SET]
                [--aligned] [--num_examples N] [--aggregate max_mean|mean] [--require_data]
                [--checkpoint PATH [--vocabulary SPM]] [--output FILE] [--json]

Without --checkpoint the instructions are compared by character n-gram TF-IDF (deterministic,
no model); with it, by the mean-pooled encoder of that checkpoint (any format `xlit eval`
reads; vocabulary: --vocabulary, else the checkpoint's spiece.model, else $XLIT_VOCAB).
Prints the ranking (top k marked *) and writes it as JSON to --output (default
selections/{target}.json); --json prints the JSON instead of the table. Reads no TensorFlow.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlit select", description=__doc__.split("\n")[0])
    parser.add_argument("--target", required=True, help="a dataset (kobest_copa) or task name "
                        "(kobest_copa.ko_korani.ko_korani_01) whose instructions to match")
    parser.add_argument("--top_k", type=int, default=5, help="how many datasets to select")
    parser.add_argument("--candidates", default=None,
                        help="training datasets of this meta-dataset or language: korani, p3, ko, en "
                             "(default: the target's meta-dataset)")
    parser.add_argument("--template_set", default=None,
                        help="the target's template set, e.g. ko_korani, en_p3 (default: a task's own, a dataset's "
                             "native one)")
    parser.add_argument("--aligned", action="store_true",
                        help="read the candidates in the target's template set too (else each in its native one)")
    parser.add_argument("--num_examples", type=int, default=0,
                        help="render templates on this many real rows (0: instructions only, with placeholders)")
    parser.add_argument("--aggregate", default="max_mean", choices=("max_mean", "mean"),
                        help="max_mean: mean over target templates of the best candidate template; mean: centroids")
    parser.add_argument("--require_data", action="store_true",
                        help="rank only candidates whose training data is present")
    parser.add_argument("--checkpoint", default=None, help="embed with this checkpoint's mT5 encoder")
    parser.add_argument("--vocabulary", default=None, help="sentencepiece model for --checkpoint")
    parser.add_argument("--batch_size", type=int, default=32, help="texts per encoder batch (--checkpoint)")
    parser.add_argument("--max_length", type=int, default=512, help="tokens per text (--checkpoint)")
    parser.add_argument("--output", default=None, help="JSON file to write (default selections/{target}.json)")
    parser.add_argument("--json", action="store_true", help="print the JSON instead of the table")
    return parser


def main(argv: list[str]) -> int:
    """Runs `xlit select`."""
    args = _parser().parse_args(argv)
    from xlit_jax.commands import wiring

    wiring.load_registry()
    from seqio_tasks import selection

    try:
        embed, name = None, None
        if args.checkpoint:
            embed, name = selection.encoder_embedder(args.checkpoint, args.vocabulary, batch_size=args.batch_size,
                                                     max_length=args.max_length)
        result = selection.select(args.target, candidates=args.candidates, top_k=args.top_k,
                                  template_set=args.template_set, aligned=args.aligned,
                                  num_examples=args.num_examples, aggregate=args.aggregate, embed=embed,
                                  embedder_name=name, require_data=args.require_data)
    except (KeyError, ValueError, FileNotFoundError) as error:
        return wiring.fail("select", error, 1)
    payload = result.to_dict()
    output = Path(args.output or Path("selections") / f"{args.target}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=1))
        return 0
    print(f"target {result.target} ({result.target_cluster}, {result.target_instructions} instructions in "
          f"{result.target_template_set}); candidates: {result.candidates} training datasets"
          f"{' in the same template set' if result.aligned else ' in their native template sets'}; "
          f"{result.embedder}, {result.aggregate}")
    print(result.format_table())
    if result.skipped:
        print(f"\n{len(result.skipped)} candidates left out (no instructions to compare"
              f"{' or no data' if args.require_data else ''}): {', '.join(sorted(result.skipped))}")
    print(f"\nselected (top {result.top_k}): {', '.join(result.selected)}")
    print(f"wrote {output}", file=sys.stderr)
    return 0
