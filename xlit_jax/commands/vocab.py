"""`xlit vocab`: train a small T5-style sentencepiece vocabulary from the registered tasks' text.

    xlit vocab --output PATH [--tasks REGEX ...] [--vocab_size N] [--max_examples_per_task N]

For offline and tiny runs (the mT5 vocabulary lives on GCS). Pad 0, EOS 1, UNK 2, byte fallback.
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str]) -> int:
    """Runs `xlit vocab`."""
    parser = argparse.ArgumentParser(prog="xlit vocab", description=__doc__.split("\n")[0])
    parser.add_argument("--output", required=True, help="where to write the sentencepiece .model file")
    parser.add_argument("--tasks", nargs="+", default=[".*"], help="regular expressions over task names")
    parser.add_argument("--vocab_size", type=int, default=8000)
    parser.add_argument("--max_examples_per_task", type=int, default=200)
    parser.add_argument("--character_coverage", type=float, default=0.9995)
    args = parser.parse_args(argv)

    from seqio_tasks.vocab import train_vocabulary
    from xlit_jax.commands import wiring

    wiring.load_registry()
    try:
        path = train_vocabulary(args.tasks, args.output, args.vocab_size, from_tasks=True,
                                max_examples_per_task=args.max_examples_per_task,
                                character_coverage=args.character_coverage)
    except ValueError as error:
        print(f"xlit vocab: {error}", file=sys.stderr)
        return 1
    import sentencepiece as spm

    model = spm.SentencePieceProcessor(model_file=str(path))
    print(f"wrote {path}: {model.get_piece_size()} pieces (pad {model.pad_id()}, eos {model.eos_id()}, "
          f"unk {model.unk_id()})")
    return 0
