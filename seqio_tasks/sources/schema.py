"""The canonical example schema of every family (the shared contract), and a checker."""
from __future__ import annotations

from typing import Any

# family -> required field -> type(s). Every example also has `idx` (int). Sources may add
# further fields (ids, offsets, metadata); the checker only looks at these.
FAMILY_FIELDS: dict[str, dict[str, Any]] = {
    "nli": {"premise": str, "hypothesis": str, "label": int},
    "copa": {"premise": str, "question": str, "choice1": str, "choice2": str, "label": int},
    "completion": {"context": str, "endings": list, "label": int},
    "story_cloze": {"sentences": list, "ending1": str, "ending2": str, "label": int},
    "wic": {"word": str, "sentence1": str, "sentence2": str, "label": int},
    "coref_wsc": {"text": str, "span1_text": str, "span2_text": str, "label": int},
    "coref_winogrande": {"sentence": str, "option1": str, "option2": str, "label": int},
    "boolq": {"passage": str, "question": str, "label": int},
    "sentiment": {"text": str, "label": int},
    "hate_speech": {"text": str, "label": int},
    "paraphrase": {"sentence1": str, "sentence2": str, "label": int},
    "sts": {"sentence1": str, "sentence2": str, "score": float},
    "intent": {"text": str, "label": int},
    "extractive_qa": {"context": str, "question": str, "answers": list, "answer_start": list, "id": str},
    "translation": {"source_text": str, "target_text": str, "source_lang": str, "target_lang": str},
    "summarization": {"document": str, "summary": str},
    "multirc": {"paragraph": str, "question": str, "answer": str, "label": int},
    # Multiple-choice QA (CommonsenseQA, CoS-E, Social IQa, DREAM, Cosmos QA, QuAIL): `context`
    # is the passage or dialogue ("" for questions without one), `label` indexes `choices`.
    "multiple_choice_qa": {"context": str, "question": str, "choices": list, "label": int},
    "topic_classification": {"text": str, "label": int},
    # Sentence from concepts (CommonGen): `target` is one reference sentence.
    "concepts_to_text": {"concepts": list, "target": str},
    # Answer sentence selection (WikiQA): is `answer` a correct answer to `question` (1) or not (0)?
    "answer_selection": {"question": str, "answer": str, "label": int},
    "prerendered": {"inputs": str, "targets": str, "template_index": (int, type(None)), "dataset": str},
}

# Fixed values some families constrain.
COPA_QUESTIONS = ("cause", "effect")
# Text fields that may be empty in a family (a question without a passage).
MAY_BE_EMPTY = {"multiple_choice_qa": ("context",)}


def check_example(family: str, example: dict, num_labels: int | None = None) -> list[str]:
    """Problems of one example against its family's schema (empty list when it conforms)."""
    problems = []
    spec = FAMILY_FIELDS.get(family)
    if spec is None:
        return [f"unknown family {family!r}"]
    if not isinstance(example.get("idx"), int) or isinstance(example.get("idx"), bool):
        problems.append("idx must be an int")
    for field, kind in spec.items():
        if field not in example:
            problems.append(f"missing field {field!r}")
        elif not isinstance(example[field], kind) or isinstance(example[field], bool):
            problems.append(f"field {field!r} is {type(example[field]).__name__}, expected {kind}")
    if problems:
        return problems
    label = example.get("label")
    if isinstance(label, int) and num_labels is not None and not (label == -1 or 0 <= label < num_labels):
        problems.append(f"label {label} outside 0..{num_labels - 1}")
    if family == "copa" and example["question"] not in COPA_QUESTIONS:
        problems.append(f"question {example['question']!r} not in {COPA_QUESTIONS}")
    if family == "completion" and not all(isinstance(e, str) for e in example["endings"]):
        problems.append("endings must be strings")
    if family == "story_cloze" and (len(example["sentences"]) != 4 or not all(isinstance(s, str) for s in example["sentences"])):
        problems.append("sentences must be 4 strings")
    if family == "multiple_choice_qa":
        choices = example["choices"]
        if len(choices) < 2 or not all(isinstance(c, str) and c.strip() for c in choices):
            problems.append("choices must be at least 2 non-empty strings")
        elif not (label == -1 or 0 <= label < len(choices)):
            problems.append(f"label {label} outside 0..{len(choices) - 1}")
    if family == "concepts_to_text" and (not example["concepts"]
                                         or not all(isinstance(c, str) and c.strip() for c in example["concepts"])):
        problems.append("concepts must be a non-empty list of non-empty strings")
    if family == "sts" and not 0.0 <= example["score"] <= 5.0:
        problems.append(f"score {example['score']} outside [0, 5]")
    if family == "extractive_qa":
        if len(example["answers"]) != len(example["answer_start"]):
            problems.append("answers and answer_start differ in length")
        for text, start in zip(example["answers"], example["answer_start"]):
            if example["context"][start:start + len(text)] != text:
                problems.append(f"answer {text!r} not at {start}")
    for field in ("premise", "hypothesis", "text", "sentence1", "sentence2", "context", "question", "passage",
                  "document", "summary", "source_text", "target_text", "inputs", "targets", "answer", "target"):
        if field in MAY_BE_EMPTY.get(family, ()):
            continue
        if field in spec and not example[field].strip():
            problems.append(f"field {field!r} is empty")
    return problems
