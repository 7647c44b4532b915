"""Machine facts every benchmark records beside its figures: platform, devices, versions, load average."""
from __future__ import annotations

import os
import platform
import sys
from typing import Any


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine_facts() -> dict[str, Any]:
    """Platform, CPU count, load average, jax backend/devices/version, XLA flags, torch version if loaded."""
    import jax

    facts = {
        "machine": platform.machine(), "processor": platform.processor(), "system": platform.system(),
        "python": platform.python_version(), "cpu_count": os.cpu_count(), "load_average": load_average(),
        "jax": jax.__version__, "backend": jax.default_backend(),
        "devices": [f"{d.platform}:{getattr(d, 'device_kind', '')}" for d in jax.devices()],
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
    if "torch" in sys.modules:
        facts["torch"] = sys.modules["torch"].__version__
    return facts


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """A plain fixed-width table on stdout (floats to 3 significant decimals)."""
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
        return str(value)
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
    for row in cells:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths)))


def write_json(path: str | None, result: dict) -> None:
    """Writes the result as JSON when a path is given, and says so."""
    if path:
        import json

        with open(path, "w") as f:
            json.dump(result, f, indent=2, default=str)
        print(f"wrote {path}")
