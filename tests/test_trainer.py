"""Trainer: sharded steps equal single-device steps, microbatching equals one big batch in every
normalization mode, init from given params, abstract state for restore, eval metrics, bf16, dropout."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from xlit_jax import optimizers
from xlit_jax.models import mt5
from xlit_jax.partitioning import Partitioner
from xlit_jax.trainer import Trainer

TINY = mt5.MT5Config(vocab_size=64, emb_dim=16, num_heads=4, head_dim=4, mlp_dim=32, num_encoder_layers=1,
                     num_decoder_layers=1)
STEPS = 3


def make_batch(seed: int, batch_size: int = 8, input_length: int = 12, target_length: int = 6, packed: bool = False):
    rng = np.random.default_rng(seed)
    enc = rng.integers(2, TINY.vocab_size, (batch_size, input_length)).astype(np.int32)
    tgt = rng.integers(2, TINY.vocab_size, (batch_size, target_length)).astype(np.int32)
    for row in range(batch_size):
        enc[row, rng.integers(input_length // 2, input_length + 1):] = 0
        tgt[row, rng.integers(2, target_length + 1):] = 0
    batch = {"encoder_input_tokens": enc, "decoder_target_tokens": tgt,
             "decoder_input_tokens": np.concatenate([np.zeros((batch_size, 1), np.int32), tgt[:, :-1]], 1),
             "decoder_loss_weights": (tgt > 0).astype(np.int32)}
    if packed:  # two segments per row: the first 3 target tokens and the rest
        enc_seg = np.where(enc > 0, 1 + (np.arange(input_length) >= input_length // 2), 0).astype(np.int32)
        dec_seg = np.where(tgt > 0, 1 + (np.arange(target_length) >= 3), 0).astype(np.int32)
        batch["decoder_input_tokens"][:, 3] = 0
        batch.update(encoder_segment_ids=enc_seg, decoder_segment_ids=dec_seg,
                     encoder_positions=(np.arange(input_length) % (input_length // 2))[None].repeat(batch_size, 0).astype(np.int32),
                     decoder_positions=(np.arange(target_length) % 3)[None].repeat(batch_size, 0).astype(np.int32))
    return batch


def factored_adafactor():
    """t5x Adafactor with a small factoring threshold so the tiny model's matrices are factored."""
    return optimizers.adafactor(learning_rate=1e-2, min_dim_size_to_factor=8)


def run(trainer: Trainer, steps: int = STEPS, packed: bool = False, seed: int = 0):
    state = trainer.init_state(jax.random.PRNGKey(seed))
    history = []
    for step in range(steps):
        state, metrics = trainer.train_step(state, trainer.make_global_batch(make_batch(step, packed=packed)))
        history.append({k: float(v) for k, v in metrics.items()})
    return state, history


def host(tree):
    return jax.tree.map(lambda x: np.asarray(jax.device_get(x)), tree)


@pytest.fixture(scope="module")
def single_device_run():
    trainer = Trainer(TINY, optimizer=factored_adafactor(), partitioner=Partitioner(devices=jax.devices()[:1]))
    state, history = run(trainer)
    return host(state), history


@pytest.mark.parametrize("num_partitions,fsdp,num_microbatches", [
    pytest.param(1, False, 1, marks=pytest.mark.slow),  # 8x1 data parallel
    (2, False, 2),  # 4x2, with gradient accumulation
    pytest.param(4, False, 1, marks=pytest.mark.slow),  # 2x4
    (2, True, 1),   # 4x2 fsdp
])
def test_sharded_steps_equal_single_device(single_device_run, num_partitions, fsdp, num_microbatches):
    want_state, want_history = single_device_run
    partitioner = Partitioner(num_partitions=num_partitions, fsdp=fsdp)
    trainer = Trainer(TINY, optimizer=factored_adafactor(), partitioner=partitioner, num_microbatches=num_microbatches)
    state, history = run(trainer)
    for got, want in zip(history, want_history):
        for name in ("loss", "z_loss", "accuracy", "grad_norm", "num_target_tokens", "num_sequences", "learning_rate"):
            np.testing.assert_allclose(got[name], want[name], rtol=2e-5, atol=1e-6, err_msg=name)
    got_state = host(state)
    assert int(got_state.step) == STEPS
    for got, want in zip(jax.tree.leaves(got_state.params), jax.tree.leaves(want_state.params)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-6)
    for got, want in zip(jax.tree.leaves(got_state.opt_state), jax.tree.leaves(want_state.opt_state)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-8)
    # The state lives where state_shardings() says, including the derived Adafactor leaves.
    shardings = trainer.state_shardings()
    for leaf, sharding in zip(jax.tree.leaves(state), jax.tree.leaves(shardings)):
        assert leaf.sharding.is_equivalent_to(sharding, leaf.ndim)
    embedding_moments = state.opt_state.moments["token_embedder"]["embedding"]
    assert set(embedding_moments) == {"v_row", "v_col"}
    assert embedding_moments["v_col"].sharding.spec == P("model")  # derived from ('vocab',)


@pytest.mark.parametrize("loss_normalization,packed", [
    ("num_real_target_tokens", False),
    ("average_per_sequence", True),
    pytest.param("num_total_target_tokens", False, marks=pytest.mark.slow),
    pytest.param("average_per_sequence", False, marks=pytest.mark.slow),
    pytest.param(7.0, False, marks=pytest.mark.slow),
    pytest.param("none", True, marks=pytest.mark.slow),
])
def test_microbatches_equal_one_big_batch(loss_normalization, packed):
    device = Partitioner(devices=jax.devices()[:1])
    results = []
    for num_microbatches in (1, 4):
        trainer = Trainer(TINY, optimizer=factored_adafactor(), partitioner=device,
                          loss_normalization=loss_normalization, num_microbatches=num_microbatches)
        state, history = run(trainer, steps=1, packed=packed)
        results.append((host(state.params), history[0]))
    (params_1, metrics_1), (params_4, metrics_4) = results
    for name in ("loss", "z_loss", "cross_entropy", "accuracy", "grad_norm", "num_target_tokens", "num_sequences"):
        np.testing.assert_allclose(metrics_4[name], metrics_1[name], rtol=1e-5, atol=1e-7, err_msg=name)
    for got, want in zip(jax.tree.leaves(params_4), jax.tree.leaves(params_1)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_eval_step_matches_manual_forward():
    """Eval loss is the per-token mean NLL, accuracy the argmax hit rate, against a NumPy computation."""
    trainer = Trainer(TINY, partitioner=Partitioner(devices=jax.devices()[:1]), z_loss=0.0)
    params = mt5.init_params(TINY, jax.random.PRNGKey(3))
    batch = make_batch(0)
    logits = np.asarray(trainer.model.apply({"params": params}, batch["encoder_input_tokens"],
                                            batch["decoder_input_tokens"], batch["decoder_target_tokens"],
                                            enable_dropout=False), np.float64)
    log_probs = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    token_nll = -np.take_along_axis(log_probs, batch["decoder_target_tokens"][..., None], -1)[..., 0]
    weights = batch["decoder_loss_weights"]
    metrics = trainer.eval_step(trainer.init_state(jax.random.PRNGKey(0), params).params,
                                trainer.make_global_batch(batch))
    np.testing.assert_allclose(float(metrics["loss"]), (token_nll * weights).sum() / weights.sum(), rtol=1e-5)
    assert float(metrics["num_target_tokens"]) == weights.sum()
    correct = (logits.argmax(-1) == batch["decoder_target_tokens"]) & (weights > 0)
    np.testing.assert_allclose(float(metrics["accuracy"]), correct.sum() / weights.sum(), rtol=1e-6)


def test_init_state_from_given_params_and_abstract_state():
    partitioner = Partitioner(num_partitions=2)
    trainer = Trainer(TINY, optimizer=factored_adafactor(), partitioner=partitioner)
    given = host(mt5.init_params(TINY, jax.random.PRNGKey(7)))
    state = trainer.init_state(jax.random.PRNGKey(0), params=given)
    for got, want in zip(jax.tree.leaves(host(state.params)), jax.tree.leaves(given)):
        np.testing.assert_array_equal(got, want)
    assert int(state.step) == 0 and state.rng.dtype == jnp.uint32
    assert all(float(jnp.abs(x).max()) == 0.0 for x in jax.tree.leaves(state.opt_state.moments))
    abstract = trainer.abstract_state()
    assert jax.tree.structure(abstract) == jax.tree.structure(state)
    for a, leaf in zip(jax.tree.leaves(abstract), jax.tree.leaves(state)):
        assert a.shape == leaf.shape and a.dtype == leaf.dtype
        assert a.sharding.is_equivalent_to(leaf.sharding, leaf.ndim)
    bad = dict(given, token_embedder={"embedding": np.zeros((3, TINY.emb_dim), np.float32)})
    with pytest.raises(ValueError, match=r"token_embedder.*embedding.*shape"):
        trainer.init_state(jax.random.PRNGKey(0), params=bad)


@pytest.mark.slow
def test_bfloat16_activations_keep_float32_params(single_device_run):
    _, want_history = single_device_run
    config = dataclasses.replace(TINY, dtype="bfloat16")
    trainer = Trainer(config, optimizer=factored_adafactor(), partitioner=Partitioner(devices=jax.devices()[:1]))
    state, history = run(trainer)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state.params))
    for got, want in zip(history, want_history):
        np.testing.assert_allclose(got["loss"], want["loss"], rtol=3e-2)


@pytest.mark.slow
def test_dropout_masks_depend_on_step_only_so_resume_is_exact():
    config = dataclasses.replace(TINY, dropout_rate=0.3)
    trainer = Trainer(config, partitioner=Partitioner(num_partitions=2))
    uninterrupted, history = run(trainer, steps=2)
    state = trainer.init_state(jax.random.PRNGKey(0))
    state, _ = trainer.train_step(state, trainer.make_global_batch(make_batch(0)))
    saved = host(state)  # "checkpoint" after step 1, then resume from the host copy
    resumed = trainer.init_state(jax.random.PRNGKey(99), params=saved.params)
    resumed = resumed.replace(step=jnp.asarray(saved.step), rng=jnp.asarray(saved.rng),
                              opt_state=jax.tree.map(jnp.asarray, saved.opt_state))
    resumed = jax.device_put(resumed, trainer.state_shardings())
    resumed, metrics = trainer.train_step(resumed, trainer.make_global_batch(make_batch(1)))
    assert float(metrics["loss"]) == history[1]["loss"]
    for got, want in zip(jax.tree.leaves(host(resumed.params)), jax.tree.leaves(host(uninterrupted.params))):
        np.testing.assert_array_equal(got, want)
    no_dropout = Trainer(TINY, partitioner=Partitioner(num_partitions=2))
    assert run(no_dropout, steps=1)[1][0]["loss"] != history[0]["loss"]


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="num_microbatches"):
        Trainer(TINY, num_microbatches=0)
    with pytest.raises(ValueError, match="loss_normalization"):
        Trainer(TINY, loss_normalization="per_token")
    trainer = Trainer(TINY, num_microbatches=3)
    with pytest.raises(ValueError, match="not divisible by num_microbatches=3"):
        trainer.make_global_batch(make_batch(0))
