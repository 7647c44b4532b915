"""Korean datasets in their original files (KLUE, KorNLU, hate speech, paraphrase, QA, ...); KoBEST is in kobest.py."""
from __future__ import annotations

from seqio_tasks.sources import fields, kobest, readers
from seqio_tasks.sources.base import RemoteRef, Source
from seqio_tasks.sources.errors import RowError
from seqio_tasks.sources.fields import NLI_LABELS, NO_YES

KORNLU = "kakaobrain/KorNLUDatasets, https://github.com/kakaobrain/KorNLUDatasets"
KLUE = "KLUE-benchmark/KLUE (klue_benchmark/), https://github.com/KLUE-benchmark/KLUE"


# ---------------------------------------------------------------- NLI and STS

def _kornli(row: dict) -> dict:
    return {"premise": fields.text(row, "sentence1"), "hypothesis": fields.text(row, "sentence2"),
            "label": fields.label_of(row["gold_label"], NLI_LABELS, "gold_label")}


def _klue_nli(row: dict) -> dict:
    return {"premise": fields.text(row, "premise"), "hypothesis": fields.text(row, "hypothesis"),
            "label": fields.label_of(row["gold_label"], NLI_LABELS, "gold_label"), "guid": fields.text(row, "guid")}


def _klue_sts(row: dict) -> dict:
    labels = row["labels"]
    if not isinstance(labels, dict):
        raise RowError("field 'labels' must be an object")
    return {"sentence1": fields.text(row, "sentence1"), "sentence2": fields.text(row, "sentence2"),
            "score": fields.number(labels["label"], "labels.label", 0.0, 5.0),
            "label": fields.integer(labels["binary-label"], "labels.binary-label", (0, 1)),
            "guid": fields.text(row, "guid")}


def _korsts(row: dict) -> dict:
    return {"sentence1": fields.text(row, "sentence1"), "sentence2": fields.text(row, "sentence2"),
            "score": fields.number(row["score"], "score", 0.0, 5.0)}


def nli_sts_sources() -> list[Source]:
    """KorNLI (XNLI-ko dev/test), KLUE-NLI and KLUE-STS (dev), KorSTS."""
    return [
        Source("kornli", "nli", "ko",
               {"validation": ("kornli/xnli.dev.ko.tsv",), "test": ("kornli/xnli.test.ko.tsv",)},
               readers.tsv(["sentence1", "sentence2", "gold_label"]), _kornli, KORNLU + " (KorNLI/)", NLI_LABELS,
               "KorNLI: XNLI dev/test translated by humans (MNLI/SNLI-ko train not here)",
               hf=RemoteRef("kor_nli", "xnli", {"validation": "validation", "test": "test"},
                            lambda r: {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": r["label"]})),
        Source("klue_nli", "nli", "ko", {"validation": ("klue/klue-nli-v1.1_dev.json",)},
               readers.json_array, _klue_nli, KLUE, NLI_LABELS, "KLUE-NLI v1.1 (dev only; train is not public here)",
               hf=RemoteRef("klue", "nli", {"train": "train", "validation": "validation"},
                            lambda r: {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": r["label"], "guid": r["guid"]})),
        Source("klue_sts", "sts", "ko", {"validation": ("klue/klue-sts-v1.1_dev.json",)},
               readers.json_array, _klue_sts, KLUE, None,
               "KLUE-STS v1.1 (dev only): score 0-5 and the official binary label (score >= 3)",
               hf=RemoteRef("klue", "sts", {"train": "train", "validation": "validation"},
                            lambda r: {"sentence1": r["sentence1"], "sentence2": r["sentence2"], "score": r["labels"]["label"],
                                       "label": r["labels"]["binary-label"], "guid": r["guid"]})),
        Source("kor_sts", "sts", "ko",
               {"train": ("korsts/sts-train.tsv",), "validation": ("korsts/sts-dev.tsv",), "test": ("korsts/sts-test.tsv",)},
               readers.tsv(["genre", "filename", "year", "id", "score", "sentence1", "sentence2"]), _korsts,
               KORNLU + " (KorSTS/)", None, "KorSTS: STS-B translated to Korean",
               hf=RemoteRef("kor_nlu", "sts", None,
                            lambda r: {"sentence1": r["sentence1"], "sentence2": r["sentence2"], "score": r["score"]})),
    ]


# ---------------------------------------------------------------- hate speech

BEEP_LABELS = ["none", "offensive", "hate"]


def _beep(row: dict) -> dict:
    return {"text": fields.text(row, "comments"), "label": fields.label_of(row["hate"], BEEP_LABELS, "hate"),
            "bias": fields.text(row, "bias"), "contain_gender_bias": fields.boolean(row["contain_gender_bias"], "contain_gender_bias")}


APEACH_LABELS = ["default", "spoiled"]


def _apeach(row: dict) -> dict:
    return {"text": fields.text(row, "text"),
            "label": fields.label_of(row["class"], APEACH_LABELS, "class", {"Default": "default", "Spoiled": "spoiled"}),
            "topic": fields.text(row, "text_topic_eng", allow_empty=True)}


# UnSmile columns (Korean header) -> English category names, in file order.
UNSMILE_HATE = {"여성/가족": "women_family", "남성": "men", "성소수자": "lgbtq", "인종/국적": "race_nationality",
                "연령": "age", "지역": "region", "종교": "religion", "기타 혐오": "other_hate"}
UNSMILE_COLUMNS = ["문장", *UNSMILE_HATE, "악플/욕설", "clean", "개인지칭"]
UNSMILE_LABELS = ["clean", "offensive", "hate"]


def _unsmile(row: dict) -> dict:
    flags = {column: fields.integer(row[column], column, (0, 1)) for column in UNSMILE_COLUMNS[1:]}
    categories = [name for column, name in UNSMILE_HATE.items() if flags[column]]
    offensive, clean = flags["악플/욕설"], flags["clean"]
    if clean and (categories or offensive):
        raise RowError("marked clean and also hateful/offensive")
    if not (clean or offensive or categories):
        raise RowError("no label set: none of the hate categories, 악플/욕설 or clean is 1")
    label = 2 if categories else (1 if offensive else 0)
    return {"text": fields.text(row, "문장"), "label": label,
            "categories": categories + (["offensive"] if offensive else []),
            "personal_reference": flags["개인지칭"]}


def hate_speech_sources() -> list[Source]:
    """BEEP! (korean_hate_speech), APEACH and Korean UnSmile."""
    return [
        Source("beep_hate", "hate_speech", "ko",
               {"train": ("korean_hate_speech/labeled/train.tsv",), "validation": ("korean_hate_speech/labeled/dev.tsv",)},
               readers.tsv(["comments", "contain_gender_bias", "bias", "hate"]), _beep,
               "kocohub/korean-hate-speech, https://github.com/kocohub/korean-hate-speech", BEEP_LABELS,
               "BEEP!: news comments labelled none/offensive/hate (+ social bias); test has no labels"),
        Source("apeach", "hate_speech", "ko", {"test": ("apeach/test.csv",)},
               readers.csv_rows(["text", "user_age", "user_gender", "text_topic", "class", "age", "text_topic_eng"]),
               _apeach, "jason9693/APEACH, https://github.com/jason9693/APEACH", APEACH_LABELS,
               "APEACH: crowd-written texts, Default (not offensive) vs Spoiled (offensive); evaluation set only"),
        Source("unsmile", "hate_speech", "ko",
               {"train": ("unsmile/unsmile_train_v1.0.tsv",), "validation": ("unsmile/unsmile_valid_v1.0.tsv",)},
               readers.tsv(UNSMILE_COLUMNS), _unsmile,
               "smilegate-ai/korean_unsmile_dataset, https://github.com/smilegate-ai/korean_unsmile_dataset",
               UNSMILE_LABELS,
               "UnSmile (multi-label): label = hate if any hate category, else offensive (악플/욕설), else clean; "
               "`categories` keeps the multi-label set"),
    ]


# ---------------------------------------------------------------- paraphrase, intent

def _question_pair(row: dict) -> dict:
    # Upstream README: is_duplicate 0 = the same question, 1 = a different question;
    # the paraphrase family uses 1 = paraphrase, so the label is flipped here.
    different = fields.integer(row["is_duplicate"], "is_duplicate", (0, 1))
    return {"sentence1": fields.text(row, "question1"), "sentence2": fields.text(row, "question2"), "label": 1 - different}


def _pawsx_ko(row: dict) -> dict:
    return {"sentence1": fields.text(row, "sentence1"), "sentence2": fields.text(row, "sentence2"),
            "label": fields.integer(row["label"], "label", (0, 1)), "id": fields.text(row, "id")}


def _pawsx_xtreme(row: list) -> dict:
    return {"sentence1": row[0].strip(), "sentence2": row[1].strip(), "label": fields.integer(row[2], "label", (0, 1))}


PARAKQC_SET_SIZE = 10


def parakqc_pairs(paths):
    """Reads paraKQC_v1.txt (10 paraphrases per set, consecutive) and forms sentence pairs.

    For each set s and k in 0..4: a paraphrase pair (sentence k, sentence k+5) of set s, and a
    non-paraphrase pair (sentence k of s, sentence k+5 of its neighbour set s^1), which shares
    topic and sentence type but asks or orders something else.
    """
    records = list(readers.tsv(header=False, num_columns=3)(paths))
    sets: dict[int, list] = {}
    for path, line, raw in records:
        if isinstance(raw, readers.BadRecord):
            yield path, line, raw
            continue
        sets.setdefault((line - 1) // PARAKQC_SET_SIZE, []).append((path, line, raw))
    for number, members in sorted(sets.items()):
        partner = sets.get(number ^ 1, [])
        for k in range(PARAKQC_SET_SIZE // 2):
            path, line, first = members[k] if k < len(members) else (members[0][0], members[0][1], None)
            if first is None or len(members) != PARAKQC_SET_SIZE or len(partner) != PARAKQC_SET_SIZE:
                yield path, line, readers.BadRecord(f"paraphrase set {number} (or its neighbour) does not have "
                                                    f"{PARAKQC_SET_SIZE} sentences")
                continue
            yield path, line, {"first": first, "second": members[k + 5][2], "label": 1, "set": number}
            yield path, line, {"first": first, "second": partner[k + 5][2], "label": 0, "set": number}


def _parakqc(pair: dict) -> dict:
    return {"sentence1": pair["first"][2].strip(), "sentence2": pair["second"][2].strip(), "label": pair["label"],
            "topic": fields.integer(pair["first"][0], "topic"), "sentence_type": fields.integer(pair["first"][1], "type")}


KOR_3I4K_LABELS = ["fragment", "statement", "question", "command", "rhetorical_question", "rhetorical_command",
                   "intonation_dependent"]


def _kor_3i4k(row: list) -> dict:
    return {"text": row[1].strip(), "label": fields.integer(row[0], "label", range(7))}


def paraphrase_intent_sources() -> list[Source]:
    """Question pair, ParaKQC pairs, PAWS-X (ko; xtreme en/ko), 3i4k intent."""
    xtreme = "GautamGupta17/MESH (data/pawsx, the XTREME PAWS-X files)"
    return [
        Source("question_pair", "paraphrase", "ko",
               {"train": ("question_pair/train.txt",), "validation": ("question_pair/validation.txt",),
                "test": ("question_pair/test.txt",)},
               readers.tsv(["question1", "question2", "is_duplicate"]), _question_pair,
               "songys/Question_pair, https://github.com/songys/Question_pair", NO_YES,
               "Question pair: same question? (upstream is_duplicate 0=same is flipped to label 1=paraphrase)"),
        Source("question_pair_csv", "paraphrase", "ko",
               {"train": ("question_pair/kor_pair_train.csv",), "test": ("question_pair/kor_Pair_test.csv",)},
               readers.csv_rows(["question1", "question2", "is_duplicate"]), _question_pair,
               "songys/Question_pair, https://github.com/songys/Question_pair", NO_YES,
               "Question pair v2 as first released (CSV train/test; the .txt files are the later re-split)"),
        Source("parakqc", "paraphrase", "ko", {"train": ("parakqc/paraKQC_v1.txt",)},
               parakqc_pairs, _parakqc, "warnikchow/paraKQC, https://github.com/warnikchow/paraKQC", NO_YES,
               "ParaKQC: 1,000 sets of 10 paraphrases made into 5,000 paraphrase and 5,000 neighbour-set pairs"),
        Source("pawsx_ko", "paraphrase", "ko",
               {"validation": ("pawsx_ko/dev_2k.tsv",), "test": ("pawsx_ko/test_2k.tsv",)},
               readers.tsv(["id", "sentence1", "sentence2", "label"]), _pawsx_ko,
               "monologg/KoELECTRA (finetune/data/paws), from google-research-datasets/paws (PAWS-X ko)", NO_YES,
               "PAWS-X Korean dev/test (human-translated)",
               hf=RemoteRef("paws-x", "ko", {"train": "train", "validation": "validation", "test": "test"},
                            lambda r: {"sentence1": r["sentence1"], "sentence2": r["sentence2"], "label": r["label"], "id": str(r["id"])})),
        Source("pawsx_xtreme_ko", "paraphrase", "ko", {"validation": ("pawsx_xtreme/dev-ko.tsv",)},
               readers.tsv(header=False, num_columns=3), _pawsx_xtreme, xtreme, NO_YES,
               "PAWS-X ko in XTREME layout (dev labelled; test files have no labels)"),
        Source("pawsx_xtreme_en", "paraphrase", "en", {"validation": ("pawsx_xtreme/dev-en.tsv",)},
               readers.tsv(header=False, num_columns=3), _pawsx_xtreme, xtreme, NO_YES,
               "PAWS-X en in XTREME layout, line-parallel with pawsx_xtreme_ko",
               hf=RemoteRef("paws-x", "en", {"validation": "validation"},
                            lambda r: {"sentence1": r["sentence1"], "sentence2": r["sentence2"], "label": r["label"]})),
        Source("kor_3i4k", "intent", "ko",
               {"train": ("3i4k/fci_train_val.txt",), "test": ("3i4k/fci_test.txt",)},
               readers.tsv(header=False, num_columns=2), _kor_3i4k,
               "warnikchow/3i4k (data/train_val_test), https://github.com/warnikchow/3i4k", KOR_3I4K_LABELS,
               "3i4k: 7 intention classes of Korean utterances (train = upstream train+validation)",
               hf=RemoteRef("kor_3i4k", None, {"train": "train", "test": "test"}, lambda r: {"text": r["text"], "label": r["label"]})),
    ]


# ---------------------------------------------------------------- QA, sentiment, translation, summarization

def squad_example(record: dict, allow_unanswerable: bool = False) -> dict:
    """A SQuAD-format question as an extractive_qa example; checks every answer offset."""
    context, qa = record["context"], record["qa"]
    if not isinstance(context, str) or not context:
        raise RowError("paragraph has no context")
    answers = qa.get("answers")
    if not isinstance(answers, list) or not answers:
        raise RowError(f"question {qa.get('id')!r} has no answers")
    texts, starts = [], []
    for answer in answers:
        answer_text, start = answer.get("text", ""), answer.get("answer_start")
        if not answer_text:
            if allow_unanswerable:
                continue
            raise RowError(f"question {qa.get('id')!r} has an empty answer")
        if not isinstance(start, int) or context[start:start + len(answer_text)] != answer_text:
            raise RowError(f"question {qa.get('id')!r}: answer {answer_text!r} is not at offset {start}")
        texts.append(answer_text)
        starts.append(start)
    return {"context": context, "question": fields.text(qa, "question"), "answers": texts,
            "answer_start": starts, "id": str(qa.get("id", "")), "title": str(record.get("title") or "")}


def _tydiqa(record: dict) -> dict:
    # The TyDiQA-GoldP dev copies here (XTREME layout) blank every answer text: such a
    # question loads with answers=[] and its split is listed in `unlabelled_splits`.
    return squad_example(record, allow_unanswerable=True)


FINANCE_LABELS = ["negative", "neutral", "positive"]


def _finance(text_column: str):
    def convert(row: dict) -> dict:
        return {"text": fields.text(row, text_column), "label": fields.label_of(row["labels"], FINANCE_LABELS, "labels")}
    return convert


def _translation(source_lang: str, target_lang: str, source_index: int):
    def convert(pair: list) -> dict:
        source_text, target_text = pair[source_index].strip(), pair[1 - source_index].strip()
        if not source_text or not target_text:
            raise RowError("empty sentence in a parallel line")
        return {"source_text": source_text, "target_text": target_text,
                "source_lang": source_lang, "target_lang": target_lang}
    return convert


def _sci_news(record: dict) -> dict:
    sentences, indices = record["sentences"], record["summaries"]
    if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences) or not sentences:
        raise RowError("'sentences' must be a non-empty list of strings")
    if not isinstance(indices, list) or not indices or not all(isinstance(i, int) and 0 <= i < len(sentences) for i in indices):
        raise RowError(f"'summaries' must list sentence indices below {len(sentences)}, got {indices!r}")
    return {"document": " ".join(s.strip() for s in sentences),
            "summary": " ".join(sentences[i].strip() for i in sorted(indices)),
            "title": fields.text(record, "title"), "sentences": [s.strip() for s in sentences],
            "summary_indices": sorted(indices)}


def generation_and_qa_sources() -> list[Source]:
    """KorQuAD 1.0, TyDiQA-GoldP, finance sentiment (en, ko), FLORES-200, Tatoeba, sci-news-sum-kr-50."""
    mesh = "GautamGupta17/MESH (data/{d}, the XTREME copies)"
    flores = "facebookresearch/flores (flores200_dataset), copy from genggui001/opencompass data/flores200_dataset"
    flores_files = {"validation": ("flores200_en_ko/dev/eng_Latn.dev", "flores200_en_ko/dev/kor_Hang.dev"),
                    "test": ("flores200_en_ko/devtest/eng_Latn.devtest", "flores200_en_ko/devtest/kor_Hang.devtest")}
    tatoeba_files = {"test": ("tatoeba_ko_en/ko-en.en", "tatoeba_ko_en/ko-en.ko")}
    finance = "ukairia777/finance_sentiment_corpus (Financial PhraseBank with Korean translations)"
    squad_hf = lambda r: {"context": r["context"], "question": r["question"], "answers": r["answers"]["text"],  # noqa: E731
                          "answer_start": r["answers"]["answer_start"], "id": r["id"], "title": r.get("title", "")}
    return [
        Source("korquad1", "extractive_qa", "ko", {"validation": ("korquad_v1/KorQuAD_v1.0_dev.json",)},
               readers.squad_questions, squad_example, "korquad/korquad.github.io (dataset/), https://korquad.github.io",
               None, "KorQuAD 1.0 dev (train not here)",
               hf=RemoteRef("squad_kor_v1", None, {"train": "train", "validation": "validation"}, squad_hf)),
        Source("tydiqa_goldp_ko", "extractive_qa", "ko",
               {"train": ("tydiqa_goldp/tydiqa.goldp.ko.train.json",), "validation": ("tydiqa_goldp/tydiqa.goldp.ko.dev.json",)},
               readers.squad_questions, _tydiqa, mesh.format(d="tydiqa"), None,
               "TyDiQA-GoldP Korean (SQuAD layout); the dev copy has no answer texts", unlabelled_splits=("validation",)),
        Source("tydiqa_goldp_en", "extractive_qa", "en", {"validation": ("tydiqa_goldp/tydiqa.goldp.en.dev.json",)},
               readers.squad_questions, _tydiqa, mesh.format(d="tydiqa"), None,
               "TyDiQA-GoldP English (SQuAD layout); the dev copy has no answer texts", unlabelled_splits=("validation",)),
        Source("finance_sentiment_en", "sentiment", "en", {"train": ("korean_finance_sentiment/finance_data.csv",)},
               readers.csv_rows(["labels", "sentence", "kor_sentence"]), _finance("sentence"), finance, FINANCE_LABELS,
               "Financial PhraseBank sentences (English side)"),
        Source("finance_sentiment_ko", "sentiment", "ko", {"train": ("korean_finance_sentiment/finance_data.csv",)},
               readers.csv_rows(["labels", "sentence", "kor_sentence"]), _finance("kor_sentence"), finance, FINANCE_LABELS,
               "Financial PhraseBank sentences translated to Korean (same rows as the English side)"),
        Source("flores200_en_ko", "translation", "en", flores_files, readers.parallel_lines,
               _translation("en", "ko", 0), flores, None, "FLORES-200 eng_Latn -> kor_Hang (dev = validation, devtest = test)"),
        Source("flores200_ko_en", "translation", "ko", flores_files, readers.parallel_lines,
               _translation("ko", "en", 1), flores, None, "FLORES-200 kor_Hang -> eng_Latn (dev = validation, devtest = test)"),
        Source("tatoeba_ko_en", "translation", "ko", tatoeba_files, readers.parallel_lines,
               _translation("ko", "en", 1), mesh.format(d="tatoeba"), None, "Tatoeba Korean -> English (XTREME 1,000 pairs)"),
        Source("tatoeba_en_ko", "translation", "en", tatoeba_files, readers.parallel_lines,
               _translation("en", "ko", 0), mesh.format(d="tatoeba"), None, "Tatoeba English -> Korean (XTREME 1,000 pairs)"),
        Source("sci_news_sum_kr_50", "summarization", "ko",
               {"test": tuple(f"sci_news_sum_kr_50/data/{i:02d}.json" for i in range(1, 51))},
               readers.numbered_json_files, _sci_news, "theeluwin/sci-news-sum-kr-50, https://github.com/theeluwin/sci-news-sum-kr-50",
               None, "50 IT/science news articles; summary = the gold extractive sentences in document order"),
    ]


def korean_sources() -> list[Source]:
    """Every loader for data in Korean (and the English halves of parallel Korean sets)."""
    return (kobest.kobest_sources() + nli_sts_sources() + hate_speech_sources() + paraphrase_intent_sources()
            + generation_and_qa_sources())
