"""Every `xlit` command printed in README.md, docs/*.md and the gin headers runs as written (after
the fixed rewrites of tests/doc_commands.py that shrink it to this machine), through the installed
console script, from a temporary directory outside the repository. Synopses are checked against
`--help`; commands that cannot run here are listed, with the reason, in doc_commands.NOT_RUNNABLE.
"""
from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path

import pytest

import doc_commands
from doc_commands import (NOT_RUNNABLE, REPO, SUBCOMMANDS, TRAIN_STEPS, Sandbox, documented_commands,
                          gin_files_of, is_runnable, not_runnable_reason, rewrite, shared_root,
                          shipped_gin_file, synopsis_reason)

COMMANDS = documented_commands()


def _runnable_once() -> list[doc_commands.DocCommand]:
    """Runnable commands, one per distinct rewritten form (identical commands run once)."""
    seen, unique = set(), []
    for command in COMMANDS:
        if is_runnable(command):
            line = rewrite(command, "/ROOT").line
            if line not in seen:
                seen.add(line)
                unique.append(command)
    return unique


RUNNABLE = _runnable_once()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Sandbox:
    """The shared sandbox (one per test session, shared by pytest-xdist workers and test_product)."""
    return Sandbox(shared_root(tmp_path_factory.getbasetemp()))


# ------------------------------------------------------------------------------------ static


def test_commands_are_found_in_every_documenting_file():
    sources = {c.source for c in COMMANDS}
    for expected in ("README.md", "docs/quickstart.md", "docs/training.md", "docs/evaluation.md",
                     "docs/checkpoints.md", "docs/concepts.md", "docs/experiments.md"):
        assert expected in sources, f"no `xlit` command found in {expected}"
    runnable_sources = {c.source for c in COMMANDS if is_runnable(c)}
    for path in sorted((REPO / "gin" / "experiments").glob("*.gin")):
        source = path.relative_to(REPO).as_posix()
        assert source in runnable_sources, f"{source}: its header shows no runnable `xlit` command"
    assert all(c.words[0] == "xlit" or "=" in c.words[0] for c in COMMANDS)


def test_extraction_joins_continuations_and_skips_printed_output(tmp_path, monkeypatch):
    monkeypatch.setattr(doc_commands, "REPO", tmp_path)
    page = tmp_path / "page.md"
    page.write_text("Run `xlit tasks --filter kobest` or `xlit train` (a mention).\n\n```bash\n"
                    "xlit eval --gin_file=eval/zero_shot.gin \\\n  --gin.CHECKPOINT_PATH=/ckpt   # a comment\n"
                    "pip install -e . && xlit vocab --output v.model\n```\n\n```\nxlit demo: arm bilingual: step 3\n```\n"
                    "```python\nxlit = 'xlit train --gin_file=x.gin'\n```\n")
    found = [(c.line, c.text) for c in doc_commands.extract_markdown(page)]
    assert found == [(1, "xlit tasks --filter kobest"),
                     (4, "xlit eval --gin_file=eval/zero_shot.gin --gin.CHECKPOINT_PATH=/ckpt"),
                     (6, "xlit vocab --output v.model")]
    gin_file = tmp_path / "x.gin"
    gin_file.write_text("# Title\n#   xlit train --gin_file=a.gin \\\n#     --gin.MODEL_DIR=/runs/a\n"
                        "# then: xlit report /runs/*/step_<N> (or `xlit vocab --output s.model --vocab_size 9`)\n"
                        "X = 1\n# xlit tasks --json\n")
    found = [(c.line, c.text) for c in doc_commands.extract_gin_header(gin_file)]
    assert found == [(2, "xlit train --gin_file=a.gin --gin.MODEL_DIR=/runs/a"),
                     (4, "xlit report /runs/*/step_<N>"), (4, "xlit vocab --output s.model --vocab_size 9")]


def test_the_not_runnable_table_lists_only_documented_commands():
    for (source, piece), reason in NOT_RUNNABLE.items():
        matches = [c for c in COMMANDS if c.source == source and piece in c.text]
        assert matches, f"NOT_RUNNABLE entry ({source!r}, {piece!r}) matches no documented command: remove it"
        assert reason.strip()
    for command in COMMANDS:
        hits = [k for k in NOT_RUNNABLE if command.source == k[0] and k[1] in command.text]
        assert len(hits) <= 1, f"{command}: several NOT_RUNNABLE entries match"


def test_every_gin_file_a_documented_command_names_is_shipped():
    missing = []
    for command in COMMANDS:
        for name in gin_files_of(command):
            if "$" in name or name == "..." or re.fullmatch(r"[A-Z]+", name):
                continue
            if shipped_gin_file(name) is None:
                missing.append(f"{command}: --gin_file={name} is not in gin/")
    assert not missing, "\n".join(missing)


def test_rewrites_keep_every_documented_flag_and_name():
    for command in RUNNABLE:
        rewritten = rewrite(command, "/ROOT").line
        for word in command.words:
            if word.startswith("--gin_file") or word.startswith("--gin.MIXTURE_OR_TASK_NAME") or \
                    word.startswith("--mixture") or word.startswith("--arms") or word.startswith("--show"):
                assert word.split("=", 1)[-1].strip("'\"") in rewritten, (str(command), word)
            if word.startswith("--"):
                assert word.split("=", 1)[0] in rewritten, (str(command), word)


@functools.lru_cache(maxsize=None)
def _help(subcommand: str, xlit: str) -> str:
    result = subprocess.run([xlit, subcommand, "--help"], capture_output=True, text=True, timeout=300,
                            cwd="/")
    assert result.returncode == 0, f"xlit {subcommand} --help: {result.stderr.strip()[-500:]}"
    return result.stdout


@pytest.mark.slow
def test_synopses_use_real_subcommands_and_flags():
    xlit = doc_commands.xlit_executable()
    problems = []
    for command in COMMANDS:
        if synopsis_reason(command) is None:
            continue
        sub = command.subcommand
        assert sub in SUBCOMMANDS
        help_text = _help(sub, xlit)
        for word in command.words[2:]:
            flag = re.match(r"\[?(--[a-z_]+)", word)
            if flag and not flag.group(1).startswith(("--gin", "--gin_file")) and flag.group(1) not in help_text:
                problems.append(f"{command}: {flag.group(1)} is not in `xlit {sub} --help`")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------ running


DATA_MISSING = re.compile(r"\b(no data|has no data|without data|data (is )?missing|no .*files? (found|present))\b",
                          re.IGNORECASE)


# Start-up noise that a default (not --verbose) run must not print: gin's search-path probes,
# TensorFlow/absl C++ banners.
LOG_NOISE = re.compile(r"Path not found:|cuda drivers|oneDNN custom operations|TF_ENABLE_ONEDNN_OPTS|"
                       r"^[IWE]0000 |This TensorFlow binary is optimized")


def check_outputs(item: doc_commands.Rewritten) -> list[str]:
    """What the command must have written, by subcommand; a list of what is missing."""
    sub = item.command.subcommand
    missing = []

    def need(path: Path, what: str) -> None:
        if not path.exists():
            missing.append(f"{what}: {path} does not exist")

    macros = dict(re.findall(r"--gin\.([A-Z_]+)=(\S+)", item.line))
    outputs = [Path(o) for o in item.outputs]
    if sub == "train" and outputs:
        model_dir = Path(macros.get("MODEL_DIR", str(outputs[0])).strip("'\""))
        need(model_dir / "checkpoints" / str(TRAIN_STEPS), "the last checkpoint")
        need(model_dir / "export" / "config.json", "the exported checkpoint")
        if "EVAL_MAX_EXAMPLES" in macros:
            eval_dir = Path(macros.get("EVAL_OUTPUT_DIR", str(model_dir / "inference_eval")).strip("'\""))
            need(eval_dir / f"step_{TRAIN_STEPS}" / "results.json", "the inference evaluation")
    elif sub == "eval" and outputs:
        need(outputs[0] / "results.json", "results")
        if (outputs[0] / "results.json").exists():
            tasks = json.loads((outputs[0] / "results.json").read_text())["tasks"]
            if not tasks:
                missing.append("results.json holds no task")
    elif sub in ("convert",):
        need(outputs[0] / "config.json", "the converted checkpoint")
    elif sub == "vocab":
        need(outputs[0], "the vocabulary")
    elif sub == "report" and outputs:
        need(outputs[0] / "report.md", "the report")
    elif sub == "demo":
        need(outputs[0] / "report.md", "the demo report")
    elif sub == "cache":
        need(outputs[0] / "index.json", "the cache index")
    return missing


@pytest.mark.slow
@pytest.mark.parametrize("command", RUNNABLE, ids=[f"{c.source}:{c.line}" for c in RUNNABLE])
def test_documented_command_runs(sandbox, command):
    item = next(r for r in sandbox.runnable if r.command == command)
    outcome = sandbox.run(item)
    where = f"{command}\nran as: {outcome.line}\n({outcome.seconds} s, exit {outcome.returncode})"
    if outcome.returncode != 0 and "Traceback" not in outcome.stderr and DATA_MISSING.search(outcome.error_line):
        pytest.skip(f"data absent here ($XLIT_DATA_DIR): {outcome.error_line}")
    assert outcome.returncode == 0, f"{where}\nstderr: {outcome.stderr.strip()[-3000:]}"
    assert "Traceback" not in outcome.stderr, f"{where}\n{outcome.stderr[-3000:]}"
    noise = [line for line in outcome.stderr.splitlines() if LOG_NOISE.search(line)]
    assert not noise, f"{where}\nstart-up noise on stderr (quiet unless --verbose):\n" + "\n".join(noise[:5])
    missing = check_outputs(item)
    assert not missing, f"{where}\n" + "\n".join(missing) + f"\nstdout: {outcome.stdout[-1500:]}"

