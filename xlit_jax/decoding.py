"""Autoregressive decoding with the decoder cache: greedy, beam search and sampling.

Every decoder runs the encoder once and projects the cross-attention keys/values once per
input (`prefill_decoder_cache`; t5x projects them again at every step), then one token per
step through the model's cache inside a jitted `jax.lax.while_loop` that stops early once
every row has finished. `cache_cross_attention=False` gives the per-step projection, as a
baseline for benchmarks.
Outputs are int32 [batch, max_decode_length] token ids without the leading start token:
EOS ends a row and everything after it is the pad id 0.

Beam search keeps `num_beams` live prefixes per example. Each step takes the top
2*num_beams continuations; an EOS continuation becomes a finished hypothesis when it ranks
within the top num_beams (as in Hugging Face's beam search, so num_beams=1 is greedy); the
best non-EOS continuations stay live. Finished hypotheses are ranked by
log p / ((5 + length) / 6) ** length_penalty (t5x's brevity penalty; length counts the
EOS token); at max_decode_length the top live candidates count as finished. The search
stops when no live prefix can still beat the worst kept hypothesis.

Against Hugging Face `generate`: greedy is identical; beam search is identical to
`num_beams=k, length_penalty=0.0, early_stopping=False`. With a length penalty the two
differ on purpose: HF divides by length ** length_penalty, xlit by t5x's
((5 + length) / 6) ** length_penalty; HF's early_stopping=True also stops as soon as k
hypotheses are finished, which xlit never does.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from xlit_jax import batching
from xlit_jax.models.mt5 import (init_decoder_cache, merge_caches, prefill_decoder_cache,
                                 split_cross_attention_cache)

Array = jax.Array
NEG_INF = -1.0e9  # finite "minus infinity": sums of it stay finite and comparable
MIN_TEMPERATURE = 1e-4  # below this, sampling is argmax


# ---------------------------------------------------------------------------- model steps
def _encode(model: Any, params: Any, encoder_input_tokens: Array) -> Array:
    return model.apply({"params": params}, encoder_input_tokens, enable_dropout=False, method=model.encode)


def _decode_step(model: Any, params: Any, cache: Any, encoded: Array, encoder_input_tokens: Array,
                 tokens: Array, max_decode_length: int) -> tuple[Array, Any]:
    """Next-token logits [rows, vocab] for the previous tokens [rows], and the updated cache.

    A cache from `_start(..., cache_cross_attention=True)` holds the cross-attention keys/values and
    the step reads them; a cache without them makes the step project them from `encoded` again
    (t5x's way, kept as the benchmark's baseline) and the copy it would add is dropped.
    """
    has_cross = bool(split_cross_attention_cache(cache)[1])
    logits, mutated = model.apply({"params": params, "cache": cache}, encoded, encoder_input_tokens,
                                  tokens[:, None], tokens[:, None], enable_dropout=False, decode=True,
                                  max_decode_length=max_decode_length, mutable=["cache"], method=model.decode)
    new_cache = mutated["cache"] if has_cross else split_cross_attention_cache(mutated["cache"])[0]
    return logits[:, 0].astype(jnp.float32), new_cache


def _start(model: Any, params: Any, encoder_input_tokens: Array, rows_per_example: int, max_decode_length: int,
           cache_cross_attention: bool = True):
    """Encoder states and inputs repeated per row, and the cache for all rows (cross-attention filled once)."""
    encoded = _encode(model, params, encoder_input_tokens)
    if rows_per_example > 1:
        encoded = jnp.repeat(encoded, rows_per_example, axis=0)
        encoder_input_tokens = jnp.repeat(encoder_input_tokens, rows_per_example, axis=0)
    rows, input_length = encoder_input_tokens.shape
    if cache_cross_attention:
        cache = prefill_decoder_cache(model, params, encoded, encoder_input_tokens, max_decode_length)
    else:
        cache = init_decoder_cache(model, params, rows, max_decode_length, input_length)
    return encoded, encoder_input_tokens, cache


# ---------------------------------------------------------------------------- filtering
def top_k_filter(logits: Array, top_k: int) -> Array:
    """Logits with everything below the k-th largest per row set to NEG_INF (k <= 0: unchanged)."""
    if top_k <= 0 or top_k >= logits.shape[-1]:
        return logits
    kth = jax.lax.top_k(logits, top_k)[0][..., -1:]
    return jnp.where(logits < kth, NEG_INF, logits)


def top_p_filter(logits: Array, top_p: float | Array) -> Array:
    """Logits outside the nucleus set to NEG_INF: the smallest most-likely set with total probability >= top_p."""
    if isinstance(top_p, (int, float)) and top_p >= 1.0:
        return logits
    sorted_logits = jnp.sort(logits, axis=-1)[..., ::-1]
    sorted_probs = jax.nn.softmax(sorted_logits, axis=-1)
    mass_before = jnp.cumsum(sorted_probs, axis=-1) - sorted_probs  # probability of strictly better tokens
    keep_sorted = mass_before < top_p  # the top token is always kept
    # threshold: the smallest kept logit; ties with it are kept too
    threshold = jnp.min(jnp.where(keep_sorted, sorted_logits, jnp.inf), axis=-1, keepdims=True)
    return jnp.where(logits < threshold, NEG_INF, logits)


def _finish(tokens: Array, eos_id: int) -> Array:
    """Tokens after the first EOS of each row set to 0."""
    after_eos = jnp.cumsum(tokens == eos_id, axis=-1) - (tokens == eos_id) > 0
    return jnp.where(after_eos, 0, tokens)


# ---------------------------------------------------------------------------- greedy / sampling
def _sampling_loop(model, params, encoder_input_tokens, rng, temperature, top_p, *, max_decode_length: int,
                   eos_id: int, greedy: bool, top_k: int, use_top_p: bool, cache_cross_attention: bool) -> Array:
    batch = encoder_input_tokens.shape[0]
    encoded, encoder_tokens, cache = _start(model, params, encoder_input_tokens, 1, max_decode_length,
                                            cache_cross_attention)

    def cond(state):
        step, _, _, done, _, _ = state
        return (step < max_decode_length) & ~jnp.all(done)

    def body(state):
        step, tokens, sequences, done, cache, rng = state
        logits, cache = _decode_step(model, params, cache, encoded, encoder_tokens, tokens, max_decode_length)
        if greedy:
            next_tokens = jnp.argmax(logits, axis=-1)
        else:
            rng, step_rng = jax.random.split(rng)
            logits = top_k_filter(logits / temperature, top_k)
            if use_top_p:
                logits = top_p_filter(logits, top_p)
            next_tokens = jax.random.categorical(step_rng, logits, axis=-1)
        next_tokens = jnp.where(done, 0, next_tokens).astype(jnp.int32)
        sequences = jax.lax.dynamic_update_slice(sequences, next_tokens[:, None], (0, step))
        return step + 1, next_tokens, sequences, done | (next_tokens == eos_id), cache, rng

    state = (jnp.array(0, jnp.int32), jnp.zeros((batch,), jnp.int32),
             jnp.zeros((batch, max_decode_length), jnp.int32), jnp.zeros((batch,), bool), cache, rng)
    return jax.lax.while_loop(cond, body, state)[2]


# temperature and top_p are traced (no recompiles when they change); top_k and the mode are static
_jit_sampling_loop = jax.jit(_sampling_loop, static_argnums=(0,),
                             static_argnames=("max_decode_length", "eos_id", "greedy", "top_k", "use_top_p",
                                              "cache_cross_attention"))


def _run_sampling(model, params, tokens, rng, *, max_decode_length: int, eos_id: int, temperature: float,
                  top_k: int, top_p: float, cache_cross_attention: bool) -> np.ndarray:
    greedy = temperature < MIN_TEMPERATURE
    return np.asarray(_jit_sampling_loop(
        model, params, tokens, rng, jnp.float32(max(temperature, MIN_TEMPERATURE)), jnp.float32(top_p),
        max_decode_length=int(max_decode_length), eos_id=int(eos_id), greedy=greedy,
        top_k=0 if greedy else int(top_k), use_top_p=not greedy and top_p < 1.0,
        cache_cross_attention=bool(cache_cross_attention)))


def _check_inputs(encoder_input_tokens: Any, max_decode_length: int) -> Array:
    tokens = jnp.asarray(encoder_input_tokens)
    if tokens.ndim != 2:
        raise ValueError(f"decoding: encoder_input_tokens must be [batch, length], got shape {tokens.shape}")
    if not jnp.issubdtype(tokens.dtype, jnp.integer):
        raise ValueError(f"decoding: encoder_input_tokens must be integer ids, got {tokens.dtype}")
    if max_decode_length < 1:
        raise ValueError(f"decoding: max_decode_length must be >= 1, got {max_decode_length}")
    return tokens.astype(jnp.int32)


def greedy_decode(model: Any, params: Any, encoder_input_tokens: Any, *, max_decode_length: int,
                  eos_id: int = 1, cache_cross_attention: bool = True) -> np.ndarray:
    """Most likely next token at every step: int32 [batch, max_decode_length], 0 after EOS.

    cache_cross_attention=False projects the cross-attention keys/values at every step (t5x's way).
    """
    tokens = _check_inputs(encoder_input_tokens, max_decode_length)
    return _run_sampling(model, params, tokens, jax.random.key(0), max_decode_length=max_decode_length,
                         eos_id=eos_id, temperature=0.0, top_k=0, top_p=1.0,
                         cache_cross_attention=cache_cross_attention)


def sample(model: Any, params: Any, encoder_input_tokens: Any, rng: Array, *, max_decode_length: int,
           temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, eos_id: int = 1,
           cache_cross_attention: bool = True) -> np.ndarray:
    """Ancestral sampling with temperature, top-k and nucleus (top-p) filtering; 0 after EOS."""
    tokens = _check_inputs(encoder_input_tokens, max_decode_length)
    if temperature < 0 or not 0.0 < top_p <= 1.0 or top_k < 0:
        raise ValueError(f"sample: need temperature >= 0, 0 < top_p <= 1, top_k >= 0; got {temperature}, "
                         f"{top_p}, {top_k}")
    if isinstance(rng, int):
        rng = jax.random.key(rng)
    return _run_sampling(model, params, tokens, rng, max_decode_length=max_decode_length, eos_id=eos_id,
                         temperature=float(temperature), top_k=int(top_k), top_p=float(top_p),
                         cache_cross_attention=cache_cross_attention)


# ---------------------------------------------------------------------------- beam search
def brevity_penalty(length: Array | int, alpha: float | Array) -> Array:
    """t5x's length normalizer ((5 + length) / 6) ** alpha."""
    return ((5.0 + jnp.asarray(length, jnp.float32)) / 6.0) ** alpha


def _gather_beams(x: Array, indices: Array) -> Array:
    """x [batch, beams, ...] gathered along beams by indices [batch, n]."""
    return jnp.take_along_axis(x, indices.reshape(indices.shape + (1,) * (x.ndim - 2)), axis=1)


def _gather_cache(cache: Any, parent: Array, batch: int, num_beams: int) -> Any:
    """The self-attention cache reordered to the surviving beams; cross-attention entries are the same
    for every beam of an example and are left as they are."""
    def gather(x):
        if x.ndim == 0:  # the shared cache index
            return x
        beams = x.reshape((batch, num_beams) + x.shape[1:])
        return _gather_beams(beams, parent).reshape(x.shape)
    own, cross = split_cross_attention_cache(cache)
    return merge_caches(jax.tree.map(gather, own), cross)


@functools.partial(jax.jit, static_argnums=(0,),
                   static_argnames=("num_beams", "max_decode_length", "eos_id", "cache_cross_attention"))
def _beam_search(model, params, encoder_input_tokens, length_penalty, *, num_beams: int, max_decode_length: int,
                 eos_id: int, cache_cross_attention: bool = True):
    batch = encoder_input_tokens.shape[0]
    beams, length = num_beams, max_decode_length
    encoded, encoder_tokens, cache = _start(model, params, encoder_input_tokens, beams, length,
                                            cache_cross_attention)
    rank = jnp.arange(2 * beams)
    max_penalty = jnp.maximum(brevity_penalty(1, length_penalty), brevity_penalty(length, length_penalty))

    def cond(state):
        step, _, live_scores, _, finished_scores, finished_flags, _ = state
        # best score any live prefix could still reach (log-probs only fall as it grows)
        best_live = live_scores[:, 0] / max_penalty
        worst_kept = jnp.where(jnp.all(finished_flags, axis=1), finished_scores[:, -1], NEG_INF)
        improvable = jnp.any(best_live > worst_kept)
        return (step < length) & improvable

    def body(state):
        step, live_seqs, live_scores, finished_seqs, finished_scores, finished_flags, cache = state
        previous = jnp.where(step > 0, live_seqs[:, :, jnp.maximum(step - 1, 0)], 0).reshape(batch * beams)
        logits, cache = _decode_step(model, params, cache, encoded, encoder_tokens, previous, length)
        vocab = logits.shape[-1]
        candidates = live_scores[:, :, None] + jax.nn.log_softmax(logits).reshape(batch, beams, vocab)
        top_scores, top_indices = jax.lax.top_k(candidates.reshape(batch, beams * vocab), 2 * beams)
        parent, token = top_indices // vocab, (top_indices % vocab).astype(jnp.int32)
        sequences = _gather_beams(live_seqs, parent)
        sequences = jax.lax.dynamic_update_slice(sequences, token[:, :, None], (0, 0, step))
        is_eos = token == eos_id
        # live: the best continuations that did not end
        live_candidates = jnp.where(is_eos, NEG_INF, top_scores)
        new_live_scores, keep = jax.lax.top_k(live_candidates, beams)
        new_live_seqs = _gather_beams(sequences, keep)
        cache = _gather_cache(cache, jnp.take_along_axis(parent, keep, axis=1), batch, beams)
        # finished: EOS within the top num_beams ranks, or anything top-ranked at the last step
        finishing = (is_eos | (step == length - 1)) & (rank < beams)[None]
        scores = jnp.where(finishing, top_scores / brevity_penalty(step + 1, length_penalty), NEG_INF)
        all_scores = jnp.concatenate([finished_scores, scores], axis=1)
        all_flags = jnp.concatenate([finished_flags, finishing], axis=1)
        all_seqs = jnp.concatenate([finished_seqs, sequences], axis=1)
        finished_scores, best = jax.lax.top_k(all_scores, beams)
        return (step + 1, new_live_seqs, new_live_scores, _gather_beams(all_seqs, best), finished_scores,
                _gather_beams(all_flags, best), cache)

    live_scores = jnp.tile(jnp.array([0.0] + [NEG_INF] * (beams - 1), jnp.float32), (batch, 1))
    state = (jnp.array(0, jnp.int32), jnp.zeros((batch, beams, length), jnp.int32), live_scores,
             jnp.zeros((batch, beams, length), jnp.int32), jnp.full((batch, beams), NEG_INF, jnp.float32),
             jnp.zeros((batch, beams), bool), cache)
    _, _, _, finished_seqs, finished_scores, _, _ = jax.lax.while_loop(cond, body, state)
    return _finish(finished_seqs, eos_id), finished_scores


def beam_search(model: Any, params: Any, encoder_input_tokens: Any, *, num_beams: int = 4, max_decode_length: int,
                length_penalty: float = 0.6, eos_id: int = 1, return_scores: bool = False,
                return_all_beams: bool = False,
                cache_cross_attention: bool = True) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Beam search (see the module docstring): best sequence int32 [batch, T] per example.

    return_all_beams gives [batch, num_beams, T] best first; return_scores adds the
    length-normalized log-probabilities ([batch] or [batch, num_beams]).
    """
    tokens = _check_inputs(encoder_input_tokens, max_decode_length)
    if num_beams < 1:
        raise ValueError(f"beam_search: num_beams must be >= 1, got {num_beams}")
    sequences, scores = _beam_search(model, params, tokens, jnp.float32(length_penalty), num_beams=int(num_beams),
                                     max_decode_length=int(max_decode_length), eos_id=int(eos_id),
                                     cache_cross_attention=bool(cache_cross_attention))
    sequences, scores = np.asarray(sequences), np.asarray(scores)
    if not return_all_beams:
        sequences, scores = sequences[:, 0], scores[:, 0]
    return (sequences, scores) if return_scores else sequences


# ---------------------------------------------------------------------------- dispatch
def generate(model: Any, params: Any, encoder_input_tokens: Any, *, method: str = "greedy", **kwargs) -> np.ndarray:
    """Token ids [batch, max_decode_length] by method 'greedy', 'beam' or 'sample' (kwargs go to it)."""
    if method == "greedy":
        return greedy_decode(model, params, encoder_input_tokens, **kwargs)
    if method in ("beam", "beam_search"):
        kwargs.pop("return_scores", None)
        return beam_search(model, params, encoder_input_tokens, **kwargs)
    if method in ("sample", "sampling"):
        kwargs = dict(kwargs)
        rng = kwargs.pop("rng", 0)
        return sample(model, params, encoder_input_tokens, rng, **kwargs)
    raise ValueError(f"generate: unknown method {method!r}; use 'greedy', 'beam' or 'sample'")


def generate_batched(model: Any, params: Any, inputs: Sequence[Sequence[int]], *, batch_size: int = 16,
                     max_input_length: int | None = None, padding: batching.Padding | None = None,
                     progress: Callable[[int], Any] | None = None, generate_fn: Callable | None = None,
                     **generate_kwargs) -> list[np.ndarray]:
    """Output tokens per input (unpadded token lists in, [max_decode_length] arrays out, input order).

    Inputs are sorted by length, cut to max_input_length, batched batch_size rows at a time and
    padded to `padding`'s input-length buckets (default `batching.DEFAULT_BUCKETS`), so the number
    of compilations is bounded whatever the tasks. generate_kwargs go to `generate` (method,
    max_decode_length, ...), or to generate_fn (same signature) when given. progress(n) is called
    after each batch. With method='sample', which
    rows share a batch (and so the random draws) depends on the sort.
    """
    if batch_size < 1:
        raise ValueError(f"generate_batched: batch_size must be >= 1, got {batch_size}")
    for i, tokens in enumerate(inputs):
        if len(tokens) == 0:
            raise ValueError(f"generate_batched: input {i} has no tokens")
    inputs = [list(x)[:max_input_length] if max_input_length else list(x) for x in inputs]
    outputs: list[np.ndarray | None] = [None] * len(inputs)
    for chunk in batching.length_sorted_chunks([len(x) for x in inputs], batch_size):
        batch = batching.pad_inputs([inputs[i] for i in chunk], batch_size, padding)
        tokens = np.asarray((generate_fn or generate)(model, params, batch, **generate_kwargs))
        for row, i in enumerate(chunk):
            outputs[i] = tokens[row]
        if progress is not None:
            progress(len(chunk))
    return outputs  # type: ignore[return-value]
