"""The training run: gin-configured `train()` = setup, restore-or-init, the step loop, checkpoints,
metrics, evaluation, and the fault-tolerance rules (see docs/training.md).

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
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import gin
import jax
import numpy as np

from xlit_jax import gin_utils, multihost
from xlit_jax.checkpointing import RunLock, TrainingCheckpointer
from xlit_jax.data.features import BatchSource, batch_spec, check_batch
from xlit_jax.metrics_writer import MetricsWriter
from xlit_jax.models.mt5 import MT5Config

log = logging.getLogger(__name__)

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
    optimizer: Any = None,
    partitioner: Any = None,
    initial_checkpoint_path: str | None = None,
    random_seed: int = 0,
    dropout_rate: float | None = None,
    checkpoint_period: int = 1000,
    keep_checkpoints: int | None = 3,
    async_checkpointing: bool = True,
    num_microbatches: int = 1,
    z_loss: float = 1e-4,
    label_smoothing: float = 0.0,
    loss_normalization: str = "num_real_target_tokens",
    peak_flops_per_device: float | None = None,
    progress_bar: bool = True,
    prefetch_batches: int = 2,
) -> dict[str, Any]:
    """Train (or resume training) a model in MODEL_DIR; returns a summary of the run."""
    _check_types(
        locals(),
        {
            "model_dir": (str, os.PathLike),
            "train_steps": (int,),
            "batch_size": (int,),
            "eval_steps": (int,),
            "eval_period": (int, type(None)),
            "random_seed": (int,),
            "dropout_rate": (float, int, type(None)),
            "checkpoint_period": (int,),
            "keep_checkpoints": (int, type(None)),
            "num_microbatches": (int,),
            "initial_checkpoint_path": (str, os.PathLike, type(None)),
        },
        "xlit.train",
    )
    check_model_config(model_config)
    if train_steps < 0 or batch_size <= 0 or checkpoint_period <= 0:
        raise ValueError(f"xlit.train: need train_steps >= 0, batch_size > 0, checkpoint_period > 0 "
                         f"(got {train_steps}, {batch_size}, {checkpoint_period})")
    if dropout_rate is not None:
        model_config = dataclasses.replace(model_config, dropout_rate=float(dropout_rate))
    model_dir = Path(model_dir).absolute()
    process_index, process_count = multihost.process_index(), multihost.process_count()
    primary = process_index == 0

    lock = RunLock(model_dir, process_index)
    lock.acquire()
    checkpointer = None
    writer = None
    batches = None
    watcher = None
    try:
        watcher = multihost.PreemptionWatcher()
        from xlit_jax.partitioning import Partitioner
        from xlit_jax.trainer import Trainer

        trainer = Trainer(
            model_config,
            optimizer=optimizer,
            partitioner=partitioner if partitioner is not None else Partitioner(),
            z_loss=z_loss,
            label_smoothing=label_smoothing,
            loss_normalization=loss_normalization,
            num_microbatches=num_microbatches,
        )
        data_size = trainer.partitioner.data_size
        if batch_size % (data_size * num_microbatches):
            raise ValueError(f"xlit.train.batch_size (BATCH_SIZE) {batch_size} must be divisible by the data-parallel "
                             f"size {data_size} times num_microbatches {num_microbatches}")
        checkpointer = TrainingCheckpointer(model_dir, keep=keep_checkpoints, async_save=async_checkpointing)
        abstract_state = trainer.abstract_state()  # ShapeDtypeStructs carrying the target shardings
        restored = checkpointer.restore_latest(abstract_state)
        if restored is not None:
            state, info = restored
            position = int(info["input_position"])
            message = f"resumed from checkpoint step {int(_host_value(state.step))} (input position {position})"
        else:
            params = None
            if initial_checkpoint_path:
                params = _load_initial_params(str(initial_checkpoint_path), model_config)
            state = trainer.init_state(jax.random.PRNGKey(random_seed), params)
            position = 0
            message = f"initialized from {initial_checkpoint_path}" if initial_checkpoint_path else "initialized from scratch"
        start_step = int(_host_value(state.step))
        if primary:
            print(f"xlit train: {message}; model_dir {model_dir}", flush=True)
            gin_utils.write_operative_config(model_dir)
        summary: dict[str, Any] = {"start_step": start_step, "final_step": start_step, "status": "completed",
                                   "model_dir": str(model_dir)}
        if start_step >= train_steps:
            if primary:
                print(f"xlit train: already at step {start_step} >= train_steps {train_steps}; nothing to do", flush=True)
            return summary

        writer = MetricsWriter(model_dir, start_step=start_step, enabled=primary)
        lengths = dict(train_data.task_feature_lengths)
        spec = batch_spec(batch_size // process_count, lengths, train_data.pack)
        batches = Prefetcher(train_data.batches(batch_size, process_index, process_count, position), prefetch_batches)

        from xlit_jax import flops

        flops_per_sequence = flops.train_flops_per_sequence(model_config, lengths["inputs"], lengths["targets"])
        peak = _peak_flops_per_device(peak_flops_per_device)
        num_devices = jax.device_count()
        tokens_per_batch = batch_size * (lengths["inputs"] + lengths["targets"])

        def evaluate(step: int) -> dict[str, float]:
            results: dict[str, float] = {}
            if eval_data is not None:
                results.update(_teacher_forced_eval(trainer, state.params, eval_data, batch_size, eval_steps))
            if inference_evaluator is not None:
                for name, value in dict(inference_evaluator(state.params, step)).items():
                    results[name if "/" in name else f"infer/{name}"] = float(value)
            return results

        clock = _StepClock()
        progress = None
        if primary and progress_bar:
            from tqdm import tqdm

            progress = tqdm(total=train_steps, initial=start_step, desc="train", unit="step", dynamic_ncols=True,
                            mininterval=1.0)
        pending: tuple[int, dict] | None = None
        last_saved = checkpointer.latest_step()

        def collect(step: int, device_metrics: dict) -> dict:
            """Fetch a step's metrics, stop on a non-finite loss, add throughput and MFU."""
            metrics = {k: float(_host_value(v)) for k, v in device_metrics.items()}
            if not math.isfinite(metrics.get("loss", 0.0)):
                raise FloatingPointError(
                    f"non-finite loss {metrics['loss']} at step {step}; stopping without saving that state "
                    f"(last good checkpoint: {last_saved if last_saved is not None else 'none'} in {checkpointer.directory})"
                )
            seconds = clock.lap()
            metrics["step_seconds"] = seconds
            metrics["sequences_per_second"] = batch_size / seconds
            metrics["tokens_per_second"] = tokens_per_batch / seconds
            if "num_target_tokens" in metrics:
                metrics["target_tokens_per_second"] = metrics["num_target_tokens"] / seconds
            metrics["mfu"] = flops.mfu(flops_per_sequence * batch_size, seconds, peak, num_devices) if peak else None
            return metrics

        def emit(step: int, metrics: dict) -> None:
            writer.write(step, metrics)
            if progress is not None:
                progress.update(step - progress.n)
                progress.set_postfix(loss=f"{metrics['loss']:.4f}", refresh=False)
            summary["final_step"], summary["last_loss"] = step, metrics["loss"]

        step = start_step
        while step < train_steps:
            try:
                local_batch = next(batches)
            except StopIteration:
                raise RuntimeError(f"training data ran out at step {step} (input position {position})") from None
            check_batch(local_batch, spec, f"training batch at input position {position}")
            state, device_metrics = trainer.train_step(state, trainer.make_global_batch(local_batch))
            step += 1
            position += 1
            if step == start_step + 1 and primary:
                gin_utils.write_operative_config(model_dir)  # now every configurable has been called
            if pending is not None:
                emit(pending[0], collect(*pending))  # the previous step's metrics, fetched while this step runs
                pending = None
            stop = watcher.should_stop(step)
            save = stop or step % checkpoint_period == 0 or step == train_steps
            run_eval = bool(eval_period) and (step % eval_period == 0 or step == train_steps) and (
                eval_data is not None or inference_evaluator is not None)
            if not (save or run_eval):
                pending = (step, device_metrics)
                continue
            metrics = collect(step, device_metrics)  # the NaN check comes before anything is saved
            if run_eval:
                eval_metrics = evaluate(step)
                metrics.update(eval_metrics)
                if primary:
                    print(f"xlit train: step {step} eval " + ", ".join(f"{k}={v:.4g}" for k, v in eval_metrics.items()),
                          flush=True)
            emit(step, metrics)  # written before the checkpoint of this step exists
            if save:
                checkpointer.save(step, state, position)
                last_saved = step
            clock.lap()  # eval and checkpoint time is not step time
            if stop:
                checkpointer.wait()
                summary["status"] = "preempted"
                if primary:
                    print(f"xlit train: SIGTERM: saved checkpoint {step} and stopped", flush=True)
                break
        if pending is not None:
            emit(pending[0], collect(*pending))
        checkpointer.wait()
        if progress is not None:
            progress.close()
        return summary
    finally:
        if batches is not None:
            batches.close()
        if watcher is not None:
            watcher.close()
        if writer is not None:
            writer.close()
        if checkpointer is not None:
            checkpointer.close()
        lock.release()


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
