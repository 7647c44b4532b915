"""The demo corpus: small hand-written English and Korean datasets packaged with xlit.

Files: `seqio_tasks/demo/{family}_{lang}.{split}.jsonl`, each row in its family's canonical
schema with an `idx`. Training side (train + validation splits): sentiment, paraphrase and
boolq in English and Korean. Held-out (validation only): nli and copa in both languages.

Nothing registers on import. `seqio_tasks.registration.register_builtin(vocabulary_path)`
adds the demo (its default include_demo=True): `register_demo()` puts the demo sources and
taxonomy entries (meta "demo") in the registries, and after the tasks `register_mixtures()`
registers the demo mixtures. From then on the demo datasets are ordinary registry datasets:
their tasks are named like every other (`demo_nli_ko.en_p3.en_p3_01`,
`demo_sentiment_ko.train`, ...), and the evaluator and trainer read them through the same
code paths as the real benchmarks. Their files are resolved against this package directory,
not the data directory, so the demo runs right after installation without any data.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

from seqio_tasks.sources import fields, readers
from seqio_tasks.sources.base import Source
from seqio_tasks.sources.errors import MissingDataError, RowError
from seqio_tasks.sources.schema import check_example

DEMO_DIR = Path(__file__).resolve().parent
META = "demo"
LANGUAGES = ("en", "ko")
LICENCE = "CC0 1.0 (written for xlit)"
ORIGIN = "xlit (seqio_tasks/demo, hand-written)"
UPSTREAM = "xlit's packaged demo corpus (seqio_tasks/demo/*.jsonl)"

# family -> (cluster, role, splits, label names)
DEMO_FAMILIES: dict[str, tuple[str, str, tuple[str, ...], list[str] | None]] = {
    "sentiment": ("sentiment", "train", ("train", "validation"), ["negative", "positive"]),
    "paraphrase": ("paraphrasing", "train", ("train", "validation"), ["no", "yes"]),
    "boolq": ("multiple_choice_qa", "train", ("train", "validation"), ["no", "yes"]),
    "nli": ("natural_language_inference", "heldout", ("validation",), fields.NLI_LABELS),
    "copa": ("sentence_completion", "heldout", ("validation",), None),
}
TRAIN_FAMILIES = tuple(f for f, spec in DEMO_FAMILIES.items() if spec[1] == "train")
HELDOUT_FAMILIES = tuple(f for f, spec in DEMO_FAMILIES.items() if spec[1] == "heldout")

# Mixture names (registered by `register_mixtures`):
#   demo_train.{en,ko}           one language's training datasets, native templates
#   demo_train.bilingual         both languages, native templates
#   demo_train.{en,ko}.xlt       one language's training data under the other language's templates
#   demo_train.{en,ko}.pinch_{other}_{N}  monolingual + N examples of the other language (pinch)
TRAIN_MIXTURE = "demo_train.{language}"
BILINGUAL_MIXTURE = "demo_train.bilingual"
CROSS_TEMPLATE_MIXTURE = "demo_train.{language}.xlt"
DEFAULT_PINCH_SIZES = (8,)


def dataset_name(family: str, language: str) -> str:
    """The registry name of one demo dataset, e.g. demo_nli_ko."""
    return f"demo_{family}_{language}"


def _convert(family: str, num_labels: int | None):
    """A converter that checks a JSON row against its family's schema and keeps its own idx."""
    def convert(row: dict) -> dict:
        example = dict(row)
        problems = check_example(family, example, num_labels if num_labels is not None else 2)
        if problems:
            raise RowError("; ".join(problems))
        return example
    return convert


@dataclasses.dataclass
class PackagedSource(Source):
    """A Source whose files ship inside the package: resolved against `package_dir`, never the data dir."""

    package_dir: Path = DEMO_DIR

    def files(self, split: str) -> list[str]:
        """Absolute paths of `split`'s files inside the package."""
        return [str(Path(self.package_dir) / f) for f in super().files(split)]

    def paths(self, split: str, data_dir: str | Path | None = None) -> list[Path]:
        """The packaged files of `split` (`data_dir` is ignored); MissingDataError names a missing one."""
        del data_dir
        paths = [Path(f) for f in self.files(split)]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise MissingDataError(f"packaged source {self.name!r} split {split!r}: missing {', '.join(missing)} "
                                   f"(reinstall xlit; these files are part of the package)")
        return paths


def demo_sources() -> list[PackagedSource]:
    """One PackagedSource per (family, language) of the demo corpus."""
    sources = []
    for family, (_, _, splits, label_names) in DEMO_FAMILIES.items():
        num_labels = len(label_names) if label_names else None
        for language in LANGUAGES:
            name = dataset_name(family, language)
            sources.append(PackagedSource(
                name=name, family=family, language=language,
                split_files={split: (f"{family}_{language}.{split}.jsonl",) for split in splits},
                read=readers.jsonl, convert=_convert(family, num_labels), upstream=UPSTREAM,
                label_names=list(label_names) if label_names else None,
                description=f"demo {family} ({language}), hand-written sentences"))
    return sources


def demo_datasets() -> list:
    """Taxonomy entries (meta "demo") of the demo datasets."""
    from seqio_tasks.taxonomy import DatasetInfo

    infos = []
    for family, (cluster, role, _, _) in DEMO_FAMILIES.items():
        for language in LANGUAGES:
            name = dataset_name(family, language)
            infos.append(DatasetInfo(name=name, meta=META, language=language, cluster=cluster, kind="nlu",
                                     role=role, licence=LICENCE, public=True, family=family, source=name,
                                     origin=ORIGIN))
    return infos


def register_demo() -> list[str]:
    """Adds the demo sources and taxonomy entries (idempotent; TF-free); returns the dataset names."""
    from seqio_tasks import sources, taxonomy

    known_sources = {s.name for s in sources.all_sources()}
    for source in demo_sources():
        if source.name not in known_sources:
            sources.register_source(source)
    known = {d.name for d in taxonomy.all_datasets()}
    for info in demo_datasets():
        if info.name not in known:
            taxonomy.register(info)
    return [d.name for d in demo_datasets()]


def unregister_demo() -> None:
    """Removes the demo sources and taxonomy entries (`register_builtin(..., include_demo=False)` calls it).

    The taxonomy and source registries have no public removal, so this edits their module
    state directly. Re-register the tasks afterwards: the catalog still holds demo tasks
    until the next `register_builtin` / `load_builtin`.
    """
    from seqio_tasks import taxonomy
    from seqio_tasks.sources import registry

    names = {d.name for d in demo_datasets()}
    taxonomy._EXTRA[:] = [info for info in taxonomy._EXTRA if info.name not in names]
    for name in names:
        registry._REGISTRY.pop(name, None)


# --------------------------------------------------------------------- task names


def train_task_names(languages: Sequence[str] = LANGUAGES, template_language: str | None = None) -> list[str]:
    """Training tasks of the demo: native templates, or (template_language) another language's templates."""
    from seqio_tasks import naming, task_specs

    names = []
    for language in languages:
        for family in TRAIN_FAMILIES:
            dataset = dataset_name(family, language)
            if template_language is None or template_language == language:
                names.append(naming.train_task_name(dataset))
            else:
                style = task_specs.NATIVE_STYLE[template_language]
                names.append(naming.train_task_name(dataset, template_language, style))
    return names


def heldout_task_names(languages: Sequence[str] = LANGUAGES, settings: Sequence[str] | None = None,
                       families: Sequence[str] = HELDOUT_FAMILIES) -> list[str]:
    """Evaluation tasks of the demo's held-out datasets (all templates; optionally only some settings)."""
    from seqio_tasks import task_specs

    wanted = {dataset_name(f, lang) for f in families for lang in languages}
    return [spec.name for spec in task_specs.all_specs()
            if spec.info.kind == "eval" and spec.info.dataset in wanted
            and (settings is None or spec.info.setting in settings)]


# ------------------------------------------------------------------------ seqio side


def register_mixtures(pinch_sizes: Sequence[int] = DEFAULT_PINCH_SIZES) -> list[str]:
    """Registers the demo training mixtures (needs the demo tasks registered with seqio)."""
    from seqio_tasks import mixtures

    # Every example counts once per epoch: the T0 rate with the cap far above the demo's sizes.
    rate = mixtures.examples_rate(cap=None)
    names = []
    for language in LANGUAGES:
        other = [lang for lang in LANGUAGES if lang != language][0]
        name = TRAIN_MIXTURE.format(language=language)
        mixtures.make_mixture_from_tasks(name, train_task_names([language]), rate)
        names.append(name)
        cross = CROSS_TEMPLATE_MIXTURE.format(language=language)
        mixtures.make_mixture_from_tasks(cross, train_task_names([language], template_language=other), rate)
        names.append(cross)
    mixtures.make_mixture_from_tasks(BILINGUAL_MIXTURE, train_task_names(LANGUAGES), rate)
    names.append(BILINGUAL_MIXTURE)
    for language in LANGUAGES:
        for size in pinch_sizes:
            names.append(register_pinch(language, size).name)
    return names


def pinch_mixture_name(language: str, num_examples: int) -> str:
    """Name of the demo pinch mixture: `language`'s training mixture plus N examples of the other language."""
    other = [lang for lang in LANGUAGES if lang != language][0]
    return f"{TRAIN_MIXTURE.format(language=language)}.pinch_{other}_{num_examples}"


def register_pinch(language: str, num_examples: int, seed: int = 0):
    """Registers `pinch_mixture_name(language, N)` via the registry's pinch-mixture function."""
    from seqio_tasks import mixtures

    other = [lang for lang in LANGUAGES if lang != language][0]
    # the other language's mixture by name: the pinch task is named after it (distinct per direction)
    return mixtures.make_pinch_mixture(TRAIN_MIXTURE.format(language=language), TRAIN_MIXTURE.format(language=other),
                                       num_examples, name=pinch_mixture_name(language, num_examples), seed=seed)
