"""The one list of every data source: explicit registration, nothing hidden in imports.

`SOURCES` is built by calling the listing functions below, in this file, once, on first
use. To add a dataset: write its Source in kobest.py / korean.py / english.py (or your own module)
and add it to `_builtin_sources`, or call `register_source` at run time.
"""
from __future__ import annotations

from seqio_tasks.sources.base import Source

_REGISTRY: dict[str, Source] = {}
_BUILTINS_LOADED = False


def _builtin_sources() -> list[Source]:
    """Every built-in source: Korean, English, and the KORANI release dump."""
    from seqio_tasks.sources import english, korani_dump, korean
    return korean.korean_sources() + english.english_sources() + korani_dump.dump_sources()


def _ensure_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        for source in _builtin_sources():
            register_source(source)


def register_source(source, replace: bool = False):
    """Adds a source under its name; a second source with the same name is an error unless `replace`."""
    if not replace and source.name in _REGISTRY and _REGISTRY[source.name] is not source:
        raise ValueError(f"a source named {source.name!r} is already registered")
    _REGISTRY[source.name] = source
    return source


def get_source(name: str):
    """The source registered as `name`; KeyError lists close names when it is unknown."""
    _ensure_builtins()
    if name not in _REGISTRY:
        close = [n for n in _REGISTRY if name.split("_")[0] in n][:10]
        raise KeyError(f"no data source named {name!r}" + (f"; similar: {close}" if close else ""))
    return _REGISTRY[name]


def all_sources() -> list:
    """Every registered source, in registration order."""
    _ensure_builtins()
    return list(_REGISTRY.values())


def format_sources_table(markdown: bool = False, include_dump: bool = False) -> str:
    """A table of the sources: name, family, language, splits, remote backends, files' origin."""
    columns = ("name", "family", "lang", "splits", "remote", "origin")
    rows = []
    for source in all_sources():
        if source.name.startswith("korani_dump_") and not include_dump:
            continue
        splits = ", ".join(s + ("*" if s in source.unlabelled_splits else "") for s in source.splits)
        remote = "+".join(b for b in ("hf", "tfds") if getattr(source, b, None)) or "-"
        rows.append([source.name, source.family, source.language, splits, remote, source.upstream.split(", http")[0]])
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        return "\n".join(lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows])
    widths = [max(len(c), *(len(r[k]) for r in rows)) for k, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(widths[k]) for k, c in enumerate(columns)).rstrip(), "  ".join("-" * w for w in widths)]
    return "\n".join(lines + ["  ".join(c.ljust(widths[k]) for k, c in enumerate(row)).rstrip() for row in rows])
