"""Rank classification: the shared-encoder scorer equals the naive full-model reference."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xlit_jax import batching, scoring
from xlit_jax.models import mt5

CFG = mt5.MT5Config(vocab_size=97, emb_dim=32, num_heads=4, num_encoder_layers=2, num_decoder_layers=2,
                    head_dim=8, mlp_dim=64, relative_attention_num_buckets=8, relative_attention_max_distance=16)
MODEL = mt5.Transformer(CFG)


@pytest.fixture(scope="module")
def params():
    params = mt5.init_params(CFG, jax.random.key(3))
    # Sharper output distribution than the default init, so options differ clearly in score.
    params["decoder"]["logits_dense"]["kernel"] = params["decoder"]["logits_dense"]["kernel"] * 8.0
    return params


def _random_examples(seed, count, min_options=2, max_options=5):
    rng = np.random.default_rng(seed)
    inputs, options = [], []
    for _ in range(count):
        inputs.append(list(rng.integers(2, CFG.vocab_size, rng.integers(1, 30))) + [1])
        options.append([list(rng.integers(2, CFG.vocab_size, rng.integers(0, 6))) + [1]
                        for _ in range(rng.integers(min_options, max_options + 1))])
    return inputs, options


@jax.jit
def _pair_token_log_probs(params, enc, target):
    dec_in = jnp.concatenate([jnp.zeros((1, 1), jnp.int32), target[:, :-1]], axis=1)
    logits = MODEL.apply({"params": params}, enc, dec_in, target, enable_dropout=False)
    return jnp.take_along_axis(jax.nn.log_softmax(logits[0], axis=-1), target[0][:, None], axis=-1)[:, 0]


def unbatched_log_likelihood(params, inputs, option, length_normalize):
    """Independent reference: one (example, option) pair alone, full teacher-forced model call, summed in numpy."""
    enc = np.zeros((1, 32), np.int32)
    enc[0, :len(inputs)] = inputs
    target = np.zeros((1, 8), np.int32)
    target[0, :len(option)] = option
    logp = np.asarray(_pair_token_log_probs(params, jnp.asarray(enc), jnp.asarray(target)))[:len(option)]
    total = float(np.sum(logp, dtype=np.float64))
    return total / len(option) if length_normalize else total


@pytest.mark.parametrize("length_normalize", [False, True])
def test_shared_encoder_equals_naive_on_padded_arrays(params, length_normalize):
    inputs, options = _random_examples(0, 6, 4, 4)
    enc = np.zeros((6, 32), np.int32)
    opts = np.zeros((6, 4, 8), np.int32)
    for i, (x, os_) in enumerate(zip(inputs, options)):
        enc[i, :len(x)] = x
        for k, o in enumerate(os_):
            opts[i, k, :len(o)] = o
    shared = np.asarray(scoring.option_log_likelihoods(MODEL, params, jnp.asarray(enc), jnp.asarray(opts),
                                                       length_normalize=length_normalize))
    naive = np.asarray(scoring.naive_option_log_likelihoods(MODEL, params, jnp.asarray(enc), jnp.asarray(opts),
                                                            length_normalize=length_normalize))
    assert shared.shape == (6, 4)
    np.testing.assert_allclose(shared, naive, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(shared.argmax(-1), naive.argmax(-1))
    # and both equal the unpadded one-pair-at-a-time reference
    for i in range(6):
        for k in range(4):
            ref = unbatched_log_likelihood(params, inputs[i], options[i][k], length_normalize)
            assert shared[i, k] == pytest.approx(ref, rel=1e-5, abs=1e-4)


@pytest.mark.parametrize("length_normalize", [False, True])
def test_rank_classify_any_number_of_options(params, length_normalize):
    inputs, options = _random_examples(1, 11)  # 2..5 options of 1..6 tokens, inputs of 2..30 tokens
    assert len({len(o) for o in options}) > 1
    shared = scoring.rank_classify(MODEL, params, inputs, options, batch_size=4, length_normalize=length_normalize)
    naive = scoring.rank_classify(MODEL, params, inputs, options, batch_size=3, length_normalize=length_normalize,
                                  scorer=scoring.naive_option_log_likelihoods)
    assert len(shared) == len(inputs)
    choices = []
    for i, (s, n) in enumerate(zip(shared, naive)):
        assert s.scores.shape == (len(options[i]),)
        assert np.all(np.isfinite(s.scores))
        np.testing.assert_allclose(s.scores, n.scores, rtol=1e-5, atol=1e-5)
        assert s.choice == n.choice == int(np.argmax(s.scores))
        reference = [unbatched_log_likelihood(params, inputs[i], o, length_normalize) for o in options[i]]
        np.testing.assert_allclose(s.scores, reference, rtol=1e-5, atol=1e-4)
        assert s.choice == int(np.argmax(reference))
        choices.append(s.choice)
    assert len(set(choices)) > 1  # the model is not degenerate: it picks different options


def test_length_normalization_changes_the_choice_toward_longer_options(params):
    inputs, options = _random_examples(2, 8)
    total = scoring.rank_classify(MODEL, params, inputs, options, batch_size=8)
    mean = scoring.rank_classify(MODEL, params, inputs, options, batch_size=8, length_normalize=True)
    for i in range(len(inputs)):
        lengths = np.array([len(o) for o in options[i]])
        np.testing.assert_allclose(mean[i].scores * lengths, total[i].scores, rtol=1e-5, atol=1e-4)


def test_max_input_length_truncates(params):
    inputs, options = _random_examples(4, 3)
    cut = scoring.rank_classify(MODEL, params, inputs, options, max_input_length=5)
    manual = scoring.rank_classify(MODEL, params, [x[:5] for x in inputs], options)
    for a, b in zip(cut, manual):
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)


def test_bad_input_names_the_example(params):
    with pytest.raises(ValueError, match="example 1 has no options"):
        scoring.rank_classify(MODEL, params, [[5, 1], [6, 1]], [[[3, 1]], []])
    with pytest.raises(ValueError, match="example 0 option 1 contains a pad id"):
        scoring.rank_classify(MODEL, params, [[5, 1]], [[[3, 1], [0, 1]]])
    with pytest.raises(ValueError, match="example 1 input contains a pad id"):
        scoring.rank_classify(MODEL, params, [[5, 1], [6, 1, 0]], [[[3, 1]], [[4, 1]]])
    with pytest.raises(ValueError, match="2 inputs but 1 option lists"):
        scoring.rank_classify(MODEL, params, [[5, 1], [6, 1]], [[[3, 1]]])


def test_buckets_bound_the_padded_sizes():
    buckets = batching.Buckets(input_lengths=(16, 64), target_lengths=(4, 8), option_counts=(2, 4))
    assert [buckets.input_length(n) for n in (1, 16, 17, 64, 65, 200)] == [16, 16, 64, 64, 128, 256]
    assert [buckets.option_count(n) for n in (1, 2, 3, 5)] == [2, 2, 4, 8]
    old = batching.PowerOfTwo()
    assert [old.input_length(n) for n in (1, 8, 9, 16, 17, 300)] == [8, 8, 16, 16, 32, 512]
    assert old.target_length(3) == 4 and old.option_count(3) == 3
    with pytest.raises(ValueError, match="input_lengths must be increasing"):
        batching.Buckets(input_lengths=(64, 16))
    padded = batching.pad_batch([[5, 1], [7, 8, 1]], 4, 6)
    np.testing.assert_array_equal(padded, [[5, 1, 0, 0, 0, 0], [7, 8, 1, 0, 0, 0], [5, 1, 0, 0, 0, 0],
                                           [5, 1, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="more than the padded length 2"):
        batching.pad_batch([[5, 6, 1]], 2, 2)


def test_buckets_give_the_old_padding_scores_with_fewer_compilations(params):
    """Many batches of varied shapes: the same scores as per-batch padding, compiled for fewer shapes."""
    inputs, options = _random_examples(5, 40)  # inputs of 2..30 tokens, 2..5 options of 1..6 tokens
    buckets = batching.Buckets(input_lengths=(32,), target_lengths=(8,), option_counts=(5,))
    with batching.CompilationCounter() as new:
        bucketed = scoring.rank_classify(MODEL, params, inputs, options, batch_size=4, padding=buckets)
    with batching.CompilationCounter() as old:
        per_batch = scoring.rank_classify(MODEL, params, inputs, options, batch_size=4, padding=batching.PowerOfTwo())
    for a, b in zip(bucketed, per_batch):
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5, atol=1e-5)
        assert a.choice == b.choice
    assert 1 <= new.count < old.count and new.seconds > 0
    with batching.CompilationCounter() as again:
        scoring.rank_classify(MODEL, params, inputs[::-1], options[::-1], batch_size=4, padding=buckets)
    assert again.count == 0  # every shape already compiled


def test_rank_classify_reports_progress_per_batch(params):
    inputs, options = _random_examples(6, 9)
    seen = []
    scoring.rank_classify(MODEL, params, inputs, options, batch_size=4, progress=seen.append)
    assert seen == [4, 4, 1]


def _dot_lhs_shapes(jaxpr):
    """The lhs shape of every dot_general, nested jaxprs included."""
    shapes = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            shapes.append(tuple(eqn.invars[0].aval.shape))
        for value in eqn.params.values():
            for sub in value if isinstance(value, (list, tuple)) else [value]:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    shapes.extend(_dot_lhs_shapes(inner))
    return shapes


def test_options_share_one_cross_attention_projection_per_example(params):
    """Packed options: the encoder states [B, L, d] are projected to keys and values once per decoder
    layer, and no [B*K, L, d] copy of them is projected, as the repeat-per-option scorer did."""
    batch, options, length, target = 2, 3, 12, 5
    enc = jnp.ones((batch, length), jnp.int32)
    opts = jnp.ones((batch, options, target), jnp.int32)
    jaxpr = jax.make_jaxpr(lambda p: scoring.option_log_likelihoods(MODEL, p, enc, opts))(params).jaxpr
    shapes = _dot_lhs_shapes(jaxpr)
    assert (batch * options, length, CFG.emb_dim) not in shapes
    naive = _dot_lhs_shapes(jax.make_jaxpr(lambda p: scoring.naive_option_log_likelihoods(MODEL, p, enc, opts))(
        params).jaxpr)
    assert (batch * options, length, CFG.emb_dim) in naive  # the check can see a repeated projection
    encoder = _dot_lhs_shapes(jax.make_jaxpr(lambda p: MODEL.apply(
        {"params": p}, enc, enable_dropout=False, method=MODEL.encode))(params).jaxpr)
    # beyond the encoder's own: the cross-attention keys and values, once per decoder layer
    on_states = (batch, length, CFG.emb_dim)
    assert shapes.count(on_states) - encoder.count(on_states) == 2 * CFG.num_decoder_layers
