"""Train-step throughput of xlit (JAX) against Hugging Face transformers' PyTorch MT5 on CPU.

Both train the same mT5-style model (gated-GELU, untied output layer, relative position bias,
no dropout) on the same random batches with Adafactor (t5x settings on the xlit side; the
transformers Adafactor with a fixed learning rate, parameter scaling, clipping 1.0 and decay
exponent 0.8 on the PyTorch side), the same number of threads, in each precision asked for, like
with like: float32 against float32, and bfloat16 compute with float32 parameters and optimizer
state (xlit's MT5Config.dtype) against PyTorch's bfloat16 autocast. Rounds alternate between the
two frameworks; warmup steps (and JAX compilation) are excluded; medians are reported. The JSON
records the load average before and after: a figure taken on a loaded machine is not a result.

    python bench/train_throughput.py --output /tmp/train_throughput.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emb_dim", type=int, default=512)
    parser.add_argument("--num_heads", type=int, default=8)
    parser.add_argument("--head_dim", type=int, default=64)
    parser.add_argument("--mlp_dim", type=int, default=1024)
    parser.add_argument("--num_layers", type=int, default=4, help="encoder layers = decoder layers")
    parser.add_argument("--vocab_size", type=int, default=32000)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--input_length", type=int, default=128)
    parser.add_argument("--target_length", type=int, default=32)
    parser.add_argument("--optimizer", choices=("adafactor", "adamw"), default="adafactor")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps_per_round", type=int, default=5)
    parser.add_argument("--warmup_steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--frameworks", default="xlit,torch")
    parser.add_argument("--precisions", default="float32,bfloat16",
                        help="comma list: float32 (both fp32), bfloat16 (xlit bf16 compute vs torch bf16 autocast)")
    parser.add_argument("--tiny", action="store_true", help="a tiny model and 1 round of 1 step (smoke test)")
    parser.add_argument("--output", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.tiny:
        args.emb_dim, args.num_heads, args.head_dim, args.mlp_dim, args.num_layers, args.vocab_size = 32, 2, 8, 64, 1, 256
        args.batch_size, args.input_length, args.target_length = 2, 16, 8
        args.rounds, args.steps_per_round, args.warmup_steps = 1, 1, 1
    return args


def make_batches(args: argparse.Namespace, count: int, seed: int = 0) -> list[dict]:
    """Random t5x-feature batches with some padding in inputs and targets."""
    import numpy as np

    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        b, n, t = args.batch_size, args.input_length, args.target_length
        enc = rng.integers(3, args.vocab_size, size=(b, n)).astype(np.int32)
        tgt = rng.integers(3, args.vocab_size, size=(b, t)).astype(np.int32)
        for row in range(b):
            enc[row, rng.integers(n // 2, n + 1):] = 0
            tgt[row, rng.integers(t // 2, t + 1):] = 0
        dec_in = np.concatenate([np.zeros((b, 1), np.int32), tgt[:, :-1]], axis=1)
        batches.append({"encoder_input_tokens": enc, "decoder_input_tokens": dec_in, "decoder_target_tokens": tgt,
                        "decoder_loss_weights": (tgt > 0).astype(np.int32)})
    return batches


class XlitRunner:
    """xlit Trainer on one CPU device."""

    name = "xlit (JAX)"

    def __init__(self, args: argparse.Namespace, batches: list[dict], precision: str = "float32"):
        import jax

        from xlit_jax import optimizers
        from xlit_jax.models.mt5 import MT5Config
        from xlit_jax.partitioning import Partitioner
        from xlit_jax.trainer import Trainer

        self.jax = jax
        self.config = MT5Config(vocab_size=args.vocab_size, emb_dim=args.emb_dim, num_heads=args.num_heads,
                                head_dim=args.head_dim, mlp_dim=args.mlp_dim, num_encoder_layers=args.num_layers,
                                num_decoder_layers=args.num_layers, dropout_rate=0.0, dtype=precision)
        optimizer = (optimizers.adafactor(learning_rate=1e-3) if args.optimizer == "adafactor"
                     else optimizers.adamw(learning_rate=1e-4))
        self.trainer = Trainer(self.config, optimizer=optimizer, partitioner=Partitioner(devices=jax.devices()[:1]))
        self.state = self.trainer.init_state(jax.random.PRNGKey(0))
        self.batches = [self.trainer.make_global_batch(b) for b in batches]
        self.i = 0
        self.last_loss = None

    def step(self) -> None:
        self.state, metrics = self.trainer.train_step(self.state, self.batches[self.i % len(self.batches)])
        self.i += 1
        self.last_loss = metrics["loss"]

    def sync(self) -> float:
        return float(self.last_loss)


class TorchRunner:
    """transformers.MT5ForConditionalGeneration with the same shapes."""

    name = "transformers (PyTorch)"

    def __init__(self, args: argparse.Namespace, batches: list[dict], precision: str = "float32"):
        import contextlib

        import torch
        import transformers
        from transformers.optimization import Adafactor

        self.torch = torch
        # bfloat16: autocast runs matmuls in bf16, parameters and optimizer state stay float32
        self.autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "bfloat16" else (
            contextlib.nullcontext)
        torch.manual_seed(0)
        config = transformers.MT5Config(
            vocab_size=args.vocab_size, d_model=args.emb_dim, d_kv=args.head_dim, d_ff=args.mlp_dim,
            num_layers=args.num_layers, num_decoder_layers=args.num_layers, num_heads=args.num_heads,
            feed_forward_proj="gated-gelu", dropout_rate=0.0, tie_word_embeddings=False,
            relative_attention_num_buckets=32, relative_attention_max_distance=128)
        config.tie_word_embeddings = False  # transformers 5.x re-ties after construction
        self.model = transformers.MT5ForConditionalGeneration(config).train()
        if args.optimizer == "adafactor":
            self.optimizer = Adafactor(self.model.parameters(), lr=1e-3, scale_parameter=True, relative_step=False,
                                       warmup_init=False, clip_threshold=1.0, decay_rate=-0.8, eps=(1e-30, 1e-3))
        else:
            self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4, weight_decay=0.0)
        self.batches = []
        for b in batches:
            labels = torch.from_numpy(b["decoder_target_tokens"]).long()
            self.batches.append({
                "input_ids": torch.from_numpy(b["encoder_input_tokens"]).long(),
                "attention_mask": torch.from_numpy((b["encoder_input_tokens"] > 0).astype("int64")),
                "decoder_input_ids": torch.from_numpy(b["decoder_input_tokens"]).long(),
                "decoder_attention_mask": torch.from_numpy((b["decoder_target_tokens"] > 0).astype("int64")),
                "labels": labels.masked_fill(labels == 0, -100),
            })
        self.i = 0
        self.last_loss = None

    def step(self) -> None:
        batch = self.batches[self.i % len(self.batches)]
        self.i += 1
        with self.autocast():
            loss = self.model(**batch).loss
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.last_loss = loss.detach()

    def sync(self) -> float:
        return float(self.last_loss)


def time_round(runner, steps: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) per step over `steps` steps (results synced at the end)."""
    runner.sync()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(steps):
        runner.step()
    runner.sync()
    return (time.perf_counter() - start) / steps, (time.process_time() - cpu_start) / steps


def run_precision(args: argparse.Namespace, precision: str, batches: list[dict]) -> list[dict]:
    """Both frameworks in one precision, rounds alternating; one row per framework."""
    tokens_per_step = args.batch_size * (args.input_length + args.target_length)
    runners = []
    for name in args.frameworks.split(","):
        start = time.perf_counter()
        runner = {"xlit": XlitRunner, "torch": TorchRunner}[name](args, batches, precision)
        for _ in range(args.warmup_steps):
            runner.step()
        runner.sync()
        print(f"{runner.name} {precision}: setup + {args.warmup_steps} warmup steps "
              f"{time.perf_counter() - start:.1f}s", flush=True)
        runners.append(runner)
    seconds = {r.name: [] for r in runners}
    cpu_seconds = {r.name: [] for r in runners}
    for round_index in range(args.rounds):
        for runner in (runners if round_index % 2 == 0 else runners[::-1]):
            wall, cpu = time_round(runner, args.steps_per_round)
            seconds[runner.name].append(wall)
            cpu_seconds[runner.name].append(cpu)
    rows = []
    for runner in runners:
        median = statistics.median(seconds[runner.name])
        rows.append({"precision": precision, "framework": runner.name, "median_step_seconds": median,
                     "median_step_cpu_seconds": statistics.median(cpu_seconds[runner.name]),
                     "tokens_per_second": tokens_per_step / median, "round_step_seconds": seconds[runner.name],
                     "round_step_cpu_seconds": cpu_seconds[runner.name], "final_loss": runner.sync()})
    return rows


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    # XLA CPU flushes denormals to zero; without this, Adafactor's 1e-30 epsilon leaves denormal
    # statistics that make every PyTorch float op on them many times slower.
    torch.set_flush_denormal(True)
    load_before = _load_average()
    batches = make_batches(args, 4)
    rows = [row for precision in args.precisions.split(",") for row in run_precision(args, precision, batches)]
    load_after = _load_average()
    import jax

    from xlit_jax import flops
    from xlit_jax.models.mt5 import MT5Config, count_params, param_shapes

    config = MT5Config(vocab_size=args.vocab_size, emb_dim=args.emb_dim, num_heads=args.num_heads,
                       head_dim=args.head_dim, mlp_dim=args.mlp_dim, num_encoder_layers=args.num_layers,
                       num_decoder_layers=args.num_layers)
    flops_per_step = flops.train_flops_per_sequence(config, args.input_length, args.target_length) * args.batch_size
    print(f"\nmodel: emb_dim {args.emb_dim}, {args.num_layers}+{args.num_layers} layers, heads {args.num_heads}x"
          f"{args.head_dim}, mlp {args.mlp_dim}, vocab {args.vocab_size}, {count_params(param_shapes(config)) / 1e6:.1f}M "
          f"params; batch {args.batch_size} x ({args.input_length} + {args.target_length}) tokens; "
          f"{args.optimizer}; {args.threads} threads; {args.rounds} rounds x {args.steps_per_round} steps; "
          f"load average before {load_before}, after {load_after}")
    print(f"{'precision':<10}{'framework':<26}{'step (ms)':>12}{'tokens/s':>12}{'GFLOP/s':>10}{'vs torch':>10}"
          f"{'CPU ms/step':>13}{'vs torch (CPU)':>16}")
    for row in rows:
        base = next((r for r in rows if "PyTorch" in r["framework"] and r["precision"] == row["precision"]), None)
        ratio = base["median_step_seconds"] / row["median_step_seconds"] if base else float("nan")
        cpu_ratio = base["median_step_cpu_seconds"] / row["median_step_cpu_seconds"] if base else float("nan")
        row["speedup_vs_torch"] = ratio
        row["cpu_time_speedup_vs_torch"] = cpu_ratio
        row["model_gflops_per_second"] = flops_per_step / row["median_step_seconds"] / 1e9
        print(f"{row['precision']:<10}{row['framework']:<26}{row['median_step_seconds'] * 1e3:>12.1f}"
              f"{row['tokens_per_second']:>12.0f}{row['model_gflops_per_second']:>10.1f}{ratio:>10.2f}"
              f"{row['median_step_cpu_seconds'] * 1e3:>13.0f}{cpu_ratio:>16.2f}")
    print("(CPU ms/step: process CPU time of all threads; robust when other jobs share the cores)")
    result = {"benchmark": "train_throughput", "args": vars(args), "rows": rows,
              "model_flops_per_step": flops_per_step,
              "environment": {"python": platform.python_version(), "jax": jax.__version__,
                              "torch": torch.__version__, "cpu_count": os.cpu_count(),
                              "xla_flags": os.environ.get("XLA_FLAGS", ""), "machine": platform.machine(),
                              "backend": jax.default_backend(), "load_average_before": load_before,
                              "load_average_after": load_after}}
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.output}")
    return 0


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
