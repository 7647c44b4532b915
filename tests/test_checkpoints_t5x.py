"""t5x checkpoints: the TensorStore directory layout (written here the way t5x writes it: zarr arrays
plus a `checkpoint` msgpack of specs) and the inline msgpack layout, config inference from shapes,
the real format sample in the shared data, and named errors."""
from __future__ import annotations

import dataclasses
import gzip
import json
import shutil

import jax
import ml_dtypes
import numpy as np
import pytest
import tensorstore as ts
from flax import serialization

from xlit_jax.checkpoints import CheckpointError, detect_format, load_params, t5x
from xlit_jax.checkpoints.inference import infer_config
from xlit_jax.checkpoints.validation import flatten_params, unflatten_params
from xlit_jax.models.mt5 import MT5Config, init_params

CONFIG = MT5Config(vocab_size=48, emb_dim=16, num_heads=4, head_dim=6, mlp_dim=20, num_encoder_layers=2,
                   num_decoder_layers=1, relative_attention_num_buckets=12)
T5_1_0 = dataclasses.replace(CONFIG, mlp_activations=("relu",), logits_via_embedding=True)


def random_params(config: MT5Config, seed: int = 0) -> dict:
    params = init_params(config, jax.random.key(seed))
    keys = iter(jax.random.split(jax.random.key(seed + 1), 500))
    return jax.tree.map(lambda x: np.asarray(x + 0.1 * jax.random.normal(next(keys), x.shape)), params)


def write_tensorstore_checkpoint(directory, params, style="gfile", keep_zarray=True, dtype=None):
    """A t5x-layout checkpoint dir: one zarr folder per array, specs in the `checkpoint` msgpack."""
    directory.mkdir(parents=True)

    def store(name, array):
        folder = name.replace("/", ".")
        metadata = {"chunks": [max(1, (n + 1) // 2) for n in array.shape],  # several chunks per array
                    "compressor": {"id": "gzip", "level": 1}, "shape": list(array.shape)}
        ts.open({"driver": "zarr", "dtype": array.dtype.name, "metadata": metadata,
                 "kvstore": {"driver": "file", "path": str(directory / folder)}},
                create=True, open=True).result().write(array).result()
        if not keep_zarray:  # as in the shared sample: metadata only in the msgpack spec
            (directory / folder / ".zarray").unlink()
        if style == "gfile":
            return {"driver": "zarr", "dtype": array.dtype.name, "metadata": metadata,
                    "kvstore": {"driver": "gfile", "path": folder + "/"}}
        return {"driver": "zarr", "dtype": array.dtype.name, "metadata": metadata, "path": folder,
                "kvstore": {"driver": "gcs", "bucket": "t5x-dummy-bucket"}}  # as t5x writes on gs://

    flat = {name: np.asarray(value, dtype=dtype or np.float32) for name, value in flatten_params(params).items()}
    target = unflatten_params({name: store(f"target/{name}", value) for name, value in flat.items()})
    embedding = flat["token_embedder/embedding"]
    param_states = {"token_embedder": {"embedding": {
        "v_row": store("state/param_states/token_embedder/embedding/v_row", embedding[:, 0].copy())}}}
    state = {"version": 3, "optimizer": {"target": target,
                                         "state": {"step": np.int32(1000), "param_states": param_states}}}
    (directory / "checkpoint").write_bytes(serialization.msgpack_serialize(state))
    return directory


def assert_trees_equal(a, b):
    flat_a, flat_b = flatten_params(a), flatten_params(b)
    assert sorted(flat_a) == sorted(flat_b)
    for name in flat_a:
        np.testing.assert_array_equal(np.asarray(flat_a[name]), np.asarray(flat_b[name]), err_msg=name)


@pytest.mark.parametrize("style,keep_zarray", [("gfile", True), ("gfile", False), ("gcs", True)])
def test_tensorstore_layout_round_trip(tmp_path, style, keep_zarray):
    params = random_params(CONFIG)
    path = write_tensorstore_checkpoint(tmp_path / "checkpoint_1000", params, style, keep_zarray)
    assert detect_format(path) == "t5x"
    loaded, config = load_params(path)
    assert config == CONFIG  # inferred from shapes
    assert_trees_equal(params, loaded)
    assert all(v.dtype == np.float32 for v in flatten_params(loaded).values())


def test_raw_reader_returns_optimizer_state_too(tmp_path):
    params = random_params(CONFIG)
    path = write_tensorstore_checkpoint(tmp_path / "ckpt", params)
    state = t5x.read_t5x(path)
    assert state["version"] == 3 and int(state["optimizer"]["state"]["step"]) == 1000
    np.testing.assert_array_equal(state["optimizer"]["state"]["param_states"]["token_embedder"]["embedding"]["v_row"],
                                  params["token_embedder"]["embedding"][:, 0])


def test_model_dir_picks_newest_checkpoint(tmp_path):
    old, new = random_params(CONFIG, 0), random_params(CONFIG, 5)
    write_tensorstore_checkpoint(tmp_path / "checkpoint_900", old)
    write_tensorstore_checkpoint(tmp_path / "checkpoint_1000", new)
    loaded, _ = load_params(tmp_path)
    assert_trees_equal(new, loaded)


def test_bfloat16_arrays_load_as_float32(tmp_path):
    params = random_params(CONFIG)
    path = write_tensorstore_checkpoint(tmp_path / "ckpt", params, dtype=ml_dtypes.bfloat16)
    loaded, _ = load_params(path)
    expected = jax.tree.map(lambda x: x.astype(ml_dtypes.bfloat16).astype(np.float32), params)
    assert_trees_equal(expected, loaded)


@pytest.mark.parametrize("layout", ["optimizer_target", "bare_params", "target"])
def test_inline_msgpack_file(tmp_path, layout):
    params = random_params(T5_1_0)
    state = {"optimizer_target": {"version": 3, "optimizer": {"target": params, "state": {"step": np.int32(3)}}},
             "bare_params": params, "target": {"target": params, "step": np.int32(3)}}[layout]
    path = tmp_path / "model.msgpack"
    path.write_bytes(serialization.msgpack_serialize(state))
    loaded, config = load_params(path)
    assert config == T5_1_0 and config.mlp_activations == ("relu",) and config.logits_via_embedding
    assert_trees_equal(params, loaded)


def test_given_config_is_used_and_checked(tmp_path):
    params = random_params(CONFIG)
    path = write_tensorstore_checkpoint(tmp_path / "ckpt", params)
    gin_config = dataclasses.replace(CONFIG, relative_attention_max_distance=64, dtype="bfloat16")
    loaded, config = load_params(path, gin_config)
    assert config is gin_config
    assert_trees_equal(params, loaded)
    with pytest.raises(CheckpointError, match=r"config mismatch: the checkpoint has mlp_dim=20, "
                                              r"the given model config has mlp_dim=32"):
        load_params(path, dataclasses.replace(CONFIG, mlp_dim=32))
    with pytest.raises(CheckpointError, match=r"the checkpoint has num_encoder_layers=2, "
                                              r"the given model config has num_encoder_layers=3"):
        load_params(path, dataclasses.replace(CONFIG, num_encoder_layers=3))
    with pytest.raises(CheckpointError, match=r"missing tensor decoder/layers_0/mlp/wi/kernel"):
        load_params(path, dataclasses.replace(CONFIG, mlp_activations=("relu",)))  # gated vs not: by tensor names


def test_infer_config_from_shapes():
    shapes = {name: tuple(v.shape) for name, v in flatten_params(random_params(T5_1_0)).items()}
    assert infer_config(shapes) == T5_1_0
    assert infer_config(shapes, relative_attention_max_distance=256).relative_attention_max_distance == 256


# ------------------------------------------------------------------------------------- errors
def test_missing_array_folder_is_named(tmp_path):
    path = write_tensorstore_checkpoint(tmp_path / "ckpt", random_params(CONFIG))
    shutil.rmtree(path / "target.decoder.layers_0.mlp.wo.kernel")
    with pytest.raises(CheckpointError, match=r"ckpt: tensor decoder/layers_0/mlp/wo/kernel: array folder "
                                              r"'target\.decoder\.layers_0\.mlp\.wo\.kernel' is missing"):
        load_params(path)


def test_damaged_chunk_is_named(tmp_path):
    path = write_tensorstore_checkpoint(tmp_path / "ckpt", random_params(CONFIG))
    chunk = path / "target.encoder.layers_1.attention.query.kernel" / "0.0"
    chunk.write_bytes(chunk.read_bytes()[:7])
    with pytest.raises(CheckpointError, match=r"attention\.query\.kernel: tensor encoder/layers_1/attention/"
                                              r"query/kernel is unreadable"):
        load_params(path)


def test_truncated_msgpack_is_named(tmp_path):
    path = write_tensorstore_checkpoint(tmp_path / "ckpt", random_params(CONFIG))
    data = (path / "checkpoint").read_bytes()
    (path / "checkpoint").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"ckpt/checkpoint: not a readable t5x msgpack checkpoint"):
        load_params(path)


def test_missing_tensor_in_target_is_named(tmp_path):
    params = random_params(CONFIG)
    del params["decoder"]["layers_0"]["pre_cross_attention_layer_norm"]
    path = write_tensorstore_checkpoint(tmp_path / "ckpt", params)
    with pytest.raises(CheckpointError, match=r"missing tensor decoder/layers_0/pre_cross_attention_layer_norm/scale"):
        load_params(path)


# ------------------------------------------------------------------------------------- the real sample
def test_real_t5x_sample(shared_data):
    """The shared tiny t5x checkpoint (a dense model, not a T5): raw arrays read right; load_params refuses."""
    path = shared_data / "t5x_format" / "tiny_t5" / "checkpoint_1"
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    state = t5x.read_t5x(path)
    param_states = state["optimizer"]["state"]["param_states"]
    assert param_states["kernel"].shape == (10, 5) and param_states["kernel"].dtype == np.float64
    assert param_states["bias"].shape == (5,) and param_states["bias"].dtype == np.float32
    assert param_states["step"].shape == () and param_states["step"].dtype == np.int32
    # Independent decoding of the zarr chunk: gzip of the C-order little-endian array.
    spec = t5x.read_state(path)[0]["optimizer"]["state"]["param_states"]["kernel"]
    raw = gzip.decompress((path / "state.param_states.kernel" / "0.0").read_bytes())
    np.testing.assert_array_equal(param_states["kernel"], np.frombuffer(raw, "<f8").reshape(spec["metadata"]["shape"]))
    assert detect_format(path) == "t5x"
    with pytest.raises(CheckpointError, match=r"not an mT5 parameter tree: missing tensor token_embedder/embedding"):
        load_params(path)


def test_spec_given_as_json_string(tmp_path):
    """Some writers keep the spec as a JSON string; it reads the same."""
    path = write_tensorstore_checkpoint(tmp_path / "ckpt", random_params(CONFIG))
    state = serialization.msgpack_restore((path / "checkpoint").read_bytes())
    spec = state["optimizer"]["target"]["token_embedder"]["embedding"]
    state["optimizer"]["target"]["token_embedder"]["embedding"] = json.dumps(spec)
    (path / "checkpoint").write_bytes(serialization.msgpack_serialize(state))
    loaded, _ = load_params(path)
    assert loaded["token_embedder"]["embedding"].shape == (48, 16)
