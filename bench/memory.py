"""Compile-time memory of the train step for an mT5 size on one device, with and without remat.

The train step (forward, backward, Adafactor update; bf16 compute, float32 parameters and
optimizer state; packed input/target lengths) is lowered and compiled for abstract inputs only
(jax.ShapeDtypeStruct: no weights are allocated) and XLA's memory analysis is printed beside
the arithmetic of docs/training_at_scale.md (parameters, gradients, optimizer state,
activations). On the CPU backend it is an estimate of what a GPU/TPU compile would need: buffer
assignment differs per backend. Prints a table and writes JSON (machine facts, load average).

    python bench/memory.py --model xl --output /tmp/memory.json
    python bench/memory.py --tiny
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_facts import load_average, machine_facts, print_table, write_json  # noqa: E402
from mfu import mt5_config  # noqa: E402

GIB = 2 ** 30


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="xl", help="tiny, small, base, large, xl, xxl")
    parser.add_argument("--remat", default="none,full", help="comma list of remat policies")
    parser.add_argument("--batch_size", type=int, default=1, help="packed rows per step on the device")
    parser.add_argument("--input_length", type=int, default=1024)
    parser.add_argument("--target_length", type=int, default=256)
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--device_memory_gib", type=float, default=80.0, help="the device the estimate is for")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.tiny:
        args.model, args.input_length, args.target_length, args.batch_size = "tiny", 64, 16, 2
    return args


def arithmetic(config, args) -> dict:
    """The docs' estimate in GiB: params, gradients (float32), Adafactor state, activations, logits."""
    import jax
    import numpy as np

    from xlit_jax import optimizers
    from xlit_jax.models import mt5

    shapes = mt5.param_shapes(config)
    num_params = mt5.count_params(shapes)
    optimizer = optimizers.adafactor(learning_rate=1e-3, param_logical_axes=mt5.param_logical_axes(config))
    state_values = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(jax.eval_shape(optimizer.init, shapes)))
    L, T, D, F = args.input_length, args.target_length, config.emb_dim, config.mlp_dim
    bytes_per = 2 if config.dtype == "bfloat16" else 4
    # activations kept for the backward pass per layer (no remat): residual inputs, q/k/v/out,
    # attention weights, MLP hidden; a rough count in the style of the docs' table
    heads = config.num_heads
    per_encoder_layer = L * (6 * D + 3 * F) * bytes_per + heads * L * L * (4 + bytes_per)
    per_decoder_layer = T * (10 * D + 3 * F) * bytes_per + heads * (T * T + T * L) * (4 + bytes_per) + 2 * L * D * bytes_per
    activations = args.batch_size * (config.num_encoder_layers * per_encoder_layer
                                     + config.num_decoder_layers * per_decoder_layer)
    remat_full = args.batch_size * (config.num_encoder_layers * L + config.num_decoder_layers * T) * D * bytes_per
    logits = args.batch_size * T * config.vocab_size * 4 * 2  # float32 logits and their gradient
    return {"num_params": num_params, "params_gib": 4 * num_params / GIB, "gradients_gib": 4 * num_params / GIB,
            "optimizer_state_gib": 4 * state_values / GIB, "activations_no_remat_gib": activations / GIB,
            "activations_full_remat_gib": remat_full / GIB, "logits_gib": logits / GIB}


def compiled_memory(config, args) -> dict:
    """XLA's memory analysis of the compiled train step for abstract inputs."""
    import jax
    import numpy as np

    from xlit_jax import optimizers
    from xlit_jax.partitioning import Partitioner
    from xlit_jax.trainer import Trainer

    trainer = Trainer(config, optimizer=optimizers.adafactor(learning_rate=1e-3),
                      partitioner=Partitioner(devices=jax.devices()[:1]))
    state = trainer.abstract_state()
    batch_sharding = trainer.partitioner.batch_sharding()
    shapes = {"encoder_input_tokens": args.input_length, "encoder_segment_ids": args.input_length,
              "encoder_positions": args.input_length, "decoder_input_tokens": args.target_length,
              "decoder_target_tokens": args.target_length, "decoder_segment_ids": args.target_length,
              "decoder_positions": args.target_length, "decoder_loss_weights": args.target_length}
    batch = {name: jax.ShapeDtypeStruct((args.batch_size, n), np.int32, sharding=batch_sharding)
             for name, n in shapes.items()}
    step = jax.jit(trainer._train_step, in_shardings=(trainer.state_shardings(), batch_sharding),
                   out_shardings=(trainer.state_shardings(), trainer.partitioner.replicated()), donate_argnums=(0,))
    start = time.perf_counter()
    with jax.set_mesh(trainer.partitioner.mesh), trainer.partitioner.axis_rules_context():
        compiled = step.lower(state, batch).compile()
    seconds = time.perf_counter() - start
    analysis = compiled.memory_analysis()
    out = {"compile_s": seconds}
    for name in ("argument_size_in_bytes", "output_size_in_bytes", "alias_size_in_bytes", "temp_size_in_bytes",
                 "generated_code_size_in_bytes"):
        out[name.replace("_in_bytes", "_gib")] = getattr(analysis, name, 0) / GIB
    # donated state aliases the outputs: peak ~ arguments + outputs - aliased + temporaries
    out["peak_gib"] = (out["argument_size_gib"] + out["output_size_gib"] - out["alias_size_gib"]
                       + out["temp_size_gib"])
    return out


def main(argv=None) -> dict:
    args = parse_args(argv)
    import jax
    import resource

    load_before = load_average()
    rows = []
    for remat in args.remat.split(","):
        config = mt5_config(args.model, args.dtype, remat)
        row = {"model": args.model, "remat": remat, **arithmetic(config, args), **compiled_memory(config, args)}
        row["docs_total_gib"] = (row["params_gib"] + row["gradients_gib"] + row["optimizer_state_gib"] + row["logits_gib"]
                                 + (row["activations_full_remat_gib"] if remat == "full" else row["activations_no_remat_gib"]))
        row["fits_device"] = row["peak_gib"] <= args.device_memory_gib
        rows.append(row)
    print(f"train step memory, mT5-{args.model} ({rows[0]['num_params'] / 1e9:.2f}B params), {args.dtype} compute, "
          f"float32 params + Adafactor; {args.batch_size} x ({args.input_length} + {args.target_length}) tokens; "
          f"compiled on {jax.default_backend()} for abstract inputs (GiB)")
    print_table(["remat", "XLA args", "XLA temp", "XLA peak", "docs: params+grads+opt", "docs: activ.+logits",
                 "docs total", f"fits {args.device_memory_gib:.0f} GB", "compile s"],
                [[r["remat"], r["argument_size_gib"], r["temp_size_gib"], r["peak_gib"],
                  r["params_gib"] + r["gradients_gib"] + r["optimizer_state_gib"],
                  (r["activations_full_remat_gib"] if r["remat"] == "full" else r["activations_no_remat_gib"])
                  + r["logits_gib"], r["docs_total_gib"], r["fits_device"], r["compile_s"]] for r in rows])
    facts = machine_facts()
    facts["load_average_before"] = load_before
    facts["max_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB
    print(f"this process's peak host memory: {facts['max_rss_gib']:.2f} GiB")
    result = {"benchmark": "memory", "args": vars(args), "rows": rows, "machine": facts}
    write_json(args.output, result)
    return result


if __name__ == "__main__":
    main()
