"""seqio_tasks.tasks / task_specs / naming / eval_data: names, settings, registration, batches."""
import csv
import os
import time

import numpy as np
import pytest

seqio = pytest.importorskip("seqio")

from seqio_tasks import eval_data, naming, registration, task_specs, tasks, templating, vocab  # noqa: E402
from seqio_tasks.catalog import TaskCatalog  # noqa: E402

LENGTHS = {"inputs": 128, "targets": 32}
FIXED_SENTENCES = [
    "전쟁이 시작되었다. 병사들이 전투에 파견되었다.", "남자는 토스트가 타는 냄새를 맡았다.",
    "The war started. Soldiers were sent to the front.", "A man smelled burning toast.",
] * 5


def _specs_with_data(kind=None):
    return [s for s in task_specs.all_specs()
            if (kind is None or s.info.kind == kind)
            and task_specs.has_data(s, None if s.info.kind == "eval" else task_specs.train_split(s))]


def _one_per(specs, key):
    seen, out = set(), []
    for spec in specs:
        value = key(spec)
        if value not in seen:
            seen.add(value)
            out.append(spec)
    return out


@pytest.fixture(scope="module", autouse=True)
def catalog(task_catalog):
    """The built-in task specs (every test here reads them)."""
    return task_catalog


@pytest.fixture(scope="module")
def small_vocabulary(tmp_path_factory, catalog):
    """A small vocabulary trained from rendered task text."""
    texts = list(FIXED_SENTENCES)
    for spec in _one_per(_specs_with_data("eval"), lambda s: (s.info.dataset, s.info.template_language)):
        for row in task_specs.rendered_examples(spec, max_examples=8):
            texts += [row["inputs"], row["targets"]]
        if len(texts) > 600:
            break
    path = vocab.train_vocabulary(texts, tmp_path_factory.mktemp("vocab") / "spm.model", vocab_size=1500)
    return vocab.get_vocabulary(str(path))


@pytest.fixture(scope="module")
def registry(small_vocabulary):
    """Every task and mixture registered with the small vocabulary."""
    return small_vocabulary, registration.register_builtin(small_vocabulary.sentencepiece_model_file)


# ------------------------------------------------------------------------------ naming


def test_name_pattern_is_seqios():
    assert naming.SEQIO_NAME_PATTERN.pattern == seqio.dataset_providers._VALID_TASK_NAME_REGEX.pattern


def test_names_round_trip_and_match_info():
    specs = task_specs.all_specs()
    assert specs, "no task specs: taxonomy, sources or templates missing"
    for spec in specs:
        info = spec.info
        assert seqio.dataset_providers._VALID_TASK_NAME_REGEX.match(info.name), info.name
        parsed = naming.parse(info.name)
        assert parsed["dataset"] == info.dataset
        if info.kind == "eval":
            assert parsed == {"kind": "eval", "dataset": info.dataset, "template_language": info.template_language,
                              "template_style": info.template_style, "template_id": info.template_id}
            assert naming.eval_task_name(info.dataset, info.template_language, info.template_style,
                                         info.template_id) == info.name
        else:
            assert parsed["kind"] == "train"
            if info.setting == "native":
                assert info.name == naming.train_task_name(info.dataset)
            else:
                assert info.name == naming.train_task_name(info.dataset, info.template_language, info.template_style)


def test_naming_examples_and_errors():
    assert naming.eval_task_name("kobest_copa", "en", "p3", "ps_more_likely") == "kobest_copa.en_p3.ps_more_likely"
    assert naming.parse("kobest_copa.en_p3.ps_more_likely") == {
        "kind": "eval", "dataset": "kobest_copa", "template_language": "en", "template_style": "p3",
        "template_id": "ps_more_likely"}
    assert naming.parse("kobest_boolq.train") ["kind"] == "train"
    assert naming.parse("kobest_boolq.train.en_p3")["template_style"] == "p3"
    assert naming.sanitize("GPT-3 style") == "gpt_3_style"
    assert naming.sanitize("does it follow that?") == "does_it_follow_that"
    for bad in ("kobest-copa.en_p3.x", "kobest_copa", "kobest_copa.english.x", "a.b.c.d"):
        with pytest.raises(ValueError):
            naming.parse(bad)
    with pytest.raises(ValueError):
        naming.eval_task_name("kobest.copa", "en", "p3", "x")
    with pytest.raises(ValueError):
        naming.eval_task_name("kobest_copa", "en", "p3", "GPT-3 style")
    assert naming.heldout_mixture_name("korani", "ko", "cross_lingual") == "korani_heldout.ko.cross_lingual"


# ---------------------------------------------------------------------------- settings


@pytest.mark.parametrize("data, template, style, expected", [
    ("ko", "ko", "korani", "native"),
    ("en", "en", "p3", "native"),
    ("ko", "en", "p3", "cross_lingual"),
    ("ko", "en", "korani", "cross_lingual"),
    ("en", "ko", "korani", "cross_lingual"),
    ("en", "ko", "p3", "cross_lingual"),
    ("ko", "ko", "p3", "translated"),
    ("en", "en", "korani", "translated"),
])
def test_setting_table(data, template, style, expected):
    assert naming.setting(data, template, style, {"ko": "korani", "en": "p3"}) == expected


def test_every_task_has_the_setting_of_its_languages_and_style():
    for spec in task_specs.all_specs():
        info = spec.info
        if info.template_language != info.data_language:
            expected = "cross_lingual"
        elif (info.data_language, info.template_style) in (("ko", "korani"), ("en", "p3")):
            expected = "native"
        else:
            expected = "translated"
        assert info.setting == expected, info
        assert info.scoring in ("rank", "generation")
        assert info.metrics


def test_heldout_datasets_have_native_and_cross_lingual_tasks():
    from seqio_tasks import taxonomy

    heldout = [d for d in taxonomy.all_datasets() if task_specs.is_heldout(d.role) and d.source]
    assert heldout
    by_dataset = {}
    for spec in task_specs.all_specs():
        by_dataset.setdefault(spec.info.dataset, set()).add(spec.info.setting)
    for dataset in heldout:
        languages = {t.language for t in templating.get_templates(family=dataset.family, dataset=dataset.name)}
        if {"ko", "en"} <= languages and dataset.language in languages:   # XCOPA's languages have no native set
            assert {"native", "cross_lingual"} <= by_dataset.get(dataset.name, set()), dataset.name


def test_english_heldout_tasks_include_promptsource_templates(shared_data):
    ps = [s for s in task_specs.all_specs() if s.info.origin == "promptsource"]
    if not (shared_data / "promptsource_templates").is_dir():
        pytest.skip("promptsource templates not in the data directory")
    assert ps, "no task uses promptsource templates"
    for spec in ps:
        info = spec.info
        ids = [info.template_id] if info.kind == "eval" else list(info.template_ids)   # training: every template
        assert ids and all(i.startswith(task_specs.PROMPTSOURCE_PREFIX) for i in ids), info.name
        if info.data_language == "en":
            assert (info.template_language, info.template_style) == ("en", "p3"), info.name
        else:   # the aligned arm: the English counterpart's templates on Korean data
            assert (info.template_language, info.template_style, info.template_category) == (
                "en", naming.ALIGNED_STYLE, "cross_lingual_aligned"), info.name


# ------------------------------------------------------------------------ registration


def test_register_builtin_registers_every_spec_once(registry):
    vocabulary, registered = registry
    names = {s.name for s in task_specs.all_specs()}
    assert set(registered.tasks) == names and len(registered.tasks) == len(names)
    assert names <= set(seqio.TaskRegistry.names())
    task = seqio.TaskRegistry.get(next(iter(names)))
    assert task.output_features["targets"].add_eos and task.output_features["inputs"].add_eos
    assert task.output_features["targets"].vocabulary.sentencepiece_model_file == vocabulary.sentencepiece_model_file


def test_task_info_matches_taxonomy():
    from seqio_tasks import taxonomy

    for spec in _one_per(task_specs.all_specs(), lambda s: s.info.dataset):
        info = tasks.task_info(spec.name)
        dataset = taxonomy.get(info.dataset)
        assert (info.cluster, info.role, info.data_language, info.family) == (
            dataset.cluster, dataset.role, dataset.language, dataset.family)
        assert info.eval_split is None or info.eval_split in info.splits


# ---------------------------------------------------------------------------- examples


def test_seqio_examples_equal_eval_data_rows(registry, shared_data):
    vocabulary, _ = registry
    specs = _one_per(_specs_with_data("eval"), lambda s: (s.info.meta, s.info.template_language, s.info.template_style,
                                                          s.info.origin, s.info.scoring))
    if not specs:
        pytest.skip("no evaluation task has data")
    for spec in specs:
        rows = eval_data.load_eval_examples(spec.name, max_examples=3)
        dataset = seqio.get_mixture_or_task(spec.name).get_dataset(
            LENGTHS, split=spec.info.eval_split, shuffle=False, num_epochs=1)
        examples = list(dataset.take(len(rows)).as_numpy_iterator())
        assert len(examples) == len(rows), spec.name
        for row, example in zip(rows, examples):
            assert example["inputs_pretokenized"].decode() == row["inputs"]
            assert example["targets_pretokenized"].decode() == row["targets"]
            assert int(example["idx"]) == row["idx"]
            assert [o.decode() for o in example["options"]] == (row["options"] or [])
            assert int(example["answer_index"]) == (-1 if row["answer_index"] is None else row["answer_index"])
            if row["options"]:
                assert row["options"][row["answer_index"]] == row["targets"]
            assert example["inputs"][-1] == 1 and example["targets"][-1] == 1  # EOS
            assert 0 not in example["inputs"]
            assert len(example["inputs"]) <= LENGTHS["inputs"]


def _check_batches(name, split):
    """One task's preprocessed examples through EncDecFeatureConverter, unpacked and packed."""
    task = seqio.get_mixture_or_task(name)
    examples = task.get_dataset(LENGTHS, split=split, shuffle=False, num_epochs=1).take(4)
    for packed in (False, True):
        converter = seqio.EncDecFeatureConverter(pack=packed)
        batch = next(converter(examples, LENGTHS).batch(2).as_numpy_iterator())
        assert batch["encoder_input_tokens"].shape[1] == LENGTHS["inputs"], name
        assert batch["decoder_target_tokens"].shape[1] == LENGTHS["targets"], name
        assert (batch["decoder_input_tokens"][:, 0] == 0).all()
        assert batch["decoder_loss_weights"].sum() > 0
        assert (batch["decoder_target_tokens"] == 1).any(axis=1).all(), name  # each row ends an answer with EOS
        if packed:
            assert batch["encoder_segment_ids"].max() >= 1


def _check_all(specs):
    for spec in specs:
        _check_batches(spec.name, spec.info.eval_split if spec.info.kind == "eval" else task_specs.train_split(spec))


def test_get_dataset_with_feature_converter(registry, shared_data):
    """seqio.get_dataset, the path trainers use, on one task, unpacked and packed."""
    spec = next(iter(_specs_with_data("train") or _specs_with_data()), None)
    if spec is None:
        pytest.skip("no task has data")
    split = task_specs.train_split(spec) or spec.info.eval_split
    for packed in (False, True):
        dataset = seqio.get_dataset(spec.name, LENGTHS, dataset_split=split, shuffle=True, seed=0, num_epochs=1,
                                    feature_converter=seqio.EncDecFeatureConverter(pack=packed))
        batch = next(dataset.batch(4).as_numpy_iterator())
        assert batch["encoder_input_tokens"].shape == (4, LENGTHS["inputs"])
        assert ("encoder_segment_ids" in batch) == packed


def test_tasks_of_each_kind_yield_batches(registry, shared_data):
    specs = _one_per(_specs_with_data(), lambda s: (s.info.meta, s.info.kind, s.info.origin, s.info.setting))
    if not specs:
        pytest.skip("no task has data")
    _check_all(specs)


@pytest.mark.slow
def test_every_task_with_data_yields_batches(registry, shared_data):
    """Every task with data: two preprocessed examples each, then all of them through the converter.

    Building one tf.data pipeline per task costs ~0.3 s of CPU (seqio traces its maps), so
    the feature converter (packed and unpacked) runs once over every task's examples.
    """
    import tensorflow as tf

    specs = _specs_with_data()
    if not specs:
        pytest.skip("no task has data")
    inputs, targets = [], []
    for spec in specs:
        split = spec.info.eval_split if spec.info.kind == "eval" else task_specs.train_split(spec)
        task = seqio.get_mixture_or_task(spec.name)
        examples = list(task.get_dataset(LENGTHS, split=split, shuffle=False, num_epochs=1,
                                         try_in_mem_cache=False).take(2).as_numpy_iterator())
        assert examples, spec.name
        for example in examples:
            assert example["inputs"][-1] == 1 and example["targets"][-1] == 1, spec.name
            assert 0 < len(example["inputs"]) <= LENGTHS["inputs"] and 0 not in example["inputs"], spec.name
            inputs.append(example["inputs"])
            targets.append(example["targets"])
    dataset = tf.data.Dataset.from_tensor_slices({
        "inputs": tf.ragged.constant(inputs, dtype=tf.int32), "targets": tf.ragged.constant(targets, dtype=tf.int32)})
    unpacked = list(seqio.EncDecFeatureConverter(pack=False)(dataset, LENGTHS).as_numpy_iterator())
    assert len(unpacked) == len(inputs)
    for row, expected in zip(unpacked, inputs):
        assert list(row["encoder_input_tokens"][: len(expected)]) == list(expected)
    packed = list(seqio.EncDecFeatureConverter(pack=True)(dataset, LENGTHS).as_numpy_iterator())
    assert sum(int(row["encoder_segment_ids"].max()) for row in packed) == len(inputs)


def test_training_task_spreads_rows_over_its_templates(registry, shared_data):
    specs = [s for s in _specs_with_data("train") if s.info.setting == "native" and len(s.info.template_ids) > 1]
    if not specs:
        pytest.skip("no training task with data and several templates")
    spec = specs[0]
    info = spec.info
    own = {t.id: t for t in templating.get_templates(family=info.family, dataset=info.dataset)}
    rows = task_specs.rendered_examples(spec, max_examples=2 * len(info.template_ids))
    source = task_specs.source_rows(spec, task_specs.train_split(spec))
    for position, row in enumerate(rows[: len(info.template_ids)]):
        template_id = info.template_ids[position % len(info.template_ids)]
        if template_id in own and row["idx"] == source[position]["idx"]:
            expected = own[template_id].render(source[position], max_field_chars=task_specs.MAX_FIELD_CHARS)
            assert row["inputs"] == expected.inputs
            assert row["targets"] == expected.targets


def test_kobest_copa_answers_match_the_tsv(registry, shared_data):
    path = shared_data / "kobest" / "COPA" / "test.tsv"
    specs = [s for s in _specs_with_data("eval") if s.info.family == "copa" and s.info.data_language == "ko"
             and s.info.eval_split == "test" and s.info.scoring == "rank"]
    if not specs or not path.is_file():
        pytest.skip("KoBEST COPA test data or tasks missing")
    with open(path, encoding="utf-8") as handle:
        answers = [int(row["Answer"]) - 1 for row in csv.DictReader(handle, delimiter="\t")]
    for spec in specs[:3]:
        rows = eval_data.load_eval_examples(spec.name, max_examples=50)
        assert [r["answer_index"] for r in rows] == answers[: len(rows)], spec.name


def test_eval_data_needs_no_tensorflow(shared_data):
    import subprocess
    import sys

    specs = _specs_with_data("eval")
    if not specs:
        pytest.skip("no evaluation task has data")
    code = ("import sys; from seqio_tasks import eval_data, mixtures, registration; registration.load_builtin(); "
            f"rows = eval_data.load_eval_examples({specs[0].name!r}, max_examples=2); "
            "assert mixtures.mixture_definitions(); "
            "assert rows and 'tensorflow' not in sys.modules and 'seqio' not in sys.modules, sorted(sys.modules); "
            "print(len(rows))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ),
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "2"


def test_missing_data_is_a_clear_error(tmp_path, registry):
    catalog = TaskCatalog()
    registration.load_builtin(data_dir=tmp_path, catalog=catalog)
    spec = next(s for s in catalog.specs() if s.info.kind == "eval" and not s.source_name.startswith("demo_"))
    assert not catalog.has_data(spec)
    assert catalog.num_examples(spec.name) is None
    with pytest.raises(FileNotFoundError, match=spec.name) as error:
        eval_data.load_eval_examples(spec.name, catalog=catalog)
    assert "XLIT_DATA_DIR" in str(error.value) and str(tmp_path) in str(error.value)


def _write_dump_csv(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["input", "output", "choices", "dataset_name", "id"])
        writer.writerows(rows)


def test_korani_dump_tasks(tmp_path, registry):
    """A KORANI release dump in its CSV layout gives dump eval tasks per template and dump training tasks."""
    root = tmp_path / "KORANI"
    _write_dump_csv(root / "sentence_completion" / "kobest_copa" / "test_tmp1.csv", [
        ("비가 왔다. 결과는? 선택지: 우산을 폈다, 춤을 췄다", "우산을 폈다", "우산을 폈다|||춤을 췄다", "kobest_copa", "1"),
        ("배가 고팠다. 결과는? 선택지: 밥을 먹었다, 잠을 잤다", "밥을 먹었다", "밥을 먹었다|||잠을 잤다", "kobest_copa", "2"),
    ])
    _write_dump_csv(root / "sentence_completion" / "kobest_copa" / "test_tmp2.csv", [
        ("비가 왔다. 어떤 일이 일어났나요?", "우산을 폈다", "춤을 췄다|||우산을 폈다", "kobest_copa", "1"),
        ("배가 고팠다. 이 문장은 긍정인가요?", "예", "밥을 먹었다|||잠을 잤다", "kobest_copa", "2"),
    ])
    _write_dump_csv(root / "sentiment" / "naver_movie" / "train.csv", [
        ("이 영화 최고다. 긍정 또는 부정?", "긍정", "긍정|||부정", "naver_movie", str(i)) for i in range(5)
    ])
    try:
        registered = registration.register_builtin(registry[0].sentencepiece_model_file, korani_dir=tmp_path)
        names = {s.name for s in task_specs.all_specs()}
        assert {"kobest_copa.ko_korani.dump1", "kobest_copa.ko_korani.dump2", "naver_movie.train"} <= names
        info = task_specs.task_info("kobest_copa.ko_korani.dump2")
        assert (info.origin, info.setting, info.template_language, info.template_style, info.eval_split) == (
            "korani_dump", "native", "ko", "korani", "test")
        rows = eval_data.load_eval_examples("kobest_copa.ko_korani.dump2")
        assert [r["answer_index"] for r in rows] == [1, None]   # row 2's target is not among its choices
        assert rows[0]["options"] == ["춤을 췄다", "우산을 폈다"] and rows[1]["options"] is None
        assert task_specs.num_examples("kobest_copa.ko_korani.dump1") == 2
        assert task_specs.num_examples("naver_movie.train") == 5
        assert "kobest_copa.ko_korani.dump1" in seqio.TaskRegistry.names()
        assert "naver_movie.train" in [t.name for t in seqio.MixtureRegistry.get("korani_train").tasks]
        assert "kobest_copa.ko_korani.dump1" in [t.name for t in seqio.MixtureRegistry.get("korani_heldout.ko.dump").tasks]
        assert "kobest_copa.ko_korani.dump1" not in [t.name for t in seqio.MixtureRegistry.get("korani_heldout.ko.all").tasks]
        example = next(seqio.get_mixture_or_task("kobest_copa.ko_korani.dump1").get_dataset(
            LENGTHS, split="test", shuffle=False, num_epochs=1).as_numpy_iterator())
        assert example["targets_pretokenized"].decode() == "우산을 폈다" and int(example["answer_index"]) == 0
        assert registered.tasks
    finally:
        registration.register_builtin(registry[0].sentencepiece_model_file)
    assert "kobest_copa.ko_korani.dump1" not in seqio.TaskRegistry.names()


def test_expand_rank_classification():
    from seqio_tasks import preprocessors

    rows = [{"idx": 7, "inputs": "비가 왔다. 결과는?", "targets": "우산을 폈다", "options": ["춤을 췄다", "우산을 폈다", "잠을 잤다"],
             "answer_index": 1},
            {"idx": 8, "inputs": "Translate: hello", "targets": "안녕", "options": None, "answer_index": None}]
    dataset = preprocessors.rows_to_dataset(rows)
    plain = list(dataset.as_numpy_iterator())
    assert int(plain[1]["answer_index"]) == -1 and len(plain[1]["options"]) == 0
    expanded = list(preprocessors.expand_rank_classification(dataset).as_numpy_iterator())
    assert [r["targets"].decode() for r in expanded] == rows[0]["options"]
    assert [bool(r["is_correct"]) for r in expanded] == [False, True, False]
    assert {int(r["idx"]) for r in expanded} == {7} and all(r["inputs"].decode() == rows[0]["inputs"] for r in expanded)


# ------------------------------------------------------------ T0's training side (English P3 datasets)


def test_p3_training_task_renders_every_promptsource_template(shared_data):
    """T0 trained each dataset on all its promptsource templates; evaluation uses the original-task ones."""
    from seqio_tasks import promptsource, taxonomy

    folder = shared_data / "promptsource_templates"
    if not folder.is_dir() or not (shared_data / "p3_train").is_dir():
        pytest.skip("needs promptsource_templates/ and p3_train/ in the data directory")
    for info in taxonomy.training("p3"):
        if not info.source:
            continue
        every = [t for f in info.promptsource
                 for t in promptsource.load_promptsource_templates(*(f.split("/") + [None])[:2], folder,
                                                                   original_task_only=False)]
        spec = task_specs.get_spec(f"{info.name}.train")
        assert spec.info.origin == "promptsource" and spec.info.setting == "native", info.name
        assert spec.info.template_ids == tuple(t.template_id for t in every), info.name
        assert all(r.max_field_chars == task_specs.MAX_FIELD_CHARS and r.family == info.family for r in spec.renderers)
        evals = [s for s in task_specs.all_specs() if s.info.kind == "eval" and s.info.dataset == info.name
                 and s.info.origin == "promptsource"]
        assert {s.info.template_id for s in evals} <= {t.template_id for t in every if t.original_task}


def test_p3_training_task_without_promptsource_uses_english_p3_yaml(tmp_path):
    catalog = TaskCatalog()
    registration.load_builtin(data_dir=tmp_path, catalog=catalog)
    info = catalog.get("rotten_tomatoes.train").info
    assert (info.origin, info.template_language, info.template_style, info.setting) == ("templates", "en", "p3", "native")
    own = templating.get_templates(family="sentiment", dataset="rotten_tomatoes", language="en", style="p3")
    assert info.template_ids == tuple(t.template_id for t in own)


def test_no_promptsource_template_is_left_out_for_want_of_a_converter(tmp_path, shared_data, caplog):
    if not (shared_data / "promptsource_templates").is_dir():
        pytest.skip("promptsource templates not in the data directory")
    with caplog.at_level("INFO", logger="seqio_tasks.task_specs"):
        registration.load_builtin(data_dir=shared_data, catalog=TaskCatalog())
    assert "no canonical -> HF converter" not in caplog.text


def test_datasets_labelled_only_in_train_have_no_evaluation_tasks():
    for dataset in ("cosmos_qa", "quail", "paws", "parakqc"):
        specs = [s for s in task_specs.all_specs() if s.info.dataset == dataset]
        assert specs and all(s.info.kind == "train" for s in specs), dataset
    assert all(s.info.eval_split != "train" for s in task_specs.all_specs() if s.info.kind == "eval")


def test_common_gen_is_scored_by_rouge_l():
    specs = [s for s in task_specs.all_specs() if s.info.dataset == "common_gen" and s.info.kind == "eval"]
    assert specs and all(s.info.metrics == ("rouge_l",) for s in specs)


def test_training_row_goes_to_the_next_template_that_applies(shared_data):
    """WikiQA train rows lack document titles, most are wrong answers: no row is lost, no title is empty."""
    if not (shared_data / "p3_train").is_dir():
        pytest.skip("needs p3_train/ in the data directory")
    spec = task_specs.get_spec("wiki_qa.train")
    rows = task_specs.rendered_examples(spec, max_examples=300)
    source = task_specs.source_rows(spec, "train")
    assert [r["idx"] for r in rows] == [r["idx"] for r in source[:300]]
    assert not any("topic is ." in r["inputs"] or 'topic ""' in r["inputs"] for r in rows)
    # a row whose own template applies keeps it (the first row: template 0)
    first = spec.renderers[0].render(source[0])
    if first is not None and first.targets.strip():
        assert rows[0]["inputs"] == first.inputs
