"""A gin binding that nothing reads is an error: compare the parsed config with the operative one."""
from __future__ import annotations

import re

import gin

# A binding line of gin's config strings: `scope/module.name.param = value` at column 0 (values that
# span lines continue indented; comments and section headers start with '#').
_BINDING = re.compile(r"^(?P<key>[A-Za-z_][\w./]*\.\w+)\s*=", re.MULTILINE)
# Macros (`NAME = value`) are gin.macro bindings; unused macros are reported by gin_utils for overrides.
_MACRO = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _binding_keys(config_text: str) -> set[str]:
    """`scope/selector.param` keys of the parameter bindings in a gin config string."""
    return {m.group("key") for m in _BINDING.finditer(config_text) if not _MACRO.match(m.group("key"))}


def unread_bindings(config_text: str, operative_text: str) -> list[str]:
    """Bindings of `config_text` that `operative_text` lacks, except bindings of a scoped configurable
    that was never called (a named alternative such as eval_data/xlit.SeqioData that no run referenced)."""
    bound, read = _binding_keys(config_text), _binding_keys(operative_text)
    called = {key.rpartition(".")[0] for key in read}
    unread = []
    for key in sorted(bound - read):
        configurable = key.rpartition(".")[0]
        scoped = "/" in configurable
        if scoped and configurable not in called:
            continue
        unread.append(key)
    return unread


def check_all_bindings_read() -> None:
    """ValueError naming every gin binding that no call read (overridden by the caller or never called)."""
    unread = unread_bindings(gin.config_str(), gin.operative_config_str())
    if unread:
        raise ValueError(
            "gin bindings that nothing read (the configurable was never called, or its caller passes that "
            f"argument itself): {', '.join(unread)}. Remove them or bind the parameter that is used."
        )
