"""Helpers for the training tests: a tiny sentencepiece vocab + seqio task, and synthetic caches."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
         "upsilon phi chi psi omega red green blue cat dog bird fish tree stone river cloud").split()


def tiny_sentences(count: int, seed: int = 0) -> list[str]:
    """Deterministic short word sequences."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))) for _ in range(count)]


def train_tiny_vocab(directory: Path, vocab_size: int = 300) -> Path:
    """A sentencepiece model trained in well under a second; returns the .model path."""
    import sentencepiece as spm

    directory.mkdir(parents=True, exist_ok=True)
    prefix = directory / "tiny_sp"
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(tiny_sentences(2000)), model_prefix=str(prefix), vocab_size=vocab_size,
        model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1, hard_vocab_limit=False,
        minloglevel=2,
    )
    return Path(str(prefix) + ".model")


def register_tiny_task(name: str, vocab_path: Path, num_examples: int = 64):
    """A seqio Task over generated (inputs, targets = inputs reversed) text, splits train/validation."""
    import seqio
    import tensorflow as tf

    def dataset_fn(split: str, shuffle_files: bool, seed=None):  # noqa: ARG001
        sentences = tiny_sentences(num_examples, seed=0 if split == "train" else 1)
        targets = [" ".join(reversed(s.split())) for s in sentences]
        return tf.data.Dataset.from_tensor_slices({"inputs": sentences, "targets": targets})

    vocabulary = seqio.SentencePieceVocabulary(str(vocab_path))
    features = {
        "inputs": seqio.Feature(vocabulary, add_eos=True),
        "targets": seqio.Feature(vocabulary, add_eos=True),
    }
    if name in seqio.TaskRegistry.names():
        seqio.TaskRegistry.remove(name)
    return seqio.TaskRegistry.add(
        name,
        source=seqio.FunctionDataSource(dataset_fn, splits=["train", "validation"]),
        preprocessors=[seqio.preprocessors.tokenize, seqio.preprocessors.append_eos_after_trim],
        output_features=features,
    )


def synthetic_rows(num_rows: int, lengths: dict, vocab_size: int = 300, seed: int = 0):
    """Unpacked encoder-decoder rows where the target is the first tokens of the input reversed."""
    rng = np.random.default_rng(seed)
    for _ in range(num_rows):
        n = int(rng.integers(3, lengths["inputs"]))
        inputs = rng.integers(3, vocab_size, size=n)
        inputs[-1] = 1
        m = min(n, lengths["targets"])
        targets = np.concatenate([inputs[: m - 1][::-1], [1]])
        row_inputs = np.zeros(lengths["inputs"], np.int32)
        row_inputs[:n] = inputs
        row_targets = np.zeros(lengths["targets"], np.int32)
        row_targets[:m] = targets
        decoder_inputs = np.concatenate([[0], row_targets[:-1]]).astype(np.int32)
        yield {
            "encoder_input_tokens": row_inputs,
            "decoder_target_tokens": row_targets,
            "decoder_input_tokens": decoder_inputs,
            "decoder_loss_weights": (row_targets > 0).astype(np.int32),
        }


def write_synthetic_records(directory: Path, num_rows: int = 64, lengths: dict | None = None, seed: int = 0) -> Path:
    """An unpacked ArrayRecord cache (what finetune_cached.gin reads) of synthetic rows, no vocabulary recorded."""
    from xlit_jax.data.records import write_records

    lengths = lengths or {"inputs": 16, "targets": 8}
    write_records(synthetic_rows(num_rows, lengths, seed=seed), directory, lengths, pack=False, overwrite=True)
    return directory


# --- Training runs in subprocesses, with TensorFlow and seqio blocked ---------------------------

TF_BLOCKED_CLI = (
    "import sys; sys.modules['tensorflow'] = None; sys.modules['seqio'] = None\n"
    "from xlit_jax.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)

TINY_MODEL_GIN = """
MODEL_CONFIG = @xlit.MT5Config()
xlit.MT5Config:
  vocab_size = 300
  emb_dim = 32
  num_heads = 2
  head_dim = 16
  mlp_dim = 64
  num_encoder_layers = 2
  num_decoder_layers = 2
"""


def write_tiny_run_gin(path: Path, cache_dir: Path, extra: str = "") -> Path:
    """A gin file: finetune_cached.gin + a tiny model + small batch, frequent checkpoints, dropout on
    (the cache's lengths are write_synthetic_records' defaults; `extra` may rebind them)."""
    path.write_text(
        "include 'runs/finetune_cached.gin'\n" + TINY_MODEL_GIN
        + f"CACHED_DATA_DIR = '{cache_dir}'\nBATCH_SIZE = 8\nCHECKPOINT_PERIOD = 4\nDROPOUT_RATE = 0.1\n"
        + "RANDOM_SEED = 5\nTASK_FEATURE_LENGTHS = {'inputs': 16, 'targets': 8}\n" + extra
    )
    return path


def subprocess_env(num_devices: int = 1) -> dict:
    """Environment for a CPU training subprocess with `num_devices` fake devices."""
    import os

    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={num_devices}"
    env["JAX_PLATFORMS"] = "cpu"
    return env


def train_command(*args: str) -> list[str]:
    """`xlit train ARGS` run by a Python where `import tensorflow` / `import seqio` fail."""
    import sys

    return [sys.executable, "-c", TF_BLOCKED_CLI, "train", *args]


def losses_by_step(model_dir: Path) -> dict[int, float]:
    """step -> loss from MODEL_DIR/train_metrics.jsonl; fails on a duplicated step."""
    from xlit_jax.metrics_writer import read_jsonl

    losses: dict[int, float] = {}
    for record in read_jsonl(Path(model_dir) / "train_metrics.jsonl"):
        assert record["step"] not in losses, f"step {record['step']} written twice"
        losses[record["step"]] = record["loss"]
    return losses
