"""The taxonomy of KORANI and P3 against the published cluster design and the source registry."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seqio_tasks import naming, taxonomy
from seqio_tasks.sources import all_sources, get_source
from seqio_tasks.sources.schema import FAMILY_FIELDS

REPO_ROOT = Path(__file__).resolve().parents[1]

# The held-out design stated in the KORANI paper and T0 (Sanh et al. 2021).
KORANI_HELDOUT = {
    "natural_language_inference": {"klue_nli", "kornli"},
    "sentence_completion": {"kobest_copa", "kobest_hellaswag"},
    "word_sense_disambiguation": {"kobest_wic"},
    "coreference_resolution": {"nikl_coref"},
}
P3_HELDOUT = {
    "natural_language_inference": {"anli_r1", "anli_r2", "anli_r3", "super_glue_cb", "super_glue_rte"},
    "sentence_completion": {"super_glue_copa", "hellaswag", "story_cloze"},
    "coreference_resolution": {"super_glue_wsc", "winogrande"},
    "word_sense_disambiguation": {"super_glue_wic"},
}
# bigscience-workshop/t-zero t0/datasets.csv: the rows with do_train == BASE (dataset/subset).
T0_TRAINING_FOLDERS = {
    "glue/mrpc", "glue/qqp", "paws/labeled_final", "kilt_tasks/hotpotqa", "wiki_qa", "adversarial_qa/dbidaf",
    "adversarial_qa/dbert", "adversarial_qa/droberta", "duorc/SelfRC", "duorc/ParaphraseRC", "ropes", "quoref",
    "cos_e/v1.11", "cosmos_qa", "dream", "qasc", "quail", "quarel", "quartz", "sciq", "social_i_qa",
    "wiki_hop/original", "wiqa", "amazon_polarity", "app_reviews", "imdb", "rotten_tomatoes", "yelp_review_full",
    "common_gen", "wiki_bio", "cnn_dailymail/3.0.0", "gigaword", "multi_news", "samsum", "xsum", "ag_news",
    "dbpedia_14", "trec",
}
# Generation-scored held-out sets xlit adds to the papers' designs (FLORES-200, both directions).
XLIT_GENERATION_HELDOUT = {"flores200_ko_en", "flores200_en_ko"}
P3_TRAINING_CLUSTERS = {"multiple_choice_qa", "extractive_qa", "closed_book_qa", "sentiment", "topic_classification",
                        "structure_to_text", "summarization", "paraphrase_identification"}


def _papers(infos):
    return [i for i in infos if i.name not in XLIT_GENERATION_HELDOUT]


def test_korani_has_51_datasets_and_coreference_is_generation():
    korani = _papers(taxonomy.all_datasets("korani"))
    assert len(korani) == 51
    # The authors' README scores NIKL coreference with ROUGE-L as a generation task, which
    # makes the reconstructed split 33 NLU / 18 NLG (the paper's figure says 34 / 17).
    assert taxonomy.get("nikl_coref").kind == "nlg"
    assert sum(i.kind == "nlu" for i in korani) == 33 and sum(i.kind == "nlg" for i in korani) == 18
    assert {i.language for i in korani} == {"ko"}


def test_korani_corrections_from_the_authors_readme_table():
    """Clusters and licences as the KORANI README's 'Source and License' table states them."""
    assert taxonomy.get("kobest_boolq").cluster == "extractive_qa"
    clusters = taxonomy.clusters("korani")
    assert set(clusters["paraphrase_identification"]) == {"question_pair", "kor_ss", "klue_sts", "kor_sts", "parakqc"}
    assert clusters["paraphrasing"] == ["similar_corpus"]
    licences = {name: taxonomy.get(name).licence for name in
                ("kor_ss", "curse_detection", "naver_shopping", "etri_qa", "twitter")}
    assert licences == {"kor_ss": "MIT", "curse_detection": "Apache-2.0", "naver_shopping": "public domain",
                        "etri_qa": "CC-BY-NC", "twitter": "AIHub terms"}
    for name in ("kornli", "kobest_copa", "kobest_hellaswag"):
        assert "role" not in taxonomy.get(name).confirmed   # inferred from the paper's text


@pytest.mark.parametrize("meta,design", [("korani", KORANI_HELDOUT), ("p3", P3_HELDOUT)])
def test_heldout_clusters_match_the_papers(meta, design):
    heldout = _papers(taxonomy.heldout(meta))
    assert {c: {i.name for i in heldout if i.cluster == c} for c in design} == design
    assert {i.cluster for i in heldout} == set(design)
    # held-out clusters never appear on the training side of the same meta-dataset
    assert not {i.cluster for i in taxonomy.training(meta)} & set(design)


def test_p3_training_clusters_are_t0s_eight():
    assert {i.cluster for i in _papers(taxonomy.all_datasets("p3"))} - set(P3_HELDOUT) == P3_TRAINING_CLUSTERS
    assert all(i.promptsource for i in _papers(taxonomy.all_datasets("p3")))


def test_p3_training_set_is_the_t0_authors_list():
    folders = {folder for info in taxonomy.training("p3") for folder in info.promptsource}
    assert folders == T0_TRAINING_FOLDERS


def test_heldout_by_language_equals_by_meta():
    # Other registered datasets (the demo's) may add held-out sets in a language: compare the
    # built-in meta-datasets only.
    builtin = lambda infos: [i for i in infos if i.meta in ("korani", "p3")]
    assert builtin(taxonomy.heldout("ko")) == taxonomy.heldout("korani")
    assert builtin(taxonomy.heldout("en")) == taxonomy.heldout("p3")
    assert set(builtin(taxonomy.heldout())) == set(taxonomy.heldout("korani") + taxonomy.heldout("p3"))
    with pytest.raises(KeyError, match="neither a meta-dataset"):
        taxonomy.heldout("xx")


def test_names_are_unique_and_valid_task_name_parts():
    names = [i.name for i in taxonomy.all_datasets()]
    assert len(names) == len(set(names))
    for name in names:
        assert naming.SEQIO_NAME_PATTERN.match(name) and "." not in name and name == name.lower()


def test_sources_named_in_the_taxonomy_exist_with_the_same_family():
    for info in taxonomy.all_datasets():
        assert info.family is None or info.family in FAMILY_FIELDS, info
        if info.source is not None:
            source = get_source(info.source)
            assert source.family == info.family and source.language == info.language, info.name


def test_public_loaders_cover_the_public_heldout_sets():
    for info in taxonomy.heldout():
        if info.public:
            assert info.source is not None, f"{info.name} is public and held-out but has no loader"
    # the one Korean held-out set without public raw data is reachable through the dump only
    nikl = taxonomy.get("nikl_coref")
    assert not nikl.public and nikl.source is None and nikl.dump_source == "korani_dump_nikl_coref"


def test_datasets_left_out_of_the_dump_are_the_four_the_authors_name():
    assert {i.name for i in taxonomy.all_datasets("korani") if not i.in_dump} == {
        "nikl_coref", "korquad1", "unsmile", "similar_corpus"}


def test_evidence_is_recorded():
    assert taxonomy.get("kobest_wic").confirmed == ("name", "cluster", "role")
    assert "reconstructed" == taxonomy.DatasetInfo("x", "demo", "en", "c", "nlu", "train", "l", True, None, None).evidence
    # the 45 training-side names are confirmed by the authors' sample file; 3 held-out names are not
    unconfirmed = {i.name for i in _papers(taxonomy.all_datasets("korani")) if "name" not in i.confirmed}
    assert unconfirmed == {"kornli", "kobest_copa", "kobest_hellaswag"}


def test_get_and_unknown():
    assert taxonomy.get("kobest_copa").cluster == "sentence_completion"
    with pytest.raises(KeyError, match="similar: .*kobest_copa"):
        taxonomy.get("kobest_cop")


def test_format_table_lists_every_dataset_once():
    table = taxonomy.format_table()
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["name", "meta", "cluster", "kind"]
    assert len(lines) == 2 + len(taxonomy.all_datasets())
    assert sorted(line.split()[0] for line in lines[2:]) == sorted(i.name for i in taxonomy.all_datasets())
    markdown = taxonomy.format_table(meta="korani", markdown=True).splitlines()
    assert markdown[0].startswith("| name |") and len(markdown) == 2 + 51 + 1   # + flores200_ko_en
    assert "33 NLU, 19 NLG" in taxonomy.summary()


def test_register_demo_dataset(monkeypatch):
    monkeypatch.setattr(taxonomy, "_EXTRA", [])
    info = taxonomy.DatasetInfo("demo_nli", "demo", "en", "natural_language_inference", "nlu", "heldout",
                                "CC0", True, "nli", None)
    taxonomy.register(info)
    assert taxonomy.get("demo_nli") is info and taxonomy.heldout("demo") == [info]
    with pytest.raises(ValueError, match="already in the taxonomy"):
        taxonomy.register(info)


def test_yaml_with_an_unknown_key_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown keys"):
        taxonomy._parse("p3", {"name": "x", "cluster": "c", "kind": "nlu", "role": "train", "licnce": "MIT"},
                        tmp_path / "p3.yaml")
    data = yaml.safe_load((taxonomy.TAXONOMY_DIR / "korani.yaml").read_text(encoding="utf-8"))
    assert len([d for d in data["datasets"] if d["name"] not in XLIT_GENERATION_HELDOUT]) == 51


def test_promptsource_folders_exist_in_the_shared_templates(shared_data):
    root = shared_data / "promptsource_templates" / "templates"
    for info in taxonomy.all_datasets("p3"):
        for folder in info.promptsource:
            assert (root / folder / "templates.yaml").is_file(), (info.name, folder)


def test_importing_the_package_loads_neither_tensorflow_nor_seqio():
    code = ("import sys, seqio_tasks, seqio_tasks.taxonomy as t, seqio_tasks.sources as s; "
            "s.all_sources(); t.format_table(); "
            "bad = [m for m in ('tensorflow', 'seqio', 'datasets', 'tensorflow_datasets') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_source_has_a_family_schema_and_splits():
    for source in all_sources():
        assert source.family in FAMILY_FIELDS, source.name
        assert source.splits and source.language
        assert set(source.unlabelled_splits) <= set(source.splits)


# The twelve T0 training datasets with release files in p3_train/ (and PAWS from pawsx_xtreme/).
P3_TRAIN_WITH_FILES = {"cos_e", "social_i_qa", "dream", "cosmos_qa", "quail", "rotten_tomatoes", "ag_news", "trec",
                       "glue_mrpc", "common_gen", "wiki_qa", "paws"}


def test_p3_training_datasets_with_files_have_loaders_and_data(shared_data):
    from seqio_tasks import registration, task_specs
    from seqio_tasks.catalog import TaskCatalog
    with_source = {i.name for i in taxonomy.training("p3") if i.source}
    assert with_source == P3_TRAIN_WITH_FILES
    assert len(taxonomy.training("p3")) == 35
    for name in P3_TRAIN_WITH_FILES:
        info = taxonomy.get(name)
        source = get_source(info.source)
        assert "train" in source.splits, name
        assert all((shared_data / f).is_file() for f in source.files("train")), name
        assert info.licence != "see the dataset card", name
    catalog = TaskCatalog()
    registration.load_builtin(data_dir=shared_data, catalog=catalog, include_demo=False)
    train_specs = [s for s in catalog.specs() if s.info.kind == "train" and s.info.dataset in P3_TRAIN_WITH_FILES]
    # native training (English data, English P3 templates) and Korean KORANI-style templates on English data
    assert {s.info.dataset for s in train_specs if s.info.setting == "native"} == P3_TRAIN_WITH_FILES
    assert {s.info.dataset for s in train_specs if (s.info.template_language, s.info.template_style) == ("ko", "korani")} \
        == P3_TRAIN_WITH_FILES
    for spec in train_specs:
        assert task_specs.has_data(spec, catalog=catalog), spec.name
