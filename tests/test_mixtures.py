"""seqio_tasks.mixtures: which tasks each mixture holds, T0 rates (cap, temperature), pinch mixtures."""
import collections

import numpy as np
import pytest

seqio = pytest.importorskip("seqio")

from seqio_tasks import mixtures, naming, registration, task_specs, vocab  # noqa: E402
from seqio_tasks.catalog import TaskCatalog  # noqa: E402

LENGTHS = {"inputs": 256, "targets": 64}


@pytest.fixture(scope="module")
def small_vocabulary(tmp_path_factory, shared_data, task_catalog):
    """A small vocabulary trained from rendered training-task text."""
    texts = ["전쟁이 시작되었다. 병사들이 전투에 파견되었다.", "The war started. Soldiers were sent to the front."] * 10
    for spec in task_specs.all_specs():
        if spec.info.kind == "train" and task_specs.has_data(spec, task_specs.train_split(spec)):
            texts += [r["inputs"] for r in task_specs.rendered_examples(spec, max_examples=20)]
        if len(texts) > 500:
            break
    path = vocab.train_vocabulary(texts, tmp_path_factory.mktemp("vocab") / "spm.model", vocab_size=1500)
    return vocab.get_vocabulary(str(path))


@pytest.fixture(scope="module")
def registry(small_vocabulary):
    """Every task and mixture registered with the small vocabulary."""
    registered = registration.register_builtin(small_vocabulary.sentencepiece_model_file)
    return small_vocabulary, {"tasks": registered.tasks, "mixtures": registered.mixtures}


def _mixture_task_names(name):
    return [t.name for t in seqio.MixtureRegistry.get(name).tasks]


def test_registration_reads_no_data(shared_data):
    catalog = TaskCatalog()
    registration.load_builtin(data_dir=shared_data, catalog=catalog)
    definitions = mixtures.mixture_definitions(catalog)
    assert catalog.cached_row_splits() == 0
    assert "korani_train" in definitions and "bilingual_train" in definitions
    assert set(definitions["bilingual_train"]) == set(definitions["korani_train"]) | set(definitions.get("p3_t0_train", []))
    p3_training = [s.name for s in catalog.specs() if s.info.kind == "train" and s.info.meta == "p3"
                   and s.info.setting == "native"]
    assert sorted(definitions.get("p3_t0_train", [])) == sorted(p3_training)
    for setting in naming.SETTINGS:
        assert naming.heldout_mixture_name("korani", "ko", setting) in definitions
        assert naming.heldout_mixture_name("p3", "en", setting) in definitions


def test_training_mixtures_hold_native_training_tasks(registry):
    _, registered = registry
    for name, meta in (("korani_train", {"korani"}), ("p3_t0_train", {"p3"}), ("bilingual_train", {"korani", "p3"})):
        if name not in registered["mixtures"]:
            continue
        for task_name in _mixture_task_names(name):
            info = task_specs.task_info(task_name)
            assert info.kind == "train" and info.setting == "native" and info.meta in meta, (name, info)
            assert task_specs.num_examples(task_name) > 0


def test_heldout_mixtures_hold_their_setting(registry):
    _, registered = registry
    heldout = [m for m in registered["mixtures"] if m.split(".")[0].endswith("_heldout")]
    assert heldout, registered["mixtures"]
    for name in heldout:
        meta = name.split(".")[0][: -len("_heldout")]
        data_language, setting = name.split(".")[1:]
        for task_name in _mixture_task_names(name):
            info = task_specs.task_info(task_name)
            assert info.kind == "eval" and info.meta == meta and info.data_language == data_language
            assert task_specs.is_heldout(info.role)
            assert setting in (info.setting, info.template_category) or (
                setting == "all" and info.template_category not in naming.SEPARATE_CATEGORIES), (name, info)
    for meta, language in (("korani", "ko"), ("p3", "en")):
        all_name = naming.heldout_mixture_name(meta, language, "all")
        if all_name in registered["mixtures"]:
            parts = set()
            for setting in naming.SETTINGS:
                part = naming.heldout_mixture_name(meta, language, setting)
                if part in registered["mixtures"]:
                    parts |= set(_mixture_task_names(part))
            assert parts == set(_mixture_task_names(all_name))


def test_mixtures_hold_only_tasks_with_data(registry):
    _, registered = registry
    for name in registered["mixtures"]:
        for task_name in _mixture_task_names(name):
            if task_name.startswith("pinch."):   # a pinch task's rows are drawn from other tasks with data
                continue
            spec = task_specs.get_spec(task_name)
            split = task_specs.train_split(spec) if spec.info.kind == "train" else None
            assert task_specs.has_data(spec, split), (name, task_name)


def _train_tasks_with_data(count):
    """The `count` smallest native training tasks with data."""
    specs = [s for s in task_specs.all_specs() if s.info.kind == "train" and s.info.setting == "native"
             and task_specs.has_data(s, task_specs.train_split(s))]
    return sorted(specs, key=lambda s: task_specs.num_examples(s.name))[:count]


def test_examples_rate_cap_and_temperature(registry):
    specs = _train_tasks_with_data(3)
    if not specs:
        pytest.skip("no training task has data")
    for spec in specs:
        rows = len(task_specs.source_rows(spec, task_specs.train_split(spec)))
        templates = len(spec.info.template_ids)
        task = seqio.TaskRegistry.get(spec.name)
        assert mixtures.examples_rate(cap=None)(task) == rows
        # T0: each template's share is capped at cap / templates.
        cap = max(templates, rows // 2)
        assert mixtures.examples_rate(cap=cap)(task) == pytest.approx(templates * min(rows, cap / templates))
        assert mixtures.examples_rate(cap=10**9)(task) == pytest.approx(templates * rows)
        assert mixtures.examples_rate(cap=None, temperature=2.0)(task) == pytest.approx(rows ** 0.5)
    with pytest.raises(ValueError):
        mixtures.examples_rate(temperature=0)


def _which_task(example, inputs_by_task):
    key = tuple(example["inputs"].tolist())
    owners = [name for name, inputs in inputs_by_task.items() if key in inputs]
    return owners[0] if len(owners) == 1 else None


def _tokenized_inputs(name, split="train"):
    task = seqio.TaskRegistry.get(name)
    dataset = task.get_dataset(LENGTHS, split=split, shuffle=False, num_epochs=1)
    return {tuple(e["inputs"].tolist()) for e in dataset.as_numpy_iterator()}


def test_mixture_samples_at_its_rates(registry):
    specs = _train_tasks_with_data(2)
    if len(specs) < 2:
        pytest.skip("needs two training tasks with data")
    names = [s.name for s in specs]
    rates = {names[0]: 3.0, names[1]: 1.0}
    mixture = mixtures.make_mixture_from_tasks("test_mixture_rates", names, rate=lambda task: rates[task.name])
    inputs_by_task = {name: _tokenized_inputs(name) for name in names}
    draws = 2000
    dataset = mixture.get_dataset(LENGTHS, split="train", num_epochs=None, shuffle=True, seed=3)
    counts = collections.Counter(_which_task(e, inputs_by_task) for e in dataset.take(draws).as_numpy_iterator())
    known = counts[names[0]] + counts[names[1]]
    assert known > 0.9 * draws
    share = counts[names[0]] / known
    sigma = np.sqrt(0.75 * 0.25 / known)
    assert abs(share - 0.75) < 4 * sigma, counts


def _english_tasks_with_data(count=3):
    """English tasks with data: P3 training tasks when present, else English held-out eval tasks."""
    specs = [s for s in task_specs.all_specs() if s.info.data_language == "en" and s.info.kind == "train"
             and task_specs.has_data(s, task_specs.train_split(s))]
    specs = specs or [s for s in task_specs.all_specs() if s.info.data_language == "en" and s.info.kind == "eval"
                      and s.info.setting == "native" and task_specs.has_data(s)]
    return [s.name for s in mixtures_sorted(specs)[:count]]


def mixtures_sorted(specs):
    return sorted(specs, key=lambda s: (s.info.dataset, s.name))


def _base_and_other(registered):
    if "korani_train" not in registered["mixtures"]:
        pytest.skip("needs korani_train (Korean training data)")
    other = _english_tasks_with_data()
    if not other:
        pytest.skip("needs English tasks with data")
    return "korani_train", other


def test_pinch_task_holds_exactly_n_other_language_examples(registry):
    _, registered = registry
    base_name, other = _base_and_other(registered)
    n = 7
    mixture = mixtures.make_pinch_mixture(base_name, other, n)
    assert mixture.name == f"{base_name}.pinch_{len(other)}tasks_{n}"
    pinch = [t for t in mixture.tasks if t.name.startswith("pinch.")]
    assert len(pinch) == 1
    rows = list(pinch[0].get_dataset(LENGTHS, split="train", shuffle=False, num_epochs=1).as_numpy_iterator())
    assert len(rows) == n
    other_inputs = set()
    for name in other:
        other_inputs |= {r["inputs"] for r in task_specs.rendered_examples(task_specs.get_spec(name))}
        assert task_specs.task_info(name).data_language == "en"
    assert all(r["inputs_pretokenized"].decode() in other_inputs for r in rows)
    # Round-robin: the n rows come from every other task, as evenly as possible.
    owners = collections.Counter(
        next(name for name in other if r["inputs_pretokenized"].decode() in
             {x["inputs"] for x in task_specs.rendered_examples(task_specs.get_spec(name))}) for r in rows)
    assert max(owners.values()) - min(owners.values()) <= 1 and len(owners) == min(n, len(other))
    # Deterministic: the same rows again, and the same rows from a second mixture.
    again = mixtures.pinch_rows(other, n)
    assert [r["inputs_pretokenized"].decode() for r in rows] == [r["inputs"] for r in again]
    assert [r["inputs"] for r in mixtures.pinch_rows(other, n, seed=1)] != [r["inputs"] for r in again]
    # The base tasks keep their rates.
    base = seqio.MixtureRegistry.get(base_name)
    for task in base.tasks:
        assert mixture.get_rate(task) == pytest.approx(base.get_rate(task))


def test_pinch_rate_gives_n_per_base_epoch(registry):
    _, registered = registry
    base_name, other = _base_and_other(registered)
    n = 40
    mixture = mixtures.make_pinch_mixture(base_name, other, n, name="test_pinch_rate")
    base_tasks = [t for t in mixture.tasks if not t.name.startswith("pinch.")]
    pinch_task = next(t for t in mixture.tasks if t.name.startswith("pinch."))
    epoch = sum(task_specs.num_examples(t.name, "train") for t in base_tasks)
    rates = {t.name: mixture.get_rate(t) for t in mixture.tasks}
    expected_per_epoch = epoch * rates[pinch_task.name] / sum(rates[t.name] for t in base_tasks)
    assert expected_per_epoch == pytest.approx(n)
    # Sampled: the pinch share of draws matches n / (epoch + n) within sampling noise.
    pinch_inputs = _tokenized_inputs(pinch_task.name)
    draws = 3000
    dataset = mixture.get_dataset(LENGTHS, split="train", num_epochs=None, shuffle=True, seed=1)
    hits = sum(tuple(e["inputs"].tolist()) in pinch_inputs for e in dataset.take(draws).as_numpy_iterator())
    p = n / (epoch + n)
    assert abs(hits - draws * p) < 4 * np.sqrt(draws * p * (1 - p)) + 2, (hits, draws * p)


def test_pinch_needs_enough_examples(registry):
    other = _english_tasks_with_data(1)
    if not other:
        pytest.skip("needs an English task with data")
    total = task_specs.num_examples(other[0])
    with pytest.raises(ValueError, match="hold only"):
        mixtures.pinch_rows(other, total + 10)


def test_training_rate_from_gin(registry):
    import gin

    specs = [s for s in _train_tasks_with_data(1000) if s.info.meta == "korani"][:1]
    if not specs:
        pytest.skip("no KORANI training task has data")
    rows = len(task_specs.source_rows(specs[0], "train"))
    vocabulary, _ = registry
    try:
        gin.bind_parameter("xlit.training_rate_config.cap", None)
        gin.bind_parameter("xlit.training_rate_config.temperature", 2.0)
        registration.register_builtin(vocabulary.sentencepiece_model_file)
        mixture = seqio.MixtureRegistry.get("korani_train")
        task = seqio.TaskRegistry.get(specs[0].name)
        assert mixture.get_rate(task) == pytest.approx(rows ** 0.5)
    finally:
        gin.clear_config()
        registration.register_builtin(vocabulary.sentencepiece_model_file)
    task = seqio.TaskRegistry.get(specs[0].name)
    assert seqio.MixtureRegistry.get("korani_train").get_rate(task) == pytest.approx(
        mixtures.examples_rate_value(specs[0].name))


# ------------------------------------------------------- the real English training side (issue 10)

# T0's training datasets with release files in the shared data (PAWS from pawsx_xtreme/).
P3_TRAIN_WITH_DATA = {"cos_e", "social_i_qa", "dream", "cosmos_qa", "quail", "rotten_tomatoes", "ag_news", "trec",
                      "glue_mrpc", "paws", "common_gen", "wiki_qa"}


@pytest.fixture
def p3_data(shared_data):
    if not (shared_data / "p3_train").is_dir():
        pytest.skip(f"no p3_train/ in {shared_data}: the English training files are not there")
    return shared_data


def test_p3_t0_train_holds_every_english_training_dataset_at_t0_rates(registry, p3_data):
    import gin

    names = _mixture_task_names("p3_t0_train")
    assert {task_specs.task_info(n).dataset for n in names} == P3_TRAIN_WITH_DATA
    spec = task_specs.get_spec("rotten_tomatoes.train")
    templates = len(spec.info.template_ids)
    rows = task_specs.num_examples(spec.name)
    assert spec.info.origin == "promptsource" and templates >= 5 and rows == 2 * 4265
    # T0: examples-proportional, each (dataset, template) capped at 500,000 / templates (no cap reached here)
    task = seqio.TaskRegistry.get(spec.name)
    assert seqio.MixtureRegistry.get("p3_t0_train").get_rate(task) == pytest.approx(templates * min(rows, 500_000 / templates))
    vocabulary, _ = registry
    try:
        gin.bind_parameter("xlit.training_rate_config.cap", 1000)
        registration.register_builtin(vocabulary.sentencepiece_model_file)
        task = seqio.TaskRegistry.get(spec.name)
        assert seqio.MixtureRegistry.get("p3_t0_train").get_rate(task) == pytest.approx(1000)
    finally:
        gin.clear_config()
        registration.register_builtin(vocabulary.sentencepiece_model_file)


def test_bilingual_train_holds_both_languages(registry, p3_data):
    names = _mixture_task_names("bilingual_train")
    assert {task_specs.task_info(n).data_language for n in names} == {"en", "ko"}
    assert set(names) == set(_mixture_task_names("p3_t0_train")) | set(_mixture_task_names("korani_train"))
    assert mixtures.missing_languages("bilingual_train") == []
    mixtures.check_training_mixture("bilingual_train")


@pytest.mark.parametrize("name, base, other", [("p3_t0_train.pinch_korani", "p3_t0_train", "korani_train"),
                                               ("korani_train.pinch_p3", "korani_train", "p3_t0_train")])
def test_pinch_mixtures_both_ways(registry, p3_data, name, base, other):
    """The pinch mixtures gin/experiments/{p3_pinch_korani,korani_pinch_p3}.gin build, through the same function."""
    from seqio_tasks import experiments

    assert experiments.pinch_mixture(name=name, base_mixture=base, other_mixture=other, num_examples=12) == name
    assert mixtures.expected_languages(name) == {"en", "ko"}
    mixtures.check_training_mixture(name)
    pinch = next(t for t in seqio.MixtureRegistry.get(name).tasks if t.name.startswith("pinch."))
    rows = list(pinch.get_dataset(LENGTHS, split="train", shuffle=False, num_epochs=1).as_numpy_iterator())
    hangul = [any("\uac00" <= c <= "\ud7a3" for c in r["inputs_pretokenized"].decode()) for r in rows]
    assert len(rows) == 12 and all(hangul) == (other == "korani_train") and any(hangul) == (other == "korani_train")


def test_cross_lingual_template_mixtures(registry, p3_data):
    """p3_train.ko_korani: English data under Korean KORANI-style templates; korani_train.en_p3: the reverse."""
    for name, data_language, template_set in (("p3_train.ko_korani", "en", ("ko", "korani")),
                                              ("korani_train.en_p3", "ko", ("en", "p3"))):
        names = _mixture_task_names(name)
        infos = [task_specs.task_info(n) for n in names]
        assert names and all(i.kind == "train" and i.data_language == data_language and i.setting == "cross_lingual"
                             and (i.template_language, i.template_style) == template_set for i in infos), name
    english = {task_specs.task_info(n).dataset for n in _mixture_task_names("p3_train.ko_korani")}
    assert english == P3_TRAIN_WITH_DATA
    row = task_specs.rendered_examples(task_specs.get_spec("rotten_tomatoes.train.ko_korani"), max_examples=1)[0]
    assert any("\uac00" <= c <= "\ud7a3" for c in row["inputs"]) and row["targets"]
