"""seqio_tasks: the dataset taxonomy, data sources, templates, tasks and mixtures of xlit.

Importing this package is cheap: it imports neither seqio nor TensorFlow. Modules that
register seqio tasks import seqio themselves, inside the functions that need it.
"""
