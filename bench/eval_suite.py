"""Evaluation throughput over the held-out suite: examples/s end to end and XLA compilations.

Every held-out evaluation task with data, of both languages and every template (rank
classification), plus the generation tasks (the registry has no held-out generation task, so
those of the training role stand in), is scored by `xlit_jax.evaluator.evaluate` with a small
random model, from rendered examples to results.json. The settings run side by side in one
process, each after `jax.clear_caches()` so none inherits another's compilations:

  old:      round 1: one evaluate() per task, per-batch power-of-two padding
            (`batching.PowerOfTwo`), options scored on encoder states repeated per option
            (bench/rank_eval.py's `repeated` scorer), cross-attention keys/values projected at
            every decoding step;
  per_task: the previous release: one evaluate() per task, the first shape buckets (5 input
            lengths, 4 option counts, 4 option lengths), the repeated scorer, cross-attention
            cached once per input;
  new:      one evaluate() over the whole suite: the examples of all tasks pooled into batches
            sorted by padded shape, the finer default buckets (`batching.DEFAULT_BUCKETS`), options
            packed as segments of one decoder row (`scoring.option_log_likelihoods`).

Each setting runs twice: cold (the first evaluation of a process, compiling every shape) and warm
(again in the same process: what every later evaluation of a training run costs). The table gives
examples/s, XLA compilations (jax.monitoring's backend-compile events) and their
seconds, and the largest difference between the settings' task scores. JSON with machine facts and load
average with --output.

    python bench/eval_suite.py --output /tmp/eval_suite.json
    python bench/eval_suite.py --tiny        # a few tasks, a few examples, a tiny model
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_facts import load_average, machine_facts, print_table, write_json  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task_regex", default=None, help="only tasks whose name matches (re.search)")
    parser.add_argument("--max_tasks", type=int, default=None)
    parser.add_argument("--max_examples", type=int, default=None, help="examples per task")
    parser.add_argument("--no_generation", action="store_true", help="held-out rank tasks only")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--input_length", type=int, default=1024)
    parser.add_argument("--target_length", type=int, default=64, help="max option length / new tokens")
    parser.add_argument("--vocabulary_path", default=None, help="sentencepiece model (default: train a small one)")
    parser.add_argument("--vocab_size", type=int, default=8000, help="of the trained vocabulary")
    parser.add_argument("--emb_dim", type=int, default=256)
    parser.add_argument("--num_heads", type=int, default=4)
    parser.add_argument("--head_dim", type=int, default=64)
    parser.add_argument("--mlp_dim", type=int, default=512)
    parser.add_argument("--num_layers", type=int, default=2)
    parser.add_argument("--one_per_dataset", action="store_true", help="the first template of each dataset only")
    parser.add_argument("--settings", default="old,per_task,new")
    parser.add_argument("--warm", action=argparse.BooleanOptionalAction, default=True,
                        help="after each setting's first (cold, compiling) pass, time a second (warm) one")
    parser.add_argument("--tiny", action="store_true", help="a few tasks, 3 examples each, a tiny model")
    parser.add_argument("--workdir", default=None, help="results.json of each setting go here (default: temp)")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.task_regex = args.task_regex or r"^(super_glue_copa|kobest_copa|anli_r1|klue_nli|korquad1|common_gen)\."
        args.one_per_dataset = True
        args.max_tasks, args.max_examples = args.max_tasks or 6, args.max_examples or 3
        args.batch_size, args.input_length, args.target_length = 4, 128, 8
        args.vocab_size, args.emb_dim, args.num_heads, args.head_dim, args.mlp_dim, args.num_layers = (
            1000, 32, 2, 8, 64, 1)
    return args


def build_eval_tasks(args: argparse.Namespace) -> list:
    """The suite as EvalTasks, through seqio_tasks' public API (registration.load_builtin, eval_data)."""
    import re

    from seqio_tasks import eval_data, registration

    registration.load_builtin()
    names = eval_data.eval_task_names(with_data=True)
    chosen, datasets = [], set()
    for name in names:
        info = eval_data.task_info(name)
        keep = info.role == "heldout" or (info.scoring == "generation" and not args.no_generation)
        keep &= not (args.one_per_dataset and info.dataset in datasets)
        if keep and (not args.task_regex or re.search(args.task_regex, name)):
            chosen.append(name)
            datasets.add(info.dataset)
    chosen = chosen[:args.max_tasks] if args.max_tasks else chosen
    return eval_data.registry_eval_tasks(chosen, max_examples=args.max_examples)


def train_vocabulary(tasks: list, path: Path, vocab_size: int) -> Path:
    """A sentencepiece model trained on the suite's own text (the mT5 one cannot be downloaded here)."""
    from seqio_tasks import vocab

    texts = [t for task in tasks for e in task.examples for t in [e["inputs"], e["targets"], *(e.get("options") or [])]]
    return vocab.train_vocabulary(texts, path, vocab_size=vocab_size)


FIRST_BUCKETS = {"input_lengths": (64, 128, 256, 512, 1024), "target_lengths": (8, 32, 128, 256),
                 "option_counts": (2, 4, 8, 16)}


def scorers(setting: str) -> tuple[dict, bool]:
    """The evaluate() arguments of a setting, and whether it calls evaluate() once per task."""
    from rank_eval import repeated_option_log_likelihoods

    from xlit_jax import batching, decoding, scoring

    repeated = functools.partial(scoring.rank_classify, scorer=repeated_option_log_likelihoods)
    if setting == "old":
        return {"padding": batching.PowerOfTwo(), "rank_classify_fn": repeated,
                "generate_fn": functools.partial(decoding.generate, cache_cross_attention=False)}, True
    if setting == "per_task":
        return {"padding": batching.Buckets(**FIRST_BUCKETS), "rank_classify_fn": repeated}, True
    if setting == "new":
        return {}, False
    raise ValueError(f"eval_suite: unknown setting {setting!r}; use old, per_task, new")


def run_setting(setting: str, tasks: list, common: dict, output_dir: Path) -> dict:
    """The results document of one setting: {"tasks": name -> record} (merged over per-task calls)."""
    from xlit_jax import evaluator

    kwargs, per_task = scorers(setting)
    if not per_task:
        return evaluator.evaluate(tasks=tasks, output_dir=str(output_dir), **common, **kwargs)
    merged: dict = {"tasks": {}}
    for i, task in enumerate(tasks):
        document = evaluator.evaluate(tasks=[task], output_dir=str(output_dir / str(i)), **common, **kwargs)
        merged["tasks"].update(document["tasks"])
    return merged


def main(argv=None) -> dict:
    args = parse_args(argv)
    import jax
    import numpy as np

    from xlit_jax import batching, evaluator
    from xlit_jax.models import mt5

    load_before = load_average()
    start = time.perf_counter()
    tasks = build_eval_tasks(args)
    if not tasks:
        raise SystemExit("eval_suite: no task matched")
    load_seconds = time.perf_counter() - start
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="eval_suite_"))
    vocabulary_path = Path(args.vocabulary_path or train_vocabulary(tasks, workdir / "spm.model", args.vocab_size))
    import sentencepiece as spm

    vocab_size = spm.SentencePieceProcessor(model_file=str(vocabulary_path)).get_piece_size()
    config = mt5.MT5Config(vocab_size=vocab_size, emb_dim=args.emb_dim, num_heads=args.num_heads,
                           head_dim=args.head_dim, mlp_dim=args.mlp_dim, num_encoder_layers=args.num_layers,
                           num_decoder_layers=args.num_layers)
    params = mt5.init_params(config, jax.random.key(0))
    num_examples = sum(len(t.examples) for t in tasks)
    kinds = {s: sum(1 for t in tasks if t.info["scoring"] == s) for s in ("rank", "generation")}
    languages = sorted({t.info["data_language"] for t in tasks})
    common = {"params": params, "model_config": config, "vocabulary_path": str(vocabulary_path),
              "batch_size": args.batch_size, "progress": False,
              "task_feature_lengths": {"inputs": args.input_length, "targets": args.target_length}}
    rows, documents = [], {}
    passes = ["cold", "warm"] if args.warm else ["cold"]
    for setting in args.settings.split(","):
        jax.clear_caches()
        for run_pass in passes:  # warm: the same process again, as every later in-training evaluation
            with batching.CompilationCounter() as compilations:
                start = time.perf_counter()
                documents[setting] = run_setting(setting, tasks, common, workdir / setting)
                seconds = time.perf_counter() - start
            rows.append({"setting": setting, "pass": run_pass, "seconds": seconds,
                         "examples_per_s": num_examples / seconds, "compilations": compilations.count,
                         "compile_seconds": compilations.seconds})
    for row in rows:
        old = next((r for r in rows if r["setting"] == "old" and r["pass"] == row["pass"]), None)
        row["speedup_vs_old"] = old["seconds"] / row["seconds"] if old else None
    agreement = None
    if len(documents) > 1:  # results.json "tasks": name -> record with the task's score
        first, *others = documents.values()
        agreement = max(abs(first["tasks"][name]["score"] - other["tasks"][name]["score"])
                        for other in others for name in first["tasks"])
    print(f"eval suite: {len(tasks)} tasks ({kinds['rank']} rank, {kinds['generation']} generation; languages "
          f"{', '.join(languages)}), {num_examples} examples; model emb {args.emb_dim} {args.num_layers}+"
          f"{args.num_layers} layers vocab {vocab_size}; batch {args.batch_size}, lengths {args.input_length}/"
          f"{args.target_length}; tasks loaded in {load_seconds:.1f}s; backend {jax.default_backend()}")
    print_table(["setting", "pass", "examples/s", "seconds", "compilations", "compile s", "speedup"],
                [[r["setting"], r["pass"], r["examples_per_s"], r["seconds"], r["compilations"], r["compile_seconds"],
                  r["speedup_vs_old"] if r["speedup_vs_old"] is not None else "-"] for r in rows])
    if agreement is not None:
        print(f"max |task score difference between settings|: {agreement:.3g}")
    facts = machine_facts()
    facts["load_average_before"] = load_before
    result = {"benchmark": "eval_suite", "args": vars(args), "num_tasks": len(tasks), "task_kinds": kinds,
              "languages": languages, "num_examples": num_examples, "num_params": mt5.count_params(params),
              "rows": rows, "max_task_score_difference": agreement, "workdir": str(workdir), "machine": facts}
    write_json(args.output, result)
    return result


if __name__ == "__main__":
    main()
