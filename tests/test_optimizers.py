"""Adafactor against a NumPy reimplementation of t5x's update; schedules; derived state axes/shardings."""
import gin
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import PartitionSpec as P

from xlit_jax import optimizers
from xlit_jax.models import mt5
from xlit_jax.partitioning import Partitioner


def numpy_adafactor(params, grads_per_step, lr=1e-2, decay_rate=0.8, clip=1.0, eps1=1e-30, eps2=1e-3,
                    min_dim=4, momentum=None, scale_by_param=True):
    """t5x's Adafactor step by step in float64 with its own heuristic factoring (two largest dims)."""
    params = {k: v.astype(np.float64).copy() for k, v in params.items()}
    state = {}
    for name, p in params.items():
        dims = None
        if p.ndim >= 2:
            order = np.argsort(p.shape, kind="stable")
            if p.shape[order[-2]] >= min_dim:
                dims = (int(order[-2]), int(order[-1]))  # (kept in v_row, reduced for v_row)
        state[name] = {"dims": dims, "m": np.zeros_like(p)}
        if dims:
            state[name]["v_row"] = np.zeros(np.delete(p.shape, dims[1]))
            state[name]["v_col"] = np.zeros(np.delete(p.shape, dims[0]))
        else:
            state[name]["v"] = np.zeros_like(p)
    for step, grads in enumerate(grads_per_step):
        decay = 1.0 - (step + 1.0) ** (-decay_rate)
        for name, p in params.items():
            g = grads[name].astype(np.float64)
            s = state[name]
            g2 = g * g + eps1
            if s["dims"]:
                d_row, d_col = s["dims"]
                s["v_row"] = decay * s["v_row"] + (1 - decay) * g2.mean(axis=d_col)
                s["v_col"] = decay * s["v_col"] + (1 - decay) * g2.mean(axis=d_row)
                row_factor = (s["v_row"] / s["v_row"].mean()) ** -0.5
                col_factor = s["v_col"] ** -0.5
                y = g * np.expand_dims(row_factor, d_col) * np.expand_dims(col_factor, d_row)
            else:
                s["v"] = decay * s["v"] + (1 - decay) * g2
                y = g / np.sqrt(s["v"])
            if clip is not None:
                y = y / max(1.0, np.sqrt(np.mean(y * y)) / clip)
            scale = lr * max(eps2, np.sqrt(np.mean(p * p))) if scale_by_param else lr
            update = scale * y
            if momentum is not None:
                s["m"] = momentum * s["m"] + (1 - momentum) * update
                update = s["m"]
            params[name] = p - update
    return params


PARAM_AXES = {
    "kernel_in": P("embed", "mlp"),
    "kernel_out": P("mlp", "embed"),
    "embedding": P("vocab", "embed"),
    "scale": P("embed"),
    "relpos": P("heads", "relpos_buckets"),
    "query": P("embed", "joined_kv"),  # t5x's heuristic would keep joined_kv in v_row: same updates
}


def _params_and_grads(steps=4, seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"kernel_in": (6, 10), "kernel_out": (10, 6), "embedding": (12, 6), "scale": (6,), "relpos": (3, 8),
              "query": (10, 6)}
    params = {k: rng.normal(size=s).astype(np.float32) * 0.5 for k, s in shapes.items()}
    grads = [{k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
             for _ in range(steps)]
    return params, grads


def _run(optimizer, params, grads_per_step):
    params = jax.tree.map(jnp.asarray, params)
    state = optimizer.init(params)
    update = jax.jit(optimizer.update)
    for grads in grads_per_step:
        updates, state = update(jax.tree.map(jnp.asarray, grads), state, params)
        params = optax.apply_updates(params, updates)
    return params, state


@pytest.mark.parametrize("variant", [
    {},
    {"momentum": 0.9},
    {"clipping_threshold": None, "multiply_by_parameter_scale": False},
    {"decay_rate": 0.5, "clipping_threshold": 0.05},
])
def test_adafactor_matches_numpy_t5x_reference(variant):
    params, grads = _params_and_grads()
    ours = optimizers.adafactor(learning_rate=1e-2, param_logical_axes=PARAM_AXES, min_dim_size_to_factor=4, **variant)
    got, state = _run(ours, params, grads)
    want = numpy_adafactor(params, grads, lr=1e-2, min_dim=4, momentum=variant.get("momentum"),
                           decay_rate=variant.get("decay_rate", 0.8),
                           clip=variant.get("clipping_threshold", 1.0),
                           scale_by_param=variant.get("multiply_by_parameter_scale", True))
    for name in params:
        np.testing.assert_allclose(got[name], want[name], rtol=2e-5, atol=1e-6, err_msg=name)
    assert int(state.count) == len(grads)


def test_adafactor_factored_state_shapes_follow_logical_names():
    params, _ = _params_and_grads()
    state = optimizers.adafactor(param_logical_axes=PARAM_AXES, min_dim_size_to_factor=4).init(params)
    m = state.moments
    assert m["kernel_in"]["v_row"].shape == (6,) and m["kernel_in"]["v_col"].shape == (10,)  # embed row, mlp column
    assert m["kernel_out"]["v_row"].shape == (6,) and m["kernel_out"]["v_col"].shape == (10,)
    assert m["embedding"]["v_row"].shape == (6,) and m["embedding"]["v_col"].shape == (12,)
    assert set(m["scale"]) == {"v"} and m["scale"]["v"].shape == (6,)
    assert set(m["relpos"]) == {"v"}  # relpos_buckets is NONE: not factored
    assert m["query"]["v_row"].shape == (10,) and m["query"]["v_col"].shape == (6,)
    # t5x's default threshold (128) leaves these small matrices unfactored.
    assert set(optimizers.adafactor(param_logical_axes=PARAM_AXES).init(params).moments["kernel_in"]) == {"v"}
    # 3-D with a batch ('layers') dimension: statistics per layer.
    plan = optimizers.factor_plan((2, 6, 10), P("layers", "embed", "mlp"), min_dim_size_to_factor=4)
    assert (plan.row_dims, plan.col_dims, plan.batch_dims) == ((1,), (2,), (0,))
    with pytest.raises(ValueError, match="no factor rule"):
        optimizers.factor_plan((4, 4), P("embed", "unknown_axis"))


def test_schedules():
    assert float(optimizers.constant_schedule()(123)) == pytest.approx(1e-3)
    rsqrt = optimizers.rsqrt_schedule(base=1.0, warmup_steps=100)
    assert float(rsqrt(10)) == pytest.approx(0.1) and float(rsqrt(400)) == pytest.approx(0.05)
    ramp = optimizers.rsqrt_schedule(base=1.0, warmup_steps=100, linear_warmup=True)
    assert float(ramp(49)) == pytest.approx(0.05)
    linear = optimizers.linear_schedule(init_value=1.0, end_value=0.0, decay_steps=10, warmup_steps=5)
    assert float(linear(0)) == 0.0 and float(linear(5)) == pytest.approx(1.0) and float(linear(10)) == pytest.approx(0.5)
    cosine = optimizers.cosine_schedule(peak_value=2.0, decay_steps=100, warmup_steps=10)
    assert float(cosine(10)) == pytest.approx(2.0) and float(cosine(100)) == pytest.approx(0.0, abs=1e-6)
    assert optimizers.learning_rate_schedule(optimizers.make_optimizer(learning_rate_schedule=0.5))(7) == 0.5


def test_make_optimizer_global_norm_clipping():
    params, grads = _params_and_grads(steps=1)
    norm = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads[0].values()))
    clipped = [{k: g * (0.5 / norm) for k, g in grads[0].items()}]
    with gin.unlock_config():
        gin.bind_parameter("xlit.adafactor.epsilon1", 1.0)  # makes Adafactor sensitive to gradient scale
    try:
        got, _ = _run(optimizers.make_optimizer(max_grad_norm=0.5, param_logical_axes=PARAM_AXES), params, grads)
        unclipped, _ = _run(optimizers.make_optimizer(param_logical_axes=PARAM_AXES), params, grads)
    finally:
        gin.clear_config()
    want = numpy_adafactor(params, clipped, lr=1e-3, eps1=1.0, min_dim=128)
    for name in params:
        np.testing.assert_allclose(got[name], want[name], rtol=2e-5, atol=1e-6, err_msg=name)
    assert not np.allclose(got["kernel_in"], unclipped["kernel_in"])
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.make_optimizer(name="sgd")


TINY = mt5.MT5Config(vocab_size=256, emb_dim=128, num_heads=4, head_dim=32, mlp_dim=256, num_encoder_layers=1,
                     num_decoder_layers=1)


def test_adafactor_state_axes_are_derived_not_copied():
    axes, shapes = mt5.param_logical_axes(TINY), mt5.param_shapes(TINY)
    optimizer = optimizers.make_optimizer(param_logical_axes=axes)
    state_axes = optimizers.optimizer_state_logical_axes(optimizer, axes, shapes)
    moments = state_axes.moments
    assert moments["token_embedder"]["embedding"] == {"v_row": P("embed"), "v_col": P("vocab")}
    assert moments["decoder"]["logits_dense"]["kernel"] == {"v_row": P("embed"), "v_col": P("vocab")}
    assert moments["encoder"]["layers_0"]["mlp"]["wo"]["kernel"] == {"v_row": P("embed"), "v_col": P("mlp")}
    assert moments["encoder"]["layers_0"]["attention"]["query"]["kernel"] == {"v_row": P("embed"),
                                                                              "v_col": P("joined_kv")}
    assert moments["encoder"]["relpos_bias"]["rel_embedding"] == {"v": P("heads", "relpos_buckets")}
    assert moments["encoder"]["encoder_norm"]["scale"] == {"v": P("embed")}
    assert state_axes.count == P()
    # Every spec names exactly the dimensions of its leaf.
    state_shapes = jax.eval_shape(optimizer.init, shapes)
    for spec, leaf in zip(jax.tree.leaves(state_axes), jax.tree.leaves(state_shapes)):
        assert spec == P() or len(spec) == len(leaf.shape)

    partitioner = Partitioner(num_partitions=2)
    shardings = partitioner.logical_to_sharding(state_axes)
    assert shardings.moments["token_embedder"]["embedding"]["v_col"].spec == P("model")
    assert shardings.moments["token_embedder"]["embedding"]["v_row"].spec == P(None)
    fsdp = Partitioner(num_partitions=2, fsdp=True).logical_to_sharding(state_axes)
    assert fsdp.moments["token_embedder"]["embedding"]["v_row"].spec == P("data")
    state = jax.jit(optimizer.init, out_shardings=shardings)(jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes))
    assert state.moments["decoder"]["logits_dense"]["kernel"]["v_col"].sharding.spec == P("model")


def test_adamw_state_axes_match_params_and_chained_clipping():
    axes, shapes = mt5.param_logical_axes(TINY), mt5.param_shapes(TINY)
    optimizer = optimizers.make_optimizer(name="adamw", max_grad_norm=1.0)
    state_axes = optimizers.optimizer_state_logical_axes(optimizer, axes, shapes)
    adam_state = state_axes[1][0]
    assert adam_state.mu["token_embedder"]["embedding"] == P("vocab", "embed")
    assert adam_state.nu["decoder"]["layers_0"]["mlp"]["wi_0"]["kernel"] == P("embed", "mlp")
    assert adam_state.count == P()
