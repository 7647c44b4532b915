"""xlit as users run it: the installed `xlit` console script in a temporary directory outside the
repository. Help of every subcommand; vocab -> train (every gin/experiments/*.gin that trains and
whose data is here) -> eval (a MODEL_DIR, MODEL_DIR/checkpoints/N and MODEL_DIR/export) -> report
-> convert; tasks; and the failures a user meets first, each a one-line error without a traceback.

Commands are written in the docs' own spelling (placeholder paths such as /runs/...) and go through
tests/doc_commands.py's sandbox, so runs that coincide with documented commands happen once.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from doc_commands import (REPO, SUBCOMMANDS, TRAIN_STEPS, DocCommand, Outcome, Rewritten, Sandbox,
                          defined_macros, rewrite, shared_root, tiny_vocab_size, xlit_executable)

EXPERIMENTS = sorted(p.name for p in (REPO / "gin" / "experiments").glob("*.gin"))
# Experiments whose training mixtures are not in the shared data (languages other than en/ko): the
# language their documented `xlit train` must name in its one-line error.
OTHER_LANGUAGES = {"p3_budget_2lang.gin": "ja", "p3_budget_4lang.gin": "ja"}
TRAINING_EXPERIMENTS = [n for n in EXPERIMENTS
                        if "TRAIN_STEPS" in defined_macros([f"experiments/{n}"]) and n not in OTHER_LANGUAGES]
EVAL_EXPERIMENTS = [n for n in EXPERIMENTS if n not in TRAINING_EXPERIMENTS and n not in OTHER_LANGUAGES]
TINY = "--gin_file=models/mt5_tiny.gin --gin_file=runs/finetune.gin"
SMALL = "--gin.TRAIN_STEPS=2 --gin.BATCH_SIZE=8 --gin.TASK_FEATURE_LENGTHS=\"{'inputs': 32, 'targets': 8}\""
DATA_MISSING = re.compile(r"\b(no data|has no data|without data|data (is )?missing)\b", re.IGNORECASE)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Sandbox:
    """The sandbox test_documented_commands uses too (same root: runs are shared)."""
    return Sandbox(shared_root(tmp_path_factory.getbasetemp()))


def run(sandbox: Sandbox, text: str, *, shrink: bool = True, prefix: str = "") -> tuple[Outcome, Rewritten]:
    """Run a command written as the docs write it (placeholder paths); shrink=False for commands
    already written small (only paths are rewritten); prefix goes before the shell line."""
    item = rewrite(DocCommand("tests/test_product.py", 0, text), str(sandbox.root), shrink=shrink)
    if prefix:
        item = Rewritten(item.command, f"{prefix} {item.line}", item.inputs, item.outputs)
    return sandbox.run(item), item


def one_line_error(outcome: Outcome, subcommand: str, *needles: str) -> None:
    """A failure the user can act on: nonzero exit (not a crash), no traceback, the named things."""
    assert outcome.returncode not in (0, 139) and outcome.returncode > 0, (outcome.returncode, outcome.stderr[-2000:])
    assert "Traceback" not in outcome.stderr, outcome.stderr[-3000:]
    line = outcome.error_line
    assert line.startswith(f"xlit {subcommand}"), f"last stderr line: {line!r}"
    for needle in needles:
        assert needle in line, f"{needle!r} not in the error line {line!r}"


def trained(sandbox: Sandbox, experiment: str = "korani_tuned.gin") -> Path:
    """MODEL_DIR of the documented train command of gin/experiments/<experiment> (run once)."""
    item = sandbox.by_source(f"gin/experiments/{experiment}", "train")
    outcome = sandbox.run(item)
    if outcome.returncode != 0 and DATA_MISSING.search(outcome.error_line):
        pytest.skip(f"data absent here: {outcome.error_line}")
    assert outcome.returncode == 0, f"{outcome.line}\n{outcome.stderr[-3000:]}"
    return Path(item.outputs[0])


# ------------------------------------------------------------------------------------ help


def test_xlit_help_lists_every_subcommand(tmp_path):
    result = subprocess.run([xlit_executable(), "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    for name in SUBCOMMANDS:
        assert re.search(rf"^\s+{name}\s", result.stdout, flags=re.M), f"{name} missing from xlit --help"


@pytest.mark.slow
@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_subcommand_help(tmp_path, subcommand):
    result = subprocess.run([xlit_executable(), subcommand, "--help"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and f"xlit {subcommand}" in result.stdout
    macros = {"train": ("MODEL_DIR", "MIXTURE_OR_TASK_NAME", "TRAIN_STEPS", "TASK_FEATURE_LENGTHS", "BATCH_SIZE"),
              "eval": ("CHECKPOINT_PATH", "EVAL_OUTPUT_DIR", "MIXTURE_OR_TASK_NAME", "VOCABULARY_PATH")}
    for macro in macros.get(subcommand, ()):
        assert macro in result.stdout, f"xlit {subcommand} --help does not list the gin macro {macro}"


# ------------------------------------------------------------------------------------ the loop


@pytest.mark.slow
def test_vocab(sandbox):
    outcome, item = run(sandbox, "xlit vocab --output /tmp/product/spm.model --tasks '^demo_' --vocab_size 1024")
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    assert Path(item.outputs[0]).stat().st_size > 0
    assert re.search(r"1024 pieces", outcome.stdout), outcome.stdout


@pytest.mark.slow
@pytest.mark.parametrize("experiment", TRAINING_EXPERIMENTS)
def test_train_every_experiment(sandbox, experiment):
    model_dir = trained(sandbox, experiment)
    assert (model_dir / "checkpoints" / str(TRAIN_STEPS)).is_dir()
    assert (model_dir / "config.gin").is_file() and (model_dir / "config.json").is_file()
    export = model_dir / "export"
    assert (export / "config.json").is_file() and (export / "spiece.model").is_file()
    assert json.loads((export / "config.json").read_text()) == json.loads((model_dir / "config.json").read_text())


@pytest.mark.parametrize("experiment,language", sorted(OTHER_LANGUAGES.items()))
def test_an_experiment_needing_another_languages_data_names_it(sandbox, experiment, language):
    """The 2- and 4-language budget files train on languages this checkout has no data for: their
    `xlit train` (the header's synopsis, shrunk) stops in one line naming the language and its mixture."""
    assert f"--gin_file=experiments/{experiment}" in (REPO / "gin" / "experiments" / experiment).read_text()
    outcome, _ = run(sandbox, f"xlit train --gin_file=models/mt5_tiny.gin --gin_file=experiments/{experiment} "
                              f"--gin.MODEL_DIR=/tmp/product/{experiment.removesuffix('.gin')} {SMALL}", shrink=False)
    one_line_error(outcome, "train", f"'{language}'", f"{language}_train")


@pytest.mark.slow
@pytest.mark.parametrize("experiment,path", [
    ("eval_native_templates.gin", ""), ("eval/zero_shot.gin", f"/checkpoints/{TRAIN_STEPS}"),
])
def test_eval_accepts_what_the_trainer_wrote(sandbox, experiment, path):
    """A MODEL_DIR and MODEL_DIR/checkpoints/N here; MODEL_DIR/export is what the eval experiment
    headers use (test_documented_commands runs them), and baseline_no_tuning's header a t5x checkpoint."""
    trained(sandbox)
    name = experiment.replace("/", "_").removesuffix(".gin") + path.replace("/", "_")
    gin_file = experiment if "/" in experiment else f"experiments/{experiment}"
    task = " --gin.MIXTURE_OR_TASK_NAME='kobest_copa[.]ko_korani[.].*'" if "zero_shot" in experiment else ""
    outcome, item = run(sandbox, f"xlit eval --gin_file={gin_file} --gin.CHECKPOINT_PATH=/runs/korani_tuned{path} "
                                 f"--gin.EVAL_OUTPUT_DIR=/results/product/{name}{task}")
    assert outcome.returncode == 0, f"{outcome.line}\n{outcome.stderr[-3000:]}"
    results = json.loads((Path(item.outputs[0]) / "results.json").read_text())
    assert results["tasks"] and all(t["num_examples"] == 1 for t in results["tasks"].values())
    assert all(n in EVAL_EXPERIMENTS for n in ("baseline_no_tuning.gin", "eval_cross_lingual_templates.gin",
                                                "eval_translated_templates.gin", "eval_native_templates.gin"))


@pytest.mark.slow
def test_report_over_two_runs_with_equal_names(sandbox):
    for experiment in ("korani_tuned.gin", "korani_tuned_p3_templates.gin"):
        trained(sandbox, experiment)
    outcome, item = run(sandbox, "xlit report /runs/korani_tuned/inference_eval/step_2 "
                                 "/runs/korani_tuned_p3_templates/inference_eval/step_2 --output /results/product/report")
    assert outcome.returncode == 0, f"{outcome.line}\n{outcome.stderr[-3000:]}"
    table = (Path(item.outputs[0]) / "report.md").read_text()
    rows = [line.split("|")[1].strip() for line in table.splitlines()
            if line.startswith("|") and not line.startswith("|---") and line.split("|")[1].strip()]
    run_rows = rows[1:]  # the header row first
    assert len(run_rows) >= 2 and len(set(run_rows)) == len(run_rows), table


@pytest.mark.slow
def test_convert_a_model_dir_to_hf(sandbox):
    trained(sandbox)
    outcome, item = run(sandbox, "xlit convert --to hf --input /runs/korani_tuned --output /results/product/hf")
    assert outcome.returncode == 0, f"{outcome.line}\n{outcome.stderr[-3000:]}"
    output = Path(item.outputs[0])
    assert (output / "config.json").is_file() and list(output.glob("*.safetensors"))


@pytest.mark.slow
def test_tasks_lists_and_a_bad_name_is_one_line(sandbox):
    outcome, _ = run(sandbox, "xlit tasks --filter 'kobest_copa[.]ko_korani[.].*'")
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    assert "kobest_copa.ko_korani.ko_korani_01" in outcome.stdout
    outcome, _ = run(sandbox, "xlit tasks --show kobest_copa.ko_korani.no_such_template")
    one_line_error(outcome, "tasks", "kobest_copa.ko_korani.no_such_template")


# ------------------------------------------------------------------------------------ failures


@pytest.mark.slow
def test_unknown_mixture_suggests_the_close_name(sandbox):
    outcome, item = run(sandbox, f"xlit train {TINY} --gin.MODEL_DIR=/tmp/product/bad_mixture "
                                 f"--gin.MIXTURE_OR_TASK_NAME=korani_trian {SMALL}", shrink=False)
    one_line_error(outcome, "train", "korani_trian", "korani_train")
    assert not (Path(item.outputs[0]) / "checkpoints").exists()


@pytest.mark.slow
@pytest.mark.parametrize("subcommand", ["train", "cache"])
def test_feature_length_zero_is_an_error_not_a_crash(sandbox, subcommand):
    if subcommand == "train":
        text = (f"xlit train {TINY} --gin.MODEL_DIR=/tmp/product/zero_length --gin.MIXTURE_OR_TASK_NAME=korani_train "
                "--gin.TRAIN_STEPS=2 --gin.BATCH_SIZE=8 --gin.TASK_FEATURE_LENGTHS=\"{'inputs': 0, 'targets': 8}\"")
    else:
        text = ("xlit cache --mixture korani_train --output /tmp/product/zero_cache "
                "--task_feature_lengths inputs=0,targets=8 --num_examples 4")
    outcome, _ = run(sandbox, text, shrink=False)
    one_line_error(outcome, subcommand, "inputs")


@pytest.mark.slow
def test_vocabulary_bigger_than_the_model_names_both_sizes(sandbox):
    import sentencepiece

    pieces = sentencepiece.SentencePieceProcessor(model_file=str(sandbox.vocabulary())).get_piece_size()
    assert pieces > 64  # $XLIT_VOCAB
    outcome, _ = run(sandbox, f"xlit train {TINY} --gin.MODEL_DIR=/tmp/product/small_vocab "
                              f"--gin.MIXTURE_OR_TASK_NAME=korani_train {SMALL} --gin.xlit.MT5Config.vocab_size=64",
                     shrink=False)
    one_line_error(outcome, "train", str(pieces), "64")
    # eval: an xlit checkpoint whose vocab_size is one row smaller than the vocabulary
    small = pieces - 1
    checkpoint = sandbox.root / "fixtures" / f"xlit_vocab{small}"
    if not checkpoint.exists():
        script = ("from xlit_jax import gin_utils, checkpoints\n"
                  "from xlit_jax.models.mt5 import MT5Config, init_params\nimport jax\n"
                  f"gin_utils.parse_gin(['models/mt5_tiny.gin'], ['xlit.MT5Config.vocab_size = {small}'], [], finalize=False)\n"
                  "config = MT5Config()\n"
                  f"checkpoints.save_xlit(init_params(config, jax.random.key(0)), config, {str(checkpoint)!r})\n")
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=sandbox.root,
                                env=sandbox.env(), timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
    # relative to the sandbox root (the commands' cwd): an absolute /tmp/... path would be read as a
    # placeholder and rewritten to another checkpoint
    relative = checkpoint.relative_to(sandbox.root)
    outcome, _ = run(sandbox, f"xlit eval --gin_file=eval/zero_shot.gin --gin.CHECKPOINT_PATH={relative} "
                              "--gin.EVAL_OUTPUT_DIR=/tmp/product/big_vocab_eval "
                              "--gin.MIXTURE_OR_TASK_NAME=klue_nli.ko_korani.ko_korani_01 --gin.MAX_EXAMPLES=1",
                     shrink=False)
    one_line_error(outcome, "eval", str(pieces), str(small))


@pytest.mark.slow
@pytest.mark.parametrize("setting", ["missing file", "offline default"])
def test_missing_vocabulary_is_one_line(sandbox, setting):
    if setting == "missing file":
        prefix, needle = f"XLIT_VOCAB={sandbox.root}/local/no_such_spm.model", "no_such_spm.model"
    else:
        prefix, needle = "env -u XLIT_VOCAB", "vocabulary"
    outcome, _ = run(sandbox, f"xlit train {TINY} --gin.MODEL_DIR=/tmp/product/no_vocab_{setting.split()[0]} "
                              f"--gin.MIXTURE_OR_TASK_NAME=korani_train {SMALL}", shrink=False, prefix=prefix)
    one_line_error(outcome, "train", needle)


@pytest.mark.slow
def test_a_model_file_that_does_not_fit_the_checkpoint_names_the_fields(sandbox):
    trained(sandbox)
    outcome, _ = run(sandbox, "xlit eval --gin_file=models/mt5_xxl.gin --gin_file=eval/zero_shot.gin "
                              "--gin.CHECKPOINT_PATH=/runs/korani_tuned --gin.EVAL_OUTPUT_DIR=/tmp/product/xxl_eval "
                              "--gin.MIXTURE_OR_TASK_NAME=klue_nli.ko_korani.ko_korani_01 --gin.MAX_EXAMPLES=1",
                     shrink=False)
    one_line_error(outcome, "eval", "emb_dim")


def test_commands_run_from_outside_the_repository(tmp_path_factory):
    root = shared_root(tmp_path_factory.getbasetemp())
    assert REPO not in root.parents and root != REPO
    assert Path(sys.executable).parent.joinpath("xlit").exists() or xlit_executable()
