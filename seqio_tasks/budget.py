"""Pinch budgets over languages: a fixed training budget of which a share is other-language examples.

A pinch mixture (`mixtures.make_pinch_mixture`) adds N other-language rows on top of a
monolingual mixture. A budget mixture keeps the training budget fixed and *replaces* a share
of it with examples of one or several other languages, as in "Multilingual Instruction Tuning
With Just a Pinch of Multilinguality" (Shaham et al., 2024):

    make_budget_mixture("p3_t0_train.budget_ko", "p3_t0_train", {"ko": "korani_train"},
                        total=12_200 * 1024, share=0.01)

- `total`: the run's budget in examples drawn from the mixture (e.g. train steps x batch size);
- `share`: a fraction in (0, 1), or an int count of those `total` examples (then the fraction
  is share / total);
- the languages split the share evenly, or by `weights` ({language: weight});
- within the base mixture and within each language, tasks keep their relative rates (the
  registered mixture's rates, or the training rate for a list of task names).

Rates are normalized so they sum to 1: language L's tasks together have rate share x w_L and
the base's tasks 1 - share, so in expectation exactly share x w_L x total of the `total` draws
are language L's. The rates are functions of the task, evaluated when a dataset is built, so
registering reads no data. `budget_rows` reads the shares back from a registered mixture's rates.
"""
from __future__ import annotations

import numbers
import re
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from seqio_tasks import mixtures, naming
from seqio_tasks.catalog import CATALOG, DATA_DIR_SETTING, TaskCatalog

if TYPE_CHECKING:
    import seqio

BASE = "base"
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")   # as task names' language parts (seqio_tasks.naming)


def share_fraction(total: int, share: float | int) -> float:
    """The fraction of `total` that `share` (a fraction in (0, 1) or an int count) names; ValueError if invalid."""
    if isinstance(total, bool) or not isinstance(total, numbers.Integral) or total <= 0:
        raise ValueError(f"budget total must be a positive number of examples, got {total!r}")
    if isinstance(share, bool) or not isinstance(share, numbers.Real):
        raise ValueError(f"budget share must be a fraction in (0, 1) or an int count, got {share!r}")
    if isinstance(share, numbers.Integral):
        if not 0 < share < total:
            raise ValueError(f"budget share {share} examples must be more than 0 and less than the total {total}")
        return int(share) / int(total)
    if not 0.0 < float(share) < 1.0:
        raise ValueError(f"budget share {share} must be a fraction strictly between 0 and 1 (or an int count)")
    return float(share)


def language_shares(languages: Sequence[str], share: float,
                    weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """{language: its fraction of the budget}: `share` split evenly or by weights (which must name those languages)."""
    languages = list(languages)
    if not languages:
        raise ValueError("a budget needs at least one other language")
    if len(set(languages)) != len(languages):
        raise ValueError(f"languages listed twice: {languages}")
    weights = dict(weights) if weights else {language: 1.0 for language in languages}
    unknown = sorted(set(weights) - set(languages))
    if unknown:
        raise ValueError(f"weights name languages that have no mixture: {unknown} (languages: {languages})")
    missing = [language for language in languages if language not in weights]
    if missing:
        raise ValueError(f"weights give no weight to {missing} (give every language one, or none for an even split)")
    if any(not isinstance(w, numbers.Real) or isinstance(w, bool) or w <= 0 for w in weights.values()):
        raise ValueError(f"weights must be positive numbers, got {weights}")
    total_weight = float(sum(weights.values()))
    return {language: share * float(weights[language]) / total_weight for language in languages}


def expected_examples(total: int, share: float | int, languages: Sequence[str],
                      weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """{'base': ..., language: ...}: expected examples of each part over a budget of `total` examples."""
    fractions = language_shares(languages, share_fraction(total, share), weights)
    return {BASE: total * (1.0 - sum(fractions.values())), **{lang: total * f for lang, f in fractions.items()}}


def _weighted_tasks(what: str | Sequence[str], where: str) -> list[tuple[str, Callable[[seqio.Task], float]]]:
    """(task name, relative rate function) of a registered mixture (its rates) or of task names (training rate)."""
    import seqio

    if isinstance(what, str) and what in seqio.MixtureRegistry.names():
        mixture = seqio.MixtureRegistry.get(what)
        return [(task.name, mixture.get_rate) for task in mixture.tasks]
    names = [what] if isinstance(what, str) else list(what)
    if not names:
        raise ValueError(f"{where}: no tasks")
    unknown = [name for name in names if name not in seqio.TaskRegistry.names()]
    if unknown:
        raise ValueError(f"{where}: no mixture or task named {unknown[0]!r} is registered here (its data is absent "
                         f"under {DATA_DIR_SETTING}? see `xlit tasks --mixtures`)")
    rate = mixtures.training_rate()
    return [(name, rate) for name in names]


def _check_languages(tasks: Sequence[str], language: str, where: str, catalog: TaskCatalog) -> None:
    """ValueError when a task of a language's part has no data or another data language (catalog tasks only)."""
    for name in tasks:
        if name not in catalog:
            continue   # a task registered outside the catalog (e.g. a pinch task): trusted as given
        spec = catalog.get(name)
        if spec.info.data_language != language:
            raise ValueError(f"{where}: task {name!r} holds {spec.info.data_language!r} data, not {language!r}")
        split = "train" if spec.info.kind == "train" else None
        if not catalog.has_data(spec, split):
            raise ValueError(f"{where}: language {language!r} has no data: task {name!r} has no files under "
                             f"{catalog.data_root(spec) or 'no directory'} (set {catalog.data_setting(spec)})")


def _scaled(fraction: float, rate: Callable[[seqio.Task], float],
            members: Sequence[tuple[str, Callable[[seqio.Task], float]]]) -> Callable[[seqio.Task], float]:
    """A rate function: `fraction` x the task's rate / the sum of its group's rates (evaluated lazily)."""
    import seqio

    def scaled_rate(task: seqio.Task) -> float:
        group_total = sum(member_rate(seqio.get_mixture_or_task(name)) for name, member_rate in members)
        if group_total <= 0:
            raise ValueError(f"budget: the tasks {[name for name, _ in members][:3]} have no examples (rate 0)")
        return fraction * float(rate(task)) / group_total

    return scaled_rate


def make_budget_mixture(
    name: str,
    base_mixture: str,
    others: Mapping[str, str | Sequence[str]],
    total: int,
    share: float | int,
    weights: Mapping[str, float] | None = None,
    catalog: TaskCatalog = CATALOG,
) -> seqio.Mixture:
    """Registers `name`: base_mixture with a share of a fixed budget replaced by other languages' examples.

    others: {language: registered mixture name, or task names}; total: the budget in examples;
    share: a fraction in (0, 1) or an int count of `total`; weights: {language: weight}
    (default even). ValueError names the language or task at fault: a language without a
    registered mixture or without data, a task in another data language, one task in two
    parts, the base mixture's own language, a share outside (0, total).
    """
    import seqio

    where = f"budget mixture {name!r}"
    if not naming.SEQIO_NAME_PATTERN.match(name):
        raise ValueError(f"{where}: not a valid seqio mixture name")
    if base_mixture not in seqio.MixtureRegistry.names():
        raise ValueError(f"{where}: base mixture {base_mixture!r} is not registered here (its data is absent? "
                         "see `xlit tasks --mixtures`)")
    if not others:
        raise ValueError(f"{where}: give at least one other language ({{language: mixture}})")
    for language in others:
        if not isinstance(language, str) or not LANGUAGE_CODE.match(language):
            raise ValueError(f"{where}: {language!r} is not a language code (two or three lower-case letters)")
    fractions = language_shares(list(others), share_fraction(total, share), weights)
    base = _weighted_tasks(base_mixture, f"{where}, base")
    base_languages = {catalog.get(t).info.data_language for t, _ in base if t in catalog}
    clash = sorted(base_languages & set(others))
    if clash:
        raise ValueError(f"{where}: language {clash[0]!r} is the base mixture {base_mixture!r}'s own language")
    task_rates = [(t, _scaled(1.0 - sum(fractions.values()), rate, base)) for t, rate in base]
    seen = {t: BASE for t, _ in base}
    pinch_from: dict[str, list[str]] = {}
    for language, what in others.items():
        part = _weighted_tasks(what, f"{where}, language {language!r}")
        _check_languages([t for t, _ in part], language, f"{where}, language {language!r}", catalog)
        for task, rate in part:
            if task in seen:
                raise ValueError(f"{where}: task {task!r} is in both {seen[task]!r} and {language!r}")
            seen[task] = language
            task_rates.append((task, _scaled(fractions[language], rate, part)))
            pinch_from[task] = [task]
    return mixtures._register_mixture(name, task_rates, catalog, pinch_from=pinch_from)   # noqa: SLF001


def budget_rows(mixture_name: str, total: int | None = None, catalog: TaskCatalog = CATALOG) -> list[dict]:
    """Per data language of a registered mixture: its tasks, its share of the rates, and (with total) examples.

    Read from the mixture's own rates (seqio's sampling probabilities), so it checks a budget
    mixture independently of how it was built. Reads the example counts the rates need.
    """
    import seqio

    mixture = seqio.MixtureRegistry.get(mixture_name)
    rates: dict[str, float] = {}
    counts: dict[str, int] = {}
    for task in mixture.tasks:
        language = catalog.get(task.name).info.data_language if task.name in catalog else "?"
        rates[language] = rates.get(language, 0.0) + float(mixture.get_rate(task))
        counts[language] = counts.get(language, 0) + 1
    all_rates = sum(rates.values())
    rows = []
    for language in sorted(rates, key=lambda lang: -rates[lang]):
        row = {"language": language, "tasks": counts[language], "share": rates[language] / all_rates}
        if total is not None:
            row["expected_examples"] = row["share"] * total
        rows.append(row)
    return rows


def format_budget_rows(rows: Sequence[dict]) -> str:
    """A plain-text table of `budget_rows`."""
    lines = [f"{'language':<9} {'tasks':>5} {'share':>9}" + (" expected_examples" if rows and "expected_examples" in rows[0] else "")]
    for row in rows:
        line = f"{row['language']:<9} {row['tasks']:>5} {row['share']:>9.4%}"
        if "expected_examples" in row:
            line += f" {row['expected_examples']:>17.1f}"
        lines.append(line)
    return "\n".join(lines)
