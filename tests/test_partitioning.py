"""Partitioner: mesh layout over the 8 fake devices and t5x's logical-to-mesh rules."""
import jax
import pytest
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P

from xlit_jax.models import mt5
from xlit_jax.partitioning import STANDARD_LOGICAL_AXIS_RULES, Partitioner

TINY = mt5.MT5Config(vocab_size=64, emb_dim=16, num_heads=4, head_dim=4, mlp_dim=32, num_encoder_layers=1,
                     num_decoder_layers=1)


@pytest.mark.parametrize("num_partitions,shape", [(1, (8, 1)), (2, (4, 2)), (4, (2, 4)), (8, (1, 8))])
def test_mesh_shape_and_axis_types(num_partitions, shape):
    partitioner = Partitioner(num_partitions=num_partitions)
    assert partitioner.mesh.axis_names == ("data", "model")
    assert tuple(partitioner.mesh.shape.values()) == shape
    assert partitioner.mesh.axis_types == (AxisType.Auto, AxisType.Auto)
    assert partitioner.mesh.devices.size == jax.device_count() == 8
    assert partitioner.batch_sharding().spec == P("data")


def test_invalid_partitions_and_device_subset():
    with pytest.raises(ValueError, match="num_partitions=3"):
        Partitioner(num_partitions=3)
    single = Partitioner(devices=jax.devices()[:1])
    assert single.mesh.devices.size == 1


def test_standard_rules_are_t5x_defaults():
    rules = dict(STANDARD_LOGICAL_AXIS_RULES)
    assert rules["batch"] == "data"
    assert [rules[n] for n in ("vocab", "mlp", "heads", "joined_kv")] == ["model"] * 4
    assert [rules[n] for n in ("embed", "kv", "length", "relpos_buckets")] == [None] * 4


def test_logical_to_sharding_of_model_params():
    axes = mt5.param_logical_axes(TINY)
    tp = Partitioner(num_partitions=2).logical_to_sharding(axes)
    assert tp["token_embedder"]["embedding"].spec == P("model", None)
    assert tp["encoder"]["layers_0"]["attention"]["query"]["kernel"].spec == P(None, "model")
    assert tp["encoder"]["layers_0"]["attention"]["out"]["kernel"].spec == P("model", None)
    assert tp["decoder"]["layers_0"]["mlp"]["wo"]["kernel"].spec == P("model", None)
    assert tp["decoder"]["logits_dense"]["kernel"].spec == P(None, "model")
    assert tp["encoder"]["relpos_bias"]["rel_embedding"].spec == P("model", None)
    assert tp["encoder"]["encoder_norm"]["scale"].spec == P(None)
    fsdp = Partitioner(num_partitions=2, fsdp=True).logical_to_sharding(axes)
    assert fsdp["token_embedder"]["embedding"].spec == P("model", "data")
    assert fsdp["decoder"]["layers_0"]["mlp"]["wi_0"]["kernel"].spec == P("data", "model")
    assert fsdp["encoder"]["encoder_norm"]["scale"].spec == P("data")


def test_activation_axes_with_fsdp_fall_back_when_data_is_taken():
    fsdp = Partitioner(num_partitions=2, fsdp=True)
    # 'embed' wants 'data' under fsdp, but 'batch' already took it: the dimension stays unsharded.
    assert fsdp.logical_to_mesh_spec(P("batch", "length", "embed")) == P("data", None, None)
    assert fsdp.logical_to_mesh_spec(P("batch", "length", "heads", "kv")) == P("data", None, "model", None)
    assert fsdp.logical_to_mesh_spec(None) == P()


def test_custom_rules():
    partitioner = Partitioner(num_partitions=2, logical_axis_rules=[("batch", "data"), ("embed", "model")])
    assert partitioner.logical_to_mesh_spec(P("vocab", "embed")) == P(None, "model")
