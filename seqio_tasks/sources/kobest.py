"""KoBEST (SKT-LSL/KoBEST_datarepo v1.0): BoolQ, SentiNeg, COPA, HellaSwag and WiC in their TSV files."""
from __future__ import annotations

from seqio_tasks.sources import fields, readers
from seqio_tasks.sources.base import RemoteRef, Source
from seqio_tasks.sources.errors import RowError
from seqio_tasks.sources.fields import NO_YES

KOBEST = "SKT-LSL/KoBEST_datarepo (v1.0/{task}), https://github.com/SKT-LSL/KoBEST_datarepo"


def _kobest_boolq(row: dict) -> dict:
    return {"passage": fields.text(row, "Text"), "question": fields.text(row, "Question"),
            "label": fields.boolean(row["Answer"], "Answer")}


def _kobest_sentineg(row: dict) -> dict:
    # train/dev: ID, Label, Text; test adds Label_origin, Text_origin, Category_neg (the
    # un-negated originals); Label/Text are the test items themselves in both layouts.
    return {"text": fields.text(row, "Text"), "label": fields.integer(row["Label"], "Label", (0, 1))}


_KOBEST_COPA_QUESTIONS = {"원인": "cause", "결과": "effect"}


def _kobest_copa(row: dict) -> dict:
    question = fields.text(row, "question")
    if question not in _KOBEST_COPA_QUESTIONS:
        raise RowError(f"question must be 원인 (cause) or 결과 (effect), got {question!r}")
    return {"premise": fields.text(row, "sentence"), "question": _KOBEST_COPA_QUESTIONS[question],
            "choice1": fields.text(row, "1"), "choice2": fields.text(row, "2"),
            "label": fields.integer(row["Answer"], "Answer", (1, 2)) - 1}


def _kobest_hellaswag(row: dict) -> dict:
    return {"context": fields.text(row, "context"),
            "endings": [fields.text(row, f"choice{i}") for i in range(1, 5)],
            "label": fields.integer(row["label"], "label", (0, 1, 2, 3))}


def _unbracket(sentence: str) -> tuple[str, int, int]:
    """Removes KoBEST WiC's [ ] marks around the target word: (text, start, end) of the first marked span.

    The brackets are markup only, so every '[' and ']' is removed. A few upstream rows mark
    the word twice, leave a stray ']' or mark nothing; the first complete [...] pair gives
    the span, and (-1, -1) means no span was marked.
    """
    start = sentence.find("[")
    end = sentence.find("]", start + 1) if start >= 0 else -1
    clean = sentence.replace("[", "").replace("]", "")
    if start < 0 or end < 0:
        return clean, -1, -1
    # offsets in the cleaned text: brackets before the span shift it left
    shift = sentence[:start].count("[") + sentence[:start].count("]")
    span_start = start - shift
    return clean, span_start, span_start + (end - start - 1)


def _kobest_wic(row: dict) -> dict:
    sentence1, start1, end1 = _unbracket(fields.text(row, "SENTENCE1"))
    sentence2, start2, end2 = _unbracket(fields.text(row, "SENTENCE2"))
    notes = []
    if start1 < 0 or start2 < 0:
        notes.append("no_target_marker")
    if row["SENTENCE1"].count("[") + row["SENTENCE2"].count("[") != 2 or \
            row["SENTENCE1"].count("]") + row["SENTENCE2"].count("]") != 2:
        notes.append("irregular_target_marks")
    return {"word": fields.text(row, "Target"), "sentence1": sentence1, "sentence2": sentence2,
            "label": fields.boolean(row["ANSWER"], "ANSWER"),
            "start1": start1, "end1": end1, "start2": start2, "end2": end2, "_notes": notes}


def _kobest_files(task: str) -> dict[str, tuple[str, ...]]:
    return {"train": (f"kobest/{task}/train.tsv",), "validation": (f"kobest/{task}/dev.tsv",),
            "test": (f"kobest/{task}/test.tsv",)}


def _kobest_hf(config: str, convert) -> RemoteRef:
    return RemoteRef("skt/kobest_v1", config, {"train": "train", "validation": "validation", "test": "test"}, convert)


def kobest_sources() -> list[Source]:
    """KoBEST BoolQ, SentiNeg, COPA, HellaSwag and WiC (all splits labelled)."""
    return [
        Source("kobest_boolq", "boolq", "ko", _kobest_files("BoolQ"),
               readers.tsv(["ID", "Text", "Question", "Answer"]), _kobest_boolq,
               KOBEST.format(task="BoolQ"), NO_YES, "KoBEST BoolQ: yes/no questions on a passage",
               hf=_kobest_hf("boolq", lambda r: {"passage": r["paragraph"], "question": r["question"], "label": r["label"]})),
        Source("kobest_sentineg", "sentiment", "ko", _kobest_files("SentiNeg"),
               readers.tsv(), _kobest_sentineg, KOBEST.format(task="SentiNeg"), ["negative", "positive"],
               "KoBEST SentiNeg: sentiment of product reviews, test items negated",
               hf=_kobest_hf("sentineg", lambda r: {"text": r["sentence"], "label": r["label"]})),
        Source("kobest_copa", "copa", "ko", _kobest_files("COPA"),
               readers.tsv(["ID", "sentence", "question", "1", "2", "Answer"]), _kobest_copa,
               KOBEST.format(task="COPA"), ["choice1", "choice2"], "KoBEST COPA: choice of plausible alternatives",
               hf=_kobest_hf("copa", lambda r: {"premise": r["premise"], "question": _KOBEST_COPA_QUESTIONS.get(r["question"], r["question"]),
                                                "choice1": r["alternative_1"], "choice2": r["alternative_2"], "label": r["label"]})),
        Source("kobest_hellaswag", "completion", "ko", _kobest_files("HellaSwag"),
               readers.tsv(["context", "choice1", "choice2", "choice3", "choice4", "label"]), _kobest_hellaswag,
               KOBEST.format(task="HellaSwag"), ["ending1", "ending2", "ending3", "ending4"],
               "KoBEST HellaSwag: choose the ending of a context",
               hf=_kobest_hf("hellaswag", lambda r: {"context": r["context"], "endings": [r[f"ending_{i}"] for i in range(1, 5)], "label": r["label"]})),
        Source("kobest_wic", "wic", "ko", _kobest_files("WiC"),
               readers.tsv(["ID", "Target", "SENTENCE1", "Dictionary 1", "Link 1", "SENTENCE2", "Dictionary 2", "Link2", "ANSWER"]),
               _kobest_wic, KOBEST.format(task="WiC"), ["different", "same"],
               "KoBEST WiC: same sense of the [bracketed] word? (brackets removed, span offsets kept; -1 when unmarked)",
               hf=_kobest_hf("wic", lambda r: {"word": r["word"], "sentence1": r["context_1"], "sentence2": r["context_2"], "label": r["label"]})),
    ]
