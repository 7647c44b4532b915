"""Hugging Face checkpoints: names and shapes against transformers' own models, exact round trips
(safetensors, shards, pytorch_model.bin), head tying rules, and errors that name file and tensor."""
from __future__ import annotations

import dataclasses
import json

import jax
import numpy as np
import pytest

from xlit_jax.checkpoints import CheckpointError, hf, load_params, safetensors_io
from xlit_jax.checkpoints.validation import flatten_params
from xlit_jax.models.mt5 import MT5Config, init_params

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

UNTIED = MT5Config(vocab_size=64, emb_dim=16, num_heads=2, head_dim=6, mlp_dim=24, num_encoder_layers=2,
                   num_decoder_layers=3, relative_attention_num_buckets=8, relative_attention_max_distance=24)
TIED = dataclasses.replace(UNTIED, mlp_activations=("relu",), logits_via_embedding=True)


def random_params(config: MT5Config, seed: int = 0) -> dict:
    params = init_params(config, jax.random.key(seed))
    keys = iter(jax.random.split(jax.random.key(seed + 1), 500))
    return jax.tree.map(lambda x: np.asarray(x + 0.1 * jax.random.normal(next(keys), x.shape)), params)


def assert_trees_equal(a: dict, b: dict) -> None:
    flat_a, flat_b = flatten_params(a), flatten_params(b)
    assert sorted(flat_a) == sorted(flat_b)
    for name in flat_a:
        np.testing.assert_array_equal(np.asarray(flat_a[name]), np.asarray(flat_b[name]), err_msg=name)


@pytest.mark.parametrize("config", [UNTIED, TIED], ids=["mt5_untied", "t5_tied_relu"])
def test_names_and_shapes_match_transformers(config):
    """Every tensor xlit writes is a parameter of the transformers model of that config, same shape."""
    values = hf.hf_config_dict(config)
    hf_config = transformers.AutoConfig.for_model(values.pop("model_type"), **values)
    model = transformers.AutoModelForSeq2SeqLM.from_config(hf_config)
    reference = {name: tuple(p.shape) for name, p in model.state_dict().items()}
    ours = {name: value.shape for name, value in hf.to_hf_state_dict(random_params(config), config).items()}
    tied_copies = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"}
    if config.logits_via_embedding:
        tied_copies.add("lm_head.weight")
    assert set(reference) - tied_copies == set(ours)
    assert all(reference[name] == shape for name, shape in ours.items())


@pytest.mark.parametrize("config", [UNTIED, TIED], ids=["mt5_untied", "t5_tied_relu"])
def test_save_load_round_trip_exact(config, tmp_path):
    params = random_params(config)
    hf.save_hf(params, config, tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["tie_word_embeddings"] is config.logits_via_embedding
    assert saved["model_type"] == ("t5" if config.logits_via_embedding else "mt5")
    loaded, loaded_config = hf.load_hf(tmp_path)
    assert loaded_config == config
    assert_trees_equal(params, loaded)
    via_detect, _ = load_params(tmp_path)
    assert_trees_equal(params, via_detect)


def test_sharded_safetensors_round_trip(tmp_path):
    params = random_params(UNTIED)
    hf.save_hf(params, UNTIED, tmp_path, max_shard_bytes=8_000)
    shards = sorted(p.name for p in tmp_path.glob("model-*.safetensors"))
    assert len(shards) > 2 and (tmp_path / "model.safetensors.index.json").is_file()
    assert not (tmp_path / "model.safetensors").exists()
    loaded, _ = load_params(tmp_path)
    assert_trees_equal(params, loaded)
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path)  # transformers reads the index too
    np.testing.assert_array_equal(model.lm_head.weight.detach().numpy(), params["decoder"]["logits_dense"]["kernel"].T)


def test_pytorch_bin_from_transformers_save(tmp_path):
    """A pytorch_model.bin written by torch (all keys, tied copies included) loads like safetensors."""
    params = random_params(UNTIED)
    hf.save_hf(params, UNTIED, tmp_path / "st")
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "st")
    (tmp_path / "bin").mkdir()
    torch.save(model.state_dict(), tmp_path / "bin" / "pytorch_model.bin")
    (tmp_path / "bin" / "config.json").write_text((tmp_path / "st" / "config.json").read_text())
    loaded, config = load_params(tmp_path / "bin")
    assert config == UNTIED
    assert_trees_equal(params, loaded)


def test_t5_model_type_untied_is_not_scaled(tmp_path):
    """Fine-tuned mT5 exports often say model_type t5 + tie_word_embeddings false: an untied, unscaled head."""
    params = random_params(UNTIED)
    state = hf.to_hf_state_dict(params, UNTIED)
    hf_config = dict(hf.hf_config_dict(UNTIED), model_type="t5", architectures=["T5ForConditionalGeneration"])
    loaded, config = hf.from_hf_state_dict(state, hf_config)
    assert config == UNTIED
    assert_trees_equal(params, loaded)


def test_tied_copy_in_pytorch_state_and_mt5_tied_head():
    """MT5 class, tied: transformers 5 uses shared.weight unscaled, so xlit gets logits_dense = shared^T."""
    config = dataclasses.replace(UNTIED, num_decoder_layers=2)
    params = random_params(config)
    state = hf.to_hf_state_dict(params, config)
    state["lm_head.weight"] = state["shared.weight"]
    state["encoder.embed_tokens.weight"] = state["shared.weight"]
    loaded, loaded_config = hf.from_hf_state_dict(state, dict(hf.hf_config_dict(config), tie_word_embeddings=True))
    assert not loaded_config.logits_via_embedding
    np.testing.assert_array_equal(loaded["decoder"]["logits_dense"]["kernel"], state["shared.weight"].T)


def test_t5_class_tied_but_different_head_is_scaled_into_kernel():
    """T5 class, tie_word_embeddings unset, lm_head differs: transformers scales, so the kernel carries d**-0.5."""
    params = random_params(TIED)
    state = hf.to_hf_state_dict(params, TIED)
    head = np.random.default_rng(0).normal(size=state["shared.weight"].shape).astype(np.float32)
    state["lm_head.weight"] = head
    loaded, config = hf.from_hf_state_dict(state, hf.hf_config_dict(TIED))
    assert not config.logits_via_embedding
    np.testing.assert_allclose(loaded["decoder"]["logits_dense"]["kernel"], head.T * TIED.emb_dim ** -0.5)


# ------------------------------------------------------------------------------------- errors
@pytest.fixture
def saved(tmp_path):
    params = random_params(UNTIED)
    hf.save_hf(params, UNTIED, tmp_path)
    return tmp_path


def test_truncated_safetensors_names_file_and_tensor(saved):
    path = saved / "model.safetensors"
    header, start = safetensors_io.read_header(path)
    last = max(header, key=lambda name: header[name]["data_offsets"][1])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 10])
    with pytest.raises(CheckpointError, match=rf"model\.safetensors: truncated file: tensor {last}"):
        load_params(saved)
    path.write_bytes(data[:20])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: truncated safetensors file"):
        load_params(saved)


def rewrite(saved, change) -> None:
    path = saved / "model.safetensors"
    state = dict(safetensors_io.read_safetensors(path))
    change(state)
    safetensors_io.write_safetensors({k: np.array(v) for k, v in state.items()}, path)


def test_missing_tensor_is_named(saved):
    rewrite(saved, lambda state: state.pop("decoder.block.2.layer.1.EncDecAttention.v.weight"))
    with pytest.raises(CheckpointError, match=r"missing tensor decoder\.block\.2\.layer\.1\.EncDecAttention\.v\.weight "
                                              r"\(xlit decoder/layers_2/encoder_decoder_attention/value/kernel\)"):
        load_params(saved)


def test_wrong_shape_is_named(saved):
    def change(state):
        state["encoder.block.1.layer.1.DenseReluDense.wo.weight"] = np.zeros((16, 23), np.float32)
    rewrite(saved, change)
    with pytest.raises(CheckpointError, match=r"model\.safetensors: tensor encoder\.block\.1\.layer\.1\.DenseReluDense"
                                              r"\.wo\.weight has shape \(16, 23\), the config expects \(16, 24\)"):
        load_params(saved)


def test_unexpected_tensor_is_named(saved):
    def change(state):
        state["encoder.block.2.layer.0.layer_norm.weight"] = np.ones(16, np.float32)
    rewrite(saved, change)
    with pytest.raises(CheckpointError, match=r"unexpected tensor encoder\.block\.2\.layer\.0\.layer_norm\.weight"):
        load_params(saved)


def test_config_mismatch_with_given_model_config(saved):
    other = dataclasses.replace(UNTIED, num_decoder_layers=2)
    with pytest.raises(CheckpointError, match=r"config mismatch: the checkpoint has num_decoder_layers=3, "
                                              r"the given model config has num_decoder_layers=2"):
        load_params(saved, other)
    same, config = load_params(saved, dataclasses.replace(UNTIED, dtype="bfloat16", dropout_rate=0.1))
    assert config.dtype == "bfloat16" and config.dropout_rate == 0.1  # run settings come from the given config


def test_unsupported_activation_and_model_type(saved):
    values = json.loads((saved / "config.json").read_text())
    (saved / "config.json").write_text(json.dumps(dict(values, feed_forward_proj="gelu")))
    with pytest.raises(CheckpointError, match="exact-erf GELU"):
        load_params(saved)
    (saved / "config.json").write_text(json.dumps(dict(values, model_type="bart")))
    with pytest.raises(CheckpointError, match="model_type 'bart' is not t5 or mt5"):
        hf.load_hf(saved)


def test_damaged_pytorch_bin(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(hf.hf_config_dict(UNTIED)))
    (tmp_path / "pytorch_model.bin").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError, match=r"pytorch_model\.bin: unreadable PyTorch weights"):
        load_params(tmp_path)
