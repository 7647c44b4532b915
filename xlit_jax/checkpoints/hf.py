"""Hugging Face (transformers T5/MT5ForConditionalGeneration) <-> xlit parameters, tensor by tensor.

HF names and layouts: `shared.weight` [vocab, d_model]; Linear weights are [out, in], so every
kernel is transposed; `relative_attention_bias` lives in layer 0 of each stack as [buckets, heads]
(t5x: [heads, buckets]); layer norms are `layer.{k}.layer_norm.weight`; `lm_head.weight` [vocab, d_model].

Output head semantics follow the installed transformers (5.x): T5ForConditionalGeneration scales
the decoder output by d_model**-0.5 unless config.json says tie_word_embeddings=false (T5 1.0 =
tied and scaled = xlit's logits_via_embedding); MT5ForConditionalGeneration never scales. mT5 has
an untied head: xlit writes it as model_type "mt5" with tie_word_embeddings=false and both
`shared.weight` and `lm_head.weight`, which transformers then leaves untied.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from xlit_jax.checkpoints import safetensors_io
from xlit_jax.checkpoints.inference import resolve_config
from xlit_jax.checkpoints.validation import (CheckpointError, expected_shapes, flatten_params,
                                             unflatten_params, validate_params)
from xlit_jax.models.mt5 import MT5Config

CONFIG_NAME = "config.json"
TORCH_WEIGHTS_NAME = "pytorch_model.bin"
TORCH_INDEX_NAME = "pytorch_model.bin.index.json"
# Keys HF may store that carry no information of their own (tied copies, an unused table).
_TIED_COPIES = ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight")
_IGNORED = ("decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight",)
_HF_ACTIVATION = {"gelu": "gelu_new", "relu": "relu", "silu": "silu"}  # xlit's gelu is the tanh form


# ------------------------------------------------------------------------------------- configs
def hf_feed_forward_proj(activations: tuple[str, ...]) -> str:
    """HF `feed_forward_proj` for xlit mlp_activations: ('gelu','linear') -> 'gated-gelu', ('relu',) -> 'relu'."""
    if len(activations) == 1 and activations[0] in _HF_ACTIVATION:
        return _HF_ACTIVATION[activations[0]]
    if len(activations) == 2 and activations[1] == "linear" and activations[0] in _HF_ACTIVATION:
        return "gated-gelu" if activations[0] == "gelu" else f"gated-{_HF_ACTIVATION[activations[0]]}"
    raise CheckpointError(f"mlp_activations {activations} have no Hugging Face T5 equivalent "
                          "(supported: one of gelu/relu/silu, optionally gated as (act, 'linear'))")


def _xlit_activations(feed_forward_proj: str, source: str) -> tuple[str, ...]:
    parts = feed_forward_proj.split("-")
    gated = len(parts) == 2 and parts[0] == "gated"
    act = parts[-1]
    if gated and act in ("gelu", "gelu_new"):  # transformers maps "gated-gelu" to gelu_new (tanh)
        return ("gelu", "linear")
    names = {"gelu_new": "gelu", "relu": "relu", "silu": "silu", "swish": "silu"}
    if act not in names or len(parts) > 2 or (len(parts) == 2 and not gated):
        hint = " (exact-erf GELU; xlit's gelu is the tanh form, HF 'gelu_new')" if act == "gelu" else ""
        raise CheckpointError(f"{source}: feed_forward_proj {feed_forward_proj!r} has no xlit equivalent{hint}")
    return (names[act], "linear") if gated else (names[act],)


def hf_config_dict(config: MT5Config) -> dict[str, Any]:
    """config.json contents for transformers: MT5 (untied head) or T5 1.0 style (tied, scaled)."""
    tied = config.logits_via_embedding
    return {
        "architectures": ["T5ForConditionalGeneration" if tied else "MT5ForConditionalGeneration"],
        "model_type": "t5" if tied else "mt5",
        "vocab_size": config.vocab_size,
        "d_model": config.emb_dim,
        "d_kv": config.head_dim,
        "d_ff": config.mlp_dim,
        "num_layers": config.num_encoder_layers,
        "num_decoder_layers": config.num_decoder_layers,
        "num_heads": config.num_heads,
        "relative_attention_num_buckets": config.relative_attention_num_buckets,
        "relative_attention_max_distance": config.relative_attention_max_distance,
        "dropout_rate": config.dropout_rate,
        "layer_norm_epsilon": config.layer_norm_epsilon,
        "initializer_factor": 1.0,
        "feed_forward_proj": hf_feed_forward_proj(config.mlp_activations),
        "is_encoder_decoder": True,
        "tie_word_embeddings": tied,
        "use_cache": True,
        "pad_token_id": 0,
        "eos_token_id": 1,
        "decoder_start_token_id": 0,
        "torch_dtype": "float32",
    }


def config_from_hf(hf_config: Mapping[str, Any], source: str = "config.json") -> MT5Config:
    """The MT5Config of an HF T5/mT5 config dict (head tying is settled with the weights)."""
    model_type = hf_config.get("model_type", "t5")
    if model_type not in ("t5", "mt5"):
        raise CheckpointError(f"{source}: model_type {model_type!r} is not t5 or mt5")
    try:
        num_layers = int(hf_config["num_layers"])
        default_ffn = "gated-gelu" if model_type == "mt5" else "relu"
        return MT5Config(
            vocab_size=int(hf_config["vocab_size"]), emb_dim=int(hf_config["d_model"]),
            num_heads=int(hf_config["num_heads"]), head_dim=int(hf_config["d_kv"]), mlp_dim=int(hf_config["d_ff"]),
            num_encoder_layers=num_layers,
            num_decoder_layers=int(hf_config.get("num_decoder_layers") or num_layers),
            mlp_activations=_xlit_activations(hf_config.get("feed_forward_proj", default_ffn), source),
            dropout_rate=float(hf_config.get("dropout_rate", 0.0)),
            logits_via_embedding=_scales_tied_output(hf_config),
            relative_attention_num_buckets=int(hf_config.get("relative_attention_num_buckets", 32)),
            relative_attention_max_distance=int(hf_config.get("relative_attention_max_distance", 128)),
            layer_norm_epsilon=float(hf_config.get("layer_norm_epsilon", 1e-6)),
        )
    except KeyError as error:
        raise CheckpointError(f"{source}: missing field {error.args[0]!r}") from error


def _scales_tied_output(hf_config: Mapping[str, Any]) -> bool:
    """Whether transformers scales the decoder output by d_model**-0.5 (T5 class, not tie=false)."""
    return hf_config.get("model_type", "t5") == "t5" and hf_config.get("tie_word_embeddings", True) is not False


# ------------------------------------------------------------------------------------- names
def tensor_names(config: MT5Config) -> list[tuple[str, str, bool]]:
    """(xlit name, HF name, transposed) for every tensor of the model."""
    names = [("token_embedder/embedding", "shared.weight", False)]
    if len(config.mlp_activations) == 1:
        mlp = ["wi"]
    else:
        mlp = [f"wi_{i}" for i in range(len(config.mlp_activations))]
    for stack, count in (("encoder", config.num_encoder_layers), ("decoder", config.num_decoder_layers)):
        for i in range(count):
            ours, theirs = f"{stack}/layers_{i}", f"{stack}.block.{i}.layer"
            if stack == "encoder":
                blocks = [("attention", "pre_attention_layer_norm", f"{theirs}.0", "SelfAttention")]
            else:
                blocks = [("self_attention", "pre_self_attention_layer_norm", f"{theirs}.0", "SelfAttention"),
                          ("encoder_decoder_attention", "pre_cross_attention_layer_norm", f"{theirs}.1",
                           "EncDecAttention")]
            for attention, norm, sub, hf_attention in blocks:
                for kernel, letter in (("query", "q"), ("key", "k"), ("value", "v"), ("out", "o")):
                    names.append((f"{ours}/{attention}/{kernel}/kernel", f"{sub}.{hf_attention}.{letter}.weight", True))
                names.append((f"{ours}/{norm}/scale", f"{sub}.layer_norm.weight", False))
            mlp_sub = f"{theirs}.{len(blocks)}"
            for kernel in mlp + ["wo"]:
                names.append((f"{ours}/mlp/{kernel}/kernel", f"{mlp_sub}.DenseReluDense.{kernel}.weight", True))
            names.append((f"{ours}/pre_mlp_layer_norm/scale", f"{mlp_sub}.layer_norm.weight", False))
        if count:
            names.append((f"{stack}/relpos_bias/rel_embedding",
                          f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight", True))
        names.append((f"{stack}/{stack}_norm/scale", f"{stack}.final_layer_norm.weight", False))
    if not config.logits_via_embedding:
        names.append(("decoder/logits_dense/kernel", "lm_head.weight", True))
    return names


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu()
        return value.float().numpy() if value.is_floating_point() else value.numpy()
    return np.asarray(value)


# ------------------------------------------------------------------------------------- state dicts
def to_hf_state_dict(params: Mapping[str, Any], config: MT5Config) -> dict[str, np.ndarray]:
    """HF state dict (float32 numpy, contiguous) of xlit params; tied copies are left out as HF saves them."""
    flat = flatten_params(params)
    validate_params(flat, config, "params")
    out = {}
    for ours, theirs, transposed in tensor_names(config):
        value = np.asarray(flat[ours], dtype=np.float32)
        out[theirs] = np.ascontiguousarray(value.T if transposed else value)
    return out


def from_hf_state_dict(state_dict: Mapping[str, Any], hf_config: Mapping[str, Any], source: str = "state dict",
                       origins: Mapping[str, Any] | None = None) -> tuple[dict, MT5Config]:
    """(xlit params, MT5Config) from an HF state dict and its config dict; every tensor is checked."""
    origins = origins or {}
    where = lambda name: f"{origins.get(name, source)}"  # noqa: E731
    config = config_from_hf(hf_config, f"{source} config")
    state = dict(state_dict)
    shared = state.get("shared.weight")
    if shared is None:  # some exports keep only the per-stack copies
        shared = state.get("encoder.embed_tokens.weight")
    if shared is None:
        raise CheckpointError(f"{source}: missing tensor shared.weight (the token embedding)")
    state["shared.weight"] = shared
    shared_np = _to_numpy(shared)
    lm_head = state.pop("lm_head.weight", None)
    scaled = config.logits_via_embedding
    tied = hf_config.get("tie_word_embeddings", True) is not False
    head = None  # the untied head kernel [embed, vocab], if any
    lm_np = None if lm_head is None else _to_numpy(lm_head)
    if tied and (lm_np is None or (lm_np.shape == shared_np.shape and np.array_equal(lm_np, shared_np))):
        if not scaled:  # MT5 class, tied: logits = hidden @ shared^T without scaling -> untied copy
            head = shared_np.T
    else:
        if lm_np is None:
            raise CheckpointError(f"{source}: missing tensor lm_head.weight (config says tie_word_embeddings=false)")
        head = lm_np.T * np.float32(config.emb_dim ** -0.5) if scaled else lm_np.T
        if head.shape != (config.emb_dim, config.vocab_size):
            raise CheckpointError(f"{where('lm_head.weight')}: tensor lm_head.weight has shape {lm_np.shape}, "
                                  f"the config expects {(config.vocab_size, config.emb_dim)}")
    if head is not None and scaled:
        config = dataclasses.replace(config, logits_via_embedding=False)
    for name in _TIED_COPIES:
        copy = state.pop(name, None)
        if copy is not None and not np.array_equal(_to_numpy(copy), shared_np):
            raise CheckpointError(f"{where(name)}: tensor {name} differs from shared.weight; xlit has one "
                                  "token embedding for both stacks")
    for name in _IGNORED:
        state.pop(name, None)

    shapes = expected_shapes(config)
    names = [entry for entry in tensor_names(config) if entry[0] != "decoder/logits_dense/kernel"]
    for ours, theirs, transposed in names:  # check everything before converting anything
        if theirs not in state:
            raise CheckpointError(f"{source}: missing tensor {theirs} (xlit {ours})")
        shape = tuple(np.shape(state[theirs]))
        want = shapes[ours][::-1] if transposed else shapes[ours]
        if shape != tuple(want):
            raise CheckpointError(f"{where(theirs)}: tensor {theirs} has shape {shape}, the config expects {tuple(want)}")
    extra = sorted(set(state) - {theirs for _, theirs, _ in names})
    if extra:
        raise CheckpointError(f"{where(extra[0])}: unexpected tensor {extra[0]} for this config "
                              f"({len(extra)} unexpected: {', '.join(extra[:5])})")
    flat = {}
    if head is not None:
        flat["decoder/logits_dense/kernel"] = np.array(head, dtype=np.float32, order="C")
    for ours, theirs, transposed in names:
        value = _to_numpy(state[theirs])
        # An owned contiguous float32 copy: nothing stays memory-mapped to the file it came from.
        flat[ours] = np.array(value.T if transposed else value, dtype=np.float32, order="C")
    validate_params(flat, config, source)
    return unflatten_params(flat), config


# ------------------------------------------------------------------------------------- files
def save_hf(params: Mapping[str, Any], config: MT5Config, path: str | os.PathLike,
            max_shard_bytes: int | None = None) -> Path:
    """Write config.json + model.safetensors (or shards) that transformers' from_pretrained loads."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = to_hf_state_dict(params, config)
    (path / CONFIG_NAME).write_text(json.dumps(hf_config_dict(config), indent=2) + "\n")
    safetensors_io.write_sharded(state, path, max_shard_bytes)
    return path


def is_hf_dir(path: str | os.PathLike) -> bool:
    """A directory with an HF config.json and safetensors or pytorch weights."""
    path = Path(path)
    if not (path / CONFIG_NAME).is_file():
        return False
    weights = [safetensors_io.WEIGHTS_NAME, safetensors_io.INDEX_NAME, TORCH_WEIGHTS_NAME, TORCH_INDEX_NAME]
    return any((path / name).is_file() for name in weights)


def _read_torch_weights(path: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    import torch  # only for pytorch_model.bin checkpoints

    index = path / TORCH_INDEX_NAME
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.is_file() \
        else [TORCH_WEIGHTS_NAME]
    state, origins = {}, {}
    for file in files:
        try:
            part = torch.load(path / file, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several types for damaged zip/pickle files
            raise CheckpointError(f"{path / file}: unreadable PyTorch weights ({type(error).__name__}: "
                                  f"{str(error)[:200]})") from error
        state.update(part)
        origins.update({name: path / file for name in part})
    return state, origins


def load_hf(path: str | os.PathLike, config: MT5Config | None = None) -> tuple[dict, MT5Config]:
    """(params, MT5Config) from an HF directory; with `config`, the checkpoint must match it."""
    path = Path(path)
    config_path = path / CONFIG_NAME
    if not config_path.is_file():
        raise CheckpointError(f"{path}: no {CONFIG_NAME}; not a Hugging Face checkpoint directory")
    try:
        hf_config = json.loads(config_path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{config_path}: invalid JSON ({error})") from error
    if (path / safetensors_io.WEIGHTS_NAME).is_file() or (path / safetensors_io.INDEX_NAME).is_file():
        state, origins = safetensors_io.read_safetensors_dir(path)
    elif (path / TORCH_WEIGHTS_NAME).is_file() or (path / TORCH_INDEX_NAME).is_file():
        state, origins = _read_torch_weights(path)
    else:
        raise CheckpointError(f"{path}: no model.safetensors or pytorch_model.bin next to {CONFIG_NAME}")
    params, file_config = from_hf_state_dict(state, hf_config, str(path), origins)
    # Fields config.json leaves out take transformers' defaults, as from_pretrained would: all are checked.
    return params, resolve_config(file_config, config, str(path))
