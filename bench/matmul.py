"""Matrix-multiply throughput of JAX (XLA) and PyTorch on this backend, per dtype, side by side.

The train-step ratio against PyTorch (bench/train_throughput.py) is bounded by what each framework's
matmuls reach: this prints GFLOP/s of a jitted `a @ b` and of `torch.matmul` on the same shapes,
in float32 and bfloat16, alternating the two frameworks round by round (median of rounds). On a CPU
with AMX, PyTorch's bfloat16 matmuls go through oneDNN's AMX kernels; XLA's CPU backend does not
use them, which caps any bfloat16 JAX program against a bfloat16 PyTorch one. XLA_FLAGS in the
environment apply (recorded in the JSON), so a flag can be tried as `XLA_FLAGS=... python bench/matmul.py`.

    python bench/matmul.py --output /tmp/matmul.json
    python bench/matmul.py --tiny
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_facts import load_average, machine_facts, print_table, write_json  # noqa: E402

SHAPES = "2048x1024x4096,4096x512x1024,1024x512x32000,4096x128x256"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=SHAPES, help="comma-separated MxKxN: [M,K] @ [K,N]")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--frameworks", default="jax,torch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5, help="matmuls per timed round")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="PyTorch threads")
    parser.add_argument("--tiny", action="store_true", help="one small shape, 2 rounds (smoke test)")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.shapes, args.rounds, args.repeats = "64x32x48", 2, 2
    return args


def jax_runner(m: int, k: int, n: int, dtype: str):
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.key(0), (m, k), jnp.float32).astype(dtype)
    b = jax.random.normal(jax.random.key(1), (k, n), jnp.float32).astype(dtype)
    matmul = jax.jit(lambda x, y: x @ y)
    matmul(a, b).block_until_ready()  # compile

    def run(repeats: int) -> None:
        for _ in range(repeats):
            out = matmul(a, b)
        out.block_until_ready()
    return run


def torch_runner(m: int, k: int, n: int, dtype: str, threads: int):
    import torch

    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=generator).to(getattr(torch, dtype))
    b = torch.randn(k, n, generator=generator).to(getattr(torch, dtype))
    torch.matmul(a, b)

    def run(repeats: int) -> None:
        with torch.inference_mode():
            for _ in range(repeats):
                torch.matmul(a, b)
    return run


def main(argv=None) -> dict:
    args = parse_args(argv)
    load_before = load_average()
    frameworks = args.frameworks.split(",")
    rows = []
    for shape in args.shapes.split(","):
        m, k, n = (int(x) for x in shape.lower().split("x"))
        for dtype in args.dtypes.split(","):
            runners = {}
            if "jax" in frameworks:
                runners["jax"] = jax_runner(m, k, n, dtype)
            if "torch" in frameworks:
                runners["torch"] = torch_runner(m, k, n, dtype, args.threads)
            times: dict[str, list[float]] = {name: [] for name in runners}
            for _ in range(args.rounds):  # alternate frameworks within each round
                for name, run in runners.items():
                    start = time.perf_counter()
                    run(args.repeats)
                    times[name].append((time.perf_counter() - start) / args.repeats)
            for name, seconds in times.items():
                median = statistics.median(seconds)
                rows.append({"shape": shape, "dtype": dtype, "framework": name, "seconds": median,
                             "gflop_per_s": 2 * m * k * n / median / 1e9})
    for row in rows:
        torch_row = next((r for r in rows if r["framework"] == "torch" and r["shape"] == row["shape"]
                          and r["dtype"] == row["dtype"]), None)
        row["vs_torch"] = torch_row["seconds"] / row["seconds"] if torch_row else None
    print_table(["shape MxKxN", "dtype", "framework", "GFLOP/s", "vs torch"],
                [[r["shape"], r["dtype"], r["framework"], r["gflop_per_s"],
                  r["vs_torch"] if r["vs_torch"] is not None else "-"] for r in rows])
    facts = machine_facts()
    facts["load_average_before"] = load_before
    result = {"benchmark": "matmul", "args": vars(args), "rows": rows, "machine": facts}
    print(f"load average before {load_before}, after {facts['load_average']}; XLA_FLAGS={facts['xla_flags']!r}")
    write_json(args.output, result)
    return result


if __name__ == "__main__":
    main()
