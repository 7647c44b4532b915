"""The `xlit` commands the docs print, in one place: found in README.md, docs/*.md and the comment
headers of gin/**/*.gin, and shrunk to a 2-core CPU by one fixed set of rewrites, so the docs and
their tests cannot drift (tests/test_documented_commands.py runs them; tests/test_product.py shares
the runs). `python tests/doc_commands.py` prints every documented command, how it is treated and its
rewritten form.

Where a command is found:
- Markdown: lines of ```bash / ```sh / plain fenced blocks (backslash continuations joined, shell
  comments and a trailing description after three spaces dropped; `a && b` gives two commands), and
  inline `xlit ...` code spans in prose that carry at least one argument.
- gin files: the leading comment block; a line that starts with `xlit`, or with `Use:` / `then:`
  before it, plus inline `xlit ...` spans, continuations joined.
Only commands whose second word is an `xlit` subcommand count (so printed output such as
"xlit demo: arm ..." does not).

Kinds:
- synopsis: shows a command's shape, not a command (a bare `...`, `[optional]` or `{a,b}` parts,
  ALL-CAPS placeholders such as NAME or DIR, `KEY=VALUE`). Checked statically: the subcommand
  exists, every flag appears in `xlit <cmd> --help`, every gin file is shipped.
- not runnable here: listed in NOT_RUNNABLE with the reason (matched by source file and a piece of
  the command text; a test fails when an entry matches no documented command).
- runnable: rewritten as below and run through the installed `xlit` console script by bash in a
  temporary directory outside the repository.

Rewrites (REWRITES below, in this order; documented flags, gin files and task/mixture names are
kept, so a wrong name still fails):
1. placeholder absolute paths (/runs/, /tmp/, /ckpt..., /results/, /data/, /local/, /scratch/,
   /shared/) and gs://BUCKET/... outputs live under the sandbox root; relative paths under the
   sandbox's working directory (the same root, so `runs/demo` and `/runs/demo` meet);
   `/path/to/data` is $XLIT_DATA_DIR;
2. released checkpoints (gs://t5-data/pretrained_models/t5x/.../checkpoint_N) are a small local t5x
   checkpoint of mt5_tiny's shapes; gs:// vocabularies a sentencepiece model trained on the
   packaged demo corpus's text (also $XLIT_VOCAB, the offline setup docs/training.md describes);
3. an input path that does not exist after 1-2 is first produced by the documented command that
   writes it (a train's MODEL_DIR, an eval's EVAL_OUTPUT_DIR, `--output`, demo's `--output_dir`),
   else linked to a fixture of its kind: a `.model` file -> the vocabulary, `checkpoint_N` -> the
   t5x checkpoint, a results directory -> an evaluation the korani_tuned run's checkpoint got, any
   other checkpoint -> the korani_tuned run's export/;
4. a model gin file of any released size is followed by models/mt5_tiny.gin (last gin file) and
   --gin.xlit.MT5Config.vocab_size=8192 (room for any vocabulary the docs make; the released
   sizes' 250k would be slow here); `--gin.INITIAL_CHECKPOINT_PATH=...` ("start from your
   checkpoint") is the t5x fixture;
5. appended small overrides, each only where the command's gin files (with their includes) define
   the macro: TRAIN_STEPS=2, BATCH_SIZE=8, TASK_FEATURE_LENGTHS={'inputs': 32, 'targets': 8},
   CHECKPOINT_PERIOD=2, EVAL_PERIOD=2, EVAL_MAX_EXAMPLES=1, MAX_EXAMPLES=1; `step_<N>` is step_2;
6. `xlit demo`: --train_steps 2 --batch_size 8 --max_eval_examples 1; `xlit cache`: --num_examples 16
   --task_feature_lengths inputs=32,targets=8 (the lengths the shrunk trains read);
   `xlit vocab`: --max_examples_per_task 50 (`xlit sweep` is documented small: its gin flags are shrunk as
   a train's are; one validation row would leave correlation metrics such as KorSTS's pearson undefined).
Identical commands after rewriting run once (across pytest-xdist workers too).
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import fnmatch
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator

from xlit_jax.cli import SUBCOMMANDS as CLI_SUBCOMMANDS

REPO = Path(__file__).resolve().parents[1]
GIN_DIR = REPO / "gin"
SUBCOMMANDS = tuple(CLI_SUBCOMMANDS)  # every subcommand the console script dispatches
TRAIN_STEPS = 2
STAND_IN_VOCAB_SIZE = 8192  # released sizes have 250k pieces; mt5_tiny stands in with room for any doc's vocabulary
FAKE_DEVICES_FLAG = "--xla_force_host_platform_device_count=8"   # what tests/conftest.py sets
PLACEHOLDER_ROOTS = ("/runs/", "/tmp/", "/ckpt", "/results/", "/data/", "/local/", "/scratch/", "/shared/")
RELEASED_CHECKPOINT = re.compile(r"^gs://t5-data/pretrained_models/.*checkpoint_\d+/?$")
COMMAND_TIMEOUT_S = 600

# Appended --gin.NAME=VALUE overrides; each only where the command's gin files define NAME.
SMALL_MACROS = {
    "TRAIN_STEPS": str(TRAIN_STEPS),
    "BATCH_SIZE": "8",
    "TASK_FEATURE_LENGTHS": "{'inputs': 32, 'targets': 8}",
    "CHECKPOINT_PERIOD": str(TRAIN_STEPS),
    "EVAL_PERIOD": str(TRAIN_STEPS),
    "EVAL_MAX_EXAMPLES": "1",
    "MAX_EXAMPLES": "1",
}
# Flags replaced (or added) per subcommand: flag -> value.
SMALL_FLAGS = {
    "demo": {"--train_steps": str(TRAIN_STEPS), "--batch_size": "8", "--max_eval_examples": "1"},
    "cache": {"--num_examples": "16", "--task_feature_lengths": "inputs=32,targets=8"},
    "vocab": {"--max_examples_per_task": "50"},
}
REWRITES = __doc__.split("Rewrites", 1)[1].split("Identical commands", 1)[0]

# Documented commands that cannot run here by nature: (source file, piece of the command) -> why.
NOT_RUNNABLE = {
    ("docs/experiments.md", "--gin.MODEL_DIR=gs://bucket/runs/$arm"):
        "a shell loop over $arm and $CKPT set by gsutil lines: each arm's own command is in its "
        "gin/experiments/*.gin header, which runs here",
    ("docs/experiments.md", "xlit report /results/no_tuning /results/*_tuned/step_12200"):
        "reports the full-size grid above (step 12200 of each arm); the headers' report over "
        "/runs/*/inference_eval/step_<N> runs here",
    ("docs/experiments.md", "--gin.CHECKPOINT_PATH=$CKPT"):
        "$CKPT is set by the gsutil lines before it (a download); the same command with the "
        "checkpoint written out is gin/experiments/baseline_no_tuning.gin's header, which runs here",
    ("docs/quickstart.md", "XLIT_DATA_DIR=/path/to/data xlit demo --output_dir runs/demo_real"):
        "the real-data demo trains eight arms on all the English and Korean training data (well over "
        "half an hour on 2 cores); the gin/experiments/*.gin train commands run the same registry path here",
    ("docs/experiments.md", "xlit demo --arms baseline,en,ko,bilingual,ko_pinch"):
        "the same grid as docs/quickstart.md's `xlit demo --arms baseline,en,ko,bilingual,ko_pinch "
        "--output_dir runs/demo_grid`, which runs here (only the output directory differs)",
}


@dataclasses.dataclass(frozen=True)
class DocCommand:
    """One documented `xlit` command: where it is, its text, and its words."""

    source: str          # path relative to the repository
    line: int            # first line of the command
    text: str            # as documented, continuations joined, spaces normalized

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text)

    @property
    def subcommand(self) -> str:
        words = [w for w in self.words if not _is_assignment(w)]
        return words[1]

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.text}"


def _is_assignment(word: str) -> bool:
    return re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", word) is not None


def _normalize(text: str) -> str:
    return " ".join(text.split())


def _commands_in_shell(text: str) -> list[str]:
    """The `xlit` commands of one shell line: comments dropped, split at && ; |."""
    text = re.split(r"(?:^|\s)#", text, maxsplit=1)[0] if "#" in text else text
    commands = []
    for part in re.split(r"\s*(?:&&|;|\|\|?)\s*", text):
        part = part.strip()
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        plain = [w for w in words if not _is_assignment(w)]
        if len(plain) >= 2 and plain[0] == "xlit" and plain[1] in SUBCOMMANDS:
            commands.append(_normalize(part))
    return commands


def _inline_spans(text: str) -> list[str]:
    """`xlit <subcommand> ARGS` code spans (at least one argument) and (xlit ...) asides."""
    spans = re.findall(r"`(xlit [^`]+)`", text) + re.findall(r"\((xlit [^)`]+)\)", text)
    found = []
    for span in spans:
        words = span.split()
        if len(words) >= 3 and words[1] in SUBCOMMANDS:
            found.append(_normalize(span))
    return found


def _join_continuations(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    logical, start, parts = [], None, []
    for number, line in lines:
        stripped = line.strip()
        if start is None:
            start = number
        if stripped.endswith("\\"):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        logical.append((start, " ".join(p for p in parts if p)))
        start, parts = None, []
    if parts:
        logical.append((start, " ".join(parts)))
    return logical


def extract_markdown(path: Path) -> list[DocCommand]:
    """Commands in a Markdown file's shell code blocks and inline code spans."""
    source = path.relative_to(REPO).as_posix()
    commands: list[DocCommand] = []
    block: list[tuple[int, str]] | None = None
    language = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = re.match(r"^\s*```(\w*)", line)
        if fence:
            if block is None:
                block, language = [], fence.group(1)
            else:
                if language in ("", "bash", "sh", "shell", "console"):
                    for start, logical in _join_continuations(block):
                        logical = re.split(r"\s{2,}(?=[^-\s])", logical, maxsplit=1)[0]  # trailing description
                        commands += [DocCommand(source, start, c) for c in _commands_in_shell(logical)]
                block = None
            continue
        if block is not None:
            block.append((number, line))
        else:
            commands += [DocCommand(source, number, c) for c in _inline_spans(line)]
    return commands


def extract_gin_header(path: Path) -> list[DocCommand]:
    """Commands in a gin file's leading comment block."""
    source = path.relative_to(REPO).as_posix()
    header: list[tuple[int, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.startswith("#"):
            break
        header.append((number, line[1:]))
    commands = []
    for start, logical in _join_continuations(header):
        match = re.match(r"^\s*(?:(?:Use|then):\s*)?(xlit\s.*)$", logical)
        text = re.split(r"\s\(|`", match.group(1), maxsplit=1)[0] if match else ""  # prose after it dropped
        commands += [DocCommand(source, start, c) for c in _commands_in_shell(text)]
        commands += [DocCommand(source, start, c) for c in _inline_spans(logical) if c not in text]
    return commands


def documented_commands() -> list[DocCommand]:
    """Every documented `xlit` command, in file order (duplicates kept: each is documented)."""
    commands = extract_markdown(REPO / "README.md")
    for path in sorted((REPO / "docs").glob("*.md")):
        commands += extract_markdown(path)
    for path in sorted(GIN_DIR.rglob("*.gin")):
        commands += extract_gin_header(path)
    return commands


# ---------------------------------------------------------------------------- classification


def synopsis_reason(command: DocCommand) -> str | None:
    """Why a command is a synopsis (its shape, not a command), or None for a real command."""
    words = command.words
    if "..." in words:
        return "a bare '...' stands for more flags"
    if re.search(r"(?:^|\s)\[|\{[a-z]+(,[a-z]+)+\}|\s\|\s", command.text):
        return "optional [parts] or {a,b} alternatives"
    for word in words[2:]:
        value = word.split("=", 1)[1] if word.startswith("-") and "=" in word else word
        if value == "..." and word.startswith("--gin.INITIAL_CHECKPOINT_PATH="):
            continue  # "start from your checkpoint": rewrite 2 gives it one
        if re.fullmatch(r"(\.\.\.|[A-Z][A-Z_]*(=[A-Z]+)?|KEY=VALUE|F|[A-Z][A-Z_]+/.*)", value) \
                and not _is_assignment(word):
            return f"placeholder {value!r}"
    return None


def not_runnable_reason(command: DocCommand) -> str | None:
    """The NOT_RUNNABLE reason for a command, or None."""
    for (source, piece), reason in NOT_RUNNABLE.items():
        if command.source == source and piece in command.text:
            return reason
    return None


def gin_files_of(command: DocCommand) -> list[str]:
    """The --gin_file values of a command."""
    words, files = command.words, []
    for i, word in enumerate(words):
        if word.startswith("--gin_file="):
            files.append(word.split("=", 1)[1])
        elif word == "--gin_file" and i + 1 < len(words):
            files.append(words[i + 1])
    return files


def shipped_gin_file(name: str) -> Path | None:
    """The repository file a --gin_file value names (gin/NAME or a repository path), or None."""
    for candidate in (GIN_DIR / name, REPO / name):
        if candidate.is_file():
            return candidate
    return None


def defined_macros(gin_files: list[str]) -> set[str]:
    """Macros (NAME = ...) that the gin files and their includes define."""
    macros: set[str] = set()
    pending, seen = list(gin_files), set()
    while pending:
        path = shipped_gin_file(pending.pop())
        if path is None or path in seen:
            continue
        seen.add(path)
        text = path.read_text(encoding="utf-8")
        macros |= set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*=", text, flags=re.M))
        pending += re.findall(r"^include\s+['\"]([^'\"]+)['\"]", text, flags=re.M)
    return macros


# ---------------------------------------------------------------------------- rewriting


@dataclasses.dataclass
class Rewritten:
    """A documented command after the rewrites: the shell line run, and the paths it reads and writes."""

    command: DocCommand
    line: str
    inputs: list[tuple[str, str]]      # (kind, sandbox path) kinds: vocab, t5x, checkpoint, results, data
    outputs: list[str]                 # sandbox paths this command writes

    @property
    def key(self) -> str:
        return hashlib.sha1(self.line.encode()).hexdigest()[:16]


INPUT_MACROS = {"CHECKPOINT_PATH": "checkpoint", "INITIAL_CHECKPOINT_PATH": "checkpoint",
                "VOCABULARY_PATH": "vocab", "EVAL_VOCABULARY_PATH": "vocab", "CACHED_DATA_DIR": "data",
                "xlit.vocabulary_path.path": "vocab"}
OUTPUT_MACROS = ("MODEL_DIR", "EVAL_OUTPUT_DIR")


def _map_path(value: str, root: str, key: str = "") -> str:
    """Rewrites 1-2 on one path value (quotes kept)."""
    quote = value[0] if value[:1] in ("'", '"') and value[-1:] == value[:1] and len(value) > 1 else ""
    inner = value[1:-1] if quote else value
    if inner.startswith("/path/to/data"):
        inner = os.environ.get("XLIT_DATA_DIR", "/path/to/data") + inner[len("/path/to/data"):]
    elif RELEASED_CHECKPOINT.match(inner) or (inner == "..." and key == "INITIAL_CHECKPOINT_PATH"):
        inner = f"{root}/fixtures/t5x_checkpoint"
    elif inner.startswith("gs://") and inner.endswith(".model"):
        inner = f"{root}/fixtures/spm.model"
    elif inner.startswith("gs://"):
        inner = f"{root}/gs/{inner[5:]}"
    elif inner.startswith(PLACEHOLDER_ROOTS):
        inner = root + inner
    return f"{quote}{inner}{quote}"


def _absolute(path: str, root: str) -> str:
    path = path.strip("'\"")
    return path if path.startswith("/") else f"{root}/{path}"


def rewrite(command: DocCommand, root: str, shrink: bool = True) -> Rewritten:
    """The documented command after the rewrites, for a sandbox at `root` (also its working directory);
    shrink=False applies only rewrites 1-3 (paths), for commands already written small."""
    words = command.words
    env = [w for w in words if _is_assignment(w)]
    argv = [w for w in words if not _is_assignment(w)]
    sub = argv[1]
    inputs, outputs, out = [], [], []
    env = [f"{w.split('=', 1)[0]}={_map_path(w.split('=', 1)[1], root)}" for w in env]
    i = 2
    while i < len(argv):
        word = argv[i]
        if word.startswith("--gin.") and "=" in word:
            key, value = word[len("--gin."):].split("=", 1)
            value = _map_path(value, root, key)
            if key in INPUT_MACROS:
                inputs.append((INPUT_MACROS[key], _absolute(value, root)))
            if key in OUTPUT_MACROS:
                outputs.append(_absolute(value, root))
            out.append(f"--gin.{key}={value}")
        elif word in ("--input", "--output", "--output_dir") and i + 1 < len(argv):
            value = _map_path(argv[i + 1], root)
            if word == "--input":
                inputs.append(("checkpoint", _absolute(value, root)))
            else:
                outputs.append(_absolute(value, root))
            out += [word, value]
            i += 1
        elif not word.startswith("-") and sub == "report":
            value = _map_path(word, root).replace("<N>", str(TRAIN_STEPS)).replace("{N}", str(TRAIN_STEPS))
            inputs.append(("results", _absolute(value, root)))
            out.append(value)
        else:
            out.append(_map_path(word, root) if not word.startswith("-") else word)
        i += 1
    if sub == "demo" and "--output_dir" not in argv:
        outputs.append(f"{root}/runs/demo")
    gin_files = gin_files_of(command) if shrink else []
    if any(re.search(r"models/mt5_(?!tiny)\w+\.gin$", g) for g in gin_files):
        out += ["--gin_file=models/mt5_tiny.gin", f"--gin.xlit.MT5Config.vocab_size={STAND_IN_VOCAB_SIZE}"]
    macros = defined_macros(gin_files)
    out += [f"--gin.{name}={value}" for name, value in SMALL_MACROS.items() if name in macros]
    for flag, value in SMALL_FLAGS.get(sub, {}).items() if shrink else ():
        if flag in out:
            out[out.index(flag) + 1] = value
        else:
            out += [flag, value]
    line = " ".join(env + ["xlit", sub] + [_shell_word(w) for w in out])
    return Rewritten(command, line, inputs, outputs)


def _shell_word(word: str) -> str:
    """Quote a word for bash, leaving globs (`*`) to the shell as the docs do."""
    if "*" in word and not word.startswith("-") and not re.search(r"[\s'\"$\\]", word):
        return word
    if word.startswith("--gin.") and "=" in word:
        key, value = word.split("=", 1)
        return f"{key}={shlex.quote(value)}"
    return shlex.quote(word)


# ---------------------------------------------------------------------------- running


@dataclasses.dataclass
class Outcome:
    """What one run of a rewritten command gave."""

    line: str
    returncode: int
    seconds: float
    stdout: str
    stderr: str

    @property
    def error_line(self) -> str:
        lines = [l for l in self.stderr.strip().splitlines() if l.strip()]
        return lines[-1] if lines else ""


_HELD: set[str] = set()  # locks this process holds (flock is per open file: re-entry would deadlock)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock shared by every pytest-xdist worker (fcntl on a lock file); re-entrant."""
    key = str(path)
    if key in _HELD:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)
            fcntl.flock(handle, fcntl.LOCK_UN)


def xlit_executable() -> str:
    """The installed `xlit` console script (the venv's bin first)."""
    found = shutil.which("xlit", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        raise RuntimeError("the `xlit` console script is not installed (pip install -e '.[all]')")
    return found


def tiny_vocab_size() -> int:
    """MT5Config.vocab_size of gin/models/mt5_tiny.gin."""
    match = re.search(r"^\s*vocab_size\s*=\s*(\d+)", (GIN_DIR / "models" / "mt5_tiny.gin").read_text(), flags=re.M)
    return int(match.group(1))


VOCAB_FIXTURE_SCRIPT = textwrap.dedent("""
    import json
    from pathlib import Path
    from seqio_tasks.vocab import train_vocabulary

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)

    texts = [text for path in sorted(Path({demo!r}).rglob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
             for text in strings(json.loads(line))]
    train_vocabulary(texts, {path!r}, {size})
""")

T5X_FIXTURE_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_checkpoints_t5x import random_params, write_tensorstore_checkpoint
    from xlit_jax import gin_utils
    from xlit_jax.models.mt5 import MT5Config
    gin_utils.parse_gin(["models/mt5_tiny.gin"], ["xlit.MT5Config.vocab_size = {vocab_size}"], [], finalize=False)
    write_tensorstore_checkpoint(Path({path!r}), random_params(MT5Config()))
""")


class Sandbox:
    """A temporary directory outside the repository where documented commands run, each rewritten
    command once (results kept as JSON, guarded by file locks so pytest-xdist workers share them)."""

    def __init__(self, root: Path, commands: list[DocCommand] | None = None) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.xlit = xlit_executable()
        commands = documented_commands() if commands is None else commands
        self.runnable = [rewrite(c, str(root)) for c in commands if is_runnable(c)]

    # -- environment and fixtures

    def env(self) -> dict[str, str]:
        """The subprocess environment: the venv's bin first, the fixture vocabulary as $XLIT_VOCAB, and
        a user's device setup: conftest's 8 fake CPU devices (for the in-process sharding tests) are not
        passed on, so each command sees the one CPU device a user's machine has (8 fake devices on 2 cores
        made every command ~2.5x slower)."""
        env = dict(os.environ)
        env["PATH"] = f"{Path(self.xlit).parent}{os.pathsep}{env.get('PATH', '')}"
        env["XLIT_VOCAB"] = str(self.root / "fixtures" / "spm.model")
        env.pop("PYTHONPATH", None)
        if env.get("XLA_FLAGS") == FAKE_DEVICES_FLAG:
            env.pop("XLA_FLAGS")
        # One persistent XLA compilation cache for every command of the sandbox (all workers): the
        # shrunk commands compile the same tiny shapes again and again (~30% of a shrunk train).
        env.setdefault("JAX_COMPILATION_CACHE_DIR", str(self.root / "jax_cache"))
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
        return env

    def _once(self, name: str, build) -> Path:
        marker = self.root / ".done" / name
        with file_lock(self.root / ".locks" / f"{name}.lock"):
            if not marker.exists():
                build()
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text("ok")
        return marker

    def vocabulary(self) -> Path:
        """A sentencepiece model that fits mt5_tiny, trained by seqio_tasks.vocab.train_vocabulary on
        the packaged demo corpus's text (independent of the registry, so a broken `xlit vocab` fails
        its own tests only)."""
        path = self.root / "fixtures" / "spm.model"
        size = min(1024, tiny_vocab_size())

        def build() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            script = VOCAB_FIXTURE_SCRIPT.format(demo=str(REPO / "seqio_tasks" / "demo"), path=str(path), size=size)
            result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                    cwd=self.root, env=self.env(), timeout=COMMAND_TIMEOUT_S)
            if result.returncode != 0:
                raise RuntimeError(f"fixture vocabulary failed: {result.stderr.strip()[-2000:]}")

        self._once("vocabulary", build)
        return path

    def t5x_checkpoint(self) -> Path:
        """A t5x-format checkpoint (TensorStore layout) of mt5_tiny's shapes with the stand-in vocabulary
    size (what a released size becomes under rewrite 4), random weights."""
        path = self.root / "fixtures" / "t5x_checkpoint"

        def build() -> None:
            if path.exists():
                shutil.rmtree(path)
            script = T5X_FIXTURE_SCRIPT.format(tests=str(REPO / "tests"), path=str(path),
                                               vocab_size=STAND_IN_VOCAB_SIZE)
            env = self.env()
            result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                    cwd=self.root, env=env, timeout=COMMAND_TIMEOUT_S)
            if result.returncode != 0:
                raise RuntimeError(f"fixture t5x checkpoint failed: {result.stderr.strip()[-2000:]}")

        self._once("t5x_checkpoint", build)
        return path

    def by_source(self, source: str, subcommand: str | None = None) -> Rewritten:
        """The (first) runnable documented command of a source file."""
        for item in self.runnable:
            if item.command.source == source and subcommand in (None, item.command.subcommand):
                return item
        raise KeyError(f"no runnable documented command in {source}")

    def fixture_for(self, kind: str, stack: tuple[str, ...] = ()) -> Path:
        """The fixture an absent input of this kind is linked to (rewrite 3)."""
        if kind == "vocab":
            return self.vocabulary()
        if kind == "t5x":
            return self.t5x_checkpoint()
        if kind == "results":
            native = self.by_source("gin/experiments/eval_native_templates.gin", "eval")
            self.run(native, stack)
            return Path(native.outputs[0])
        trained = self.by_source("gin/experiments/korani_tuned.gin", "train")
        self.run(trained, stack)
        return Path(trained.outputs[0]) / "export"

    # -- running

    def producers_of(self, path: str) -> list[Rewritten]:
        """Documented runnable commands whose outputs hold `path` (globs in `path` allowed)."""
        parts = path.split("/")
        found = []
        for item in self.runnable:
            for output in item.outputs:
                out_parts = output.split("/")
                if len(out_parts) <= len(parts) and all(
                        fnmatch.fnmatchcase(o, p) for o, p in zip(out_parts, parts[:len(out_parts)])):
                    found.append(item)
                    break
        return found

    def prepare(self, item: Rewritten, stack: tuple[str, ...]) -> None:
        """Make the command's inputs exist: produce them by documented commands, else link fixtures."""
        self.vocabulary()
        for kind, path in item.inputs:
            if glob_free(path) and Path(path).exists():
                continue
            for producer in self.producers_of(path):
                if producer.key != item.key and producer.key not in stack:
                    self.run(producer, stack + (item.key,))
            if not glob_free(path) or Path(path).exists():
                continue
            if path == str(self.root / "fixtures" / "t5x_checkpoint"):
                self.t5x_checkpoint()
                continue
            if path == str(self.root / "fixtures" / "spm.model"):
                continue
            if kind == "checkpoint" and re.search(r"checkpoint_\d+/?$", path):
                kind = "t5x"
            if kind == "data":
                continue  # a cache is only made by `xlit cache`; its absence is the command's error
            target = self.fixture_for(kind, stack + (item.key,))
            with file_lock(self.root / ".locks" / "links.lock"):
                if not Path(path).exists() and not Path(path).is_symlink():
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                    os.symlink(target, path)

    def run(self, item: Rewritten, stack: tuple[str, ...] = ()) -> Outcome:
        """Run a rewritten command once per sandbox (later calls, from any worker, read the outcome)."""
        record = self.root / ".outcomes" / f"{item.key}.json"
        if item.key in stack:
            raise RuntimeError(f"{item.command}: needs its own output as input")
        with file_lock(self.root / ".locks" / f"{item.key}.lock"):
            if record.exists():
                return Outcome(**json.loads(record.read_text()))
            self.prepare(item, stack)
            locks = [self.root / ".locks" / ("out_" + hashlib.sha1(o.encode()).hexdigest()[:16] + ".lock")
                     for o in sorted(set(item.outputs))]
            with contextlib.ExitStack() as held:
                for lock in locks:
                    held.enter_context(file_lock(lock))
                start = time.perf_counter()
                try:
                    result = subprocess.run(["bash", "-c", item.line], capture_output=True, text=True,
                                            cwd=self.root, env=self.env(), timeout=COMMAND_TIMEOUT_S)
                    code, stdout, stderr = result.returncode, result.stdout, result.stderr
                except subprocess.TimeoutExpired as error:
                    code, stdout = 124, str(error.stdout or "")
                    stderr = f"{error.stderr or ''}\ntimed out after {COMMAND_TIMEOUT_S} s"
            outcome = Outcome(item.line, code, round(time.perf_counter() - start, 1), stdout[-20000:],
                              stderr[-20000:])
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps(dataclasses.asdict(outcome)))
            return outcome


def glob_free(path: str) -> bool:
    return not any(c in path for c in "*?[")


def is_runnable(command: DocCommand) -> bool:
    """Neither a synopsis nor listed in NOT_RUNNABLE."""
    return synopsis_reason(command) is None and not_runnable_reason(command) is None


def shared_root(base: Path) -> Path:
    """The sandbox root every pytest-xdist worker of one session shares (under pytest's base temp)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return (base.parent if worker else base) / "documented_commands"


def main() -> int:
    """Print every documented command, how it is treated, and its rewritten form."""
    for command in documented_commands():
        reason = synopsis_reason(command)
        if reason:
            print(f"{command}\n    synopsis: {reason}")
        elif not_runnable_reason(command):
            print(f"{command}\n    not runnable here: {not_runnable_reason(command)}")
        else:
            print(f"{command}\n    runs as: {rewrite(command, '$ROOT').line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
