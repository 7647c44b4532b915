"""seqio -> batches: a tiny registered task, determinism, resumption by skipping, sharding, `xlit cache`."""
import numpy as np
import pytest

from train_fixtures import register_tiny_task, train_tiny_vocab

pytest.importorskip("seqio")

LENGTHS = {"inputs": 24, "targets": 16}


@pytest.fixture(scope="module")
def tiny_vocab(tmp_path_factory):
    return train_tiny_vocab(tmp_path_factory.mktemp("vocab"))


@pytest.fixture(scope="module")
def tiny_task(tiny_vocab):
    register_tiny_task("xlit_test_tiny_reverse", tiny_vocab, num_examples=64)
    return "xlit_test_tiny_reverse"


def _take(data, count, **kwargs):
    iterator = data.batches(**{"global_batch_size": 4, **kwargs})
    return [next(iterator) for _ in range(count)]


def test_batches_have_t5x_features(tiny_task):
    from xlit_jax.data.seqio_input import SeqioData

    (packed,) = _take(SeqioData(tiny_task, LENGTHS, seed=1, pack=True), 1)
    assert set(packed) == {"encoder_input_tokens", "decoder_input_tokens", "decoder_target_tokens",
                           "decoder_loss_weights", "encoder_segment_ids", "decoder_segment_ids",
                           "encoder_positions", "decoder_positions"}
    assert packed["encoder_input_tokens"].shape == (4, 24) and packed["decoder_target_tokens"].shape == (4, 16)
    assert packed["encoder_segment_ids"].max() >= 2  # several examples share a row
    (plain,) = _take(SeqioData(tiny_task, LENGTHS, seed=1, pack=False, shuffle=False), 1)
    targets, decoder_inputs = plain["decoder_target_tokens"], plain["decoder_input_tokens"]
    np.testing.assert_array_equal(decoder_inputs[:, 1:], targets[:, :-1])  # shifted right with 0
    assert (decoder_inputs[:, 0] == 0).all()
    np.testing.assert_array_equal(plain["decoder_loss_weights"], (targets > 0).astype(np.int32))
    assert all(1 in row for row in targets)  # EOS


def test_same_seed_same_batches_and_resume_by_skip(tiny_task):
    from xlit_jax.data.seqio_input import SeqioData

    data = SeqioData(tiny_task, LENGTHS, seed=7, pack=True)
    first = _take(data, 6)
    again = _take(SeqioData(tiny_task, LENGTHS, seed=7, pack=True), 6)
    resumed = _take(data, 2, start_position=4)
    other = _take(SeqioData(tiny_task, LENGTHS, seed=8, pack=True), 6)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a["encoder_input_tokens"], b["encoder_input_tokens"])
    for a, b in zip(first[4:], resumed):
        np.testing.assert_array_equal(a["encoder_input_tokens"], b["encoder_input_tokens"])
    assert any((a["encoder_input_tokens"] != b["encoder_input_tokens"]).any() for a, b in zip(first, other))


def test_process_shards_are_disjoint(tiny_task):
    from xlit_jax.data.seqio_input import SeqioData

    data = SeqioData(tiny_task, LENGTHS, shuffle=False, pack=False, repeat=False)
    rows = [{tuple(r) for b in data.batches(2, p, 2) for r in b["encoder_input_tokens"]} for p in range(2)]
    assert rows[0] and rows[1] and not rows[0] & rows[1]


def test_unknown_task_is_named(tiny_task):
    from xlit_jax.data.seqio_input import SeqioData

    with pytest.raises(ValueError, match="no_such_task"):
        next(SeqioData("no_such_task", LENGTHS).batches(4))


def test_cache_command_writes_what_seqio_gives(tiny_task, tiny_vocab, tmp_path, monkeypatch):
    from xlit_jax.commands import cache
    from xlit_jax.data.records import RecordData
    from xlit_jax.data.seqio_input import SeqioData

    monkeypatch.setattr(cache, "register_tasks", lambda path: None)  # the fixture registered the task
    out = tmp_path / "cache"
    assert cache.main(["--mixture", tiny_task, "--output", str(out), "--task_feature_lengths", "inputs=24,targets=16",
                       "--vocabulary", str(tiny_vocab), "--num_shards", "1", "--no-pack"]) == 0
    cached = RecordData(str(out), shuffle=False, repeat=False)
    assert cached.num_rows == 64 and not cached.pack
    from_cache = np.concatenate([b["decoder_target_tokens"] for b in cached.batches(8)])
    from_seqio = np.concatenate([b["decoder_target_tokens"] for b in
                                 SeqioData(tiny_task, LENGTHS, shuffle=False, pack=False, repeat=False).batches(8)])
    np.testing.assert_array_equal(from_cache, from_seqio)
    assert cache.main(["--mixture", tiny_task, "--output", str(out), "--vocabulary", str(tiny_vocab)]) == 1  # exists


def test_training_from_a_seqio_task_with_packing(tiny_task, tmp_path):
    import jax

    from xlit_jax import train_loop
    from xlit_jax.data.seqio_input import SeqioData
    from xlit_jax.metrics_writer import read_jsonl
    from xlit_jax.models.mt5 import MT5Config
    from xlit_jax.partitioning import Partitioner

    config = MT5Config(vocab_size=300, emb_dim=32, num_heads=2, head_dim=16, mlp_dim=64, num_encoder_layers=1,
                       num_decoder_layers=1)
    summary = train_loop.train(model_dir=str(tmp_path), train_steps=3, batch_size=4, model_config=config,
                               train_data=SeqioData(tiny_task, LENGTHS, seed=3, pack=True), checkpoint_period=2,
                               progress_bar=False, partitioner=Partitioner(devices=jax.devices()[:1]))
    assert summary["final_step"] == 3
    records = read_jsonl(tmp_path / "train_metrics.jsonl")
    assert [r["step"] for r in records] == [1, 2, 3] and all(np.isfinite(r["loss"]) for r in records)
    assert records[0]["num_sequences"] > 4  # packed rows hold several examples each
