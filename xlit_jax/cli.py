"""The `xlit` command: dispatches to one module per subcommand under xlit_jax.commands."""
from __future__ import annotations

import importlib
import sys

# name -> (module under xlit_jax.commands, one-line help). Modules are imported lazily so
# `xlit convert` never pays for (or needs) TensorFlow.
SUBCOMMANDS = {
    "demo": ("demo", "build a vocabulary, train a tiny mT5 and evaluate it zero-shot (the README main job)"),
    "train": ("train", "instruction-tune a model from gin configs (t5x-style flags)"),
    "eval": ("eval", "zero-shot evaluation: rank classification and generation over templates"),
    "report": ("report", "render paper-style tables and charts from result directories"),
    "convert": ("convert", "convert checkpoints between Hugging Face, t5x and xlit formats"),
    "tasks": ("tasks", "list registered tasks and mixtures, show rendered examples"),
    "vocab": ("vocab", "train a small sentencepiece vocabulary from registered tasks' text"),
    "cache": ("cache", "write a seqio mixture as pre-tokenized, TensorFlow-free training data"),
    "sweep": ("sweep", "train once per value of a gin macro (learning rate), choose on the training tasks' validation"),
    "select": ("select", "rank training datasets by instruction similarity to a target task (INSTA)"),
}


def _usage() -> str:
    lines = ["usage: xlit <command> [flags] [--verbose]", "", "commands:"]
    lines += [f"  {name:<9} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "`xlit <command> --help` lists a command's flags (and gin macros).",
              "--verbose shows the TensorFlow, absl and gin logs that are hidden by default."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `xlit` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"xlit: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    verbose = any(a in ("--verbose", "-v") for a in rest)
    rest = [a for a in rest if a not in ("--verbose", "-v")]
    from xlit_jax.commands import wiring

    wiring.quiet(verbose)
    module = importlib.import_module(f"xlit_jax.commands.{SUBCOMMANDS[name][0]}")
    result = module.main(rest)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
