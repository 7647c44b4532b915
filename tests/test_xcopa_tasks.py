"""XCOPA as held-out evaluation in languages unseen in tuning: taxonomy entries, tasks under English and
Korean copa templates (cross-lingual by construction), rows from the real files, held-out mixtures."""
import json
import re
from pathlib import Path

import pytest

from seqio_tasks import mixtures, taxonomy, templating
from seqio_tasks.sources.english import XCOPA_LANGUAGES

REPO = Path(__file__).resolve().parents[1]


def test_taxonomy_reads_the_xcopa_file_with_every_language():
    assert taxonomy.META_FILES["xcopa"] == "xcopa.yaml"
    infos = taxonomy.all_datasets("xcopa")
    assert [i.language for i in infos] == list(XCOPA_LANGUAGES)
    for info in infos:
        assert info.name == f"xcopa_{info.language}" and info.source == info.name
        assert (info.role, info.family, info.cluster, info.kind) == ("heldout", "copa", "sentence_completion", "nlu")
    assert taxonomy.heldout("xcopa") == infos and taxonomy.training("xcopa") == []
    assert taxonomy.heldout("sw") == [taxonomy.get("xcopa_sw")]   # a data language selects too
    assert not {"en", "ko"} & {i.language for i in infos}


def test_an_entry_without_a_language_in_a_file_without_a_default_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="no data language"):
        taxonomy._parse("xcopa", {"name": "x", "cluster": "c", "kind": "nlu", "role": "heldout"}, tmp_path / "xcopa.yaml")


def test_every_language_has_english_and_korean_template_tasks(task_catalog):
    for language in XCOPA_LANGUAGES:
        dataset = f"xcopa_{language}"
        tasks = [s.info for s in task_catalog.specs() if s.info.dataset == dataset]
        templates = templating.get_templates(family="copa", dataset=dataset, original_task=True)
        assert sorted(t.name.split(".", 2)[2] for t in tasks) == sorted(t.template_id for t in templates)
        assert {t.template_language for t in tasks} == {"en", "ko"}
        for info in tasks:
            assert info.kind == "eval" and info.data_language == language and info.meta == "xcopa"
            assert info.setting == "cross_lingual" and info.scoring == "rank" and info.eval_split == "validation"
            assert info.name == f"{dataset}.{info.template_language}_{info.template_style}.{info.template_id}"


def test_heldout_mixtures_per_language_and_not_in_the_default_evaluation(task_catalog):
    definitions = mixtures.mixture_definitions(task_catalog)
    for language in XCOPA_LANGUAGES:
        all_tasks = definitions[f"xcopa_heldout.{language}.all"]
        assert all_tasks and all_tasks == definitions[f"xcopa_heldout.{language}.cross_lingual"]
        assert all(name.startswith(f"xcopa_{language}.") for name in all_tasks)
        assert f"xcopa_heldout.{language}.native" not in definitions
    for name in ("korani_heldout.ko.all", "p3_heldout.en.all"):
        assert not any(t.startswith("xcopa_") for t in definitions.get(name, []))


def _raw_rows(data_dir: Path, language: str) -> list[dict]:
    path = data_dir / "xcopa" / "data" / language / f"val.{language}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("language", XCOPA_LANGUAGES)
def test_rows_come_from_the_real_validation_files(shared_data, task_catalog, language):
    from seqio_tasks import eval_data

    if not (shared_data / "xcopa" / "data" / language).is_dir():
        pytest.skip(f"XCOPA {language} is not in {shared_data}")
    raw = _raw_rows(shared_data, language)
    for template_set in ("en_p3", "ko_korani"):
        name = next(s.name for s in task_catalog.specs() if s.name.startswith(f"xcopa_{language}.{template_set}."))
        rows = eval_data.load_eval_examples(name)
        assert len(rows) == len(raw)
        for row, item in zip(rows, raw):
            assert row["options"] == [item["choice1"], item["choice2"]]
            assert row["answer_index"] == item["label"] and row["targets"] == row["options"][item["label"]]
            assert item["premise"] in row["inputs"]
        hangul = any(re.search("[\uac00-\ud7a3]", r["inputs"]) for r in rows)
        assert hangul == template_set.startswith("ko")   # Korean instructions only in ko templates


def test_unseen_languages_gin_adds_every_xcopa_language(shared_data, task_catalog):
    import gin

    from seqio_tasks import eval_data, task_specs
    from xlit_jax import gin_utils
    from xlit_jax.commands import wiring

    wiring.import_configurables()
    gin.clear_config()
    try:
        gin_utils.parse_gin(["models/mt5_tiny.gin", "experiments/p3_budget_1lang.gin", "eval/unseen_languages.gin"],
                            ["MODEL_DIR = '/tmp/m'"])
        names = gin.query_parameter("%EVAL_MIXTURE_OR_TASK_NAME")
    finally:
        gin.clear_config()
    assert names[:2] == ["korani_heldout.ko.all", "p3_heldout.en.all"]
    languages = {task_specs.task_info(t).data_language for t in eval_data.resolve_task_names(names)}
    assert languages == {"en", "ko", *XCOPA_LANGUAGES}
