"""Training tokens/s and model FLOPs utilization (MFU) of mT5-base and mT5-large on one device.

Random init, bfloat16 compute with float32 parameters and Adafactor state (t5x's default), packed
batches of 1024 input / 256 target tokens (several examples per row, segment ids and positions),
for each remat policy asked for. MFU = model FLOPs per step (flops.train_flops_per_sequence,
docs/training_at_scale.md) / step time / the device's peak bf16 FLOP/s (flops.PEAK_BF16_FLOPS_PER_DEVICE,
or --peak_flops). Prints a table and writes JSON (machine facts, load average) with --output.

    python bench/mfu.py --models base,large --remat none,minimal,full --batch_size 8 --output mfu.json
    python bench/mfu.py --tiny               # a tiny model on CPU: proves the script works
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_facts import load_average, machine_facts, print_table, write_json  # noqa: E402

# mT5 sizes (t5x's gin configs): emb_dim, num_heads, head_dim, mlp_dim, layers per stack
MT5_SIZES = {
    "tiny": dict(emb_dim=32, num_heads=2, head_dim=8, mlp_dim=64, layers=1, vocab_size=256),
    "small": dict(emb_dim=512, num_heads=6, head_dim=64, mlp_dim=1024, layers=8, vocab_size=250112),
    "base": dict(emb_dim=768, num_heads=12, head_dim=64, mlp_dim=2048, layers=12, vocab_size=250112),
    "large": dict(emb_dim=1024, num_heads=16, head_dim=64, mlp_dim=2816, layers=24, vocab_size=250112),
    "xl": dict(emb_dim=2048, num_heads=32, head_dim=64, mlp_dim=5120, layers=24, vocab_size=250112),
    "xxl": dict(emb_dim=4096, num_heads=64, head_dim=64, mlp_dim=10240, layers=24, vocab_size=250112),
}


def mt5_config(size: str, dtype: str = "bfloat16", remat_policy: str = "none"):
    """The MT5Config of an mT5 size name (tiny, small, base, large, xl, xxl)."""
    from xlit_jax.models.mt5 import MT5Config

    if size not in MT5_SIZES:
        raise ValueError(f"unknown mT5 size {size!r}; known: {sorted(MT5_SIZES)}")
    s = MT5_SIZES[size]
    return MT5Config(vocab_size=s["vocab_size"], emb_dim=s["emb_dim"], num_heads=s["num_heads"], head_dim=s["head_dim"],
                     mlp_dim=s["mlp_dim"], num_encoder_layers=s["layers"], num_decoder_layers=s["layers"],
                     dropout_rate=0.0, dtype=dtype, remat_policy=remat_policy)


def packed_batch(batch_size: int, input_length: int, target_length: int, vocab_size: int, seed: int = 0,
                 examples_per_row: int = 4) -> dict:
    """A full packed batch: each row holds examples_per_row segments with segment ids and positions."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def pack(length: int):
        tokens = rng.integers(2, vocab_size, (batch_size, length)).astype(np.int32)
        segments = np.zeros((batch_size, length), np.int32)
        positions = np.zeros((batch_size, length), np.int32)
        bounds = np.linspace(0, length, examples_per_row + 1).astype(int)
        for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            segments[:, a:b] = k + 1
            positions[:, a:b] = np.arange(b - a)
            tokens[:, b - 1] = 1  # EOS ends each packed example
        return tokens, segments, positions

    enc, enc_seg, enc_pos = pack(input_length)
    tgt, dec_seg, dec_pos = pack(target_length)
    dec_in = np.where(dec_pos == 0, 0, np.roll(tgt, 1, axis=1)).astype(np.int32)  # shift right within segments
    return {"encoder_input_tokens": enc, "encoder_segment_ids": enc_seg, "encoder_positions": enc_pos,
            "decoder_input_tokens": dec_in, "decoder_target_tokens": tgt, "decoder_segment_ids": dec_seg,
            "decoder_positions": dec_pos, "decoder_loss_weights": (tgt > 0).astype(np.int32)}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="base,large", help=f"comma list of {sorted(MT5_SIZES)}")
    parser.add_argument("--remat", default="none,minimal,full", help="comma list of remat policies")
    parser.add_argument("--batch_size", type=int, default=8, help="packed rows per step")
    parser.add_argument("--input_length", type=int, default=1024)
    parser.add_argument("--target_length", type=int, default=256)
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--steps", type=int, default=10, help="timed steps (after warmup)")
    parser.add_argument("--warmup_steps", type=int, default=2)
    parser.add_argument("--peak_flops", type=float, default=None, help="peak FLOP/s per device (default: table)")
    parser.add_argument("--tiny", action="store_true", help="tiny model, 64/16 tokens, 2 rows, 2 steps (CPU)")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.models, args.remat, args.batch_size = "tiny", "none,full", 2
        args.input_length, args.target_length, args.steps, args.warmup_steps = 64, 16, 2, 1
    return args


def run_one(size: str, remat: str, args: argparse.Namespace) -> dict:
    """Trains `size` with `remat` for warmup + timed steps; returns its row (or the error it hit)."""
    import jax

    from xlit_jax import flops, optimizers
    from xlit_jax.models.mt5 import count_params
    from xlit_jax.partitioning import Partitioner
    from xlit_jax.trainer import Trainer

    config = mt5_config(size, args.dtype, remat)
    device = jax.devices()[0]
    row = {"model": size, "remat": remat, "batch_size": args.batch_size, "dtype": args.dtype,
           "device": getattr(device, "device_kind", str(device))}
    try:
        trainer = Trainer(config, optimizer=optimizers.adafactor(learning_rate=1e-3),
                          partitioner=Partitioner(devices=[device]))
        state = trainer.init_state(jax.random.key(0))
        batch = trainer.make_global_batch(packed_batch(args.batch_size, args.input_length, args.target_length,
                                                       config.vocab_size))
        start = time.perf_counter()
        for _ in range(args.warmup_steps):
            state, metrics = trainer.train_step(state, batch)
        float(metrics["loss"])
        row["warmup_s"] = time.perf_counter() - start
        times = []
        for _ in range(args.steps):
            start = time.perf_counter()
            state, metrics = trainer.train_step(state, batch)
            float(metrics["loss"])  # synchronises
            times.append(time.perf_counter() - start)
    except Exception as error:  # e.g. out of memory for one remat policy: report it, go on with the rest
        row["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        return row
    step = statistics.median(times)
    flops_per_step = flops.train_flops_per_sequence(config, args.input_length, args.target_length) * args.batch_size
    peak = args.peak_flops or flops.peak_flops_per_device(device)
    row.update(num_params=count_params(state.params), step_s=step, step_times_s=times,
               tokens_per_s=args.batch_size * (args.input_length + args.target_length) / step,
               model_tflops_per_step=flops_per_step / 1e12, model_tflops_per_s=flops_per_step / step / 1e12,
               peak_tflops=peak / 1e12 if peak else None,
               mfu=flops.mfu(flops_per_step, step, peak) if peak else None, final_loss=float(metrics["loss"]),
               param_dtype=str(jax.tree.leaves(state.params)[0].dtype))
    return row


def main(argv=None) -> dict:
    args = parse_args(argv)
    import jax

    load_before = load_average()
    rows = [run_one(size, remat, args) for size in args.models.split(",") for remat in args.remat.split(",")]
    print(f"training {args.dtype} compute, float32 params, Adafactor; packed {args.batch_size} x "
          f"({args.input_length} + {args.target_length}) tokens; median of {args.steps} steps; "
          f"device {rows[0]['device']} ({jax.default_backend()})")
    print_table(["model", "remat", "step s", "tokens/s", "model TFLOP/s", "MFU", "note"],
                [[r["model"], r["remat"], r.get("step_s", "-"), r.get("tokens_per_s", "-"),
                  r.get("model_tflops_per_s", "-"), f"{r['mfu']:.1%}" if r.get("mfu") is not None else "-",
                  r.get("error", "")] for r in rows])
    facts = machine_facts()
    facts["load_average_before"] = load_before
    result = {"benchmark": "mfu", "args": vars(args), "rows": rows, "machine": facts}
    write_json(args.output, result)
    return result


if __name__ == "__main__":
    main()
