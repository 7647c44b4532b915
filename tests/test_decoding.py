"""Decoding with the cache: greedy and beam search against transformers' MT5 generate and brute force."""
import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xlit_jax import batching, decoding
from xlit_jax.checkpoints.hf import from_hf_state_dict
from xlit_jax.models import mt5

VOCAB = 61
CFG = mt5.MT5Config(vocab_size=VOCAB, emb_dim=32, num_heads=4, num_encoder_layers=2, num_decoder_layers=2,
                    head_dim=8, mlp_dim=64, relative_attention_num_buckets=8, relative_attention_max_distance=16)
MODEL = mt5.Transformer(CFG)
LOGIT_SCALE = 1.5  # outputs spread enough for beam search and sampling to differ from greedy


# ----------------------------------------------------------------------------- reference model
@pytest.fixture(scope="module")
def hf_and_params():
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.MT5Config(vocab_size=VOCAB, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
                                    num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=16,
                                    feed_forward_proj="gated-gelu", dropout_rate=0.0, decoder_start_token_id=0,
                                    pad_token_id=0, eos_token_id=1)
    config.tie_word_embeddings = False  # transformers 5.x forces tying in MT5Config; mT5 is untied
    model = transformers.MT5ForConditionalGeneration(config).eval()
    with torch.no_grad():
        # transformers 5.x with untied logits also unties the stacks' embeddings from `shared`; mT5 shares them
        model.encoder.embed_tokens.weight.copy_(model.shared.weight)
        model.decoder.embed_tokens.weight.copy_(model.shared.weight)
        # outputs that are position-dependent and spread out, so greedy neither stops at once nor repeats one
        # token, and beam search and sampling have alternatives to find
        model.lm_head.weight.mul_(LOGIT_SCALE)
        model.decoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight.mul_(4.0)
        model.lm_head.weight[1] -= 0.15 * model.lm_head.weight[1]  # EOS a little less likely
    params, converted_config = from_hf_state_dict(model.state_dict(), model.config.to_dict())
    assert converted_config == CFG
    return model, jax.tree.map(jnp.asarray, params)


def padded_batch(seed=0, batch=6, length=12):
    rng = np.random.default_rng(seed)
    tokens = np.zeros((batch, length), np.int32)
    for row in range(batch):
        n = int(rng.integers(3, length + 1))
        tokens[row, :n - 1] = rng.integers(2, VOCAB, n - 1)
        tokens[row, n - 1] = 1
    return tokens


def hf_generate(model, tokens, max_new_tokens, **kwargs):
    import torch
    with torch.no_grad():
        ids = torch.tensor(tokens, dtype=torch.long)
        out = model.generate(input_ids=ids, attention_mask=(ids > 0).long(), max_new_tokens=max_new_tokens,
                             min_new_tokens=0, do_sample=False, **kwargs).numpy()
    assert (out[:, 0] == 0).all()  # the decoder start token
    result = np.zeros((len(tokens), max_new_tokens), np.int32)
    result[:, :out.shape[1] - 1] = out[:, 1:]
    return np.asarray(decoding._finish(jnp.asarray(result), 1))  # beam search pads finished rows with EOS


@jax.jit
def _teacher_forced_log_probs(params, enc, sequences):
    """Per-token log p of sequences [N, T] under the full model (all decoder positions valid)."""
    dec_in = jnp.concatenate([jnp.zeros_like(sequences[:, :1]), sequences[:, :-1]], axis=1)
    logits = MODEL.apply({"params": params}, enc, dec_in, jnp.ones_like(sequences), enable_dropout=False)
    return jnp.take_along_axis(jax.nn.log_softmax(logits, -1), sequences[..., None], -1)[..., 0]


def sequence_log_prob(params, enc_row, sequence):
    """Sum of log p over the tokens up to and including the first EOS (or all T)."""
    seq = np.asarray(sequence)
    n = int(np.argmax(seq == 1)) + 1 if (seq == 1).any() else len(seq)
    logp = np.asarray(_teacher_forced_log_probs(params, jnp.asarray(enc_row[None]), jnp.asarray(seq[None])))[0]
    return float(logp[:n].sum(dtype=np.float64)), n


# ----------------------------------------------------------------------------- cache
def test_cached_steps_equal_teacher_forced_logits(hf_and_params):
    _, params = hf_and_params
    enc = jnp.asarray(padded_batch(1))
    targets = jnp.asarray(np.random.default_rng(2).integers(2, VOCAB, (enc.shape[0], 7)), jnp.int32)
    dec_in = jnp.concatenate([jnp.zeros_like(targets[:, :1]), targets[:, :-1]], axis=1)
    full = MODEL.apply({"params": params}, enc, dec_in, targets, enable_dropout=False)
    encoded, enc_tokens, cache = jax.jit(decoding._start, static_argnums=(0, 3, 4))(MODEL, params, enc, 1, 9)
    step = jax.jit(decoding._decode_step, static_argnums=(0, 6))
    for position in range(7):
        logits, cache = step(MODEL, params, cache, encoded, enc_tokens, dec_in[:, position], 9)
        np.testing.assert_allclose(np.asarray(logits), np.asarray(full[:, position]), rtol=1e-5, atol=1e-4)


# ----------------------------------------------------------------------------- greedy
def test_greedy_equals_transformers_generate(hf_and_params):
    model, params = hf_and_params
    tokens = padded_batch(0)
    ours = decoding.greedy_decode(MODEL, params, tokens, max_decode_length=10)
    theirs = hf_generate(model, tokens, 10, num_beams=1)
    np.testing.assert_array_equal(ours, theirs)
    # the check has teeth: rows differ, run past a few tokens and use several distinct tokens
    assert len({tuple(r) for r in ours}) == len(ours)
    assert (ours > 1).sum(axis=1).min() >= 3 and len(np.unique(ours)) >= 8
    assert (ours == 1).any(), "expected at least one row to stop at EOS"


def test_greedy_pads_after_eos_and_stops_early(hf_and_params):
    _, params = hf_and_params
    tokens = padded_batch(3)
    out = decoding.greedy_decode(MODEL, params, tokens, max_decode_length=10)
    for row in out:
        if (row == 1).any():
            assert (row[np.argmax(row == 1) + 1:] == 0).all()
    # the same prefix whatever the maximum length (the loop's early exit does not change results)
    np.testing.assert_array_equal(decoding.greedy_decode(MODEL, params, tokens, max_decode_length=6), out[:, :6])


# ----------------------------------------------------------------------------- beam search
def test_beam_search_with_one_beam_is_greedy(hf_and_params):
    _, params = hf_and_params
    tokens = padded_batch(4)
    greedy = decoding.greedy_decode(MODEL, params, tokens, max_decode_length=10)
    beam = decoding.beam_search(MODEL, params, tokens, num_beams=1, max_decode_length=10, length_penalty=0.0)
    np.testing.assert_array_equal(beam, greedy)


def test_beam_search_equals_transformers_generate_without_length_penalty(hf_and_params):
    model, params = hf_and_params
    tokens = padded_batch(5)
    ours = decoding.beam_search(MODEL, params, tokens, num_beams=4, max_decode_length=10, length_penalty=0.0)
    theirs = hf_generate(model, tokens, 10, num_beams=4, length_penalty=0.0, early_stopping=False)
    np.testing.assert_array_equal(ours, theirs)


def test_beam_scores_beat_greedy_and_match_teacher_forcing(hf_and_params):
    _, params = hf_and_params
    tokens = padded_batch(6)
    greedy = decoding.greedy_decode(MODEL, params, tokens, max_decode_length=10)
    beam, scores = decoding.beam_search(MODEL, params, tokens, num_beams=4, max_decode_length=10, length_penalty=0.0,
                                        return_scores=True)
    assert scores.shape == (6,)
    for row in range(6):
        beam_lp, _ = sequence_log_prob(params, tokens[row], beam[row])
        greedy_lp, _ = sequence_log_prob(params, tokens[row], greedy[row])
        assert scores[row] == pytest.approx(beam_lp, abs=1e-4)
        assert beam_lp >= greedy_lp - 1e-5
    assert (beam != greedy).any(), "beam search should find something greedy missed on some row"


@pytest.mark.parametrize("length_penalty", [0.0, 0.6, 2.0])
def test_beam_search_is_exact_with_enough_beams(length_penalty):
    """Tiny vocabulary: with more beams than candidates the search must return the brute-force optimum."""
    cfg = mt5.MT5Config(**{**CFG.to_dict(), "vocab_size": 4})
    model = mt5.Transformer(cfg)
    params = mt5.init_params(cfg, jax.random.key(7))
    params["decoder"]["logits_dense"]["kernel"] = params["decoder"]["logits_dense"]["kernel"] * 4.0
    enc = np.array([[2, 3, 3, 2, 1, 0], [3, 2, 1, 0, 0, 0], [2, 2, 2, 3, 3, 1]], np.int32)
    length = 4
    # every hypothesis: non-EOS tokens then EOS, or length tokens without EOS
    hypotheses = [p + (1,) for n in range(length) for p in itertools.product((0, 2, 3), repeat=n)]
    hypotheses += [p for p in itertools.product((0, 2, 3), repeat=length)]
    padded = np.array([list(h) + [0] * (length - len(h)) for h in hypotheses], np.int32)
    lengths = np.array([len(h) for h in hypotheses])
    penalty = ((5.0 + lengths) / 6.0) ** length_penalty

    @jax.jit
    def log_probs(enc_row):
        dec_in = jnp.concatenate([jnp.zeros((len(padded), 1), jnp.int32), jnp.asarray(padded)[:, :-1]], axis=1)
        logits = model.apply({"params": params}, jnp.repeat(enc_row[None], len(padded), 0), dec_in,
                             jnp.ones_like(dec_in), enable_dropout=False)
        return jnp.take_along_axis(jax.nn.log_softmax(logits, -1), jnp.asarray(padded)[..., None], -1)[..., 0]

    beam, scores = decoding.beam_search(model, params, enc, num_beams=128, max_decode_length=length,
                                        length_penalty=length_penalty, return_scores=True)
    for row in range(len(enc)):
        token_lp = np.asarray(log_probs(jnp.asarray(enc[row])), np.float64)
        totals = np.array([token_lp[i, :n].sum() for i, n in enumerate(lengths)]) / penalty
        best = int(np.argmax(totals))
        np.testing.assert_array_equal(beam[row], padded[best])
        assert scores[row] == pytest.approx(totals[best], abs=1e-4)


# ----------------------------------------------------------------------------- sampling
def test_sampling_limits_are_greedy(hf_and_params):
    _, params = hf_and_params
    tokens = padded_batch(8)
    greedy = decoding.greedy_decode(MODEL, params, tokens, max_decode_length=10)
    rng = jax.random.key(1)
    np.testing.assert_array_equal(decoding.sample(MODEL, params, tokens, rng, max_decode_length=10, temperature=0.0),
                                  greedy)
    np.testing.assert_array_equal(decoding.sample(MODEL, params, tokens, rng, max_decode_length=10, temperature=1e-3),
                                  greedy)
    np.testing.assert_array_equal(decoding.sample(MODEL, params, tokens, rng, max_decode_length=10, top_k=1), greedy)
    np.testing.assert_array_equal(decoding.sample(MODEL, params, tokens, rng, max_decode_length=10, top_p=1e-6),
                                  greedy)


def test_sampling_is_deterministic_per_seed_and_respects_top_k(hf_and_params):
    _, params = hf_and_params
    tokens = np.repeat(padded_batch(9)[:1], 64, axis=0)
    a = decoding.sample(MODEL, params, tokens, jax.random.key(5), max_decode_length=10)
    b = decoding.sample(MODEL, params, tokens, jax.random.key(5), max_decode_length=10)
    c = decoding.sample(MODEL, params, tokens, jax.random.key(6), max_decode_length=10)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert len({tuple(r) for r in a}) > 1  # rows with the same input draw different samples
    encoded, enc_tokens, cache = decoding._start(MODEL, params, jnp.asarray(tokens[:1]), 1, 10)
    first_logits = decoding._decode_step(MODEL, params, cache, encoded, enc_tokens, jnp.zeros((1,), jnp.int32), 10)[0][0]
    top2 = set(np.argsort(np.asarray(first_logits))[-2:].tolist())
    first = decoding.sample(MODEL, params, tokens, jax.random.key(7), max_decode_length=10, top_k=2)[:, 0]
    assert set(first.tolist()) == top2


def test_top_p_filter_keeps_smallest_set_reaching_p():
    probs = np.array([[0.5, 0.05, 0.3, 0.15], [0.25, 0.25, 0.25, 0.25]], np.float32)
    logits = jnp.log(jnp.asarray(probs))
    kept = lambda p: np.asarray(decoding.top_p_filter(logits, p)) > decoding.NEG_INF / 2
    np.testing.assert_array_equal(kept(0.5), [[True, False, False, False], [True, True, True, True]])  # ties kept
    np.testing.assert_array_equal(kept(0.6)[0], [True, False, True, False])
    np.testing.assert_array_equal(kept(0.8)[0], [True, False, True, False])
    np.testing.assert_array_equal(kept(0.81)[0], [True, False, True, True])
    np.testing.assert_array_equal(kept(1.0)[0], [True, True, True, True])
    np.testing.assert_array_equal(kept(0.01)[0], [True, False, False, False])


def test_top_k_filter():
    logits = jnp.asarray([[1.0, 4.0, 3.0, 2.0]])
    np.testing.assert_array_equal(np.asarray(decoding.top_k_filter(logits, 2)) > -1e8, [[False, True, True, False]])
    np.testing.assert_array_equal(np.asarray(decoding.top_k_filter(logits, 0)), np.asarray(logits))


def test_generate_dispatches_and_rejects_unknown_methods(hf_and_params):
    _, params = hf_and_params
    tokens = padded_batch(10)
    np.testing.assert_array_equal(decoding.generate(MODEL, params, tokens, max_decode_length=10),
                                  decoding.greedy_decode(MODEL, params, tokens, max_decode_length=10))
    beam = decoding.generate(MODEL, params, tokens, method="beam", max_decode_length=10, num_beams=2)
    assert beam.shape == (6, 10)
    sampled = decoding.generate(MODEL, params, tokens, method="sample", max_decode_length=10, rng=jax.random.key(0))
    assert sampled.shape == (6, 10)
    with pytest.raises(ValueError, match="unknown method 'nucleus'"):
        decoding.generate(MODEL, params, tokens, method="nucleus", max_decode_length=10)
    with pytest.raises(ValueError, match=r"\[batch, length\]"):
        decoding.greedy_decode(MODEL, params, tokens[0], max_decode_length=10)


# ----------------------------------------------------------------------------- cross-attention cache
def _count_projections(jaxpr, lhs_shape, inside_loop=False):
    """dot_general equations with an lhs of lhs_shape: (outside any while loop, inside a while body)."""
    outside = inside = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general" and tuple(eqn.invars[0].aval.shape) == lhs_shape:
            if inside_loop:
                inside += 1
            else:
                outside += 1
        for name, value in eqn.params.items():
            subs = value if isinstance(value, (list, tuple)) else [value]
            for sub in subs:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    o, i = _count_projections(inner, lhs_shape, inside_loop or eqn.primitive.name == "while")
                    outside, inside = outside + o, inside + i
    return outside, inside


@pytest.mark.parametrize("cache_cross_attention", [True, False])
def test_cross_attention_keys_values_are_projected_once_per_input(cache_cross_attention):
    """The decode loop's body projects no encoder states with the cache, 2 per decoder layer without it."""
    params = mt5.init_params(CFG, jax.random.key(0))
    tokens = jnp.asarray(padded_batch(11, batch=3, length=12))
    loop = functools.partial(decoding._sampling_loop, MODEL, max_decode_length=5, eos_id=1, greedy=True, top_k=0,
                             use_top_p=False, cache_cross_attention=cache_cross_attention)
    jaxpr = jax.make_jaxpr(loop)(params, tokens, jax.random.key(0), jnp.float32(1.0), jnp.float32(1.0)).jaxpr
    outside, inside = _count_projections(jaxpr, (3, 12, CFG.emb_dim))
    layers = CFG.num_decoder_layers
    if cache_cross_attention:
        assert inside == 0
        baseline_outside, _ = _count_projections(jax.make_jaxpr(functools.partial(
            loop, cache_cross_attention=False))(params, tokens, jax.random.key(0), jnp.float32(1.0),
                                                jnp.float32(1.0)).jaxpr, (3, 12, CFG.emb_dim))
        assert outside == baseline_outside + 2 * layers  # the keys and values, once, before the loop
    else:
        assert inside == 2 * layers


def test_decoding_without_the_cross_attention_cache_gives_the_same_tokens(hf_and_params):
    _, params = hf_and_params
    tokens = padded_batch(12)
    for method, kwargs in [("greedy", {}), ("beam", {"num_beams": 3, "length_penalty": 0.6}),
                           ("sample", {"rng": jax.random.key(3), "top_k": 5})]:
        cached = decoding.generate(MODEL, params, tokens, method=method, max_decode_length=10, **kwargs)
        uncached = decoding.generate(MODEL, params, tokens, method=method, max_decode_length=10,
                                     cache_cross_attention=False, **kwargs)
        np.testing.assert_array_equal(cached, uncached, err_msg=method)


def long_batch(seed=13, batch=3, length=256):
    """Inputs of 256 tokens: the first row fills the length, the others end within the last 40 positions."""
    rng = np.random.default_rng(seed)
    tokens = np.zeros((batch, length), np.int32)
    for row in range(batch):
        n = length if row == 0 else int(rng.integers(length - 40, length))
        tokens[row, :n - 1] = rng.integers(2, VOCAB, n - 1)
        tokens[row, n - 1] = 1
    return tokens


def test_greedy_and_beam_equal_transformers_generate_at_256_token_inputs(hf_and_params):
    model, params = hf_and_params
    tokens = long_batch()
    ours = decoding.greedy_decode(MODEL, params, tokens, max_decode_length=12)
    np.testing.assert_array_equal(ours, hf_generate(model, tokens, 12, num_beams=1))
    assert (ours > 1).sum(axis=1).min() >= 3
    beam = decoding.beam_search(MODEL, params, tokens, num_beams=3, max_decode_length=12, length_penalty=0.0)
    np.testing.assert_array_equal(beam, hf_generate(model, tokens, 12, num_beams=3, length_penalty=0.0,
                                                    early_stopping=False))


def test_generate_batched_buckets_inputs_and_keeps_input_order(hf_and_params):
    _, params = hf_and_params
    tokens = padded_batch(14, batch=7, length=12)
    rows = [list(r[r > 0]) for r in tokens]
    expected = decoding.greedy_decode(MODEL, params, tokens, max_decode_length=8)
    buckets = batching.Buckets(input_lengths=(16,))
    with batching.CompilationCounter() as first:
        outputs = decoding.generate_batched(MODEL, params, rows, batch_size=3, padding=buckets, max_decode_length=8)
    np.testing.assert_array_equal(np.stack(outputs), expected)
    seen = []
    with batching.CompilationCounter() as second:
        decoding.generate_batched(MODEL, params, rows[::-1][:5], batch_size=3, padding=buckets, max_decode_length=8,
                                  progress=seen.append)
    assert first.count >= 1 and second.count == 0 and seen == [3, 2]
