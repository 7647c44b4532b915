"""Importing this module registers every xlit seqio task and mixture (the seqio habit).

    import seqio_tasks.registered          # or gin: SeqioData.import_modules = ["seqio_tasks.registered"]

It is the one import with a registration side effect; it calls
`seqio_tasks.mixtures.register_all()` with the vocabulary of `seqio_tasks.vocab.vocabulary_path()`
(gin `xlit.vocabulary_path.path`, $XLIT_VOCAB, else mT5's), so parse gin first.
"""
from seqio_tasks.mixtures import register_all

register_all()
