"""Launch scripts: --dry_run prints the exact commands; a real run executes them in order; a
--gin_file that does not exist stops the launch with a clear error before anything runs."""
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(script, args, env=None, cwd=REPO):
    return subprocess.run([sys.executable, str(REPO / "launch" / script), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=60)


def _commands(stdout):
    return [shlex.split(line[2:]) for line in stdout.splitlines() if line.startswith("+ ")]


def _fake_tools(tmp_path):
    """gcloud, sbatch and xlit stand-ins that log their arguments (so nothing real is touched)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("gcloud", "sbatch", "xlit"):
        path = bin_dir / tool
        path.write_text(f'#!/bin/bash\necho "{tool} $*" >> {log}\n')
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}, log


TPU_ARGS = ["--name", "xlit-v4", "--zone", "us-central2-b", "--accelerator_type", "v4-32", "--model_dir",
            "gs://bucket/run", "--gin_file", "gin/models/mt5_xl.gin", "--gin", "TRAIN_STEPS=100",
            "--results_dir", "/tmp/results"]


def test_tpu_dry_run_prints_every_step_and_runs_nothing(tmp_path):
    env, log = _fake_tools(tmp_path)
    result = _run("tpu_vm.py", TPU_ARGS + ["--dry_run", "--archive", str(tmp_path / "x.tgz")], env)
    assert result.returncode == 0, result.stderr
    commands = _commands(result.stdout)
    assert [c[:5] for c in commands[1:2]] == [["gcloud", "compute", "tpus", "tpu-vm", "create"]]
    assert "--accelerator-type=v4-32" in commands[1]
    scp, install, train = commands[2], commands[3], commands[4]
    assert scp[4] == "scp" and "--worker=all" in scp
    assert "--worker=all" in install and "pip install -e '.[seqio]'" in install[-1]
    remote = train[-1]
    assert "xlit train --gin_file=gin/models/mt5_xl.gin" in remote and "--gin.TRAIN_STEPS=100" in remote
    assert shlex.split(remote.split("&&", 1)[1].split("2>&1")[0])[3] == '--gin.MODEL_DIR="gs://bucket/run"'
    assert commands[5][:4] == ["gcloud", "storage", "rsync", "--recursive"]
    assert commands[6][4] == "delete"
    for command in (install[-1], remote):
        assert subprocess.run(["bash", "-n", "-c", command]).returncode == 0
    assert not log.exists() and not (tmp_path / "x.tgz").exists()


def test_tpu_run_executes_the_commands_in_order(tmp_path):
    env, log = _fake_tools(tmp_path)
    result = _run("tpu_vm.py", TPU_ARGS + ["--keep", "--archive", str(tmp_path / "x.tgz")], env)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert [c.split()[4] for c in calls[:4]] == ["create", "scp", "ssh", "ssh"]
    assert calls[4].startswith("gcloud storage rsync")
    assert not any(" delete " in c for c in calls)  # --keep
    assert (tmp_path / "x.tgz").stat().st_size > 0  # the checkout was really packed


def test_gpu_node_dry_run():
    result = _run("gpu_node.py", ["--model_dir", "/scratch/run", "--gpus", "0,1", "--gin_file", "gin/models/mt5_base.gin",
                                  "--dry_run"])
    assert result.returncode == 0, result.stderr
    (command,) = _commands(result.stdout)
    assert command[0] == "env" and "CUDA_VISIBLE_DEVICES=0,1" in command
    assert command[command.index("xlit"):] == ["xlit", "train", "--gin_file=gin/models/mt5_base.gin",
                                               '--gin.MODEL_DIR="/scratch/run"']


def test_slurm_dry_run_prints_a_valid_batch_script(tmp_path):
    env, log = _fake_tools(tmp_path)
    result = _run("slurm.py", ["--nodes", "4", "--gpus_per_node", "8", "--partition", "a100", "--model_dir",
                               "/shared/run", "--gin_file", "gin/models/mt5_xl.gin", "--dry_run"], env)
    assert result.returncode == 0, result.stderr
    script = result.stdout.split("+ sbatch")[0].split("\n", 1)[1]
    assert "#SBATCH --nodes=4" in script and "#SBATCH --gpus-per-node=8" in script and "#SBATCH --partition=a100" in script
    assert "XLIT_COORDINATOR_ADDRESS" in script and "XLIT_PROCESS_ID=$SLURM_PROCID" in script
    script_path = tmp_path / "job.sbatch"
    script_path.write_text(script)
    assert subprocess.run(["bash", "-n", str(script_path)]).returncode == 0
    assert not log.exists()


def test_slurm_submits_the_script(tmp_path):
    env, log = _fake_tools(tmp_path)
    script = tmp_path / "job.sbatch"
    result = _run("slurm.py", ["--nodes", "2", "--model_dir", "/m", "--script", str(script),
                               "--log_dir", str(tmp_path / "logs")], env)
    assert result.returncode == 0, result.stderr
    assert log.read_text().strip() == f"sbatch {script}"
    assert script.read_text().startswith("#!/bin/bash")


def _docstring_example(script: str) -> list[str]:
    """The `python launch/<script> ...` example of a launch script's docstring, as words after the script."""
    text = (REPO / "launch" / script).read_text()
    example = text.split("Example:", 1)[1].split('"""', 1)[0].replace("\\\n", " ")
    words = shlex.split(example)
    assert words[:2] == ["python", f"launch/{script}"], words
    return words[2:]


def test_docstring_examples_name_shipped_gin_files_and_dry_run(tmp_path):
    env, log = _fake_tools(tmp_path)
    for script in ("tpu_vm.py", "gpu_node.py", "slurm.py"):
        words = _docstring_example(script)
        assert "--dry_run" in words
        extra = ["--archive", str(tmp_path / "x.tgz")] if script == "tpu_vm.py" else []
        result = _run(script, words + extra, env, cwd=tmp_path)  # from outside the checkout too
        assert result.returncode == 0, (script, result.stderr)
        gin_files = [words[i + 1] for i, w in enumerate(words) if w == "--gin_file"]
        assert gin_files and all((REPO / g).is_file() for g in gin_files), gin_files
    assert not log.exists()


@pytest.mark.parametrize("script,args", [
    ("tpu_vm.py", TPU_ARGS[:-2]),
    ("gpu_node.py", ["--model_dir", "/scratch/run"]),
    ("slurm.py", ["--nodes", "2", "--model_dir", "/shared/run"]),
])
def test_a_missing_gin_file_is_a_clear_error_before_anything_runs(tmp_path, script, args):
    env, log = _fake_tools(tmp_path)
    result = _run(script, args + ["--gin_file", "experiments/korani_monolingual.gin", "--dry_run"], env)
    assert result.returncode == 2
    assert "--gin_file experiments/korani_monolingual.gin: no such file" in result.stderr
    assert "experiments/korani_tuned.gin" in result.stderr  # the shipped files are listed
    assert "Traceback" not in result.stderr and not result.stdout.strip()
    assert not log.exists()


@pytest.mark.parametrize("gin_file", ["gin/models/mt5_xl.gin", "models/mt5_xl.gin", "experiments/p3_tuned.gin"])
def test_gin_files_resolve_as_repo_paths_or_under_gin(gin_file):
    result = _run("gpu_node.py", ["--model_dir", "/m", "--gin_file", gin_file, "--dry_run"], cwd="/")
    assert result.returncode == 0, result.stderr
    assert f"--gin_file={gin_file}" in _commands(result.stdout)[0]
