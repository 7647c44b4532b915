"""Importing this module adds the demo datasets and registers every seqio task and mixture, demo ones included.

    import seqio_tasks.demo.registered     # or, in a gin file: import seqio_tasks.demo.registered

The demo's counterpart of `seqio_tasks.registered` (the one import with a registration side
effect); it calls `seqio_tasks.demo.register_all()` with the vocabulary of
`seqio_tasks.vocab.vocabulary_path()`, so parse gin (or set $XLIT_VOCAB) first.
"""
from seqio_tasks.demo import register_all

register_all()
