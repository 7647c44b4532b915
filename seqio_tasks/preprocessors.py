"""seqio data functions and preprocessors of the xlit tasks (TensorFlow side).

A task's data source renders its examples in Python (`task_specs.rendered_examples`, the
same function the TF-free evaluator reads) and hands them to tf.data with the features:

    inputs, targets   str      the rendered prompt and answer (tokenized by seqio)
    options           [str]    the answer options for rank classification ([] for NLG)
    answer_index      int32    the index of the right option (-1 without options)
    idx               int64    the source row's idx

`options`, `answer_index` and `idx` pass through the task untouched (they are not output
features, so the feature converter and mixtures drop them).
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping, Sequence

import seqio
import tensorflow as tf

from seqio_tasks import task_specs

ROW_SIGNATURE = {
    "inputs": tf.TensorSpec([], tf.string),
    "targets": tf.TensorSpec([], tf.string),
    "options": tf.TensorSpec([None], tf.string),
    "answer_index": tf.TensorSpec([], tf.int32),
    "idx": tf.TensorSpec([], tf.int64),
}


def rows_to_dataset(rows: Iterable[Mapping] | Callable[[], Iterable[Mapping]]) -> tf.data.Dataset:
    """A tf.data.Dataset of rendered rows {inputs, targets, options, answer_index, idx}.

    rows: a list, or a function returning an iterable (called anew on each pass, so rows
    are rendered lazily as tf.data asks for them).
    """
    rows_fn = rows if callable(rows) else (lambda: rows)

    def generate():
        for row in rows_fn():
            yield {
                "inputs": row["inputs"],
                "targets": row["targets"],
                "options": list(row.get("options") or []),
                "answer_index": -1 if row.get("answer_index") is None else int(row["answer_index"]),
                "idx": int(row["idx"]),
            }

    return tf.data.Dataset.from_generator(generate, output_signature=ROW_SIGNATURE)


def rendered_dataset_fn(task_name: str) -> Callable[..., tf.data.Dataset]:
    """The `dataset_fn(split, shuffle_files, seed=None)` of a task's seqio.FunctionDataSource."""

    def dataset_fn(split: str, shuffle_files: bool, seed: int | None = None) -> tf.data.Dataset:
        del shuffle_files, seed  # rows are in memory; the Task shuffles them
        spec = task_specs.get_spec(task_name)
        return rows_to_dataset(lambda: task_specs.iter_rendered_examples(spec, split))

    dataset_fn.__name__ = f"rendered_{task_name.replace('.', '_')}"
    return dataset_fn


def take_rows_dataset_fn(rows_fn: Callable[[], Sequence[Mapping]], name: str) -> Callable[..., tf.data.Dataset]:
    """A dataset_fn over a fixed, lazily computed list of rendered rows (the pinch tasks)."""

    def dataset_fn(split: str, shuffle_files: bool, seed: int | None = None) -> tf.data.Dataset:
        del split, shuffle_files, seed
        return rows_to_dataset(rows_fn())

    dataset_fn.__name__ = name
    return dataset_fn


def tokenize_and_append_eos() -> list:
    """seqio's tokenize (keeping `*_pretokenized` copies) and EOS after trimming."""
    return [
        seqio.preprocessors.tokenize,
        seqio.preprocessors.append_eos_after_trim,
    ]


@seqio.map_over_dataset
def rank_classification_pairs(example: Mapping[str, tf.Tensor]) -> dict:
    """Unused by default: one (inputs, option, is_correct) triple per option, as t5's rank_classification."""
    options = example["options"]
    count = tf.shape(options)[0]
    return {
        "inputs": tf.repeat(example["inputs"][None], count),
        "targets": options,
        "is_correct": tf.equal(tf.range(count), example["answer_index"]),
        "idx": tf.repeat(example["idx"][None], count),
    }


def expand_rank_classification(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Flattens each example into one row per answer option (for t5x-style score evaluation)."""
    return rank_classification_pairs(dataset).unbatch()
