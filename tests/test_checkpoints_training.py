"""What `xlit train` writes, read back by load_params: MODEL_DIR (newest complete checkpoint),
MODEL_DIR/checkpoints/N (params only out of the orbax TrainState), MODEL_DIR/export; the run's
config.json and vocabulary; and a given model config checked against every kind of checkpoint."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import serialization

from xlit_jax.checkpointing import TrainingCheckpointer
from xlit_jax.checkpoints import (CheckpointError, checkpoint_vocabulary, detect_format, load_params, save_xlit,
                                  training_run, write_run_files)
from xlit_jax.checkpoints.validation import flatten_params
from xlit_jax.models.mt5 import MT5Config
from xlit_jax.trainer import Trainer

CONFIG = MT5Config(vocab_size=64, emb_dim=16, num_heads=2, head_dim=8, mlp_dim=24, num_encoder_layers=1,
                   num_decoder_layers=2, relative_attention_max_distance=40, layer_norm_epsilon=1e-5)


def assert_trees_equal(a, b):
    flat_a, flat_b = flatten_params(a), flatten_params(b)
    assert sorted(flat_a) == sorted(flat_b)
    for name in flat_a:
        np.testing.assert_array_equal(np.asarray(flat_a[name]), np.asarray(flat_b[name]), err_msg=name)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A MODEL_DIR as the trainer leaves it: config.json, spiece.model, checkpoints 2 and 5 (different params)."""
    model_dir = tmp_path_factory.mktemp("run") / "korani_tiny"
    vocabulary = model_dir.parent / "spm.model"
    vocabulary.write_bytes(b"not read by these tests")
    trainer = Trainer(CONFIG)
    state = trainer.init_state(jax.random.key(0))
    later = state.replace(params=jax.tree.map(lambda x: x + 1.0, state.params))
    checkpointer = TrainingCheckpointer(model_dir, async_save=False)
    checkpointer.save(2, state, 20)
    checkpointer.save(5, later, 50)
    checkpointer.close()
    write_run_files(model_dir, CONFIG, str(vocabulary))
    host = lambda tree: jax.tree.map(np.asarray, tree)  # noqa: E731
    return model_dir, host(state.params), host(later.params)


def test_model_dir_loads_the_newest_complete_checkpoint(run, tmp_path):
    model_dir, _, newest = run
    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    (copy / "checkpoints" / "9.orbax-checkpoint-tmp-1234").mkdir()  # a save cut short
    assert detect_format(copy) == "training"
    params, config = load_params(copy)
    assert config == CONFIG
    assert_trees_equal(params, newest)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in flatten_params(params).values())


def test_step_dir_loads_that_step(run):
    model_dir, first, _ = run
    assert detect_format(model_dir / "checkpoints" / "2") == "training"
    params, config = load_params(model_dir / "checkpoints" / "2")
    assert config == CONFIG
    assert_trees_equal(params, first)


def test_run_files_and_vocabulary_lookup(run):
    model_dir, _, _ = run
    assert json.loads((model_dir / "config.json").read_text()) == json.loads(json.dumps(CONFIG.to_dict()))
    assert (model_dir / "spiece.model").read_bytes() == b"not read by these tests"
    assert checkpoint_vocabulary(model_dir) == model_dir / "spiece.model"
    assert checkpoint_vocabulary(model_dir / "checkpoints" / "5") == model_dir / "spiece.model"
    assert checkpoint_vocabulary(model_dir / "nonexistent") is None


def test_export_is_an_xlit_checkpoint_with_its_vocabulary(run, tmp_path):
    model_dir, _, newest = run
    export = tmp_path / "export"
    save_xlit(newest, CONFIG, export, vocabulary_path=model_dir / "spiece.model")
    assert (export / "spiece.model").read_bytes() == b"not read by these tests"
    assert detect_format(export) == "xlit"
    assert checkpoint_vocabulary(export) == export / "spiece.model"
    params, config = load_params(export)
    assert config == CONFIG
    assert_trees_equal(params, newest)
    with pytest.raises(CheckpointError, match="vocabulary file .*missing.model not found"):
        save_xlit(newest, CONFIG, tmp_path / "other", vocabulary_path=tmp_path / "missing.model")
    assert not (tmp_path / "other").exists()


def test_given_config_must_match_and_every_difference_is_named(run):
    model_dir, _, newest = run
    run_settings = dataclasses.replace(CONFIG, dtype="bfloat16", dropout_rate=0.1)
    params, config = load_params(model_dir, run_settings)
    assert config is run_settings
    assert_trees_equal(params, newest)
    wrong = dataclasses.replace(CONFIG, num_heads=4, head_dim=4, relative_attention_max_distance=128,
                                layer_norm_epsilon=1e-6)
    with pytest.raises(CheckpointError) as error:
        load_params(model_dir / "checkpoints" / "2", wrong)
    message = str(error.value)
    assert "config.json: config mismatch" in message
    for field, ours, theirs in (("num_heads", 4, 2), ("head_dim", 4, 8), ("relative_attention_max_distance", 128, 40),
                                ("layer_norm_epsilon", 1e-06, 1e-05)):
        assert f"the checkpoint has {field}={theirs!r}, the given model config has {field}={ours!r}" in message
    assert "mlp_dim" not in message


def test_run_without_config_json_needs_a_model_config(run, tmp_path):
    model_dir, _, newest = run
    copy = tmp_path / "old_run"
    shutil.copytree(model_dir, copy)
    (copy / "config.json").unlink()
    with pytest.raises(CheckpointError, match=r"old_run: no config.json .*give the model gin file"):
        load_params(copy)
    params, _ = load_params(copy, CONFIG)
    assert_trees_equal(params, newest)
    with pytest.raises(CheckpointError, match=r"checkpoints/5/state \(params\): tensor \S+ has shape"):
        load_params(copy, dataclasses.replace(CONFIG, mlp_dim=32))


def test_incomplete_and_foreign_directories_are_named(tmp_path):
    (tmp_path / "fresh" / "checkpoints" / "3.orbax-checkpoint-tmp-99").mkdir(parents=True)
    with pytest.raises(CheckpointError, match=r"fresh/checkpoints: no complete checkpoint yet \(found "
                                              r"\['3.orbax-checkpoint-tmp-99'\]\)"):
        load_params(tmp_path / "fresh")
    (tmp_path / "other" / "state").mkdir(parents=True)
    (tmp_path / "other" / "state" / "_METADATA").write_text("{}")
    with pytest.raises(CheckpointError, match=r"other: not a recognised checkpoint .*training MODEL_DIR.*"
                                              r"found \['state'\]"):
        load_params(tmp_path / "other")


def test_damaged_state_is_named(run, tmp_path):
    model_dir, _, _ = run
    copy = tmp_path / "damaged"
    shutil.copytree(model_dir, copy)
    state = copy / "checkpoints" / "5" / "state"
    for child in state.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    with pytest.raises(CheckpointError, match=r"damaged/checkpoints/5/state: unreadable orbax checkpoint"):
        load_params(copy)


def test_t5x_shapes_checked_against_given_config_which_supplies_the_rest(tmp_path):
    from xlit_jax.models.mt5 import init_params

    params = jax.tree.map(np.asarray, init_params(CONFIG, jax.random.key(1)))
    path = tmp_path / "t5x.msgpack"
    path.write_bytes(serialization.msgpack_serialize({"version": 3, "optimizer": {"target": params, "state": {}}}))
    _, inferred = load_params(path)
    assert inferred.relative_attention_max_distance == 128 and inferred.layer_norm_epsilon == 1e-6  # defaults
    _, given = load_params(path, CONFIG)
    assert given is CONFIG  # supplies max_distance 40 and epsilon 1e-5, which shapes cannot tell
    wrong = dataclasses.replace(CONFIG, relative_attention_num_buckets=16, emb_dim=32)
    with pytest.raises(CheckpointError, match=r"config mismatch: the checkpoint has emb_dim=16, the given model "
                                              r"config has emb_dim=32; the checkpoint has "
                                              r"relative_attention_num_buckets=32, the given model config has "
                                              r"relative_attention_num_buckets=16"):
        load_params(path, wrong)


def test_write_run_files_skips_remote_vocabulary(tmp_path):
    write_run_files(tmp_path / "run", CONFIG, "gs://t5-data/vocabs/mc4.250000.100extra/sentencepiece.model")
    assert training_run.read_run_config(tmp_path / "run") == CONFIG
    assert not (tmp_path / "run" / "spiece.model").exists()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json"]
    assert Path(tmp_path / "run" / "config.json").read_text().endswith("\n")
