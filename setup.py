"""xlit: cross-lingual instruction tuning of mT5-style models in JAX."""
from pathlib import Path

from setuptools import find_packages, setup

# The core library (xlit_jax) trains from pre-tokenized data without TensorFlow.
CORE = [
    "jax>=0.10.2,<0.12",
    "jaxlib>=0.10.2,<0.12",
    "flax>=0.12,<0.14",
    "optax>=0.2.5,<0.3",
    "orbax-checkpoint>=0.11,<0.13",
    "numpy>=1.26,<3",
    "gin-config>=0.5,<0.6",
    "msgpack>=1.0,<2",
    "tensorstore>=0.1.70,<0.2",
    "safetensors>=0.4,<0.9",
    "sentencepiece>=0.2,<0.3",
    "jinja2>=3.1,<4",
    "pyyaml>=6,<7",
    "tqdm>=4.66,<5",
    "tensorboardX>=2.6,<3",
    "matplotlib>=3.8,<4",
    "rouge-score>=0.1.2,<0.2",
    "sacrebleu>=2.4,<3",
    "kiwipiepy>=0.20,<0.25",
    "grain>=0.2.18,<0.3",          # TF-free reader of the pre-tokenized cache (xlit.RecordData)
    "array-record>=0.8,<0.9",
    "scikit-learn>=1.4,<2",        # character n-gram TF-IDF of `xlit select` (xlit_jax.embeddings)
]
# The task registry: seqio on TensorFlow. tensorflow-text depends on the package
# named `tensorflow`; never add tensorflow-cpu beside it (two copies, one folder).
SEQIO = [
    "seqio==0.0.20",
    "tensorflow>=2.21,<2.22",
    "tensorflow-text>=2.21,<2.22",
    "tensorflow-datasets>=4.9,<5",
]
# The distributed cache job (`xlit cache --runner DataflowRunner|FlinkRunner|SparkRunner`).
# Not in "all": apache-beam 2.77 caps protobuf<7, and sentencepiece 0.2.x's generated model proto needs the
# protobuf 7 runtime (with protobuf 6 it fails at import: "gencode 7.36.1 runtime 6.33.6", measured here).
# `xlit cache` runs the same shard function in process without Beam.
BEAM = ["apache-beam>=2.77,<3"]
# The PyTorch reference for parity tests and the throughput benchmark.
TORCH = ["torch==2.13.0", "transformers>=4.57,<6"]
TEST = ["pytest>=8,<10", "pytest-xdist>=3.5,<4", "nbclient>=0.10,<0.11", "nbformat>=5.10,<6", "ipykernel>=6.29,<8"]

# The shipped gin configs: gin/ and its role folders (models, runs, eval, experiments).
GIN_PACKAGES = ["xlit_gin"] + [f"xlit_gin.{d.name}" for d in sorted(Path(__file__).parent.joinpath("gin").iterdir())
                               if d.is_dir() and any(d.glob("*.gin"))]

setup(
    name="xlit",
    version="0.1.0",
    description="Cross-lingual instruction tuning of mT5 models in JAX (t5x-compatible).",
    # gin/ stays at the top of the repository and is installed as the package `xlit_gin` (configs
    # only, no Python): `xlit_jax.gin_utils` finds it through the installed package from any directory.
    packages=find_packages(include=["xlit_jax", "xlit_jax.*", "seqio_tasks", "seqio_tasks.*"]) + GIN_PACKAGES,
    package_dir={"xlit_gin": "gin"},
    package_data={
        "seqio_tasks": ["templates/*.yaml", "taxonomy/*.yaml", "demo/*.jsonl"],
        **{package: ["*.gin"] for package in GIN_PACKAGES},
    },
    include_package_data=False,
    python_requires=">=3.11",
    install_requires=CORE,
    extras_require={
        "seqio": SEQIO,
        "beam": SEQIO + BEAM,
        "torch": TORCH,
        "test": TEST,
        "all": SEQIO + TORCH + TEST,
    },
    entry_points={"console_scripts": ["xlit=xlit_jax.cli:main"]},
)
