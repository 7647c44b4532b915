#!/usr/bin/env python3
"""Multi-node GPU training under SLURM: writes an sbatch script that starts one `xlit train`
process per node (all local GPUs each), with the JAX coordinator on the first node, and
submits it. `--dry_run` prints the script and the sbatch command without submitting.

Example:
  python launch/slurm.py --nodes 4 --gpus_per_node 8 --partition gpu --model_dir /shared/xlit/xl \
      --gin_file gin/models/mt5_xl.gin --gin_file gin/experiments/bilingual_tuned.gin --dry_run
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_train_flags, check_gin_files, execute, shell_line, train_words  # noqa: E402
from gpu_node import GPU_XLA_FLAGS  # noqa: E402


def sbatch_script(args: argparse.Namespace) -> str:
    """The batch script: one task per node; process id and coordinator from SLURM's variables."""
    env = {"XLA_FLAGS": GPU_XLA_FLAGS}
    if args.data_dir:
        env["XLIT_DATA_DIR"] = args.data_dir
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={args.job_name}",
        f"#SBATCH --nodes={args.nodes}",
        "#SBATCH --ntasks-per-node=1",
        f"#SBATCH --gpus-per-node={args.gpus_per_node}",
        f"#SBATCH --time={args.time}",
        f"#SBATCH --output={args.log_dir}/%x-%j.out",
    ]
    if args.partition:
        lines.append(f"#SBATCH --partition={args.partition}")
    lines += [
        "set -euo pipefail",
        'head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        f'export XLIT_COORDINATOR_ADDRESS="$head_node:{args.port}"',
        'export XLIT_NUM_PROCESSES="$SLURM_NNODES"',
        # SLURM_PROCID differs per task, so each task's own shell reads it before exec'ing the trainer.
        "srun bash -c 'export XLIT_PROCESS_ID=$SLURM_PROCID; exec \"$@\"' _ " + shell_line(["env", *(f"{k}={v}" for k, v in env.items()), *train_words(args)]),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--gpus_per_node", type=int, default=8)
    parser.add_argument("--partition", default=None)
    parser.add_argument("--time", default="24:00:00")
    parser.add_argument("--job_name", default="xlit")
    parser.add_argument("--port", type=int, default=12355)
    parser.add_argument("--log_dir", default="slurm_logs")
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--script", default="xlit_train.sbatch", help="where the batch script is written")
    add_train_flags(parser)
    args = parser.parse_args(argv)
    check_gin_files(parser, args)
    script = sbatch_script(args)
    if args.dry_run:
        print(f"# {args.script}\n{script}")
    else:
        Path(args.script).write_text(script)
        Path(args.log_dir).mkdir(parents=True, exist_ok=True)
    return execute([["sbatch", args.script]], args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
