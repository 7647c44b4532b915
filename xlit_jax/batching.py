"""Shape buckets for evaluation batches, so the number of XLA compilations stays bounded.

Every distinct array shape reaching a jitted scorer or decoder is one more compilation. An
evaluation over many tasks and templates meets many input lengths, option counts and option
lengths; padding each to one of a few fixed sizes (and every batch to one batch size) bounds the
number of shapes by the product of the bucket counts, whatever the number of tasks.

Two padding policies share one interface (`input_length`, `target_length`, `option_count`):
`Buckets`, a few fixed sizes per axis (the default), and `PowerOfTwo`, the earlier per-batch
padding (lengths to the next power of two, the exact option count), kept as a baseline.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Protocol, Sequence

import numpy as np


def bucket_size(value: int, sizes: Sequence[int]) -> int:
    """The smallest size >= value; above the largest size, the next multiple of the largest."""
    if value < 1:
        raise ValueError(f"bucket_size: value must be >= 1, got {value}")
    for size in sizes:
        if size >= value:
            return int(size)
    largest = int(sizes[-1])
    return -(-value // largest) * largest


class Padding(Protocol):
    """How far to pad each axis of an evaluation batch."""

    def input_length(self, longest: int) -> int:
        """Padded encoder input length for a batch whose longest input has `longest` tokens."""

    def target_length(self, longest: int) -> int:
        """Padded target (option) length for a batch whose longest target has `longest` tokens."""

    def option_count(self, most: int) -> int:
        """Padded number of options for a batch whose examples have at most `most` options."""


@dataclasses.dataclass(frozen=True)
class Buckets:
    """A few fixed sizes per axis: at most len(input_lengths) * len(target_lengths) * len(option_counts) shapes."""

    input_lengths: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
    target_lengths: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
    option_counts: tuple[int, ...] = (2, 3, 4, 8, 16)

    def __post_init__(self):
        for name in ("input_lengths", "target_lengths", "option_counts"):
            sizes = tuple(int(s) for s in getattr(self, name))
            if not sizes or any(s < 1 for s in sizes) or list(sizes) != sorted(set(sizes)):
                raise ValueError(f"Buckets.{name} must be increasing positive sizes, got {getattr(self, name)}")
            object.__setattr__(self, name, sizes)

    def input_length(self, longest: int) -> int:
        """The input-length bucket that holds `longest` tokens."""
        return bucket_size(longest, self.input_lengths)

    def target_length(self, longest: int) -> int:
        """The target-length bucket that holds `longest` tokens."""
        return bucket_size(longest, self.target_lengths)

    def option_count(self, most: int) -> int:
        """The option-count bucket that holds `most` options."""
        return bucket_size(most, self.option_counts)


@dataclasses.dataclass(frozen=True)
class PowerOfTwo:
    """The earlier padding: lengths to the next power of two (at least a minimum), exact option counts."""

    min_input_length: int = 8
    min_target_length: int = 4

    def input_length(self, longest: int) -> int:
        """The next power of two >= longest, at least min_input_length."""
        return max(self.min_input_length, 1 << max(longest - 1, 0).bit_length())

    def target_length(self, longest: int) -> int:
        """The next power of two >= longest, at least min_target_length."""
        return max(self.min_target_length, 1 << max(longest - 1, 0).bit_length())

    def option_count(self, most: int) -> int:
        """The exact count."""
        return int(most)


DEFAULT_BUCKETS = Buckets()


def pad_batch(token_lists: Sequence[Sequence[int]], batch_size: int, length: int) -> np.ndarray:
    """int32 [batch_size, length] of the rows, right-padded with 0; filler rows repeat the first row.

    Filler rows copy a real row so that a decoder loop that stops when every row has ended is not
    kept running by an all-padding row; callers drop their outputs.
    """
    if not token_lists or len(token_lists) > batch_size:
        raise ValueError(f"pad_batch: need 1..{batch_size} rows, got {len(token_lists)}")
    longest = max(len(t) for t in token_lists)
    if longest > length:
        raise ValueError(f"pad_batch: a row has {longest} tokens, more than the padded length {length}")
    out = np.zeros((batch_size, length), np.int32)
    for row, tokens in enumerate(token_lists):
        out[row, :len(tokens)] = tokens
    out[len(token_lists):] = out[0]
    return out


def pad_inputs(token_lists: Sequence[Sequence[int]], batch_size: int, padding: Padding | None = None,
               max_length: int | None = None) -> np.ndarray:
    """Encoder inputs [batch_size, bucketed length]: rows cut to max_length, padded to the policy's bucket."""
    padding = padding or DEFAULT_BUCKETS
    rows = [list(t)[:max_length] if max_length else list(t) for t in token_lists]
    return pad_batch(rows, batch_size, padding.input_length(max(len(r) for r in rows)))


def pad_options(option_lists: Sequence[Sequence[Sequence[int]]], batch_size: int,
                padding: Padding | None = None) -> np.ndarray:
    """Options [batch_size, bucketed count, bucketed length], 0 in padded slots and filler rows."""
    padding = padding or DEFAULT_BUCKETS
    count = padding.option_count(max(len(options) for options in option_lists))
    length = padding.target_length(max(len(o) for options in option_lists for o in options))
    out = np.zeros((batch_size, count, length), np.int32)
    for row, options in enumerate(option_lists):
        for k, option in enumerate(options):
            out[row, k, :len(option)] = option
    return out


def length_sorted_chunks(lengths: Sequence[Any], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of batch_size, smallest first (stable), so each batch pads little.

    `lengths` are sort keys: token counts, or tuples such as (input bucket, option-count bucket,
    option-length bucket) so that rows padded to the same shape share batches.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def rank_sort_key(input_tokens: Sequence[int], options: Sequence[Sequence[int]], padding: Padding) -> tuple:
    """The shape a rank-classification row pads to (input, option count, option length), then its length."""
    return (padding.input_length(len(input_tokens)), padding.option_count(len(options)),
            padding.target_length(max(len(o) for o in options)), len(input_tokens))


# ------------------------------------------------------------------------------ counting compilations
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_active_counters: list["CompilationCounter"] = []
_listening = False


class CompilationCounter:
    """Counts XLA backend compilations (and their seconds) while active: `with CompilationCounter() as c:`."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0

    def __enter__(self) -> "CompilationCounter":
        global _listening
        if not _listening:
            import jax

            jax.monitoring.register_event_duration_secs_listener(_on_duration_event)
            _listening = True
        _active_counters.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _active_counters.remove(self)


def _on_duration_event(event: str, duration: float, **kwargs) -> None:
    if event == BACKEND_COMPILE_EVENT:
        for counter in _active_counters:
            counter.count += 1
            counter.seconds += duration
