"""Multi-host: environment/flag handling of `initialize`, and (slow) a real 2-process CPU cluster on
127.0.0.1 that trains the same steps with the same losses as one process with as many devices."""
import socket
import subprocess

import numpy as np
import pytest

from train_fixtures import losses_by_step, subprocess_env, train_command, write_synthetic_records, write_tiny_run_gin
from xlit_jax import multihost


def test_single_process_without_settings(monkeypatch):
    for name in ("COORDINATOR_ADDRESS", "NUM_PROCESSES", "PROCESS_ID"):
        monkeypatch.delenv(f"XLIT_{name}", raising=False)
        monkeypatch.delenv(f"JAX_{name}", raising=False)
    monkeypatch.delenv("TPU_WORKER_HOSTNAMES", raising=False)
    assert multihost.initialize() is False
    assert multihost.process_count() == 1 and multihost.is_primary()
    multihost.sync("no-op when alone")


def test_coordinator_without_process_count_is_an_error(monkeypatch):
    monkeypatch.setenv("XLIT_COORDINATOR_ADDRESS", "127.0.0.1:1234")
    monkeypatch.delenv("XLIT_NUM_PROCESSES", raising=False)
    monkeypatch.delenv("JAX_NUM_PROCESSES", raising=False)
    with pytest.raises(ValueError, match="num_processes"):
        multihost.initialize()


def test_tpu_pod_detection(monkeypatch):
    monkeypatch.setenv("TPU_WORKER_HOSTNAMES", "t1k-w-0,t1k-w-1")
    assert multihost.on_tpu_pod()
    monkeypatch.setenv("TPU_WORKER_HOSTNAMES", "localhost")
    assert not multihost.on_tpu_pod()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one_process_with_the_same_device_count(tmp_path):
    cache = write_synthetic_records(tmp_path / "cache", num_rows=64)
    gin_file = write_tiny_run_gin(tmp_path / "tiny.gin", cache, extra="CACHE_VOCABULARY_PATH = None\n")
    common = [f"--gin_file={gin_file}", "--gin.TRAIN_STEPS=6", "--gin.xlit.train.progress_bar=False"]

    single = subprocess.run(train_command(*common, f"--gin.MODEL_DIR={tmp_path / 'one'}"),
                            env=subprocess_env(4), capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr

    port = _free_port()
    workers = [
        subprocess.Popen(train_command(*common, f"--gin.MODEL_DIR={tmp_path / 'two'}",
                                       f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2",
                                       f"--process_id={i}"),
                         env=subprocess_env(2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    try:
        results = [w.communicate(timeout=300) for w in workers]
    finally:
        for w in workers:
            w.kill()
    for w, (out, err) in zip(workers, results):
        assert w.returncode == 0, err
    one, two = losses_by_step(tmp_path / "one"), losses_by_step(tmp_path / "two")
    assert sorted(one) == sorted(two) == list(range(1, 7))
    # Same global batches, same devices, same program: only the cross-process all-reduce differs.
    np.testing.assert_allclose([two[s] for s in range(1, 7)], [one[s] for s in range(1, 7)], rtol=1e-6, atol=0)
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoints").iterdir() if p.name.isdigit()) == ["4", "6"]
