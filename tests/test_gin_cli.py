"""`xlit train` flags and gin: both binding spellings, search paths, overrides reaching the code,
and errors that name the offending binding, file, macro or parameter."""
import json
import os
import subprocess
from pathlib import Path

import gin
import pytest

from train_fixtures import TINY_MODEL_GIN, losses_by_step, subprocess_env, write_synthetic_records
from train_fixtures import train_command as tf_blocked_train_command
from xlit_jax import gin_utils

# A synthetic cache: its lengths, no vocabulary to compare with.
SYNTHETIC_CACHE_BINDINGS = "TASK_FEATURE_LENGTHS = {'inputs': 16, 'targets': 8}\nCACHE_VOCABULARY_PATH = None\n"
from xlit_jax.commands import train as train_command
from xlit_jax.gin_utils import GinConfigError, parse_flags, resolve_gin_file

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config(clear_constants=False)
    yield
    gin.clear_config(clear_constants=False)


def test_flags_both_spellings_in_order():
    flags = parse_flags(["--gin_file=a.gin", "--gin.TRAIN_STEPS=10", "--gin_bindings", "BATCH_SIZE = 4",
                         "--gin_file", "b.gin", "--gin.MODEL_DIR=/tmp/x y", "--gin.NAME='quoted'",
                         "--gin_search_paths=/p1,/p2", "--process_id=1", "--gin.xlit.train.eval_steps", "3",
                         "--gin.MODEL_CONFIG=@xlit.MT5Config()"])
    assert flags.gin_files == ["a.gin", "b.gin"]
    assert flags.gin_bindings == ["TRAIN_STEPS = 10", "BATCH_SIZE = 4", "MODEL_DIR = '/tmp/x y'", "NAME = 'quoted'",
                                  "xlit.train.eval_steps = 3", "MODEL_CONFIG = @xlit.MT5Config()"]
    assert flags.gin_search_paths == ["/p1", "/p2"] and flags.rest == ["--process_id=1"]


def test_gin_files_are_found_in_the_repo_gin_dir_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    search = gin_utils.default_search_paths()
    expected = (REPO / "gin" / "runs" / "finetune.gin").resolve()
    assert resolve_gin_file("runs/finetune.gin", search) == expected
    assert resolve_gin_file("gin/runs/finetune.gin", search) == expected
    assert resolve_gin_file("runs/finetune", search) == expected
    with pytest.raises(GinConfigError, match="no_such.gin"):
        resolve_gin_file("runs/no_such.gin", search)


def test_includes_resolve_when_the_cwd_has_a_runs_folder_on_sys_path(tmp_path, monkeypatch):
    """A notebook's cwd holding runs/ (what the docs write to) is a namespace package on sys.path;
    gin's package reader crashed on 'include runs/finetune.gin' with a TypeError."""
    from xlit_jax.commands import wiring

    (tmp_path / "runs" / "some_run").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    wiring.import_configurables()
    files = gin_utils.parse_gin(["models/mt5_tiny.gin", "experiments/korani_tuned.gin"],
                                ["MODEL_DIR = 'm'", "INITIAL_CHECKPOINT_PATH = None"], finalize=False)
    assert files[-1].name == "korani_tuned.gin"
    assert gin.query_parameter("%MIXTURE_OR_TASK_NAME") == "korani_train"


def _main(*args):
    return train_command.main(list(args))


def test_unknown_parameter_configurable_and_macro_are_named(tmp_path, capsys):
    base = ["--gin_file=runs/finetune.gin", f"--gin.MODEL_DIR={tmp_path}", "--gin.TRAIN_STEPS=1",
            "--gin.MIXTURE_OR_TASK_NAME=x", "--gin.MODEL_CONFIG=@xlit.MT5Config()"]
    assert _main(*base, "--gin.xlit.train.no_such_param=3") == 2
    err = capsys.readouterr().err
    assert "xlit.train.no_such_param = 3" in err and "no_such_param" in err
    gin.clear_config(clear_constants=False)
    assert _main(*base, "--gin_bindings=NoSuchThing.value = 1") == 2
    assert "NoSuchThing" in capsys.readouterr().err
    gin.clear_config(clear_constants=False)
    assert _main(*base, "--gin.TRAN_STEPS=3") == 2
    assert "macro TRAN_STEPS is not used" in capsys.readouterr().err
    gin.clear_config(clear_constants=False)
    assert _main("--gin_file=runs/finetune.gin", "--gin.TRAIN_STEPS=1", "--gin.MIXTURE_OR_TASK_NAME=x",
                 "--gin.MODEL_CONFIG=@xlit.MT5Config()") == 2
    assert "MODEL_DIR" in capsys.readouterr().err


def test_error_in_a_gin_file_names_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.gin"
    bad.write_text("include 'runs/finetune.gin'\nxlit.train.not_a_param = 1\n")
    assert _main(f"--gin_file={bad}", f"--gin.MODEL_DIR={tmp_path}") == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "not_a_param" in err


def test_type_error_names_the_key(tmp_path, capsys):
    cache = write_synthetic_records(tmp_path / "cache", num_rows=16)
    run = tmp_path / "run.gin"
    run.write_text("include 'runs/finetune_cached.gin'\n" + TINY_MODEL_GIN + SYNTHETIC_CACHE_BINDINGS)
    assert _main(f"--gin_file={run}", f"--gin.MODEL_DIR={tmp_path / 'm'}", f"--gin.CACHED_DATA_DIR={cache}",
                 "--gin.TRAIN_STEPS=ten") == 1
    assert "xlit.train.train_steps must be int, got str 'ten'" in capsys.readouterr().err
    gin.clear_config(clear_constants=False)
    assert _main(f"--gin_file={run}", f"--gin.MODEL_DIR={tmp_path / 'm'}", f"--gin.CACHED_DATA_DIR={cache}",
                 "--gin.TRAIN_STEPS=2", "--gin.xlit.MT5Config.num_heads=2.5") == 1
    assert "MT5Config.num_heads must be int" in capsys.readouterr().err


@pytest.mark.slow
def test_overrides_reach_the_run_and_the_operative_config_is_written(tmp_path):
    cache = write_synthetic_records(tmp_path / "cache", num_rows=32)
    run = tmp_path / "run.gin"
    run.write_text("include 'runs/finetune_cached.gin'\n" + TINY_MODEL_GIN + SYNTHETIC_CACHE_BINDINGS + "BATCH_SIZE = 8\n")
    model_dir = tmp_path / "model"
    # Run from tmp_path (the gin file is found in the current directory, runs/ in the repo's gin/).
    result = subprocess.run(
        tf_blocked_train_command("--gin_file=run.gin", f"--gin.MODEL_DIR={model_dir}", f"--gin.CACHED_DATA_DIR={cache}",
                      "--gin.TRAIN_STEPS=3", "--gin.BATCH_SIZE=4", "--gin_bindings=xlit.MT5Config.emb_dim = 24",
                      "--gin.CHECKPOINT_PERIOD=2", "--gin.xlit.train.progress_bar=False"),
        cwd=tmp_path, env=subprocess_env(1), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert sorted(losses_by_step(model_dir)) == [1, 2, 3]
    records = [json.loads(line) for line in (model_dir / "train_metrics.jsonl").read_text().splitlines()]
    assert records[0]["num_sequences"] == 4  # BATCH_SIZE override
    config = (model_dir / "config.gin").read_text()
    assert "TRAIN_STEPS = 3" in config and "emb_dim = 24" in config and "BATCH_SIZE = 4" in config
    assert sorted(os.listdir(model_dir / "checkpoints")) == ["2", "3"]
    from xlit_jax.checkpointing import TrainingCheckpointer
    from xlit_jax.models.mt5 import MT5Config
    from xlit_jax.trainer import Trainer

    config24 = MT5Config(**{**_tiny_fields(), "emb_dim": 24})
    state, _ = TrainingCheckpointer(model_dir).restore_latest(
        Trainer(config24, partitioner=_one_device_partitioner()).abstract_state())
    assert state.params["token_embedder"]["embedding"].shape == (300, 24)  # emb_dim override reached the model


def _tiny_fields() -> dict:
    return dict(vocab_size=300, emb_dim=32, num_heads=2, head_dim=16, mlp_dim=64, num_encoder_layers=2,
                num_decoder_layers=2)


def _one_device_partitioner():
    import jax

    from xlit_jax.partitioning import Partitioner

    return Partitioner(devices=jax.devices()[:1])
