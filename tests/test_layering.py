"""Import layering (docs DESIGN.md "Layers"), checked by an AST walk rather than by eye.

The core (`xlit_jax/` except `xlit_jax/commands/` and `xlit_jax/cli.py`) never reaches the
registry `seqio_tasks`: no import or from-import, no string constant naming one of its modules or
dotted paths (importlib strings, gin-style dotted defaults such as "seqio_tasks.x.register_all",
`__import__`), docstrings aside. Only `xlit_jax/data/seqio_input.py` (and the CLI) may import
seqio or TensorFlow, so the core trains without them.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "xlit_jax"
CLI_PARTS = ("xlit_jax/commands/", "xlit_jax/cli.py")
REGISTRY = "seqio_tasks"
TF_MODULES = ("seqio", "tensorflow", "tensorflow_text", "tensorflow_datasets", "tf_keras")
TF_ALLOWED = ("xlit_jax/data/seqio_input.py",)
_REGISTRY_NAME = re.compile(rf"(?<![A-Za-z0-9_]){REGISTRY}(?![A-Za-z0-9_])")


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of the Constant nodes that are module, class or function docstrings."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                ids.add(id(first.value))
    return ids


def _dynamic_import_target(node: ast.Call) -> str | None:
    """The constant module name of importlib.import_module("x") / __import__("x"), else None."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def layering_violations(source: str, filename: str, *, may_import_tf: bool = False) -> list[str]:
    """Every place in one core module's source that breaks the layering rule, as 'file:line: why'."""
    tree = ast.parse(source, filename=filename)
    skipped = _docstring_nodes(tree)  # docstrings, and the names dynamic imports report themselves
    skipped |= {id(n.args[0]) for n in ast.walk(tree) if isinstance(n, ast.Call) and _dynamic_import_target(n)}
    problems = []

    def imported(module: str, line: int, how: str) -> None:
        if _top(module) == REGISTRY:
            problems.append(f"{filename}:{line}: {how} of the registry module {module!r}")
        elif _top(module) in TF_MODULES and not may_import_tf:
            problems.append(f"{filename}:{line}: {how} of {module!r} (only {', '.join(TF_ALLOWED)} may use "
                            f"seqio/TensorFlow in the core)")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported(alias.name, node.lineno, "import")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported(node.module, node.lineno, "from-import")
        elif isinstance(node, ast.Call) and (target := _dynamic_import_target(node)) is not None:
            imported(target, node.lineno, "dynamic import")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped \
                and _REGISTRY_NAME.search(node.value):
            problems.append(f"{filename}:{node.lineno}: string constant names the registry: {node.value[:80]!r}")
    return sorted(set(problems), key=lambda p: int(p.split(":")[1]))


def core_modules() -> list[Path]:
    """The core's Python files: xlit_jax/ without the CLI (commands/ and cli.py)."""
    files = []
    for path in sorted(CORE.rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if not relative.startswith(CLI_PARTS):
            files.append(path)
    return files


def test_the_core_never_reaches_the_registry_nor_tensorflow():
    files = core_modules()
    assert len(files) > 20 and all("commands" not in p.parts for p in files)
    problems = []
    for path in files:
        relative = path.relative_to(REPO).as_posix()
        problems += layering_violations(path.read_text(encoding="utf-8"), relative,
                                        may_import_tf=relative in TF_ALLOWED)
    assert not problems, "layering violations (DESIGN.md, Layers):\n" + "\n".join(problems)


@pytest.mark.parametrize("source,expected", [
    ("import seqio_tasks.vocab\n", "import of the registry module 'seqio_tasks.vocab'"),
    ("def f():\n    from seqio_tasks import mixtures\n", "from-import of the registry module 'seqio_tasks'"),
    ("import importlib\nimportlib.import_module('seqio_tasks.registered')\n", "dynamic import"),
    ("m = __import__('seqio_tasks')\n", "dynamic import"),
    ("def f(register_fn: str = 'seqio_tasks.mixtures.register_all'):\n    pass\n",
     "string constant names the registry"),
    ("BINDING = 'import seqio_tasks.registered'\n", "string constant names the registry"),
    ("import tensorflow as tf\n", "import of 'tensorflow'"),
    ("def f():\n    import seqio\n", "import of 'seqio'"),
    ("from tensorflow_text import ops\n", "from-import of 'tensorflow_text'"),
])
def test_the_checker_finds_each_kind_of_violation(source, expected):
    problems = layering_violations(source, "xlit_jax/synthetic.py")
    assert len(problems) == 1 and expected in problems[0], problems
    assert problems[0].startswith("xlit_jax/synthetic.py:")


@pytest.mark.parametrize("source", [
    '"""Docstrings may mention seqio_tasks, the registry that builds these records."""\nimport jax\n',
    "def f():\n    '''Built by seqio_tasks.eval_data.'''\n    return 1\n",
    "from . import seqio_input\nimport numpy as np\n",
    "name = 'my_seqio_tasks_copy'\n",  # another identifier that merely contains the word
    "import seqio_input_helpers\n",
])
def test_the_checker_accepts_clean_sources(source):
    assert layering_violations(source, "xlit_jax/synthetic.py") == []


def test_the_one_input_module_may_import_seqio_but_not_the_registry():
    source = "import seqio\nimport tensorflow as tf\nfrom seqio_tasks import tasks\n"
    problems = layering_violations(source, "xlit_jax/data/seqio_input.py", may_import_tf=True)
    assert problems == ["xlit_jax/data/seqio_input.py:3: from-import of the registry module 'seqio_tasks'"]
