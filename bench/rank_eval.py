"""Rank-classification throughput: shared-encoder scoring vs the naive per-option full model.

Both scorers run in the same process on the same batches, alternating round by round after
a warmup (compilation) round; the table reports the median over rounds. Two levels are
timed: the jitted scoring functions on ready arrays, and `rank_classify` end to end (token
lists in, RankResults out). Prints a table and writes JSON with --output.

    python bench/rank_eval.py --output /tmp/rank_eval.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from xlit_jax import scoring
from xlit_jax.models import mt5

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_facts import load_average, machine_facts  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=8, help="examples per scoring call")
    parser.add_argument("--num_batches", type=int, default=2, help="batches per round")
    parser.add_argument("--num_options", type=int, default=4)
    parser.add_argument("--input_length", type=int, default=256)
    parser.add_argument("--max_option_length", type=int, default=8, help="options have 2..this many tokens")
    parser.add_argument("--emb_dim", type=int, default=512)
    parser.add_argument("--num_heads", type=int, default=8)
    parser.add_argument("--head_dim", type=int, default=64)
    parser.add_argument("--mlp_dim", type=int, default=1024)
    parser.add_argument("--num_layers", type=int, default=4, help="encoder and decoder layers each")
    parser.add_argument("--vocab_size", type=int, default=32000)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per method (median reported)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="write results JSON here")
    return parser.parse_args(argv)


def make_examples(args, rng: np.random.Generator):
    """Token lists: inputs of exactly input_length tokens (EOS last), options of 2..max_option_length."""
    count = args.batch_size * args.num_batches
    inputs = [list(rng.integers(2, args.vocab_size, args.input_length - 1)) + [1] for _ in range(count)]
    options = [[list(rng.integers(2, args.vocab_size, rng.integers(1, args.max_option_length))) + [1]
                for _ in range(args.num_options)] for _ in range(count)]
    return inputs, options


def to_arrays(inputs, options, option_length):
    enc = np.zeros((len(inputs), len(inputs[0])), np.int32)
    opts = np.zeros((len(inputs), len(options[0]), option_length), np.int32)
    for i, (x, os_) in enumerate(zip(inputs, options)):
        enc[i, :len(x)] = x
        for k, o in enumerate(os_):
            opts[i, k, :len(o)] = o
    return jnp.asarray(enc), jnp.asarray(opts)


def main(argv=None) -> dict:
    args = parse_args(argv)
    load_before = load_average()
    config = mt5.MT5Config(vocab_size=args.vocab_size, emb_dim=args.emb_dim, num_heads=args.num_heads,
                           head_dim=args.head_dim, mlp_dim=args.mlp_dim, num_encoder_layers=args.num_layers,
                           num_decoder_layers=args.num_layers)
    model = mt5.Transformer(config)
    params = mt5.init_params(config, jax.random.key(args.seed))
    inputs, options = make_examples(args, np.random.default_rng(args.seed))
    batches = [to_arrays(inputs[s:s + args.batch_size], options[s:s + args.batch_size], args.max_option_length)
               for s in range(0, len(inputs), args.batch_size)]

    def run_jitted(fn):
        return [fn(model, params, enc, opts).block_until_ready() for enc, opts in batches]

    def run_end_to_end(shared):
        return scoring.rank_classify(model, params, inputs, options, batch_size=args.batch_size,
                                     shared_encoder=shared)

    methods = {
        "shared_encoder (jitted scorer)": lambda: run_jitted(scoring.option_log_likelihoods),
        "naive per-option (jitted scorer)": lambda: run_jitted(scoring.naive_option_log_likelihoods),
        "shared_encoder (rank_classify)": lambda: run_end_to_end(True),
        "naive per-option (rank_classify)": lambda: run_end_to_end(False),
    }
    # warmup (compiles) and a correctness check: same scores, same choices
    outputs = {name: fn() for name, fn in methods.items()}
    shared = np.concatenate([np.asarray(x) for x in outputs["shared_encoder (jitted scorer)"]])
    naive = np.concatenate([np.asarray(x) for x in outputs["naive per-option (jitted scorer)"]])
    max_diff = float(np.abs(shared - naive).max())
    same_choices = bool((shared.argmax(-1) == naive.argmax(-1)).all())
    same_choices &= all(a.choice == b.choice for a, b in zip(outputs["shared_encoder (rank_classify)"],
                                                               outputs["naive per-option (rank_classify)"]))

    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(args.rounds):  # alternate methods within each round
        for name, fn in methods.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)

    num_examples = len(inputs)
    rows = []
    for name in methods:
        median = statistics.median(times[name])
        rows.append({"method": name, "median_s": median, "examples_per_s": num_examples / median,
                     "round_times_s": times[name]})
    for level in ("jitted scorer", "rank_classify"):
        naive_row = next(r for r in rows if r["method"] == f"naive per-option ({level})")
        for row in rows:
            if row["method"].endswith(f"({level})"):
                row["speedup_vs_naive"] = naive_row["median_s"] / row["median_s"]

    print(f"model: emb {args.emb_dim}, {args.num_layers}+{args.num_layers} layers, {args.num_heads}x{args.head_dim} "
          f"heads, mlp {args.mlp_dim}, vocab {args.vocab_size} ({mt5.count_params(params) / 1e6:.1f}M params); "
          f"{num_examples} examples x {args.num_options} options, inputs {args.input_length} tokens, options "
          f"<= {args.max_option_length} tokens; {args.rounds} rounds, median; backend {jax.default_backend()}")
    print(f"{'method':36s} {'examples/s':>11s} {'s/round':>9s} {'speedup':>8s}")
    for row in rows:
        print(f"{row['method']:36s} {row['examples_per_s']:11.2f} {row['median_s']:9.3f} {row['speedup_vs_naive']:7.2f}x")
    print(f"max |shared - naive| score difference {max_diff:.2e}; same choices on every example: {same_choices}")

    result = {"config": vars(args), "num_params": mt5.count_params(params), "backend": jax.default_backend(),
              "devices": [str(d) for d in jax.devices()], "machine": platform.machine(),
              "python": platform.python_version(), "jax": jax.__version__, "rows": rows,
              "max_score_difference": max_diff, "same_choices": same_choices,
              "machine": dict(machine_facts(), load_average_before=load_before)}
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.output}")
    return result


if __name__ == "__main__":
    main()
