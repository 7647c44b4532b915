"""`xlit demo`: build a vocabulary, train a tiny mT5 from scratch, evaluate it zero-shot, print the table.

    xlit demo [--output_dir runs/demo] [--train_steps 300] [--arms baseline,bilingual]
              [--data auto|demo|real] [--max_eval_examples N] [--gin_file F] [--gin.KEY=VALUE]

Runs on a CPU with no network, right after installation. Steps, all through the real code paths:
1. a sentencepiece vocabulary from the rendered text of the tasks involved (seqio_tasks.vocab);
2. per training arm, `xlit_jax.train_loop.train` under gin (models/mt5_tiny.gin, runs/finetune.gin,
   runs/demo.gin) on a seqio mixture, with checkpoints in OUTPUT_DIR/train/{arm};
3. zero-shot evaluation of every arm (and of the untrained initial parameters, "no_tuning") with
   `xlit_jax.evaluator.evaluate` on held-out tasks in both languages, under native, cross-lingual
   and translated templates: OUTPUT_DIR/eval/{arm}/results.json;
4. the paper-style table and chart (`xlit_jax.reports`): OUTPUT_DIR/report.{md,json,png}.

--data demo uses the corpus packaged in seqio_tasks/demo (bilingual sentiment, paraphrase and
yes/no QA for training; NLI and COPA held out). --data real uses $XLIT_DATA_DIR's benchmarks: the
registry's korani_train / p3_t0_train / bilingual_train mixtures (the tasks whose data is there)
and real held-out datasets (--heldout), with at most --max_eval_examples rows per task.
--data auto (default) is real when $XLIT_DATA_DIR holds Korean training data, else demo.
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
ARMS = ("baseline", "en", "ko", "bilingual", "en_pinch", "ko_pinch")
BASE_GIN_FILES = ("models/mt5_tiny.gin", "runs/finetune.gin", "runs/demo.gin")
REAL_HELDOUT = ("kornli", "kobest_copa", "super_glue_rte", "super_glue_copa")
REAL_MIXTURES = {"en": "p3_t0_train", "ko": "korani_train", "bilingual": "bilingual_train"}
DEFAULT_ARMS = {"demo": ("baseline", "bilingual"), "real": ("baseline", "ko", "en", "bilingual")}
REAL_FEATURE_LENGTHS = {"inputs": 256, "targets": 16}
PINCH_SIZE = 8
CONFIGURABLE_MODULES = ("xlit_jax.models.mt5", "xlit_jax.partitioning", "xlit_jax.optimizers", "xlit_jax.trainer",
                        "xlit_jax.data.cached", "xlit_jax.data.seqio_input", "xlit_jax.train_loop",
                        "xlit_jax.evaluator", "seqio_tasks.paths", "seqio_tasks.vocab")


@dataclasses.dataclass
class DemoSettings:
    """What `xlit demo` runs: where, which data and arms, how long, evaluated how."""

    output_dir: Path
    data: str = "auto"
    arms: tuple[str, ...] | None = None    # None: baseline,bilingual (demo) or baseline,ko,en,bilingual (real)
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


def trained_params(model_config: Any, model_dir: Path) -> tuple[Any, int]:
    """Parameters and step of the newest checkpoint in MODEL_DIR."""
    from xlit_jax.checkpointing import TrainingCheckpointer
    from xlit_jax.trainer import Trainer

    checkpointer = TrainingCheckpointer(model_dir, keep=None, async_save=False)
    try:
        restored = checkpointer.restore_latest(Trainer(model_config).abstract_state())
    finally:
        checkpointer.close()
    if restored is None:
        raise RuntimeError(f"no checkpoint in {model_dir}/checkpoints after training")
    state, _ = restored
    return state.params, int(state.step)


def export_checkpoint(params: Any, model_config: Any, vocabulary: Path, path: Path) -> Path:
    """An xlit checkpoint with its spiece.model, for `xlit eval --gin.CHECKPOINT_PATH=...`."""
    from xlit_jax.checkpoints import save_xlit

    if path.exists():
        shutil.rmtree(path)
    save_xlit(params, model_config, path)
    shutil.copyfile(vocabulary, path / "spiece.model")
    return path


# --------------------------------------------------------------------------- run


def run(settings: DemoSettings) -> dict:
    """Runs the whole demo; returns the summary also written to OUTPUT_DIR/summary.json."""
    import gin

    from xlit_jax import evaluator, reports

    timings: dict[str, float] = {}
    started = time.perf_counter()
    output_dir = settings.output_dir.absolute()
    if settings.overwrite and output_dir.exists():
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    import importlib

    for module in CONFIGURABLE_MODULES:
        importlib.import_module(module)

    from seqio_tasks import demo, vocab

    demo.register_demo()
    data = resolve_data(settings.data)
    if data not in ("demo", "real"):
        raise ValueError(f"--data must be auto, demo or real, got {settings.data!r}")
    max_eval = settings.max_eval_examples if settings.max_eval_examples is not None else (None if data == "demo" else 32)
    arms = settings.arms or DEFAULT_ARMS[data]
    _log(f"data: {data}; arms: {', '.join(arms)}; {settings.train_steps} steps of {settings.batch_size}; "
         f"output {output_dir}")

    # 1. vocabulary (kept when OUTPUT_DIR already has one, so a re-run resumes consistently)
    tick = time.perf_counter()
    eval_tasks = heldout_tasks(settings, data)
    vocabulary = output_dir / "vocab" / "spm.model"
    provisional = vocab.get_vocabulary(str(vocabulary))   # tasks need a vocabulary object to register
    if data == "demo":
        demo.register_all(provisional)
    else:
        _register_real(provisional)
    mixtures_used = {arm: training_mixture(arm, data) for arm in arms}
    for arm, mixture in list(mixtures_used.items()):
        if arm != "baseline" and mixture is None:
            _log(f"arm {arm}: no training data for it here; skipped")
            del mixtures_used[arm]
    if not vocabulary.is_file():
        vocab_size = settings.vocab_size or (1024 if data == "demo" else 4096)
        patterns = vocabulary_patterns(data, [m for m in mixtures_used.values() if m], eval_tasks)
        vocab.train_vocabulary(patterns, vocabulary, vocab_size, from_tasks=True,
                               max_examples_per_task=settings.max_vocab_examples)
    import sentencepiece as spm

    vocab_pieces = spm.SentencePieceProcessor(model_file=str(vocabulary)).get_piece_size()
    timings["vocabulary_s"] = time.perf_counter() - tick
    _log(f"vocabulary {vocabulary}: {vocab_pieces} pieces ({timings['vocabulary_s']:.1f} s)")

    # 2. training arms, 3. evaluation
    from xlit_jax import train_loop

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
        if mixture is None:
            params, step = initial_params(model_config, seed), 0
            train_summary = None
        else:
            _log(f"arm {name}: training on {mixture} for {settings.train_steps} steps")
            train_summary = train_loop.train()
            params, step = trained_params(model_config, model_dir)
            export_checkpoint(params, model_config, vocabulary, output_dir / "export" / name)
        timings[f"train_{name}_s"] = time.perf_counter() - tick
        tick = time.perf_counter()
        eval_dir = output_dir / "eval" / name
        document = evaluator.evaluate(eval_tasks, params=params, model_config=model_config,
                                      vocabulary_path=str(vocabulary), output_dir=str(eval_dir),
                                      task_feature_lengths=lengths, max_examples=max_eval,
                                      batch_size=settings.eval_batch_size, progress=False, step=step, run_name=name)
        timings[f"eval_{name}_s"] = time.perf_counter() - tick
        overall = document["aggregates"].get("all", {}).get("all", {}).get("median")
        _log(f"arm {name}: step {step}; evaluated {len(document['tasks'])} tasks in {timings[f'eval_{name}_s']:.1f} s"
             + (f"; median score {overall:.1f}" if overall is not None else ""))
        runs.append((name, eval_dir))
        arm_summaries[name] = {"mixture": mixture, "step": step, "model_dir": str(model_dir) if mixture else None,
                               "export": str(output_dir / "export" / name) if mixture else None,
                               "eval_dir": str(eval_dir),
                               "final_loss": (train_summary or {}).get("last_loss")}
    gin.clear_config()

    # 4. report
    markdown, table = reports.report([d for _, d in runs], output_dir, [n for n, _ in runs])
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


def _register_real(vocabulary: Any) -> None:
    from seqio_tasks import mixtures

    mixtures.register_all(vocabulary)


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlit demo", description=__doc__.split("\n")[0],
                                     epilog="gin flags: --gin_file F (after runs/demo.gin), --gin.KEY=VALUE")
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
    try:
        settings = settings_from_argv(argv)
    except (ValueError, gin_utils.GinConfigError) as error:
        print(f"xlit demo: {error}", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)   # seqio warns about uncached FunctionDatasets per task
    try:
        run(settings)
    except gin_utils.GinConfigError as error:
        print(f"xlit demo: {error}", file=sys.stderr)
        return 2
    except (FileNotFoundError, KeyError, ValueError, RuntimeError, TypeError) as error:
        print(f"xlit demo: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0
