"""The train and eval steps: jit-compiled with explicit shardings over the partitioner's mesh.

One train step (all on one screen in `_train_step`):
  1. loss weights and the normalizer over the WHOLE global batch (losses.py),
  2. forward + backward, over `num_microbatches` slices of the batch when accumulating
     (a lax.scan summing float32 gradients; every slice is divided by the global normalizer,
     so N microbatches give the gradient of one big batch),
  3. the optimizer update, and scalar metrics.
The TrainState is donated, so parameters and optimizer state are updated in place.
"""
from __future__ import annotations

from typing import Any, Mapping

import gin
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding, PartitionSpec

from xlit_jax import losses, optimizers
from xlit_jax.models import mt5
from xlit_jax.models.mt5 import MT5Config
from xlit_jax.partitioning import Partitioner
from xlit_jax.train_state import TrainState

Batch = Mapping[str, jax.Array]
MODEL_FEATURES = ("encoder_input_tokens", "decoder_input_tokens", "decoder_target_tokens",
                  "encoder_segment_ids", "decoder_segment_ids", "encoder_positions", "decoder_positions")


def _raw_key(rng: jax.Array) -> jax.Array:
    """uint32 key data from a typed or raw PRNG key."""
    if jnp.issubdtype(rng.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(rng)
    return jnp.asarray(rng, jnp.uint32)


@gin.configurable(module="xlit")
class Trainer:
    """Owns the model, optimizer and partitioner; makes, shards and steps the TrainState.

    gin: `xlit.Trainer.optimizer`, `z_loss`, `label_smoothing`, `loss_normalization` and
    `num_microbatches` are set here (runs/finetune.gin); `xlit.train` passes the model config and
    its own `partitioner`, so those two are never read from xlit.Trainer bindings.
    """

    def __init__(self, model_config: MT5Config, optimizer: optax.GradientTransformation | None = None,
                 partitioner: Partitioner | None = None, *, z_loss: float = 1e-4, label_smoothing: float = 0.0,
                 loss_normalization: losses.LossNormalization = "num_real_target_tokens", num_microbatches: int = 1):
        if num_microbatches < 1:
            raise ValueError(f"Trainer.num_microbatches must be >= 1, got {num_microbatches}")
        losses.loss_weights_and_normalizer(  # validate the mode now, not at the first step
            {"decoder_target_tokens": jnp.ones((1, 1), jnp.int32)}, loss_normalization)
        self.config = model_config
        self.model = mt5.Transformer(model_config)
        self.partitioner = partitioner if partitioner is not None else Partitioner()
        self.z_loss = float(z_loss)
        self.label_smoothing = float(label_smoothing)
        self.loss_normalization = loss_normalization
        self.num_microbatches = int(num_microbatches)
        self.params_logical_axes = mt5.param_logical_axes(model_config)
        self.params_shapes = mt5.param_shapes(model_config)
        if optimizer is None:
            optimizer = optimizers.make_optimizer(param_logical_axes=self.params_logical_axes)
        else:
            optimizer = optimizers.with_param_logical_axes(optimizer, self.params_logical_axes)
        self.optimizer = optimizer
        self.opt_state_logical_axes = optimizers.optimizer_state_logical_axes(
            optimizer, self.params_logical_axes, self.params_shapes)
        self._schedule = optimizers.learning_rate_schedule(optimizer)
        self._jit_train_step = None
        self._jit_eval_step = None

    # ------------------------------------------------------------------ shardings and state
    def state_shardings(self) -> TrainState:
        """NamedSharding of every TrainState leaf."""
        replicated = self.partitioner.replicated()
        return TrainState(
            step=replicated,
            params=self.partitioner.logical_to_sharding(self.params_logical_axes),
            opt_state=self._opt_state_shardings(),
            rng=replicated,
        )

    def _opt_state_shardings(self) -> Any:
        """Shardings shaped like the optimizer state; empty subtrees (e.g. Adafactor's momentum=None) stay None."""
        state_treedef = jax.tree.structure(jax.eval_shape(self.optimizer.init, self.params_shapes))
        specs = jax.tree.unflatten(state_treedef, state_treedef.flatten_up_to(self.opt_state_logical_axes))
        return jax.tree.map(lambda spec: NamedSharding(self.partitioner.mesh, self.partitioner.logical_to_mesh_spec(spec)),
                            specs, is_leaf=lambda x: isinstance(x, PartitionSpec))

    def abstract_state(self) -> TrainState:
        """ShapeDtypeStructs (with shardings) of the TrainState, for checkpoint restore."""
        shapes = jax.eval_shape(lambda: TrainState(
            step=jnp.zeros([], jnp.int32), params=self.params_shapes,
            opt_state=self.optimizer.init(self.params_shapes), rng=jnp.zeros([2], jnp.uint32)))
        return jax.tree.map(lambda leaf, sharding: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=sharding),
                            shapes, self.state_shardings())

    def init_state(self, rng: jax.Array, params: Any = None) -> TrainState:
        """A sharded fresh TrainState; `params` given (e.g. INITIAL_CHECKPOINT) replaces the random init."""
        shardings = self.state_shardings()
        rng = _raw_key(rng)
        params_rng, dropout_rng = jax.random.split(rng)
        with jax.set_mesh(self.partitioner.mesh):
            if params is None:
                params = jax.jit(lambda key: mt5.init_params(self.config, key),
                                 out_shardings=shardings.params)(np.asarray(params_rng))
            else:
                params = self._place_params(params, shardings.params)
            opt_state = jax.jit(self.optimizer.init, out_shardings=shardings.opt_state)(params)
        step = _global_from_host(np.zeros([], np.int32), shardings.step)
        dropout_rng = _global_from_host(np.asarray(dropout_rng), shardings.rng)
        return TrainState(step=step, params=params, opt_state=opt_state, rng=dropout_rng)

    def _place_params(self, params: Any, shardings: Any) -> Any:
        """Given params as float32 global arrays with the parameter shardings; errors name the parameter."""
        expected, treedef = jax.tree_util.tree_flatten_with_path(self.params_shapes)
        try:
            leaves = treedef.flatten_up_to(params)
        except (ValueError, TypeError) as err:
            raise ValueError(f"init_state: params tree does not match the model's parameter tree: {err}") from None
        placed = []
        for (path, want), leaf, sharding in zip(expected, leaves, treedef.flatten_up_to(shardings)):
            if tuple(leaf.shape) != tuple(want.shape):
                raise ValueError(f"init_state: parameter {jax.tree_util.keystr(path)} has shape {tuple(leaf.shape)}, "
                                 f"the model expects {tuple(want.shape)}")
            if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
                placed.append(jax.device_put(leaf.astype(jnp.float32), sharding))
            else:
                placed.append(_global_from_host(np.asarray(leaf, dtype=np.float32), sharding))
        return jax.tree.unflatten(treedef, placed)

    def make_global_batch(self, local_batch: Mapping[str, np.ndarray]) -> dict[str, jax.Array]:
        """Global arrays sharded over 'data' from this process's rows of every feature."""
        sharding = self.partitioner.batch_sharding()
        out = {}
        for name, value in local_batch.items():
            value = np.asarray(value)
            if value.ndim < 1:
                raise ValueError(f"batch feature {name} must have a batch dimension, got shape {value.shape}")
            out[name] = jax.make_array_from_process_local_data(sharding, value)
        rows = {name: a.shape[0] for name, a in out.items()}
        global_rows = next(iter(rows.values()), 0)
        if len(set(rows.values())) > 1:
            raise ValueError(f"batch features disagree on the number of rows: {rows}")
        if global_rows % self.num_microbatches:
            raise ValueError(f"global batch of {global_rows} rows is not divisible by num_microbatches="
                             f"{self.num_microbatches}")
        return out

    def learning_rate(self, step: int | jax.Array) -> jax.Array:
        """The optimizer's learning rate at `step` (NaN when the optimizer has no known schedule)."""
        if self._schedule is None:
            return jnp.asarray(jnp.nan, jnp.float32)
        return jnp.asarray(self._schedule(step), jnp.float32)

    # ------------------------------------------------------------------ the steps
    def _logits(self, params: Any, batch: Batch, dropout_rng: jax.Array | None) -> jax.Array:
        features = {name: batch[name] for name in MODEL_FEATURES if name in batch}
        enable_dropout = dropout_rng is not None and self.config.dropout_rate > 0
        rngs = {"dropout": dropout_rng} if enable_dropout else None
        return self.model.apply({"params": params}, **features, enable_dropout=enable_dropout, rngs=rngs)

    def _loss_and_metrics(self, params: Any, batch: Batch, weights: jax.Array, normalizer: Any,
                          dropout_rng: jax.Array | None) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Normalized loss of (a slice of) the batch and the sums its metrics need."""
        logits = self._logits(params, batch, dropout_rng)
        targets = batch["decoder_target_tokens"]
        token_loss, token_z_loss = losses.cross_entropy_with_z_loss(
            logits, targets, weights, z_loss=self.z_loss, label_smoothing=self.label_smoothing)
        real = _real_token_mask(batch)
        loss = jnp.sum(token_loss) / normalizer
        sums = {"z_loss": jnp.sum(token_z_loss) / normalizer,
                "correct": losses.correct_predictions(logits, targets, real)}
        return loss, sums

    def _train_step(self, state: TrainState, batch: Batch) -> tuple[TrainState, dict[str, jax.Array]]:
        weights, normalizer = losses.loss_weights_and_normalizer(batch, self.loss_normalization)
        step_rng = jax.random.fold_in(state.rng, state.step)
        grad_fn = jax.value_and_grad(self._loss_and_metrics, has_aux=True)
        if self.num_microbatches == 1:
            (loss, sums), grads = grad_fn(state.params, batch, weights, normalizer, step_rng)
        else:
            micro = self._split_microbatches({**batch, "_weights": weights})

            def accumulate(carry, inputs):
                index, microbatch = inputs
                mb_weights = microbatch.pop("_weights")
                (mb_loss, mb_sums), mb_grads = grad_fn(state.params, microbatch, mb_weights, normalizer,
                                                       jax.random.fold_in(step_rng, index))
                grads_acc, loss_acc, sums_acc = carry
                return (jax.tree.map(jnp.add, grads_acc, mb_grads), loss_acc + mb_loss,
                        jax.tree.map(jnp.add, sums_acc, mb_sums)), None

            zeros = (jax.tree.map(lambda p: jnp.zeros(p.shape, jnp.float32), state.params), jnp.zeros([], jnp.float32),
                     {"z_loss": jnp.zeros([], jnp.float32), "correct": jnp.zeros([], jnp.float32)})
            (grads, loss, sums), _ = jax.lax.scan(accumulate, zeros, (jnp.arange(self.num_microbatches), micro))
        updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        num_tokens = jnp.sum(_real_token_mask(batch)).astype(jnp.float32)
        metrics = {
            "loss": loss,
            "z_loss": sums["z_loss"],
            "cross_entropy": loss - sums["z_loss"],
            "accuracy": sums["correct"] / jnp.maximum(num_tokens, 1.0),
            "grad_norm": optax.global_norm(grads),
            "learning_rate": self.learning_rate(state.step),
            "num_target_tokens": num_tokens,
            "num_sequences": losses.num_sequences(batch),
        }
        new_state = TrainState(step=state.step + 1, params=params, opt_state=opt_state, rng=state.rng)
        return new_state, metrics

    def _split_microbatches(self, batch: Batch) -> dict[str, jax.Array]:
        """[B, ...] -> [M, B/M, ...] with microbatch m = rows m, m+M, ... (each device keeps its rows)."""
        m = self.num_microbatches
        data_sharded = NamedSharding(self.partitioner.mesh, PartitionSpec(None, "data"))

        def split(x: jax.Array) -> jax.Array:
            if x.shape[0] % m:
                raise ValueError(f"batch of {x.shape[0]} rows is not divisible by num_microbatches={m}")
            x = x.reshape((x.shape[0] // m, m) + x.shape[1:]).swapaxes(0, 1)
            return jax.lax.with_sharding_constraint(x, data_sharded)

        return {name: split(value) for name, value in batch.items()}

    def _eval_step(self, params: Any, batch: Batch) -> dict[str, jax.Array]:
        logits = self._logits(params, batch, None)
        targets = batch["decoder_target_tokens"]
        weights, _ = losses.loss_weights_and_normalizer(batch, "none")
        token_loss, token_z_loss = losses.cross_entropy_with_z_loss(
            logits, targets, weights, z_loss=self.z_loss, label_smoothing=self.label_smoothing)
        real = _real_token_mask(batch)
        num_tokens = jnp.sum(real).astype(jnp.float32)
        weight_sum = jnp.maximum(jnp.sum(weights), 1e-9)
        loss = jnp.sum(token_loss) / weight_sum
        z_loss = jnp.sum(token_z_loss) / weight_sum
        return {
            "loss": loss,
            "z_loss": z_loss,
            "cross_entropy": loss - z_loss,
            "accuracy": losses.correct_predictions(logits, targets, real) / jnp.maximum(num_tokens, 1.0),
            "num_target_tokens": num_tokens,
            "num_sequences": losses.num_sequences(batch),
        }

    def train_step(self, state: TrainState, batch: Batch) -> tuple[TrainState, dict[str, jax.Array]]:
        """One optimizer step on a global batch; `state` is donated. Metrics are replicated scalars."""
        if self._jit_train_step is None:
            shardings = self.state_shardings()
            self._jit_train_step = jax.jit(
                self._train_step, in_shardings=(shardings, self.partitioner.batch_sharding()),
                out_shardings=(shardings, self.partitioner.replicated()), donate_argnums=(0,))
        with jax.set_mesh(self.partitioner.mesh), self.partitioner.axis_rules_context():
            return self._jit_train_step(state, dict(batch))

    def eval_step(self, params: Any, batch: Batch) -> dict[str, jax.Array]:
        """Teacher-forced metrics of a global batch: per-token means (loss, z_loss, cross_entropy,
        accuracy) and the counts num_target_tokens, num_sequences (weight means by num_target_tokens)."""
        if self._jit_eval_step is None:
            self._jit_eval_step = jax.jit(
                self._eval_step, in_shardings=(self.state_shardings().params, self.partitioner.batch_sharding()),
                out_shardings=self.partitioner.replicated())
        with jax.set_mesh(self.partitioner.mesh), self.partitioner.axis_rules_context():
            return self._jit_eval_step(params, dict(batch))


def _global_from_host(value: np.ndarray, sharding: NamedSharding) -> jax.Array:
    """A global array from a host value every process holds (works across processes)."""
    return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])


def _real_token_mask(batch: Batch) -> jax.Array:
    """Positions that count as target tokens: positive loss weight (or non-padding targets)."""
    weights = batch.get("decoder_loss_weights")
    if weights is None:
        return batch["decoder_target_tokens"] > 0
    return weights > 0


__all__ = ["Trainer", "TrainState", "MODEL_FEATURES"]
