"""Input pipeline: packed sequences/s per host from the ArrayRecord cache and from live seqio, time to
the first batch at early and late positions, and packing efficiency.

    python bench/input_pipeline.py --mixture korani_train --vocabulary spm.model --output /tmp/input.json

What it does: writes the mixture's packed cache with the cache job (in process, `--num_examples`
rows per length pair) for every `--lengths` pair; measures packing efficiency on those rows (real
tokens / slots, inputs and targets together and each); reads `--batches` batches of
`--batch_size` rows per host at the first length pair from the cache (`xlit.RecordData`) and
from live seqio (`xlit.SeqioData`, tokenize + pack on the fly), first batch excluded; and times
a fresh reader's first batch at each of `--positions` (construction included; median of 3). Run it with the
machine otherwise idle: the JSON records the load average before and after.

What one host of a v4-64 slice consumes at T0's batch (the rate the cache must beat):
v4-64 = 32 chips, 4 per host = 8 hosts. T0's recipe: 1024 packed 1024/256 sequences per step, so
each host feeds 1024 / 8 = 128 sequences per step. Step time assumed from the model's training
FLOPs per sequence (xlit_jax.flops.train_flops_per_sequence, mT5 dimensions, vocab 250,112) at
50% MFU of 32 x 275 TFLOP/s (v4 bf16 peak):

    step_seconds = 1024 * flops_per_sequence / (32 * 275e12 * 0.5)
    per_host_sequences_per_second = 128 / step_seconds

    model  flops/sequence  step_s  sequences/s per host
    small        4.17e11    0.097   1320
    base         1.21e12    0.281    455
    large        3.55e12    0.827    155
    xl           1.20e13    2.80      46
    xxl          4.49e13   10.5       12

So the cache must give > 1,320 packed 1024/256 sequences/s per host for mT5-small (the
hardest case) and > 46 for XL; the JSON repeats this table (`v4_64_consumption`) next to the
measured rates.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

MT5_SIZES = {  # emb_dim, mlp_dim, num_heads, layers per stack (head_dim 64, vocab 250,112)
    "small": (512, 1024, 6, 8), "base": (768, 2048, 12, 12), "large": (1024, 2816, 16, 24),
    "xl": (2048, 5120, 32, 24), "xxl": (4096, 10240, 64, 24),
}
V4_64 = {"chips": 32, "hosts": 8, "peak_flops_per_chip": 275e12, "assumed_mfu": 0.5, "global_batch": 1024}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mixture", default="korani_train")
    parser.add_argument("--vocabulary", default=None, help="sentencepiece model (default: xlit.vocabulary_path())")
    parser.add_argument("--lengths", default="1024/256,512/128", help="inputs/targets pairs; the first is timed")
    parser.add_argument("--num_examples", type=int, default=20000, help="packed rows cached per length pair")
    parser.add_argument("--num_shards", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch_size", type=int, default=128, help="rows per host per batch (T0 on v4-64: 128)")
    parser.add_argument("--batches", type=int, default=50, help="batches timed per path (after the first)")
    parser.add_argument("--positions", default="0,100000", help="positions whose first batch is timed")
    parser.add_argument("--cache_dir", default=None, help="keep the caches here (default: a temporary directory)")
    parser.add_argument("--skip_seqio", action="store_true", help="do not time the live seqio path")
    parser.add_argument("--output", default=None, help="write the results as JSON here")
    return parser.parse_args(argv)


def v4_64_consumption(input_length: int = 1024, target_length: int = 256) -> dict[str, dict]:
    """Sequences/s one v4-64 host consumes at T0's batch, per mT5 size (assumptions in V4_64)."""
    from xlit_jax.flops import train_flops_per_sequence
    from xlit_jax.models.mt5 import MT5Config

    table = {}
    for name, (emb, mlp, heads, layers) in MT5_SIZES.items():
        config = MT5Config(emb_dim=emb, mlp_dim=mlp, num_heads=heads, num_encoder_layers=layers,
                           num_decoder_layers=layers)
        flops = train_flops_per_sequence(config, input_length, target_length)
        step = V4_64["global_batch"] * flops / (V4_64["chips"] * V4_64["peak_flops_per_chip"] * V4_64["assumed_mfu"])
        table[name] = {"flops_per_sequence": flops, "step_seconds": step,
                       "sequences_per_second_per_host": V4_64["global_batch"] / V4_64["hosts"] / step}
    return table


def write_cache(args: argparse.Namespace, vocabulary: str, lengths: dict[str, int], directory: Path) -> float:
    """Write the mixture's packed cache at `lengths`; return the seconds it took."""
    from seqio_tasks import cache_job

    started = time.perf_counter()
    job = cache_job.CacheJob(mixture_or_task_name=args.mixture, output_dir=str(directory), vocabulary_path=vocabulary,
                             task_feature_lengths=lengths, pack=True, num_shards=args.num_shards,
                             num_examples=args.num_examples, count_examples=False)
    cache_job.run(job, runner=cache_job.IN_PROCESS, overwrite=True)
    return time.perf_counter() - started


def packing_efficiency(directory: Path) -> dict[str, float]:
    """Real tokens / slots over every row of a packed cache (inputs, targets, and both)."""
    from xlit_jax.data.records import RecordData

    data = RecordData(str(directory), shuffle=False, repeat=False)
    real = {"inputs": 0, "targets": 0}
    rows = 0
    for batch in data.batches(data.num_rows):
        rows += batch["encoder_input_tokens"].shape[0]
        real["inputs"] += int((batch["encoder_input_tokens"] != 0).sum())
        real["targets"] += int((batch["decoder_target_tokens"] != 0).sum())
    slots = {key: rows * data.task_feature_lengths[key] for key in real}
    return {"inputs": real["inputs"] / slots["inputs"], "targets": real["targets"] / slots["targets"],
            "total": (real["inputs"] + real["targets"]) / (slots["inputs"] + slots["targets"]), "rows": rows}


def time_batches(batches, count: int) -> dict[str, float]:
    """Seconds to the first batch, then rows/s over the next `count` batches."""
    started = time.perf_counter()
    first = next(batches)
    first_seconds = time.perf_counter() - started
    rows = 0
    started = time.perf_counter()
    for _ in range(count):
        rows += next(batches)["encoder_input_tokens"].shape[0]
    seconds = time.perf_counter() - started
    return {"first_batch_seconds": first_seconds, "rows": rows, "seconds": seconds,
            "sequences_per_second": rows / seconds, "row_shape": list(first["encoder_input_tokens"].shape)}


def main(argv: list[str]) -> int:
    """Run the measurements; print a table; write JSON."""
    args = parse_args(argv)
    load_before = os.getloadavg()
    from seqio_tasks import vocab
    from xlit_jax.commands.cache import register_tasks
    from xlit_jax.data.records import RecordData
    from xlit_jax.data.seqio_input import SeqioData

    vocabulary = vocab.vocabulary_path(args.vocabulary)
    register_tasks(vocabulary)
    pairs = []
    for pair in args.lengths.split(","):
        inputs, targets = pair.split("/")
        pairs.append({"inputs": int(inputs), "targets": int(targets)})
    root = Path(args.cache_dir) if args.cache_dir else Path(tempfile.mkdtemp(prefix="xlit_input_bench_"))
    result: dict = {"mixture": args.mixture, "settings": vars(args), "cache_write_seconds": {},
                    "packing_efficiency": {}, "packed_sequences_per_second": {}, "first_batch_seconds": {}}
    for lengths in pairs:
        key = f"{lengths['inputs']}/{lengths['targets']}"
        directory = root / key.replace("/", "_")
        result["cache_write_seconds"][key] = write_cache(args, vocabulary, lengths, directory)
        result["packing_efficiency"][key] = packing_efficiency(directory)
    timed = pairs[0]
    key = f"{timed['inputs']}/{timed['targets']}"
    cache_dir = root / key.replace("/", "_")
    cache = time_batches(RecordData(str(cache_dir), task_feature_lengths=timed, seed=0).batches(args.batch_size),
                         args.batches)
    result["packed_sequences_per_second"] = {"lengths": key, "cache": cache["sequences_per_second"]}
    result["cache_read"] = cache
    if not args.skip_seqio:
        live = time_batches(SeqioData(mixture_or_task_name=args.mixture, task_feature_lengths=timed, shuffle=True,
                                      seed=0, pack=True).batches(args.batch_size), args.batches)
        result["packed_sequences_per_second"]["seqio"] = live["sequences_per_second"]
        result["seqio_read"] = live
    cache_first = {}
    for position in (int(p) for p in args.positions.split(",")):
        trials = []
        for _ in range(3):   # a fresh reader each time (libraries already imported by the reads above)
            started = time.perf_counter()
            next(RecordData(str(cache_dir), task_feature_lengths=timed, seed=0).batches(args.batch_size,
                                                                                         start_position=position))
            trials.append(time.perf_counter() - started)
        cache_first[str(position)] = sorted(trials)[1]
    result["first_batch_seconds"] = {"cache": cache_first, "statistic": "median of 3 fresh readers"}
    result["v4_64_consumption"] = {"lengths": "1024/256", "assumptions": V4_64, "per_model": v4_64_consumption()}
    result["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                         "processor": platform.processor()}
    result["load_average"] = {"before": list(load_before), "after": list(os.getloadavg())}

    print(f"{'what':<44}{'value':>14}")
    for name, value in result["packed_sequences_per_second"].items():
        if name != "lengths":
            print(f"{'packed ' + key + ' sequences/s per host, ' + name:<44}{value:>14.1f}")
    for position, seconds in cache_first.items():
        print(f"{'cache first batch at position ' + position + ' (s)':<44}{seconds:>14.3f}")
    for pair, eff in result["packing_efficiency"].items():
        print(f"{'packing efficiency ' + pair + ' (tokens/slots)':<44}{eff['total']:>14.3f}")
    for name, row in result["v4_64_consumption"]["per_model"].items():
        print(f"{'v4-64 host consumes, mT5-' + name + ' (seq/s)':<44}{row['sequences_per_second_per_host']:>14.1f}")
    print(f"load average before {load_before[0]:.2f}, after {result['load_average']['after'][0]:.2f}")
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
