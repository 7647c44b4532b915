"""The T5.1.1 / mT5 encoder-decoder in flax.linen, with t5x's parameter names and shapes.

Read top to bottom: config, masks and relative-position buckets, the layers (RMSNorm,
embedding, attention, gated MLP), the encoder and decoder stacks, the Transformer, and
helpers for parameters, logical axes and the decoding cache.

Facts this file is exact about (checked against transformers' MT5 in the tests):
RMSNorm in float32 with epsilon 1e-6; relative position buckets (bidirectional in the
encoder, causal in the decoder), one table per stack shared by its layers; no 1/sqrt(d)
scaling of attention logits; gated-GELU (tanh approximation) MLP; untied output layer
`decoder/logits_dense`, or the tied T5 1.0 head scaled by emb_dim**-0.5.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import flax.linen as nn
import gin
import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
NEG_INF = -1e10  # large negative attention bias: rows with every key masked stay finite


@gin.configurable(module="xlit")
@dataclasses.dataclass(frozen=True)
class MT5Config:
    """Dimensions and options of an mT5-style model (t5x's T5Config field names)."""

    vocab_size: int = 250112
    emb_dim: int = 512
    num_heads: int = 6
    num_encoder_layers: int = 8
    num_decoder_layers: int = 8
    head_dim: int = 64
    mlp_dim: int = 1024
    mlp_activations: tuple[str, ...] = ("gelu", "linear")
    dropout_rate: float = 0.0
    dtype: str = "float32"
    logits_via_embedding: bool = False
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    layer_norm_epsilon: float = 1e-6
    remat_policy: str = "none"

    def __post_init__(self):
        object.__setattr__(self, "mlp_activations", tuple(self.mlp_activations))
        for activation in self.mlp_activations:
            if activation not in _ACTIVATIONS:
                raise ValueError(f"MT5Config.mlp_activations: unknown activation {activation!r}; "
                                 f"known: {sorted(_ACTIVATIONS)}")
        if self.remat_policy not in _REMAT_POLICIES:
            raise ValueError(f"MT5Config.remat_policy: {self.remat_policy!r} is not one of {sorted(_REMAT_POLICIES)}")
        jnp.dtype(self.dtype)  # raises on an unknown dtype name

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the fields."""
        out = dataclasses.asdict(self)
        out["mlp_activations"] = list(self.mlp_activations)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "MT5Config":
        """The config from `to_dict` output; unknown keys are an error naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"MT5Config: unknown fields {unknown}")
        return cls(**values)


_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "gelu": lambda x: jax.nn.gelu(x, approximate=True),  # HF's gelu_new, t5x's nn.gelu
    "relu": jax.nn.relu,
    "linear": lambda x: x,
    "silu": jax.nn.silu,
}
_REMAT_POLICIES = {
    "none": None,
    "full": jax.checkpoint_policies.nothing_saveable,
    "minimal": jax.checkpoint_policies.dots_with_no_batch_dims_saveable,
}


# ---------------------------------------------------------------------------- masks, buckets
def attention_mask(query_valid: Array, key_valid: Array, query_segment_ids: Array | None = None,
                   key_segment_ids: Array | None = None, causal: bool = False) -> Array:
    """Boolean mask [batch, 1, q_len, k_len] from validity, segment ids and causality."""
    mask = query_valid[:, None, :, None] & key_valid[:, None, None, :]
    if query_segment_ids is not None:
        mask &= query_segment_ids[:, None, :, None] == key_segment_ids[:, None, None, :]
    if causal:
        q_len, k_len = query_valid.shape[-1], key_valid.shape[-1]
        mask &= jnp.tril(jnp.ones((q_len, k_len), bool))[None, None]
    return mask


def relative_position_buckets(query_length: int, key_length: int, bidirectional: bool,
                              num_buckets: int, max_distance: int) -> np.ndarray:
    """Bucket index [q_len, k_len] of each key position relative to each query (static).

    Computed in float32 the way the reference implementations compute it: exact buckets
    for distances below num_buckets/2 (per direction), log-spaced buckets up to max_distance.
    """
    relative = np.arange(key_length)[None, :] - np.arange(query_length)[:, None]  # key - query
    buckets = np.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        buckets += (relative > 0).astype(relative.dtype) * num_buckets
        distance = np.abs(relative)
    else:
        distance = -np.minimum(relative, 0)
    max_exact = num_buckets // 2
    with np.errstate(divide="ignore"):
        scaled = (np.log(distance.astype(np.float32) / np.float32(max_exact))
                  / np.float32(math.log(max_distance / max_exact)) * np.float32(num_buckets - max_exact))
    large = max_exact + np.where(np.isfinite(scaled), scaled, 0).astype(relative.dtype)
    large = np.minimum(large, num_buckets - 1)
    return buckets + np.where(distance < max_exact, distance, large)


# ---------------------------------------------------------------------------- layers
def _init(stddev: float):
    return nn.initializers.normal(stddev=stddev)


class RMSNorm(nn.Module):
    """T5 layer norm: scale only, no mean subtraction, statistics in float32."""

    epsilon: float
    dtype: Any

    @nn.compact
    def __call__(self, x: Array) -> Array:
        scale = self.param("scale", nn.with_logical_partitioning(nn.initializers.ones, ("embed",)),
                           (x.shape[-1],), jnp.float32)
        x32 = x.astype(jnp.float32)
        x32 = x32 * jax.lax.rsqrt(jnp.mean(jnp.square(x32), axis=-1, keepdims=True) + self.epsilon)
        return (x32 * scale).astype(self.dtype)


class Dense(nn.Module):
    """A bias-free kernel [in, out] with logical axis names, applied to the last axis."""

    features: int
    axes: tuple[str, str]
    stddev: float
    dtype: Any

    @nn.compact
    def __call__(self, x: Array) -> Array:
        kernel = self.param("kernel", nn.with_logical_partitioning(_init(self.stddev), self.axes),
                            (x.shape[-1], self.features), jnp.float32)
        return jnp.dot(x.astype(self.dtype), kernel.astype(self.dtype))


class Embed(nn.Module):
    """Token embedding [vocab, embed]; `attend` gives logits against the same table."""

    config: MT5Config

    def setup(self):
        cfg = self.config
        self.embedding = self.param("embedding", nn.with_logical_partitioning(_init(1.0), ("vocab", "embed")),
                                    (cfg.vocab_size, cfg.emb_dim), jnp.float32)

    def __call__(self, tokens: Array) -> Array:
        return jnp.take(self.embedding, tokens, axis=0).astype(self.config.dtype)

    def attend(self, x: Array) -> Array:
        return jnp.dot(x, self.embedding.T.astype(x.dtype))


class RelativePositionBias(nn.Module):
    """One learned bias per (head, bucket), shared by all layers of a stack."""

    config: MT5Config
    bidirectional: bool

    @nn.compact
    def __call__(self, query_length: int, key_length: int) -> Array:
        cfg = self.config
        table = self.param("rel_embedding",
                           nn.with_logical_partitioning(_init(cfg.emb_dim ** -0.5), ("heads", "relpos_buckets")),
                           (cfg.num_heads, cfg.relative_attention_num_buckets), jnp.float32)
        buckets = relative_position_buckets(query_length, key_length, self.bidirectional,
                                            cfg.relative_attention_num_buckets, cfg.relative_attention_max_distance)
        return jnp.take(table, jnp.asarray(buckets), axis=1)[None]  # [1, heads, q_len, k_len]


class Attention(nn.Module):
    """Multi-head dot-product attention without logit scaling, with an optional decode cache.

    static_kv marks cross-attention: when decoding, its keys and values depend on the encoder
    states only, so they are projected once per input, kept in the cache, and read back at
    every step (t5x projects them again at each step).
    """

    config: MT5Config
    static_kv: bool = False

    @nn.compact
    def __call__(self, inputs_q: Array, inputs_kv: Array, mask: Array | None, bias: Array | None, *,
                 deterministic: bool, decode: bool = False) -> Array:
        cfg = self.config
        heads, head_dim = cfg.num_heads, cfg.head_dim
        joined = heads * head_dim

        def project(name: str, x: Array, stddev: float) -> Array:
            y = Dense(joined, ("embed", "joined_kv"), stddev, cfg.dtype, name=name)(x)
            y = y.reshape(y.shape[:-1] + (heads, head_dim))
            return nn.with_logical_constraint(y, ("batch", "length", "heads", "kv"))

        query = project("query", inputs_q, (cfg.emb_dim * head_dim) ** -0.5)
        if decode and self.static_kv and self.has_variable("cache", "cached_key"):
            key = self.get_variable("cache", "cached_key")  # projected once per input (prefill_decoder_cache)
            value = self.get_variable("cache", "cached_value")
        else:
            key = project("key", inputs_kv, cfg.emb_dim ** -0.5)
            value = project("value", inputs_kv, cfg.emb_dim ** -0.5)
            if decode and self.static_kv and self.is_mutable_collection("cache"):
                self.put_variable("cache", "cached_key", key)
                self.put_variable("cache", "cached_value", value)

        if decode and not self.static_kv:
            initialized = self.has_variable("cache", "cached_key")
            cached_key = self.variable("cache", "cached_key", jnp.zeros, key.shape, key.dtype)
            cached_value = self.variable("cache", "cached_value", jnp.zeros, value.shape, value.dtype)
            cache_index = self.variable("cache", "cache_index", lambda: jnp.array(0, jnp.int32))
            if initialized:  # one new token: write it at cache_index, attend to positions <= index
                index = cache_index.value
                key = jax.lax.dynamic_update_slice(cached_key.value, key.astype(cached_key.value.dtype),
                                                   (0, index, 0, 0))
                value = jax.lax.dynamic_update_slice(cached_value.value, value.astype(cached_value.value.dtype),
                                                     (0, index, 0, 0))
                cached_key.value, cached_value.value = key, value
                cache_index.value = index + 1
                max_length = key.shape[1]
                mask = jnp.broadcast_to(jnp.arange(max_length) <= index, (key.shape[0], 1, 1, max_length))
                if bias is not None:
                    bias = jax.lax.dynamic_slice_in_dim(bias, index, 1, axis=2)

        logits = jnp.einsum("bqhd,bkhd->bhqk", query, key, preferred_element_type=jnp.float32)
        if bias is not None:
            logits = logits + bias.astype(jnp.float32)
        if mask is not None:
            logits = jnp.where(mask, logits, NEG_INF)
        weights = jax.nn.softmax(logits, axis=-1).astype(cfg.dtype)
        weights = nn.Dropout(cfg.dropout_rate)(weights, deterministic=deterministic)
        out = jnp.einsum("bhqk,bkhd->bqhd", weights, value)
        out = out.reshape(out.shape[:-2] + (joined,))
        out = Dense(cfg.emb_dim, ("joined_kv", "embed"), joined ** -0.5, cfg.dtype, name="out")(out)
        return nn.with_logical_constraint(out, ("batch", "length", "embed"))


class MLP(nn.Module):
    """Gated MLP: product of activations of `wi_0`, `wi_1`, ... projected back by `wo`."""

    config: MT5Config

    @nn.compact
    def __call__(self, x: Array, *, deterministic: bool) -> Array:
        cfg = self.config
        names = ["wi"] if len(cfg.mlp_activations) == 1 else [f"wi_{i}" for i in range(len(cfg.mlp_activations))]
        hidden = None
        for name, activation in zip(names, cfg.mlp_activations):
            h = _ACTIVATIONS[activation](Dense(cfg.mlp_dim, ("embed", "mlp"), cfg.emb_dim ** -0.5, cfg.dtype,
                                               name=name)(x))
            hidden = h if hidden is None else hidden * h
        hidden = nn.with_logical_constraint(hidden, ("batch", "length", "mlp"))
        hidden = nn.Dropout(cfg.dropout_rate)(hidden, deterministic=deterministic)
        return Dense(cfg.emb_dim, ("mlp", "embed"), cfg.mlp_dim ** -0.5, cfg.dtype, name="wo")(hidden)


class EncoderLayer(nn.Module):
    """Pre-norm self-attention and MLP blocks with residuals."""

    config: MT5Config

    @nn.compact
    def __call__(self, x: Array, mask: Array, bias: Array, deterministic: bool) -> Array:
        cfg = self.config
        dropout = nn.Dropout(cfg.dropout_rate, broadcast_dims=(-2,))
        y = RMSNorm(cfg.layer_norm_epsilon, cfg.dtype, name="pre_attention_layer_norm")(x)
        y = Attention(cfg, name="attention")(y, y, mask, bias, deterministic=deterministic)
        x = x + dropout(y, deterministic=deterministic)
        y = RMSNorm(cfg.layer_norm_epsilon, cfg.dtype, name="pre_mlp_layer_norm")(x)
        y = MLP(cfg, name="mlp")(y, deterministic=deterministic)
        x = x + dropout(y, deterministic=deterministic)
        return nn.with_logical_constraint(x, ("batch", "length", "embed"))


class DecoderLayer(nn.Module):
    """Pre-norm causal self-attention, cross-attention and MLP blocks with residuals."""

    config: MT5Config

    @nn.compact
    def __call__(self, x: Array, encoded: Array, self_mask: Array | None, cross_mask: Array, bias: Array,
                 deterministic: bool, decode: bool) -> Array:
        cfg = self.config
        dropout = nn.Dropout(cfg.dropout_rate, broadcast_dims=(-2,))
        y = RMSNorm(cfg.layer_norm_epsilon, cfg.dtype, name="pre_self_attention_layer_norm")(x)
        y = Attention(cfg, name="self_attention")(y, y, self_mask, bias, deterministic=deterministic, decode=decode)
        x = x + dropout(y, deterministic=deterministic)
        y = RMSNorm(cfg.layer_norm_epsilon, cfg.dtype, name="pre_cross_attention_layer_norm")(x)
        y = Attention(cfg, static_kv=True, name="encoder_decoder_attention")(y, encoded, cross_mask, None,
                                                                             deterministic=deterministic,
                                                                             decode=decode)
        x = x + dropout(y, deterministic=deterministic)
        y = RMSNorm(cfg.layer_norm_epsilon, cfg.dtype, name="pre_mlp_layer_norm")(x)
        y = MLP(cfg, name="mlp")(y, deterministic=deterministic)
        x = x + dropout(y, deterministic=deterministic)
        return nn.with_logical_constraint(x, ("batch", "length", "embed"))


def _maybe_remat(layer_cls: type[nn.Module], config: MT5Config, static_argnums: tuple[int, ...]):
    policy = _REMAT_POLICIES[config.remat_policy]
    if config.remat_policy == "none":
        return layer_cls
    return nn.remat(layer_cls, policy=policy, static_argnums=static_argnums, prevent_cse=False)


# ---------------------------------------------------------------------------- stacks
class Encoder(nn.Module):
    """Embedding, N encoder layers with a shared bidirectional relative bias, final norm."""

    config: MT5Config
    embedder: Embed

    @nn.compact
    def __call__(self, tokens: Array, segment_ids: Array | None, deterministic: bool) -> Array:
        cfg = self.config
        valid = tokens > 0
        mask = attention_mask(valid, valid, segment_ids, segment_ids)
        length = tokens.shape[-1]
        bias = RelativePositionBias(cfg, bidirectional=True, name="relpos_bias")(length, length)
        x = self.embedder(tokens)
        x = nn.Dropout(cfg.dropout_rate, broadcast_dims=(-2,))(x, deterministic=deterministic)
        x = nn.with_logical_constraint(x, ("batch", "length", "embed"))
        layer_cls = _maybe_remat(EncoderLayer, cfg, static_argnums=(4,))
        for i in range(cfg.num_encoder_layers):
            x = layer_cls(cfg, name=f"layers_{i}")(x, mask, bias, deterministic)
        x = RMSNorm(cfg.layer_norm_epsilon, cfg.dtype, name="encoder_norm")(x)
        return nn.Dropout(cfg.dropout_rate, broadcast_dims=(-2,))(x, deterministic=deterministic)


class Decoder(nn.Module):
    """Embedding, N decoder layers with a shared causal relative bias, final norm, logits."""

    config: MT5Config
    embedder: Embed

    @nn.compact
    def __call__(self, encoded: Array, encoder_tokens: Array, decoder_input_tokens: Array,
                 decoder_target_tokens: Array, encoder_segment_ids: Array | None,
                 decoder_segment_ids: Array | None, deterministic: bool, decode: bool,
                 max_decode_length: int | None) -> Array:
        cfg = self.config
        encoder_valid = encoder_tokens > 0
        if decode:  # one step with the cache: the attention layer builds the causal mask itself
            self_mask = None
            cross_mask = attention_mask(jnp.ones_like(decoder_target_tokens, bool), encoder_valid)
        else:
            target_valid = decoder_target_tokens > 0
            self_mask = attention_mask(target_valid, target_valid, decoder_segment_ids, decoder_segment_ids,
                                       causal=True)
            # without encoder segments (one unpacked input), every decoder segment sees the whole input:
            # several targets packed against one input, as rank classification scores its options
            cross_mask = attention_mask(target_valid, encoder_valid,
                                        decoder_segment_ids if encoder_segment_ids is not None else None,
                                        encoder_segment_ids)
        length = max_decode_length if decode and max_decode_length else decoder_input_tokens.shape[-1]
        bias = RelativePositionBias(cfg, bidirectional=False, name="relpos_bias")(length, length)

        x = self.embedder(decoder_input_tokens)
        x = nn.Dropout(cfg.dropout_rate, broadcast_dims=(-2,))(x, deterministic=deterministic)
        x = nn.with_logical_constraint(x, ("batch", "length", "embed"))
        layer_cls = _maybe_remat(DecoderLayer, cfg, static_argnums=(6, 7))
        for i in range(cfg.num_decoder_layers):
            x = layer_cls(cfg, name=f"layers_{i}")(x, encoded, self_mask, cross_mask, bias, deterministic, decode)
        x = RMSNorm(cfg.layer_norm_epsilon, cfg.dtype, name="decoder_norm")(x)
        x = nn.Dropout(cfg.dropout_rate, broadcast_dims=(-2,))(x, deterministic=deterministic)
        if cfg.logits_via_embedding:  # T5 1.0: tied head, rescaled as the reference does
            logits = self.embedder.attend(x * cfg.emb_dim ** -0.5)
        else:
            logits = Dense(cfg.vocab_size, ("embed", "vocab"), cfg.emb_dim ** -0.5, cfg.dtype,
                           name="logits_dense")(x)
        logits = logits.astype(jnp.float32)
        return nn.with_logical_constraint(logits, ("batch", "length", "vocab"))


class Transformer(nn.Module):
    """The mT5 encoder-decoder; call signature and parameter tree are t5x's."""

    config: MT5Config

    def setup(self):
        self.token_embedder = Embed(self.config)
        self.encoder = Encoder(self.config, self.token_embedder)
        self.decoder = Decoder(self.config, self.token_embedder)

    def encode(self, encoder_input_tokens: Array, encoder_segment_ids: Array | None = None,
               encoder_positions: Array | None = None, *, enable_dropout: bool = True) -> Array:
        """Encoder states [batch, length, emb_dim]. Relative bias makes positions implicit."""
        del encoder_positions  # relative position bias is shift-invariant within a packed segment
        return self.encoder(encoder_input_tokens, encoder_segment_ids, not enable_dropout)

    def decode(self, encoded: Array, encoder_input_tokens: Array, decoder_input_tokens: Array,
               decoder_target_tokens: Array, encoder_segment_ids: Array | None = None,
               decoder_segment_ids: Array | None = None, decoder_positions: Array | None = None, *,
               enable_dropout: bool = True, decode: bool = False, max_decode_length: int | None = None) -> Array:
        """Float32 logits [batch, target_length, vocab] given encoder states."""
        del decoder_positions
        return self.decoder(encoded, encoder_input_tokens, decoder_input_tokens, decoder_target_tokens,
                            encoder_segment_ids, decoder_segment_ids, not enable_dropout, decode, max_decode_length)

    def __call__(self, encoder_input_tokens: Array, decoder_input_tokens: Array, decoder_target_tokens: Array,
                 encoder_segment_ids: Array | None = None, decoder_segment_ids: Array | None = None,
                 encoder_positions: Array | None = None, decoder_positions: Array | None = None, *,
                 enable_dropout: bool = True, decode: bool = False, max_decode_length: int | None = None) -> Array:
        """Float32 logits [batch, target_length, vocab] (teacher forcing)."""
        encoded = self.encode(encoder_input_tokens, encoder_segment_ids, encoder_positions,
                              enable_dropout=enable_dropout)
        return self.decode(encoded, encoder_input_tokens, decoder_input_tokens, decoder_target_tokens,
                           encoder_segment_ids, decoder_segment_ids, decoder_positions,
                           enable_dropout=enable_dropout, decode=decode, max_decode_length=max_decode_length)


# ---------------------------------------------------------------------------- helpers
def _init_variables(config: MT5Config, rng: Array, encoder_length: int, decoder_length: int):
    model = Transformer(config)
    enc = jnp.ones((1, encoder_length), jnp.int32)
    dec = jnp.ones((1, decoder_length), jnp.int32)
    return model.init({"params": rng}, enc, dec, dec, enable_dropout=False)


def init_params(config: MT5Config, rng: Array, encoder_length: int = 8, decoder_length: int = 8) -> dict:
    """Fresh float32 parameters as a plain nested dict (t5x's tree)."""
    variables = jax.jit(_init_variables, static_argnums=(0, 2, 3))(config, rng, encoder_length, decoder_length)
    return nn.unbox(flax_unfreeze(variables["params"]))


def param_shapes(config: MT5Config) -> dict:
    """The parameter tree as jax.ShapeDtypeStruct leaves, without allocating."""
    boxed = jax.eval_shape(lambda: _init_variables(config, jax.random.key(0), 8, 8))["params"]
    return nn.unbox(flax_unfreeze(boxed))


def param_logical_axes(config: MT5Config) -> dict:
    """Logical axis names of every parameter, as a tree of PartitionSpec."""
    boxed = jax.eval_shape(lambda: _init_variables(config, jax.random.key(0), 8, 8))["params"]
    return nn.get_partition_spec(flax_unfreeze(boxed))


CROSS_ATTENTION = "encoder_decoder_attention"  # the cache entries of this name hold per-input keys/values


def split_cross_attention_cache(cache: dict) -> tuple[dict, dict]:
    """(self-attention part, cross-attention part) of a decoding cache, as two nested dicts."""
    def split(tree: dict) -> tuple[dict, dict]:
        own, cross = {}, {}
        for name, value in tree.items():
            if name == CROSS_ATTENTION:
                cross[name] = value
            elif isinstance(value, dict):
                own_sub, cross_sub = split(value)
                if own_sub:
                    own[name] = own_sub
                if cross_sub:
                    cross[name] = cross_sub
            else:
                own[name] = value
        return own, cross
    return split(flax_unfreeze(cache))


def merge_caches(first: dict, second: dict) -> dict:
    """The union of two nested cache dicts with disjoint leaves (inverse of split_cross_attention_cache)."""
    out = dict(first)
    for name, value in second.items():
        out[name] = merge_caches(out[name], value) if name in out and isinstance(value, dict) else value
    return out


def init_decoder_cache(model: Transformer, params: dict, batch_size: int, max_decode_length: int,
                       encoder_length: int) -> dict:
    """An empty self-attention decoding cache (keys, values, index per layer).

    Cross-attention keys/values are not in it: `prefill_decoder_cache` adds them for given
    encoder states; without them the first decode step projects and adds them.
    """
    del params  # the cache's shapes depend on the config only

    def shapes():
        enc = jnp.ones((batch_size, encoder_length), jnp.int32)
        dec = jnp.ones((batch_size, max_decode_length), jnp.int32)
        variables = model.init({"params": jax.random.key(0)}, enc, dec, dec, enable_dropout=False, decode=True,
                               max_decode_length=max_decode_length)
        return variables["cache"]

    own, _ = split_cross_attention_cache(jax.eval_shape(shapes))
    return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), own)


def prefill_decoder_cache(model: Transformer, params: dict, encoded: Array, encoder_input_tokens: Array,
                          max_decode_length: int) -> dict:
    """A decoding cache for these inputs: empty self-attention entries, cross-attention keys/values computed once."""
    rows, encoder_length = encoder_input_tokens.shape
    no_tokens = jnp.zeros((rows, 0), jnp.int32)  # the decoder over zero positions: only the projections run
    _, mutated = model.apply({"params": params}, encoded, encoder_input_tokens, no_tokens, no_tokens,
                             enable_dropout=False, decode=True, mutable=["cache"], method=Transformer.decode)
    _, cross = split_cross_attention_cache(mutated["cache"])
    return merge_caches(init_decoder_cache(model, params, rows, max_decode_length, encoder_length), cross)


def count_params(params: dict) -> int:
    """Total number of parameters (works on arrays or ShapeDtypeStructs)."""
    return int(sum(np.prod(leaf.shape) for leaf in jax.tree.leaves(params)))


def flax_unfreeze(tree):
    """A plain dict copy of a possibly frozen flax tree."""
    from flax.core import unfreeze
    return unfreeze(tree)
