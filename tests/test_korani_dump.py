"""The KORANI release-dump loader on a small dump written here in the authors' CSV layout."""
import csv
from pathlib import Path

import pytest

from seqio_tasks import taxonomy
from seqio_tasks.sources import MalformedRowError, MissingDataError, get_source
from seqio_tasks.sources.korani_dump import template_index_of
from seqio_tasks.sources.schema import check_example

HEADER = ["input", "output", "choices", "dataset_name", "id"]

TEST_TMP0 = [
    # target among the options -> rank
    ["다음 리뷰의 감성은? 배송이 빨라요, 정말 좋아요", "긍정", "긍정|||부정", "kobest_sentineg", "1"],
    # quoted commas and a newline inside the input
    ["리뷰: \"별로예요, 다시는\n안 사요\"\n긍정과 부정 중에서?", "부정", "긍정|||부정", "kobest_sentineg", "2"],
    # yes/no template over a label-set: the target is not among the options -> generation
    ["이 리뷰는 긍정인가요? 너무 좋아요", "예", "긍정|||부정", "kobest_sentineg", "3"],
]
TEST_TMP1 = [
    ["감성을 고르시오: 최악", "부정", " 긍정 ||| 부정 ", "kobest_sentineg", "1"],
    ["이 리뷰는 부정인가요? 최악", "아니오", "긍정|||부정", "kobest_sentineg", "2"],
    ["이 문장을 다시 써 주세요: 좋아요", "좋습니다", "", "kobest_sentineg", "3"],
]
TRAIN = [["감성은? 좋아요", "긍정", "긍정|||부정", "kobest_sentineg", "7"]]


def write_csv(path: Path, rows, header=HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def dump(tmp_path) -> Path:
    folder = tmp_path / "KORANI" / "sentiment" / "kobest_sentineg"
    write_csv(folder / "test_tmp0.csv", TEST_TMP0)
    write_csv(folder / "test_tmp1.csv", TEST_TMP1)
    write_csv(folder / "train.csv", TRAIN)
    unreleased = tmp_path / "KORANI" / "hatespeech" / "unsmile"
    unreleased.mkdir(parents=True)
    (unreleased / "README.md").write_text("Download UnSmile from its repository and render it yourself.\n")
    return tmp_path


def reference_counts(path: Path) -> dict[str, int]:
    """rank / target_not_in_options / no_options counts by a plain reading of one dump CSV."""
    counts = {"rank": 0, "target_not_in_options": 0, "no_options": 0}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            options = [o.strip() for o in row["choices"].split("|||")] if row["choices"].strip() else []
            if not options:
                counts["no_options"] += 1
            elif row["output"].strip() in options:
                counts["rank"] += 1
            else:
                counts["target_not_in_options"] += 1
    return counts


def test_test_split_reads_every_template_file(dump):
    source = get_source("korani_dump_kobest_sentineg")
    examples = source.load("test", data_dir=dump)
    assert len(examples) == len(TEST_TMP0) + len(TEST_TMP1)
    assert [e["template_index"] for e in examples] == [0] * 3 + [1] * 3
    assert len({e["idx"] for e in examples}) == len(examples)
    assert all(not check_example("prerendered", e) for e in examples)
    assert examples[1]["inputs"] == TEST_TMP0[1][0].strip()  # quoted comma and newline kept
    assert examples[0]["dataset"] == "kobest_sentineg" and examples[0]["id"] == "1"


def test_scoring_decision_per_row(dump):
    examples = get_source("korani_dump_kobest_sentineg").load("test", data_dir=dump)
    by_key = {(e["template_index"], e["id"]): e for e in examples}
    ranked = by_key[(0, "1")]
    assert ranked["scoring"] == "rank" and ranked["options"] == ["긍정", "부정"] and ranked["label"] == 0
    assert by_key[(1, "1")]["scoring"] == "rank" and by_key[(1, "1")]["label"] == 1  # spaces around options
    not_in = by_key[(0, "3")]
    assert (not_in["scoring"], not_in["scoring_reason"], not_in["label"]) == ("generation", "target_not_in_options", None)
    assert not_in["options"] == ["긍정", "부정"] and not_in["targets"] == "예"
    free = by_key[(1, "3")]
    assert (free["scoring"], free["scoring_reason"], free["options"]) == ("generation", "no_options", None)


def test_report_counts_each_file_like_a_plain_reading(dump):
    source = get_source("korani_dump_kobest_sentineg")
    source.load("test", data_dir=dump)
    report = source.last_load_report
    folder = dump / "KORANI/sentiment/kobest_sentineg"
    for name in ("test_tmp0.csv", "test_tmp1.csv"):
        assert report.per_file[f"sentiment/kobest_sentineg/{name}"] == reference_counts(folder / name)
    assert report.counts == {"rank": 3, "target_not_in_options": 2, "no_options": 1}


def test_train_split_and_template_filter(dump):
    source = get_source("korani_dump_kobest_sentineg")
    train = source.load("train", data_dir=dump)
    assert len(train) == 1 and train[0]["template_index"] is None and train[0]["scoring"] == "rank"
    only_one = source.load("test", data_dir=dump, templates=[1])
    assert {e["template_index"] for e in only_one} == {1} and len(only_one) == len(TEST_TMP1)
    assert source.files("test", dump) == ["sentiment/kobest_sentineg/test_tmp0.csv",
                                          "sentiment/kobest_sentineg/test_tmp1.csv"]


def test_template_numbers_sort_numerically(tmp_path):
    folder = tmp_path / "KORANI" / "sentiment" / "kobest_sentineg"
    for k in (10, 2, 0):
        write_csv(folder / f"test_tmp{k}.csv", [TEST_TMP0[0]])
    files = get_source("korani_dump_kobest_sentineg").files("test", tmp_path)
    assert [template_index_of(f) for f in files] == [0, 2, 10]


def test_malformed_row_names_file_and_line(dump):
    folder = dump / "KORANI/sentiment/kobest_sentineg"
    path = write_csv(folder / "test_tmp2.csv", [TEST_TMP0[1], ["too", "few"], TEST_TMP0[0], ["입력", "", "", "x", "9"]])
    source = get_source("korani_dump_kobest_sentineg")
    # the first data row starts on line 2 and spans one line more per newline in its input
    short_line = 2 + TEST_TMP0[1][0].count("\n") + 1
    with pytest.raises(MalformedRowError, match=rf"{path} line {short_line}: expected 5 columns, got 2"):
        source.load("test", data_dir=dump, templates=[2])
    examples = source.load("test", data_dir=dump, templates=[2], on_error="skip")
    assert len(examples) == 2
    skipped = source.last_load_report.skipped
    assert [(s.line, s.reason) for s in skipped] == [(short_line, "expected 5 columns, got 2"),
                                                     (short_line + 2, "field 'output' is empty")]


def test_the_environment_setting_finds_the_dump(dump, monkeypatch):
    monkeypatch.setenv("XLIT_KORANI_DIR", str(dump))
    assert len(get_source("korani_dump_kobest_sentineg").load("test")) == 6
    monkeypatch.setenv("XLIT_KORANI_DIR", str(dump / "KORANI"))  # the KORANI folder itself also works
    assert len(get_source("korani_dump_kobest_sentineg").load("train")) == 1


def test_missing_dump_and_unreleased_datasets_explain_themselves(dump, monkeypatch, tmp_path_factory):
    monkeypatch.delenv("XLIT_KORANI_DIR", raising=False)
    with pytest.raises(MissingDataError, match=r"XLIT_KORANI_DIR.*is not set|\$XLIT_KORANI_DIR is not set"):
        get_source("korani_dump_kobest_sentineg").load("test")
    with pytest.raises(MissingDataError, match="README.md explains how to obtain"):
        get_source("korani_dump_unsmile").load("test", data_dir=dump)
    with pytest.raises(MissingDataError, match=r"no folder \*/klue_nli"):
        get_source("korani_dump_klue_nli").load("test", data_dir=dump)
    empty = tmp_path_factory.mktemp("nothing_here")
    with pytest.raises(MissingDataError, match="drive.google.com"):
        get_source("korani_dump_klue_nli").load("test", data_dir=empty / "absent")


def test_every_korani_dataset_has_a_dump_source():
    for info in taxonomy.all_datasets("korani"):
        source = get_source(info.dump_source)
        assert source.dataset == info.name and source.cluster == info.cluster and source.splits == ("train", "test")


# ------------------------------------------------------------------ which dump folders register tasks


def _load_catalog(korani_dir: Path, data_dir: Path):
    from seqio_tasks import registration
    from seqio_tasks.catalog import TaskCatalog

    return registration.load_builtin(data_dir=data_dir, korani_dir=korani_dir, catalog=TaskCatalog())


def test_dump_folders_lists_dataset_folders_with_csvs(dump):
    from seqio_tasks.sources.korani_dump import dump_folders

    # unsmile's folder holds only a README: not a dataset of this dump
    assert dump_folders(dump) == {"kobest_sentineg": "sentiment"}
    assert dump_folders(dump / "absent") == {}


def test_every_dataset_folder_of_the_dump_registers(tmp_path, caplog):
    """similar_corpus (taxonomy: in_dump false) and a folder the taxonomy lacks register when their folders are there."""
    assert taxonomy.get("similar_corpus").in_dump is False
    root = tmp_path / "KORANI"
    write_csv(root / "paraphrasing" / "similar_corpus" / "train.csv",
              [["이 문장을 다르게 써 주세요: 비가 온다", "비가 내린다", "", "similar_corpus", "1"]] * 3)
    write_csv(root / "paraphrasing" / "similar_corpus" / "test_tmp0.csv",
              [["이 문장을 다르게 써 주세요: 눈이 온다", "눈이 내린다", "", "similar_corpus", "1"]])
    write_csv(root / "sentiment" / "new_reviews" / "train.csv",
              [["감성은? 좋아요", "긍정", "긍정|||부정", "new_reviews", str(i)] for i in range(4)])
    write_csv(root / "sentiment" / "new_reviews" / "test_tmp3.csv",
              [["감성은? 싫어요", "부정", "긍정|||부정", "new_reviews", "9"]])
    with caplog.at_level("WARNING", logger="seqio_tasks.task_specs"):
        catalog = _load_catalog(tmp_path, tmp_path / "no_data")
    assert "sentiment/new_reviews" in caplog.text and "not in the taxonomy" in caplog.text
    names = set(catalog.names())
    assert {"similar_corpus.train", "similar_corpus.ko_korani.dump0",
            "new_reviews.train", "new_reviews.ko_korani.dump3"} <= names
    assert catalog.num_examples("similar_corpus.train") == 3 and catalog.num_examples("new_reviews.train") == 4
    info = catalog.get("new_reviews.train").info
    assert (info.meta, info.cluster, info.role, info.origin, info.scoring) == (
        "korani", "sentiment", "train", "korani_dump", "rank")
    assert catalog.get("similar_corpus.train").info.scoring == "generation"   # paraphrasing is NLG
    from seqio_tasks import mixtures
    assert {"similar_corpus.train", "new_reviews.train"} <= set(mixtures.mixture_definitions(catalog)["korani_train"])


def test_datasets_out_of_the_dump_register_only_with_their_folder(dump):
    """Without a similar_corpus folder no task of it exists (in_dump: false); in_dump datasets always have .train."""
    names = set(_load_catalog(dump, dump / "no_data").names())
    assert not any(name.startswith("similar_corpus.") for name in names)
    assert "kobest_sentineg.ko_korani.dump1" in names


def test_unknown_folder_named_like_another_meta_dataset_is_kept_apart(tmp_path):
    write_csv(tmp_path / "KORANI" / "paraphrase_identification" / "paws" / "train.csv",
              [["같은 뜻인가요? 가 / 나", "예", "예|||아니오", "paws", "1"]])
    catalog = _load_catalog(tmp_path, tmp_path / "no_data")
    assert catalog.get("paws_korani.train").info.meta == "korani"
    assert catalog.get("paws.train").info.meta == "p3"
