"""seqio_tasks.registration and the task catalog: explicit registration, reset, checks, eval-task loading,
and the one renderer protocol every task renders through."""
import logging
from pathlib import Path

import pytest

seqio = pytest.importorskip("seqio")

from seqio_tasks import eval_data, mixtures, promptsource, registration, task_specs, templating, vocab  # noqa: E402
from seqio_tasks.catalog import CatalogNotLoadedError, TaskCatalog  # noqa: E402
from seqio_tasks.renderers import PrerenderedPrompts, Renderer  # noqa: E402
from seqio_tasks.sources.base import Source  # noqa: E402

SENTENCES = ["전쟁이 시작되었다. 병사들이 전투에 파견되었다.", "남자는 토스트가 타는 냄새를 맡았다.",
             "The war started. Soldiers were sent to the front.", "A man smelled burning toast."] * 20
KOREAN_ONLY = ("kobest", "klue")   # folders of ../shared/data linked into a Korean-only data directory


def _vocabulary(path: Path, size: int) -> str:
    return str(vocab.train_vocabulary(SENTENCES, path, vocab_size=size))


@pytest.fixture(scope="module")
def korean_only_data(tmp_path_factory, shared_data) -> Path:
    """A data directory with Korean benchmark data only (symlinks into the shared data)."""
    root = tmp_path_factory.mktemp("korean_only")
    for name in KOREAN_ONLY:
        if not (shared_data / name).is_dir():
            pytest.skip(f"no {name} under {shared_data}")
        (root / name).symlink_to(shared_data / name)
    return root


@pytest.fixture(scope="module")
def korean_registration(tmp_path_factory, korean_only_data):
    """Everything registered over the Korean-only data; the default data directory is registered again after."""
    path = _vocabulary(tmp_path_factory.mktemp("vocab") / "spm.model", 400)
    registered = registration.register_builtin(path, data_dir=korean_only_data)
    registered.vocabulary_path = path
    yield registered
    registration.register_builtin(path)


def test_registering_twice_switches_the_vocabulary(tmp_path):
    first = _vocabulary(tmp_path / "a.model", 400)
    second = _vocabulary(tmp_path / "b.model", 420)
    registered = registration.register_builtin(first)
    assert registered.tasks and "demo_train.bilingual" in registered.mixtures
    task = seqio.TaskRegistry.get("demo_sentiment_ko.train")
    assert task.output_features["inputs"].vocabulary.sentencepiece_model_file == first
    again = registration.register_builtin(second)
    assert sorted(again.tasks) == sorted(registered.tasks) and sorted(again.mixtures) == sorted(registered.mixtures)
    for name in ("demo_sentiment_ko.train", "demo_nli_en.en_p3.en_p3_01"):
        assert seqio.TaskRegistry.get(name).output_features["targets"].vocabulary.sentencepiece_model_file == second
    mixture = seqio.MixtureRegistry.get("demo_train.ko")
    assert all(t.output_features["inputs"].vocabulary.sentencepiece_model_file == second for t in mixture.tasks)


def test_without_the_demo_nothing_of_it_is_registered(tmp_path):
    path = _vocabulary(tmp_path / "a.model", 400)
    try:
        registered = registration.register_builtin(path, include_demo=False)
        assert not [n for n in registered.tasks + registered.mixtures if n.startswith("demo_")]
        assert "demo_sentiment_ko.train" not in seqio.TaskRegistry.names()
        assert "demo_train.ko" not in seqio.MixtureRegistry.names()
    finally:
        registration.register_builtin(path)
    assert "demo_sentiment_ko.train" in seqio.TaskRegistry.names()


def test_reset_removes_the_catalogs_tasks_and_mixtures(tmp_path):
    path = _vocabulary(tmp_path / "a.model", 400)
    catalog = TaskCatalog()
    with pytest.raises(CatalogNotLoadedError, match="register_builtin"):
        catalog.names()
    registration.load_builtin(catalog=catalog)
    spec = catalog.get("demo_sentiment_ko.train")
    registration.register_builtin(path)
    assert "demo_sentiment_ko.train" in seqio.TaskRegistry.names()
    task_specs.CATALOG.remove("demo_sentiment_ko.train")
    assert "demo_sentiment_ko.train" not in seqio.TaskRegistry.names()
    assert "demo_sentiment_ko.train" not in task_specs.CATALOG
    task_specs.CATALOG.reset()
    assert len(task_specs.CATALOG) == 0 and task_specs.CATALOG.names() == []
    assert "demo_nli_ko.ko_korani.ko_korani_01" not in seqio.TaskRegistry.names()
    assert "demo_train.ko" not in seqio.MixtureRegistry.names()
    task_specs.CATALOG.add(spec)
    assert task_specs.CATALOG.names() == ["demo_sentiment_ko.train"]
    with pytest.raises(ValueError, match="duplicate"):
        task_specs.CATALOG.add(spec)
    registration.register_builtin(path)
    assert "demo_train.ko" in seqio.MixtureRegistry.names()


def test_unknown_names_suggest_close_ones(korean_registration):
    with pytest.raises(ValueError, match="did you mean: korani_train"):
        mixtures.check_training_mixture("korani_trian")
    with pytest.raises(KeyError, match="demo_sentiment_ko.train"):
        task_specs.get_spec("demo_sentiment_ko.trian")
    for malformed in ("no such/name!!", "", "a.b.c.d.e"):
        with pytest.raises(KeyError, match="no task"):
            task_specs.get_spec(malformed)
    with pytest.raises(ValueError, match="did you mean: .*korani_heldout.ko.native"):
        eval_data.registry_eval_tasks("korani_heldout.ko.nativ")


def test_bilingual_check_names_the_missing_language(korean_registration, korean_only_data, caplog):
    assert "bilingual_train" in korean_registration.mixtures
    assert mixtures.missing_languages("bilingual_train") == ["en"]
    with pytest.raises(ValueError, match=r"bilingual.*no en data.*ALLOW_MONOLINGUAL") as error:
        mixtures.check_training_mixture("bilingual_train")
    assert str(korean_only_data) in str(error.value)
    mixtures.check_training_mixture("bilingual_train", allow_monolingual=True)
    mixtures.check_training_mixture("korani_train")
    with pytest.raises(ValueError, match=r"p3_t0_train.*no.*data.*XLIT_DATA_DIR"):
        mixtures.check_training_mixture("p3_t0_train")
    with caplog.at_level(logging.INFO, logger="seqio_tasks"):
        registration.register_builtin(korean_registration.vocabulary_path, data_dir=korean_only_data)
    warnings = [r.getMessage() for r in caplog.records if "bilingual_train" in r.getMessage()]
    assert len(warnings) == 1 and "no en data" in warnings[0]
    assert len(caplog.records) < 20, [r.getMessage()[:100] for r in caplog.records]


def test_pinch_mixture_without_the_other_language_is_refused(korean_registration):
    english = [n for n in task_specs.CATALOG.names() if n.startswith("demo_sentiment_en.train")][:1]
    mixture = mixtures.make_pinch_mixture("korani_train", english, 4, name="test_pinch_check")
    assert mixtures.missing_languages(mixture.name) == []
    mixtures.check_training_mixture(mixture.name)
    absent = [s.name for s in task_specs.all_specs() if s.info.data_language == "en" and s.info.kind == "train"
              and not task_specs.has_data(s)][:2]
    mixtures.make_pinch_mixture("korani_train", absent, 4, name="test_pinch_absent")
    with pytest.raises(ValueError, match="no en data"):
        mixtures.check_training_mixture("test_pinch_absent")


def test_registry_eval_tasks_from_a_mixture_and_a_regex(korean_registration):
    from_mixture = eval_data.registry_eval_tasks("korani_heldout.ko.native", max_examples=2)
    expected = [t for t in seqio.MixtureRegistry.get("korani_heldout.ko.native").tasks]
    assert [t.name for t in from_mixture] == [t.name for t in expected]
    assert all(len(t.examples) == 2 and t.info["setting"] == "native" for t in from_mixture)
    from_regex = eval_data.registry_eval_tasks(r"demo_nli_ko[.]ko_korani[.].*", max_examples=1, split="validation")
    names = [t.name for t in from_regex]
    assert names and all(n.startswith("demo_nli_ko.ko_korani.") for n in names)
    assert names == sorted(n for n in task_specs.CATALOG.names() if n.startswith("demo_nli_ko.ko_korani."))
    both = eval_data.registry_eval_tasks([names[0], r"demo_nli_ko[.]ko_korani[.].*"], max_examples=1)
    assert [t.name for t in both] == names   # duplicates once, in order
    with pytest.raises(ValueError, match=r"none with data.*XLIT_DATA_DIR"):
        eval_data.registry_eval_tasks(r"super_glue_rte[.].*")


# ------------------------------------------------------------------- the renderer protocol


class _RowsSource(Source):
    """A Source over rows in memory (no files): `paths` is empty-free, `load` returns the rows."""

    def __init__(self, name, rows):
        super().__init__(name=name, family="nli", language="en", split_files={"validation": ("rows",)},
                         read=lambda paths: [], convert=dict, upstream="this test")
        self.rows = rows

    def paths(self, split, data_dir=None):
        return [Path("rows")]

    def load(self, split, data_dir=None, on_error="raise", backend="local"):
        return [dict(row) for row in self.rows]


NLI_ROWS = [{"idx": 0, "premise": "It rains.", "hypothesis": "It is wet.", "label": 0},
            {"idx": 1, "premise": "It is sunny.", "hypothesis": "It snows.", "label": 2}]
DUMP_ROWS = [{"idx": 0, "inputs": "비가 온다. 젖었나?", "targets": "예", "options": ["예", "아니오"], "label": 0,
              "scoring": "rank", "template_index": 3},
             {"idx": 1, "inputs": "다른 템플릿", "targets": "예", "options": ["예", "아니오"], "label": 0,
              "scoring": "rank", "template_index": 4}]
YAML_TEMPLATE = templating.Template(id="t_yaml", family="nli", language="en", style="p3",
                                    input="{{ premise }} Does it follow that {{ hypothesis }}?",
                                    target="{{ answer_choices[label] }}", answer_choices=["yes", "maybe", "no"])
PS_TEMPLATE = promptsource.PromptsourceTemplate(
    dataset="super_glue", subset="rte", id="x", name="does it follow", original_task=True,
    jinja="{{premise}} Does it follow that {{hypothesis}}? ||| {{ answer_choices[label] }}",
    answer_choices="yes ||| no", choices_in_prompt=False, metrics=("Accuracy",), languages=("en",))


@pytest.mark.parametrize("renderer, rows, expected", [
    (YAML_TEMPLATE, NLI_ROWS, [("It rains. Does it follow that It is wet.?", "yes", 0),
                               ("It is sunny. Does it follow that It snows.?", "no", 2)]),
    (PS_TEMPLATE, NLI_ROWS[:1], [("It rains. Does it follow that It is wet.?", "yes", 0)]),
    (PrerenderedPrompts(3), DUMP_ROWS, [("비가 온다. 젖었나?", "예", 0)]),
], ids=["yaml", "promptsource", "korani_dump"])
def test_every_renderer_kind_renders_through_one_code_path(renderer, rows, expected):
    assert isinstance(renderer, Renderer) and renderer.ranks
    catalog = TaskCatalog()
    catalog.reset()
    info = task_specs.TaskInfo(
        name=f"proto_test.{renderer.language}_{renderer.style}.{renderer.template_id}", dataset="proto_test",
        cluster="nli", role="heldout", data_language="en", template_language=renderer.language,
        template_style=renderer.style, template_id=renderer.template_id, setting="native", scoring="rank",
        metrics=("accuracy",), splits=("validation",), eval_split="validation", origin=renderer.origin)
    spec = catalog.add(task_specs.TaskSpec(info=info, source=_RowsSource("proto_rows", rows), renderers=(renderer,)))
    rendered = task_specs.rendered_examples(spec, catalog=catalog)
    assert [(r["inputs"], r["targets"], r["answer_index"]) for r in rendered] == expected
    assert all(r["options"][r["answer_index"]] == r["targets"] for r in rendered)
    assert catalog.num_examples(spec.name) == len(rows)
    assert {PS_TEMPLATE.template_id, YAML_TEMPLATE.template_id, PrerenderedPrompts(3).template_id} == {
        "ps_does_it_follow", "t_yaml", "dump3"}


def test_templates_and_promptsource_share_one_jinja_environment():
    from seqio_tasks import jinja_env

    assert templating._compile("{{ x }}").environment is jinja_env.ENVIRONMENT
    assert promptsource._compile("{{ x }}").environment is jinja_env.ENVIRONMENT
    assert {"josa", "choice", "most_frequent"} <= set(jinja_env.ENVIRONMENT.filters)
