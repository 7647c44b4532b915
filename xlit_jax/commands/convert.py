"""`xlit convert`: convert mT5 checkpoints between Hugging Face, t5x and xlit formats.

    xlit convert [--from {hf,t5x,xlit,training}] --to {hf,xlit} --input PATH --output PATH
                 [--gin_file=models/mt5_small.gin] [--gin.NAME=VALUE ...] [--max_shard_gb N]

--input may be what `xlit train` wrote: a MODEL_DIR (its newest checkpoint), MODEL_DIR/checkpoints/N or
MODEL_DIR/export. --from defaults to the detected format. With a model gin file the checkpoint must fit its
MODEL_CONFIG (xlit.MT5Config bindings); without, the config comes from the checkpoint (t5x: from
the tensor shapes). Every tensor is checked; a bad checkpoint is an error naming file and tensor.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    from xlit_jax import gin_utils

    try:
        models = ", ".join(sorted(f"models/{p.name}" for p in (gin_utils.shipped_gin_dir() / "models").glob("*.gin")))
    except gin_utils.GinConfigError as error:
        models = str(error)
    parser = argparse.ArgumentParser(prog="xlit convert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=f"gin flags: --gin_file=MODEL_FILE (one of {models}), "
                                            "--gin.xlit.MT5Config.FIELD=VALUE, --gin_search_paths=a,b")
    parser.add_argument("--from", dest="source_format", choices=("hf", "t5x", "xlit", "training"), default=None,
                        help="input format (default: detected)")
    parser.add_argument("--to", dest="target_format", choices=("hf", "xlit"), required=True)
    parser.add_argument("--input", required=True, help="checkpoint directory or t5x msgpack file")
    parser.add_argument("--output", required=True, help="new directory to write")
    parser.add_argument("--max_shard_gb", type=float, default=None,
                        help="HF output: split model.safetensors into shards of at most this size")
    return parser


def _model_config(gin_flags):
    """MT5Config from the gin files/bindings, or None when none were given."""
    if not (gin_flags.gin_files or gin_flags.gin_bindings):
        return None
    import gin

    from xlit_jax import gin_utils
    from xlit_jax.models.mt5 import MT5Config

    try:
        gin_utils.parse_gin(gin_flags.gin_files, gin_flags.gin_bindings, gin_flags.gin_search_paths,
                            finalize=False)
        return MT5Config()
    finally:
        gin.clear_config()


def main(argv: list[str]) -> int:
    """Runs `xlit convert`."""
    from xlit_jax import gin_utils

    try:
        gin_flags = gin_utils.parse_flags(argv)
    except gin_utils.GinConfigError as error:
        print(f"xlit convert: {error}", file=sys.stderr)
        return 2
    args = _parser().parse_args(gin_flags.rest)
    from xlit_jax import checkpoints
    from xlit_jax.checkpoints import hf

    output = Path(args.output)
    if output.exists() and any(output.iterdir()):
        print(f"xlit convert: {output} exists and is not empty; choose a new output directory", file=sys.stderr)
        return 1
    try:
        config = _model_config(gin_flags)
        params, config = checkpoints.load_params(args.input, config, source_format=args.source_format)
        if args.target_format == "hf":
            max_bytes = int(args.max_shard_gb * 2**30) if args.max_shard_gb else None
            hf.save_hf(params, config, output, max_shard_bytes=max_bytes)
            vocabulary = checkpoints.checkpoint_vocabulary(args.input)
            if vocabulary is not None:   # transformers' T5/MT5 tokenizers read spiece.model
                import shutil

                shutil.copyfile(vocabulary, output / "spiece.model")
        else:
            checkpoints.save_xlit(params, config, output, vocabulary_path=checkpoints.checkpoint_vocabulary(args.input))
    except (checkpoints.CheckpointError, gin_utils.GinConfigError) as error:
        print(f"xlit convert: {error}", file=sys.stderr)
        return 1
    from xlit_jax.models.mt5 import count_params

    print(f"wrote {args.target_format} checkpoint {output} ({count_params(params):,} parameters; "
          f"emb_dim {config.emb_dim}, {config.num_encoder_layers}+{config.num_decoder_layers} layers, "
          f"vocab {config.vocab_size})")
    return 0
