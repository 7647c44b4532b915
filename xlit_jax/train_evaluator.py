"""Zero-shot evaluation during training: the trainer's `inference_evaluator(params, step)`, scoring
the same sample of eval tasks at every EVAL_PERIOD and writing MODEL_DIR/inference_eval/step_N/."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import gin

from xlit_jax import aggregation, multihost
from xlit_jax.eval_results import results_document, write_results
from xlit_jax.eval_tasks import EvalTask
from xlit_jax.evaluator import TaskLoader, choose_vocabulary, load_tasks, run_tasks
from xlit_jax.tokenizer import Tokenizer, check_vocabulary_fits

INFERENCE_EVAL_SUBDIR = "inference_eval"


def step_run_name(base: str, step: int) -> str:
    """The results.json run name of one evaluation during training: '{run}@{step}'."""
    return f"{base}@{int(step)}"


@gin.configurable(module="xlit")
def make_train_evaluator(
    mixture_or_tasks: str | Sequence[str] | Sequence[EvalTask] = gin.REQUIRED,
    vocabulary_path: str | None = None,
    max_examples: int | None = 64,
    *,
    task_loader: TaskLoader | None = None,
    fallback_vocabulary_path: str | None = None,
    model_config: Any = None,
    model_dir: str | None = None,
    output_dir: str | None = None,
    batch_size: int = 16,
    task_feature_lengths: Mapping[str, int] | None = None,
    length_normalize: bool = False,
    decoding_method: str = "greedy",
    split: str | None = None,
    prefix: str = "eval",
    include_tasks: bool = False,
) -> Callable[[Any, int], dict[str, float]]:
    """The trainer's `inference_evaluator(params, step) -> {name: value}` over tasks or mixtures.

    Values are aggregates (eval/all/mean, eval/{language}/mean, eval/{language}/{setting}/mean,
    eval/all/{setting}/mean, eval/cluster/{c}/median, eval/dataset/{d}/median, ...) and, with
    include_tasks, eval/task/{name}. Tasks (names through `task_loader`, or EvalTasks) are read now,
    so a bad name fails before training starts. Each call writes {output_dir}/step_{step}/ (output_dir
    None: MODEL_DIR/inference_eval; neither: nothing) with the run name '{MODEL_DIR name}@{step}'.
    Vocabulary: vocabulary_path, else MODEL_DIR/spiece.model, else fallback_vocabulary_path.
    """
    from xlit_jax.models.mt5 import MT5Config, Transformer

    items = [mixture_or_tasks] if isinstance(mixture_or_tasks, (str, EvalTask)) else list(mixture_or_tasks)
    if items and all(isinstance(t, EvalTask) for t in items):
        tasks = [EvalTask(t.info, t.examples[:max_examples] if max_examples else t.examples) for t in items]
    else:
        tasks = load_tasks(mixture_or_tasks, task_loader, max_examples=max_examples, split=split)
    if not tasks:
        raise ValueError(f"make_train_evaluator: {mixture_or_tasks!r} gives no tasks to evaluate")
    model_config = model_config or MT5Config()
    if vocabulary_path:
        check_vocabulary_fits(vocabulary_path, model_config.vocab_size)
    if output_dir is None and model_dir is not None:
        output_dir = str(Path(model_dir) / INFERENCE_EVAL_SUBDIR)
    run_base = Path(model_dir or output_dir or "run").absolute().name
    state: dict[str, Any] = {}

    def inference_evaluator(params: Any, step: int) -> dict[str, float]:
        if "tokenizer" not in state:  # MODEL_DIR/spiece.model exists once training has started
            path = choose_vocabulary(vocabulary_path, model_dir, fallback_vocabulary_path)
            check_vocabulary_fits(path, model_config.vocab_size)
            state["tokenizer"] = Tokenizer(path)
            state["model"] = Transformer(model_config)
        results = run_tasks(state["model"], params, tasks, state["tokenizer"], batch_size=batch_size,
                            task_feature_lengths=task_feature_lengths, length_normalize=length_normalize,
                            decoding_method=decoding_method, progress=False)
        run_info = {"name": step_run_name(run_base, step), "step": int(step),
                    "model_dir": str(model_dir) if model_dir else None,
                    "vocabulary_path": state["tokenizer"].path}
        document = results_document(results, run_info)
        if output_dir and multihost.is_primary():
            write_results(Path(output_dir) / f"step_{int(step)}", document, results)
        scores = aggregation.flat_scores(document["aggregates"], prefix=prefix)
        if include_tasks:
            scores.update({f"{prefix}/task/{r.record['name']}": r.record["score"] for r in results})
        return scores

    return inference_evaluator
