"""T0's English training datasets (P3) in their release files, mapped to their families' schemas.

Twelve datasets of `$XLIT_DATA_DIR/p3_train/` (CommonsenseQA, CoS-E, Social IQa, DREAM,
Cosmos QA, QuAIL, Rotten Tomatoes, AG News, TREC, MRPC, CommonGen, WikiQA) and PAWS English
(PAWS-X en dev in `pawsx_xtreme/`). Source names are the P3 taxonomy's dataset names, so a
template's label words find the dataset's label names.

Split choices where the release files differ from the Hugging Face splits T0 trained on:
- Rotten Tomatoes: HF's fixed 80/10/10 cut of each polarity file (lines [0, 4265) train,
  [4265, 4798) validation, [4798, 5331) test), the split T0 used.
- MRPC: `train` is MSR's training file (GLUE train + dev, 4,076 pairs; GLUE's dev ids are
  not here), `test` the labelled MSR test file (1,725).
- Cosmos QA and QuAIL: only the upstream validation/dev file exists here; it is the `train`
  split (T0 trains on these datasets) and there is no evaluation split.
- QuAIL: this copy lists the correct answer first (last for unanswerable questions); the
  answers are shuffled once per question (seeded by its id), as the released randomized files are.
- AG News: `train` is the 581-row head of the original train.csv, `test` the full test set.
- PAWS: PAWS-X English dev (2,000 PAWS-Wiki pairs) is the only labelled English PAWS file
  here: it is the `train` split; the same rows are `pawsx_xtreme_en`'s validation split.

The converters from these canonical examples to the Hugging Face fields the promptsource
templates read are in `seqio_tasks.promptsource.HF_CONVERTERS` (one table for every English
dataset); the taxonomy's `promptsource:` folders say which templates a dataset has.
"""
from __future__ import annotations

import dataclasses
import random
import re
import zlib
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from seqio_tasks.sources import fields, readers
from seqio_tasks.sources.base import NOTES_KEY, RemoteRef, Source
from seqio_tasks.sources.errors import MalformedFileError, RowError
from seqio_tasks.sources.fields import NO_YES
from seqio_tasks.sources.readers import BadRecord, RawRecord

P3 = "p3_train"
CQA_LETTERS = ("A", "B", "C", "D", "E")


@dataclasses.dataclass
class PerSplitSource(Source):
    """A Source whose splits read the same files differently (zip members, line ranges of one file)."""

    split_readers: Mapping[str, Callable[[Sequence[Path]], Any]] = dataclasses.field(default_factory=dict)

    def load(self, split: str, data_dir: str | Path | None = None, on_error: str = "raise",
             backend: str = "local") -> list[dict]:
        """Reads `split` with its own reader (see `Source.load`)."""
        reader = self.split_readers.get(split)
        if reader is None or backend != "local":
            return super().load(split, data_dir, on_error, backend)
        view = dataclasses.replace(self, read=reader, split_readers={})
        try:
            return view.load(split, data_dir, on_error, backend)
        finally:
            self.last_load_report = view.last_load_report


def _no_shared_reader(paths: Sequence[Path]) -> Iterator[RawRecord]:
    raise ValueError("this source reads each split with its own reader: call load(split)")


# ---------------------------------------------------------------- multiple-choice QA

def _noted(example: dict) -> dict:
    """Counts a multiple-choice row whose choices repeat a text (CommonsenseQA has 146) in the load report."""
    if len(set(example["choices"])) < len(example["choices"]):
        example[NOTES_KEY] = ["duplicate_choices"]
    return example


def _choices(values: Sequence[Any], name: str) -> list[str]:
    result = []
    for position, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise RowError(f"{name}[{position}] must be a non-empty string, got {value!r}")
        result.append(value.strip())
    return result


def _commonsense_qa(row: dict) -> dict:
    question = row["question"]
    if not isinstance(question, dict) or not isinstance(question.get("choices"), list):
        raise RowError("field 'question' must be an object with 'stem' and 'choices'")
    letters = [c.get("label") if isinstance(c, dict) else None for c in question["choices"]]
    if letters != list(CQA_LETTERS):
        raise RowError(f"choices must be labelled A-E in order, got {letters}")
    choices = _choices([c.get("text") for c in question["choices"]], "choices")
    return _noted({"context": "", "question": fields.text(question, "stem"), "choices": choices,
                   "label": fields.label_of(row["answerKey"], CQA_LETTERS, "answerKey"), "id": fields.text(row, "id"),
                   "question_concept": fields.text(question, "question_concept", allow_empty=True)})


def cos_e_records(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """Reads (CoS-E explanations jsonl, CommonsenseQA jsonl) pairs: each explanation joined to its question by id."""
    if len(paths) % 2:
        raise ValueError("cos_e_records needs (cos_e, commonsense_qa) file pairs")
    for cose_path, cqa_path in zip(paths[0::2], paths[1::2]):
        questions = {}
        for _, _, record in readers.jsonl([cqa_path]):
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                questions[record["id"]] = record
        for path, line, record in readers.jsonl([cose_path]):
            if isinstance(record, BadRecord):
                yield path, line, record
                continue
            question = questions.get(record.get("id"))
            if question is None:
                yield path, line, BadRecord(f"id {record.get('id')!r} is not in {cqa_path.name}")
                continue
            yield path, line, {**question, "_explanation": record.get("explanation")}


def _cos_e(row: dict) -> dict:
    example = _commonsense_qa(row)
    explanation = row["_explanation"]
    if not isinstance(explanation, dict):
        raise RowError("field 'explanation' must be an object with 'open-ended' and 'selected'")
    example["abstractive_explanation"] = fields.text(explanation, "open-ended", allow_empty=True)
    example["extractive_explanation"] = fields.text(explanation, "selected", allow_empty=True)
    return example


SOCIAL_IQA_LABELS = ("1", "2", "3")


def _social_i_qa(row: dict) -> dict:
    return _noted({"context": fields.text(row, "context"), "question": fields.text(row, "question"),
                   "choices": [fields.text(row, key) for key in ("answerA", "answerB", "answerC")],
                   "label": fields.label_of(row["_label"], SOCIAL_IQA_LABELS, "label (labels file)")})


def dream_questions(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """Reads DREAM's JSON ([[turns], [questions], id] per dialogue): one record per question."""
    for path, line, item in readers.json_array_values(paths):
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], list) and isinstance(item[1], list)):
            yield path, line, BadRecord("expected [dialogue turns, questions, dialogue id]")
            continue
        turns, questions, dialogue_id = item
        for position, question in enumerate(questions):
            if not isinstance(question, dict):
                yield path, line, BadRecord(f"dialogue {dialogue_id!r} question {position} is not an object")
                continue
            yield path, line, {"dialogue": turns, "dialogue_id": dialogue_id, **question}


def _dream(row: dict) -> dict:
    turns = row["dialogue"]
    if not turns or not all(isinstance(turn, str) and turn.strip() for turn in turns):
        raise RowError(f"dialogue {row['dialogue_id']!r} has an empty turn")
    choices = _choices(row["choice"], "choice")
    answer = fields.text(row, "answer")
    if answer not in choices:
        raise RowError(f"answer {answer!r} is not among the choices {choices}")
    dialogue = [turn.strip() for turn in turns]
    return _noted({"context": "\n".join(dialogue), "question": fields.text(row, "question"), "choices": choices,
                   "label": choices.index(answer), "dialogue": dialogue, "dialogue_id": str(row["dialogue_id"])})


def _cosmos_qa(row: dict) -> dict:
    return _noted({"context": fields.text(row, "context"), "question": fields.text(row, "question"),
                   "choices": [fields.text(row, f"answer{i}") for i in range(4)],
                   "label": fields.integer(row["label"], "label", range(4)), "id": fields.text(row, "id")})


_WHITESPACE_LINE = re.compile(r"[ \t]*\n[ \t]*")


def _element_text(element: ElementTree.Element) -> str:
    """An element's own text (before its first child), without the pretty-printer's indentation."""
    return _WHITESPACE_LINE.sub("\n", (element.text or "").strip())


def quail_questions(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """Reads QuAIL's XML (<text> with <text_body> and <questions><q><a correct=...>): one record per question."""
    for path in paths:
        content = path.read_text(encoding="utf-8")
        try:
            root = ElementTree.fromstring(content)
        except ElementTree.ParseError as err:
            raise MalformedFileError(path, f"invalid XML: {err}") from None
        starts = [content.count("\n", 0, m.start()) + 1 for m in re.finditer(r"<q[\s>]", content)]
        position = 0
        for text in root.iter("text"):
            body = text.find("text_body")
            title = text.find("metadata/title")
            for question in text.iter("q"):
                line = starts[position] if position < len(starts) else 0
                position += 1
                yield path, line, {
                    "text_id": text.get("id"), "domain": text.get("domain"),
                    "context": _element_text(body) if body is not None else "",
                    "title": _element_text(title) if title is not None else "",
                    "question_id": question.get("id"), "question_type": question.get("type"),
                    "question": _element_text(question),
                    "answers": [(a.get("id"), a.get("correct"), _element_text(a)) for a in question.findall("a")]}


def _quail(row: dict) -> dict:
    answers = row["answers"]
    if len(answers) != 4:
        raise RowError(f"question {row['text_id']}_{row['question_id']} has {len(answers)} answers, expected 4")
    qid = f"{row['text_id']}_{row['question_id']}"
    correct = [k for k, (_, flag, _) in enumerate(answers) if flag is not None and fields.boolean(flag, "correct")]
    if len(correct) != 1:
        raise RowError(f"question {qid} marks {len(correct)} answers correct")
    if not row["context"]:
        raise RowError(f"text {row['text_id']} has no text_body")
    # This copy lists the correct answer first (or last for Unanswerable questions); the
    # released "randomized" files that Hugging Face (and T0) read shuffle them. Shuffle once,
    # seeded by the question id, so the order is reproducible and the position carries no label.
    order = list(range(len(answers)))
    random.Random(zlib.crc32(qid.encode("utf-8"))).shuffle(order)
    texts = _choices([answers[k][2] for k in order], "answers")
    return _noted({"context": row["context"], "question": fields.text(row, "question"),
                   "choices": texts, "label": order.index(correct[0]), "id": qid, "domain": str(row["domain"] or ""),
                   "question_type": str(row["question_type"] or ""), "title": row["title"]})


# ---------------------------------------------------------------- sentiment, topic

RT_LABELS = ["negative", "positive"]
RT_FILES = ("p3_train/rotten_tomatoes/rt-polarity.neg", "p3_train/rotten_tomatoes/rt-polarity.pos")
# Hugging Face's rotten_tomatoes cut of each 5,331-line file: 80% / 10% / 10% (rounded).
RT_RANGES = {"train": (0, 4265), "validation": (4265, 4798), "test": (4798, 5331)}


def polarity_lines(start: int, stop: int) -> Callable[[Sequence[Path]], Iterator[RawRecord]]:
    """Reads lines [start, stop) of each (rt-polarity.neg, rt-polarity.pos) file (latin-1, one sentence a line)."""

    def read(paths: Sequence[Path]) -> Iterator[RawRecord]:
        for label, path in enumerate(paths):
            lines = list(readers.text_lines(path, encoding="latin-1"))
            if lines and lines[-1][1] == "":
                lines.pop()
            if len(lines) < stop:
                raise MalformedFileError(path, f"has {len(lines)} lines; the split needs lines up to {stop}")
            for number, text in lines[start:stop]:
                yield path, number, {"text": text, "label": label}
    return read


def _rotten_tomatoes(row: dict) -> dict:
    return {"text": fields.text(row, "text"), "label": row["label"]}


AG_NEWS_LABELS = ["world", "sports", "business", "sci_tech"]


def _ag_news(row: dict) -> dict:
    # Hugging Face's ag_news: text = title + " " + description, label = class index - 1.
    title, description = fields.text(row, "title"), fields.text(row, "description", allow_empty=True)
    return {"text": f"{title} {description}".strip(), "label": fields.integer(row["class"], "class", (1, 2, 3, 4)) - 1,
            "title": title, "description": description}


TREC_COARSE = ["ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"]
TREC_LABELS = ["abbreviation", "entity", "description", "human", "location", "number"]
TREC_FINE = ["ABBR:abb", "ABBR:exp", "ENTY:animal", "ENTY:body", "ENTY:color", "ENTY:cremat", "ENTY:currency",
             "ENTY:dismed", "ENTY:event", "ENTY:food", "ENTY:instru", "ENTY:lang", "ENTY:letter", "ENTY:other",
             "ENTY:plant", "ENTY:product", "ENTY:religion", "ENTY:sport", "ENTY:substance", "ENTY:symbol",
             "ENTY:techmeth", "ENTY:termeq", "ENTY:veh", "ENTY:word", "DESC:def", "DESC:desc", "DESC:manner",
             "DESC:reason", "HUM:gr", "HUM:ind", "HUM:title", "HUM:desc", "LOC:city", "LOC:country", "LOC:mount",
             "LOC:other", "LOC:state", "NUM:code", "NUM:count", "NUM:date", "NUM:dist", "NUM:money", "NUM:ord",
             "NUM:other", "NUM:period", "NUM:perc", "NUM:speed", "NUM:temp", "NUM:volsize", "NUM:weight"]


def _trec(row: list) -> dict:
    line = row[0]
    tag, _, text = line.partition(" ")
    coarse, _, _ = tag.partition(":")
    if coarse not in TREC_COARSE or tag not in TREC_FINE:
        raise RowError(f"line must start with a TREC label such as 'NUM:dist', got {tag!r}")
    if not text.strip():
        raise RowError("question text is empty")
    # The train file's one non-UTF-8 byte (0xF0 between two words) reads as U+FFFD here;
    # Hugging Face's loader turns that byte into a space, and so does this one.
    text = text.replace("\ufffd", " ")
    return {"text": text.strip(), "label": TREC_COARSE.index(coarse), "fine_label": TREC_FINE.index(tag)}


# ---------------------------------------------------------------- paraphrase, generation, answer selection

MRPC_COLUMNS = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]


def _mrpc(row: dict) -> dict:
    return {"sentence1": fields.text(row, "#1 String"), "sentence2": fields.text(row, "#2 String"),
            "label": fields.integer(row["Quality"], "Quality", (0, 1)),
            "id1": fields.text(row, "#1 ID"), "id2": fields.text(row, "#2 ID")}


def _paws(row: list) -> dict:
    return {"sentence1": row[0].strip(), "sentence2": row[1].strip(), "label": fields.integer(row[2], "label", (0, 1))}


def _common_gen_pair(pair: list) -> dict:
    concepts = pair[0].split()
    if not concepts:
        raise RowError("the concept line is empty")
    if not pair[1].strip():
        raise RowError("the target sentence is empty")
    return {"concepts": concepts, "target": pair[1].strip()}


def _common_gen_set(row: dict) -> dict:
    concept_set = fields.text(row, "concept_set")
    scenes = row["scene"]
    if not isinstance(scenes, list) or not scenes:
        raise RowError("field 'scene' must be a non-empty list of sentences")
    references = _choices(scenes, "scene")
    return {"concepts": [c.rpartition("_")[0] or c for c in concept_set.split("#")], "target": references[0],
            "references": references, "concept_set": concept_set}


WIKI_QA_DEV_COLUMNS = ["QuestionID", "Question", "DocumentID", "DocumentTitle", "SentenceID", "Sentence", "Label"]


def _wiki_qa_dev(row: dict) -> dict:
    return {"question": fields.text(row, "Question"), "answer": fields.text(row, "Sentence"),
            "label": fields.integer(row["Label"], "Label", (0, 1)), "question_id": fields.text(row, "QuestionID"),
            "document_title": fields.text(row, "DocumentTitle")}


def _wiki_qa_train(row: list) -> dict:
    question, sentence, label = (value.strip() for value in row)
    if not question or not sentence:
        raise RowError("question or sentence is empty")
    return {"question": question, "answer": sentence, "label": fields.integer(label, "label", (0, 1)),
            "question_id": "", "document_title": ""}


# ---------------------------------------------------------------- the sources

def _hf(name: str, config: str | None, splits: Mapping[str, str], convert) -> RemoteRef:
    return RemoteRef(name, config, dict(splits), convert)


def p3_train_sources() -> list[Source]:
    """The loaders of the English T0 training datasets present in the shared data."""
    cqa = "jonathanherzig/commonsenseqa (v1.11 rand split), https://www.tau-nlp.org/commonsenseqa"
    siqa = "Social IQa official release socialiqa-train-dev.zip, https://leaderboard.allenai.org/socialiqa"
    dream = "nlpdata/dream (data/), https://github.com/nlpdata/dream"
    p = f"{P3}/"
    rt_readers = {split: polarity_lines(*bounds) for split, bounds in RT_RANGES.items()}
    return [
        Source("commonsense_qa", "multiple_choice_qa", "en",
               {"train": (p + "commonsense_qa/train_rand_split.jsonl",),
                "validation": (p + "commonsense_qa/dev_rand_split.jsonl",)},
               readers.jsonl, _commonsense_qa, cqa, None,
               "CommonsenseQA v1.11: 5-way questions, no context (test has no labels and is not here)"),
        Source("cos_e", "multiple_choice_qa", "en",
               {"train": (p + "cos_e/cose_train_v1.11_processed.jsonl", p + "commonsense_qa/train_rand_split.jsonl"),
                "validation": (p + "cos_e/cose_dev_v1.11_processed.jsonl", p + "commonsense_qa/dev_rand_split.jsonl")},
               cos_e_records, _cos_e, "salesforce/cos-e (data/v1.11) joined by id to CommonsenseQA v1.11", None,
               "CoS-E v1.11: CommonsenseQA questions with human explanations (abstractive_explanation = open-ended, "
               "extractive_explanation = selected span)"),
        PerSplitSource("social_i_qa", "multiple_choice_qa", "en",
                       {"train": (p + "social_i_qa/socialiqa-train-dev.zip",),
                        "validation": (p + "social_i_qa/socialiqa-train-dev.zip",)},
                       _no_shared_reader, _social_i_qa, siqa, None,
                       "Social IQa: 3-way questions about a social situation (labels 1-3 from the -labels.lst members)",
                       split_readers={
                           "train": readers.zip_labelled_jsonl("socialiqa-train-dev/train.jsonl",
                                                               "socialiqa-train-dev/train-labels.lst"),
                           "validation": readers.zip_labelled_jsonl("socialiqa-train-dev/dev.jsonl",
                                                                    "socialiqa-train-dev/dev-labels.lst")}),
        Source("dream", "multiple_choice_qa", "en",
               {"train": (p + "dream/train.json",), "validation": (p + "dream/dev.json",)},
               dream_questions, _dream, dream, None,
               "DREAM: 3-way questions on a dialogue (context = the turns, one per line; `dialogue` keeps them)"),
        Source("cosmos_qa", "multiple_choice_qa", "en", {"train": (p + "cosmos_qa/valid.csv",)},
               readers.csv_rows(["id", "context", "question", "answer0", "answer1", "answer2", "answer3", "label"]),
               _cosmos_qa, "wilburOne/cosmosqa (data/valid.csv), https://wilburone.github.io/cosmos", None,
               "Cosmos QA: only the upstream validation file is here (2,985 labelled); it is the training split, "
               "and there is no evaluation split"),
        Source("quail", "multiple_choice_qa", "en", {"train": (p + "quail/quail_1.3_dev.xml",)},
               quail_questions, _quail, "text-machine-lab/quail (quail_v1.3/xml/randomized), https://text-machine.cs.uml.edu/lab2/projects/quail/",
               None, "QuAIL v1.3: only the upstream dev XML is here (2,164 labelled questions); it is the training "
               "split, and there is no evaluation split"),
        PerSplitSource("rotten_tomatoes", "sentiment", "en", {split: RT_FILES for split in RT_RANGES},
                       _no_shared_reader, _rotten_tomatoes,
                       "MR sentence polarity v1.0 (rt-polaritydata), https://www.cs.cornell.edu/people/pabo/movie-review-data/",
                       RT_LABELS, "Rotten Tomatoes sentences (latin-1); splits are Hugging Face's 80/10/10 line cut "
                       "of each polarity file", split_readers=rt_readers,
                       hf=_hf("rotten_tomatoes", None, {s: s for s in RT_RANGES},
                              lambda r: {"text": r["text"], "label": int(r["label"])})),
        Source("ag_news", "topic_classification", "en",
               {"train": (p + "ag_news/train_first581.csv",), "test": (p + "ag_news/test.csv",)},
               readers.csv_rows(["class", "title", "description"], header=False), _ag_news,
               "mhjabreel/CharCnn_Keras (data/ag_news_csv), the AG News CSVs of Zhang et al. 2015",
               AG_NEWS_LABELS, "AG News: text = title + description; train is the first 581 rows of the original "
               "120,000 (the copy here), test the full 7,600",
               hf=_hf("ag_news", None, {"train": "train", "test": "test"}, lambda r: {"text": r["text"], "label": int(r["label"])})),
        Source("trec", "topic_classification", "en",
               {"train": (p + "trec/train_5500.label",), "test": (p + "trec/TREC_10.label",)},
               readers.tsv(header=False, num_columns=1), _trec,
               "Li & Roth TREC question classification, https://cogcomp.seas.upenn.edu/Data/QA/QC/", TREC_LABELS,
               "TREC: 6 coarse question classes (label) and 50 fine ones (fine_label, Hugging Face's order)"),
        Source("glue_mrpc", "paraphrase", "en",
               {"train": (p + "mrpc/msr_paraphrase_train.txt",), "test": (p + "mrpc/msr_paraphrase_test.txt",)},
               readers.tsv(MRPC_COLUMNS), _mrpc, "Microsoft Research Paraphrase Corpus (MSRParaphraseCorpus.msi)",
               NO_YES, "MRPC: train = MSR train file (GLUE train + dev, 4,076); test = MSR test (1,725, labelled)"),
        Source("paws", "paraphrase", "en", {"train": ("pawsx_xtreme/dev-en.tsv",)},
               readers.tsv(header=False, num_columns=3), _paws,
               "GautamGupta17/MESH (data/pawsx), PAWS-X English dev = PAWS-Wiki labeled_final dev sample", NO_YES,
               "PAWS English: the 2,000 labelled PAWS-X en dev pairs as training data (PAWS-Wiki train is not here); "
               "the same rows are pawsx_xtreme_en's validation split"),
        Source("common_gen", "concepts_to_text", "en",
               {"train": (p + "common_gen/commongen.train.src_alpha.txt", p + "common_gen/commongen.train.tgt.txt"),
                "validation": (p + "common_gen/commongen.dev.src_alpha.txt", p + "common_gen/commongen.dev.tgt.txt")},
               readers.parallel_lines, _common_gen_pair, "INK-USC/CommonGen (dataset/, v1.0 initial release)", None,
               "CommonGen: a sentence from a concept set; one example per (concepts, reference) pair"),
        Source("common_gen_sets", "concepts_to_text", "en", {"validation": (p + "common_gen/commongen.dev.jsonl",)},
               readers.jsonl, _common_gen_set, "INK-USC/CommonGen (dataset/, v1.0 initial release)", None,
               "CommonGen dev by concept set (993): target = the first scene, references = every scene"),
        Source("wiki_qa", "answer_selection", "en",
               {"train": (p + "wiki_qa/WikiQASent-train.txt",), "validation": (p + "wiki_qa/WikiQA-dev.tsv",)},
               _wiki_qa_reader, _wiki_qa_row, "Microsoft WikiQA corpus (WikiQACorpus)", NO_YES,
               "WikiQA: is the Wikipedia sentence an answer to the question? train = the tokenized WikiQASent-train "
               "(no document titles), validation = WikiQA-dev.tsv"),
    ]


def _wiki_qa_reader(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """WikiQA-dev.tsv (header) or WikiQASent-train.txt (question, sentence, label; no header), by file name."""
    for path in paths:
        if path.suffix == ".tsv":
            yield from readers.tsv(WIKI_QA_DEV_COLUMNS)([path])
        else:
            yield from readers.tsv(header=False, num_columns=3)([path])


def _wiki_qa_row(row: Any) -> dict:
    return _wiki_qa_dev(row) if isinstance(row, dict) else _wiki_qa_train(row)


__all__ = ["p3_train_sources", "PerSplitSource"]
