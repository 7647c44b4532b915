"""Training checkpoints: exact round trip, keep-N, corrupt-latest fallback, leftover tmp dirs, run lock."""
import json
import os
import socket
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xlit_jax.checkpointing import RunLock, TrainingCheckpointer, abstract_with_shardings


def _state(seed: int):
    rng = np.random.default_rng(seed)
    return {
        "step": jnp.asarray(seed, jnp.int32),
        "params": {"w": jnp.asarray(rng.normal(size=(4, 3)), jnp.float32), "b": jnp.asarray(rng.normal(size=3))},
        "rng": jax.random.PRNGKey(seed),
    }


def _abstract(state):
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return abstract_with_shardings(jax.eval_shape(lambda: state), jax.tree.map(lambda _: sharding, state))


def _assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_round_trip_is_exact_and_keeps_last_n(tmp_path):
    checkpointer = TrainingCheckpointer(tmp_path, keep=2)
    for step in (1, 2, 3):
        checkpointer.save(step, _state(step), input_position=10 * step)
    checkpointer.wait()
    assert checkpointer.all_steps() == [2, 3]
    state, info = TrainingCheckpointer(tmp_path).restore_latest(_abstract(_state(0)))
    _assert_same(state, _state(3))
    assert info["input_position"] == 30
    checkpointer.close()


def test_corrupt_latest_falls_back_to_previous(tmp_path, capsys):
    checkpointer = TrainingCheckpointer(tmp_path, keep=3, async_save=False)
    checkpointer.save(1, _state(1), 1)
    checkpointer.save(2, _state(2), 2)
    checkpointer.close()
    # Damage every array file of step 2 (a disk fault, a half-copied directory).
    damaged = 0
    for root, _, files in os.walk(tmp_path / "checkpoints" / "2" / "state"):
        for name in files:
            if name != "_CHECKPOINT_METADATA":
                path = os.path.join(root, name)
                with open(path, "r+b") as f:
                    f.truncate(max(0, os.path.getsize(path) // 3))
                damaged += 1
    assert damaged
    reopened = TrainingCheckpointer(tmp_path)
    state, info = reopened.restore_latest(_abstract(_state(0)))
    _assert_same(state, _state(1))
    assert info["input_position"] == 1
    out = capsys.readouterr().out
    assert "checkpoints/2 is unreadable" in out and "falling back to checkpoint 1" in out
    assert reopened.all_steps() == [1]  # the corrupt one was moved aside, so step 2 can be saved again
    assert list((tmp_path / "corrupt_checkpoints").iterdir())
    reopened.save(2, _state(22), 2)
    reopened.close()


def test_leftover_tmp_dir_of_a_killed_save_is_ignored(tmp_path):
    checkpointer = TrainingCheckpointer(tmp_path, async_save=False)
    checkpointer.save(1, _state(1), 1)
    checkpointer.close()
    leftover = tmp_path / "checkpoints" / "2.orbax-checkpoint-tmp-1234"
    (leftover / "state").mkdir(parents=True)
    (leftover / "state" / "junk").write_bytes(b"partial")
    reopened = TrainingCheckpointer(tmp_path)
    assert reopened.all_steps() == [1]
    state, _ = reopened.restore_latest(_abstract(_state(0)))
    _assert_same(state, _state(1))
    reopened.save(2, _state(2), 2)
    reopened.wait()
    assert reopened.all_steps() == [1, 2]
    reopened.close()


def test_lock_refuses_a_live_run_and_takes_over_a_dead_one(tmp_path, capsys):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "train.lock").write_text(json.dumps({"pid": sleeper.pid, "host": socket.gethostname(), "started": "x"}))
        with pytest.raises(RuntimeError, match=f"in use by a running training \\(pid {sleeper.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        sleeper.kill()
        sleeper.wait()
    with RunLock(tmp_path) as lock:  # the holder is dead now
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
        code = f"from xlit_jax.checkpointing import RunLock; RunLock({str(tmp_path)!r}).acquire()"
        second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert second.returncode != 0 and f"pid {os.getpid()}" in second.stderr
    assert "taking over stale lock" in capsys.readouterr().out
    assert not (tmp_path / "train.lock").exists()
    (tmp_path / "train.lock").write_text(json.dumps({"pid": 1, "host": "elsewhere", "started": "x"}))
    with pytest.raises(RuntimeError, match="host elsewhere"):
        RunLock(tmp_path).acquire()


def test_no_restorable_checkpoint_is_an_error_and_moves_nothing(tmp_path):
    checkpointer = TrainingCheckpointer(tmp_path, async_save=False)
    checkpointer.save(1, _state(1), 1)
    checkpointer.close()
    different = {**_state(0), "params": {"w": jnp.zeros((5, 3)), "b": jnp.zeros(3)}}  # e.g. a changed config
    with pytest.raises(RuntimeError, match="can be restored into this run's state"):
        TrainingCheckpointer(tmp_path).restore_latest(_abstract(different))
    assert TrainingCheckpointer(tmp_path).all_steps() == [1]


def test_a_failed_restore_leaves_no_tracebacks_on_stderr(tmp_path):
    """orbax abandons the other reads of a failed restore; their finalizers must not print tracebacks."""
    checkpointer = TrainingCheckpointer(tmp_path, async_save=False)
    checkpointer.save(1, _state(1), 1)
    checkpointer.close()
    script = (
        "import sys, jax, jax.numpy as jnp\n"
        f"sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
        "from test_checkpointing import _abstract, _state\n"
        "from xlit_jax.checkpointing import TrainingCheckpointer\n"
        "different = {**_state(0), 'params': {'w': jnp.zeros((5, 3)), 'b': jnp.zeros(3)}}\n"
        "for _ in range(3):\n"
        "    try:\n"
        f"        TrainingCheckpointer({str(tmp_path)!r}).restore_latest(_abstract(different))\n"
        "    except RuntimeError as err:\n"
        "        print('refused:', str(err)[:40])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("refused: no checkpoint in") == 3
    for noise in ("Exception ignored", "Event loop is closed", "Traceback"):
        assert noise not in result.stderr, result.stderr[-3000:]
