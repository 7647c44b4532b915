"""Zero-shot evaluation: rank classification for tasks with options, generation plus metrics for
the rest; one score per (dataset, template), aggregated, written as results.json and
per-example predictions (predictions/{task}.jsonl).

Tasks come from the registry by name, regex or mixture (`load_registry_tasks`), or in
memory as `EvalTask(info, examples)`, so the evaluator needs no TensorFlow or seqio.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import gin
import numpy as np

from xlit_jax import aggregation
from xlit_jax import metrics as metrics_lib
from xlit_jax.metrics import language as language_lib
from xlit_jax.eval_tasks import REQUIRED_INFO, EvalTask, info_dict  # noqa: F401

log = logging.getLogger(__name__)

RESULTS_FORMAT = "xlit.eval_results/1"
RESULTS_FILE = "results.json"
PREDICTIONS_DIR = "predictions"
PAD_ID, EOS_ID = 0, 1
DEFAULT_FEATURE_LENGTHS = {"inputs": 1024, "targets": 256}
RANK_METRICS = ("accuracy", "macro_f1")
SCRIPT_LANGUAGE = {"hangul": "ko", "latin": "en", "han": "zh", "kana": "ja", "cyrillic": "ru", "thai": "th",
                   "tamil": "ta", "arabic": "ar", "devanagari": "hi"}


# ------------------------------------------------------------------------------ tasks


def _registry():
    """seqio_tasks' TF-free modules, imported lazily (they may register gin configurables, hence the unlock)."""
    try:
        with gin.unlock_config():
            from seqio_tasks import eval_data, task_specs, vocab  # noqa: F401
    except ImportError as error:
        raise ImportError(f"the task registry (seqio_tasks) is not importable ({error}); run from the repository "
                          "root or reinstall the package, or pass in-memory EvalTasks") from error
    return eval_data, task_specs


def resolve_task_names(mixture_or_task_names: str | Sequence[str]) -> list[str]:
    """Task names from exact task names, mixture names (their tasks with data) or regexes over eval tasks."""
    eval_data, task_specs = _registry()

    names = [mixture_or_task_names] if isinstance(mixture_or_task_names, str) else list(mixture_or_task_names)
    out: list[str] = []
    definitions = None
    for name in names:
        try:
            task_specs.get_spec(name)
            out.append(name)
            continue
        except (KeyError, ValueError):
            pass
        try:
            matched = eval_data.eval_task_names(f"^(?:{name})$", with_data=True)
        except re.error as error:
            matched, regex_error = [], error
        else:
            regex_error = None
        if matched:
            out += matched
            continue
        if definitions is None:  # mixtures live in a seqio module: imported only when needed
            with gin.unlock_config():
                from seqio_tasks import mixtures

            definitions = mixtures.mixture_definitions()
        if name in definitions:
            present = [t for t in definitions[name] if task_specs.has_data(task_specs.get_spec(t))]
            if not present:
                raise FileNotFoundError(f"mixture {name}: none of its {len(definitions[name])} tasks has data here "
                                        "(set XLIT_DATA_DIR)")
            out += present
            continue
        if regex_error is not None:
            raise ValueError(f"{name!r} is neither a task, a mixture nor a valid regex: {regex_error}")
        raise KeyError(f"{name!r} matches no evaluation task with data and no mixture")
    return list(dict.fromkeys(out))


def load_registry_tasks(mixture_or_task_names: str | Sequence[str], max_examples: int | None = None,
                        split: str | None = None) -> list[EvalTask]:
    """EvalTasks of registered tasks/mixtures/regexes, read TF-free through seqio_tasks.eval_data."""
    eval_data, _ = _registry()
    tasks = []
    for name in resolve_task_names(mixture_or_task_names):
        examples = eval_data.load_eval_examples(name, split=split, max_examples=max_examples)
        tasks.append(EvalTask(info=eval_data.task_info(name), examples=examples))
    return tasks


# -------------------------------------------------------------------------- tokenizer


class Tokenizer:
    """A sentencepiece model (T5 ids: pad 0, eos 1) read from a local file, without TensorFlow."""

    def __init__(self, path: str | os.PathLike):
        import sentencepiece as spm

        path = str(path)
        if "://" in path:
            raise ValueError(f"vocabulary {path}: remote paths need TensorFlow's gfile; copy the "
                             "sentencepiece model to a local file and pass that path")
        if not Path(path).is_file():
            raise FileNotFoundError(f"vocabulary file {path} not found")
        self.path = path
        self.processor = spm.SentencePieceProcessor(model_file=path)

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, text: str, max_length: int | None = None) -> list[int]:
        """Token ids with EOS appended after truncating to max_length - 1 (EOS is always kept)."""
        ids = list(self.processor.encode(text))
        if max_length is not None:
            ids = ids[: max(max_length - 1, 0)]
        return ids + [EOS_ID]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ids up to the first EOS, pads dropped."""
        out = []
        for token in ids:
            token = int(token)
            if token == EOS_ID:
                break
            if token != PAD_ID:
                out.append(token)
        return self.processor.decode(out)


def default_vocabulary_path(checkpoint_path: str | None = None) -> str:
    """A checkpoint's own spiece.model when it has one, else seqio_tasks' vocabulary setting."""
    if checkpoint_path:
        for name in ("spiece.model", "sentencepiece.model", "vocab.model"):
            candidate = Path(checkpoint_path) / name
            if candidate.is_file():
                return str(candidate)
    _registry()
    from seqio_tasks.vocab import vocabulary_path

    return vocabulary_path()


# ---------------------------------------------------------------------------- scoring


@dataclasses.dataclass
class TaskResult:
    """The scored task: its results.json record and one prediction row per example."""

    record: dict
    predictions: list[dict]


def expected_output_language(targets: Sequence[str], default: str) -> str:
    """The language the outputs should be in: the dominant script of the gold targets, else default."""
    counts: dict[str, int] = {}
    for target in targets:
        for script, n in language_lib.script_counts(target).items():
            counts[script] = counts.get(script, 0) + n
    if not counts:
        return default
    script = max(counts, key=counts.get)
    if script in language_lib.LANGUAGE_SCRIPTS.get(default, ()):
        return default
    return SCRIPT_LANGUAGE.get(script, default)


def _chunks(n: int, size: int) -> Iterable[range]:
    for start in range(0, n, size):
        yield range(start, min(start + size, n))


def _score_rank_task(task: EvalTask, tokenizer: Tokenizer, run: Callable, lengths: Mapping[str, int],
                     batch_size: int, progress: Any) -> TaskResult:
    examples = task.examples
    inputs = [tokenizer.encode(e["inputs"], lengths["inputs"]) for e in examples]
    options = [[tokenizer.encode(o, lengths["targets"]) for o in e["options"]] for e in examples]
    results = []
    for chunk in _chunks(len(examples), batch_size * 8):
        results += list(run([inputs[i] for i in chunk], [options[i] for i in chunk]))
        if progress is not None:
            progress.update(len(chunk))
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


def _pad_batch(token_lists: list[list[int]], batch_size: int, max_length: int) -> np.ndarray:
    """[batch_size, L] int32, L the longest row rounded up to a power of two (fewer recompiles), at most max_length."""
    longest = max(len(t) for t in token_lists)
    length = min(max_length, 1 << max(longest - 1, 1).bit_length())
    out = np.zeros((batch_size, max(length, longest)), np.int32)
    for row, tokens in enumerate(token_lists):
        out[row, : len(tokens)] = tokens
    for row in range(len(token_lists), batch_size):  # filler rows repeat the first row; dropped after
        out[row] = out[0]
    return out


def _score_generation_task(task: EvalTask, tokenizer: Tokenizer, run: Callable, lengths: Mapping[str, int],
                           batch_size: int, progress: Any) -> TaskResult:
    examples = task.examples
    inputs = [tokenizer.encode(e["inputs"], lengths["inputs"]) for e in examples]
    predictions: list[str] = []
    for chunk in _chunks(len(examples), batch_size):
        batch = _pad_batch([inputs[i] for i in chunk], batch_size, lengths["inputs"])
        tokens = np.asarray(run(batch))
        predictions += [tokenizer.decode(tokens[row]) for row in range(len(chunk))]
        if progress is not None:
            progress.update(len(chunk))
    targets = [e["targets"] for e in examples]
    language = expected_output_language(targets, task.info["data_language"])
    values = {name: metrics_lib.compute_metric(name, targets, predictions, language)
              for name in task.info["metrics"]}
    values.setdefault("language_rate", metrics_lib.language.language_rate(predictions, language))
    rows = [{"idx": e["idx"], "inputs": e["inputs"], "targets": e["targets"], "prediction": p,
             "options": e.get("options"), "scores": None, "correct": p.strip() == e["targets"].strip()}
            for e, p in zip(examples, predictions)]
    record = _record(task, values)
    record["output_language"] = language
    return TaskResult(record=record, predictions=rows)


def _record(task: EvalTask, values: Mapping[str, float]) -> dict:
    primary = task.info["metrics"][0]
    record = dict(task.info)
    record.update(metrics={k: float(v) for k, v in values.items()}, primary_metric=primary,
                  score=float(values[primary]), num_examples=len(task.examples))
    return record


# ----------------------------------------------------------------------------- runner


def load_model(checkpoint_path: str | None = None, params: Any = None, model_config: Any = None):
    """(model, params) from a checkpoint in any format, or from given params and MT5Config."""
    from xlit_jax.models.mt5 import MT5Config, Transformer

    if params is None:
        if checkpoint_path is None:
            raise ValueError("evaluate: give checkpoint_path or params (with model_config)")
        from xlit_jax.checkpoints import load_params

        params, loaded_config = load_params(checkpoint_path)
        model_config = model_config or loaded_config
    if model_config is None:
        model_config = MT5Config()
    return Transformer(model_config), params


def run_tasks(model: Any, params: Any, tasks: Sequence[EvalTask], tokenizer: Tokenizer, *,
              batch_size: int = 16, task_feature_lengths: Mapping[str, int] | None = None,
              length_normalize: bool = False, decoding_method: str = "greedy",
              decoding_kwargs: Mapping[str, Any] | None = None, progress: bool = True,
              rank_classify_fn: Callable | None = None, generate_fn: Callable | None = None) -> list[TaskResult]:
    """Scores each task: rank classification when it has options, else generation and its metrics."""
    lengths = dict(DEFAULT_FEATURE_LENGTHS, **(task_feature_lengths or {}))
    if rank_classify_fn is None and any(t.info["scoring"] == "rank" for t in tasks):
        from xlit_jax.scoring import rank_classify as rank_classify_fn
    if generate_fn is None and any(t.info["scoring"] == "generation" for t in tasks):
        from xlit_jax.decoding import generate as generate_fn

    def rank(inputs, options):
        return rank_classify_fn(model, params, inputs, options, batch_size=batch_size, length_normalize=length_normalize)

    def generate(encoder_input_tokens):
        return generate_fn(model, params, encoder_input_tokens, method=decoding_method,
                           max_decode_length=lengths["targets"], **dict(decoding_kwargs or {}))

    from tqdm.auto import tqdm

    bar = tqdm(total=sum(len(t.examples) for t in tasks), unit="ex", disable=not progress, desc="eval")
    results = []
    try:
        for task in tasks:
            bar.set_postfix_str(task.name, refresh=False)
            if not task.examples:
                raise ValueError(f"task {task.name} has no examples")
            score = _score_rank_task if task.info["scoring"] == "rank" else _score_generation_task
            result = score(task, tokenizer, rank if task.info["scoring"] == "rank" else generate, lengths,
                           batch_size, bar)
            log.info("%s: %s", task.name, {k: round(v, 2) for k, v in result.record["metrics"].items()})
            results.append(result)
    finally:
        bar.close()
    return results


def results_document(results: Sequence[TaskResult], run_info: Mapping[str, Any] | None = None) -> dict:
    """The results.json document: run info, one record per task, aggregates over them."""
    records = [r.record for r in results]
    return {
        "format": RESULTS_FORMAT,
        "run": dict(run_info or {}),
        "tasks": {r["name"]: r for r in records},
        "aggregates": aggregation.aggregate(records) if records else {},
    }


def _json_ready(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_results(output_dir: str | os.PathLike, document: Mapping, results: Sequence[TaskResult]) -> Path:
    """Writes results.json and predictions/{task}.jsonl under output_dir; returns results.json's path."""
    output_dir = Path(output_dir)
    (output_dir / PREDICTIONS_DIR).mkdir(parents=True, exist_ok=True)
    for result in results:
        path = output_dir / PREDICTIONS_DIR / f"{result.record['name']}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for row in result.predictions:
                f.write(json.dumps(_json_ready(row), ensure_ascii=False) + "\n")
    path = output_dir / RESULTS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_json_ready(document), indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


@gin.configurable(module="xlit")
def evaluate(
    mixture_or_task_name: str | Sequence[str] | None = None,
    *,
    tasks: Sequence[EvalTask] | None = None,
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
) -> dict:
    """Evaluates a model on tasks (registry names/regexes/mixtures, or in-memory EvalTasks).

    Returns the results.json document; with output_dir, also writes it and the predictions.
    rank_classify_fn / generate_fn replace xlit_jax.scoring.rank_classify / decoding.generate
    (same signatures) when given.
    """
    if tasks is None:
        if mixture_or_task_name is None:
            raise ValueError("evaluate: give mixture_or_task_name or tasks")
        tasks = load_registry_tasks(mixture_or_task_name, max_examples=max_examples, split=split)
    elif max_examples is not None:
        tasks = [EvalTask(t.info, t.examples[:max_examples]) for t in tasks]
    if not tasks:
        raise ValueError("evaluate: no tasks to evaluate")
    model, params = load_model(checkpoint_path, params, model_config)
    vocabulary_path = vocabulary_path or default_vocabulary_path(checkpoint_path)
    tokenizer = Tokenizer(vocabulary_path)
    results = run_tasks(model, params, tasks, tokenizer, batch_size=batch_size,
                        task_feature_lengths=task_feature_lengths, length_normalize=length_normalize,
                        decoding_method=decoding_method, decoding_kwargs=decoding_kwargs, progress=progress,
                        rank_classify_fn=rank_classify_fn, generate_fn=generate_fn)
    run_info = {
        "name": run_name or (Path(output_dir).name if output_dir else None),
        "checkpoint_path": checkpoint_path, "step": step, "output_dir": str(output_dir) if output_dir else None, "vocabulary_path": str(vocabulary_path),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "settings": {"batch_size": batch_size, "task_feature_lengths": dict(DEFAULT_FEATURE_LENGTHS,
                                                                           **(task_feature_lengths or {})),
                     "max_examples": max_examples, "split": split, "length_normalize": length_normalize,
                     "decoding_method": decoding_method},
    }
    document = results_document(results, run_info)
    if output_dir and _is_primary_process():
        path = write_results(output_dir, document, results)
        log.info("wrote %s", path)
    return document


InferenceEvaluator = Callable[[Any, int], dict]


def _is_primary_process() -> bool:
    """Only process 0 writes files when several hosts evaluate together."""
    import jax

    return jax.process_index() == 0


@gin.configurable(module="xlit")
def make_train_evaluator(
    mixture_or_tasks: str | Sequence[str] | Sequence[EvalTask] = gin.REQUIRED,
    vocabulary_path: str | None = None,
    max_examples: int | None = 64,
    *,
    model_config: Any = None,
    batch_size: int = 16,
    task_feature_lengths: Mapping[str, int] | None = None,
    length_normalize: bool = False,
    decoding_method: str = "greedy",
    output_dir: str | None = None,
    split: str | None = None,
    prefix: str = "eval",
    include_tasks: bool = False,
) -> InferenceEvaluator:
    """The trainer's `inference_evaluator(params, step) -> {name: value}` over tasks or mixtures.

    Values are aggregates (eval/all/mean, eval/{language}/mean, eval/{language}/{setting}/mean,
    eval/all/{setting}/mean, eval/cluster/{c}/median, eval/dataset/{d}/median, ...) and, with
    include_tasks, eval/task/{name}. Tasks are read once, on the first call; with output_dir,
    each call writes {output_dir}/step_{step}/results.json and predictions.
    """
    state: dict[str, Any] = {}

    def inference_evaluator(params: Any, step: int) -> dict[str, float]:
        if "tasks" not in state:
            from xlit_jax.models.mt5 import MT5Config, Transformer

            items = [mixture_or_tasks] if isinstance(mixture_or_tasks, (str, EvalTask)) else list(mixture_or_tasks)
            if all(isinstance(t, EvalTask) for t in items):
                state["tasks"] = [EvalTask(t.info, t.examples[:max_examples] if max_examples else t.examples)
                                  for t in items]
            else:
                state["tasks"] = load_registry_tasks(items, max_examples=max_examples, split=split)
            state["tokenizer"] = Tokenizer(vocabulary_path or default_vocabulary_path())
            state["model"] = Transformer(model_config or MT5Config())
        results = run_tasks(state["model"], params, state["tasks"], state["tokenizer"], batch_size=batch_size,
                            task_feature_lengths=task_feature_lengths, length_normalize=length_normalize,
                            decoding_method=decoding_method, progress=False)
        document = results_document(results, {"step": int(step)})
        if output_dir and _is_primary_process():
            write_results(Path(output_dir) / f"step_{int(step)}", document, results)
        scores = aggregation.flat_scores(document["aggregates"], prefix=prefix)
        if include_tasks:
            scores.update({f"{prefix}/task/{r.record['name']}": r.record["score"] for r in results})
        return scores

    return inference_evaluator
