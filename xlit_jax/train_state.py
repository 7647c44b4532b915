"""The training state: step, parameters, optimizer state and the dropout RNG, as one pytree."""
from __future__ import annotations

from typing import Any

import flax.struct
import jax


@flax.struct.dataclass
class TrainState:
    """Everything a checkpoint must hold to resume training exactly.

    step: int32 scalar (optimizer steps taken); params: float32 tree (t5x names);
    opt_state: the optimizer's state; rng: raw uint32 PRNG key data from which each step's
    dropout key is derived as fold_in(rng, step), so a resumed run draws the same masks.
    """

    step: jax.Array
    params: Any
    opt_state: Any
    rng: jax.Array
