"""The training run: gin-configured `train()` in named phases (see docs/training.md).

  checks           check_settings, check_batching, check_data_and_vocabulary: types, feature
                   lengths, batch divisibility, registered data, vocabulary size. No file is
                   touched and no model built before they pass.
  setup            TrainingRun: MODEL_DIR and its lock, checkpointer, config.json, spiece.model.
  restore-or-init  the newest readable checkpoint, else INITIAL_CHECKPOINT_PATH or random params.
  step loop        one step per batch; after the first, unread gin bindings are an error.
  periodic actions metrics, eval and checkpoint of a step, in that order; SIGTERM stops after saving.
  finish           wait for checkpoints; a completed run writes MODEL_DIR/export/ (an xlit checkpoint).

Fault tolerance in one paragraph: a checkpoint holds the TrainState (step, params, optimizer
state, RNG) and the input position (global batches consumed); batches are a pure function of
(seed, position), so a run restarted from checkpoint k recomputes steps k+1.. exactly as the
uninterrupted run did. Metrics of a step are written before any checkpoint of that step, and a
restarted run drops the records after its checkpoint, so train_metrics.jsonl never has a gap or
a duplicate. SIGTERM: checkpoint at the next step boundary and return. A non-finite loss: stop
with an error naming the step; the bad state is never saved.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import queue
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import gin
import jax
import numpy as np

from xlit_jax import gin_utils, multihost
from xlit_jax.checkpointing import RunLock, TrainingCheckpointer
from xlit_jax.data.features import BatchSource, batch_spec, check_batch, check_task_feature_lengths
from xlit_jax.gin_checks import check_all_bindings_read
from xlit_jax.metrics_writer import MetricsWriter
from xlit_jax.models.mt5 import MT5Config

log = logging.getLogger(__name__)

EXPORT_SUBDIR = "export"  # MODEL_DIR/export: the final params as an xlit checkpoint

InferenceEvaluator = Callable[[Any, int], Mapping[str, float]]


class Prefetcher:
    """Runs a batch iterator in a background thread, `depth` batches ahead, order preserved."""

    _DONE = object()

    def __init__(self, iterator: Iterator[Any], depth: int = 2):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iterator,), daemon=True)
        self._thread.start()

    def _run(self, iterator: Iterator[Any]) -> None:
        try:
            for item in iterator:
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._queue.put(self._DONE)
        except BaseException as err:  # noqa: BLE001 - re-raised in the consumer
            self._queue.put(err)

    def __iter__(self) -> "Prefetcher":
        return self

    def __next__(self) -> Any:
        item = self._queue.get()
        if item is self._DONE:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop the producer thread."""
        self._stop.set()


def _check_types(values: Mapping[str, Any], expected: Mapping[str, tuple[type, ...]], owner: str) -> None:
    """TypeError naming the gin key when a configured value has the wrong type."""
    for name, types in expected.items():
        value = values[name]
        if value is None and type(None) in types:
            continue
        if isinstance(value, bool) and bool not in types:
            ok = False
        else:
            ok = isinstance(value, tuple(t for t in types if t is not type(None)))
        if not ok:
            wanted = " or ".join(t.__name__ for t in types)
            raise TypeError(f"gin {owner}.{name} must be {wanted}, got {type(value).__name__} {value!r}")


def check_model_config(config: Any) -> None:
    """TypeError naming the MT5Config field whose gin value has the wrong type."""
    if not isinstance(config, MT5Config):
        raise TypeError(f"gin xlit.train.model_config (MODEL_CONFIG) must be an MT5Config, got {type(config).__name__}")
    for field in dataclasses.fields(MT5Config):  # field.default: MT5Config() itself would be gin-configured
        default, value = field.default, getattr(config, field.name)
        if isinstance(default, bool):
            types: tuple[type, ...] = (bool,)
        elif isinstance(default, int):
            types = (int,)
        elif isinstance(default, float):
            types = (float, int)
        elif isinstance(default, str):
            types = (str,)
        elif isinstance(default, tuple):
            types = (tuple, list)
        else:
            continue
        _check_types({field.name: value}, {field.name: types}, "MT5Config")


def _host_value(x: Any) -> np.ndarray:
    """A (replicated) global array as numpy on this host."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return np.asarray(x.addressable_data(0))
    return np.asarray(x)


def _load_initial_params(path: str, model_config: MT5Config) -> Any:
    """Params from any format load_params reads, validated against MODEL_CONFIG (errors name the tensor)."""
    from xlit_jax.checkpoints import load_params

    params, _ = load_params(path, model_config)
    return params


def _peak_flops_per_device(given: float | None) -> float | None:
    """Peak FLOP/s of one device: the given value, else from the device kind (None on CPU)."""
    if given:
        return float(given)
    from xlit_jax import flops

    lookup = getattr(flops, "peak_flops_per_device", None)
    if lookup is None:
        return None
    try:
        return lookup(jax.devices()[0])
    except Exception:  # noqa: BLE001 - unknown device kind: no MFU
        return None


@dataclasses.dataclass
class _StepClock:
    """Wall time between metric fetches, for throughput."""

    last: float = dataclasses.field(default_factory=time.perf_counter)

    def lap(self) -> float:
        now = time.perf_counter()
        elapsed, self.last = now - self.last, now
        return elapsed



# ---------------------------------------------------------------------------------------- checks
@dataclasses.dataclass(frozen=True)
class RunSettings:
    """The checked arguments of one `xlit.train` run."""

    model_dir: Path
    train_steps: int
    batch_size: int
    model_config: MT5Config
    train_data: BatchSource
    eval_data: BatchSource | None
    eval_steps: int
    eval_period: int | None
    inference_evaluator: InferenceEvaluator | None
    initial_checkpoint_path: str | None
    vocabulary_path: str | None
    random_seed: int
    checkpoint_period: int
    keep_checkpoints: int | None
    async_checkpointing: bool
    peak_flops_per_device: float | None
    progress_bar: bool
    prefetch_batches: int

    @property
    def lengths(self) -> dict[str, int]:
        """The training data's feature lengths."""
        return dict(self.train_data.task_feature_lengths)


def check_settings(args: Mapping[str, Any]) -> RunSettings:
    """Types, values and feature lengths of train()'s arguments; touches no file and builds no model."""
    _check_types(args, {
        "model_dir": (str, os.PathLike), "train_steps": (int,), "batch_size": (int,), "eval_steps": (int,),
        "eval_period": (int, type(None)), "random_seed": (int,), "dropout_rate": (float, int, type(None)),
        "checkpoint_period": (int,), "keep_checkpoints": (int, type(None)),
        "initial_checkpoint_path": (str, os.PathLike, type(None)), "vocabulary_path": (str, os.PathLike, type(None)),
    }, "xlit.train")
    model_config = args["model_config"]
    check_model_config(model_config)
    if args["train_steps"] < 0 or args["batch_size"] <= 0 or args["checkpoint_period"] <= 0:
        raise ValueError(f"xlit.train: need train_steps >= 0, batch_size > 0, checkpoint_period > 0 "
                         f"(got {args['train_steps']}, {args['batch_size']}, {args['checkpoint_period']})")
    for name in ("train_data", "eval_data"):
        if args[name] is not None:
            check_task_feature_lengths(args[name].task_feature_lengths, f"xlit.train.{name} (TASK_FEATURE_LENGTHS)")
    if args["dropout_rate"] is not None:
        model_config = dataclasses.replace(model_config, dropout_rate=float(args["dropout_rate"]))
    fields = {f.name for f in dataclasses.fields(RunSettings)} - {"model_dir", "model_config", "initial_checkpoint_path",
                                                                   "vocabulary_path"}
    optional_path = lambda value: None if value is None else str(value)  # noqa: E731
    return RunSettings(model_dir=Path(args["model_dir"]).absolute(), model_config=model_config,
                       initial_checkpoint_path=optional_path(args["initial_checkpoint_path"]),
                       vocabulary_path=optional_path(args["vocabulary_path"]), **{k: args[k] for k in fields})


def check_batching(settings: RunSettings, trainer: Any) -> None:
    """The global batch splits evenly over data-parallel devices, microbatches and processes."""
    data_size, micro = trainer.partitioner.data_size, trainer.num_microbatches
    if settings.batch_size % (data_size * micro) or settings.batch_size % multihost.process_count():
        raise ValueError(f"xlit.train.batch_size (BATCH_SIZE) {settings.batch_size} must be divisible by the "
                         f"data-parallel size {data_size} times num_microbatches {micro} (xlit.Trainer."
                         f"num_microbatches) and by the process count {multihost.process_count()}")


def check_data_and_vocabulary(settings: RunSettings) -> None:
    """Data sources' own checks (e.g. the mixture is registered) and the vocabulary fits the model."""
    for source in (settings.train_data, settings.eval_data):
        validate = getattr(source, "validate", None)
        if validate is not None:
            validate()
    path = settings.vocabulary_path
    if path is None or _is_remote(path):
        return
    if not Path(path).is_file():
        raise ValueError(f"xlit.train.vocabulary_path: no vocabulary file {path} (make one offline with "
                         "`xlit vocab --output spm.model`, then --gin.VOCABULARY_PATH=spm.model)")
    from xlit_jax.tokenizer import vocabulary_size

    pieces = vocabulary_size(path)
    if pieces > settings.model_config.vocab_size:
        raise ValueError(f"vocabulary {path} has {pieces} pieces but MT5Config.vocab_size is "
                         f"{settings.model_config.vocab_size}: use a smaller vocabulary or a larger vocab_size")


def _is_remote(path: str) -> bool:
    return "://" in str(path)


# ------------------------------------------------------------------------------- the run itself
@dataclasses.dataclass
class LoopState:
    """What the step loop changes: the TrainState, the step and input position, pending metrics."""

    state: Any
    step: int
    position: int
    start_step: int
    last_saved: int | None
    pending: tuple[int, dict] | None = None
    status: str = "completed"
    last_loss: float | None = None


@gin.configurable(module="xlit")
def train(
    *,
    model_dir: str = gin.REQUIRED,
    train_steps: int = gin.REQUIRED,
    batch_size: int = gin.REQUIRED,
    model_config: MT5Config = gin.REQUIRED,
    train_data: BatchSource = gin.REQUIRED,
    eval_data: BatchSource | None = None,
    eval_steps: int = 10,
    eval_period: int | None = 1000,
    inference_evaluator: InferenceEvaluator | None = None,
    partitioner: Any = None,
    initial_checkpoint_path: str | None = None,
    vocabulary_path: str | None = None,
    random_seed: int = 0,
    dropout_rate: float | None = None,
    checkpoint_period: int = 1000,
    keep_checkpoints: int | None = 3,
    async_checkpointing: bool = True,
    peak_flops_per_device: float | None = None,
    progress_bar: bool = True,
    prefetch_batches: int = 2,
) -> dict[str, Any]:
    """Train (or resume training) a model in MODEL_DIR; returns a summary of the run.

    The optimizer, loss settings and microbatching are xlit.Trainer's gin parameters (finetune.gin
    binds them); `partitioner` None means xlit.Partitioner() as gin configures it.
    """
    from xlit_jax.trainer import Trainer

    settings = check_settings(dict(locals()))
    trainer = Trainer(settings.model_config, partitioner=partitioner)  # gin supplies the rest
    check_batching(settings, trainer)
    check_data_and_vocabulary(settings)
    run = TrainingRun(settings, trainer)  # creates MODEL_DIR: everything above touched no file
    try:
        summary = run.execute()
    except BaseException:
        run.close(failed=True)
        raise
    run.close()
    return summary


class TrainingRun:
    """One run in MODEL_DIR: setup, restore-or-init, the step loop, periodic actions, finish."""

    def __init__(self, settings: RunSettings, trainer: Any):
        self.settings, self.trainer = settings, trainer
        self.process_index, self.process_count = multihost.process_index(), multihost.process_count()
        self.primary = self.process_index == 0
        self.created_model_dir = not settings.model_dir.exists()
        self.started = False  # True once the first step ran and passed its checks: MODEL_DIR is kept
        self.checkpointer: TrainingCheckpointer | None = None
        self.writer: MetricsWriter | None = None
        self.batches: Prefetcher | None = None
        self.watcher: multihost.PreemptionWatcher | None = None
        self.progress = None
        self.lock = RunLock(settings.model_dir, self.process_index)
        self.lock.acquire()

    # ------------------------------------------------------------------ phases
    def execute(self) -> dict[str, Any]:
        """Run every phase; the summary says where the run stopped and why."""
        self.setup()
        loop = self.restore_or_init()
        if loop.step >= self.settings.train_steps:
            if self.primary:
                print(f"xlit train: already at step {loop.step} >= train_steps {self.settings.train_steps}; "
                      "nothing to do", flush=True)
            if not (self.settings.model_dir / EXPORT_SUBDIR).exists():
                self.export(loop.state)
            return self.summary(loop)
        self.start_loop(loop)
        self.step_loop(loop)
        self.finish(loop)
        return self.summary(loop)

    def setup(self) -> None:
        """Checkpointer, preemption watcher and the run directory's config.json and spiece.model (primary)."""
        settings = self.settings
        self.watcher = multihost.PreemptionWatcher()
        self.checkpointer = TrainingCheckpointer(settings.model_dir, keep=settings.keep_checkpoints,
                                                 async_save=settings.async_checkpointing)
        if self.primary:
            from xlit_jax.checkpoints import write_run_files

            write_run_files(settings.model_dir, settings.model_config, settings.vocabulary_path)

    def restore_or_init(self) -> LoopState:
        """The newest readable checkpoint, else a fresh state (from INITIAL_CHECKPOINT_PATH when given)."""
        settings = self.settings
        restored = self.checkpointer.restore_latest(self.trainer.abstract_state())
        if restored is not None:
            state, info = restored
            position = int(info["input_position"])
            message = f"resumed from checkpoint step {int(_host_value(state.step))} (input position {position})"
        else:
            params = None
            if settings.initial_checkpoint_path:
                params = _load_initial_params(settings.initial_checkpoint_path, settings.model_config)
            state = self.trainer.init_state(jax.random.PRNGKey(settings.random_seed), params)
            position = 0
            message = (f"initialized from {settings.initial_checkpoint_path}" if settings.initial_checkpoint_path
                       else "initialized from scratch")
        step = int(_host_value(state.step))
        if self.primary:
            print(f"xlit train: {message}; model_dir {settings.model_dir}", flush=True)
            gin_utils.write_operative_config(settings.model_dir)
        return LoopState(state=state, step=step, position=position, start_step=step,
                         last_saved=self.checkpointer.latest_step())

    def start_loop(self, loop: LoopState) -> None:
        """Metrics writer, the batch prefetcher from the input position, throughput constants, progress."""
        settings = self.settings
        check_resume = getattr(settings.train_data, "check_resume", None)
        if check_resume is not None:
            check_resume(loop.position)
        self.writer = MetricsWriter(settings.model_dir, start_step=loop.start_step, enabled=self.primary)
        lengths = settings.lengths
        self.spec = batch_spec(settings.batch_size // self.process_count, lengths, settings.train_data.pack)
        self.batches = Prefetcher(settings.train_data.batches(settings.batch_size, self.process_index,
                                                              self.process_count, loop.position),
                                  settings.prefetch_batches)
        from xlit_jax import flops

        self.flops_per_batch = flops.train_flops_per_sequence(
            settings.model_config, lengths["inputs"], lengths["targets"]) * settings.batch_size
        self.peak_flops = _peak_flops_per_device(settings.peak_flops_per_device)
        self.tokens_per_batch = settings.batch_size * (lengths["inputs"] + lengths["targets"])
        self.clock = _StepClock()
        if self.primary and settings.progress_bar:
            from tqdm import tqdm

            self.progress = tqdm(total=settings.train_steps, initial=loop.start_step, desc="train", unit="step",
                                 dynamic_ncols=True, mininterval=1.0)

    def step_loop(self, loop: LoopState) -> None:
        """Train until train_steps, a SIGTERM (checkpoint, then stop) or an error."""
        while loop.step < self.settings.train_steps:
            device_metrics = self.train_step(loop)
            if loop.step == loop.start_step + 1:
                self.after_first_step()
            if loop.pending is not None:  # the previous step's metrics, fetched while this step runs
                self.emit(loop, loop.pending[0], self.collect(loop, *loop.pending))
                loop.pending = None
            if not self.periodic_actions(loop, device_metrics):
                break
        if loop.pending is not None:
            self.emit(loop, loop.pending[0], self.collect(loop, *loop.pending))
            loop.pending = None

    def train_step(self, loop: LoopState) -> dict:
        """One optimizer step on the next batch; returns its metrics, still on the device."""
        try:
            local_batch = next(self.batches)
        except StopIteration:
            raise RuntimeError(f"training data ran out at step {loop.step} (input position {loop.position})") from None
        check_batch(local_batch, self.spec, f"training batch at input position {loop.position}")
        loop.state, device_metrics = self.trainer.train_step(loop.state, self.trainer.make_global_batch(local_batch))
        loop.step += 1
        loop.position += 1
        return device_metrics

    def after_first_step(self) -> None:
        """Every configurable has been called now: refuse unread gin bindings, write the operative config."""
        check_all_bindings_read()
        self.started = True  # from here on, MODEL_DIR is kept whatever happens
        if self.primary:
            gin_utils.write_operative_config(self.settings.model_dir)

    def periodic_actions(self, loop: LoopState, device_metrics: dict) -> bool:
        """Metrics, eval and checkpoint of this step as due (metrics first); False to stop (SIGTERM)."""
        settings, step = self.settings, loop.step
        stop = self.watcher.should_stop(step)
        save = stop or step % settings.checkpoint_period == 0 or step == settings.train_steps
        run_eval = bool(settings.eval_period) and (step % settings.eval_period == 0 or step == settings.train_steps) \
            and (settings.eval_data is not None or settings.inference_evaluator is not None)
        if not (save or run_eval):
            loop.pending = (step, device_metrics)
            return True
        metrics = self.collect(loop, step, device_metrics)  # the NaN check comes before anything is saved
        if run_eval:
            metrics.update(self.evaluate(loop))
        self.emit(loop, step, metrics)  # written before the checkpoint of this step exists
        if save:
            self.checkpointer.save(step, loop.state, loop.position)
            loop.last_saved = step
        self.clock.lap()  # eval and checkpoint time is not step time
        if stop:
            self.checkpointer.wait()
            loop.status = "preempted"
            if self.primary:
                print(f"xlit train: SIGTERM: saved checkpoint {step} and stopped", flush=True)
            return False
        return True

    def finish(self, loop: LoopState) -> None:
        """Wait for checkpoints; a completed run exports its final params to MODEL_DIR/export/."""
        self.checkpointer.wait()
        if self.progress is not None:
            self.progress.close()
            self.progress = None
        if loop.status == "completed":
            self.export(loop.state)

    def export(self, state: Any) -> None:
        """MODEL_DIR/export/: an xlit checkpoint of the params (config.json + params/) and spiece.model."""
        from xlit_jax.checkpoints import save_xlit

        export_dir = self.settings.model_dir / EXPORT_SUBDIR
        if self.primary and export_dir.exists():
            shutil.rmtree(export_dir)
        multihost.sync("xlit_export_start")
        save_xlit(state.params, self.settings.model_config, export_dir, self.settings.vocabulary_path)
        if self.primary:
            print(f"xlit train: exported the final params to {export_dir}", flush=True)
        multihost.sync("xlit_export_done")

    # ------------------------------------------------------------------ metrics and evaluation
    def collect(self, loop: LoopState, step: int, device_metrics: dict) -> dict:
        """Fetch a step's metrics, stop on a non-finite loss, add throughput and MFU."""
        from xlit_jax import flops

        metrics = {k: float(_host_value(v)) for k, v in device_metrics.items()}
        if not math.isfinite(metrics.get("loss", 0.0)):
            last = loop.last_saved if loop.last_saved is not None else "none"
            raise FloatingPointError(f"non-finite loss {metrics['loss']} at step {step}; stopping without saving that "
                                     f"state (last good checkpoint: {last} in {self.checkpointer.directory})")
        seconds = self.clock.lap()
        metrics["step_seconds"] = seconds
        metrics["sequences_per_second"] = self.settings.batch_size / seconds
        metrics["tokens_per_second"] = self.tokens_per_batch / seconds
        if "num_target_tokens" in metrics:
            metrics["target_tokens_per_second"] = metrics["num_target_tokens"] / seconds
        metrics["mfu"] = (flops.mfu(self.flops_per_batch, seconds, self.peak_flops, jax.device_count())
                          if self.peak_flops else None)
        return metrics

    def emit(self, loop: LoopState, step: int, metrics: dict) -> None:
        """Write one step's record and move the progress bar."""
        self.writer.write(step, metrics)
        if self.progress is not None:
            self.progress.update(step - self.progress.n)
            self.progress.set_postfix(loss=f"{metrics['loss']:.4f}", refresh=False)
        loop.last_loss = metrics["loss"]

    def evaluate(self, loop: LoopState) -> dict[str, float]:
        """Teacher-forced eval and the inference evaluator on the current params."""
        settings, results = self.settings, {}
        if settings.eval_data is not None:
            results.update(_teacher_forced_eval(self.trainer, loop.state.params, settings.eval_data,
                                                settings.batch_size, settings.eval_steps))
        if settings.inference_evaluator is not None:
            for name, value in dict(settings.inference_evaluator(loop.state.params, loop.step)).items():
                results[name if "/" in name else f"infer/{name}"] = float(value)
        if self.primary:
            print(f"xlit train: step {loop.step} eval {_headline(results)} (all {len(results)} values in "
                  f"{settings.model_dir / 'train_metrics.jsonl'})", flush=True)
        return results

    # ------------------------------------------------------------------ bookkeeping
    def summary(self, loop: LoopState) -> dict[str, Any]:
        """What train() returns."""
        summary = {"start_step": loop.start_step, "final_step": loop.step, "status": loop.status,
                   "model_dir": str(self.settings.model_dir)}
        if loop.last_loss is not None:
            summary["last_loss"] = loop.last_loss
        return summary

    def close(self, failed: bool = False) -> None:
        """Stop threads, flush metrics, close the checkpointer, release the lock; a failed run that never
        took a step and made MODEL_DIR removes it again. After a failure, closing errors are only logged."""
        closers = [getattr(self.batches, "close", None), getattr(self.watcher, "close", None),
                   getattr(self.writer, "close", None), getattr(self.progress, "close", None),
                   getattr(self.checkpointer, "close", None), self.lock.release]
        errors = []
        for close in filter(None, closers):
            try:
                close()
            except Exception as err:  # noqa: BLE001 - every resource is closed before anything is raised
                errors.append(err)
                log.error("closing the run: %s: %s", type(err).__name__, err)
        if failed and not self.started and self.created_model_dir and self.primary:
            shutil.rmtree(self.settings.model_dir, ignore_errors=True)  # a run that never started leaves nothing
        if errors and not failed:
            raise errors[0]


# The eval values a log line shows: overall and per language (the rest is in train_metrics.jsonl).
_HEADLINE = re.compile(r"^(eval/(all|[a-z]{2})/mean|eval/(loss|accuracy))$")


def _headline(results: Mapping[str, float]) -> str:
    """A short summary of eval results for the log: overall and per-language means, else the first few."""
    shown = {k: v for k, v in results.items() if _HEADLINE.match(k)} or dict(list(results.items())[:4])
    return ", ".join(f"{k}={v:.4g}" for k, v in shown.items())


def _teacher_forced_eval(trainer: Any, params: Any, eval_data: BatchSource, batch_size: int, eval_steps: int) -> dict[str, float]:
    """Mean eval metrics over eval_steps batches (token-weighted where the step reports tokens)."""
    totals: dict[str, float] = {}
    weight_total = 0.0
    batches = eval_data.batches(batch_size, multihost.process_index(), multihost.process_count(), 0)
    for count, local_batch in enumerate(batches):
        if count >= eval_steps:
            break
        metrics = {k: float(_host_value(v)) for k, v in trainer.eval_step(params, trainer.make_global_batch(local_batch)).items()}
        weight = metrics.get("num_target_tokens", 1.0)
        weight_total += weight
        for name, value in metrics.items():
            if name in ("num_target_tokens", "num_sequences"):
                totals[name] = totals.get(name, 0.0) + value
            else:
                totals[name] = totals.get(name, 0.0) + value * weight
    if not weight_total:
        raise RuntimeError("evaluation data yielded no batches")
    return {
        f"eval/{name}": (value if name in ("num_target_tokens", "num_sequences") else value / weight_total)
        for name, value in totals.items()
    }
