"""T0's English training datasets (seqio_tasks/sources/p3_train.py) against the real release files.

Every expected count and label distribution comes from an independent reading of the raw
files written here with the standard library (json, csv, zipfile, xml.etree), never from
the loader. Skips when $XLIT_DATA_DIR has no p3_train/ folder.
"""
import collections
import csv
import json
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path

import pytest

from seqio_tasks.sources import MalformedFileError, MalformedRowError, get_source
from seqio_tasks.promptsource import HF_CONVERTERS
from seqio_tasks.sources.p3_train import p3_train_sources
from seqio_tasks.sources.schema import check_example

Counter = collections.Counter


@pytest.fixture(scope="module")
def p3(shared_data) -> Path:
    folder = shared_data / "p3_train"
    if not folder.is_dir():
        pytest.skip(f"no p3_train/ folder in {shared_data}: the English training files are not there")
    return folder


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def loaded(name: str, split: str) -> list[dict]:
    source = get_source(name)
    examples = source.load(split)
    problems = [(e["idx"], check_example(source.family, e, len(source.label_names) if source.label_names else None))
                for e in examples]
    assert [p for p in problems if p[1]] == []
    return examples


@pytest.mark.parametrize("split,stem,count", [("train", "train", 9741), ("validation", "dev", 1221)])
def test_commonsense_qa_and_cos_e(p3, split, stem, count):
    rows = jsonl(p3 / f"commonsense_qa/{stem}_rand_split.jsonl")
    expected = Counter("ABCDE".index(r["answerKey"]) for r in rows)
    cqa = loaded("commonsense_qa", split)
    assert len(cqa) == len(rows) == count
    repeated = sum(len({c["text"] for c in r["question"]["choices"]}) < 5 for r in rows)
    assert get_source("commonsense_qa").last_load_report.counts.get("duplicate_choices", 0) == repeated > 0
    assert Counter(e["label"] for e in cqa) == expected
    explanations = {r["id"]: r["explanation"] for r in jsonl(p3 / f"cos_e/cose_{stem}_v1.11_processed.jsonl")}
    by_id = {r["id"]: r for r in rows}
    cos_e = loaded("cos_e", split)
    assert len(cos_e) == len(explanations) == count
    for example in cos_e[:: max(1, count // 50)]:
        raw = by_id[example["id"]]
        assert example["choices"][example["label"]] == next(c["text"] for c in raw["question"]["choices"]
                                                            if c["label"] == raw["answerKey"])
        assert example["abstractive_explanation"] == explanations[example["id"]]["open-ended"].strip()
        assert example["context"] == ""


@pytest.mark.parametrize("split,member,count", [("train", "train", 33410), ("validation", "dev", 1954)])
def test_social_i_qa_from_the_zip(p3, split, member, count):
    with zipfile.ZipFile(p3 / "social_i_qa/socialiqa-train-dev.zip") as archive:
        rows = [json.loads(line) for line in archive.read(f"socialiqa-train-dev/{member}.jsonl").decode().splitlines()
                if line.strip()]
        labels = archive.read(f"socialiqa-train-dev/{member}-labels.lst").decode().split()
    examples = loaded("social_i_qa", split)
    assert len(examples) == len(rows) == len(labels) == count
    assert Counter(e["label"] for e in examples) == Counter(int(v) - 1 for v in labels)
    assert examples[5]["choices"] == [rows[5][k] for k in ("answerA", "answerB", "answerC")]


@pytest.mark.parametrize("split,stem,dialogues,questions", [("train", "train", 3869, 6116), ("validation", "dev", 1288, 2040)])
def test_dream(p3, split, stem, dialogues, questions):
    data = json.loads((p3 / f"dream/{stem}.json").read_text(encoding="utf-8"))
    raw = [q for item in data for q in item[1]]
    assert len(data) == dialogues
    examples = loaded("dream", split)
    assert len(examples) == len(raw) == questions
    assert Counter(e["label"] for e in examples) == Counter(q["choice"].index(q["answer"]) for q in raw)
    assert examples[0]["dialogue"] == data[0][0] and examples[0]["context"] == "\n".join(data[0][0])


def test_cosmos_qa_validation_file_is_the_training_split(p3):
    with open(p3 / "cosmos_qa/valid.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    source = get_source("cosmos_qa")
    assert source.splits == ("train",)
    examples = loaded("cosmos_qa", "train")
    assert len(examples) == len(rows) == 2985
    assert Counter(e["label"] for e in examples) == Counter(int(r["label"]) for r in rows)


def test_quail_dev_xml(p3):
    root = ElementTree.parse(p3 / "quail/quail_1.3_dev.xml").getroot()
    questions = [q for text in root.iter("text") for q in text.iter("q")]
    correct = [" ".join(a.text.split()) for q in questions for a in q.findall("a") if a.get("correct") == "True"]
    examples = loaded("quail", "train")
    assert len(examples) == len(questions) == len(correct) == 2164
    assert [" ".join(e["choices"][e["label"]].split()) for e in examples] == correct
    # the copy lists the correct answer first (last when unanswerable); the loader's shuffle spreads it
    counts = Counter(e["label"] for e in examples)
    assert set(counts) == {0, 1, 2, 3} and max(counts.values()) < 0.35 * len(examples)
    assert examples == get_source("quail").load("train")   # the shuffle is reproducible


@pytest.mark.parametrize("split,start,stop", [("train", 0, 4265), ("validation", 4265, 4798), ("test", 4798, 5331)])
def test_rotten_tomatoes_hf_cut(p3, split, start, stop):
    neg = (p3 / "rotten_tomatoes/rt-polarity.neg").read_bytes().decode("latin-1").split("\n")
    pos = (p3 / "rotten_tomatoes/rt-polarity.pos").read_bytes().decode("latin-1").split("\n")
    assert len([x for x in neg if x]) == len([x for x in pos if x]) == 5331
    examples = loaded("rotten_tomatoes", split)
    assert Counter(e["label"] for e in examples) == Counter({0: stop - start, 1: stop - start})
    assert [e["text"] for e in examples] == [t.strip() for t in neg[start:stop] + pos[start:stop]]


def test_rotten_tomatoes_splits_do_not_overlap(p3):
    texts = {split: {(e["label"], e["text"]) for e in loaded("rotten_tomatoes", split)}
             for split in ("train", "validation", "test")}
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["validation"]


@pytest.mark.parametrize("split,file_name,count", [("train", "train_first581.csv", 581), ("test", "test.csv", 7600)])
def test_ag_news(p3, split, file_name, count):
    with open(p3 / f"ag_news/{file_name}", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    examples = loaded("ag_news", split)
    assert len(examples) == len(rows) == count
    assert Counter(e["label"] for e in examples) == Counter(int(r[0]) - 1 for r in rows)
    assert examples[3]["text"] == f"{rows[3][1]} {rows[3][2]}".strip()
    classes = (p3 / "ag_news/classes.txt").read_text().split()
    assert [c.lower().replace("/", "_") for c in classes] == get_source("ag_news").label_names


@pytest.mark.parametrize("split,file_name,count", [("train", "train_5500.label", 5452), ("test", "TREC_10.label", 500)])
def test_trec(p3, split, file_name, count):
    lines = [line for line in (p3 / f"trec/{file_name}").read_text(encoding="utf-8").split("\n") if line.strip()]
    coarse = ["ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"]
    examples = loaded("trec", split)
    assert len(examples) == len(lines) == count
    assert Counter(e["label"] for e in examples) == Counter(coarse.index(line.split(":")[0]) for line in lines)
    assert len({e["fine_label"] for e in examples}) > 35
    assert not any("\ufffd" in e["text"] for e in examples)


@pytest.mark.parametrize("split,file_name,count", [("train", "msr_paraphrase_train.txt", 4076),
                                                   ("test", "msr_paraphrase_test.txt", 1725)])
def test_mrpc_bom_crlf_tsv(p3, split, file_name, count):
    text = (p3 / f"mrpc/{file_name}").read_bytes().decode("utf-8-sig")
    rows = [line.split("\t") for line in text.split("\r\n")[1:] if line]
    examples = loaded("glue_mrpc", split)
    assert len(examples) == len(rows) == count
    assert Counter(e["label"] for e in examples) == Counter(int(r[0]) for r in rows)
    assert (examples[-1]["sentence1"], examples[-1]["sentence2"]) == (rows[-1][3], rows[-1][4])


def test_paws_english_from_pawsx_dev(shared_data):
    rows = [line.split("\t") for line in (shared_data / "pawsx_xtreme/dev-en.tsv").read_text(encoding="utf-8").splitlines()]
    examples = loaded("paws", "train")
    assert len(examples) == len(rows) == 2000
    assert Counter(e["label"] for e in examples) == Counter(int(r[2]) for r in rows)


@pytest.mark.parametrize("split,stem,count", [("train", "train", 39069), ("validation", "dev", 4018)])
def test_common_gen_pairs(p3, split, stem, count):
    sources = (p3 / f"common_gen/commongen.{stem}.src_alpha.txt").read_text(encoding="utf-8").splitlines()
    targets = (p3 / f"common_gen/commongen.{stem}.tgt.txt").read_text(encoding="utf-8").splitlines()
    examples = loaded("common_gen", split)
    assert len(examples) == len(sources) == len(targets) == count
    assert [e["concepts"] for e in examples[:100]] == [s.split() for s in sources[:100]]
    assert examples[-1]["target"] == targets[-1].strip()


def test_common_gen_concept_sets(p3):
    rows = jsonl(p3 / "common_gen/commongen.dev.jsonl")
    examples = loaded("common_gen_sets", "validation")
    assert len(examples) == len(rows) == 993
    assert sum(len(e["references"]) for e in examples) == sum(len(r["scene"]) for r in rows)
    assert examples[0]["concepts"] == ["field", "look", "stand"]


@pytest.mark.parametrize("split,file_name,count", [("train", "WikiQASent-train.txt", 20360),
                                                   ("validation", "WikiQA-dev.tsv", 2733)])
def test_wiki_qa(p3, split, file_name, count):
    with open(p3 / f"wiki_qa/{file_name}", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if split == "validation":
        rows = [[r[1], r[5], r[6]] for r in rows[1:]]
    examples = loaded("wiki_qa", split)
    assert len(examples) == len(rows) == count
    assert Counter(e["label"] for e in examples) == Counter(int(r[2]) for r in rows)


def _promptsource_of_sources() -> dict[str, tuple[str, str | None]]:
    """Our source name -> its promptsource (dataset, subset), from the taxonomy's `promptsource:` folders."""
    from seqio_tasks import taxonomy

    mapping = {"commonsense_qa": ("commonsense_qa", None)}   # not in T0's mixture, so not in the taxonomy
    for info in taxonomy.all_datasets("p3"):
        if info.source and info.role == "train":
            (folder,) = info.promptsource
            dataset, _, subset = folder.partition("/")
            mapping[info.source] = (dataset, subset or None)
    return mapping


def test_every_p3_source_maps_to_promptsource_rows(p3):
    """Each source's first example converts to the HF fields its promptsource templates read."""
    for source in p3_train_sources():
        if source.name == "common_gen_sets":
            continue
        converter = HF_CONVERTERS[_promptsource_of_sources()[source.name]]
        example = source.load(source.splits[0])[0]
        row = converter(example)
        assert row and all(key not in ("idx",) or isinstance(row[key], int) for key in row)


def test_hf_rows_render_with_promptsource(p3, shared_data):
    """Every promptsource template of every dataset renders the first rows of its source (HF field names match)."""
    from seqio_tasks import promptsource
    folder = shared_data / "promptsource_templates"
    if not folder.is_dir():
        pytest.skip("no promptsource_templates/ in the data directory")
    for name, (dataset, subset) in _promptsource_of_sources().items():
        source = get_source(name)
        examples = source.load(source.splits[0])[:30]
        templates = promptsource.load_promptsource_templates(dataset, subset, folder, original_task_only=False)
        rendered = 0
        for template in templates:
            for example in examples:
                result = template.render(example)   # None: the row lacks a field the template reads
                rendered += bool(result is not None and result.inputs.strip() and result.targets.strip())
        # some templates apply to a subset of rows only (TREC fine classes, WikiQA correct answers and titles)
        assert rendered > 0.25 * len(templates) * len(examples), name


def test_quail_xml_error_names_the_file(tmp_path):
    folder = tmp_path / "p3_train/quail"
    folder.mkdir(parents=True)
    (folder / "quail_1.3_dev.xml").write_text("<data><text id='x'>", encoding="utf-8")
    with pytest.raises(MalformedFileError, match="quail_1.3_dev.xml: invalid XML"):
        get_source("quail").load("train", data_dir=tmp_path)


def test_trec_bad_label_names_the_line(tmp_path):
    folder = tmp_path / "p3_train/trec"
    folder.mkdir(parents=True)
    (folder / "TREC_10.label").write_text("NUM:dist How far ?\nWHAT:ever Is this ?\n", encoding="utf-8")
    with pytest.raises(MalformedRowError, match="TREC_10.label line 2: .*'WHAT:ever'"):
        get_source("trec").load("test", data_dir=tmp_path)


def test_social_i_qa_missing_member_is_named(tmp_path):
    folder = tmp_path / "p3_train/social_i_qa"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "socialiqa-train-dev.zip", "w") as archive:
        archive.writestr("socialiqa-train-dev/dev.jsonl", '{"context": "a", "question": "b"}\n')
    with pytest.raises(MalformedFileError, match="no member 'socialiqa-train-dev/dev-labels.lst'"):
        get_source("social_i_qa").load("validation", data_dir=tmp_path)
