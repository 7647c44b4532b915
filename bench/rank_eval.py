"""Rank-classification throughput: packed-option scoring vs the earlier scorers.

Three scorers of the same scores: `packed` (xlit_jax.scoring.option_log_likelihoods: one encoder
pass per example, its options packed as segments of one decoder row), `repeated` (the previous
scorer, kept here as the baseline: one encoder pass, encoder states repeated once per option, so
cross-attention keys and values are projected per option) and `naive` (the full model on every
(example, option) pair, as t5x/T0 rank classification does). All run in the same process on the same batches, alternating round by round after
a warmup (compilation) round; the table reports the median over rounds. Two levels are
timed: the jitted scoring functions on ready arrays, and `rank_classify` end to end (token
lists in, RankResults out). Prints a table and writes JSON with --output.

    python bench/rank_eval.py --output /tmp/rank_eval.json
"""
from __future__ import annotations

import argparse
import functools
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


@functools.partial(jax.jit, static_argnums=(0,), static_argnames=("length_normalize",))
def repeated_option_log_likelihoods(model, params, encoder_input_tokens, option_tokens, *, length_normalize=False):
    """The previous scorer: encoder states repeated once per option, one decoder row per option."""
    batch, num_options, target_length = option_tokens.shape
    variables = {"params": params}
    encoded = model.apply(variables, encoder_input_tokens, enable_dropout=False, method=model.encode)
    encoded = jnp.repeat(encoded, num_options, axis=0)
    encoder_tokens = jnp.repeat(encoder_input_tokens, num_options, axis=0)
    targets = option_tokens.reshape(batch * num_options, target_length)
    decoder_inputs = jnp.pad(targets, [(0, 0), (1, 0)])[:, :-1]
    logits = model.apply(variables, encoded, encoder_tokens, decoder_inputs, targets, enable_dropout=False,
                         method=model.decode)
    scores = scoring.target_log_likelihoods(logits, targets, length_normalize=length_normalize)
    return scores.reshape(batch, num_options)


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
    parser.add_argument("--tiny", action="store_true", help="a tiny model and batch, 2 rounds")
    parser.add_argument("--output", default=None, help="write results JSON here")
    args = parser.parse_args(argv)
    if args.tiny:
        args.batch_size, args.num_batches, args.input_length, args.rounds = 2, 1, 16, 2
        args.emb_dim, args.num_heads, args.head_dim, args.mlp_dim, args.num_layers, args.vocab_size = (
            32, 2, 8, 64, 1, 100)
    return args


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

    def run_end_to_end(scorer):
        return scoring.rank_classify(model, params, inputs, options, batch_size=args.batch_size, scorer=scorer)

    scorers = {"packed": scoring.option_log_likelihoods, "repeated": repeated_option_log_likelihoods,
               "naive": scoring.naive_option_log_likelihoods}
    methods = {}
    for level in ("jitted scorer", "rank_classify"):
        for name, fn in scorers.items():
            run = run_jitted if level == "jitted scorer" else run_end_to_end
            methods[f"{name} ({level})"] = functools.partial(run, fn)
    # warmup (compiles) and a correctness check: same scores, same choices
    outputs = {name: fn() for name, fn in methods.items()}
    scores = {name: np.concatenate([np.asarray(x) for x in outputs[f"{name} (jitted scorer)"]]) for name in scorers}
    max_diff = float(max(np.abs(scores[name] - scores["naive"]).max() for name in scorers))
    same_choices = all(bool((scores[name].argmax(-1) == scores["naive"].argmax(-1)).all()) for name in scorers)
    same_choices &= all(a.choice == b.choice for name in scorers
                        for a, b in zip(outputs[f"{name} (rank_classify)"], outputs["naive (rank_classify)"]))

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
        naive_row = next(r for r in rows if r["method"] == f"naive ({level})")
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
    print(f"max |scorer - naive| score difference {max_diff:.2e}; same choices on every example: {same_choices}")

    result = {"benchmark": "rank_eval", "config": vars(args), "num_params": mt5.count_params(params), "backend": jax.default_backend(),
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
