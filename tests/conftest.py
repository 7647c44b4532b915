"""Shared test setup: 8 fake CPU devices, and the real-data directory through XLIT_DATA_DIR."""
import os
from pathlib import Path

from doc_commands import FAKE_DEVICES_FLAG  # noqa: E402 - imports no jax

# Must happen before jax is imported anywhere: sharding tests use 8 fake CPU devices (the `xlit`
# subprocesses of the documented-command tests do not inherit them: doc_commands.Sandbox.env).
os.environ.setdefault("XLA_FLAGS", FAKE_DEVICES_FLAG)
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
_DEFAULT_SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
# The project's data-directory setting is $XLIT_DATA_DIR; tests default it to ../shared/data.
if "XLIT_DATA_DIR" not in os.environ and _DEFAULT_SHARED_DATA.is_dir():
    os.environ["XLIT_DATA_DIR"] = str(_DEFAULT_SHARED_DATA)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real benchmark data directory ($XLIT_DATA_DIR); skips the test when it is absent."""
    value = os.environ.get("XLIT_DATA_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("real benchmark data not found: set XLIT_DATA_DIR (default ../shared/data)")
    return Path(value)


@pytest.fixture(scope="session")
def task_catalog():
    """The built-in task specs (demo included) loaded into the default catalog, TF-free, for the data directory."""
    from seqio_tasks import registration

    return registration.load_builtin()
