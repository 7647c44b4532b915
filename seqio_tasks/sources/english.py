"""English (and XCOPA) datasets in their original files: SuperGLUE, ANLI, HellaSwag, WinoGrande, ..."""
from __future__ import annotations

from seqio_tasks.sources import fields, readers
from seqio_tasks.sources.base import RemoteRef, Source
from seqio_tasks.sources.errors import RowError
from seqio_tasks.sources.fields import COPA_QUESTIONS, NLI2_LABELS, NLI_LABELS, NO_YES

PTUNING = "THUDM/P-tuning (FewGLUE_32dev/{task}), https://github.com/THUDM/P-tuning"
JIANT = "nyu-mll/jiant (data/{task}), the SuperGLUE files"


# ---------------------------------------------------------------- SuperGLUE

def _cb(row: dict) -> dict:
    return {"premise": fields.text(row, "premise"), "hypothesis": fields.text(row, "hypothesis"),
            "label": fields.label_of(row["label"], NLI_LABELS, "label")}


def _rte(row: dict) -> dict:
    return {"premise": fields.text(row, "premise"), "hypothesis": fields.text(row, "hypothesis"),
            "label": fields.label_of(row["label"], NLI2_LABELS, "label")}


def copa_example(row: dict) -> dict:
    """A COPA-format JSON row (SuperGLUE, XCOPA) in the copa family schema."""
    question = fields.text(row, "question")
    if question not in COPA_QUESTIONS:
        raise RowError(f"question must be 'cause' or 'effect', got {question!r}")
    return {"premise": fields.text(row, "premise"), "question": question, "choice1": fields.text(row, "choice1"),
            "choice2": fields.text(row, "choice2"), "label": fields.integer(row["label"], "label", (0, 1))}


def _wic(row: dict) -> dict:
    example = {"word": fields.text(row, "word"), "sentence1": fields.text(row, "sentence1", allow_empty=False),
               "sentence2": fields.text(row, "sentence2"), "label": fields.boolean(row["label"], "label")}
    for key in ("start1", "end1", "start2", "end2"):
        example[key] = fields.integer(row[key], key)
    return example


def _wsc(row: dict) -> dict:
    target = row["target"]
    if not isinstance(target, dict):
        raise RowError("field 'target' must be an object")
    return {"text": fields.text(row, "text"), "span1_text": fields.text(target, "span1_text"),
            "span2_text": fields.text(target, "span2_text"),
            "span1_index": fields.integer(target["span1_index"], "span1_index"),
            "span2_index": fields.integer(target["span2_index"], "span2_index"),
            "label": fields.boolean(row["label"], "label")}


def _boolq(row: dict) -> dict:
    return {"passage": fields.text(row, "passage"), "question": fields.text(row, "question"),
            "label": fields.boolean(row["label"], "label")}


def multirc_answers(paths):
    """Reads SuperGLUE MultiRC jsonl (one passage per line): one record per (question, answer)."""
    for path, line, record in readers.jsonl(paths):
        if isinstance(record, readers.BadRecord):
            yield path, line, record
            continue
        passage = record.get("passage")
        if not isinstance(passage, dict) or not isinstance(passage.get("questions"), list):
            yield path, line, readers.BadRecord("expected passage.text and passage.questions")
            continue
        for question in passage["questions"]:
            answers = question.get("answers") if isinstance(question, dict) else None
            if not isinstance(answers, list) or not answers:
                yield path, line, readers.BadRecord("a question without answers")
                continue
            for answer in answers:
                yield path, line, {"paragraph": passage.get("text"), "question": question.get("question"),
                                   "answer": answer, "paragraph_idx": record.get("idx"), "question_idx": question.get("idx")}


def _multirc(row: dict) -> dict:
    answer = row["answer"]
    if not isinstance(answer, dict):
        raise RowError("answer must be an object")
    return {"paragraph": fields.text(row, "paragraph"), "question": fields.text(row, "question"),
            "answer": fields.text(answer, "text"), "label": fields.integer(answer["label"], "answer.label", (0, 1)),
            "paragraph_idx": fields.integer(row["paragraph_idx"], "passage idx"),
            "question_idx": fields.integer(row["question_idx"], "question idx"),
            "answer_idx": fields.integer(answer["idx"], "answer idx")}


# Hugging Face / TFDS rows of SuperGLUE carry int labels; CB's order there is
# (entailment, contradiction, neutral), the nli family's is (entailment, neutral, contradiction).
_CB_REMOTE_TO_NLI = {0: 0, 1: 2, 2: 1}


def _cb_remote(row: dict) -> dict:
    return {"premise": row["premise"], "hypothesis": row["hypothesis"], "label": _CB_REMOTE_TO_NLI[int(row["label"])]}


def _rte_remote(row: dict) -> dict:
    return {"premise": row["premise"], "hypothesis": row["hypothesis"], "label": int(row["label"])}


def _wsc_remote(row: dict) -> dict:
    return {"text": row["text"], "span1_text": row["span1_text"], "span2_text": row["span2_text"],
            "span1_index": int(row["span1_index"]), "span2_index": int(row["span2_index"]), "label": int(row["label"])}


def _sg_hf(config: str, convert) -> RemoteRef:
    return RemoteRef("super_glue", config, {"train": "train", "validation": "validation"}, convert)


def _sg_tfds(config: str, convert) -> RemoteRef:
    return RemoteRef(f"super_glue/{config}", None, {"train": "train", "validation": "validation"}, convert)


def superglue_sources() -> list[Source]:
    """SuperGLUE CB, COPA, RTE, WiC, WSC (held-out in T0) and BoolQ, MultiRC (T0++ training)."""
    sg = "superglue/{task}/{name}.jsonl"
    files = lambda task, *names: {split: (sg.format(task=task, name=name),) for split, name in names}  # noqa: E731
    return [
        Source("super_glue_cb", "nli", "en", files("CB", ("validation", "val"), ("train32", "train32"), ("dev32", "dev32")),
               readers.jsonl, _cb, PTUNING.format(task="CB"), NLI_LABELS,
               "CommitmentBank (validation = SuperGLUE val; train32/dev32 = FewGLUE 32-example sets)",
               hf=_sg_hf("cb", _cb_remote), tfds=_sg_tfds("cb", _cb_remote)),
        Source("super_glue_copa", "copa", "en", files("COPA", ("validation", "val"), ("train32", "train32"), ("dev32", "dev32")),
               readers.jsonl, copa_example, PTUNING.format(task="COPA"), ["choice1", "choice2"],
               "COPA (SuperGLUE val, FewGLUE train32/dev32)", hf=_sg_hf("copa", copa_example), tfds=_sg_tfds("copa", copa_example)),
        Source("super_glue_rte", "nli", "en",
               {"train": ("superglue/RTE/train.jsonl",), "validation": ("superglue/RTE/val.jsonl",),
                "dev32": ("superglue/RTE/dev32.jsonl",)},
               readers.jsonl, _rte, JIANT.format(task="RTE") + "; val/dev32 from " + PTUNING.format(task="RTE"),
               NLI2_LABELS, "RTE, 2-way: 0 entailment, 1 not_entailment (test has no labels)",
               hf=_sg_hf("rte", _rte_remote), tfds=_sg_tfds("rte", _rte_remote)),
        Source("super_glue_wic", "wic", "en", files("WiC", ("validation", "val"), ("train32", "train32"), ("dev32", "dev32")),
               readers.jsonl, _wic, PTUNING.format(task="WiC"), ["different", "same"],
               "Words in Context (SuperGLUE val, FewGLUE train32/dev32)", hf=_sg_hf("wic", _wic), tfds=_sg_tfds("wic", _wic)),
        Source("super_glue_wsc", "coref_wsc", "en",
               {"train": ("superglue/WSC/train.jsonl",), "validation": ("superglue/WSC/val.jsonl",),
                "dev32": ("superglue/WSC/dev32.jsonl",)},
               readers.jsonl, _wsc, JIANT.format(task="WSC") + "; val/dev32 from " + PTUNING.format(task="WSC"),
               ["false", "true"], "Winograd Schema (SuperGLUE WSC): does the pronoun refer to the noun?",
               hf=_sg_hf("wsc.fixed", _wsc_remote), tfds=_sg_tfds("wsc.fixed", _wsc_remote)),
        Source("super_glue_boolq", "boolq", "en", files("BoolQ", ("validation", "val"), ("train32", "train32")),
               readers.jsonl, _boolq, PTUNING.format(task="BoolQ"), NO_YES, "BoolQ (SuperGLUE val, FewGLUE train32)",
               hf=_sg_hf("boolq", _boolq), tfds=_sg_tfds("boolq", _boolq)),
        Source("super_glue_multirc", "multirc", "en", files("MultiRC", ("validation", "val")),
               multirc_answers, _multirc, PTUNING.format(task="MultiRC"), ["false", "true"],
               "MultiRC: one example per (paragraph, question, candidate answer)"),
    ]


# ---------------------------------------------------------------- other held-out sets

_ANLI_LABELS = {"e": "entailment", "n": "neutral", "c": "contradiction"}


def _anli(row: dict) -> dict:
    return {"premise": fields.text(row, "context"), "hypothesis": fields.text(row, "statement"),
            "label": fields.label_of(row["gold_label"], NLI_LABELS, "gold_label", _ANLI_LABELS),
            "uid": fields.text(row, "uid", allow_empty=True)}


def _hellaswag(block: list) -> dict:
    head, label, endings = block[0], block[1], block[2:6]
    activity, separator, context = head.partition(": ")
    if not separator:
        raise RowError(f"first line must be 'activity: context', got {head[:60]!r}")
    if any(not ending.strip() for ending in endings):
        raise RowError("an ending is empty")
    return {"context": context.strip(), "endings": [e.strip() for e in endings],
            "label": fields.integer(label, "label", (0, 1, 2, 3)), "activity": activity.strip()}


def _winogrande(row: dict) -> dict:
    sentence = fields.text(row, "sentence")
    if sentence.count("_") != 1:
        raise RowError(f"sentence must contain exactly one '_' blank, found {sentence.count('_')}")
    answer = row.get("_label", row.get("answer"))
    if "answer" in row and "_label" in row and str(row["answer"]).strip() != row["_label"]:
        raise RowError(f"answer {row['answer']!r} disagrees with the labels file ({row['_label']!r})")
    return {"sentence": sentence, "option1": fields.text(row, "option1"), "option2": fields.text(row, "option2"),
            "label": fields.integer(answer, "answer", (1, 2)) - 1, "qid": fields.text(row, "qID")}


def _xnli_en(row: list) -> dict:
    return {"premise": row[0].strip(), "hypothesis": row[1].strip(), "label": fields.label_of(row[2], NLI_LABELS, "label")}


STORY_CLOZE_COLUMNS = ["InputStoryid", "InputSentence1", "InputSentence2", "InputSentence3", "InputSentence4",
                       "RandomFifthSentenceQuiz1", "RandomFifthSentenceQuiz2", "AnswerRightEnding"]


def _story_cloze(row: dict) -> dict:
    return {"sentences": [fields.text(row, f"InputSentence{i}") for i in range(1, 5)],
            "ending1": fields.text(row, "RandomFifthSentenceQuiz1"), "ending2": fields.text(row, "RandomFifthSentenceQuiz2"),
            "label": fields.integer(row["AnswerRightEnding"], "AnswerRightEnding", (1, 2)) - 1,
            "story_id": fields.text(row, "InputStoryid")}


XCOPA_LANGUAGES = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")

WINOGRANDE_SIZES = ("xs", "s", "m", "l")


def heldout_sources() -> list[Source]:
    """ANLI R1-R3, HellaSwag, WinoGrande, COPA en, XNLI en, StoryCloze, XCOPA (11 languages)."""
    anli = "facebookresearch/anli (anlizinganli/anli_annot_v0.2), https://github.com/facebookresearch/anli"
    winogrande = "allenai/winogrande 1.1 (copy from zhang-edward/WinoGrande data/), https://github.com/allenai/winogrande"
    sources = [
        Source(f"anli_r{r}", "nli", "en", {"validation": (f"anli/ANLI_analysis_r{r}_dev.csv",)},
               readers.csv_rows(["context", "statement"], strict_width=False), _anli, anli, NLI_LABELS,
               f"Adversarial NLI round {r}, dev set (the annotated analysis CSV: context, statement, gold_label e/n/c)",
               hf=RemoteRef("anli", None, {"validation": f"dev_r{r}", "test": f"test_r{r}", "train": f"train_r{r}"},
                            lambda r_: {"premise": r_["premise"], "hypothesis": r_["hypothesis"], "label": r_["label"], "uid": r_["uid"]}),
               tfds=RemoteRef(f"anli/r{r}", None, {"validation": "validation", "test": "test", "train": "train"},
                              lambda r_: {"premise": r_["context"], "hypothesis": r_["hypothesis"], "label": int(r_["label"]), "uid": r_["uid"]}))
        for r in (1, 2, 3)
    ]
    sources += [
        Source("hellaswag", "completion", "en", {"validation": ("hellaswag_en/hellaswag_val_full.txt.bz2",)},
               readers.hellaswag_text, _hellaswag,
               "rowanz/hellaswag val, as text by klosax/hellaswag_text_data (hellaswag_val_full.txt.bz2)",
               ["ending1", "ending2", "ending3", "ending4"], "HellaSwag validation (10,042 items)",
               hf=RemoteRef("hellaswag", None, {"train": "train", "validation": "validation"},
                            lambda r: {"context": r["ctx"], "endings": r["endings"], "label": int(r["label"]), "activity": r["activity_label"]}),
               tfds=RemoteRef("hellaswag", None, {"train": "train", "validation": "validation"},
                              lambda r: {"context": r["context"], "endings": list(r["endings"]), "label": int(r["label"]),
                                         "activity": r["activity_label"]})),
        Source("winogrande", "coref_winogrande", "en",
               {**{f"train_{size}": (f"winogrande/train_{size}.jsonl", f"winogrande/train_{size}-labels.lst")
                   for size in WINOGRANDE_SIZES},
                "validation": ("winogrande/dev.jsonl", "winogrande/dev-labels.lst")},
               readers.labelled_lines(), _winogrande, winogrande, ["option1", "option2"],
               "WinoGrande 1.1: train sizes xs/s/m/l and dev (labels from the -labels.lst files; test unlabelled)",
               hf=RemoteRef("winogrande", "winogrande_xl", {"validation": "validation"},
                            lambda r: {"sentence": r["sentence"], "option1": r["option1"], "option2": r["option2"],
                                       "label": int(r["answer"]) - 1, "qid": ""})),
        Source("copa_en", "copa", "en",
               {"train": ("copa_en/train-en.jsonl",), "validation": ("copa_en/val-en.jsonl",), "test": ("copa_en/test-en.jsonl",)},
               readers.jsonl, copa_example, "GautamGupta17/MESH (data/xcopa, the XTREME English COPA files)",
               ["choice1", "choice2"],
               "COPA English as shipped with XTREME (train/val labelled; every test label is 0 in this copy, "
               "a placeholder, so test is unlabelled: label -1)", unlabelled_splits=("test",)),
        Source("xnli_en", "nli", "en", {"validation": ("xnli_en/dev-en.tsv",)},
               readers.tsv(header=False, num_columns=3), _xnli_en, "GautamGupta17/MESH (data/xnli, the XTREME files)",
               NLI_LABELS, "XNLI English dev (XTREME layout; test has no labels)",
               hf=RemoteRef("xnli", "en", {"validation": "validation", "test": "test"},
                            lambda r: {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": r["label"]})),
        Source("story_cloze", "story_cloze", "en",
               {"validation": ("story_cloze/cloze_test_val__spring2016.csv",),
                "test": ("story_cloze/cloze_test_test__spring2016.csv",)},
               readers.csv_rows(STORY_CLOZE_COLUMNS), _story_cloze,
               "the ROCStories / Story Cloze Test 2016 CSVs, given out on request at https://cs.rochester.edu/nlp/rocstories/ "
               "(save the val and test CSVs under story_cloze/ with these names)",
               ["ending1", "ending2"], "Story Cloze Test (spring 2016); not in the shared data: tested on a fixture"),
    ]
    sources += [
        Source(f"xcopa_{lang}", "copa", lang,
               {"validation": (f"xcopa/data/{lang}/val.{lang}.jsonl",), "test": (f"xcopa/data/{lang}/test.{lang}.jsonl",)},
               readers.jsonl, copa_example, "cambridgeltl/xcopa (data/), https://github.com/cambridgeltl/xcopa",
               ["choice1", "choice2"], f"XCOPA {lang}",
               hf=RemoteRef("xcopa", lang, {"validation": "validation", "test": "test"}, copa_example))
        for lang in XCOPA_LANGUAGES
    ]
    return sources


def english_sources() -> list[Source]:
    """Every loader for English (and XCOPA) data, T0's training datasets (p3_train.py) included."""
    from seqio_tasks.sources import p3_train
    return superglue_sources() + heldout_sources() + p3_train.p3_train_sources()
