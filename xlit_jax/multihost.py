"""Multi-host setup: joining a JAX cluster, process identity, barriers, preemption agreement."""
from __future__ import annotations

import logging
import os
import signal
import socket
from typing import Sequence

import jax

log = logging.getLogger(__name__)

_ENV_PREFIXES = ("XLIT_", "JAX_")


def _env(name: str) -> str | None:
    for prefix in _ENV_PREFIXES:
        value = os.environ.get(prefix + name)
        if value:
            return value
    return None


def on_tpu_pod() -> bool:
    """True on a multi-worker Cloud TPU slice (several TPU worker hostnames in the environment)."""
    hosts = os.environ.get("TPU_WORKER_HOSTNAMES", "")
    return len([h for h in hosts.split(",") if h.strip()]) > 1


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    local_device_ids: Sequence[int] | None = None,
    cpu_collectives: str = "gloo",
) -> bool:
    """Join a JAX cluster from arguments, else $XLIT_/$JAX_COORDINATOR_ADDRESS etc., else a TPU pod.

    Returns True when jax.distributed was initialized, False for a single-process run.
    Must run before anything touches a JAX backend.
    """
    coordinator_address = coordinator_address or _env("COORDINATOR_ADDRESS")
    if num_processes is None and _env("NUM_PROCESSES"):
        num_processes = int(_env("NUM_PROCESSES"))
    if process_id is None and _env("PROCESS_ID"):
        process_id = int(_env("PROCESS_ID"))
    if coordinator_address:
        if num_processes is None or process_id is None:
            raise ValueError(
                f"coordinator address {coordinator_address} given without num_processes/process_id "
                "(flags --num_processes/--process_id or $XLIT_NUM_PROCESSES/$XLIT_PROCESS_ID)"
            )
        # CPU processes need a collectives backend to talk to each other (harmless on GPU/TPU).
        jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
        jax.distributed.initialize(
            coordinator_address=coordinator_address,
            num_processes=int(num_processes),
            process_id=int(process_id),
            local_device_ids=local_device_ids,
        )
        log.info("joined cluster at %s as process %d/%d", coordinator_address, process_id, num_processes)
        return True
    if on_tpu_pod():
        jax.distributed.initialize()
        log.info("joined TPU pod as process %d/%d", jax.process_index(), jax.process_count())
        return True
    return False


def process_index() -> int:
    """This process's index in the cluster (0 when alone)."""
    return jax.process_index()


def process_count() -> int:
    """Number of processes in the cluster."""
    return jax.process_count()


def is_primary() -> bool:
    """True on the process that writes shared files (metrics, config, lock takeover messages)."""
    return jax.process_index() == 0


def host_name() -> str:
    """This machine's host name (used in lock files)."""
    return socket.gethostname()


def sync(name: str) -> None:
    """Barrier across all processes (no-op when alone)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


class PreemptionWatcher:
    """Says, identically on every process, whether to stop at this step because SIGTERM arrived.

    Alone: a Python SIGTERM handler sets a flag. In a cluster: JAX's preemption sync manager
    (installed by jax.distributed.initialize) makes all processes agree on the same step.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous_handler = None
        self._multi = jax.process_count() > 1
        if not self._multi:
            self._previous_handler = signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum, frame) -> None:  # noqa: ARG002
        self.requested = True

    def should_stop(self, step: int) -> bool:
        """True when every process should checkpoint and stop after `step`."""
        if self._multi:
            from jax.experimental import multihost_utils

            try:
                return bool(multihost_utils.reached_preemption_sync_point(step))
            except RuntimeError:  # no preemption sync manager (e.g. cluster joined by other means)
                return False
        return self.requested

    def close(self) -> None:
        """Restore the previous SIGTERM handler."""
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)
            self._previous_handler = None
