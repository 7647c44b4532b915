"""Where data lives: the benchmark data directory and the KORANI release dump."""
from __future__ import annotations

import os
from pathlib import Path

import gin

DATA_DIR_ENV = "XLIT_DATA_DIR"
KORANI_DIR_ENV = "XLIT_KORANI_DIR"


@gin.configurable(module="xlit")
def data_dir(path: str | None = None) -> Path | None:
    """The benchmark data directory: gin `xlit.data_dir.path`, else $XLIT_DATA_DIR, else None."""
    value = path or os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else None


@gin.configurable(module="xlit")
def korani_dir(path: str | None = None) -> Path | None:
    """The KORANI authors' release dump: gin `xlit.korani_dir.path`, else $XLIT_KORANI_DIR."""
    value = path or os.environ.get(KORANI_DIR_ENV)
    return Path(value).expanduser() if value else None
