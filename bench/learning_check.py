"""Learning check: a tiny mT5 trained from scratch on one real training set beats the majority class.

    python bench/learning_check.py [--task kobest_sentineg.ko_korani.ko_korani_01] [--train_steps 300]
                                   [--output_dir /tmp/xlit_learning_check]
    python bench/learning_check.py --task rotten_tomatoes.en_p3.ps_movie_expressed_sentiment   # English

Everything goes through the real code paths: the registry task (source files in
$XLIT_DATA_DIR, default ../shared/data, rendered by its template), a sentencepiece vocabulary
trained on the task's training text, `xlit_jax.train_loop.train` under gin (models/mt5_tiny.gin,
runs/finetune.gin, runs/demo.gin), and `xlit_jax.evaluator.evaluate` scoring the dev split by
rank classification over the template's answer choices. Prints a table and writes
OUTPUT_DIR/learning_check.json. A benchmark, not a test: the target (majority + 10 points
within 10 minutes on a 2-core CPU) is reported, never asserted.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("XLIT_DATA_DIR", str(REPO_ROOT.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(REPO_ROOT))

TARGET_MARGIN = 10.0     # accuracy points above the majority class
TIME_LIMIT_S = 600.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="kobest_sentineg.ko_korani.ko_korani_01",
                        help="a registry evaluation task: trained on its train split under its one template")
    parser.add_argument("--eval_split", default="validation", help="the dev split scored (default validation)")
    parser.add_argument("--train_steps", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=0.01)
    parser.add_argument("--vocab_size", type=int, default=4096)
    parser.add_argument("--inputs_length", type=int, default=128)
    parser.add_argument("--gin_file", action="append", default=[], help="extra gin files (e.g. a bigger model)")
    parser.add_argument("--gin", action="append", default=[], help="extra gin bindings 'KEY = VALUE'")
    parser.add_argument("--output_dir", default="/tmp/xlit_learning_check")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
    import gin
    import sentencepiece as spm

    from seqio_tasks import eval_data, registration, task_specs, vocab
    from xlit_jax import evaluator, gin_utils, train_loop
    from xlit_jax.commands import demo, wiring
    from xlit_jax.models.mt5 import MT5Config

    wiring.import_configurables()
    registration.load_builtin()
    output_dir = Path(args.output_dir).absolute()
    if output_dir.exists():
        import shutil

        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True)
    started = time.perf_counter()
    spec = task_specs.get_spec(args.task)
    if spec.info.scoring != "rank":
        raise SystemExit(f"{args.task}: scored by {spec.info.scoring}; the learning check needs answer choices (rank)")
    train_rows = task_specs.rendered_examples(spec, "train")
    dev_rows = task_specs.rendered_examples(spec, args.eval_split)
    texts = [t for row in train_rows for t in [row["inputs"], row["targets"], *(row["options"] or [])]]
    vocabulary = vocab.train_vocabulary(texts, output_dir / "spm.model", args.vocab_size)
    pieces = spm.SentencePieceProcessor(model_file=str(vocabulary)).get_piece_size()
    registration.register_builtin(str(vocabulary))
    vocab_s = time.perf_counter() - started

    bindings = [f"VOCABULARY_PATH = {str(vocabulary)!r}", f"xlit.MT5Config.vocab_size = {-(-pieces // 128) * 128}",
                f"MODEL_DIR = {str(output_dir / 'train')!r}", f"MIXTURE_OR_TASK_NAME = {args.task!r}",
                f"TRAIN_STEPS = {args.train_steps}", f"BATCH_SIZE = {args.batch_size}",
                f"LEARNING_RATE = {args.learning_rate}",
                f"TASK_FEATURE_LENGTHS = {{'inputs': {args.inputs_length}, 'targets': 8}}",
                f"CHECKPOINT_PERIOD = {args.train_steps}"] + args.gin
    gin_utils.parse_gin(list(demo.BASE_GIN_FILES) + args.gin_file, bindings)
    model_config = MT5Config()
    lengths = dict(gin.query_parameter("%TASK_FEATURE_LENGTHS"))
    tick = time.perf_counter()
    summary = train_loop.train()
    train_s = time.perf_counter() - tick
    step = int(summary["final_step"])
    tick = time.perf_counter()
    document = evaluator.evaluate([args.task], task_loader=eval_data.registry_eval_tasks,
                                  checkpoint_path=str(output_dir / "train" / "export"), model_config=model_config,
                                  vocabulary_path=str(vocabulary), split=args.eval_split, task_feature_lengths=lengths,
                                  output_dir=str(output_dir / "eval"), batch_size=64, progress=False)
    eval_s = time.perf_counter() - tick
    total_s = time.perf_counter() - started
    gin.clear_config()

    gold = collections.Counter(row["answer_index"] for row in dev_rows)
    majority_index, majority_count = gold.most_common(1)[0]
    majority = 100.0 * majority_count / len(dev_rows)
    record = document["tasks"][args.task]
    accuracy = record["metrics"]["accuracy"]
    result = {
        "task": args.task, "dataset": spec.info.dataset, "eval_split": args.eval_split,
        "train_examples": len(train_rows), "dev_examples": len(dev_rows),
        "answer_choices": dev_rows[0]["options"], "majority_choice": dev_rows[0]["options"][majority_index],
        "majority_accuracy": round(majority, 2), "accuracy": round(accuracy, 2),
        "macro_f1": round(record["metrics"].get("macro_f1", float("nan")), 2),
        "margin_points": round(accuracy - majority, 2), "target_margin_points": TARGET_MARGIN,
        "meets_target": bool(accuracy - majority >= TARGET_MARGIN and total_s <= TIME_LIMIT_S),
        "train_steps": step, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
        "final_loss": summary.get("last_loss"), "vocabulary_pieces": pieces,
        "model": {k: v for k, v in model_config.to_dict().items() if k in ("vocab_size", "emb_dim", "num_heads",
                  "num_encoder_layers", "num_decoder_layers", "mlp_dim")},
        "seconds": {"vocabulary_and_setup": round(vocab_s, 1), "train": round(train_s, 1), "eval": round(eval_s, 1),
                    "total": round(total_s, 1)},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_1m_at_end": round(os.getloadavg()[0], 1)},
        "command": "python bench/learning_check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    rows = [("task", args.task), (f"dev examples ({args.eval_split})", len(dev_rows)),
            ("train examples", len(train_rows)), ("train steps x batch", f"{step} x {args.batch_size}"),
            ("majority class", f"{result['majority_choice']} ({majority:.1f}%)"),
            ("accuracy (rank classification)", f"{accuracy:.1f}%"), ("macro F1", f"{result['macro_f1']:.1f}"),
            ("margin over majority", f"{accuracy - majority:+.1f} points (target >= +{TARGET_MARGIN:.0f})"),
            ("time: setup / train / eval / total", f"{vocab_s:.0f} / {train_s:.0f} / {eval_s:.0f} / {total_s:.0f} s"),
            ("meets target", "yes" if result["meets_target"] else "no")]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k.ljust(width)}  {v}" for k, v in rows))
    path = output_dir / "learning_check.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
