"""Korean data sources against the real files: counts and label distributions from an independent reading.

Every expected value is computed here from the raw file with a different, simple reader
(the csv module, json, plain line counting), never copied from the loader's output.
"""
import collections
import csv
import json
from pathlib import Path

import pytest

from seqio_tasks.sources import MalformedFileError, MalformedRowError, MissingDataError, all_sources, get_source
from seqio_tasks.sources.schema import check_example

NLI = {"entailment": 0, "neutral": 1, "contradiction": 2}


def tsv_rows(path: Path, header: bool = True) -> list[list[str]]:
    """All non-empty rows of a tab-separated file, read with the csv module (no quoting)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if row]
    return rows[1:] if header else rows


def header_of(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def csv_dicts(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def squad_questions(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [qa for article in data["data"] for paragraph in article["paragraphs"] for qa in paragraph["qas"]]


def column_counter(path: Path, name: str, mapping=None) -> collections.Counter:
    index = [h.strip() for h in header_of(path)].index(name)
    values = [row[index].strip() for row in tsv_rows(path)]
    return collections.Counter(mapping(v) if mapping else v for v in values)


KOBEST_CASES = [
    ("kobest_boolq", "BoolQ", "Answer", lambda v: int(v.lower() == "true")),
    ("kobest_sentineg", "SentiNeg", "Label", int),
    ("kobest_copa", "COPA", "Answer", lambda v: int(v) - 1),
    ("kobest_hellaswag", "HellaSwag", "label", int),
    ("kobest_wic", "WiC", "ANSWER", lambda v: int(v.lower() == "true")),
]


@pytest.mark.parametrize("name,task,column,mapping", KOBEST_CASES)
@pytest.mark.parametrize("split,file_name", [("train", "train.tsv"), ("validation", "dev.tsv"), ("test", "test.tsv")])
def test_kobest_counts_and_labels(shared_data, name, task, column, mapping, split, file_name):
    path = shared_data / "kobest" / task / file_name
    expected = column_counter(path, column, mapping)
    examples = get_source(name).load(split)
    assert len(examples) == sum(expected.values())
    assert collections.Counter(e["label"] for e in examples) == expected
    source = get_source(name)
    assert all(not check_example(source.family, e, len(source.label_names)) for e in examples)
    assert len({e["idx"] for e in examples}) == len(examples)


def test_kobest_copa_fields_follow_the_raw_row(shared_data):
    raw = tsv_rows(shared_data / "kobest/COPA/dev.tsv")[0]
    first = get_source("kobest_copa").load("validation")[0]
    assert (first["premise"], first["choice1"], first["choice2"]) == (raw[1], raw[3], raw[4])
    assert first["question"] == {"원인": "cause", "결과": "effect"}[raw[2]]


def test_kobest_wic_brackets_become_offsets(shared_data):
    raw_rows = tsv_rows(shared_data / "kobest/WiC/dev.tsv")
    examples = get_source("kobest_wic").load("validation")
    for raw, example in zip(raw_rows, examples):
        marked = raw[2][raw[2].index("[") + 1:raw[2].index("]")]
        assert example["sentence1"][example["start1"]:example["end1"]] == marked
        assert "[" not in example["sentence1"] and "]" not in example["sentence2"]


def test_kobest_wic_irregular_marks_are_counted_not_dropped(shared_data):
    rows = tsv_rows(shared_data / "kobest/WiC/train.tsv")
    irregular = sum(1 for r in rows if (r[2] + r[5]).count("[") != 2 or (r[2] + r[5]).count("]") != 2)
    source = get_source("kobest_wic")
    assert len(source.load("train")) == len(rows)
    assert source.last_load_report.counts.get("irregular_target_marks", 0) == irregular > 0


@pytest.mark.parametrize("split,file_name", [("validation", "xnli.dev.ko.tsv"), ("test", "xnli.test.ko.tsv")])
def test_kornli(shared_data, split, file_name):
    expected = column_counter(shared_data / "kornli" / file_name, "gold_label", NLI.get)
    examples = get_source("kornli").load(split)
    assert collections.Counter(e["label"] for e in examples) == expected
    assert all(not check_example("nli", e, 3) for e in examples)


def test_klue_nli_and_sts(shared_data):
    nli = json.loads((shared_data / "klue/klue-nli-v1.1_dev.json").read_text(encoding="utf-8"))
    examples = get_source("klue_nli").load("validation")
    assert collections.Counter(e["label"] for e in examples) == collections.Counter(NLI[r["gold_label"]] for r in nli)
    assert [e["guid"] for e in examples] == [r["guid"] for r in nli]
    sts = json.loads((shared_data / "klue/klue-sts-v1.1_dev.json").read_text(encoding="utf-8"))
    examples = get_source("klue_sts").load("validation")
    assert [e["score"] for e in examples] == [r["labels"]["label"] for r in sts]
    assert collections.Counter(e["label"] for e in examples) == collections.Counter(r["labels"]["binary-label"] for r in sts)
    assert all(not check_example("sts", e) for e in examples)


@pytest.mark.parametrize("split,file_name", [("train", "sts-train.tsv"), ("validation", "sts-dev.tsv"), ("test", "sts-test.tsv")])
def test_kor_sts(shared_data, split, file_name):
    rows = tsv_rows(shared_data / "korsts" / file_name)
    examples = get_source("kor_sts").load(split)
    assert len(examples) == len(rows)
    assert sum(e["score"] for e in examples) == pytest.approx(sum(float(r[4]) for r in rows))
    assert all(not check_example("sts", e) for e in examples)


@pytest.mark.parametrize("split,file_name", [("train", "train.tsv"), ("validation", "dev.tsv")])
def test_beep_hate(shared_data, split, file_name):
    expected = column_counter(shared_data / "korean_hate_speech/labeled" / file_name, "hate",
                              {"none": 0, "offensive": 1, "hate": 2}.get)
    examples = get_source("beep_hate").load(split)
    assert collections.Counter(e["label"] for e in examples) == expected
    assert all(not check_example("hate_speech", e, 3) for e in examples)


def test_apeach(shared_data):
    rows = csv_dicts(shared_data / "apeach/test.csv")
    examples = get_source("apeach").load("test")
    assert collections.Counter(e["label"] for e in examples) == collections.Counter(
        {"Default": 0, "Spoiled": 1}[r["class"]] for r in rows)
    assert [e["text"] for e in examples[:5]] == [r["text"].strip() for r in rows[:5]]


def _unsmile_reference(path: Path):
    header = header_of(path)
    labels, unlabelled_lines = [], []
    for line_number, row in enumerate(tsv_rows(path), start=2):
        flags = dict(zip(header[1:], map(int, row[1:])))
        hate = any(flags[c] for c in header[1:9])
        if hate:
            labels.append(2)
        elif flags["악플/욕설"]:
            labels.append(1)
        elif flags["clean"]:
            labels.append(0)
        else:
            unlabelled_lines.append(line_number)
    return collections.Counter(labels), unlabelled_lines


def test_unsmile_validation(shared_data):
    expected, unlabelled = _unsmile_reference(shared_data / "unsmile/unsmile_valid_v1.0.tsv")
    examples = get_source("unsmile").load("validation")
    assert not unlabelled
    assert collections.Counter(e["label"] for e in examples) == expected
    assert all(e["label"] == 2 for e in examples if set(e["categories"]) - {"offensive"})


def test_unsmile_train_rows_without_any_label_raise_or_are_counted(shared_data):
    path = shared_data / "unsmile/unsmile_train_v1.0.tsv"
    expected, unlabelled = _unsmile_reference(path)
    assert unlabelled, "the reference should find the upstream rows that carry no label"
    with pytest.raises(MalformedRowError) as error:
        get_source("unsmile").load("train")
    assert error.value.path == str(path) and error.value.line == unlabelled[0]
    assert f"{path} line {unlabelled[0]}:" in str(error.value)
    source = get_source("unsmile")
    examples = source.load("train", on_error="skip")
    assert collections.Counter(e["label"] for e in examples) == expected
    assert [row.line for row in source.last_load_report.skipped] == unlabelled


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_question_pair_label_is_flipped_to_paraphrase(shared_data, split):
    path = shared_data / "question_pair" / f"{split}.txt"
    # upstream README: is_duplicate 0 = same question -> paraphrase label 1
    expected = column_counter(path, "is_duplicate", lambda v: 1 - int(v))
    examples = get_source("question_pair").load(split)
    assert collections.Counter(e["label"] for e in examples) == expected


@pytest.mark.parametrize("split,file_name", [("train", "kor_pair_train.csv"), ("test", "kor_Pair_test.csv")])
def test_question_pair_csv_release(shared_data, split, file_name):
    rows = csv_dicts(shared_data / "question_pair" / file_name)
    examples = get_source("question_pair_csv").load(split)
    assert collections.Counter(e["label"] for e in examples) == collections.Counter(1 - int(r["is_duplicate"]) for r in rows)
    assert examples[0]["sentence1"] == rows[0]["question1"].strip()


def test_parakqc_pairs(shared_data):
    lines = (shared_data / "parakqc/paraKQC_v1.txt").read_text(encoding="utf-8").splitlines()
    sentences = [line.split("\t")[2].strip() for line in lines]
    set_of = {}
    for number, sentence in enumerate(sentences):
        set_of.setdefault(sentence, set()).add(number // 10)
    examples = get_source("parakqc").load("train")
    assert len(examples) == len(sentences)  # 5 positive + 5 negative pairs per set of 10
    assert collections.Counter(e["label"] for e in examples) == {0: len(sentences) // 2, 1: len(sentences) // 2}
    for e in examples[:400]:
        same_set = bool(set_of[e["sentence1"]] & set_of[e["sentence2"]])
        assert same_set == (e["label"] == 1)


@pytest.mark.parametrize("name,path,split,column", [
    ("pawsx_ko", "pawsx_ko/dev_2k.tsv", "validation", 3),
    ("pawsx_ko", "pawsx_ko/test_2k.tsv", "test", 3),
])
def test_pawsx_ko(shared_data, name, path, split, column):
    rows = tsv_rows(shared_data / path)
    examples = get_source(name).load(split)
    assert collections.Counter(e["label"] for e in examples) == collections.Counter(int(r[column]) for r in rows)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_pawsx_xtreme(shared_data, language):
    rows = tsv_rows(shared_data / f"pawsx_xtreme/dev-{language}.tsv", header=False)
    examples = get_source(f"pawsx_xtreme_{language}").load("validation")
    assert collections.Counter(e["label"] for e in examples) == collections.Counter(int(r[2]) for r in rows)


@pytest.mark.parametrize("split,file_name", [("train", "fci_train_val.txt"), ("test", "fci_test.txt")])
def test_kor_3i4k(shared_data, split, file_name):
    rows = tsv_rows(shared_data / "3i4k" / file_name, header=False)
    source = get_source("kor_3i4k")
    examples = source.load(split)
    assert collections.Counter(e["label"] for e in examples) == collections.Counter(int(r[0]) for r in rows)
    assert len(source.label_names) == 7


def test_korquad1(shared_data):
    questions = squad_questions(shared_data / "korquad_v1/KorQuAD_v1.0_dev.json")
    examples = get_source("korquad1").load("validation")
    assert [e["id"] for e in examples] == [q["id"] for q in questions]
    assert [e["answers"] for e in examples] == [[a["text"] for a in q["answers"]] for q in questions]
    assert all(not check_example("extractive_qa", e) for e in examples)


def test_tydiqa_goldp(shared_data):
    train = squad_questions(shared_data / "tydiqa_goldp/tydiqa.goldp.ko.train.json")
    examples = get_source("tydiqa_goldp_ko").load("train")
    assert len(examples) == len(train) and all(e["answers"] for e in examples)
    for language in ("ko", "en"):
        dev = squad_questions(shared_data / f"tydiqa_goldp/tydiqa.goldp.{language}.dev.json")
        source = get_source(f"tydiqa_goldp_{language}")
        examples = source.load("validation")
        assert len(examples) == len(dev)
        # this copy blanks every dev answer: the split is declared unlabelled, answers stay empty
        assert all(not a["text"] for q in dev for a in q["answers"])
        assert "validation" in source.unlabelled_splits and all(e["answers"] == [] for e in examples)


def test_finance_sentiment_is_line_parallel(shared_data):
    rows = csv_dicts(shared_data / "korean_finance_sentiment/finance_data.csv")
    english = get_source("finance_sentiment_en").load("train")
    korean = get_source("finance_sentiment_ko").load("train")
    expected = collections.Counter({"negative": 0, "neutral": 1, "positive": 2}[r["labels"]] for r in rows)
    assert collections.Counter(e["label"] for e in english) == expected
    assert [e["label"] for e in english] == [e["label"] for e in korean]
    assert [e["text"] for e in korean[:3]] == [r["kor_sentence"].strip() for r in rows[:3]]


@pytest.mark.parametrize("split,folder", [("validation", "dev"), ("test", "devtest")])
def test_flores_both_directions(shared_data, split, folder):
    english = (shared_data / f"flores200_en_ko/{folder}/eng_Latn.{folder}").read_text(encoding="utf-8").splitlines()
    korean = (shared_data / f"flores200_en_ko/{folder}/kor_Hang.{folder}").read_text(encoding="utf-8").splitlines()
    en_ko = get_source("flores200_en_ko").load(split)
    ko_en = get_source("flores200_ko_en").load(split)
    assert len(en_ko) == len(ko_en) == len(english) == len(korean)
    assert en_ko[5]["source_text"] == english[5].strip() and en_ko[5]["target_text"] == korean[5].strip()
    assert (ko_en[5]["source_lang"], ko_en[5]["target_lang"]) == ("ko", "en")
    assert ko_en[5]["source_text"] == korean[5].strip()


def test_tatoeba(shared_data):
    korean = (shared_data / "tatoeba_ko_en/ko-en.ko").read_text(encoding="utf-8").splitlines()
    examples = get_source("tatoeba_ko_en").load("test")
    assert len(examples) == len(korean) and examples[-1]["source_text"] == korean[-1].strip()


def test_sci_news_summaries(shared_data):
    files = sorted((shared_data / "sci_news_sum_kr_50/data").glob("*.json"))
    examples = get_source("sci_news_sum_kr_50").load("test")
    assert len(examples) == len(files) == 50
    for path, example in zip(files, examples):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert example["summary"] == " ".join(record["sentences"][i].strip() for i in sorted(record["summaries"]))
        assert example["title"] == record["title"]


def test_every_korean_split_conforms_to_its_family(shared_data):
    checked = 0
    for source in all_sources():
        if source.name.startswith("korani_dump_") or source.language != "ko":
            continue
        for split in source.splits:
            num_labels = len(source.label_names) if source.label_names else None
            for example in source.load(split, on_error="skip"):
                problems = check_example(source.family, example, num_labels)
                assert not problems, (source.name, split, example["idx"], problems)
            checked += 1
    assert checked >= 40


def test_tatoeba_en_ko_is_the_reverse_direction(shared_data):
    forward = get_source("tatoeba_ko_en").load("test")
    backward = get_source("tatoeba_en_ko").load("test")
    assert [(e["source_text"], e["target_text"]) for e in forward] == [(e["target_text"], e["source_text"]) for e in backward]


# ---------------------------------------------------------------- error behaviour on fixtures

def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_tsv_row_names_file_and_line(tmp_path):
    header = "ID\tsentence\tquestion\t1\t2\tAnswer\n"
    good = "1\t비가 왔다.\t결과\t땅이 젖었다.\t해가 떴다.\t1\n"
    path = _write(tmp_path / "kobest/COPA/dev.tsv", header + good + good + "3\t짧은 행\t결과\n" + good)
    source = get_source("kobest_copa")
    with pytest.raises(MalformedRowError, match=r"dev\.tsv line 4: expected 6 columns, got 3"):
        source.load("validation", data_dir=tmp_path)
    examples = source.load("validation", data_dir=tmp_path, on_error="skip")
    assert [e["idx"] for e in examples] == [0, 1, 3]
    report = source.last_load_report
    assert report.loaded == 3 and [(s.path, s.line) for s in report.skipped] == [(str(path), 4)]
    assert "1 malformed rows skipped" in report.summary()


def test_bad_label_value_is_a_malformed_row(tmp_path):
    _write(tmp_path / "kobest/COPA/dev.tsv",
           "ID\tsentence\tquestion\t1\t2\tAnswer\n1\t비가 왔다.\t결과\t땅이 젖었다.\t해가 떴다.\t3\n")
    with pytest.raises(MalformedRowError, match=r"line 2: Answer must be one of \[1, 2\], got 3"):
        get_source("kobest_copa").load("validation", data_dir=tmp_path)


def test_wrong_header_is_a_file_error(tmp_path):
    _write(tmp_path / "kornli/xnli.dev.ko.tsv", "premise\thypothesis\tlabel\n가\t나\tneutral\n")
    with pytest.raises(MalformedFileError, match="xnli.dev.ko.tsv: expected header"):
        get_source("kornli").load("validation", data_dir=tmp_path)


def test_parallel_files_of_different_length_are_a_file_error(tmp_path):
    _write(tmp_path / "tatoeba_ko_en/ko-en.en", "one\ntwo\nthree\n")
    _write(tmp_path / "tatoeba_ko_en/ko-en.ko", "하나\n둘\n")
    with pytest.raises(MalformedFileError, match="line-aligned"):
        get_source("tatoeba_ko_en").load("test", data_dir=tmp_path)


def test_missing_file_says_which_files_where_from_and_which_setting(tmp_path):
    with pytest.raises(MissingDataError) as error:
        get_source("klue_nli").load("validation", data_dir=tmp_path)
    message = str(error.value)
    for part in ("klue_nli", "klue/klue-nli-v1.1_dev.json", "KLUE-benchmark/KLUE", "XLIT_DATA_DIR", str(tmp_path)):
        assert part in message


def test_json_record_errors_name_the_line_where_the_record_starts(tmp_path):
    records = [{"guid": "a", "premise": "비가 온다.", "hypothesis": "젖는다.", "gold_label": "entailment"},
               {"guid": "b", "premise": "해가 뜬다.", "hypothesis": "밤이다.", "gold_label": "maybe"}]
    text = json.dumps(records, ensure_ascii=False, indent=2)
    _write(tmp_path / "klue/klue-nli-v1.1_dev.json", text)
    second_line = text.splitlines().index("  {", 2) + 1  # where the second record starts
    with pytest.raises(MalformedRowError, match=rf"line {second_line}: gold_label must be one of"):
        get_source("klue_nli").load("validation", data_dir=tmp_path)


def test_squad_answer_offset_errors_name_the_question_line(tmp_path):
    document = {"version": "x", "data": [{"title": "t", "paragraphs": [{"context": "서울은 한국의 수도이다.", "qas": [
        {"id": "q1", "question": "수도는?", "answers": [{"text": "서울", "answer_start": 0}]},
        {"id": "q2", "question": "어느 나라?", "answers": [{"text": "한국", "answer_start": 9}]}]}]}]}
    text = json.dumps(document, ensure_ascii=False, indent=1)
    _write(tmp_path / "korquad_v1/KorQuAD_v1.0_dev.json", text)
    q2_line = next(n for n, line in enumerate(text.splitlines(), 1) if '"q2"' in line)
    with pytest.raises(MalformedRowError, match=rf"line {q2_line}: question 'q2': answer '한국' is not at offset 9"):
        get_source("korquad1").load("validation", data_dir=tmp_path)
    assert len(get_source("korquad1").load("validation", data_dir=tmp_path, on_error="skip")) == 1


def test_unset_data_dir_is_reported(monkeypatch):
    monkeypatch.delenv("XLIT_DATA_DIR", raising=False)
    with pytest.raises(MissingDataError, match="XLIT_DATA_DIR is not set"):
        get_source("kornli").load("test")


def test_unknown_split_and_source():
    with pytest.raises(KeyError, match="its splits are"):
        get_source("kornli").files("train")
    with pytest.raises(KeyError, match="no data source named"):
        get_source("no_such_dataset")
