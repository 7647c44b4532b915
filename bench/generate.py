"""Generation throughput with and without the cross-attention cache, side by side in one run.

Greedy (and optionally beam) decoding of a random mT5-style model on inputs of --input_length
tokens for --max_decode_length new tokens. "cached" projects the cross-attention keys/values once
per input (xlit's default); "per-step" projects them at every step (t5x's way). Methods alternate
round by round after a warmup (compilation) round; medians are reported. Both give the same tokens
(checked). Prints a table and writes JSON (machine facts, load average) with --output.

    python bench/generate.py --output /tmp/generate.json
    python bench/generate.py --tiny          # seconds, proves the script works
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_facts import load_average, machine_facts, print_table, write_json  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--num_batches", type=int, default=2, help="batches per round")
    parser.add_argument("--input_length", type=int, default=256)
    parser.add_argument("--max_decode_length", type=int, default=32, help="new tokens")
    parser.add_argument("--methods", default="greedy", help="comma list of greedy, beam")
    parser.add_argument("--num_beams", type=int, default=4)
    parser.add_argument("--emb_dim", type=int, default=512)
    parser.add_argument("--num_heads", type=int, default=8)
    parser.add_argument("--head_dim", type=int, default=64)
    parser.add_argument("--mlp_dim", type=int, default=1024)
    parser.add_argument("--num_layers", type=int, default=4, help="encoder and decoder layers each")
    parser.add_argument("--vocab_size", type=int, default=32000)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="a very small model and batch (a smoke test)")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.batch_size, args.num_batches, args.input_length, args.max_decode_length = 2, 1, 16, 4
        args.emb_dim, args.num_heads, args.head_dim, args.mlp_dim, args.num_layers = 32, 2, 8, 64, 2
        args.vocab_size, args.rounds, args.num_beams = 128, 1, 2
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    import jax
    import numpy as np

    from xlit_jax import decoding
    from xlit_jax.models import mt5

    load_before = load_average()
    config = mt5.MT5Config(vocab_size=args.vocab_size, emb_dim=args.emb_dim, num_heads=args.num_heads,
                           head_dim=args.head_dim, mlp_dim=args.mlp_dim, num_encoder_layers=args.num_layers,
                           num_decoder_layers=args.num_layers, dtype=args.dtype)
    model = mt5.Transformer(config)
    params = mt5.init_params(config, jax.random.key(args.seed))
    rng = np.random.default_rng(args.seed)
    batches = []
    for _ in range(args.num_batches):
        tokens = rng.integers(2, args.vocab_size, (args.batch_size, args.input_length)).astype(np.int32)
        tokens[:, -1] = 1
        batches.append(tokens)

    def runner(method: str, cached: bool):
        kwargs = {"num_beams": args.num_beams, "length_penalty": 0.6} if method == "beam" else {}
        return lambda: [decoding.generate(model, params, b, method=method, max_decode_length=args.max_decode_length,
                                          cache_cross_attention=cached, **kwargs) for b in batches]

    runs = {(m, c): runner(m, c) for m in args.methods.split(",") for c in (False, True)}
    outputs = {key: fn() for key, fn in runs.items()}  # warmup: compiles
    same_tokens = all(np.array_equal(a, b) for m in args.methods.split(",")
                      for a, b in zip(outputs[(m, False)], outputs[(m, True)]))
    times = {key: [] for key in runs}
    for _ in range(args.rounds):
        for key, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    examples = args.batch_size * args.num_batches
    rows = []
    for (method, cached), seconds in times.items():
        median = statistics.median(seconds)
        generated = int(sum((o > 0).sum() for o in outputs[(method, cached)]))
        rows.append({"method": method, "cross_attention": "cached" if cached else "per-step",
                     "median_s": median, "examples_per_s": examples / median,
                     "generated_tokens": generated, "round_times_s": seconds})
    for row in rows:
        base = next(r for r in rows if r["method"] == row["method"] and r["cross_attention"] == "per-step")
        row["speedup_vs_per_step"] = base["median_s"] / row["median_s"]
    print(f"generation: {examples} inputs of {args.input_length} tokens, {args.max_decode_length} new tokens, "
          f"model emb {args.emb_dim} {args.num_layers}+{args.num_layers} layers vocab {args.vocab_size} "
          f"({args.dtype}); {args.rounds} rounds, median; backend {jax.default_backend()}")
    print_table(["method", "cross-attention", "examples/s", "s/round", "speedup"],
                [[r["method"], r["cross_attention"], r["examples_per_s"], r["median_s"], r["speedup_vs_per_step"]]
                 for r in rows])
    print(f"same tokens with and without the cache: {same_tokens}")
    facts = machine_facts()
    facts["load_average_before"] = load_before
    result = {"benchmark": "generate", "args": vars(args), "num_params": mt5.count_params(params), "rows": rows,
              "same_tokens": same_tokens, "machine": facts}
    write_json(args.output, result)
    return result


if __name__ == "__main__":
    main()
