"""The renderer protocol: what turns one source row into a prompt, whatever wrote the prompt.

Three kinds implement it, and task_specs treats them alike:
- `templating.Template`: xlit's YAML templates (Jinja2 text per task family);
- `promptsource.PromptsourceTemplate`: the real promptsource (P3 / T0) templates;
- `PrerenderedPrompts` (here): the KORANI authors' dump, whose rows are prompts already.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Protocol, runtime_checkable

from seqio_tasks.templating import RenderedExample


@runtime_checkable
class Renderer(Protocol):
    """Renders source rows of one task into prompts."""

    language: str   # the template's language and style on the cross-lingual axis
    style: str
    origin: str     # "templates" | "promptsource" | "korani_dump" (task metadata only)

    @property
    def template_id(self) -> str:
        """The template part of an evaluation task's name (`{dataset}.{lang}_{style}.{template_id}`)."""

    @property
    def ranks(self) -> bool:
        """Whether its examples are scored by rank classification over answer options."""

    def render(self, row: Mapping[str, Any]) -> RenderedExample | None:
        """The prompt of one row; None (or empty inputs/targets) when the renderer does not apply to it."""


@dataclasses.dataclass(frozen=True)
class PrerenderedPrompts:
    """The KORANI dump's prompts: each row already holds inputs, targets, options and its scoring.

    `template_index` k names the dump's `test_tmp{k}.csv` (None for the training files);
    `ranks` says how the dataset is scored (NLU datasets rank, NLG ones generate, by
    `generation_metrics` unless the family has its own). A row keeps
    its options only when its target is among them (the dump's `scoring == "rank"`).
    """

    template_index: int | None = None
    ranks: bool = True
    language: str = "ko"
    style: str = "korani"
    origin: str = "korani_dump"
    prefix: str = "dump"
    generation_metrics: tuple[str, ...] = ("rouge_l",)   # for NLG datasets of a family without its own metrics

    @property
    def template_id(self) -> str:
        """`dump{k}` for template k of the dump, `dump` for its training prompts."""
        return self.prefix if self.template_index is None else f"{self.prefix}{self.template_index}"

    def render(self, row: Mapping[str, Any]) -> RenderedExample | None:
        """The row's own prompt; None for a row of another dump template."""
        if self.template_index is not None and row.get("template_index") != self.template_index:
            return None
        rank = row.get("scoring") == "rank" and row.get("label") is not None
        return RenderedExample(inputs=str(row["inputs"]), targets=str(row["targets"]),
                               options=list(row["options"]) if rank else None,
                               answer_index=int(row["label"]) if rank else None)
