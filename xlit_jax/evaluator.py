"""Zero-shot evaluation: rank classification for tasks with options, generation plus metrics for
the rest; one score per (dataset, template), aggregated, written as results.json and
per-example predictions (predictions/{task}.jsonl, see xlit_jax.eval_results).

The evaluator knows no task registry: it scores in-memory `EvalTask`s, given directly or
returned by a `task_loader(names, max_examples=None, split=None)` that the caller passes in
(the shipped gin files bind seqio_tasks' `xlit.registry_eval_tasks`). It needs no TensorFlow.
"""
from __future__ import annotations

import datetime
import logging
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import gin
import numpy as np

from xlit_jax import batching
from xlit_jax import metrics as metrics_lib
from xlit_jax import multihost
from xlit_jax.eval_results import TaskResult, results_document, write_results
from xlit_jax.eval_tasks import EvalTask
from xlit_jax.metrics import language as language_lib
from xlit_jax.tokenizer import Tokenizer, check_vocabulary_fits

log = logging.getLogger(__name__)

DEFAULT_FEATURE_LENGTHS = {"inputs": 1024, "targets": 256}
SCRIPT_LANGUAGE = {"hangul": "ko", "latin": "en", "han": "zh", "kana": "ja", "cyrillic": "ru", "thai": "th",
                   "tamil": "ta", "arabic": "ar", "devanagari": "hi"}

TaskLoader = Callable[..., Sequence[EvalTask]]


# ------------------------------------------------------------------------ inputs


def load_tasks(names: str | Sequence[str], task_loader: TaskLoader | None, *, max_examples: int | None = None,
               split: str | None = None) -> list[EvalTask]:
    """EvalTasks of task/mixture names or regexes through `task_loader`; errors say what to configure."""
    if task_loader is None:
        raise ValueError(f"no task_loader to resolve {names!r}: pass EvalTasks, or bind "
                         "xlit.evaluate.task_loader = @xlit.registry_eval_tasks (as eval/zero_shot.gin does)")
    tasks = list(task_loader(names, max_examples=max_examples, split=split))
    if not all(isinstance(t, EvalTask) for t in tasks):
        raise TypeError(f"task_loader {task_loader!r} must return EvalTasks, got "
                        f"{sorted({type(t).__name__ for t in tasks})}")
    return tasks


def choose_vocabulary(vocabulary_path: str | os.PathLike | None = None,
                      checkpoint_path: str | os.PathLike | None = None,
                      fallback_vocabulary_path: str | os.PathLike | None = None) -> str:
    """The vocabulary to use: the explicit one, else the checkpoint's own spiece.model (for
    MODEL_DIR/checkpoints/N also MODEL_DIR's), else the fallback; ValueError when there is none."""
    if vocabulary_path:
        return str(vocabulary_path)
    if checkpoint_path:
        from xlit_jax.checkpoints import checkpoint_vocabulary

        own = checkpoint_vocabulary(checkpoint_path)
        if own is not None:
            return str(own)
    if fallback_vocabulary_path:
        return str(fallback_vocabulary_path)
    where = f" and {checkpoint_path} has no spiece.model" if checkpoint_path else ""
    raise ValueError(f"no vocabulary: none given{where}; set VOCABULARY_PATH (gin), or bind fallback_vocabulary_path "
                     "= @xlit.vocabulary_path() as eval/zero_shot.gin does and set $XLIT_VOCAB")


def load_model(checkpoint_path: str | None = None, params: Any = None, model_config: Any = None):
    """(model, params, config) from a checkpoint in any format (checked against model_config when given),
    or from given params and their MT5Config."""
    from xlit_jax.models.mt5 import MT5Config, Transformer

    if params is None:
        if checkpoint_path is None:
            raise ValueError("evaluate: give checkpoint_path or params (with model_config)")
        from xlit_jax.checkpoints import load_params

        params, model_config = load_params(checkpoint_path, model_config)
    if model_config is None:
        model_config = MT5Config()
    return Transformer(model_config), params, model_config


# ---------------------------------------------------------------------------- scoring


def expected_output_language(targets: Sequence[str], default: str) -> str:
    """The language the outputs should be in: the dominant script of the gold targets (the default
    language when it is written in that script; a script without a language here gives a tag such
    as 'und-Grek'), else default."""
    counts: dict[str, int] = {}
    for target in targets:
        for script, n in language_lib.script_counts(target).items():
            counts[script] = counts.get(script, 0) + n
    if not counts:
        return default
    script = max(counts, key=counts.get)
    try:
        if script in language_lib.expected_scripts(default):
            return default
    except ValueError:
        pass
    if script in SCRIPT_LANGUAGE:
        return SCRIPT_LANGUAGE[script]
    codes = [code for code, scripts in language_lib.SCRIPT_CODES.items() if scripts == {script}]
    return f"und-{codes[0].title()}" if codes else default


def _rank_task_result(task: EvalTask, results: Sequence[Any]) -> TaskResult:
    """A rank task's record and predictions from its examples' RankResults (in example order)."""
    examples = task.examples
    gold, chosen, rows = [], [], []
    for example, result in zip(examples, results):
        choice = int(result.choice)
        answer = example.get("answer_index")
        if answer is None:
            stripped = [o.strip() for o in example["options"]]
            if example["targets"].strip() not in stripped:
                raise ValueError(f"task {task.name}, example idx={example['idx']}: no answer_index and the target "
                                 f"{example['targets']!r} is not among the options {example['options']!r}")
            answer = stripped.index(example["targets"].strip())
        gold.append(int(answer))
        chosen.append(choice)
        rows.append({"idx": example["idx"], "inputs": example["inputs"], "targets": example["targets"],
                     "prediction": example["options"][choice], "options": list(example["options"]),
                     "scores": [float(s) for s in np.asarray(result.scores).tolist()], "correct": choice == answer})
    values = {"accuracy": metrics_lib.compute_metric("accuracy", gold, chosen),
              "macro_f1": metrics_lib.classification.macro_f1(gold, chosen)}
    language = task.info["data_language"]
    for name in task.info["metrics"]:
        if name not in values:
            values[name] = metrics_lib.compute_metric(
                name, [e["targets"] for e in examples], [r["prediction"] for r in rows], language)
    return TaskResult(record=_record(task, values), predictions=rows)


def _generation_task_result(task: EvalTask, predictions: Sequence[str]) -> TaskResult:
    """A generation task's record (its metrics plus language correctness) and predictions."""
    examples = task.examples
    targets = [e["targets"] for e in examples]
    # the language the outputs should be written in: the task's own `output_language` when its info
    # carries one, else the script of the gold targets (a translation task's target side)
    language = task.info.get("output_language") or expected_output_language(targets, task.info["data_language"])
    values = {name: metrics_lib.compute_metric(name, targets, predictions, language)
              for name in task.info["metrics"]}
    # language correctness, beside the task's own metrics (xlit_jax.metrics.language)
    values.setdefault("language_rate", metrics_lib.language.language_rate(predictions, language, targets=targets))
    values.setdefault("script_ratio", metrics_lib.language.mean_script_ratio(predictions, language, targets))
    rows = [{"idx": e["idx"], "inputs": e["inputs"], "targets": e["targets"], "prediction": p,
             "options": e.get("options"), "scores": None, "correct": p.strip() == e["targets"].strip()}
            for e, p in zip(examples, predictions)]
    record = _record(task, values)
    record["output_language"] = language
    return TaskResult(record=record, predictions=rows)


def _pooled(tasks: Sequence[EvalTask], encode: Callable[[dict], Any]) -> tuple[list[Any], list[slice]]:
    """Every example of every task encoded into one list, and each task's slice of it."""
    rows: list[Any] = []
    spans = []
    for task in tasks:
        start = len(rows)
        rows.extend(encode(e) for e in task.examples)
        spans.append(slice(start, len(rows)))
    return rows, spans


def _record(task: EvalTask, values: Mapping[str, float]) -> dict:
    primary = task.info["metrics"][0]
    record = dict(task.info)
    record.update(metrics={k: float(v) for k, v in values.items()}, primary_metric=primary,
                  score=float(values[primary]), num_examples=len(task.examples))
    return record


# ----------------------------------------------------------------------------- runner


def run_tasks(model: Any, params: Any, tasks: Sequence[EvalTask], tokenizer: Tokenizer, *,
              batch_size: int = 16, task_feature_lengths: Mapping[str, int] | None = None,
              length_normalize: bool = False, decoding_method: str = "greedy",
              decoding_kwargs: Mapping[str, Any] | None = None, progress: bool = True,
              rank_classify_fn: Callable | None = None, generate_fn: Callable | None = None,
              padding: batching.Padding | None = None) -> list[TaskResult]:
    """Scores each task: rank classification when it has options, else generation and its metrics.

    The examples of all rank tasks are scored together, and those of all generation tasks decoded
    together, so batches fill across tasks (a suite of many small tasks wastes no rows); results
    come back per task, in the order given. Batches are padded to shape buckets (`padding`, default
    `batching.DEFAULT_BUCKETS`) so the number of XLA compilations stays bounded over any number of tasks.
    """
    lengths = dict(DEFAULT_FEATURE_LENGTHS, **(task_feature_lengths or {}))
    if rank_classify_fn is None and any(t.info["scoring"] == "rank" for t in tasks):
        from xlit_jax.scoring import rank_classify as rank_classify_fn

    def rank(inputs, options, progress_fn):
        return rank_classify_fn(model, params, inputs, options, batch_size=batch_size, length_normalize=length_normalize,
                                max_input_length=lengths["inputs"], padding=padding, progress=progress_fn)

    from tqdm.auto import tqdm

    for task in tasks:
        if not task.examples:
            raise ValueError(f"task {task.name} has no examples")
    rank_order = [i for i, t in enumerate(tasks) if t.info["scoring"] == "rank"]
    generation_order = [i for i, t in enumerate(tasks) if t.info["scoring"] != "rank"]
    rank_tasks, generation_tasks = [tasks[i] for i in rank_order], [tasks[i] for i in generation_order]
    by_task: dict[int, TaskResult] = {}
    bar = tqdm(total=sum(len(t.examples) for t in tasks), unit="ex", disable=not progress, desc="eval")
    try:
        if rank_tasks:  # every rank task's examples in one call: batches fill across tasks
            bar.set_postfix_str(f"{len(rank_tasks)} rank tasks", refresh=False)
            encoded, spans = _pooled(rank_tasks, lambda e: (
                tokenizer.encode(e["inputs"], lengths["inputs"]),
                [tokenizer.encode(o, lengths["targets"]) for o in e["options"]]))
            scored = list(rank([x for x, _ in encoded], [o for _, o in encoded], bar.update))
            for i, span in zip(rank_order, spans):
                by_task[i] = _rank_task_result(tasks[i], scored[span])
        if generation_tasks:
            from xlit_jax.decoding import generate_batched

            bar.set_postfix_str(f"{len(generation_tasks)} generation tasks", refresh=False)
            inputs, spans = _pooled(generation_tasks, lambda e: tokenizer.encode(e["inputs"], lengths["inputs"]))
            outputs = generate_batched(model, params, inputs, batch_size=batch_size, padding=padding,
                                       progress=bar.update, generate_fn=generate_fn, method=decoding_method,
                                       max_decode_length=lengths["targets"], **dict(decoding_kwargs or {}))
            predictions = [tokenizer.decode(tokens) for tokens in outputs]
            for i, span in zip(generation_order, spans):
                by_task[i] = _generation_task_result(tasks[i], predictions[span])
    finally:
        bar.close()
    results = [by_task[i] for i in range(len(tasks))]
    for task, result in zip(tasks, results):
        log.info("%s: %s", task.name, {k: round(v, 2) for k, v in result.record["metrics"].items()})
    return results


@gin.configurable(module="xlit")
def evaluate(
    mixture_or_task_name: str | Sequence[str] | None = None,
    *,
    tasks: Sequence[EvalTask] | None = None,
    task_loader: TaskLoader | None = None,
    fallback_vocabulary_path: str | None = None,
    checkpoint_path: str | None = None,
    params: Any = None,
    model_config: Any = None,
    vocabulary_path: str | None = None,
    output_dir: str | None = None,
    task_feature_lengths: Mapping[str, int] | None = None,
    max_examples: int | None = None,
    split: str | None = None,
    batch_size: int = 16,
    length_normalize: bool = False,
    decoding_method: str = "greedy",
    decoding_kwargs: Mapping[str, Any] | None = None,
    progress: bool = True,
    step: int | None = None,
    run_name: str | None = None,
    rank_classify_fn: Callable | None = None,
    generate_fn: Callable | None = None,
    padding: batching.Padding | None = None,
) -> dict:
    """Evaluates a model on in-memory EvalTasks, or on names/regexes/mixtures read by `task_loader`.

    The model is `params` + `model_config`, or `checkpoint_path` (any format load_params reads; a
    given model_config must match it). Vocabulary: vocabulary_path, else the checkpoint's spiece.model,
    else fallback_vocabulary_path. Returns the results.json document; with output_dir, also writes it
    and the predictions. rank_classify_fn / generate_fn replace xlit_jax.scoring.rank_classify /
    decoding.generate (same signatures) when given; `padding` sets the shape buckets (default
    batching.DEFAULT_BUCKETS; batching.PowerOfTwo() is the earlier per-batch padding).
    """
    vocabulary_path = choose_vocabulary(vocabulary_path, checkpoint_path, fallback_vocabulary_path)
    if model_config is not None:  # before reading tasks or weights
        check_vocabulary_fits(vocabulary_path, model_config.vocab_size)
    if tasks is None:
        if mixture_or_task_name is None:
            raise ValueError("evaluate: give mixture_or_task_name or tasks")
        tasks = load_tasks(mixture_or_task_name, task_loader, max_examples=max_examples, split=split)
    elif max_examples is not None:
        tasks = [EvalTask(t.info, t.examples[:max_examples]) for t in tasks]
    if not tasks:
        raise ValueError("evaluate: no tasks to evaluate")
    model, params, model_config = load_model(checkpoint_path, params, model_config)
    check_vocabulary_fits(vocabulary_path, model_config.vocab_size)
    tokenizer = Tokenizer(vocabulary_path)
    results = run_tasks(model, params, tasks, tokenizer, batch_size=batch_size,
                        task_feature_lengths=task_feature_lengths, length_normalize=length_normalize,
                        decoding_method=decoding_method, decoding_kwargs=decoding_kwargs, progress=progress,
                        rank_classify_fn=rank_classify_fn, generate_fn=generate_fn, padding=padding)
    run_info = {
        "name": run_name or (Path(output_dir).name if output_dir else None),
        "checkpoint_path": str(checkpoint_path) if checkpoint_path else None, "step": step,
        "output_dir": str(output_dir) if output_dir else None, "vocabulary_path": str(vocabulary_path),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "settings": {"batch_size": batch_size, "task_feature_lengths": dict(DEFAULT_FEATURE_LENGTHS,
                                                                           **(task_feature_lengths or {})),
                     "max_examples": max_examples, "split": split, "length_normalize": length_normalize,
                     "decoding_method": decoding_method},
    }
    document = results_document(results, run_info)
    if output_dir and multihost.is_primary():
        path = write_results(output_dir, document, results)
        log.info("wrote %s", path)
    return document
