"""Gin at the edge: t5x-style flags (--gin_file, --gin.KEY=VALUE, --gin_bindings, --gin_search_paths),
the shipped configs as search path (the installed package `xlit_gin`, i.e. the repository's gin/),
and errors that name the offending binding/file."""
from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.util
import logging
import os
import re
from pathlib import Path
from typing import Sequence

import gin

OPERATIVE_CONFIG_NAME = "config.gin"
GIN_PACKAGE = "xlit_gin"   # setup.py installs the repository's gin/ under this name (configs only)


class GinConfigError(ValueError):
    """A gin file or binding could not be applied; the message names it."""


@dataclasses.dataclass
class GinFlags:
    """Gin-related command-line flags, in the order given, plus everything else."""

    gin_files: list[str] = dataclasses.field(default_factory=list)
    gin_bindings: list[str] = dataclasses.field(default_factory=list)
    gin_search_paths: list[str] = dataclasses.field(default_factory=list)
    rest: list[str] = dataclasses.field(default_factory=list)


@functools.lru_cache(maxsize=1)
def shipped_gin_dir() -> Path:
    """The directory of the gin files shipped with xlit (models/, runs/, eval/, experiments/)."""
    spec = importlib.util.find_spec(GIN_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "runs").is_dir():
            return Path(location)
    raise GinConfigError(f"xlit's gin configs (package {GIN_PACKAGE}) are not installed; reinstall xlit "
                         "(pip install xlit or pip install -e . in the repository)")


def default_search_paths() -> list[str]:
    """Where gin files are looked up: the current directory, then the shipped configs."""
    return [os.getcwd(), str(shipped_gin_dir())]


class _GinProbeFilter(logging.Filter):
    """Drops gin's 'Path not found' lines: gin logs one per search path it probes for an include."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Path not found")


_PROBE_FILTER = _GinProbeFilter()


def quiet_gin_search() -> None:
    """Stop gin from logging an ERROR line for every search path it probes (idempotent)."""
    logging.getLogger().addFilter(_PROBE_FILTER)


def tolerate_namespace_folders() -> None:
    """gin's package-resource reader crashes with a TypeError when an include such as
    'runs/finetune.gin' names a folder that is also a namespace package on sys.path (a `runs/` folder
    in the working directory of a notebook or `python -c`); treat that as "not a package file" so the
    search goes on to the next path (idempotent)."""
    from gin import resource_reader

    readers = gin.config._FILE_READERS  # noqa: SLF001 - gin offers registration, not replacement
    for i, (reader, exists) in enumerate(readers):
        if exists is resource_reader.system_path_file_exists:
            def exists_or_false(path: str, _exists=exists) -> bool:
                try:
                    return _exists(path)
                except TypeError:   # the namespace package has no file (spec.origin is None)
                    return False

            readers[i] = (reader, exists_or_false)


def _quote_if_bare(value: str) -> str:
    """Gin literal for a --gin.KEY=VALUE value; a bare word or path (no valid literal) becomes a string."""
    text = value.strip()
    if not text or text[0] in "@%'\"([{" or text in ("True", "False", "None"):
        return value
    try:
        ast.literal_eval(text)
        return value
    except (ValueError, SyntaxError):
        return repr(text)


def parse_flags(argv: Sequence[str]) -> GinFlags:
    """Split argv into gin files, bindings (both spellings, in order), search paths and the rest."""
    flags = GinFlags()
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]

        def value_of(name: str) -> str:
            nonlocal i
            if arg.startswith(name + "="):
                return arg[len(name) + 1 :]
            if i + 1 >= len(args):
                raise GinConfigError(f"flag {name} needs a value")
            i += 1
            return args[i]

        if arg == "--gin_file" or arg.startswith("--gin_file="):
            flags.gin_files.append(value_of("--gin_file"))
        elif arg == "--gin_bindings" or arg.startswith("--gin_bindings="):
            flags.gin_bindings.append(value_of("--gin_bindings"))
        elif arg == "--gin_search_paths" or arg.startswith("--gin_search_paths="):
            flags.gin_search_paths += [p for p in value_of("--gin_search_paths").split(",") if p]
        elif arg.startswith("--gin."):
            key, sep, value = arg[len("--gin.") :].partition("=")
            if not sep:
                if i + 1 >= len(args):
                    raise GinConfigError(f"flag {arg} needs a value (--gin.KEY=VALUE)")
                i += 1
                value = args[i]
            flags.gin_bindings.append(f"{key} = {_quote_if_bare(value)}")
        else:
            flags.rest.append(arg)
        i += 1
    return flags


def resolve_gin_file(name: str, search_paths: Sequence[str]) -> Path:
    """Find a gin file as given, or under one of the search paths; error lists where it looked."""
    candidates = [Path(name)] + [Path(root) / name for root in search_paths]
    if name.startswith("gin/"):  # the repository spelling of a shipped file
        candidates += [Path(root) / name[len("gin/"):] for root in search_paths]
    if not name.endswith(".gin"):
        candidates += [Path(str(c) + ".gin") for c in candidates]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise GinConfigError(f"gin file {name!r} not found (looked in: current dir, {', '.join(search_paths)})")


def _first_line(err: BaseException) -> str:
    return " ".join(str(err).split("\n")[0:1]) or type(err).__name__


def parse_gin(
    gin_files: Sequence[str] = (),
    gin_bindings: Sequence[str] = (),
    gin_search_paths: Sequence[str] = (),
    finalize: bool = True,
) -> list[Path]:
    """Apply gin files then bindings (later wins); errors name the file or binding. Returns the files."""
    search_paths = list(gin_search_paths) + default_search_paths()
    quiet_gin_search()
    tolerate_namespace_folders()
    for root in search_paths:
        if root not in gin.config._LOCATION_PREFIXES:  # noqa: SLF001 - gin has no public query for it
            gin.add_config_file_search_path(root)
    parsed_files = []
    for name in gin_files:
        path = resolve_gin_file(name, search_paths)
        try:
            gin.parse_config_file(str(path))
        except (ValueError, SyntaxError, TypeError, ImportError, KeyError) as err:
            raise GinConfigError(f"gin file {path}: {type(err).__name__}: {err}") from err
        parsed_files.append(path)
    for binding in gin_bindings:
        try:
            gin.parse_config(binding)
        except (ValueError, SyntaxError, TypeError, ImportError, KeyError) as err:
            raise GinConfigError(f"gin binding {binding!r}: {type(err).__name__}: {_first_line(err)}") from err
    _check_macros_used(gin_bindings)
    _check_complete()
    if finalize:
        finalize_gin()
    return parsed_files


def _check_complete() -> None:
    """gin's own finalize checks (no %gin.REQUIRED left, no unknown reference), run before anything reads the
    config, so a missing MODEL_DIR is reported before the vocabulary or the data are looked at."""
    try:
        for hook in (gin.config.validate_macros_hook, gin.config.find_unknown_references_hook,
                     gin.config.find_missing_overrides_hook):
            hook(gin.config._CONFIG)  # noqa: SLF001 - the hooks take gin's config mapping
    except ValueError as err:
        raise GinConfigError(f"gin config: {err} (set it with --gin.NAME=VALUE)") from err


def finalize_gin() -> None:
    """Lock the gin config; a still-required macro is an error that says how to set it."""
    try:
        gin.finalize()
    except ValueError as err:
        raise GinConfigError(f"gin config: {err} (set it with --gin.NAME=VALUE)") from err


def macro_bound(name: str) -> bool:
    """Whether the parsed config binds the macro NAME."""
    try:
        gin.query_parameter(f"%{name}")
    except ValueError:
        return False
    return True


_MACRO_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)\s*=\s*(.*?)\s*(?:#\s*(.*))?$")


def macro_help(gin_files: Sequence[str]) -> str:
    """A table of the UPPERCASE macros the given gin files (and their includes) define, with comments."""
    rows: dict[str, tuple[str, str]] = {}
    search = default_search_paths()

    def read(name: str, seen: set[Path]) -> None:
        path = resolve_gin_file(name, search)
        if path in seen:
            return
        seen.add(path)
        for line in path.read_text(encoding="utf-8").splitlines():
            include = re.match(r"^include\s+['\"](.+)['\"]", line)
            if include:
                read(include.group(1), seen)
                continue
            match = _MACRO_LINE.match(line)
            if match:
                value, comment = match.group(2), match.group(3) or ""
                rows[match.group(1)] = ("required" if "gin.REQUIRED" in value else value, comment)

    for name in gin_files:
        read(name, set())
    width = max((len(k) for k in rows), default=0)
    return "\n".join(f"  --gin.{k:<{width}} = {v}" + (f"   # {c}" if c else "") for k, (v, c) in rows.items())


def _check_macros_used(gin_bindings: Sequence[str]) -> None:
    """A binding of an UPPERCASE macro that nothing references is almost surely a typo: say so."""
    config_text = gin.config_str()
    for binding in gin_bindings:
        for line in binding.splitlines():
            match = re.match(r"\s*([A-Z][A-Z0-9_]*)\s*=", line)
            if match and f"%{match.group(1)}" not in config_text:
                raise GinConfigError(
                    f"gin binding {line.strip()!r}: macro {match.group(1)} is not used by any gin file "
                    "(misspelled? see gin/runs/finetune.gin for the macros)"
                )


def write_operative_config(model_dir: str | os.PathLike, name: str = OPERATIVE_CONFIG_NAME) -> Path:
    """Write gin's operative config (what the run actually used) to MODEL_DIR/config.gin."""
    path = Path(model_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = gin.operative_config_str() or gin.config_str()
    tmp = path.with_suffix(".gin.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
