"""The template engine: YAML loading, strict rendering, verbalizers, label binding, truncation."""
from pathlib import Path

import pytest

from seqio_tasks import templating
from seqio_tasks.templating import Template, TemplateError, josa, load_file, truncate_text


def _write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


NLI_FILE = """
family: nli
defaults:
  target: "{{ answer_choices[label] }}"
templates:
  - id: en_p3_01
    language: en
    style: p3
    answer_choices: "{% if num_labels == 2 %}Yes ||| No{% else %}Yes ||| Maybe ||| No{% endif %}"
    input: "{{ premise }} Then: {{ hypothesis }}?"
  - id: ko_from_en_p3_01
    language: ko
    style: p3
    translation_of: en_p3_01
    answer_choices: [예, 아마도, 아니요]
    input: "{{ premise }} 그러면 {{ hypothesis }}?"
"""


def test_render_uses_the_templates_answer_words(tmp_path):
    templates = load_file(_write(tmp_path, NLI_FILE))
    english, korean = templates
    example = {"idx": 0, "premise": "It rained.", "hypothesis": "The ground is wet", "label": 1}
    rendered = english.render(example)
    assert rendered.inputs == "It rained. Then: The ground is wet?"
    assert rendered.options == ["Yes", "Maybe", "No"]
    assert rendered.targets == "Maybe" and rendered.answer_index == 1
    # the same example through the Korean translation: Korean answer words, same label
    rendered = korean.render(example)
    assert rendered.options == ["예", "아마도", "아니요"] and rendered.targets == "아마도"
    assert korean.translation_of == english.id and korean.family == "nli"


def test_two_way_nli_from_example_or_bound_label_names(tmp_path):
    english = load_file(_write(tmp_path, NLI_FILE))[0]
    example = {"premise": "p.", "hypothesis": "h", "label": 1}
    assert english.render({**example, "num_labels": 2}).options == ["Yes", "No"]
    assert english.render({**example, "label_names": ["entailment", "not_entailment"]}).targets == "No"
    bound = english.for_dataset(["entailment", "not_entailment"])
    assert bound.render(example).options == ["Yes", "No"] and bound.render(example).answer_index == 1
    assert english.render(example).options == ["Yes", "Maybe", "No"]   # 3-way when nothing says otherwise


def test_missing_field_names_template_and_field(tmp_path):
    english = load_file(_write(tmp_path, NLI_FILE))[0]
    with pytest.raises(TemplateError, match=r"nli/en_p3_01.*'hypothesis' is undefined"):
        english.render({"premise": "p", "label": 0})


def test_unlabelled_example_renders_empty_target(tmp_path):
    english = load_file(_write(tmp_path, NLI_FILE))[0]
    rendered = english.render({"premise": "p", "hypothesis": "h", "label": -1})
    assert rendered.inputs and rendered.targets == "" and rendered.answer_index is None


def test_target_outside_options_is_an_error(tmp_path):
    path = _write(tmp_path, """
family: boolq
templates:
  - id: bad
    language: en
    style: p3
    answer_choices: ["no", "yes"]
    input: "{{ question }}"
    target: "maybe"
""")
    with pytest.raises(TemplateError, match="not among its options"):
        load_file(path)[0].render({"question": "q", "label": 1})


@pytest.mark.parametrize("body, message", [
    ("    bogus: 1\n", "unknown keys"),
    ("    translation_of: nowhere\n", "translation_of 'nowhere'"),
    ("    datasets: kobest_boolq\n", "datasets must be a list"),
    ("    truncate: {passage: {lines: 3}}\n", "truncate"),
])
def test_bad_template_files_name_file_and_template(tmp_path, body, message):
    text = ("family: boolq\ntemplates:\n  - id: ko_korani_01\n    language: ko\n    style: korani\n"
            "    input: \"{{ passage }}\"\n    target: \"{{ label }}\"\n" + body)
    path = _write(tmp_path, text)
    with pytest.raises(TemplateError, match=message) as error:
        load_file(path)
    assert str(path) in str(error.value)


def test_duplicate_ids_and_bad_jinja_are_rejected(tmp_path):
    one = "  - id: a\n    language: en\n    style: p3\n    input: x\n    target: y\n"
    with pytest.raises(TemplateError, match="duplicate id"):
        load_file(_write(tmp_path, "family: boolq\ntemplates:\n" + one + one))
    broken = "family: boolq\ntemplates:\n  - id: a\n    language: en\n    style: p3\n    input: '{{ passage '\n    target: y\n"
    with pytest.raises(TemplateError, match=r"'a'.*not valid Jinja"):
        load_file(_write(tmp_path, broken, "broken.yaml"))


def test_family_defined_in_two_files_is_rejected(tmp_path):
    one = "family: boolq\ntemplates:\n  - id: {id}\n    language: en\n    style: p3\n    input: x\n    target: y\n"
    _write(tmp_path, one.format(id="a"), "a.yaml")
    _write(tmp_path, one.format(id="b"), "b.yaml")
    with pytest.raises(TemplateError, match="also defined"):
        templating.load_templates(tmp_path)


# ----------------------------------------------------------------------------- truncation


LONG_PASSAGE = " ".join(f"word{i}" for i in range(400))   # about 3,000 characters


def test_truncation_happens_before_rendering_so_a_trailing_instruction_survives(tmp_path):
    path = _write(tmp_path, """
family: boolq
templates:
  - id: ko_korani_01
    language: ko
    style: korani
    answer_choices: [아니요, 예]
    truncate: {passage: 200}
    input: |-
      {{ passage }}
      위 글에 따르면 "{{ question }}"에 대한 답은 무엇입니까? 예 또는 아니요로 답하세요.
    target: "{{ answer_choices[label] }}"
""")
    template = load_file(path)[0]
    example = {"passage": LONG_PASSAGE, "question": "질문", "label": 1}
    rendered = template.render(example)
    instruction = '위 글에 따르면 "질문"에 대한 답은 무엇입니까? 예 또는 아니요로 답하세요.'
    assert rendered.inputs.endswith(instruction)
    passage_part = rendered.inputs[: -len(instruction)].strip()
    assert passage_part.endswith(templating.ELLIPSIS)
    assert len(passage_part) <= 200 + 2 and LONG_PASSAGE.startswith(passage_part[:-2].rstrip())
    assert rendered.targets == "예"
    # max_field_chars tightens the budget further and still keeps the instruction whole
    tighter = template.render(example, max_field_chars=50)
    assert tighter.inputs.endswith(instruction) and len(tighter.inputs) < len(rendered.inputs)
    # a short passage is untouched
    assert template.render({**example, "passage": "짧은 글."}).inputs.startswith("짧은 글.\n")


def test_max_field_chars_caps_the_family_long_field_without_a_truncate_entry(tmp_path):
    path = _write(tmp_path, """
family: summarization
templates:
  - id: ko_korani_01
    language: ko
    style: korani
    input: "{{ document }}\\n위 글을 요약하세요."
    target: "{{ summary }}"
""")
    template = load_file(path)[0]
    rendered = template.render({"document": LONG_PASSAGE, "summary": "s"}, max_field_chars=100)
    assert rendered.inputs.endswith("위 글을 요약하세요.") and len(rendered.inputs) < 130
    assert template.render({"document": LONG_PASSAGE, "summary": "s"}).inputs.startswith(LONG_PASSAGE)


def test_truncate_text_keeps_an_answer_span_and_counts_words():
    context = "x " * 600 + "the answer is Seoul. " + "y " * 300
    start = context.index("Seoul")
    kept = truncate_text(context, chars=300, keep=(start, start + len("Seoul")))
    assert "Seoul" in kept and len(kept) <= 300 + 4 and kept.startswith(templating.ELLIPSIS)
    assert truncate_text("a b c d e f", words=3) == "a b c " + templating.ELLIPSIS
    assert truncate_text("short", chars=100) == "short"


def test_extractive_qa_context_truncation_keeps_the_answer():
    template = templating.get_template("extractive_qa", "ko_korani_01")
    context = "앞부분 문장입니다. " * 400 + "정답은 서울이다. " + "뒷부분 문장입니다. " * 50
    start = context.index("서울")
    example = {"context": context, "question": "수도는?", "answers": ["서울"], "answer_start": [start], "id": "q"}
    rendered = template.render(example, max_field_chars=500)
    assert "서울" in rendered.inputs and rendered.targets == "서울" and len(rendered.inputs) < 700


# ----------------------------------------------------------------------------- label words


SENTIMENT_FILE = """
family: sentiment
templates:
  - id: three
    language: ko
    style: korani
    label_words: {negative: 부정, neutral: 중립, positive: 긍정}
    input: "{{ text }} ({{ answer_choices | join(', ') }})"
    target: "{{ answer_choices[label] }}"
  - id: two
    language: ko
    style: korani
    label_words: {negative: 부정 문장, positive: 긍정 문장}
    input: "{{ text }}"
    target: "{{ answer_choices[label] }}"
"""


def test_label_words_verbalize_each_datasets_label_set(tmp_path):
    three, two = load_file(_write(tmp_path, SENTIMENT_FILE))
    example = {"text": "좋아요", "label": 1}
    binary = ["negative", "positive"]
    assert three.for_dataset(binary).render(example).options == ["부정", "긍정"]
    assert three.for_dataset(binary).render(example).targets == "긍정"
    finance = ["negative", "neutral", "positive"]
    assert three.for_dataset(finance).render(example).targets == "중립"
    assert two.can_verbalize(binary) and not two.can_verbalize(finance)
    assert three.answer_choices is None and three.for_dataset(finance).answer_choices == ["부정", "중립", "긍정"]
    # an example's own label_names win over the bound ones
    assert three.for_dataset(finance).render({**example, "label_names": binary}).targets == "긍정"
    with pytest.raises(TemplateError, match=r"no answer word for labels \['neutral'\]"):
        two.for_dataset(finance).render(example)
    with pytest.raises(TemplateError, match="label_names"):
        three.render(example)


def test_get_templates_binds_the_datasets_label_names():
    pytest.importorskip("seqio_tasks.sources")
    for template in templating.get_templates("nli", dataset="super_glue_rte"):
        assert template.label_names == ("entailment", "not_entailment")
        rendered = template.render({"premise": "p.", "hypothesis": "h", "label": 1})
        assert len(rendered.options) == 2 and rendered.answer_index == 1
    for template in templating.get_templates("nli", dataset="klue_nli"):
        assert len(template.render({"premise": "p.", "hypothesis": "h", "label": 2}).options) == 3
    sentineg = templating.get_templates("sentiment", dataset="kobest_sentineg")
    finance = templating.get_templates("sentiment", dataset="finance_sentiment_ko")
    assert {t.id for t in finance} < {t.id for t in sentineg}   # 2-word templates only fit 2-label data


def test_get_templates_filters_and_get_template_errors():
    korani = templating.get_templates(family="copa", language="ko", style="korani")
    assert korani and all(t.family == "copa" and t.language == "ko" and t.style == "korani" for t in korani)
    assert all(t.original_task for t in templating.get_templates(original_task=True))
    assert templating.get_template("copa", korani[0].id) == korani[0]
    with pytest.raises(KeyError, match="no template 'nope' in family 'copa'"):
        templating.get_template("copa", "nope")
    with pytest.raises(KeyError, match="no templates for family"):
        templating.get_template("no_such_family", "x")


def test_template_is_hashable_and_frozen():
    template = templating.get_templates(family="wic")[0]
    assert template in {template}
    with pytest.raises(Exception):
        template.id = "other"  # type: ignore[misc]
    assert isinstance(template, Template)


@pytest.mark.parametrize("word, particle, expected", [
    ("사과", "을/를", "사과를"), ("눈", "을/를", "눈을"), ("물", "으로/로", "물로"), ("눈", "으로/로", "눈으로"),
    ("바다", "으로/로", "바다로"), ("'책'", "이/가", "'책'이"), ("학교", "은/는", "학교는"), ("3", "이/가", "3이"),
    ("Paris", "을/를", "Paris을(를)"), ("He", "이라는/라는", "He(이)라는"),
])
def test_josa_picks_the_particle_by_the_last_sound(word, particle, expected):
    assert josa(word, particle) == expected
