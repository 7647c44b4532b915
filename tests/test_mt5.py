"""The model's own behaviour: parameter tree, packing, decode cache, logical axes, dtypes."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xlit_jax.models import mt5

CFG = mt5.MT5Config(vocab_size=101, emb_dim=32, num_heads=4, num_encoder_layers=2, num_decoder_layers=2,
                    head_dim=8, mlp_dim=64, relative_attention_num_buckets=8, relative_attention_max_distance=16)


@pytest.fixture(scope="module")
def params():
    return mt5.init_params(CFG, jax.random.key(0))


def _flat(tree, prefix=""):
    out = {}
    for key, value in tree.items():
        path = f"{prefix}/{key}" if prefix else key
        out.update(_flat(value, path) if isinstance(value, dict) else {path: value})
    return out


def test_parameter_tree_is_t5x(params):
    flat = {k: v.shape for k, v in _flat(params).items()}
    d, j, m, v, h, b = 32, 32, 64, 101, 4, 8
    assert flat["token_embedder/embedding"] == (v, d)
    for stack, attn in [("encoder", ["attention"]), ("decoder", ["self_attention", "encoder_decoder_attention"])]:
        assert flat[f"{stack}/relpos_bias/rel_embedding"] == (h, b)
        for i in range(2):
            for a in attn:
                for name in ("query", "key", "value"):
                    assert flat[f"{stack}/layers_{i}/{a}/{name}/kernel"] == (d, j)
                assert flat[f"{stack}/layers_{i}/{a}/out/kernel"] == (j, d)
            assert flat[f"{stack}/layers_{i}/mlp/wi_0/kernel"] == (d, m)
            assert flat[f"{stack}/layers_{i}/mlp/wi_1/kernel"] == (d, m)
            assert flat[f"{stack}/layers_{i}/mlp/wo/kernel"] == (m, d)
    for i in range(2):
        for norm in ("pre_self_attention_layer_norm", "pre_cross_attention_layer_norm", "pre_mlp_layer_norm"):
            assert flat[f"decoder/layers_{i}/{norm}/scale"] == (d,)
        assert flat[f"encoder/layers_{i}/pre_attention_layer_norm/scale"] == (d,)
    assert flat["encoder/encoder_norm/scale"] == (d,)
    assert flat["decoder/decoder_norm/scale"] == (d,)
    assert flat["decoder/logits_dense/kernel"] == (d, v)
    # embedding; encoder: relpos, norm, 2 x (4 attention + 3 mlp + 2 norms); decoder: relpos, norm, head,
    # 2 x (8 attention + 3 mlp + 3 norms)
    assert len(flat) == 1 + (2 + 2 * 9) + (3 + 2 * 14)
    assert all(x.dtype == jnp.float32 for x in _flat(params).values())


def test_logical_axes_cover_every_parameter(params):
    axes = _flat(mt5.param_logical_axes(CFG))
    assert set(axes) == set(_flat(params))
    assert tuple(axes["token_embedder/embedding"]) == ("vocab", "embed")
    assert tuple(axes["encoder/layers_0/attention/query/kernel"]) == ("embed", "joined_kv")
    assert tuple(axes["decoder/layers_1/mlp/wo/kernel"]) == ("mlp", "embed")
    assert tuple(axes["decoder/relpos_bias/rel_embedding"]) == ("heads", "relpos_buckets")
    assert tuple(axes["decoder/logits_dense/kernel"]) == ("embed", "vocab")


def test_tied_t5_1_0_variant_has_no_head_and_relu_mlp():
    cfg = mt5.MT5Config(**{**CFG.to_dict(), "logits_via_embedding": True, "mlp_activations": ["relu"]})
    flat = _flat(mt5.param_shapes(cfg))
    assert "decoder/logits_dense/kernel" not in flat
    assert "encoder/layers_0/mlp/wi/kernel" in flat and "encoder/layers_0/mlp/wi_0/kernel" not in flat


def _run(params, enc, dec_in, dec_tgt, **kw):
    return np.asarray(mt5.Transformer(CFG).apply({"params": params}, jnp.asarray(enc), jnp.asarray(dec_in),
                                                 jnp.asarray(dec_tgt), enable_dropout=False, **kw))


def test_packed_examples_equal_examples_run_apart(params):
    rng = np.random.default_rng(1)
    enc_a, enc_b = rng.integers(2, 101, 7), rng.integers(2, 101, 5)
    tgt_a, tgt_b = rng.integers(2, 101, 4), rng.integers(2, 101, 6)
    shift = lambda t: np.concatenate([[0], t[:-1]])
    packed_enc = np.concatenate([enc_a, enc_b, [0, 0]])[None]
    packed_tgt = np.concatenate([tgt_a, tgt_b])[None]
    packed_in = np.concatenate([shift(tgt_a), shift(tgt_b)])[None]
    enc_seg = np.array([[1] * 7 + [2] * 5 + [0, 0]])
    dec_seg = np.array([[1] * 4 + [2] * 6])
    enc_pos = np.array([list(range(7)) + list(range(5)) + [0, 0]])
    dec_pos = np.array([list(range(4)) + list(range(6))])
    packed = _run(params, packed_enc, packed_in, packed_tgt, encoder_segment_ids=enc_seg,
                  decoder_segment_ids=dec_seg, encoder_positions=enc_pos, decoder_positions=dec_pos)[0]
    alone_a = _run(params, enc_a[None], shift(tgt_a)[None], tgt_a[None])[0]
    alone_b = _run(params, enc_b[None], shift(tgt_b)[None], tgt_b[None])[0]
    np.testing.assert_allclose(packed[:4], alone_a, atol=1e-5)
    np.testing.assert_allclose(packed[4:], alone_b, atol=1e-5)


def test_padding_does_not_change_real_positions(params):
    rng = np.random.default_rng(2)
    enc, tgt = rng.integers(2, 101, (1, 6)), rng.integers(2, 101, (1, 5))
    dec = np.concatenate([np.zeros((1, 1), int), tgt[:, :-1]], 1)
    short = _run(params, enc, dec, tgt)
    padded = _run(params, np.pad(enc, ((0, 0), (0, 4))), np.pad(dec, ((0, 0), (0, 3))), np.pad(tgt, ((0, 0), (0, 3))))
    np.testing.assert_allclose(padded[:, :5], short, atol=1e-5)


def test_incremental_decoding_with_cache_equals_teacher_forcing(params):
    rng = np.random.default_rng(3)
    batch, length = 3, 7
    enc = rng.integers(2, 101, (batch, 9))
    enc[1, 6:] = 0
    tgt = rng.integers(2, 101, (batch, length))
    dec = np.concatenate([np.zeros((batch, 1), int), tgt[:, :-1]], 1)
    full = _run(params, enc, dec, tgt)
    model = mt5.Transformer(CFG)
    encoded = model.apply({"params": params}, jnp.asarray(enc), enable_dropout=False, method=mt5.Transformer.encode)
    cache = mt5.init_decoder_cache(model, params, batch, length, enc.shape[1])
    steps = []
    for t in range(length):
        token = jnp.asarray(dec[:, t:t + 1])
        logits, mutated = model.apply({"params": params, "cache": cache}, encoded, jnp.asarray(enc), token, token,
                                      enable_dropout=False, decode=True, max_decode_length=length,
                                      mutable=["cache"], method=mt5.Transformer.decode)
        cache = mutated["cache"]
        steps.append(np.asarray(logits[:, 0]))
    np.testing.assert_allclose(np.stack(steps, 1), full, atol=1e-5)


def test_bfloat16_activations_keep_float32_params_and_logits(params):
    cfg = mt5.MT5Config(**{**CFG.to_dict(), "dtype": "bfloat16"})
    enc = np.full((2, 5), 3)
    logits = mt5.Transformer(cfg).apply({"params": params}, enc, enc, enc, enable_dropout=False)
    assert logits.dtype == jnp.float32
    reference = _run(params, enc, enc, enc)
    assert np.abs(np.asarray(logits) - reference).max() < 0.1 * np.abs(reference).max() + 0.1


def test_dropout_is_active_only_when_enabled(params):
    cfg = mt5.MT5Config(**{**CFG.to_dict(), "dropout_rate": 0.5})
    model = mt5.Transformer(cfg)
    enc = np.full((2, 5), 3)
    off1 = model.apply({"params": params}, enc, enc, enc, enable_dropout=False)
    off2 = model.apply({"params": params}, enc, enc, enc, enable_dropout=False)
    on = model.apply({"params": params}, enc, enc, enc, enable_dropout=True, rngs={"dropout": jax.random.key(1)})
    np.testing.assert_array_equal(off1, off2)
    assert np.abs(np.asarray(on) - np.asarray(off1)).max() > 1e-3


def test_remat_policies_give_same_gradients(params):
    enc = np.arange(2, 12).reshape(2, 5)

    def grads(policy):
        model = mt5.Transformer(mt5.MT5Config(**{**CFG.to_dict(), "remat_policy": policy}))
        loss = lambda p: model.apply({"params": p}, enc, enc, enc, enable_dropout=False).sum()
        return jax.grad(loss)(params)

    for a, b in zip(jax.tree.leaves(grads("none")), jax.tree.leaves(grads("full"))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_config_round_trip_and_errors():
    assert mt5.MT5Config.from_dict(CFG.to_dict()) == CFG
    with pytest.raises(ValueError, match="unknown fields"):
        mt5.MT5Config.from_dict({"emb_dimm": 3})
    with pytest.raises(ValueError, match="mlp_activations"):
        mt5.MT5Config(mlp_activations=("gelu", "swish2"))


def test_relative_position_buckets_match_the_reference_formula():
    torch = pytest.importorskip("torch")
    from transformers.models.mt5.modeling_mt5 import MT5Attention
    for bidirectional, buckets, distance in [(True, 32, 128), (False, 32, 128), (True, 8, 20), (False, 16, 50)]:
        ours = mt5.relative_position_buckets(300, 300, bidirectional, buckets, distance)
        relative = torch.arange(300)[None, :] - torch.arange(300)[:, None]
        theirs = MT5Attention._relative_position_bucket(relative, bidirectional=bidirectional,
                                                        num_buckets=buckets, max_distance=distance).numpy()
        np.testing.assert_array_equal(ours, theirs)


def _dot_dtypes(jaxpr, out=None):
    """Counter of ((operand dtypes), output dtype) over every dot_general, sub-jaxprs included."""
    import collections
    out = collections.Counter() if out is None else out
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            out[(tuple(str(v.aval.dtype) for v in eqn.invars), str(eqn.outvars[0].aval.dtype))] += 1
        for value in eqn.params.values():
            for sub in value if isinstance(value, (list, tuple)) else [value]:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    _dot_dtypes(inner, out)
    return out


def test_bfloat16_train_step_computes_in_bfloat16_and_keeps_float32_params_and_state():
    """Mixed precision on any backend (CPU here): bf16 matmuls in forward and backward, fp32 params,
    gradients and Adafactor state, a loss close to the fp32 step's."""
    from xlit_jax import optimizers
    from xlit_jax.partitioning import Partitioner
    from xlit_jax.trainer import Trainer

    rng = np.random.default_rng(0)
    targets = rng.integers(2, CFG.vocab_size, (2, 8)).astype(np.int32)
    host_batch = {"encoder_input_tokens": rng.integers(2, CFG.vocab_size, (2, 16)).astype(np.int32),
                  "decoder_input_tokens": np.concatenate([np.zeros((2, 1), np.int32), targets[:, :-1]], 1),
                  "decoder_target_tokens": targets, "decoder_loss_weights": np.ones_like(targets)}
    losses, dots = {}, {}
    for dtype in ("float32", "bfloat16"):
        trainer = Trainer(mt5.MT5Config(**{**CFG.to_dict(), "dtype": dtype}),
                          optimizer=optimizers.adafactor(learning_rate=1e-2),
                          partitioner=Partitioner(devices=jax.devices()[:1]))
        state = trainer.init_state(jax.random.key(0))
        batch = trainer.make_global_batch(host_batch)
        with jax.set_mesh(trainer.partitioner.mesh), trainer.partitioner.axis_rules_context():
            dots[dtype] = _dot_dtypes(jax.make_jaxpr(trainer._train_step)(state, batch).jaxpr)
        state, metrics = trainer.train_step(state, batch)
        state, metrics = trainer.train_step(state, batch)
        losses[dtype] = float(metrics["loss"])
        assert {leaf.dtype for leaf in jax.tree.leaves(state.params)} == {jnp.dtype(jnp.float32)}
        assert {leaf.dtype for leaf in jax.tree.leaves(state.opt_state) if leaf.ndim} == {jnp.dtype(jnp.float32)}
    assert all("bfloat16" not in operands for operands, _ in dots["float32"])
    total = sum(dots["bfloat16"].values())
    both_bf16 = sum(n for (operands, _), n in dots["bfloat16"].items() if operands == ("bfloat16", "bfloat16"))
    # all but the attention-logit gradients (float32 cotangents of float32 logits) multiply two bf16 operands
    assert all("bfloat16" in operands for operands, _ in dots["bfloat16"])
    assert both_bf16 >= 0.85 * total, dots["bfloat16"]
    assert losses["bfloat16"] == pytest.approx(losses["float32"], rel=2e-2)
    assert losses["bfloat16"] != losses["float32"]  # it really ran in another precision
