"""The cache job: a seqio task -> sharded, packed ArrayRecord + index that xlit.RecordData reads back
row for row as seqio produced them; `xlit cache`; the Beam DirectRunner (when apache-beam is installed)."""
import functools
import json

import numpy as np
import pytest

pytest.importorskip("seqio")

from train_fixtures import register_tiny_task, train_tiny_vocab  # noqa: E402
from xlit_jax.data.features import feature_names  # noqa: E402
from xlit_jax.data.records import RecordData, vocabulary_fingerprint  # noqa: E402

LENGTHS = {"inputs": 32, "targets": 16}
TASK = "xlit_cache_job_tiny"


@pytest.fixture(scope="module")
def vocab(tmp_path_factory):
    return train_tiny_vocab(tmp_path_factory.mktemp("vocab"))


def _job(vocab, output, **kwargs):
    from seqio_tasks.cache_job import CacheJob

    args = dict(mixture_or_task_name=TASK, output_dir=str(output), vocabulary_path=str(vocab),
                task_feature_lengths=LENGTHS, num_shards=2, register=functools.partial(register_tiny_task, TASK, vocab))
    args.update(kwargs)
    return CacheJob(**args)


def _seqio_rows(pack, shard, num_shards):
    import seqio

    dataset = seqio.get_dataset(TASK, LENGTHS, seqio.EncDecFeatureConverter(pack=pack), dataset_split="train",
                                shuffle=False, num_epochs=1, shard_info=seqio.ShardInfo(shard, num_shards))
    return [{n: np.asarray(row[n]) for n in feature_names(pack)} for row in dataset.as_numpy_iterator()]


@pytest.mark.parametrize("pack", [True, False])
def test_in_process_job_writes_what_seqio_produces(tmp_path, vocab, pack):
    from seqio_tasks import cache_job

    index = cache_job.run(_job(vocab, tmp_path / "c", pack=pack), runner=cache_job.IN_PROCESS)
    expected = _seqio_rows(pack, 0, 2) + _seqio_rows(pack, 1, 2)
    assert index["num_rows"] == len(expected) and len(index["shards"]) == 2
    assert index["mixture_or_task_name"] == TASK and index["pack"] is pack
    assert index["task_feature_lengths"] == LENGTHS and index["examples_per_task"] == {TASK: 64}
    assert index["vocabulary"] == {"path": str(vocab), "sha256": vocabulary_fingerprint(vocab)}
    if pack:
        assert index["num_rows"] < 64   # several examples per packed row
    data = RecordData(str(tmp_path / "c"), task_feature_lengths=LENGTHS, vocabulary_path=str(vocab), shuffle=False)
    batch = next(data.batches(len(expected)))
    for name in feature_names(pack):
        np.testing.assert_array_equal(batch[name], np.stack([r[name] for r in expected]), err_msg=name)


def test_the_job_is_deterministic_and_refuses_to_overwrite(tmp_path, vocab):
    from seqio_tasks import cache_job

    first = cache_job.run(_job(vocab, tmp_path / "a"), runner=cache_job.IN_PROCESS)
    second = cache_job.run(_job(vocab, tmp_path / "b"), runner=cache_job.IN_PROCESS)
    assert first["fingerprint"] == second["fingerprint"]
    with pytest.raises(FileExistsError, match="--overwrite"):
        cache_job.run(_job(vocab, tmp_path / "a"), runner=cache_job.IN_PROCESS)
    limited = cache_job.run(_job(vocab, tmp_path / "a", num_examples=5, count_examples=False),
                            runner=cache_job.IN_PROCESS, overwrite=True)
    assert limited["num_rows"] == 5 and [s["num_rows"] for s in limited["shards"]] == [3, 2]
    with pytest.raises(ValueError, match="no seqio task or mixture named 'xlit_cache_job_tinny'.*xlit_cache_job_tiny"):
        cache_job.run(_job(vocab, tmp_path / "d", mixture_or_task_name="xlit_cache_job_tinny"),
                      runner=cache_job.IN_PROCESS)
    with pytest.raises(ValueError, match=r"\['targets'\] must be a positive integer, got 0"):
        _job(vocab, tmp_path / "e", task_feature_lengths={"inputs": 32, "targets": 0})


def test_xlit_cache_command(tmp_path, vocab, monkeypatch, capsys):
    from xlit_jax.commands import cache

    monkeypatch.setattr(cache, "register_tasks", lambda path: register_tiny_task(TASK, path))
    code = cache.main(["--mixture", TASK, "--output", str(tmp_path / "c"), "--vocabulary", str(vocab),
                       "--task_feature_lengths", "inputs=32,targets=16", "--num_shards", "3", "--runner", "InProcess"])
    assert code == 0, capsys.readouterr().err
    assert "shard(s)" in capsys.readouterr().out
    index = json.loads((tmp_path / "c" / "index.json").read_text())
    assert len(index["shards"]) == 3 and index["examples_per_task"] == {TASK: 64}
    assert cache.main(["--mixture", TASK, "--output", str(tmp_path / "c"), "--vocabulary", str(vocab),
                       "--runner", "InProcess"]) == 1
    assert "already holds a cache" in capsys.readouterr().err
    assert cache.main(["--mixture", TASK, "--output", "x", "--runner", "InProcess", "--num_shard", "3"]) == 2
    assert "unknown arguments ['--num_shard', '3']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cache.main(["--mixture", TASK, "--output", "x", "--task_feature_lengths", "inputs=0,targets=8"])


@pytest.mark.slow
def test_beam_direct_runner_writes_the_same_cache(tmp_path, vocab):
    pytest.importorskip("apache_beam", reason="apache-beam is not installed (pip install 'xlit[beam]')")
    from seqio_tasks import cache_job

    local = cache_job.run(_job(vocab, tmp_path / "local"), runner=cache_job.IN_PROCESS)
    beam = cache_job.run(_job(vocab, tmp_path / "beam"), runner="DirectRunner")
    assert beam["fingerprint"] == local["fingerprint"] and beam["examples_per_task"] == {TASK: 64}
