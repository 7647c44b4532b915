"""English (and XCOPA) sources against the real files; StoryCloze on a fixture in its official CSV format.

Expected counts and label distributions come from an independent reading of each raw file
(json per line, the csv module, bz2 line counting), never from the loader.
"""
import bz2
import collections
import csv
import json
import sys
from pathlib import Path

import pytest

from seqio_tasks.sources import MalformedFileError, MalformedRowError, all_sources, get_source
from seqio_tasks.sources.english import XCOPA_LANGUAGES
from seqio_tasks.sources.remote import RemoteBackendError
from seqio_tasks.sources.schema import check_example

NLI = {"entailment": 0, "neutral": 1, "contradiction": 2}


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def counter(values) -> collections.Counter:
    return collections.Counter(values)


SUPERGLUE_CASES = [
    # source, split, file, raw label -> canonical label
    ("super_glue_cb", "validation", "CB/val.jsonl", NLI.get),
    ("super_glue_cb", "train32", "CB/train32.jsonl", NLI.get),
    ("super_glue_cb", "dev32", "CB/dev32.jsonl", NLI.get),
    ("super_glue_copa", "validation", "COPA/val.jsonl", int),
    ("super_glue_copa", "train32", "COPA/train32.jsonl", int),
    ("super_glue_rte", "train", "RTE/train.jsonl", {"entailment": 0, "not_entailment": 1}.get),
    ("super_glue_rte", "validation", "RTE/val.jsonl", {"entailment": 0, "not_entailment": 1}.get),
    ("super_glue_rte", "dev32", "RTE/dev32.jsonl", {"entailment": 0, "not_entailment": 1}.get),
    ("super_glue_wic", "validation", "WiC/val.jsonl", int),
    ("super_glue_wic", "train32", "WiC/train32.jsonl", int),
    ("super_glue_wsc", "train", "WSC/train.jsonl", int),
    ("super_glue_wsc", "validation", "WSC/val.jsonl", int),
    ("super_glue_boolq", "validation", "BoolQ/val.jsonl", int),
    ("super_glue_boolq", "train32", "BoolQ/train32.jsonl", int),
    ("super_glue_copa", "dev32", "COPA/dev32.jsonl", int),
    ("super_glue_wic", "dev32", "WiC/dev32.jsonl", int),
    ("super_glue_wsc", "dev32", "WSC/dev32.jsonl", int),
]


@pytest.mark.parametrize("name,split,file_name,mapping", SUPERGLUE_CASES)
def test_superglue(shared_data, name, split, file_name, mapping):
    rows = jsonl(shared_data / "superglue" / file_name)
    source = get_source(name)
    examples = source.load(split)
    assert counter(e["label"] for e in examples) == counter(mapping(r["label"]) for r in rows)
    assert all(not check_example(source.family, e, len(source.label_names)) for e in examples)


def test_superglue_fields(shared_data):
    wsc = jsonl(shared_data / "superglue/WSC/val.jsonl")[3]
    example = get_source("super_glue_wsc").load("validation")[3]
    assert (example["span1_text"], example["span2_text"]) == (wsc["target"]["span1_text"], wsc["target"]["span2_text"])
    wic = get_source("super_glue_wic").load("validation")
    raw = jsonl(shared_data / "superglue/WiC/val.jsonl")
    assert all(e["sentence1"][e["start1"]:e["end1"]] == r["sentence1"][r["start1"]:r["end1"]] for e, r in zip(wic, raw))


def test_multirc_one_example_per_answer(shared_data):
    passages = jsonl(shared_data / "superglue/MultiRC/val.jsonl")
    answers = [a for p in passages for q in p["passage"]["questions"] for a in q["answers"]]
    examples = get_source("super_glue_multirc").load("validation")
    assert len(examples) == len(answers)
    assert counter(e["label"] for e in examples) == counter(a["label"] for a in answers)
    assert all(not check_example("multirc", e, 2) for e in examples)


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_anli(shared_data, round_):
    with open(shared_data / f"anli/ANLI_analysis_r{round_}_dev.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    examples = get_source(f"anli_r{round_}").load("validation")
    expected = counter({"e": 0, "n": 1, "c": 2}[r["gold_label"]] for r in rows)
    assert counter(e["label"] for e in examples) == expected
    assert [e["uid"] for e in examples] == [r["uid"] for r in rows]


def test_hellaswag_six_line_format(shared_data):
    with bz2.open(shared_data / "hellaswag_en/hellaswag_val_full.txt.bz2", "rt", encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    if lines[-1] == "":
        lines.pop()
    assert len(lines) % 6 == 0
    examples = get_source("hellaswag").load("validation")
    assert len(examples) == len(lines) // 6 == 10042
    assert counter(e["label"] for e in examples) == counter(int(lines[i + 1]) for i in range(0, len(lines), 6))
    first = examples[0]
    assert f"{first['activity']}: {first['context']}" == lines[0].strip()
    assert first["endings"] == [line.strip() for line in lines[2:6]]
    assert all(not check_example("completion", e, 4) for e in examples)


@pytest.mark.parametrize("split,stem", [("train_xs", "train_xs"), ("train_s", "train_s"), ("train_m", "train_m"),
                                        ("train_l", "train_l"), ("validation", "dev")])
def test_winogrande_labels_from_lst(shared_data, split, stem):
    labels = (shared_data / f"winogrande/{stem}-labels.lst").read_text().split()
    examples = get_source("winogrande").load(split)
    assert [e["label"] for e in examples] == [int(v) - 1 for v in labels]
    assert all(not check_example("coref_winogrande", e, 2) for e in examples)


def test_winogrande_label_file_mismatch_is_an_error(tmp_path):
    folder = tmp_path / "winogrande"
    folder.mkdir()
    row = {"qID": "a", "sentence": "Ann helped Bea because _ was kind.", "option1": "Ann", "option2": "Bea", "answer": "1"}
    (folder / "dev.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    (folder / "dev-labels.lst").write_text("1\n")
    with pytest.raises(MalformedFileError, match="dev-labels.lst: has 1 labels but .*dev.jsonl has 2 records"):
        get_source("winogrande").load("validation", data_dir=tmp_path)


@pytest.mark.parametrize("split", ["train", "validation"])
def test_copa_en(shared_data, split):
    name = {"train": "train-en", "validation": "val-en"}[split]
    rows = jsonl(shared_data / f"copa_en/{name}.jsonl")
    examples = get_source("copa_en").load(split)
    assert [e["label"] for e in examples] == [r["label"] for r in rows]


def test_copa_en_test_labels_are_placeholders(shared_data):
    rows = jsonl(shared_data / "copa_en/test-en.jsonl")
    assert {r["label"] for r in rows} == {0}  # the copy ships a constant label
    examples = get_source("copa_en").load("test")
    assert len(examples) == len(rows) and {e["label"] for e in examples} == {-1}


def test_xnli_en(shared_data):
    with open(shared_data / "xnli_en/dev-en.tsv", encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if r]
    examples = get_source("xnli_en").load("validation")
    assert counter(e["label"] for e in examples) == counter(NLI[r[2]] for r in rows)


@pytest.mark.parametrize("language", XCOPA_LANGUAGES)
def test_xcopa(shared_data, language):
    source = get_source(f"xcopa_{language}")
    assert source.language == language
    for split, stem in (("validation", "val"), ("test", "test")):
        rows = jsonl(shared_data / f"xcopa/data/{language}/{stem}.{language}.jsonl")
        examples = source.load(split)
        assert [e["label"] for e in examples] == [r["label"] for r in rows]
        assert [e["question"] for e in examples] == [r["question"] for r in rows]


def test_every_english_and_xcopa_split_with_data_conforms_to_its_family(shared_data):
    checked = 0
    for source in all_sources():
        if source.name.startswith("korani_dump_") or source.language == "ko":
            continue
        for split in source.splits:
            if not all((shared_data / f).is_file() for f in source.files(split)):
                continue  # StoryCloze is not shipped
            num_labels = len(source.label_names) if source.label_names else None
            for example in source.load(split):
                problems = check_example(source.family, example, num_labels)
                assert not problems, (source.name, split, example["idx"], problems)
            checked += 1
    assert checked >= 40


# ---------------------------------------------------------------- StoryCloze on a fixture

STORY_HEADER = ["InputStoryid", "InputSentence1", "InputSentence2", "InputSentence3", "InputSentence4",
                "RandomFifthSentenceQuiz1", "RandomFifthSentenceQuiz2", "AnswerRightEnding"]
STORIES = [
    ["a1b2-01", "Tom wanted a dog.", "He asked his mom, \"Can I have one?\"", "She said yes, if he walked it.",
     "Tom promised, and meant it.", "Tom got a puppy.", "Tom hated dogs.", "1"],
    ["a1b2-02", "It rained all day.", "Kim stayed inside, reading.", "The power went out at noon.",
     "She lit a candle,\nthen kept reading.", "Kim went swimming in the sun.", "Kim finished her book.", "2"],
]


def _write_story_cloze(folder: Path, rows, name="cloze_test_val__spring2016.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(STORY_HEADER)
        writer.writerows(rows)
    return path


def test_story_cloze_fixture_in_the_official_csv_format(tmp_path):
    _write_story_cloze(tmp_path / "story_cloze", STORIES)
    examples = get_source("story_cloze").load("validation", data_dir=tmp_path)
    assert [e["label"] for e in examples] == [0, 1]
    assert examples[0]["sentences"][1] == 'He asked his mom, "Can I have one?"'
    assert examples[1]["sentences"][3] == "She lit a candle,\nthen kept reading."
    assert examples[1]["ending2"] == "Kim finished her book." and examples[0]["story_id"] == "a1b2-01"
    assert all(not check_example("story_cloze", e, 2) for e in examples)


def test_story_cloze_bad_answer_names_the_line(tmp_path):
    bad = STORIES[0][:-1] + ["3"]
    path = _write_story_cloze(tmp_path / "story_cloze", [STORIES[1], bad])
    # the second story spans lines 2-3 (a quoted newline), so the bad row starts on line 4
    with pytest.raises(MalformedRowError, match=rf"{path} line 4: AnswerRightEnding must be one of \[1, 2\], got 3"):
        get_source("story_cloze").load("validation", data_dir=tmp_path)


# ---------------------------------------------------------------- remote backends

def test_remote_backends_fail_clearly_offline(monkeypatch):
    source = get_source("super_glue_cb")
    assert source.hf.name == "super_glue" and source.tfds.name == "super_glue/cb"
    monkeypatch.setitem(sys.modules, "datasets", None)  # importing it now raises ImportError
    with pytest.raises(RemoteBackendError, match="needs the `datasets` library"):
        source.load("validation", backend="hf")
    with pytest.raises(RemoteBackendError, match="has no 'hf' backend"):
        get_source("sci_news_sum_kr_50").load("test", backend="hf")
    with pytest.raises(RemoteBackendError, match="split 'dev32' has no remote counterpart"):
        source.load("dev32", backend="hf")


def test_remote_cb_labels_are_mapped_to_the_nli_order():
    source = get_source("super_glue_cb")
    # Hugging Face / TFDS CB: 0 entailment, 1 contradiction, 2 neutral
    rows = [{"premise": "p", "hypothesis": "h", "label": label} for label in (0, 1, 2)]
    assert [source.hf.convert(r)["label"] for r in rows] == [NLI["entailment"], NLI["contradiction"], NLI["neutral"]]
