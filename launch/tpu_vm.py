#!/usr/bin/env python3
"""Run `xlit train` on a Cloud TPU VM or pod slice: create, install on all workers, train,
stream logs, copy results back, delete. `--dry_run` prints the exact gcloud commands.

Example:
  python launch/tpu_vm.py --name xlit-v4-64 --zone us-central2-b --accelerator_type v4-64 \
      --model_dir gs://my-bucket/xlit/korani_xl --gin_file gin/models/mt5_xl.gin \
      --gin_file gin/experiments/korani_tuned.gin --gin TRAIN_STEPS=10000 --dry_run
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_train_flags, check_gin_files, execute, shell_line, train_words  # noqa: E402


def build_commands(args: argparse.Namespace) -> list[list[str]]:
    """The gcloud commands, in order, for one TPU training run."""
    tpu = ["gcloud", "compute", "tpus", "tpu-vm"]
    where = [f"--zone={args.zone}"] + ([f"--project={args.project}"] if args.project else [])
    ssh_all = tpu + ["ssh", args.name, *where, "--worker=all", "--command"]
    archive = args.archive
    install = ("set -e; rm -rf xlit && mkdir xlit && tar -xzf xlit.tar.gz -C xlit && cd xlit && "
               "python3 -m pip install -U pip && python3 -m pip install 'jax[tpu]' && "
               "python3 -m pip install -e '.[seqio]'")
    env = {"XLIT_DATA_DIR": args.data_dir} if args.data_dir else {}
    train = f"cd xlit && {shell_line(train_words(args), env)} 2>&1 | tee -a $HOME/xlit_train.log"
    # The checkout being launched is what every worker runs: committed files at HEAD.
    commands = [["git", "archive", "--format=tar.gz", "-o", archive, "HEAD"]]
    if not args.reuse:
        create = tpu + ["create", args.name, *where, f"--accelerator-type={args.accelerator_type}",
                        f"--version={args.runtime_version}"]
        if args.spot:
            create.append("--spot")
        commands.append(create)
    commands += [tpu + ["scp", archive, f"{args.name}:xlit.tar.gz", *where, "--worker=all"],
                 ssh_all + [install], ssh_all + [train]]
    if args.results_dir:
        commands.append(["gcloud", "storage", "rsync", "--recursive", args.model_dir, args.results_dir])
    if not args.keep:
        commands.append(tpu + ["delete", args.name, *where, "--quiet"])
    return commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="TPU VM name")
    parser.add_argument("--zone", required=True)
    parser.add_argument("--project", default=None)
    parser.add_argument("--accelerator_type", default="v4-8", help="e.g. v4-8, v4-64, v5litepod-16, v5p-128")
    parser.add_argument("--runtime_version", default="tpu-ubuntu2204-base")
    parser.add_argument("--archive", default="/tmp/xlit.tar.gz", help="where the checkout is packed before copying")
    parser.add_argument("--data_dir", default=None, help="XLIT_DATA_DIR on the workers (e.g. a gcsfuse mount)")
    parser.add_argument("--results_dir", default=None, help="local directory to copy MODEL_DIR into at the end")
    parser.add_argument("--spot", action="store_true", help="create a Spot (preemptible) VM; xlit resumes on restart")
    parser.add_argument("--reuse", action="store_true", help="use an existing TPU VM (skip create)")
    parser.add_argument("--keep", action="store_true", help="do not delete the TPU VM at the end")
    add_train_flags(parser)
    args = parser.parse_args(argv)
    check_gin_files(parser, args)
    return execute(build_commands(args), args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
