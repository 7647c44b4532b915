"""Optimizers: t5x-style Adafactor with factoring chosen by logical axis names, AdamW, learning-rate
schedules, and the logical axes (hence shardings) of optimizer state.

Adafactor (Shazeer & Stern 2018) as t5x runs it: second-moment decay 1 - (step + 1)^-0.8, update
clipping at RMS 1.0, step size scaled by max(epsilon2, RMS(param)), epsilon1 = 1e-30 added to the
squared gradient, no momentum. The second moment of a parameter is factored into a row and a column
statistic when its logical axes name both a ROW and a COLUMN dimension (t5x's factor rules: 'embed'
is a row, 'vocab'/'mlp'/'heads'/'joined_kv' are columns) and both factored sizes are at least
`min_dim_size_to_factor` (128, t5x's default). For the 1-D and 2-D parameters of mT5 this factors
exactly the parameters t5x factors, and the factored estimate is symmetric in rows and columns, so
the updates equal t5x's. Without logical axes it falls back to t5x's heuristic (the two largest
dimensions). The state of a factored parameter is `v_row` (the parameter's shape without its
column dimensions) and `v_col` (without its row dimensions); their shardings are derived from the
parameter's logical axes by dropping those dimensions.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, NamedTuple

import gin
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import PartitionSpec

Schedule = Callable[[jax.Array], jax.Array]

ROW, COLUMN, BATCH, NONE = "row", "column", "batch", "none"

# t5x's standard_logical_factor_rules().
STANDARD_LOGICAL_FACTOR_RULES: Mapping[str, str] = {
    "vocab": COLUMN,
    "embed": ROW,
    "mlp": COLUMN,
    "heads": COLUMN,
    "kv": COLUMN,
    "joined_kv": COLUMN,
    "relpos_buckets": NONE,
    "layers": BATCH,
    "stack": BATCH,
    "q_wi_fused": COLUMN,
    "o_wo_fused": COLUMN,
    "multiquery_heads": COLUMN,
    "kv_fused": COLUMN,
    "layer_norm_scale": NONE,
}


# ---------------------------------------------------------------------------- schedules
@gin.configurable(module="xlit")
def constant_schedule(value: float = 1e-3) -> Schedule:
    """The same learning rate at every step (t5x's finetuning default, 1e-3)."""
    return optax.constant_schedule(value)


@gin.configurable(module="xlit")
def rsqrt_schedule(base: float = 1.0, warmup_steps: int = 10_000, linear_warmup: bool = False) -> Schedule:
    """base / sqrt(max(step, warmup_steps)) (T5 pretraining); optionally ramped linearly from 0 during warmup."""
    def schedule(step):
        step = jnp.asarray(step, jnp.float32)
        rate = base * jax.lax.rsqrt(jnp.maximum(step, float(max(warmup_steps, 1))))
        if linear_warmup and warmup_steps > 0:
            rate = rate * jnp.minimum(1.0, (step + 1.0) / warmup_steps)
        return rate
    return schedule


@gin.configurable(module="xlit")
def linear_schedule(init_value: float = 1e-3, end_value: float = 0.0, decay_steps: int = 10_000,
                    warmup_steps: int = 0) -> Schedule:
    """Linear warmup from 0 over warmup_steps, then linear decay from init_value to end_value."""
    decay = optax.linear_schedule(init_value, end_value, max(decay_steps, 1))
    if not warmup_steps:
        return decay
    warmup = optax.linear_schedule(0.0, init_value, warmup_steps)
    return optax.join_schedules([warmup, decay], [warmup_steps])


@gin.configurable(module="xlit")
def cosine_schedule(peak_value: float = 1e-3, decay_steps: int = 10_000, warmup_steps: int = 0,
                    end_value: float = 0.0) -> Schedule:
    """Linear warmup to peak_value, then cosine decay to end_value at decay_steps."""
    return optax.warmup_cosine_decay_schedule(0.0 if warmup_steps else peak_value, peak_value, warmup_steps,
                                              max(decay_steps, warmup_steps + 1), end_value)


def _as_schedule(learning_rate: float | Schedule) -> Schedule:
    return learning_rate if callable(learning_rate) else optax.constant_schedule(float(learning_rate))


# ---------------------------------------------------------------------------- the optimizer type
class Optimizer(optax.GradientTransformation):
    """An optax GradientTransformation that also knows its learning-rate schedule.

    Attributes (set by the factories): `learning_rate_schedule` (step -> rate), `factor_plans`
    (Adafactor only: params shapes -> tree of FactorPlan) and `rebind` (Adafactor only:
    param_logical_axes -> Optimizer with factoring by those names).
    """


def _optimizer(tx: optax.GradientTransformation, schedule: Schedule | None,
               factor_plans: Callable[[Any], Any] | None = None,
               rebind: Callable[[Any], "Optimizer"] | None = None) -> Optimizer:
    out = Optimizer(tx.init, tx.update)
    out.learning_rate_schedule = schedule
    out.factor_plans = factor_plans
    out.rebind = rebind
    return out


def learning_rate_schedule(optimizer: optax.GradientTransformation) -> Schedule | None:
    """The optimizer's schedule when it was made by this module, else None."""
    return getattr(optimizer, "learning_rate_schedule", None)


def with_param_logical_axes(optimizer: optax.GradientTransformation, param_logical_axes: Any) -> optax.GradientTransformation:
    """The optimizer with Adafactor factoring chosen by these logical axes (unchanged when not applicable)."""
    rebind = getattr(optimizer, "rebind", None)
    return rebind(param_logical_axes) if rebind is not None else optimizer


# ---------------------------------------------------------------------------- Adafactor
@dataclasses.dataclass(frozen=True)
class FactorPlan:
    """How one parameter's second moment is stored: factored over row/column dims, or full."""

    row_dims: tuple[int, ...] = ()
    col_dims: tuple[int, ...] = ()
    batch_dims: tuple[int, ...] = ()
    ndim: int = 0

    @property
    def factored(self) -> bool:
        return bool(self.row_dims) and bool(self.col_dims)

    @property
    def averaging_dims(self) -> tuple[int, ...]:
        """Dimensions the RMS statistics average over (all but batch dims)."""
        return tuple(d for d in range(self.ndim) if d not in self.batch_dims)


def _heuristic_plan(shape: tuple[int, ...], min_dim_size_to_factor: int) -> FactorPlan:
    """t5x's default: factor the two largest dimensions when the smaller of them is big enough."""
    ndim = len(shape)
    if ndim < 2:
        return FactorPlan(ndim=ndim)
    order = np.argsort(shape, kind="stable")
    if shape[order[-2]] < min_dim_size_to_factor:
        return FactorPlan(ndim=ndim)
    return FactorPlan(row_dims=(int(order[-2]),), col_dims=(int(order[-1]),), ndim=ndim)


def factor_plan(shape: tuple[int, ...], logical_axes: PartitionSpec | tuple | None,
                factor_rules: Mapping[str, str] = STANDARD_LOGICAL_FACTOR_RULES,
                min_dim_size_to_factor: int = 128, where: str = "") -> FactorPlan:
    """The FactorPlan of one parameter from its logical axis names (None: t5x's heuristic)."""
    shape = tuple(int(s) for s in shape)
    if logical_axes is None:
        return _heuristic_plan(shape, min_dim_size_to_factor)
    names = tuple(logical_axes)
    if len(names) != len(shape):
        raise ValueError(f"Adafactor: parameter {where} has shape {shape} but logical axes {names}")
    kinds = []
    for name in names:
        if name is None:
            kinds.append(NONE)
        elif name not in factor_rules:
            raise ValueError(f"Adafactor: no factor rule for logical axis {name!r} of parameter {where}; "
                             f"known: {sorted(factor_rules)}")
        else:
            kind = str(factor_rules[name]).lower()
            kinds.append({"col": COLUMN, "unfactorized": NONE}.get(kind, kind))
    if ROW in kinds and COLUMN in kinds and NONE in kinds:
        raise ValueError(f"Adafactor: incomplete factor rule {tuple(kinds)} for parameter {where} {names}")
    batch_dims = tuple(i for i, k in enumerate(kinds) if k == BATCH)
    rows = tuple(i for i, k in enumerate(kinds) if k == ROW)
    cols = tuple(i for i, k in enumerate(kinds) if k == COLUMN)
    if not rows or not cols:
        return FactorPlan(batch_dims=batch_dims, ndim=len(shape))
    if min(int(np.prod([shape[i] for i in rows])), int(np.prod([shape[i] for i in cols]))) < min_dim_size_to_factor:
        return FactorPlan(batch_dims=batch_dims, ndim=len(shape))
    return FactorPlan(row_dims=rows, col_dims=cols, batch_dims=batch_dims, ndim=len(shape))


def _drop(seq: tuple, dims: tuple[int, ...]) -> tuple:
    return tuple(x for i, x in enumerate(seq) if i not in dims)


class AdafactorState(NamedTuple):
    """Step count; per parameter {'v_row', 'v_col'} (factored) or {'v'}; momentum tree or None."""

    count: jax.Array
    moments: Any
    momentum: Any


def _is_spec(x: Any) -> bool:
    return x is None or isinstance(x, PartitionSpec)


@gin.configurable(module="xlit")
def adafactor(learning_rate: float | Schedule = 1e-3, decay_rate: float = 0.8, clipping_threshold: float | None = 1.0,
              multiply_by_parameter_scale: bool = True, epsilon1: float = 1e-30, epsilon2: float = 1e-3,
              momentum: float | None = None, factor_rules: Mapping[str, str] = STANDARD_LOGICAL_FACTOR_RULES,
              param_logical_axes: Any = None, min_dim_size_to_factor: int = 128, step_offset: int = 0,
              weight_decay_rate: float | None = None, max_parameter_scale: float | None = None,
              factored: bool = True) -> Optimizer:
    """Adafactor with t5x's defaults and update rule; factoring chosen by logical axis names."""
    schedule = _as_schedule(learning_rate)
    settings = dict(learning_rate=learning_rate, decay_rate=decay_rate, clipping_threshold=clipping_threshold,
                    multiply_by_parameter_scale=multiply_by_parameter_scale, epsilon1=epsilon1, epsilon2=epsilon2,
                    momentum=momentum, factor_rules=factor_rules, min_dim_size_to_factor=min_dim_size_to_factor,
                    step_offset=step_offset, weight_decay_rate=weight_decay_rate,
                    max_parameter_scale=max_parameter_scale, factored=factored)

    def plans(params: Any) -> Any:
        """Tree (params' structure) of FactorPlan for params (arrays or ShapeDtypeStructs)."""
        leaves_with_path, treedef = jax.tree_util.tree_flatten_with_path(params)
        if param_logical_axes is None:
            axes = [None] * len(leaves_with_path)
        else:
            axes = treedef.flatten_up_to(param_logical_axes) if not _is_spec(param_logical_axes) else None
            if axes is None:
                raise ValueError("Adafactor: param_logical_axes must be a tree like the parameters")
        out = []
        for (path, leaf), spec in zip(leaves_with_path, axes):
            if not factored:
                out.append(FactorPlan(ndim=len(leaf.shape)))
            else:
                out.append(factor_plan(leaf.shape, spec, factor_rules, min_dim_size_to_factor,
                                       where=jax.tree_util.keystr(path)))
        return jax.tree.unflatten(treedef, out)

    def init(params: Any) -> AdafactorState:
        leaves, treedef = jax.tree.flatten(params)
        moments = []
        for leaf, plan in zip(leaves, treedef.flatten_up_to(plans(params))):
            shape = tuple(leaf.shape)
            if plan.factored:
                moments.append({"v_row": jnp.zeros(_drop(shape, plan.col_dims), jnp.float32),
                                "v_col": jnp.zeros(_drop(shape, plan.row_dims), jnp.float32)})
            else:
                moments.append({"v": jnp.zeros(shape, jnp.float32)})
        momentum_tree = None
        if momentum is not None:
            momentum_tree = jax.tree.map(lambda p: jnp.zeros(p.shape, jnp.float32), params)
        return AdafactorState(jnp.zeros([], jnp.int32), jax.tree.unflatten(treedef, moments), momentum_tree)

    def update(grads: Any, state: AdafactorState, params: Any = None):
        if params is None:
            raise ValueError("Adafactor needs the parameters: call update(grads, state, params)")
        step = state.count
        rate = schedule(step)
        t = (step - step_offset).astype(jnp.float32) + 1.0
        decay = 1.0 - t ** (-decay_rate)
        mixing = 1.0 - decay
        leaves, treedef = jax.tree.flatten(params)
        grad_leaves = treedef.flatten_up_to(grads)
        moment_leaves = treedef.flatten_up_to(state.moments)
        plan_leaves = treedef.flatten_up_to(plans(params))
        momentum_leaves = treedef.flatten_up_to(state.momentum) if momentum is not None else [None] * len(leaves)
        updates, new_moments, new_momentum = [], [], []
        for param, grad, moment, plan, m in zip(leaves, grad_leaves, moment_leaves, plan_leaves, momentum_leaves):
            grad = grad.astype(jnp.float32)
            param32 = param.astype(jnp.float32)
            avg = plan.averaging_dims
            grad_sqr = grad * grad + epsilon1
            if plan.factored:
                v_row = decay * moment["v_row"] + mixing * jnp.mean(grad_sqr, axis=plan.col_dims)
                v_col = decay * moment["v_col"] + mixing * jnp.mean(grad_sqr, axis=plan.row_dims)
                row_dims_in_v_row = tuple(d - sum(c < d for c in plan.col_dims) for d in plan.row_dims)
                row_col_mean = jnp.mean(v_row, axis=row_dims_in_v_row, keepdims=True)
                row_factor = jax.lax.rsqrt(v_row / row_col_mean)
                col_factor = jax.lax.rsqrt(v_col)
                y = grad * jnp.expand_dims(row_factor, plan.col_dims) * jnp.expand_dims(col_factor, plan.row_dims)
                new_moments.append({"v_row": v_row, "v_col": v_col})
            else:
                v = decay * moment["v"] + mixing * grad_sqr
                y = grad * jax.lax.rsqrt(v)
                new_moments.append({"v": v})
            if clipping_threshold is not None:
                rms = jnp.sqrt(jnp.mean(y * y, axis=avg, keepdims=True))
                y = y / jnp.maximum(1.0, rms / clipping_threshold)
            scale = rate
            if multiply_by_parameter_scale:
                param_scale = jnp.maximum(jnp.sqrt(jnp.mean(param32 * param32, axis=avg, keepdims=True)), epsilon2)
                if max_parameter_scale is not None:
                    param_scale = jnp.minimum(param_scale, max_parameter_scale)
                scale = scale * param_scale
            subtrahend = scale * y
            if momentum is not None:
                subtrahend = momentum * m + (1.0 - momentum) * subtrahend
                new_momentum.append(subtrahend)
            update_leaf = -subtrahend
            if weight_decay_rate is not None:
                update_leaf = update_leaf - weight_decay_rate * param32
            updates.append(update_leaf.astype(param.dtype))
        new_state = AdafactorState(
            step + 1,
            jax.tree.unflatten(treedef, new_moments),
            jax.tree.unflatten(treedef, new_momentum) if momentum is not None else None,
        )
        return jax.tree.unflatten(treedef, updates), new_state

    def rebind(axes: Any) -> Optimizer:
        return adafactor(**settings, param_logical_axes=axes)

    return _optimizer(optax.GradientTransformation(init, update), schedule, factor_plans=plans, rebind=rebind)


# ---------------------------------------------------------------------------- AdamW
@gin.configurable(module="xlit")
def adamw(learning_rate: float | Schedule = 1e-4, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
          weight_decay: float = 0.0) -> Optimizer:
    """AdamW (optax) with a schedule; weight decay decoupled and applied to every parameter."""
    schedule = _as_schedule(learning_rate)
    return _optimizer(optax.adamw(schedule, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay), schedule)


# ---------------------------------------------------------------------------- the gin entry point
_FACTORIES: dict[str, Callable[..., Optimizer]] = {"adafactor": adafactor, "adamw": adamw}


@gin.configurable(module="xlit")
def make_optimizer(name: str = "adafactor", learning_rate_schedule: float | Schedule | None = None,
                   max_grad_norm: float | None = None, param_logical_axes: Any = None) -> Optimizer:
    """The named optimizer (adafactor | adamw) with a schedule (default constant 1e-3) and optional global-norm clipping."""
    if name not in _FACTORIES:
        raise ValueError(f"make_optimizer: unknown optimizer {name!r}; known: {sorted(_FACTORIES)}")
    schedule = _as_schedule(learning_rate_schedule if learning_rate_schedule is not None else constant_schedule())
    if name == "adafactor":
        inner = adafactor(learning_rate=schedule, param_logical_axes=param_logical_axes)
    else:
        inner = adamw(learning_rate=schedule)
    if not max_grad_norm:
        return inner

    def wrap(tx: Optimizer) -> Optimizer:
        chained = optax.chain(optax.clip_by_global_norm(max_grad_norm), tx)
        plans = tx.factor_plans
        return _optimizer(chained, schedule, factor_plans=plans,
                          rebind=(lambda axes: wrap(tx.rebind(axes))) if tx.rebind else None)

    return wrap(inner)


# ---------------------------------------------------------------------------- state sharding
def optimizer_state_logical_axes(optimizer: optax.GradientTransformation, params_logical_axes: Any,
                                 params_shapes: Any) -> Any:
    """Logical PartitionSpec of every optimizer-state leaf, same structure as `optimizer.init(params)`.

    Adafactor's v_row / v_col get the parameter's axes minus the factored-out dimensions; state
    leaves in a tree shaped like the parameters (Adam's mu/nu, Adafactor's v and momentum) get the
    parameter's axes when their shape equals the parameter's; everything else is replicated.
    """
    state_shapes = jax.eval_shape(optimizer.init, params_shapes)
    param_leaves, param_treedef = jax.tree.flatten(params_shapes)
    axes_leaves = param_treedef.flatten_up_to(params_logical_axes)
    plans = getattr(optimizer, "factor_plans", None)

    def like_params(tree: Any) -> Any:
        leaves = param_treedef.flatten_up_to(tree)
        out = [spec if (spec is not None and tuple(leaf.shape) == tuple(p.shape)) else PartitionSpec()
               for leaf, p, spec in zip(leaves, param_leaves, axes_leaves)]
        return jax.tree.unflatten(param_treedef, out)

    def adafactor_axes(state: AdafactorState) -> AdafactorState:
        if plans is None:
            raise ValueError("optimizer_state_logical_axes: an AdafactorState from an optimizer without factor plans")
        plan_leaves = param_treedef.flatten_up_to(plans(params_shapes))
        moment_leaves = param_treedef.flatten_up_to(state.moments)
        out = []
        for p, spec, plan, moment in zip(param_leaves, axes_leaves, plan_leaves, moment_leaves):
            names = tuple(spec) if spec is not None else None
            if plan.factored:
                entry = {"v_row": PartitionSpec(*_drop(names, plan.col_dims)) if names else PartitionSpec(),
                         "v_col": PartitionSpec(*_drop(names, plan.row_dims)) if names else PartitionSpec()}
                expected = {"v_row": _drop(tuple(p.shape), plan.col_dims), "v_col": _drop(tuple(p.shape), plan.row_dims)}
            else:
                entry = {"v": PartitionSpec(*names) if names else PartitionSpec()}
                expected = {"v": tuple(p.shape)}
            for key, shape in expected.items():
                if tuple(moment[key].shape) != shape:
                    raise ValueError(f"Adafactor state {key} has shape {tuple(moment[key].shape)}, plan says {shape}")
            out.append(entry)
        momentum_axes = like_params(state.momentum) if state.momentum is not None else None
        return AdafactorState(PartitionSpec(), jax.tree.unflatten(param_treedef, out), momentum_axes)

    def is_special(node: Any) -> bool:
        if isinstance(node, AdafactorState):
            return True
        if isinstance(node, (dict, list, tuple)) and not isinstance(node, AdafactorState) and node:
            try:
                return jax.tree.structure(node) == param_treedef
            except Exception:  # noqa: BLE001
                return False
        return False

    def convert(node: Any) -> Any:
        if isinstance(node, AdafactorState):
            return adafactor_axes(node)
        if is_special(node):
            return like_params(node)
        return PartitionSpec()

    return jax.tree.map(convert, state_shapes, is_leaf=is_special)
