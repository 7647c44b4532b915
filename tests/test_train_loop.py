"""The training run: outputs, evaluation hooks, resume, non-finite loss, and (slow, subprocesses)
exact resume after SIGKILL, SIGTERM stop, and training from the cache with TensorFlow blocked."""
import json
import random
import signal
import subprocess
import time
from pathlib import Path

import gin
import numpy as np
import optax
import pytest

from train_fixtures import (losses_by_step, subprocess_env, train_command, train_tiny_vocab,
                            write_synthetic_records, write_tiny_run_gin)
from xlit_jax import train_loop
from xlit_jax.checkpointing import TrainingCheckpointer
from xlit_jax.data import RecordData
from xlit_jax.models.mt5 import MT5Config

TINY = MT5Config(vocab_size=300, emb_dim=32, num_heads=2, head_dim=16, mlp_dim=64, num_encoder_layers=2,
                 num_decoder_layers=2)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return write_synthetic_records(tmp_path_factory.mktemp("data") / "cache", num_rows=96)


def _train(model_dir, cache_dir, bindings: str = "", optimizer=None, **kwargs):
    """train() on the synthetic cache; `bindings` (gin text) and `optimizer` configure xlit.Trainer."""
    import jax

    from xlit_jax.partitioning import Partitioner
    from xlit_jax.trainer import Trainer  # noqa: F401 - registers xlit.Trainer for the bindings

    # One device: compiling for the 8 fake test devices would only cost time here (sharding is
    # exercised by the CLI subprocess tests and the trainer's own tests).
    args = dict(model_dir=str(model_dir), train_steps=6, batch_size=8, model_config=TINY,
                partitioner=Partitioner(devices=jax.devices()[:1]),
                train_data=RecordData(str(cache_dir), seed=1), checkpoint_period=3, progress_bar=False,
                random_seed=0, dropout_rate=0.1)
    args.update(kwargs)
    gin.clear_config()
    try:
        gin.parse_config(bindings)
        if optimizer is not None:
            gin.bind_parameter("xlit.Trainer.optimizer", optimizer)
        return train_loop.train(**args)
    finally:
        gin.clear_config()


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    return train_tiny_vocab(tmp_path_factory.mktemp("vocab"), vocab_size=TINY.vocab_size)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory, cache_dir, vocab_file):
    """6 uninterrupted steps with teacher-forced eval and an inference evaluator every 4 steps."""
    model_dir = tmp_path_factory.mktemp("straight")
    calls = []

    def inference_evaluator(params, step):
        calls.append(step)
        return {"rank_accuracy": 0.25, "custom/metric": 1.0}

    summary = _train(model_dir, cache_dir, eval_data=RecordData(str(cache_dir), shuffle=False, repeat=False),
                     eval_period=4, eval_steps=2, inference_evaluator=inference_evaluator,
                     vocabulary_path=str(vocab_file))
    return model_dir, summary, calls


def test_run_writes_metrics_config_checkpoints_and_eval(straight_run):
    model_dir, summary, calls = straight_run
    assert summary["status"] == "completed" and summary["final_step"] == 6
    records = [json.loads(line) for line in (model_dir / "train_metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    for key in ("loss", "z_loss", "accuracy", "grad_norm", "learning_rate", "tokens_per_second",
                "sequences_per_second", "mfu"):
        assert key in records[0], key
    assert all(np.isfinite(r["loss"]) for r in records) and records[0]["mfu"] is None  # CPU: no peak FLOP/s
    assert records[0]["learning_rate"] == pytest.approx(1e-3)  # the default constant schedule
    assert calls == [4, 6]
    by_step = {r["step"]: r for r in records}
    assert by_step[4]["infer/rank_accuracy"] == 0.25 and by_step[4]["custom/metric"] == 1.0
    assert np.isfinite(by_step[4]["eval/loss"]) and "eval/loss" in by_step[6] and "eval/loss" not in by_step[5]
    assert TrainingCheckpointer(model_dir).all_steps() == [3, 6]
    assert (model_dir / "config.gin").exists() and not (model_dir / "train.lock").exists()
    assert list((model_dir / "tensorboard").iterdir())


def test_resume_continues_with_the_same_losses(tmp_path, cache_dir, straight_run):
    _train(tmp_path / "resumed", cache_dir, train_steps=3)
    summary = _train(tmp_path / "resumed", cache_dir, train_steps=6)
    assert summary["start_step"] == 3
    # Evaluation in the straight run does not disturb training: same losses, bit for bit.
    assert losses_by_step(tmp_path / "resumed") == losses_by_step(straight_run[0])
    assert _train(tmp_path / "resumed", cache_dir, train_steps=6)["final_step"] == 6  # nothing left to do


def test_non_finite_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path, cache_dir):
    exploding = optax.sgd(optax.piecewise_constant_schedule(1e-3, {5: 1e30}))
    with pytest.raises(FloatingPointError, match=r"non-finite loss .* at step (6|7)\b"):
        _train(tmp_path, cache_dir, train_steps=12, checkpoint_period=2, optimizer=exploding)
    steps = TrainingCheckpointer(tmp_path).all_steps()
    assert steps and max(steps) <= 6
    last = losses_by_step(tmp_path)
    assert all(np.isfinite(v) for v in last.values())  # the bad step's loss was not written as a good one


def test_type_errors_name_the_gin_key(tmp_path, cache_dir):
    with pytest.raises(TypeError, match=r"xlit.train.train_steps must be int, got str 'ten'"):
        _train(tmp_path, cache_dir, train_steps="ten")
    with pytest.raises(TypeError, match=r"MT5Config.emb_dim must be int"):
        _train(tmp_path, cache_dir, model_config=MT5Config(emb_dim=32.5))


def _run(model_dir, gin_file, steps, **popen):
    return subprocess.Popen(train_command(f"--gin_file={gin_file}", f"--gin.MODEL_DIR={model_dir}",
                                          f"--gin.TRAIN_STEPS={steps}"),
                            env=subprocess_env(2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _finish(process, timeout=240):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, vocab_file):
    """An uninterrupted 14-step run through the CLI from an ArrayRecord cache, TensorFlow and seqio blocked."""
    root = tmp_path_factory.mktemp("reference")
    records = write_synthetic_records(root / "records", num_rows=96)
    gin_file = write_tiny_run_gin(root / "tiny.gin", records, extra=f"VOCABULARY_PATH = '{vocab_file}'\n"
                                  "CACHE_VOCABULARY_PATH = None\n")
    code, out, err = _finish(_run(root / "model", gin_file, 14))
    assert code == 0, err
    assert (root / "model" / "export" / "config.json").is_file() and (root / "model" / "export" / "spiece.model").is_file()
    return gin_file, losses_by_step(root / "model")


@pytest.mark.slow
def test_cli_trains_from_the_cache_without_tensorflow(reference_run):
    _, losses = reference_run
    assert sorted(losses) == list(range(1, 15))
    assert np.mean([losses[s] for s in range(11, 15)]) < np.mean([losses[s] for s in range(1, 5)])


def _wait_for_steps(model_dir: Path, count: int, process, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(losses_by_step(model_dir)) >= count:
            return
        if process.poll() is not None:
            raise AssertionError(f"training exited early: {process.communicate()}")
        time.sleep(0.02)
    raise AssertionError(f"no {count} steps after {timeout}s")


@pytest.mark.slow
def test_sigkill_at_a_random_moment_then_restart_gives_identical_losses(tmp_path, reference_run):
    gin_file, reference = reference_run
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    model_dir = tmp_path / "model"
    for kill in range(2):  # two kills: the second one after a resume
        process = _run(model_dir, gin_file, 14)
        # Both kills land before the last step (14), so each one interrupts a running training.
        target = rng.randint(2, 8) if kill == 0 else min(len(losses_by_step(model_dir)) + 2, 13)
        _wait_for_steps(model_dir, target, process)
        time.sleep(rng.uniform(0, 0.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
    code, out, err = _finish(_run(model_dir, gin_file, 14))
    assert code == 0, err
    assert "taking over stale lock" in out + err
    assert losses_by_step(model_dir) == reference, f"random seed {seed}"  # bitwise equal floats


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_exits_zero(tmp_path, reference_run):
    gin_file, reference = reference_run
    model_dir = tmp_path / "model"
    process = _run(model_dir, gin_file, 14)
    _wait_for_steps(model_dir, 5, process)
    process.send_signal(signal.SIGTERM)
    code, out, err = _finish(process)
    assert code == 0, err
    assert "SIGTERM" in out
    done = max(losses_by_step(model_dir))
    assert done < 14 and TrainingCheckpointer(model_dir).latest_step() == done
    assert not (model_dir / "train.lock").exists()
    code, out, err = _finish(_run(model_dir, gin_file, 14))
    assert code == 0, err
    assert losses_by_step(model_dir) == reference


@pytest.mark.slow
def test_second_run_on_the_same_model_dir_is_refused(tmp_path, reference_run):
    gin_file, _ = reference_run
    model_dir = tmp_path / "model"
    first = _run(model_dir, gin_file, 400)
    try:
        _wait_for_steps(model_dir, 1, first)
        code, out, err = _finish(_run(model_dir, gin_file, 400))
        assert code == 1 and "in use by a running training" in err and f"pid {first.pid}" in err
    finally:
        first.kill()
        first.wait()


def test_initial_checkpoint_gives_the_starting_params_and_a_mismatch_is_named(tmp_path, cache_dir):
    import jax

    from xlit_jax.checkpoints import save_xlit
    from xlit_jax.models import mt5

    params = jax.tree.map(np.asarray, mt5.init_params(TINY, jax.random.PRNGKey(42)))
    save_xlit(params, TINY, tmp_path / "init")
    _train(tmp_path / "run", cache_dir, train_steps=1, checkpoint_period=1, optimizer=optax.sgd(0.0),
           initial_checkpoint_path=str(tmp_path / "init"))
    from xlit_jax.trainer import Trainer

    abstract = Trainer(TINY, optimizer=optax.sgd(0.0)).abstract_state()
    state, info = TrainingCheckpointer(tmp_path / "run").restore_latest(abstract)
    assert int(state.step) == 1 and info["input_position"] == 1
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(state.params)):
        np.testing.assert_array_equal(a, np.asarray(b))
    other = mt5.init_params(MT5Config(**{**TINY.to_dict(), "emb_dim": 24}), jax.random.PRNGKey(0))
    save_xlit(jax.tree.map(np.asarray, other), MT5Config(**{**TINY.to_dict(), "emb_dim": 24}), tmp_path / "other")
    with pytest.raises(ValueError, match="emb_dim"):
        _train(tmp_path / "run2", cache_dir, initial_checkpoint_path=str(tmp_path / "other"))
    assert not (tmp_path / "run2").exists()  # a run that failed in setup leaves no half-made MODEL_DIR


def test_run_directory_holds_config_vocabulary_and_an_export_of_the_final_params(straight_run, vocab_file):
    import jax

    from xlit_jax.checkpoints.xlit_format import load_xlit
    from xlit_jax.trainer import Trainer

    model_dir = straight_run[0]
    config = MT5Config(**{**TINY.to_dict(), "dropout_rate": 0.1})
    assert json.loads((model_dir / "config.json").read_text()) == config.to_dict()
    assert (model_dir / "spiece.model").read_bytes() == vocab_file.read_bytes()
    assert (model_dir / "export" / "spiece.model").read_bytes() == vocab_file.read_bytes()
    exported, exported_config = load_xlit(model_dir / "export")
    assert exported_config == config
    state, _ = TrainingCheckpointer(model_dir).restore_latest(Trainer(TINY).abstract_state())
    assert int(state.step) == 6
    for (path, a), b in zip(jax.tree_util.tree_flatten_with_path(state.params)[0], jax.tree.leaves(exported)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=jax.tree_util.keystr(path))


def test_trainer_gin_bindings_reach_the_loss(tmp_path, cache_dir, straight_run):
    straight = {r["step"]: r for r in map(json.loads, (straight_run[0] / "train_metrics.jsonl").read_text().splitlines())}
    assert straight[1]["z_loss"] > 0  # the default z_loss is 1e-4
    _train(tmp_path, cache_dir, train_steps=1, checkpoint_period=1, bindings="xlit.Trainer.z_loss = 0")
    (record,) = [json.loads(line) for line in (tmp_path / "train_metrics.jsonl").read_text().splitlines()]
    assert record["z_loss"] == 0 and record["loss"] == record["cross_entropy"]
    assert record["loss"] != straight[1]["loss"]
    assert record["cross_entropy"] == pytest.approx(straight[1]["cross_entropy"], rel=1e-5)  # same params, batch


def test_a_gin_binding_that_nothing_reads_is_an_error(tmp_path, cache_dir):
    import xlit_jax.data.seqio_input  # noqa: F401 - registers xlit.SeqioData

    # train() passes its own partitioner to the Trainer: the Trainer's binding would be ignored.
    with pytest.raises(ValueError, match=r"nothing read.*\bTrainer\.partitioner"):
        _train(tmp_path / "a", cache_dir, train_steps=1, bindings="xlit.Trainer.partitioner = @xlit.Partitioner()")
    # nothing calls SeqioData when training from the cache
    with pytest.raises(ValueError, match=r"\bSeqioData\.seed"):
        _train(tmp_path / "b", cache_dir, train_steps=1, bindings="xlit.SeqioData.seed = 3")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # refused runs leave no MODEL_DIR


class _Lengths:
    """A batch source that only states its lengths (checks run before any batch is asked for)."""

    pack = False

    def __init__(self, lengths):
        self.task_feature_lengths = lengths

    def batches(self, *args, **kwargs):
        raise AssertionError("no batches before the checks pass")


def test_checks_fail_before_model_dir_exists(tmp_path, cache_dir, vocab_file):
    model_dir = tmp_path / "model"
    with pytest.raises(ValueError, match=r"task_feature_lengths\['inputs'\] must be a positive integer, got 0"):
        _train(model_dir, cache_dir, train_data=_Lengths({"inputs": 0, "targets": 8}))
    with pytest.raises(ValueError, match=r"no 'targets' length"):
        _train(model_dir, cache_dir, train_data=_Lengths({"inputs": 8}))
    with pytest.raises(ValueError, match=r"batch_size \(BATCH_SIZE\) 6 .* num_microbatches 4"):
        _train(model_dir, cache_dir, batch_size=6, bindings="xlit.Trainer.num_microbatches = 4")
    import sentencepiece

    pieces = sentencepiece.SentencePieceProcessor(model_file=str(vocab_file)).get_piece_size()
    small = MT5Config(**{**TINY.to_dict(), "vocab_size": pieces - 1})
    with pytest.raises(ValueError, match=rf"{pieces} pieces but MT5Config.vocab_size is {pieces - 1}"):
        _train(model_dir, cache_dir, model_config=small, vocabulary_path=str(vocab_file))
    with pytest.raises(ValueError, match=r"no vocabulary file .*xlit vocab --output spm.model"):
        _train(model_dir, cache_dir, vocabulary_path=str(tmp_path / "missing.model"))
    assert not model_dir.exists()


@pytest.mark.slow
def test_cli_huge_learning_rate_stops_with_the_step_named(tmp_path, reference_run):
    gin_file, _ = reference_run
    model_dir = tmp_path / "model"
    process = subprocess.Popen(train_command(f"--gin_file={gin_file}", f"--gin.MODEL_DIR={model_dir}",
                                             "--gin.TRAIN_STEPS=10", "--gin.CHECKPOINT_PERIOD=1", "--gin.KEEP_CHECKPOINTS=None",
                                             "--gin.LEARNING_RATE=1e30"),
                               env=subprocess_env(2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    code, out, err = _finish(process)
    assert code == 1
    import re

    match = re.search(r"non-finite loss \S+ at step (\d+)", err)
    assert match, err
    bad_step = int(match.group(1))
    saved = TrainingCheckpointer(model_dir).all_steps()
    assert saved == list(range(1, bad_step))  # every good step saved, the bad one never
    assert max(losses_by_step(model_dir), default=0) == bad_step - 1
