"""Pre-tokenized ArrayRecord data read through Grain: layout, seeded global shuffle, O(1) positions,
process slices, refusals, TF-free import; (slow) two JAX processes, and SIGKILL resume via `xlit train`."""
import json
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from train_fixtures import (TINY_MODEL_GIN, losses_by_step, subprocess_env, synthetic_rows, train_command,
                            train_tiny_vocab)
from xlit_jax.data.records import RecordData, read_index, vocabulary_fingerprint, write_records

LENGTHS = {"inputs": 16, "targets": 8}
PACKED = ("encoder_segment_ids", "decoder_segment_ids", "encoder_positions", "decoder_positions")


def _write(directory: Path, num_rows: int, **fields) -> Path:
    write_records(synthetic_rows(num_rows, LENGTHS), directory, LENGTHS, pack=False, overwrite=True, **fields)
    return directory


def _take(iterator, count):
    return [next(iterator) for _ in range(count)]


def _ids(batch):
    return [tuple(row) for row in batch["encoder_input_tokens"]]


def test_round_trip_keeps_every_row_in_order_without_shuffle(tmp_path):
    rows = list(synthetic_rows(50, LENGTHS))
    index = write_records(iter(rows), tmp_path / "c", LENGTHS, pack=False, rows_per_shard=16)
    assert index["num_rows"] == 50 and [s["num_rows"] for s in index["shards"]] == [16, 16, 16, 2]
    assert read_index(tmp_path / "c")["fingerprint"] == index["fingerprint"]
    (batch,) = _take(RecordData(str(tmp_path / "c"), shuffle=False).batches(50), 1)
    assert set(batch) == set(rows[0])
    for name in rows[0]:
        assert batch[name].dtype == np.int32
        np.testing.assert_array_equal(batch[name], np.stack([r[name] for r in rows]))


def test_packed_rows_keep_segment_ids_and_positions(tmp_path):
    rows = [{**row, **{name: np.arange(LENGTHS["inputs" if "encoder" in name else "targets"]) % 3 for name in PACKED}}
            for row in synthetic_rows(8, LENGTHS)]
    write_records(rows, tmp_path / "p", LENGTHS, pack=True)
    data = RecordData(str(tmp_path / "p"), shuffle=False)
    assert data.pack
    batch = next(data.batches(8))
    for name in PACKED:
        np.testing.assert_array_equal(batch[name], np.stack([r[name] for r in rows]))


def test_fingerprint_follows_the_content(tmp_path):
    a = write_records(synthetic_rows(20, LENGTHS, seed=0), tmp_path / "a", LENGTHS, pack=False)
    b = write_records(synthetic_rows(20, LENGTHS, seed=0), tmp_path / "b", LENGTHS, pack=False)
    c = write_records(synthetic_rows(20, LENGTHS, seed=1), tmp_path / "c", LENGTHS, pack=False)
    assert a["fingerprint"] == b["fingerprint"] != c["fingerprint"]


def test_shuffle_is_a_fresh_permutation_per_epoch_and_deterministic(tmp_path):
    path = str(_write(tmp_path / "c", 40))
    epoch0 = sum((_ids(b) for b in _take(RecordData(path, seed=3).batches(8), 5)), [])
    epoch1 = sum((_ids(b) for b in _take(RecordData(path, seed=3).batches(8, start_position=5), 5)), [])
    unshuffled = _ids(next(RecordData(path, shuffle=False).batches(40)))
    assert sorted(epoch0) == sorted(unshuffled) == sorted(epoch1)
    assert epoch0 != unshuffled and epoch0 != epoch1
    assert sum((_ids(b) for b in _take(RecordData(path, seed=3).batches(8), 5)), []) == epoch0
    assert sum((_ids(b) for b in _take(RecordData(path, seed=4).batches(8), 5)), []) != epoch0


def test_first_batch_at_any_position_equals_a_full_replay(tmp_path):
    path = str(_write(tmp_path / "c", 30))
    replay = _take(RecordData(path, seed=1).batches(4), 40)  # 30 rows: batches cross epoch boundaries
    for position in (0, 1, 7, 8, 22, 39):
        resumed = _take(RecordData(path, seed=1).batches(4, start_position=position), 1)[0]
        for name in resumed:
            np.testing.assert_array_equal(resumed[name], replay[position][name])
    # A late position is computed, not replayed: its rows come straight from (seed, position).
    late = RecordData(path, seed=1)
    started = time.perf_counter()
    batch = next(late.batches(4, start_position=10**9))
    assert time.perf_counter() - started < 5.0
    assert batch["encoder_input_tokens"].shape == (4, 16)


def test_process_slices_concatenate_to_the_global_batch(tmp_path):
    path = str(_write(tmp_path / "c", 32))
    whole = _take(RecordData(path, seed=2).batches(8, 0, 1, start_position=3), 3)
    parts = [_take(RecordData(path, seed=2).batches(8, p, 4, start_position=3), 3) for p in range(4)]
    for step in range(3):
        for name in whole[step]:
            np.testing.assert_array_equal(whole[step][name], np.concatenate([parts[p][step][name] for p in range(4)]))
    with pytest.raises(ValueError, match="multiple of the process count 3"):
        next(RecordData(path).batches(8, 0, 3))


def test_no_repeat_stops_after_one_epoch_dropping_the_partial_batch(tmp_path):
    path = str(_write(tmp_path / "c", 10))
    batches = list(RecordData(path, repeat=False, shuffle=False).batches(4))
    assert len(batches) == 2 and len(set(sum((_ids(b) for b in batches), []))) == 8


def test_lengths_and_vocabulary_that_differ_from_the_run_are_refused(tmp_path):
    vocab_a = train_tiny_vocab(tmp_path / "va", vocab_size=300)
    vocab_b = train_tiny_vocab(tmp_path / "vb", vocab_size=280)
    path = str(_write(tmp_path / "c", 16, vocabulary_path=str(vocab_a),
                      vocabulary_sha256=vocabulary_fingerprint(vocab_a)))
    RecordData(path, task_feature_lengths=dict(LENGTHS), vocabulary_path=str(vocab_a))  # the same: accepted
    with pytest.raises(ValueError, match=r"feature lengths \{'inputs': 16, 'targets': 8\}.*\{'inputs': 1024"):
        RecordData(path, task_feature_lengths={"inputs": 1024, "targets": 256})
    with pytest.raises(ValueError, match=rf"{vocab_a.name}.*sha256.*{vocab_b.name}"):
        RecordData(path, vocabulary_path=str(vocab_b))
    with pytest.raises(ValueError, match=r"\['targets'\] must be a positive integer, got 0"):
        RecordData(path, task_feature_lengths={"inputs": 16, "targets": 0})
    with pytest.raises(ValueError, match="records no vocabulary.*CACHE_VOCABULARY_PATH = None"):
        RecordData(str(_write(tmp_path / "no_vocab", 16)), vocabulary_path=str(vocab_a))
    with pytest.raises(ValueError, match=r"\['inputs'\] must be a positive integer, got -1"):
        write_records(synthetic_rows(2, LENGTHS), tmp_path / "d", {"inputs": -1, "targets": 8}, pack=False)


def test_bad_caches_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="index.json"):
        RecordData(str(tmp_path / "missing"))
    path = _write(tmp_path / "c", 10)
    index = json.loads((path / "index.json").read_text())
    shard = path / index["shards"][0]["file"]
    shard.rename(path / "moved")
    with pytest.raises(FileNotFoundError, match=index["shards"][0]["file"]):
        RecordData(str(path))
    (path / "moved").rename(shard)
    (path / "index.json").write_text(json.dumps({**index, "format": "xlit-cache-v1"}))
    with pytest.raises(ValueError, match="format is 'xlit-cache-v1'"):
        RecordData(str(path))
    (path / "index.json").write_text(json.dumps({**index, "num_rows": 11}))
    with pytest.raises(ValueError, match="num_rows 11, the shards hold 10"):
        RecordData(str(path))
    (path / "index.json").write_text(json.dumps(index))
    too_long = {**next(synthetic_rows(1, LENGTHS)), "encoder_input_tokens": np.ones(17, np.int32)}
    with pytest.raises(ValueError, match="encoder_input_tokens.*17 > 16"):
        write_records([too_long], tmp_path / "d", LENGTHS, pack=False)
    with pytest.raises(FileExistsError, match="overwrite"):
        write_records(synthetic_rows(2, LENGTHS), path, LENGTHS, pack=False)
    with pytest.raises(ValueError, match="fewer than one batch of 16"):
        next(RecordData(str(path)).batches(16))


def test_reader_imports_no_tensorflow(tmp_path):
    path = _write(tmp_path / "c", 10)
    code = (
        "import sys; sys.modules['tensorflow'] = None; sys.modules['seqio'] = None\n"
        "from xlit_jax.data.records import RecordData\n"
        f"b = next(RecordData({str(path)!r}).batches(4))\n"
        "print(sorted(b), b['encoder_input_tokens'].shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "(4, 16)" in out and "decoder_loss_weights" in out


# --- Two JAX processes on 127.0.0.1 -------------------------------------------------------------

READER = """
import sys
import numpy as np
from xlit_jax import multihost
address, count, index, path, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
if count > 1:
    multihost.initialize(address, count, index)
import jax
from xlit_jax.data.records import RecordData
assert jax.process_count() == count and jax.process_index() == index
batches = RecordData(path, seed=7).batches(8, jax.process_index(), jax.process_count(), start_position=int(sys.argv[6]))
rows = [next(batches)["encoder_input_tokens"] for _ in range(6)]
np.save(out, np.stack(rows))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_jax_processes_read_disjoint_rows_that_make_the_single_process_batches(tmp_path):
    path = _write(tmp_path / "c", 40)
    reader = tmp_path / "reader.py"
    reader.write_text(READER)
    start = 3   # 6 batches of 8 from position 3 cross the epoch boundary at row 40
    single = subprocess.run([sys.executable, str(reader), "-", "1", "0", str(path), str(tmp_path / "one.npy"),
                             str(start)],
                            env=subprocess_env(1), capture_output=True, text=True, timeout=120)
    assert single.returncode == 0, single.stderr
    address = f"127.0.0.1:{_free_port()}"
    workers = [subprocess.Popen([sys.executable, str(reader), address, "2", str(i), str(path),
                                 str(tmp_path / f"part{i}.npy"), str(start)],
                                env=subprocess_env(1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(2)]
    try:
        results = [w.communicate(timeout=180) for w in workers]
    finally:
        for w in workers:
            w.kill()
    for w, (_, err) in zip(workers, results):
        assert w.returncode == 0, err
    one = np.load(tmp_path / "one.npy")
    parts = [np.load(tmp_path / f"part{i}.npy") for i in range(2)]
    assert parts[0].shape == parts[1].shape == (6, 4, 16)
    for step in range(6):
        a, b = {tuple(r) for r in parts[0][step]}, {tuple(r) for r in parts[1][step]}
        assert not a & b   # disjoint rows within a global batch
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), one)


# --- SIGKILL through `xlit train`, fresh processes ----------------------------------------------

def _run(model_dir, gin_file, steps):
    return subprocess.Popen(train_command(f"--gin_file={gin_file}", f"--gin.MODEL_DIR={model_dir}",
                                          f"--gin.TRAIN_STEPS={steps}", "--gin.xlit.train.progress_bar=False"),
                            env=subprocess_env(2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_steps(model_dir: Path, count: int, process, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (model_dir / "train_metrics.jsonl").exists() and len(losses_by_step(model_dir)) >= count:
            return
        if process.poll() is not None:
            raise AssertionError(f"training exited early: {process.communicate()}")
        time.sleep(0.02)
    raise AssertionError(f"no {count} steps after {timeout}s")


RECORD_RUN_GIN = """
include 'runs/finetune.gin'
MIXTURE_OR_TASK_NAME = None
xlit.train.train_data = @train_data/xlit.RecordData()
train_data/xlit.RecordData:
  path = '{cache}'
  task_feature_lengths = %TASK_FEATURE_LENGTHS
  vocabulary_path = @xlit.vocabulary_path()
  shuffle = True
  seed = %RANDOM_SEED
TASK_FEATURE_LENGTHS = {lengths!r}
VOCABULARY_PATH = '{vocab}'
BATCH_SIZE = 8
CHECKPOINT_PERIOD = 4
DROPOUT_RATE = 0.1
RANDOM_SEED = 5
"""


@pytest.fixture(scope="module")
def record_run(tmp_path_factory):
    """A tiny vocabulary, an ArrayRecord cache tokenized 'with it', and a gin file training from it."""
    root = tmp_path_factory.mktemp("records_run")
    vocab = train_tiny_vocab(root / "vocab")
    cache = root / "cache"
    write_records(synthetic_rows(40, LENGTHS), cache, LENGTHS, pack=False, vocabulary_path=str(vocab),
                  vocabulary_sha256=vocabulary_fingerprint(vocab))
    gin_file = root / "tiny.gin"
    gin_file.write_text(RECORD_RUN_GIN.format(cache=cache, lengths=LENGTHS, vocab=vocab) + TINY_MODEL_GIN)
    return root, gin_file


@pytest.mark.slow
def test_sigkill_then_restart_gives_the_uninterrupted_losses_bitwise(tmp_path, record_run):
    _, gin_file = record_run
    steps = 14   # batch 8 over 40 rows: five epochs, so resumes land inside and across epochs
    reference = _run(tmp_path / "reference", gin_file, steps)
    out, err = reference.communicate(timeout=300)
    assert reference.returncode == 0, err
    expected = losses_by_step(tmp_path / "reference")
    assert sorted(expected) == list(range(1, steps + 1))
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    model_dir = tmp_path / "killed"
    for kill in range(2):
        process = _run(model_dir, gin_file, steps)
        target = rng.randint(2, 8) if kill == 0 else min(len(losses_by_step(model_dir)) + 2, steps - 1)
        _wait_for_steps(model_dir, target, process)
        time.sleep(rng.uniform(0, 0.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
    final = _run(model_dir, gin_file, steps)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    assert losses_by_step(model_dir) == expected, f"random seed {seed}"   # bitwise equal floats


@pytest.mark.slow
def test_train_refuses_a_cache_of_other_lengths(tmp_path, record_run):
    root, gin_file = record_run
    process = subprocess.run(train_command(f"--gin_file={gin_file}", f"--gin.MODEL_DIR={tmp_path / 'm'}",
                                           "--gin.TRAIN_STEPS=2",
                                           "--gin.TASK_FEATURE_LENGTHS={'inputs': 32, 'targets': 8}"),
                             env=subprocess_env(1), capture_output=True, text=True, timeout=300)
    assert process.returncode != 0
    assert "feature lengths {'inputs': 16, 'targets': 8}" in process.stderr and "'inputs': 32" in process.stderr
