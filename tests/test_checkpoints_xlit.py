"""xlit's own checkpoint format (orbax params/ + config.json), format detection, and `xlit convert`."""
from __future__ import annotations

import dataclasses
import json
import shutil

import jax
import numpy as np
import pytest

from xlit_jax import cli
from xlit_jax.checkpoints import CheckpointError, detect_format, hf, load_params, save_xlit, xlit_format
from xlit_jax.checkpoints.validation import flatten_params
from xlit_jax.models.mt5 import MT5Config, init_params

CONFIG = MT5Config(vocab_size=40, emb_dim=12, num_heads=3, head_dim=4, mlp_dim=20, num_encoder_layers=1,
                   num_decoder_layers=2, relative_attention_max_distance=50, dropout_rate=0.1)
TINY_GIN = MT5Config(vocab_size=4096, emb_dim=64, num_heads=4, head_dim=16, mlp_dim=128, num_encoder_layers=2,
                     num_decoder_layers=2)  # gin/models/mt5_tiny.gin


def random_params(config: MT5Config, seed: int = 0) -> dict:
    params = init_params(config, jax.random.key(seed))
    keys = iter(jax.random.split(jax.random.key(seed + 1), 500))
    return jax.tree.map(lambda x: np.asarray(x + 0.1 * jax.random.normal(next(keys), x.shape)), params)


def assert_trees_equal(a, b):
    flat_a, flat_b = flatten_params(a), flatten_params(b)
    assert sorted(flat_a) == sorted(flat_b)
    for name in flat_a:
        np.testing.assert_array_equal(np.asarray(flat_a[name]), np.asarray(flat_b[name]), err_msg=name)


def test_round_trip_exact(tmp_path):
    params = random_params(CONFIG)
    save_xlit(jax.tree.map(jax.numpy.asarray, params), CONFIG, tmp_path / "ckpt")  # jax arrays in
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text()) == CONFIG.to_dict()
    assert detect_format(tmp_path / "ckpt") == "xlit"
    loaded, config = load_params(tmp_path / "ckpt")
    assert config == CONFIG
    assert_trees_equal(params, loaded)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in flatten_params(loaded).values())


def test_save_refuses_bad_tree_and_existing_dir(tmp_path):
    params = random_params(CONFIG)
    save_xlit(params, CONFIG, tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match="already exists"):
        save_xlit(params, CONFIG, tmp_path / "ckpt")
    del params["decoder"]["decoder_norm"]
    with pytest.raises(CheckpointError, match="params: missing tensor decoder/decoder_norm/scale"):
        save_xlit(params, CONFIG, tmp_path / "other")


def test_load_with_config(tmp_path):
    save_xlit(random_params(CONFIG), CONFIG, tmp_path / "ckpt")
    _, config = load_params(tmp_path / "ckpt", dataclasses.replace(CONFIG, dtype="bfloat16", remat_policy="full"))
    assert config.dtype == "bfloat16" and config.remat_policy == "full"
    with pytest.raises(CheckpointError, match="config mismatch: the checkpoint has relative_attention_max_distance=50"):
        load_params(tmp_path / "ckpt", dataclasses.replace(CONFIG, relative_attention_max_distance=128))


def test_config_json_disagreeing_with_params(tmp_path):
    save_xlit(random_params(CONFIG), CONFIG, tmp_path / "ckpt")
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(dataclasses.replace(CONFIG, mlp_dim=24).to_dict()))
    with pytest.raises(CheckpointError, match=r"params: tensor \S+/mlp/wi_0/kernel has shape \(12, 20\), the model "
                                              r"config expects \(12, 24\)"):
        load_params(tmp_path / "ckpt")


def test_damaged_params_dir(tmp_path):
    save_xlit(random_params(CONFIG), CONFIG, tmp_path / "ckpt")
    for child in (tmp_path / "ckpt" / "params").iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    with pytest.raises(CheckpointError, match=r"ckpt/params: unreadable orbax checkpoint"):
        load_params(tmp_path / "ckpt")


def test_detect_format_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no such file or directory"):
        detect_format(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match=r"not a recognised checkpoint .* found \['notes.txt'\]"):
        load_params(tmp_path)


# ------------------------------------------------------------------------------------- xlit convert
def test_convert_cli_hf_to_xlit_to_hf(tmp_path, capsys):
    params = random_params(TINY_GIN)
    hf.save_hf(params, TINY_GIN, tmp_path / "hf")
    assert cli.main(["convert", "--from", "hf", "--to", "xlit", "--input", str(tmp_path / "hf"),
                     "--output", str(tmp_path / "xlit")]) == 0
    assert "wrote xlit checkpoint" in capsys.readouterr().out
    assert_trees_equal(params, load_params(tmp_path / "xlit")[0])
    assert cli.main(["convert", "--to", "hf", "--input", str(tmp_path / "xlit"), "--output", str(tmp_path / "hf2"),
                     "--gin_file=models/mt5_tiny.gin"]) == 0
    loaded, config = load_params(tmp_path / "hf2")
    assert config == TINY_GIN
    assert_trees_equal(params, loaded)


def test_convert_cli_errors(tmp_path, capsys):
    params = random_params(TINY_GIN)
    save_xlit(params, TINY_GIN, tmp_path / "xlit")
    code = cli.main(["convert", "--to", "hf", "--input", str(tmp_path / "xlit"), "--output", str(tmp_path / "out"),
                     "--gin_file=models/mt5_tiny.gin", "--gin.xlit.MT5Config.num_heads=8"])
    assert code == 1
    error = capsys.readouterr().err
    assert "xlit/config.json: config mismatch: the checkpoint has num_heads=4, the given model config has num_heads=8" \
        in error and "vocab_size" not in error
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    assert cli.main(["convert", "--to", "xlit", "--input", str(tmp_path / "xlit"), "--output",
                     str(tmp_path / "busy")]) == 1
    assert "not empty" in capsys.readouterr().err


def test_convert_cli_from_t5x(tmp_path, capsys):
    from flax import serialization

    params = random_params(CONFIG)
    (tmp_path / "t5x.msgpack").write_bytes(serialization.msgpack_serialize(
        {"version": 3, "optimizer": {"target": params, "state": {}}}))
    assert cli.main(["convert", "--from", "t5x", "--to", "xlit", "--input", str(tmp_path / "t5x.msgpack"),
                     "--output", str(tmp_path / "out")]) == 0
    loaded, config = load_params(tmp_path / "out")
    assert config == dataclasses.replace(CONFIG, relative_attention_max_distance=128, dropout_rate=0.0)
    assert_trees_equal(params, loaded)
    assert xlit_format.is_xlit_dir(tmp_path / "out")
