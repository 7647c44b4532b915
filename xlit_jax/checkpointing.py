"""Training checkpoints: orbax CheckpointManager (async, keep last N) of the TrainState plus the
input position, corrupt-checkpoint fallback, and the MODEL_DIR lock that refuses a second run."""
from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import jax

from xlit_jax import multihost

log = logging.getLogger(__name__)

CHECKPOINT_SUBDIR = "checkpoints"
CORRUPT_SUBDIR = "corrupt_checkpoints"
LOCK_NAME = "train.lock"


class TrainingCheckpointer:
    """Saves and restores (TrainState, input position) under MODEL_DIR/checkpoints/<step>/."""

    def __init__(self, model_dir: str | os.PathLike, keep: int | None = 3, async_save: bool = True):
        import orbax.checkpoint as ocp

        self._ocp = ocp
        self.model_dir = Path(model_dir).absolute()
        self.directory = self.model_dir / CHECKPOINT_SUBDIR
        self.keep = keep
        self.async_save = async_save
        self._manager = self._new_manager()

    def _new_manager(self):
        ocp = self._ocp
        options = ocp.CheckpointManagerOptions(
            max_to_keep=self.keep,
            create=True,
            # A run killed during an async save leaves <step>.orbax-checkpoint-tmp-* behind.
            cleanup_tmp_directories=True,
            enable_async_checkpointing=self.async_save,
        )
        return ocp.CheckpointManager(self.directory, item_names=("state", "input"), options=options)

    def all_steps(self) -> list[int]:
        """Steps of finished checkpoints, ascending."""
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        """Step of the newest finished checkpoint, or None."""
        return self._manager.latest_step()

    def save(self, step: int, state: Any, input_position: int, extra: dict | None = None) -> None:
        """Start saving (async) the state and the input position at `step`."""
        ocp = self._ocp
        if step in self._manager.all_steps():
            log.info("checkpoint %d already exists; not saving again", step)
            return
        info = {"input_position": int(input_position), "step": int(step), **(extra or {})}
        self._manager.save(
            int(step),
            args=ocp.args.Composite(state=ocp.args.StandardSave(state), input=ocp.args.JsonSave(info)),
            force=True,
        )

    def wait(self) -> None:
        """Block until in-flight saves are finished on disk."""
        self._manager.wait_until_finished()

    def restore(self, step: int, abstract_state: Any) -> tuple[Any, dict]:
        """Restore checkpoint `step` into the structure/shardings of `abstract_state`."""
        ocp = self._ocp
        restored = self._manager.restore(
            int(step),
            args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state), input=ocp.args.JsonRestore()),
        )
        info = restored["input"]
        if not isinstance(info, dict) or "input_position" not in info:
            raise ValueError(f"checkpoint {self.directory / str(step)}: input info is missing or malformed: {info!r}")
        return restored["state"], info

    def restore_latest(self, abstract_state: Any) -> tuple[Any, dict] | None:
        """Restore the newest readable checkpoint (None when there is none).

        Unreadable checkpoints newer than a readable one are logged and moved aside. When no
        checkpoint is readable (typically a changed model or optimizer config, not corruption),
        nothing is moved and a RuntimeError shows the newest one's error.
        """
        failed: list[tuple[int, str]] = []
        for step in reversed(self.all_steps()):
            restored = self._try_restore(step, abstract_state, failed)
            if restored is None:
                continue
            for bad_step, _ in failed:
                self._set_aside(bad_step)
            if failed:
                print(f"xlit train: falling back to checkpoint {step}", flush=True)
            return restored
        if failed:
            step, error = failed[0]
            raise RuntimeError(
                f"no checkpoint in {self.directory} can be restored into this run's state (newest: {step}: "
                f"{error[:500]}). A changed model or optimizer config? Use a new MODEL_DIR, or move the "
                "checkpoints away to start over."
            )
        return None

    def _try_restore(self, step: int, abstract_state: Any, failed: list[tuple[int, str]]) -> tuple[Any, dict] | None:
        """Checkpoint `step`, or None after recording its error in `failed` (without orbax's leftovers)."""
        try:
            return self.restore(step, abstract_state)
        except Exception as err:  # noqa: BLE001 - any failure to read means "corrupt" or "incompatible"
            error = f"{type(err).__name__}: {(str(err).splitlines() or [''])[0]}"
            log.debug("restoring checkpoint %d failed", step, exc_info=True)
        _silence_orbax_leftovers()
        gc.collect()  # `err` and its traceback are gone: most abandoned reads are finalized now
        message = f"checkpoint {self.directory / str(step)} is unreadable ({error[:300]}); trying the previous one"
        log.error(message)
        print(f"xlit train: {message}", flush=True)
        failed.append((step, error))
        return None

    def _set_aside(self, step: int) -> None:
        """Move a corrupt checkpoint out of the manager's directory (kept for inspection)."""
        multihost.sync(f"xlit_corrupt_{step}_before")
        if multihost.is_primary():
            target = self.model_dir / CORRUPT_SUBDIR / f"{step}-{int(time.time())}"
            target.parent.mkdir(parents=True, exist_ok=True)
            source = self.directory / str(step)
            if source.exists():
                shutil.move(str(source), str(target))
                print(f"xlit train: moved corrupt checkpoint {source} to {target}", flush=True)
        multihost.sync(f"xlit_corrupt_{step}_after")
        self._manager.close()
        self._manager = self._new_manager()

    def close(self) -> None:
        """Wait for saves and release the manager (and its async machinery), even when a save failed."""
        try:
            self._manager.wait_until_finished()
        finally:
            self._manager.close()


def _is_orbax_leftover(unraisable: Any) -> bool:
    """An orbax coroutine abandoned by a failed restore, or its 'Event loop is closed' at finalization."""
    code = getattr(unraisable.object, "cr_code", None)
    return (code is not None and "orbax" in code.co_filename) or "Event loop is closed" in str(unraisable.exc_value)


def _silence_orbax_leftovers() -> None:
    """From now on, drop the tracebacks printed when the reads a failed restore abandoned are finalized
    ('Exception ignored in <coroutine ...>', 'Event loop is closed'): the restore's own error is reported."""
    previous = sys.unraisablehook
    if getattr(previous, "_xlit_orbax_filter", False):
        return

    def hook(unraisable: Any) -> None:
        if _is_orbax_leftover(unraisable):
            log.debug("ignored after a failed restore: %s: %s", unraisable.object, unraisable.exc_value)
            return
        previous(unraisable)

    hook._xlit_orbax_filter = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """MODEL_DIR/train.lock[.<process>]: refuses a second run, takes over the lock of a dead one."""

    def __init__(self, model_dir: str | os.PathLike, process_index: int = 0):
        name = LOCK_NAME if process_index == 0 else f"{LOCK_NAME}.{process_index}"
        self.path = Path(model_dir).absolute() / name
        self.held = False

    def acquire(self) -> None:
        """Take the lock or raise RuntimeError naming the run that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        host = multihost.host_name()
        info = {"pid": os.getpid(), "host": host, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        tmp = self.path.with_name(f"{self.path.name}.{host}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(info))
        try:
            for _ in range(2):
                try:
                    os.link(tmp, self.path)  # atomic: fails if the lock exists, never torn
                    self.held = True
                    return
                except FileExistsError:
                    self._handle_existing(host)
            raise RuntimeError(f"could not take the lock {self.path}")
        finally:
            tmp.unlink(missing_ok=True)

    def _handle_existing(self, host: str) -> None:
        try:
            holder = json.loads(self.path.read_text())
            pid, holder_host = int(holder["pid"]), str(holder["host"])
        except (OSError, ValueError, KeyError, TypeError):
            holder, pid, holder_host = None, None, None
        if holder is None:
            message = f"lock file {self.path} is unreadable; taking it over"
        elif holder_host == host and (pid == os.getpid() or not _pid_alive(pid)):
            message = f"taking over stale lock {self.path} of pid {pid} on {host} (that process is gone)"
        elif holder_host == host:
            raise RuntimeError(
                f"MODEL_DIR {self.path.parent} is in use by a running training (pid {pid} on {host}, "
                f"started {holder.get('started')}); lock file {self.path}. Stop that run or use another MODEL_DIR."
            )
        else:
            raise RuntimeError(
                f"MODEL_DIR {self.path.parent} is locked by pid {pid} on host {holder_host} "
                f"(started {holder.get('started')}); lock file {self.path}. If that run is dead, delete the lock file."
            )
        log.warning(message)
        print(f"xlit train: {message}", flush=True)
        self.path.unlink(missing_ok=True)

    def release(self) -> None:
        """Remove the lock if we hold it."""
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def abstract_with_shardings(abstract_state: Any, shardings: Any) -> Any:
    """ShapeDtypeStructs carrying the target shardings, for StandardRestore."""
    return jax.tree.map(
        lambda leaf, sharding: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=sharding), abstract_state, shardings
    )
