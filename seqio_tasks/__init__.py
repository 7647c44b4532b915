"""seqio_tasks: the dataset taxonomy, data sources, templates, tasks and mixtures of xlit.

Importing this package is cheap: it imports neither seqio nor TensorFlow, and registers
nothing. `seqio_tasks.registration.register_builtin(vocabulary_path)` registers the built-in
tasks and mixtures (`load_builtin()` loads the TF-free task specs only).
"""
