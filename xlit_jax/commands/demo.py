"""`xlit demo`: build a vocabulary, train a tiny mT5 from scratch, evaluate it zero-shot, print the table.

    xlit demo [--output_dir runs/demo] [--train_steps 300] [--arms baseline,bilingual]
              [--data auto|demo|real] [--max_eval_examples N] [--gin_file F] [--gin.KEY=VALUE]

Runs on a CPU with no network, right after installation. Steps, all through the real code paths:
1. the built-in tasks registered (xlit_jax.commands.wiring), a sentencepiece vocabulary from the
   rendered text of the tasks involved (seqio_tasks.vocab);
2. per training arm, `xlit_jax.train_loop.train` under gin (models/mt5_tiny.gin, runs/finetune.gin,
   runs/demo.gin) on a seqio mixture, with checkpoints in OUTPUT_DIR/train/{arm};
3. zero-shot evaluation of every arm (and of the untrained initial parameters, "no_tuning") with
   `xlit_jax.evaluator.evaluate` on held-out tasks in both languages, under native, cross-lingual
   and translated templates: OUTPUT_DIR/eval/{arm}/results.json;
4. the paper-style table and chart (`xlit_jax.reports`): OUTPUT_DIR/report.{md,json,png}.

--data demo uses the corpus packaged in seqio_tasks/demo (bilingual sentiment, paraphrase and
yes/no QA for training; NLI and COPA held out). --data real uses $XLIT_DATA_DIR's benchmarks: the
registry's korani_train / p3_t0_train / bilingual_train mixtures, the pinch mixtures both ways and the
template-language arms (korani_train.en_p3: Korean data under English P3-style templates;
p3_train.ko_korani: English data under Korean KORANI-style templates), over the tasks whose data is
there, and real held-out datasets (--heldout), with at most --max_eval_examples rows per task.
--data auto (default) is real when $XLIT_DATA_DIR holds Korean training data, else demo.
Every trained arm leaves OUTPUT_DIR/train/{arm}/export (what `xlit eval` reads).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from xlit_jax import gin_utils

BASELINE = "no_tuning"
# baseline: no tuning; en / ko / bilingual: native templates; *_pinch: a monolingual mixture plus a few
# examples of the other language; *_xlt: one language's training data under the OTHER language's
# templates (the cross-lingual template arm at training time).
ARMS = ("baseline", "en", "ko", "bilingual", "en_pinch", "ko_pinch", "en_xlt", "ko_xlt")
BASE_GIN_FILES = ("models/mt5_tiny.gin", "runs/finetune.gin", "runs/demo.gin")
REAL_HELDOUT = ("kornli", "kobest_copa", "super_glue_rte", "super_glue_copa")
REAL_MIXTURES = {"en": "p3_t0_train", "ko": "korani_train", "bilingual": "bilingual_train",
                 "en_xlt": "p3_train.ko_korani", "ko_xlt": "korani_train.en_p3"}
DEFAULT_ARMS = {"demo": ("baseline", "bilingual"), "real": ARMS}
REAL_FEATURE_LENGTHS = {"inputs": 256, "targets": 16}
PINCH_SIZE = 8


@dataclasses.dataclass
class DemoSettings:
    """What `xlit demo` runs: where, which data and arms, how long, evaluated how."""

    output_dir: Path
    data: str = "auto"
    arms: tuple[str, ...] | None = None    # None: baseline,bilingual (demo) or every arm (real)
    train_steps: int = 300
    batch_size: int = 16
    vocab_size: int | None = None          # None: 1024 for the demo corpus, 4096 for real data
    heldout: tuple[str, ...] = REAL_HELDOUT
    max_eval_examples: int | None = None   # None: all for the demo corpus, 32 per task for real data
    max_vocab_examples: int = 200
    eval_batch_size: int = 32
    gin_files: tuple[str, ...] = ()
    gin_bindings: tuple[str, ...] = ()
    overwrite: bool = False


def _log(message: str) -> None:
    print(f"xlit demo: {message}", flush=True)


def resolve_data(choice: str) -> str:
    """'demo' or 'real': --data auto is real when $XLIT_DATA_DIR holds Korean training data."""
    if choice != "auto":
        return choice
    from seqio_tasks import task_specs

    return "real" if any(spec.info.kind == "train" and spec.info.meta == "korani" and task_specs.has_data(spec)
                         for spec in task_specs.all_specs()) else "demo"


# ----------------------------------------------------------------------- the plan


def training_mixture(arm: str, data: str) -> str | None:
    """The seqio mixture an arm trains on (None for the baseline or when its data is absent)."""
    from seqio_tasks import demo, mixtures

    if arm == "baseline":
        return None
    if data == "demo":
        if arm == "bilingual":
            return demo.BILINGUAL_MIXTURE
        if arm.endswith("_pinch"):
            return demo.pinch_mixture_name(arm.split("_")[0], PINCH_SIZE)
        if arm.endswith("_xlt"):
            return demo.CROSS_TEMPLATE_MIXTURE.format(language=arm.split("_")[0])
        return demo.TRAIN_MIXTURE.format(language=arm)
    import seqio

    names = seqio.MixtureRegistry.names()
    if arm.endswith("_pinch"):
        language = arm.split("_")[0]
        base, other = REAL_MIXTURES[language], REAL_MIXTURES["ko" if language == "en" else "en"]
        if base not in names or other not in names:
            return None
        return mixtures.make_pinch_mixture(base, other, PINCH_SIZE * 4,
                                           name=f"{base}.pinch_{PINCH_SIZE * 4}").name
    if arm == "bilingual" and not {REAL_MIXTURES["en"], REAL_MIXTURES["ko"]} <= set(names):
        return None   # bilingual_train would hold one language only
    return REAL_MIXTURES[arm] if REAL_MIXTURES[arm] in names else None


def heldout_tasks(settings: DemoSettings, data: str) -> list[str]:
    """Evaluation task names: the demo's NLI/COPA, or real held-out datasets, in both languages, all templates."""
    from seqio_tasks import demo, task_specs

    if data == "demo":
        return demo.heldout_task_names()
    wanted = set(settings.heldout)
    names = [spec.name for spec in task_specs.all_specs() if spec.info.kind == "eval"
             and spec.info.dataset in wanted and task_specs.has_data(spec)]
    if not names:
        raise FileNotFoundError(f"none of the held-out datasets {sorted(wanted)} has data under $XLIT_DATA_DIR")
    return names


def vocabulary_patterns(data: str, mixtures_used: Sequence[str], eval_tasks: Sequence[str]) -> list[str]:
    """Task-name regexes whose rendered text trains the vocabulary."""
    if data == "demo":
        return ["^demo_"]
    import seqio

    names = set(eval_tasks)
    for mixture in mixtures_used:
        names |= {t.name for t in seqio.MixtureRegistry.get(mixture).tasks if not t.name.startswith("pinch.")}
    return ["^(?:" + "|".join(re.escape(n) for n in sorted(names)) + ")$"]


# ------------------------------------------------------------------------ gin runs


def _parse_gin(settings: DemoSettings, bindings: Sequence[str]) -> None:
    import gin

    gin.clear_config()
    gin_utils.parse_gin(list(BASE_GIN_FILES) + list(settings.gin_files), list(bindings) + list(settings.gin_bindings))


def _arm_bindings(settings: DemoSettings, vocabulary: Path, vocab_pieces: int, model_dir: Path | None,
                  mixture: str | None, real: bool = False) -> list[str]:
    vocab_size = -(-vocab_pieces // 128) * 128   # rounded up to a multiple of 128
    bindings = [f"VOCABULARY_PATH = {str(vocabulary)!r}", f"xlit.MT5Config.vocab_size = {vocab_size}",
                f"BATCH_SIZE = {settings.batch_size}", f"TRAIN_STEPS = {settings.train_steps}",
                f"MODEL_DIR = {str(model_dir or settings.output_dir / 'train' / BASELINE)!r}",
                f"MIXTURE_OR_TASK_NAME = {mixture or 'unused'!r}"]
    if real:
        bindings.append(f"TASK_FEATURE_LENGTHS = {REAL_FEATURE_LENGTHS!r}")
    return bindings


def _model_config_and_seed() -> tuple[Any, int]:
    import gin

    from xlit_jax.models.mt5 import MT5Config

    return MT5Config(), int(gin.query_parameter("%RANDOM_SEED"))


def initial_params(model_config: Any, seed: int) -> Any:
    """The parameters `xlit.train` starts from with this config and seed (the no-tuning baseline)."""
    import jax

    from xlit_jax.trainer import Trainer

    return Trainer(model_config).init_state(jax.random.PRNGKey(seed)).params


# --------------------------------------------------------------------------- run


def _prepare(settings: DemoSettings, output_dir: Path) -> tuple[str, dict, list, Path, int]:
    """Registry, data choice, training mixtures per arm, evaluation tasks and the vocabulary."""
    from seqio_tasks import vocab
    from xlit_jax.commands import wiring

    vocabulary = output_dir / "vocab" / "spm.model"
    tick = time.perf_counter()
    wiring.register(str(vocabulary))   # tasks take the vocabulary path now; the file is made below
    data = resolve_data(settings.data)
    if data not in ("demo", "real"):
        raise ValueError(f"--data must be auto, demo or real, got {settings.data!r}")
    arms = settings.arms or DEFAULT_ARMS[data]
    _log(f"data: {data}; arms: {', '.join(arms)}; {settings.train_steps} steps of {settings.batch_size}; "
         f"output {output_dir}")
    eval_names = heldout_tasks(settings, data)
    mixtures_used = {arm: training_mixture(arm, data) for arm in arms}
    for arm, mixture in list(mixtures_used.items()):
        if arm != "baseline" and mixture is None:
            _log(f"arm {arm}: no training data for it here; skipped")
            del mixtures_used[arm]
    if not vocabulary.is_file():   # kept when OUTPUT_DIR already has one, so a re-run resumes consistently
        vocab_size = settings.vocab_size or (1024 if data == "demo" else 4096)
        patterns = vocabulary_patterns(data, [m for m in mixtures_used.values() if m], eval_names)
        vocab.train_vocabulary(patterns, vocabulary, vocab_size, from_tasks=True,
                               max_examples_per_task=settings.max_vocab_examples)
    pieces = wiring.vocabulary_size(str(vocabulary))
    _log(f"vocabulary {vocabulary}: {pieces} pieces ({time.perf_counter() - tick:.1f} s)")
    return data, mixtures_used, eval_names, vocabulary, pieces


def run(settings: DemoSettings) -> dict:
    """Runs the whole demo; returns the summary also written to OUTPUT_DIR/summary.json."""
    import gin

    from seqio_tasks import eval_data
    from xlit_jax import evaluator, reports, train_loop
    from xlit_jax.commands import wiring

    timings: dict[str, float] = {}
    started = time.perf_counter()
    output_dir = settings.output_dir.absolute()
    if settings.overwrite and output_dir.exists():
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    wiring.import_configurables()
    data, mixtures_used, eval_names, vocabulary, vocab_pieces = _prepare(settings, output_dir)
    max_eval = settings.max_eval_examples if settings.max_eval_examples is not None else (None if data == "demo" else 32)
    eval_tasks = eval_data.registry_eval_tasks(eval_names, max_examples=max_eval)
    timings["prepare_s"] = time.perf_counter() - started

    runs: list[tuple[str, Path]] = []
    arm_summaries = {}
    lengths = None
    for arm, mixture in mixtures_used.items():
        name = BASELINE if arm == "baseline" else arm
        model_dir = output_dir / "train" / name
        _parse_gin(settings, _arm_bindings(settings, vocabulary, vocab_pieces, model_dir, mixture,
                                           real=data == "real"))
        model_config, seed = _model_config_and_seed()
        lengths = dict(gin.query_parameter("%TASK_FEATURE_LENGTHS"))
        tick = time.perf_counter()
        train_summary = None
        if mixture is None:
            checkpoint = {"params": initial_params(model_config, seed)}
            step = 0
        else:
            _log(f"arm {name}: training on {mixture} for {settings.train_steps} steps")
            train_summary = train_loop.train()
            step = int(train_summary["final_step"])
            checkpoint = {"checkpoint_path": str(model_dir / "export")}
        timings[f"train_{name}_s"] = time.perf_counter() - tick
        tick = time.perf_counter()
        eval_dir = output_dir / "eval" / name
        _log(f"arm {name}: evaluating {len(eval_tasks)} tasks")
        document = evaluator.evaluate(tasks=eval_tasks, model_config=model_config, vocabulary_path=str(vocabulary),
                                      output_dir=str(eval_dir), task_feature_lengths=lengths,
                                      batch_size=settings.eval_batch_size, progress=True, step=step, run_name=name,
                                      **checkpoint)
        timings[f"eval_{name}_s"] = time.perf_counter() - tick
        overall = document["aggregates"].get("all", {}).get("all", {}).get("median")
        _log(f"arm {name}: step {step}; evaluated {len(document['tasks'])} tasks in {timings[f'eval_{name}_s']:.1f} s"
             + (f"; median score {overall:.1f}" if overall is not None else ""))
        runs.append((name, eval_dir))
        arm_summaries[name] = {"mixture": mixture, "step": step, "model_dir": str(model_dir) if mixture else None,
                               "export": checkpoint.get("checkpoint_path"), "eval_dir": str(eval_dir),
                               "final_loss": (train_summary or {}).get("last_loss")}
    gin.clear_config()

    markdown, _ = reports.report([d for _, d in runs], output_dir, [n for n, _ in runs])
    timings["total_s"] = time.perf_counter() - started
    summary = {"data": data, "arms": arm_summaries, "train_steps": settings.train_steps,
               "batch_size": settings.batch_size, "task_feature_lengths": lengths, "vocabulary": str(vocabulary),
               "vocabulary_pieces": vocab_pieces, "eval_tasks": len(eval_tasks), "max_eval_examples": max_eval,
               "report": {"markdown": str(output_dir / "report.md"), "png": str(output_dir / "report.png"),
                          "json": str(output_dir / "report.json")},
               "timings": {k: round(v, 2) for k, v in timings.items()}}
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print()
    print(markdown, end="")
    print()
    _log(f"wrote {output_dir}/report.md, report.png, summary.json in {timings['total_s']:.0f} s")
    return summary


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    try:
        macros = gin_utils.macro_help(BASE_GIN_FILES)
    except gin_utils.GinConfigError as error:
        macros = f"  ({error})"
    parser = argparse.ArgumentParser(prog="xlit demo", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="gin flags: --gin_file F (parsed after runs/demo.gin), --gin.KEY=VALUE; "
                                            "the macros of " + ", ".join(BASE_GIN_FILES) + ":\n" + macros)
    parser.add_argument("--output_dir", default="runs/demo")
    parser.add_argument("--data", choices=("auto", "demo", "real"), default="auto",
                        help="demo: the packaged corpus; real: $XLIT_DATA_DIR's benchmarks; auto: real when present")
    parser.add_argument("--arms", default=None,
                        help=f"comma-separated, from {', '.join(ARMS)} (baseline = no tuning); default "
                             "baseline,bilingual (demo) or baseline,ko,en,bilingual (real; arms without data skipped)")
    parser.add_argument("--train_steps", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--vocab_size", type=int, default=None, help="default 1024 (demo) or 4096 (real)")
    parser.add_argument("--heldout", default=",".join(REAL_HELDOUT),
                        help="real data: comma-separated held-out datasets to evaluate on")
    parser.add_argument("--max_eval_examples", type=int, default=None,
                        help="rows per evaluation task (default: all for demo, 32 for real data)")
    parser.add_argument("--eval_batch_size", type=int, default=32)
    parser.add_argument("--overwrite", action="store_true", help="delete OUTPUT_DIR first (default: resume)")
    return parser


def settings_from_argv(argv: Sequence[str]) -> DemoSettings:
    """DemoSettings from command-line flags (gin flags included)."""
    flags = gin_utils.parse_flags(argv)
    args = _parser().parse_args(flags.rest)
    arms = tuple(a.strip() for a in args.arms.split(",") if a.strip()) if args.arms is not None else None
    unknown = [a for a in arms or () if a not in ARMS]
    if unknown or arms == ():
        raise ValueError(f"--arms: unknown {unknown}; choose from {', '.join(ARMS)}")
    if args.train_steps < 1:
        raise ValueError(f"--train_steps must be at least 1, got {args.train_steps}")
    return DemoSettings(output_dir=Path(args.output_dir), data=args.data, arms=arms, train_steps=args.train_steps,
                        batch_size=args.batch_size, vocab_size=args.vocab_size,
                        heldout=tuple(h for h in args.heldout.split(",") if h),
                        max_eval_examples=args.max_eval_examples, eval_batch_size=args.eval_batch_size,
                        gin_files=tuple(flags.gin_files), gin_bindings=tuple(flags.gin_bindings),
                        overwrite=args.overwrite)


def main(argv: list[str]) -> int:
    """Entry point of `xlit demo`."""
    from xlit_jax.commands import wiring

    try:
        settings = settings_from_argv(argv)
    except (ValueError, gin_utils.GinConfigError) as error:
        return wiring.fail("demo", error, 2)
    try:
        run(settings)
    except gin_utils.GinConfigError as error:
        return wiring.fail("demo", error, 2)
    except (FileNotFoundError, KeyError, ValueError, RuntimeError, TypeError, OSError) as error:
        return wiring.fail("demo", error, 1)
    return 0
