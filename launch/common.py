"""Shared pieces of the launch scripts: flag parsing, command printing and running."""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]
GIN_DIR = REPO / "gin"


def add_train_flags(parser: argparse.ArgumentParser) -> None:
    """Flags passed through to `xlit train` on every worker."""
    parser.add_argument("--gin_file", action="append", default=[], help="gin file for `xlit train` (repeatable)")
    parser.add_argument("--gin", action="append", default=[], metavar="KEY=VALUE",
                        help="gin binding for `xlit train` (repeatable), e.g. --gin TRAIN_STEPS=1000")
    parser.add_argument("--model_dir", required=True, help="MODEL_DIR (a gs:// path on TPU VMs, shared storage on GPUs)")
    parser.add_argument("--dry_run", action="store_true", help="print the exact commands instead of running them")


def missing_gin_files(gin_files: Sequence[str]) -> list[str]:
    """The --gin_file values that name no file: neither a path (as given, or from the repository
    root, as the workers run from the checkout) nor a file under the repository's gin/ directory."""
    missing = []
    for name in gin_files:
        candidates = [Path(name), REPO / name, GIN_DIR / name]
        if not any(path.is_file() for path in candidates):
            missing.append(name)
    return missing


def check_gin_files(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Stop with a clear error (before anything is created or run) when a --gin_file does not exist."""
    missing = missing_gin_files(args.gin_file)
    if missing:
        shipped = sorted(p.relative_to(GIN_DIR).as_posix() for p in GIN_DIR.rglob("*.gin"))
        parser.error(f"--gin_file {', '.join(missing)}: no such file (as a path, from {REPO}, or under "
                     f"{GIN_DIR}); shipped gin files: {', '.join(shipped)}")


def train_words(args: argparse.Namespace) -> list[str]:
    """The `xlit train` command as a list of words."""
    words = ["xlit", "train"] + [f"--gin_file={g}" for g in args.gin_file]
    return words + [f'--gin.MODEL_DIR="{args.model_dir}"'] + [f"--gin.{b}" for b in args.gin]


def shell_line(words: list[str], env: dict[str, str] | None = None) -> str:
    """One shell line: environment assignments then the quoted words."""
    assignments = [f"{k}={shlex.quote(v)}" for k, v in (env or {}).items()]
    return " ".join(assignments + [shlex.quote(w) for w in words])


def execute(commands: Sequence[Sequence[str]], dry_run: bool) -> int:
    """Print each command; run them in order unless dry_run, stopping at the first failure."""
    for command in commands:
        print("+ " + " ".join(shlex.quote(part) for part in command), flush=True)
        if not dry_run:
            result = subprocess.run(list(command))
            if result.returncode != 0:
                print(f"launch: command failed with exit code {result.returncode}", file=sys.stderr)
                return result.returncode
    return 0
