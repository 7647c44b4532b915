"""The packaged templates: coverage per family/language/style, translation pairs, and renders on
inline canonical examples and on every real dataset of each family."""
from collections import Counter

import pytest

from seqio_tasks import templating

HELDOUT_FAMILIES = ("nli", "copa", "completion", "wic", "coref_wsc", "coref_winogrande", "story_cloze")
KOREAN_TRAINING_FAMILIES = ("boolq", "sentiment", "hate_speech", "paraphrase", "sts", "intent", "extractive_qa",
                            "translation", "summarization",
                            # T0's English training families: Korean KORANI-style templates for English data
                            "multiple_choice_qa", "topic_classification", "concepts_to_text", "answer_selection")
ENGLISH_TRAINING_FAMILIES = ("boolq", "multirc", "paraphrase", "sentiment", "extractive_qa", "multiple_choice_qa",
                             "topic_classification", "concepts_to_text", "answer_selection")
ROWS_PER_DATASET = 40

# One small canonical example per family (written here), labelled.
INLINE_EXAMPLES = {
    "nli": {"idx": 0, "premise": "비가 많이 와서 경기가 취소되었다.", "hypothesis": "경기가 열리지 않았다.", "label": 0},
    "copa": {"idx": 0, "premise": "The man lost his balance.", "question": "effect",
             "choice1": "He fell down.", "choice2": "He sang a song.", "label": 0},
    "completion": {"idx": 0, "context": "A woman puts flour in a bowl. She", "activity": "Baking",
                   "endings": ["adds eggs and stirs.", "drives to work.", "paints the wall.", "sleeps."], "label": 0},
    "story_cloze": {"idx": 0, "sentences": ["Tom wanted a dog.", "He saved money.", "He went to a shelter.",
                                            "He met a puppy."], "ending1": "He adopted the puppy.",
                    "ending2": "He bought a car.", "label": 0},
    "wic": {"idx": 0, "word": "배", "sentence1": "배가 고프다.", "sentence2": "배를 타고 섬에 갔다.", "label": 0},
    "coref_wsc": {"idx": 0, "text": "The cup fell off the table because it was too close to the edge.",
                  "span1_text": "the cup", "span2_text": "it", "label": 1},
    "coref_winogrande": {"idx": 0, "sentence": "The bag did not fit in the box because _ was too big.",
                         "option1": "bag", "option2": "box", "label": 0},
    "boolq": {"idx": 0, "passage": "서울은 대한민국의 수도이다.", "question": "서울은 대한민국의 수도인가?", "label": 1},
    "sentiment": {"idx": 0, "text": "배송이 빠르고 품질도 좋아요.", "label": 1},
    "hate_speech": {"idx": 0, "text": "오늘 날씨 정말 좋네요.", "label": 0, "bias": "none"},
    "paraphrase": {"idx": 0, "sentence1": "오늘 날씨 어때?", "sentence2": "오늘 날씨는 어떤가요?", "label": 1},
    "sts": {"idx": 0, "sentence1": "고양이가 잔다.", "sentence2": "고양이가 자고 있다.", "score": 4.6},
    "intent": {"idx": 0, "text": "문 좀 닫아 줘", "label": 3},
    "extractive_qa": {"idx": 0, "context": "한글은 1443년에 창제되었다.", "question": "한글은 언제 창제되었나?",
                      "answers": ["1443년"], "answer_start": [4], "id": "q0", "title": "한글"},
    "translation": {"idx": 0, "source_text": "안녕하세요.", "target_text": "Hello.", "source_lang": "ko",
                    "target_lang": "en"},
    "summarization": {"idx": 0, "document": "첫 문장이다. 둘째 문장이다. 셋째 문장이다.", "summary": "첫 문장이다.",
                      "title": "제목"},
    "multirc": {"idx": 0, "paragraph": "Sue has two cats.", "question": "How many cats?", "answer": "two", "label": 1},
    "multiple_choice_qa": {"idx": 0, "context": "M: Shall we take the bus?\nW: No, let's walk.", "question": "How will they go?",
                           "choices": ["By bus.", "On foot.", "By car."], "label": 1},
    "topic_classification": {"idx": 0, "text": "Who wrote Hamlet ?", "label": 3},
    "concepts_to_text": {"idx": 0, "concepts": ["dog", "frisbee", "catch"], "target": "The dog jumps to catch the frisbee."},
    "answer_selection": {"idx": 0, "question": "Where is Seoul?", "answer": "Seoul is in South Korea.", "label": 1},
}
INLINE_LABEL_NAMES = {
    "topic_classification": ["abbreviation", "entity", "description", "human", "location", "number"],
    "sentiment": ["negative", "positive"],
    "hate_speech": ["none", "offensive", "hate"],
    "intent": ["fragment", "statement", "question", "command", "rhetorical_question", "rhetorical_command",
               "intonation_dependent"],
}

# The 2-label sets of the families whose templates may be written for 2-label data only.
BINARY_LABEL_NAMES = {"sentiment": ["negative", "positive"], "hate_speech": ["default", "spoiled"]}
# Other label sets of a family, for templates written for one dataset's labels (AG News topics).
OTHER_LABEL_NAMES = {"topic_classification": ["world", "sports", "business", "sci_tech"],
                     "intent": ["yes_no_question", "alternative_question", "wh_question", "prohibition", "requirement",
                                "strong_requirement"]}


def _counts():
    return Counter((t.family, t.language, t.style) for t in templating.load_templates())


# ----------------------------------------------------------------------------- coverage


@pytest.mark.parametrize("family", HELDOUT_FAMILIES)
def test_heldout_family_has_native_and_translated_templates_in_both_languages(family):
    counts = _counts()
    for template_set in (("ko", "korani"), ("en", "p3"), ("ko", "p3"), ("en", "korani")):
        assert counts[(family, *template_set)] >= 5, (family, template_set, counts[(family, *template_set)])
    templates = templating.get_templates(family=family)
    assert len(templates) >= 20
    by_id = {t.id: t for t in templates}
    for template in templates:
        if (template.language, template.style) == ("ko", "p3"):
            assert by_id[template.translation_of].language == "en" and by_id[template.translation_of].style == "p3"
        if (template.language, template.style) == ("en", "korani"):
            assert by_id[template.translation_of].language == "ko" and by_id[template.translation_of].style == "korani"
    # every native template has exactly one translation
    translated = Counter(t.translation_of for t in templates if t.translation_of)
    natives = [t.id for t in templates if t.translation_of is None]
    assert all(translated[i] == 1 for i in natives) and sorted(translated) == sorted(natives)


@pytest.mark.parametrize("family", KOREAN_TRAINING_FAMILIES)
def test_korean_training_family_has_five_korani_templates_and_a_non_original_task(family):
    korean = templating.get_templates(family=family, language="ko", style="korani")
    assert len(korean) >= 5
    assert any(t.original_task for t in korean) and any(not t.original_task for t in korean)


@pytest.mark.parametrize("family", ENGLISH_TRAINING_FAMILIES)
def test_english_training_family_has_p3_templates(family):
    assert len(templating.get_templates(family=family, language="en", style="p3")) >= 3


def test_ids_are_task_name_parts_and_translation_targets_exist():
    from seqio_tasks import naming

    templates = templating.load_templates()
    keys = {(t.family, t.id) for t in templates}
    assert len(keys) == len(templates)
    for template in templates:
        assert naming.eval_task_name("d", template.language, template.style, template.id)
        if template.translation_of is not None:
            assert (template.family, template.translation_of) in keys
            assert template.translation_of != template.id


# ----------------------------------------------------------------------------- inline renders


def _bound(template):
    names = INLINE_LABEL_NAMES.get(template.family)
    return template.for_dataset(names) if names and template.can_verbalize(names) else template


@pytest.mark.parametrize("template", templating.load_templates(), ids=lambda t: f"{t.family}/{t.id}")
def test_every_template_renders_its_familys_inline_example(template):
    if template.label_words is not None and not template.can_verbalize(INLINE_LABEL_NAMES[template.family]):
        names = OTHER_LABEL_NAMES.get(template.family) or BINARY_LABEL_NAMES[template.family]   # another label set
        template = template.for_dataset(names)
        example = {**INLINE_EXAMPLES[template.family], "label": 1}
    else:
        template = _bound(template)
        example = INLINE_EXAMPLES[template.family]
    rendered = template.render(example)
    assert rendered.inputs.strip() and rendered.targets.strip()
    assert "{{" not in rendered.inputs and "{%" not in rendered.inputs
    if template.answer_choices is not None or template.label_words is not None:
        assert rendered.options and rendered.targets in rendered.options
        assert rendered.options[rendered.answer_index] == rendered.targets
        assert len(set(rendered.options)) == len(rendered.options)
    else:
        assert rendered.options is None and rendered.answer_index is None


def test_translation_pairs_share_family_and_options_count():
    pairs = templating.translation_pairs()
    assert len(pairs) >= 5 * 2 * len(HELDOUT_FAMILIES)
    for original, translation in pairs:
        assert original.family == translation.family and original.language != translation.language
        example = INLINE_EXAMPLES[original.family]
        first, second = _bound(original).render(example), _bound(translation).render(example)
        assert (first.options is None) == (second.options is None)
        if first.options is not None:
            assert len(first.options) == len(second.options) and first.answer_index == second.answer_index
        for num_labels in ((2, 3) if original.family == "nli" else ()):
            pair = [t.render({**example, "num_labels": num_labels}) for t in (original, translation)]
            assert len(pair[0].options) == len(pair[1].options) == num_labels


def test_korean_templates_are_korean_and_english_templates_are_english():
    hangul = lambda text: sum("\uac00" <= ch <= "\ud7a3" for ch in text)  # noqa: E731
    for template in templating.load_templates():
        words = hangul(template.input) + (hangul(str(template.answer_choices)) if template.answer_choices else 0)
        if template.language == "ko":
            assert words > 0, template.name
        else:
            assert hangul(template.input) == 0 and hangul(str(template.label_words or "")) == 0, template.name


# ----------------------------------------------------------------------------- real data


def _sources_by_family():
    try:
        from seqio_tasks import sources
        families = set(templating.families())
        return [s for s in sources.all_sources() if s.family in families and not s.name.startswith("korani_dump")]
    except Exception as error:  # the data helper's registry is not importable yet
        pytest.skip(f"seqio_tasks.sources not available: {error}")


def _source_names():
    try:
        return [s.name for s in _sources_by_family()]
    except BaseException:  # noqa: BLE001 (pytest.skip at collection)
        return []


@pytest.mark.parametrize("source_name", _source_names())
def test_every_template_renders_real_examples(shared_data, source_name):
    from seqio_tasks import sources

    source = sources.get_source(source_name)
    unlabelled = set(getattr(source, "unlabelled_splits", ()) or ())
    splits = [s for s in source.splits if s not in unlabelled] or list(source.splits)
    split = splits[0]
    try:
        rows = source.load(split, data_dir=shared_data, on_error="skip")[:ROWS_PER_DATASET]  # loader rows are tested elsewhere
    except sources.MissingDataError as error:
        pytest.skip(f"{source_name}: {error}")
    assert rows, f"{source_name}/{split} is empty"
    templates = templating.get_templates(family=source.family, dataset=source_name)
    assert templates, f"no template applies to {source_name}"
    labelled = split not in unlabelled
    for template in templates:
        if source.label_names:
            assert template.label_names == tuple(source.label_names)
        for row in rows:
            rendered = template.render(row)
            assert rendered.inputs.strip(), (template.name, row["idx"])
            if rendered.options is not None and not (template.family == "multiple_choice_qa"
                                                     and len(set(row["choices"])) < len(row["choices"])):
                assert len(set(rendered.options)) == len(rendered.options), template.name
            if labelled and template.original_task:
                assert rendered.targets.strip(), (template.name, row["idx"])
            if rendered.targets and rendered.options is not None:
                assert rendered.options[rendered.answer_index] == rendered.targets
            if template.family == "nli" and source.label_names:
                assert len(rendered.options) == len(source.label_names)
