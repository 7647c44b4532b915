"""The TF-free cache: writing, reading, deterministic shuffling, process sharding, resumption."""
import json
import subprocess
import sys

import numpy as np
import pytest

from train_fixtures import synthetic_rows, write_synthetic_cache
from xlit_jax.data.cached import CachedData, read_cache_index, write_cache

LENGTHS = {"inputs": 16, "targets": 8}


def _take(iterator, count):
    return [next(iterator) for _ in range(count)]


def test_round_trip_keeps_every_row(tmp_path):
    rows = list(synthetic_rows(50, LENGTHS))
    write_cache(iter(rows), tmp_path / "c", LENGTHS, pack=False, rows_per_shard=16)
    index = read_cache_index(tmp_path / "c")
    assert index["num_rows"] == 50 and [s["num_rows"] for s in index["shards"]] == [16, 16, 16, 2]
    data = CachedData(str(tmp_path / "c"), shuffle=False)
    (batch,) = _take(data.batches(50), 1)
    for name in rows[0]:
        np.testing.assert_array_equal(batch[name], np.stack([r[name] for r in rows]))


def test_shuffle_is_a_permutation_per_epoch_and_deterministic(tmp_path):
    write_synthetic_cache(tmp_path / "c", num_rows=40)
    data = CachedData(str(tmp_path / "c"), seed=3)
    ids = lambda b: [tuple(r) for r in b["encoder_input_tokens"]]  # noqa: E731
    epoch0 = sum((ids(b) for b in _take(data.batches(8), 5)), [])
    epoch1 = sum((ids(b) for b in _take(data.batches(8, start_position=5), 5)), [])
    unshuffled = ids(next(CachedData(str(tmp_path / "c"), shuffle=False).batches(40)))
    assert sorted(epoch0) == sorted(unshuffled) == sorted(epoch1)
    assert epoch0 != unshuffled and epoch0 != epoch1
    again = sum((ids(b) for b in _take(CachedData(str(tmp_path / "c"), seed=3).batches(8), 5)), [])
    assert again == epoch0
    other_seed = sum((ids(b) for b in _take(CachedData(str(tmp_path / "c"), seed=4).batches(8), 5)), [])
    assert other_seed != epoch0


def test_resume_from_position_equals_continuing(tmp_path):
    write_synthetic_cache(tmp_path / "c", num_rows=30)
    data = CachedData(str(tmp_path / "c"), seed=1)
    straight = _take(data.batches(4), 12)  # crosses the epoch boundary (7 batches per epoch)
    resumed = _take(data.batches(4, start_position=9), 3)
    for a, b in zip(straight[9:], resumed):
        np.testing.assert_array_equal(a["encoder_input_tokens"], b["encoder_input_tokens"])


def test_process_slices_concatenate_to_the_global_batch(tmp_path):
    write_synthetic_cache(tmp_path / "c", num_rows=32)
    data = CachedData(str(tmp_path / "c"), seed=2)
    whole = _take(data.batches(8, 0, 1), 3)
    parts = [_take(data.batches(8, p, 4), 3) for p in range(4)]
    for step in range(3):
        for name in whole[step]:
            np.testing.assert_array_equal(whole[step][name], np.concatenate([parts[p][step][name] for p in range(4)]))
    with pytest.raises(ValueError, match="not divisible"):
        next(data.batches(8, 0, 3))


def test_no_repeat_stops_after_one_epoch(tmp_path):
    write_synthetic_cache(tmp_path / "c", num_rows=10)
    assert len(list(CachedData(str(tmp_path / "c"), repeat=False).batches(4))) == 2


def test_bad_caches_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="index.json"):
        CachedData(str(tmp_path / "missing"))
    write_synthetic_cache(tmp_path / "c", num_rows=10)
    (tmp_path / "c" / "decoder_loss_weights-00000.npy").unlink()
    with pytest.raises(FileNotFoundError, match="decoder_loss_weights-00000.npy"):
        CachedData(str(tmp_path / "c"))
    index = json.loads((tmp_path / "c" / "index.json").read_text())
    index["format"] = "something-else"
    (tmp_path / "c" / "index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="format"):
        CachedData(str(tmp_path / "c"))
    too_long = {**next(synthetic_rows(1, LENGTHS)), "encoder_input_tokens": np.ones(17, np.int32)}
    with pytest.raises(ValueError, match="encoder_input_tokens"):
        write_cache([too_long], tmp_path / "d", LENGTHS, pack=False)


def test_reader_imports_no_tensorflow(tmp_path):
    write_synthetic_cache(tmp_path / "c", num_rows=10)
    code = (
        "import sys; sys.modules['tensorflow'] = None; sys.modules['seqio'] = None\n"
        "from xlit_jax.data import CachedData\n"
        f"b = next(CachedData({str(tmp_path / 'c')!r}).batches(4))\n"
        "print(sorted(b), b['encoder_input_tokens'].shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "(4, 16)" in out and "decoder_loss_weights" in out
