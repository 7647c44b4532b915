"""The KORANI evaluation protocol: template categories of real tasks, the aligned cross-lingual arm
(real promptsource templates on real Korean rows), English native = promptsource only, and
`xlit report --baseline / --template_set / --seen_languages` on hand-written results documents
whose numbers are worked out by hand below."""
import csv
import json

import pytest

from seqio_tasks import naming, promptsource, task_specs, taxonomy
from xlit_jax import aggregation, reports
from xlit_jax.commands import report as report_command

# ---------------------------------------------------------------------- categories of real tasks


def test_the_core_and_the_registry_list_the_same_categories():
    assert aggregation.TEMPLATE_CATEGORIES == naming.TEMPLATE_CATEGORIES == reports.CATEGORY_ORDER
    assert set(naming.SEPARATE_CATEGORIES) <= set(naming.TEMPLATE_CATEGORIES)


@pytest.mark.parametrize("data, template, style, origin, promptsource_native, expected", [
    ("ko", "ko", "korani", "templates", False, "native"),
    ("ko", "ko", "korani", "korani_dump", False, "dump"),
    ("ko", "en", "p3", "templates", False, "cross_lingual"),
    ("ko", "en", "p3aligned", "promptsource", False, "cross_lingual_aligned"),
    ("ko", "ko", "p3", "templates", False, "translated"),
    ("en", "en", "p3", "promptsource", True, "native"),
    ("en", "en", "p3", "templates", True, "native_xlit"),
    ("en", "en", "p3", "templates", False, "native"),      # no promptsource set: xlit's are the native ones
    ("en", "ko", "korani", "templates", True, "cross_lingual"),
    ("sw", "en", "p3", "templates", False, "cross_lingual"),
])
def test_template_category_rule(data, template, style, origin, promptsource_native, expected):
    assert naming.template_category(data, template, style, task_specs.NATIVE_STYLE, origin=origin,
                                    promptsource_native=promptsource_native) == expected


def _promptsource_dir(shared_data):
    folder = shared_data / "promptsource_templates"
    if not folder.is_dir():
        pytest.skip("promptsource templates not in the data directory")
    return folder


def test_categories_of_real_task_names(task_catalog, shared_data):
    _promptsource_dir(shared_data)
    expected = {
        "kobest_copa.ko_korani.ko_korani_01": ("native", "native"),
        "kobest_copa.en_p3.en_p3_01": ("cross_lingual", "cross_lingual"),
        "kobest_copa.ko_p3.ko_from_en_p3_01": ("translated", "translated"),
        "kobest_copa.en_p3aligned.ps_best_option": ("cross_lingual", "cross_lingual_aligned"),
        "kornli.en_p3aligned.ps_gpt_3_style": ("cross_lingual", "cross_lingual_aligned"),
        "super_glue_copa.en_p3.ps_best_option": ("native", "native"),
        "super_glue_copa.en_p3.en_p3_01": ("native", "native_xlit"),
        "super_glue_copa.ko_korani.ko_korani_01": ("cross_lingual", "cross_lingual"),
        "super_glue_copa.en_korani.en_from_ko_korani_01": ("translated", "translated"),
        "demo_copa_en.en_p3.en_p3_01": ("native", "native"),   # the demo has no promptsource set
    }
    for name, (setting, category) in expected.items():
        info = task_specs.task_info(name)
        assert (info.setting, info.template_category) == (setting, category), name
    train = task_specs.task_info("kobest_boolq.train")
    assert train.template_category == train.setting == "native"


def test_dump_templates_are_their_own_category(tmp_path):
    from seqio_tasks import registration
    from seqio_tasks.catalog import TaskCatalog

    folder = tmp_path / "KORANI" / "sentence_completion" / "kobest_copa"
    folder.mkdir(parents=True)
    with open(folder / "test_tmp3.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["input", "output", "choices", "dataset_name", "id"],
                                      ["비가 왔다. 결과는?", "우산을 폈다", "우산을 폈다|||춤을 췄다", "kobest_copa", "1"]])
    catalog = TaskCatalog()
    registration.load_builtin(data_dir=tmp_path / "no_data", korani_dir=tmp_path, catalog=catalog)
    info = catalog.get("kobest_copa.ko_korani.dump3").info
    assert (info.origin, info.setting, info.template_category) == ("korani_dump", "native", "dump")
    assert catalog.get("kobest_copa.ko_korani.ko_korani_01").info.template_category == "native"


# ------------------------------------------------------------------------------ the aligned arm


def _raw_rows(path, delimiter="\t"):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter, quoting=csv.QUOTE_NONE))


def test_aligned_tasks_render_real_korean_rows_with_promptsource_templates(task_catalog, shared_data):
    _promptsource_dir(shared_data)
    # KoBEST COPA test row 1, read from the raw TSV here (not through the source)
    raw = _raw_rows(shared_data / "kobest" / "COPA" / "test.tsv")[0]
    row = task_specs.rendered_examples(task_specs.get_spec("kobest_copa.en_p3aligned.ps_best_option"), max_examples=1)[0]
    choices = [raw["1"], raw["2"]]
    assert row["inputs"].startswith(raw["sentence"]) and "What's the best option?" in row["inputs"]
    assert f"- {choices[0]}\n- {choices[1]}" in row["inputs"]
    assert ("an effect" if raw["question"] == "결과" else "a cause") in row["inputs"]
    assert row["options"] == choices and row["targets"] == choices[int(raw["Answer"]) - 1]
    assert row["answer_index"] == int(raw["Answer"]) - 1

    # KorNLI (XNLI ko) test row 1 under ANLI's "GPT-3 style": True / Neither / False
    raw = _raw_rows(shared_data / "kornli" / "xnli.test.ko.tsv")[0]
    row = task_specs.rendered_examples(task_specs.get_spec("kornli.en_p3aligned.ps_gpt_3_style"), max_examples=1)[0]
    words = {"entailment": "True", "neutral": "Neither", "contradiction": "False"}
    assert row["inputs"] == f"{raw['sentence1']}\nQuestion: {raw['sentence2']} True, False, or Neither?"
    assert row["options"] == ["True", "Neither", "False"] and row["targets"] == words[raw["gold_label"]]


def test_aligned_arm_covers_the_counterparts_original_task_templates(task_catalog, shared_data):
    folder = _promptsource_dir(shared_data)
    aligned = [s for s in task_specs.all_specs() if s.info.template_category == "cross_lingual_aligned"]
    by_dataset = {}
    for spec in aligned:
        assert (spec.info.data_language, spec.info.template_language, spec.info.template_style, spec.info.origin) == (
            "ko", "en", naming.ALIGNED_STYLE, "promptsource")
        assert spec.info.meta == "korani" and task_specs.is_heldout(spec.info.role)
        by_dataset.setdefault(spec.info.dataset, set()).add(spec.info.template_id)

    def ids(dataset, subset=None):
        return {t.template_id for t in promptsource.load_promptsource_templates(dataset, subset, folder)}

    assert by_dataset == {"kobest_copa": ids("super_glue", "copa"), "kobest_wic": ids("super_glue", "wic"),
                          "kobest_hellaswag": ids("hellaswag"), "kornli": ids("anli"), "klue_nli": ids("anli")}
    # CB's templates are left out as duplicates of ANLI's: same input text, same answer words
    anli = {t.name: t for t in promptsource.load_promptsource_templates("anli", None, folder)}
    cb = {t.name: t for t in promptsource.load_promptsource_templates("super_glue", "cb", folder)}
    assert set(anli) == set(cb)
    for name in anli:
        assert anli[name].jinja.split("|||")[0] == cb[name].jinja.split("|||")[0], name
        words = [sorted(c.strip() for c in t.answer_choices.split("|||")) for t in (anli[name], cb[name])]
        assert words[0] == words[1], name
    # RTE's are 2-way: they apply to 2-way NLI data only
    assert {t.dataset for t in promptsource.aligned_templates("nli", 2, folder)} == {"super_glue"}


def test_english_native_is_promptsource_original_task_only(task_catalog, shared_data):
    folder = _promptsource_dir(shared_data)
    # T0's held-out datasets (those with promptsource folders); a dataset without any (FLORES en-ko)
    # keeps xlit's English templates as its native set
    english = [s for s in task_specs.all_specs() if s.info.kind == "eval" and s.info.meta == "p3"
               and task_specs.is_heldout(s.info.role) and taxonomy.get(s.info.dataset).promptsource]
    native = [s for s in english if s.info.template_category == "native"]
    own = [s for s in english if s.info.template_category == "native_xlit"]
    assert native and own
    original = {}
    for spec in native:
        assert spec.info.origin == "promptsource", spec.name
        ps_dataset, _, subset = taxonomy.get(spec.info.dataset).promptsource[0].partition("/")
        key = (ps_dataset, subset or None)
        if key not in original:
            original[key] = {t.template_id for t in promptsource.load_promptsource_templates(*key, folder)}
        assert spec.info.template_id in original[key], spec.name
    assert all((s.info.origin, s.info.template_language, s.info.template_style) == ("templates", "en", "p3")
               for s in own)


# ------------------------------------------------------------------------ report: hand-written runs


def _record(dataset, language, cluster, template_set, template_id, category, score):
    template_language, template_style = template_set.split("_")
    setting = {"native_xlit": "native", "cross_lingual_aligned": "cross_lingual", "dump": "native"}.get(category, category)
    return {"name": f"{dataset}.{template_set}.{template_id}", "dataset": dataset, "cluster": cluster,
            "role": "heldout", "data_language": language, "template_language": template_language,
            "template_style": template_style, "template_id": template_id, "setting": setting,
            "template_category": category, "scoring": "rank", "metrics": {"accuracy": score},
            "primary_metric": "accuracy", "score": score}


# (dataset, language, cluster, template set, id, category) -> score of the baseline and of the tuned run
TEMPLATES = [
    ("super_glue_rte", "en", "nli", "en_p3", "ps_a", "native"),
    ("super_glue_rte", "en", "nli", "en_p3", "ps_b", "native"),
    ("super_glue_rte", "en", "nli", "en_p3", "en_p3_01", "native_xlit"),
    ("kornli", "ko", "nli", "ko_korani", "ko_korani_01", "native"),
    ("kornli", "ko", "nli", "en_p3aligned", "ps_a", "cross_lingual_aligned"),
    ("kornli", "ko", "nli", "en_p3", "en_p3_01", "cross_lingual"),
    ("kobest_copa", "ko", "sentence_completion", "ko_korani", "dump1", "dump"),
    ("xcopa_sw", "sw", "sentence_completion", "en_p3", "en_p3_01", "cross_lingual"),
    ("xcopa_qu", "qu", "sentence_completion", "en_p3", "en_p3_01", "cross_lingual"),
]
BASE = [40.0, 50.0, 60.0, 30.0, 34.0, 38.0, 50.0, 50.0, 48.0]
TUNED = [70.0, 72.0, 50.0, 60.0, 40.0, 38.0, 55.0, 60.0, 50.0]


def _write_run(root, name, scores):
    records = [_record(*template, score) for template, score in zip(TEMPLATES, scores)]
    folder = root / name
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps({"format": "xlit.eval_results/1", "run": {"name": name},
                                                     "tasks": {r["name"]: r for r in records}}), encoding="utf-8")
    return folder


@pytest.fixture
def two_runs(tmp_path):
    return _write_run(tmp_path, "base", BASE), _write_run(tmp_path, "tuned", TUNED)


def test_baseline_gains_by_hand(two_runs, tmp_path, capsys):
    base, tuned = two_runs
    assert report_command.main([str(base), str(tuned), "--baseline", "base", "--output", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    # en avg: rte's median over its 3 templates: base median(40, 50, 60) = 50, tuned median(70, 72, 50) = 70
    #   -> +20.0 points, +40.0 %; en native (ps_a, ps_b): base 45, tuned 71 -> +26.0 (+57.8%)
    # ko avg: mean over kornli and kobest_copa of their medians: base (median(30, 34, 38) = 34 + 50) / 2 = 42,
    #   tuned (median(60, 40, 38) = 40 + 55) / 2 = 47.5 -> +5.5 (+13.1%)
    # ko cross_lingual_aligned: 34 -> 40: +6.0 (+17.6%); ko cross_lingual: 38 -> 38: +0.0 (+0.0%)
    # unseen avg (sw, qu): base (50 + 48) / 2 = 49, tuned (60 + 50) / 2 = 55 -> +6.0 (+12.2%)
    table = json.loads((tmp_path / "out" / "report.json").read_text())
    gains = table["gains"]["tuned"]
    expected = {"en avg": (20.0, 40.0), "en native": (26.0, 26.0 / 45 * 100), "en native_xlit": (-10.0, -10 / 60 * 100),
                "ko avg": (5.5, 5.5 / 42 * 100), "ko cross_lingual_aligned": (6.0, 6 / 34 * 100),
                "ko cross_lingual": (0.0, 0.0), "ko dump": (5.0, 10.0), "unseen avg": (6.0, 6 / 49 * 100)}
    for label, (absolute, relative) in expected.items():
        assert gains[label]["absolute"] == pytest.approx(absolute), label
        assert gains[label]["relative_percent"] == pytest.approx(relative), label
    assert table["baseline"] == "base" and "base" not in table["gains"]
    line = next(line for line in out.splitlines() if line.startswith("| tuned | +"))
    assert "+20.0 (+40.0%)" in line and "+26.0 (+57.8%)" in line and "+5.5 (+13.1%)" in line
    assert "+6.0 (+12.2%)" in line and "-10.0 (-16.7%)" in line
    # the baseline given as its directory is the same run
    assert reports.report([base, tuned], baseline=str(base))[1].gains == reports.report(
        [base, tuned], baseline="base")[1].gains


def test_template_set_filter(two_runs):
    base, tuned = two_runs
    _, table = reports.report([base, tuned], template_sets="cross_lingual_aligned,cross_lingual", baseline="base")
    labels = [c.label for c in table.columns]
    assert labels == ["kornli", "xcopa_qu", "xcopa_sw", "ko avg", "ko cross_lingual_aligned", "ko cross_lingual",
                      "qu avg", "sw avg", "unseen avg"]   # unseen languages in one category: no repeat column
    # ko avg is kornli's median over its two kept templates: base (34 + 38) / 2 = 36, tuned (40 + 38) / 2 = 39
    assert table.value("base", "ko avg") == pytest.approx(36.0) and table.value("tuned", "ko avg") == pytest.approx(39.0)
    assert table.gain("tuned", "ko avg")["absolute"] == pytest.approx(3.0)
    _, dump = reports.report([base, tuned], template_sets=["dump"])
    assert [c.label for c in dump.columns] == ["kobest_copa", "ko avg", "ko dump"]
    with pytest.raises(ValueError, match="unknown template set p3.*native, native_xlit"):
        reports.report([base], template_sets="p3")
    with pytest.raises(ValueError, match="no held-out task results in template set"):
        reports.report([_write_run(base.parent, "en_only", BASE)], template_sets="translated")


def test_unseen_languages_column(two_runs):
    base, tuned = two_runs
    _, table = reports.report([base, tuned])
    assert [c.label for c in table.columns][-1] == "unseen avg"
    assert table.value("tuned", "unseen avg") == pytest.approx((60.0 + 50.0) / 2)
    _, seen_all = reports.report([base, tuned], seen_languages="en,ko,sw,qu")
    assert "unseen avg" not in [c.label for c in seen_all.columns]
    _, only_en = reports.report([base, tuned], seen_languages=["en"])
    # ko, qu and sw are unseen: mean of their language averages, tuned (47.5 + 50 + 60) / 3
    assert only_en.value("tuned", "unseen avg") == pytest.approx((47.5 + 50.0 + 60.0) / 3)


def test_baseline_errors_are_clear(two_runs, tmp_path, capsys):
    base, tuned = two_runs
    assert report_command.main([str(base), str(tuned), "--baseline", "nope"]) == 2
    assert "--baseline 'nope' is not among the runs" in capsys.readouterr().err
    english = tmp_path / "english"
    english.mkdir()
    records = [_record(*t, 50.0) for t in TEMPLATES if t[1] == "en"]
    (english / "results.json").write_text(json.dumps({"tasks": {r["name"]: r for r in records}}), encoding="utf-8")
    with pytest.raises(ValueError, match="baseline 'english' has no results in data language 'ko'"):
        reports.report([english, tuned], baseline="english")


def test_results_aggregates_group_by_category(two_runs):
    document = reports.load_results(two_runs[0])
    groups = aggregation.aggregate(document["tasks"].values())
    assert groups["template_category"]["cross_lingual_aligned"]["mean"] == pytest.approx(34.0)
    assert groups["language_template_category"]["en/native"]["median"] == pytest.approx(45.0)
    assert groups["language_template_category"]["en/native_xlit"]["n_templates"] == 1
    # a record without a category (an older results.json) counts under its setting
    old = [{k: v for k, v in r.items() if k != "template_category"} for r in document["tasks"].values()]
    assert set(aggregation.aggregate(old, ["template_category"])["template_category"]) == {
        "native", "cross_lingual"}


def test_metric_flag_tabulates_language_correctness_of_generation_tasks(tmp_path, capsys):
    """`xlit report --metric script_ratio`: the metric of the tasks that report it, not their primary score."""
    def generation(dataset, language, template_id, bleu, ratio):
        record = _record(dataset, language, "translation", "ko_korani", template_id, "native", bleu)
        record.update(scoring="generation", metrics={"bleu": bleu, "script_ratio": ratio}, primary_metric="bleu")
        return record

    records = [generation("flores200_ko_en", "ko", "t1", 10.0, 80.0), generation("flores200_ko_en", "ko", "t2", 20.0, 100.0),
               _record("kornli", "ko", "nli", "ko_korani", "ko_korani_01", "native", 55.0)]
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps({"format": "xlit.eval_results/1", "run": {"name": "run"},
                                                     "tasks": {r["name"]: r for r in records}}), encoding="utf-8")
    _, table = reports.report([folder], metric="script_ratio")
    assert [c.label for c in table.columns][0] == "flores200_ko_en" and "kornli" not in [c.label for c in table.columns]
    assert table.value("run", "flores200_ko_en") == pytest.approx(90.0)   # median of 80 and 100
    _, primary = reports.report([folder])
    assert primary.value("run", "flores200_ko_en") == pytest.approx(15.0)
    assert report_command.main([str(folder), "--metric", "no_such_metric"]) == 2
    assert "with metric 'no_such_metric'" in capsys.readouterr().err
