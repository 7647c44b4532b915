"""The one place that wires the registry (seqio_tasks) to the core (xlit_jax).

Every command that reads gin configs goes through here, in this order:

1. `import_configurables()`: the ONE list of modules whose gin configurables the shipped configs
   name, core and registry alike, imported before any gin file is parsed;
2. `gin_utils.parse_gin(..., finalize=False)`: the user's files and bindings;
3. `prepare_registry()`: the run's vocabulary is checked (readable, fits the model), then the
   built-in tasks and mixtures are registered once, explicitly, for that vocabulary;
4. `gin_utils.finalize_gin()`: gin locks; nothing is registered or declared after this point.

The core never imports `seqio_tasks`; the shipped gin files hand it the registry's functions
(`@xlit.registry_eval_tasks`, `@xlit.vocabulary_path()`), and this module makes sure they exist.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from xlit_jax import gin_utils

# Modules declaring the gin configurables that gin/ files bind. One list for every command.
CONFIGURABLE_MODULES = (
    "xlit_jax.models.mt5",
    "xlit_jax.partitioning",
    "xlit_jax.optimizers",
    "xlit_jax.trainer",
    "xlit_jax.train_loop",
    "xlit_jax.data.seqio_input",
    "xlit_jax.data.records",
    "xlit_jax.evaluator",
    "xlit_jax.train_evaluator",
    "seqio_tasks.paths",
    "seqio_tasks.vocab",
    "seqio_tasks.eval_data",
    "seqio_tasks.mixtures",
    "seqio_tasks.experiments",
    "seqio_tasks.validation",
    "seqio_tasks.epochs",
    "seqio_tasks.selection",
)


class SetupError(ValueError):
    """The run cannot start: the message is one line that says what to change."""


def quiet(verbose: bool) -> None:
    """Silence TensorFlow/absl/gin start-up noise unless --verbose (call before TF is imported)."""
    if verbose:
        return
    _QUIET["on"] = True
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    import logging
    import warnings

    logging.getLogger().setLevel(logging.WARNING)
    for name in ("absl", "tensorflow", "jax._src.xla_bridge", "orbax", "seqio"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    gin_utils.quiet_gin_search()


_QUIET = {"on": False}


@contextlib.contextmanager
def native_stderr_silenced():
    """While quiet: send file descriptor 2 to /dev/null (TensorFlow's C++ start-up banners bypass Python logging)."""
    if not _QUIET["on"]:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow, tensorflow-text and seqio (when installed) with their native start-up banners
    hidden unless --verbose (each extension library prints its own when first loaded)."""
    for module in ("tensorflow", "tensorflow_text", "seqio"):
        if importlib.util.find_spec(module) is None:
            continue
        with native_stderr_silenced():
            importlib.import_module(module)


def import_configurables() -> None:
    """Import every module whose gin configurables the configs use (before parsing any gin file)."""
    for module in CONFIGURABLE_MODULES:
        importlib.import_module(module)


def _uses(configurable: str) -> bool:
    return configurable in gin_utils.gin.config_str()


@dataclasses.dataclass
class RegistrySetup:
    """What `prepare_registry` found: the vocabulary and what was registered."""

    vocabulary_path: str | None
    vocabulary_size: int | None
    tasks: int = 0
    mixtures: int = 0


def vocabulary_size(path: str) -> int:
    """Pieces in a sentencepiece model; SetupError (one line) when it cannot be read here."""
    if "://" in path:
        return _remote_vocabulary_size(path)
    if not Path(path).is_file():
        raise SetupError(f"vocabulary file {path} not found (set --gin.VOCABULARY_PATH or $XLIT_VOCAB; "
                         "`xlit vocab --output spm.model` makes one)")
    from xlit_jax.tokenizer import vocabulary_size as local_vocabulary_size

    try:
        return local_vocabulary_size(path)
    except (OSError, RuntimeError) as error:
        raise SetupError(f"vocabulary {path} is not a sentencepiece model: {error}") from error


def _remote_vocabulary_size(path: str) -> int:
    """Pieces of a gs:// (or other remote) sentencepiece model read through TensorFlow's gfile."""
    import sentencepiece as spm

    advice = ("make a vocabulary offline with `xlit vocab --output spm.model` (or copy mT5's sentencepiece.model "
              "to a local file) and pass --gin.VOCABULARY_PATH=spm.model (or set $XLIT_VOCAB)")
    if importlib.util.find_spec("tensorflow") is None:
        raise SetupError(f"vocabulary {path} is remote and TensorFlow (which reads remote files) is not installed; "
                         + advice)
    import_tensorflow_quietly()
    import tensorflow as tf

    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            model = f.read()
    except Exception as error:  # noqa: BLE001 - any gfile failure: unreachable, no credentials, missing
        reason = " ".join(str(error).split())[:160]
        raise SetupError(f"vocabulary {path} cannot be read here ({type(error).__name__}: {reason}); {advice}") \
            from None
    return spm.SentencePieceProcessor(model_proto=model).get_piece_size()


def check_vocabulary_fits(path: str, pieces: int, model_vocab_size: int) -> None:
    """SetupError naming both sizes when the vocabulary has more pieces than the model's embedding rows."""
    if pieces > model_vocab_size:
        raise SetupError(f"vocabulary {path} has {pieces} pieces but the model's vocab_size is {model_vocab_size}; "
                         f"set --gin.xlit.MT5Config.vocab_size={-(-pieces // 128) * 128} (a multiple of 128) or "
                         "use a smaller vocabulary")


def model_config() -> Any:
    """The MT5Config the parsed gin config describes (MODEL_CONFIG), or None without a model file."""
    from xlit_jax.models.mt5 import MT5Config

    if not gin_utils.macro_bound("MODEL_CONFIG"):
        return None
    config = gin_utils.gin.query_parameter("%MODEL_CONFIG")
    return MT5Config() if config is not None else None


def resolve_vocabulary() -> str:
    """The run's vocabulary path: gin VOCABULARY_PATH / xlit.vocabulary_path.path, else $XLIT_VOCAB, else mT5's."""
    from seqio_tasks import vocab

    return vocab.vocabulary_path()


def load_registry() -> int:
    """Fill the task catalog with the built-in task specs (TF-free: listing, rendering, evaluation rows)."""
    from seqio_tasks import paths, registration

    return len(registration.load_builtin(data_dir=paths.data_dir(), korani_dir=paths.korani_dir()))


def register(vocabulary_path: str) -> tuple[int, int]:
    """Register the built-in tasks and mixtures (demo corpus included) for the vocabulary, once."""
    import_tensorflow_quietly()
    from seqio_tasks import paths, registration

    result = registration.register_builtin(vocabulary_path, data_dir=paths.data_dir(), korani_dir=paths.korani_dir())
    from seqio_tasks import experiments

    try:
        extra = experiments.register_experiment_mixtures()   # the gin-configured experiment mixtures, if any
    except (KeyError, ValueError) as error:   # e.g. a pinch or budget language without data: one line, no traceback
        raise SetupError(str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)) from error
    return len(result.tasks), len(result.mixtures) + len(extra)


def check_training_mixture(name: str) -> None:
    """SetupError when the training mixture is unknown, has no data, or misses a language it should have."""
    from seqio_tasks import mixtures

    try:
        with gin_utils.gin.config_scope("train_data"):   # finetune.gin binds allow_monolingual in this scope
            mixtures.check_training_mixture(name)
    except (KeyError, ValueError, FileNotFoundError) as error:
        raise SetupError(str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)) from error


def prepare_training() -> RegistrySetup:
    """Before the model is built: vocabulary readable and fitting the model, registry filled, mixture checked."""
    config = model_config()
    path = resolve_vocabulary()
    needs_registry = _uses("xlit.SeqioData") or _uses("xlit.registry_eval_tasks")
    if not needs_registry and "://" in path:
        return RegistrySetup(vocabulary_path=None, vocabulary_size=None)   # pre-tokenized data, remote vocab
    pieces = vocabulary_size(path)
    if config is not None:
        check_vocabulary_fits(path, pieces, config.vocab_size)
    setup = RegistrySetup(vocabulary_path=path, vocabulary_size=pieces)
    if needs_registry:
        setup.tasks, setup.mixtures = register(path)
        if gin_utils.macro_bound("MIXTURE_OR_TASK_NAME") and _uses("xlit.SeqioData"):
            check_training_mixture(str(gin_utils.gin.query_parameter("%MIXTURE_OR_TASK_NAME")))
    return setup


def fail(command: str, error: BaseException | str, code: int = 1) -> int:
    """Print `xlit COMMAND: error: ...` as one line (the first line of the message) and return the exit code."""
    if isinstance(error, KeyError) and error.args:
        text = str(error.args[0])   # str(KeyError) adds quotes around the message
    else:
        text = error if isinstance(error, str) else (str(error) or type(error).__name__)
    first = text.strip().splitlines()[0] if text.strip() else text
    plain = (str, KeyError, ValueError, FileNotFoundError, FileExistsError)   # the message says it all
    kind = "" if isinstance(error, plain) else f"{type(error).__name__}: "
    print(f"xlit {command}: error: {kind}{first}", file=sys.stderr, flush=True)
    return code


def prepare_evaluation() -> int:
    """Before the model is loaded: the built-in task specs for the registry's task loader (no TensorFlow)."""
    if not _uses("xlit.registry_eval_tasks"):
        return 0
    return load_registry()
