"""seqio_tasks.budget: a fixed training budget with a share of 1, 2 or 4 other languages (exact in expectation)."""
import dataclasses
from pathlib import Path

import pytest

seqio = pytest.importorskip("seqio")

from seqio_tasks import budget, experiments, naming  # noqa: E402
from seqio_tasks.catalog import TaskCatalog  # noqa: E402
from seqio_tasks.task_specs import TaskInfo, TaskSpec  # noqa: E402

# Synthetic training tasks: {language: {task: rate in its language's mixture}}. Rates differ within a
# language, so a test sees whether each part keeps its relative rates.
RATES = {
    "en": {"syn_en_a": 5.0, "syn_en_b": 3.0, "syn_en_c": 2.0},
    "ko": {"syn_ko_a": 1.0, "syn_ko_b": 3.0},
    "ja": {"syn_ja_a": 7.0},
    "es": {"syn_es_a": 2.0, "syn_es_b": 2.0},
    "ar": {"syn_ar_a": 1.0, "syn_ar_b": 1.0, "syn_ar_c": 4.0},
}
NO_DATA = "syn_fi_nodata"
LANGUAGE_OF = {task: language for language, tasks in RATES.items() for task in tasks} | {NO_DATA: "fi"}


@dataclasses.dataclass
class FakeSource:
    """A source whose train files 'exist' unless it is the no-data task's."""

    name: str
    splits: tuple = ("train",)

    def data_root(self, data_dir, korani_dir):
        return data_dir

    def paths(self, split, data_root):
        return [] if self.name == NO_DATA else [Path(f"/synthetic/{self.name}.{split}")]


def _spec(task: str) -> TaskSpec:
    language = LANGUAGE_OF[task]
    info = TaskInfo(name=task, dataset=task, cluster="synthetic", role="train", data_language=language,
                    template_language=language, template_style="syn", template_id=None, setting="native",
                    scoring="generation", metrics=("exact_match",), kind="train", meta="synthetic",
                    splits=("train",), template_ids=("t1",))
    return TaskSpec(info=info, source=FakeSource(task))


@pytest.fixture
def catalog():
    """A temporary catalog of the synthetic tasks, registered with seqio, one mixture per language."""
    vocabulary = seqio.PassThroughVocabulary(size=128)
    features = {"inputs": seqio.Feature(vocabulary), "targets": seqio.Feature(vocabulary)}
    catalog = TaskCatalog(data_dir="/synthetic")
    catalog.reset(data_dir="/synthetic")
    for task in LANGUAGE_OF:
        catalog.add(_spec(task))
        if task in seqio.TaskRegistry.names():
            seqio.TaskRegistry.remove(task)
        seqio.TaskRegistry.add(task, source=seqio.FunctionDataSource(lambda split, shuffle_files: None, splits=["train"]),
                               output_features=features)
        catalog.record_seqio_task(task)
    for language, rates in RATES.items():
        name = f"syn_{language}_train"
        if name in seqio.MixtureRegistry.names():
            seqio.MixtureRegistry.remove(name)
        seqio.MixtureRegistry.add(name, [(task, rates[task]) for task in rates])
        catalog.add_mixture(name, list(rates))
    if "syn_fi_train" in seqio.MixtureRegistry.names():
        seqio.MixtureRegistry.remove("syn_fi_train")
    seqio.MixtureRegistry.add("syn_fi_train", [(NO_DATA, 1.0)])
    catalog.add_mixture("syn_fi_train", [NO_DATA])
    yield catalog
    catalog.reset()   # removes every task and mixture it recorded from seqio's registries


def _shares(mixture_name):
    """{language: summed sampling probability} and {task: probability}, from the mixture's own rates."""
    mixture = seqio.MixtureRegistry.get(mixture_name)
    rates = {task.name: mixture.get_rate(task) for task in mixture.tasks}
    total = sum(rates.values())
    by_language = {}
    for task, rate in rates.items():
        by_language[LANGUAGE_OF[task]] = by_language.get(LANGUAGE_OF[task], 0.0) + rate / total
    return by_language, {task: rate / total for task, rate in rates.items()}


@pytest.mark.parametrize("languages", [("ko",), ("ko", "ja"), ("ko", "ja", "es", "ar")])
@pytest.mark.parametrize("share", [0.1, 40])
def test_other_languages_take_exactly_the_share_split_evenly(catalog, languages, share):
    total = 1000
    name = f"syn_budget_{len(languages)}_{share}"
    others = {language: f"syn_{language}_train" for language in languages}
    budget.make_budget_mixture(name, "syn_en_train", others, total=total, share=share, catalog=catalog)
    fraction = share if isinstance(share, float) else share / total
    by_language, by_task = _shares(name)
    assert set(by_language) == {"en", *languages}
    assert sum(by_language[lang] for lang in languages) == pytest.approx(fraction, abs=1e-12)
    for language in languages:
        assert by_language[language] == pytest.approx(fraction / len(languages), abs=1e-12)
    assert by_language["en"] == pytest.approx(1 - fraction, abs=1e-12)
    # within each part, tasks keep their mixture's relative rates (an independent reference: RATES)
    for language in ("en", *languages):
        part_total = sum(RATES[language].values())
        for task, rate in RATES[language].items():
            assert by_task[task] == pytest.approx(by_language[language] * rate / part_total, abs=1e-12)
    # expected examples over the budget, read back from the registered rates
    rows = {row["language"]: row for row in budget.budget_rows(name, total, catalog)}
    assert sum(rows[lang]["expected_examples"] for lang in languages) == pytest.approx(fraction * total)
    assert rows["en"]["tasks"] == 3 and all(rows[lang]["tasks"] == len(RATES[lang]) for lang in languages)
    expected = budget.expected_examples(total, share, languages)
    assert expected[budget.BASE] == pytest.approx(rows["en"]["expected_examples"])
    assert all(expected[lang] == pytest.approx(rows[lang]["expected_examples"]) for lang in languages)
    # the catalog records the other-language tasks as the mixture's multilingual part
    entry = catalog.mixture(name)
    assert set(entry.pinch_from) == {t for lang in languages for t in RATES[lang]}


def test_weights_split_the_share_and_the_build_is_deterministic(catalog):
    others = {"ko": "syn_ko_train", "ja": "syn_ja_train", "es": "syn_es_train", "ar": "syn_ar_train"}
    weights = {"ko": 4, "ja": 2, "es": 1, "ar": 1}
    for name in ("syn_weighted_1", "syn_weighted_2"):
        budget.make_budget_mixture(name, "syn_en_train", others, total=10_000, share=800, weights=weights,
                                   catalog=catalog)
    first, second = _shares("syn_weighted_1")[1], _shares("syn_weighted_2")[1]
    assert first == second
    by_language = _shares("syn_weighted_1")[0]
    for language, weight in weights.items():
        assert by_language[language] == pytest.approx(0.08 * weight / 8, abs=1e-12)


def test_gin_configurable_takes_the_budget_from_steps_and_batch(catalog, monkeypatch):
    original = budget.make_budget_mixture   # the configurable reads the default catalog: point it at this one
    monkeypatch.setattr(budget, "make_budget_mixture",
                        lambda *args, **kwargs: original(*args, **{**kwargs, "catalog": catalog}))
    name = experiments.budget_mixture(name="syn_budget_gin", base_mixture="syn_en_train",
                                      other_mixtures={"ko": "syn_ko_train", "ja": "syn_ja_train"},
                                      share=8, train_steps=10, batch_size=8)
    assert name == "syn_budget_gin"
    by_language, _ = _shares(name)
    assert by_language["ko"] == pytest.approx(0.05) and by_language["ja"] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="train_steps and batch_size"):
        experiments.budget_mixture(name="syn_x", base_mixture="syn_en_train", other_mixtures={"ko": "syn_ko_train"},
                                   share=0.1)


@pytest.mark.parametrize("kwargs, message", [
    ({"share": 1000}, "less than the total 1000"),
    ({"share": 5000}, "less than the total 1000"),
    ({"share": 0}, "more than 0"),
    ({"share": 1.0}, "strictly between 0 and 1"),
    ({"share": -0.1}, "strictly between 0 and 1"),
    ({"share": True}, "fraction in \\(0, 1\\) or an int count"),
    ({"total": 0}, "positive number of examples"),
    ({"others": {"ja": "ja_train"}}, "language 'ja': no mixture or task named 'ja_train'"),
    ({"others": {"fi": "syn_fi_train"}}, "language 'fi' has no data: task 'syn_fi_nodata'"),
    ({"others": {"ko": "syn_ja_train"}}, "task 'syn_ja_a' holds 'ja' data, not 'ko'"),
    ({"others": {"en": "syn_ko_train"}}, "language 'en' is the base mixture"),
    ({"others": {"Korean": "syn_ko_train"}}, "'Korean' is not a language code"),
    ({"others": {}}, "at least one other language"),
    ({"weights": {"ko": 1, "zh": 1}}, "weights name languages that have no mixture: \\['zh'\\]"),
    ({"weights": {"ko": 0}}, "positive numbers"),
    ({"base": "nope_train"}, "base mixture 'nope_train' is not registered"),
])
def test_errors_name_what_is_wrong(catalog, kwargs, message):
    args = {"base": "syn_en_train", "others": {"ko": "syn_ko_train"}, "total": 1000, "share": 0.1, "weights": None}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        budget.make_budget_mixture("syn_budget_bad", args["base"], args["others"], total=args["total"],
                                   share=args["share"], weights=args["weights"], catalog=catalog)


def test_budget_gin_files_name_their_languages():
    """The 1/2/4-language experiment files spread the share over 1, 2 and 4 languages (mixture names as bound)."""
    import gin

    from xlit_jax import gin_utils
    from xlit_jax.commands import wiring

    wiring.import_configurables()
    expected = {"p3_budget_1lang.gin": ["ko"], "p3_budget_2lang.gin": ["ko", "ja"],
                "p3_budget_4lang.gin": ["ko", "ja", "es", "ar"]}
    try:
        for experiment, languages in expected.items():
            gin.clear_config()
            gin_utils.parse_gin(["models/mt5_tiny.gin", f"experiments/{experiment}"], ["MODEL_DIR = '/tmp/m'"])
            others = gin.query_parameter("%BUDGET_OTHER_MIXTURES")
            assert list(others) == languages and others["ko"] == "korani_train"
            assert all(naming.SEQIO_NAME_PATTERN.match(m) for m in others.values())
            fns = gin.query_parameter("xlit.register_experiment_mixtures.mixture_fns")
            assert [f.selector for f in fns] == ["xlit.budget_mixture"]
    finally:
        gin.clear_config()
