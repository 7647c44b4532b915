"""The promptsource reader: every real templates.yaml parses, and T0's held-out templates render on
our canonical examples (inline ones written here, and real data through the sources)."""
import glob
import os
from pathlib import Path

import pytest

from seqio_tasks import promptsource
from seqio_tasks.promptsource import PromptsourceError, PromptsourceTemplate

# T0's held-out evaluation datasets: our source -> what every original-task template must give.
T0_HELDOUT = ("super_glue_cb", "super_glue_rte", "anli_r1", "anli_r2", "anli_r3", "super_glue_copa", "hellaswag",
              "winogrande", "super_glue_wic", "super_glue_wsc", "story_cloze")
ROWS_PER_DATASET = 25


@pytest.fixture(scope="module")
def templates_dir(shared_data) -> Path:
    directory = shared_data / "promptsource_templates"
    if not directory.is_dir():
        pytest.skip(f"no promptsource templates under {shared_data}")
    return directory


def _template(templates_dir, dataset, subset, name, original_task_only=True) -> PromptsourceTemplate:
    found = [t for t in promptsource.load_promptsource_templates(dataset, subset, templates_dir, original_task_only)
             if t.name == name]
    assert len(found) == 1, f"{dataset}/{subset} has no single template named {name!r}"
    return found[0]


# ----------------------------------------------------------------------------- parsing


def test_every_promptsource_file_parses_and_compiles(templates_dir):
    expected = sorted(glob.glob(os.path.join(templates_dir, "**", "templates.yaml"), recursive=True))
    files = promptsource.find_template_files(templates_dir)
    assert len(files) == len(expected) and len(expected) >= 200
    parsed = promptsource.load_all_promptsource(templates_dir)
    assert len(parsed) == len(expected)       # one (dataset, subset) per file
    total = 0
    for (dataset, subset), templates in parsed.items():
        assert templates, f"{dataset}/{subset} has no templates"
        for template in templates:
            template.compile()                   # every Jinja text parses with our filters
            assert template.id and template.name and template.jinja.strip(), template.path
        total += len(templates)
    assert total > 1500


def test_metadata_is_read(templates_dir):
    cb = promptsource.load_promptsource_templates("super_glue", "cb", templates_dir, original_task_only=False)
    assert len(cb) == 15
    can_we_infer = next(t for t in cb if t.name == "can we infer")
    assert can_we_infer.original_task and can_we_infer.choices_in_prompt
    assert can_we_infer.metrics == ("Accuracy",) and can_we_infer.languages == ("en",)
    assert can_we_infer.answer_choices == "Yes ||| No ||| Maybe"
    hellaswag_all = promptsource.load_promptsource_templates("hellaswag", None, templates_dir, original_task_only=False)
    hellaswag_t0 = promptsource.load_promptsource_templates("hellaswag", None, templates_dir)
    assert 0 < len(hellaswag_t0) < len(hellaswag_all) and all(t.original_task for t in hellaswag_t0)


def test_custom_tags_and_bad_files(tmp_path):
    good = tmp_path / "templates" / "toy" / "templates.yaml"
    good.parent.mkdir(parents=True)
    good.write_text("""dataset: toy
templates:
  abc: !Template
    answer_choices: no ||| yes
    id: abc
    jinja: 'Is {{ a }} | b? ||| {{ answer_choices[label] }}'
    metadata: !TemplateMetadata
      choices_in_prompt: false
      metrics: [Accuracy]
      original_task: true
    name: toy question
    reference: written for this test
""", encoding="utf-8")
    [template] = promptsource.load_promptsource_templates("toy", directory=tmp_path)
    rendered = template.render_hf({"a": "x ||| y", "label": 1})
    assert rendered.inputs == "Is x ||| y | b?"        # '|||' inside a value does not split the prompt
    assert rendered.targets == "yes" and rendered.options == ["no", "yes"] and rendered.answer_index == 1
    bad = tmp_path / "templates" / "broken" / "templates.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text("dataset: broken\ntemplates:\n  x: !Template\n    name: n\n", encoding="utf-8")
    with pytest.raises(PromptsourceError, match=r"broken/templates.yaml.*missing \['id', 'jinja'\]"):
        promptsource.parse_file(bad)
    with pytest.raises(FileNotFoundError, match="no promptsource templates for nothing"):
        promptsource.load_promptsource_templates("nothing", directory=tmp_path)


# ----------------------------------------------------------------------------- canonical -> HF rows


def test_cb_labels_map_to_hf_order(templates_dir):
    template = _template(templates_dir, "super_glue", "cb", "can we infer")
    example = {"idx": 0, "premise": "It is raining.", "hypothesis": "The sun is out.", "label": 0}
    answers = [template.render({**example, "label": label}).targets for label in (0, 1, 2)]
    assert answers == ["Yes", "Maybe", "No"]   # ours: entailment, neutral, contradiction


def test_anli_rte_wic_wsc_render_inline(templates_dir):
    anli = _template(templates_dir, "anli", None, "GPT-3 style")
    assert anli.render({"premise": "A.", "hypothesis": "B.", "label": 2}).targets == "False"
    rte = _template(templates_dir, "super_glue", "rte", "does this imply")
    assert rte.render({"premise": "A.", "hypothesis": "B", "label": 1}).options == ["Yes", "No"]
    wic = _template(templates_dir, "super_glue", "wic", "same_sense")
    rendered = wic.render({"word": "bank", "sentence1": "A river bank.", "sentence2": "A bank loan.", "label": 0})
    assert 'the word "bank"' in rendered.inputs and rendered.targets == "No"
    wsc = _template(templates_dir, "super_glue", "wsc.fixed", "in other words")
    rendered = wsc.render({"text": "Tom hugged Bob because he was sad .", "span1_text": "Bob", "span2_text": "he",
                           "label": 1})     # no word indices: they are found in the text
    assert "In other words, Bob was sad ." in rendered.inputs and rendered.targets == "True"


def test_winogrande_story_cloze_copa_hellaswag_render_inline(templates_dir):
    winogrande = _template(templates_dir, "winogrande", "winogrande_xl", "stand for")
    example = {"sentence": "The cup broke the _ .", "option1": "plate", "option2": "glass", "label": 1}
    assert winogrande.render(example).targets == "glass"
    story = _template(templates_dir, "story_cloze", "2016", "Choose Story Ending")
    rendered = story.render({"sentences": ["One.", "Two.", "Three.", "Four."], "ending1": "End A.",
                             "ending2": "End B.", "label": 0})
    assert "One.\nTwo.\nThree.\nFour." in rendered.inputs and rendered.targets == "End A."
    copa = _template(templates_dir, "super_glue", "copa", "best_option")
    rendered = copa.render({"premise": "It rained.", "question": "effect", "choice1": "Wet.", "choice2": "Dry.",
                            "label": 0})
    assert "an effect" in rendered.inputs and rendered.targets == "Wet." and rendered.answer_index == 0
    hellaswag = _template(templates_dir, "hellaswag", None, "complete_first_then")
    rendered = hellaswag.render({"context": "A man stands on a ladder. He", "activity": "Painting",
                                 "endings": ["paints.", "flies.", "swims.", "sings."], "label": 0})
    assert "First, a man stands on a ladder. Then, he ..." in rendered.inputs and rendered.targets == "paints."
    assert promptsource.split_hellaswag_context("No sentence end here") == ("No sentence end here", "")


def test_choice_filter_is_reproducible(templates_dir):
    template = _template(templates_dir, "hellaswag", None, "Randomized prompts template")
    example = {"context": "Someone cooks.", "endings": ["a", "b", "c", "d"], "label": 2, "activity": "Cooking"}
    first = template.render(example)
    assert all(template.render(example) == first for _ in range(5))
    prompts = {template.render({**example, "context": f"Someone cooks dish {i}."}).inputs.splitlines()[0]
               for i in range(30)}
    assert len(prompts) > 1          # still a random pick across examples, as in promptsource


def test_unlabelled_rows_render_empty_targets(templates_dir):
    rte = _template(templates_dir, "super_glue", "rte", "can we infer")
    assert rte.render({"premise": "A.", "hypothesis": "B", "label": -1}).targets == ""
    hellaswag = _template(templates_dir, "hellaswag", None, "if_begins_how_continues")
    rendered = hellaswag.render({"context": "c.", "endings": ["a", "b", "c", "d"], "label": -1})
    assert rendered.targets == "" and rendered.answer_index is None


def test_missing_canonical_field_names_the_template(templates_dir):
    template = _template(templates_dir, "super_glue", "copa", "best_option")
    with pytest.raises(PromptsourceError, match=r"super_glue/copa/best_option.*'choice2'"):
        template.render({"premise": "p", "question": "cause", "choice1": "a", "label": 0})


def _promptsource_datasets():
    """(our source name, promptsource (dataset, subset)) of each English taxonomy dataset with promptsource folders."""
    from seqio_tasks import taxonomy

    pairs = []
    for info in taxonomy.all_datasets():
        if info.language == "en" and info.source:
            for folder in info.promptsource:
                dataset, _, subset = folder.partition("/")
                pairs.append((info.source, (dataset, subset or None)))
    return pairs


def _templates_for_source(source_name, templates_dir):
    return [t for source, (dataset, subset) in _promptsource_datasets() if source == source_name
            for t in promptsource.load_promptsource_templates(dataset, subset, templates_dir)]


def test_every_mapping_points_at_a_file_with_a_converter(templates_dir):
    pairs = _promptsource_datasets()
    assert pairs
    for source_name, (dataset, subset) in pairs:
        assert (dataset, subset) in promptsource.HF_CONVERTERS, source_name
        assert promptsource.load_promptsource_templates(dataset, subset, templates_dir), source_name


# ----------------------------------------------------------------------------- real data


@pytest.mark.parametrize("source_name", sorted({source for source, _ in _promptsource_datasets()}))
def test_original_task_templates_render_real_examples(shared_data, templates_dir, source_name):
    sources = pytest.importorskip("seqio_tasks.sources")
    try:
        source = sources.get_source(source_name)
    except KeyError as error:
        pytest.skip(f"no source {source_name} yet: {error}")
    unlabelled = set(getattr(source, "unlabelled_splits", ()) or ())
    split = next((s for s in source.splits if s not in unlabelled), source.splits[0])
    try:
        rows = source.load(split, data_dir=shared_data)[:ROWS_PER_DATASET]
    except sources.MissingDataError as error:
        pytest.skip(f"{source_name}: {error}")
    templates = _templates_for_source(source_name, templates_dir)
    assert templates
    rendered_any = 0
    for template in templates:
        for row in rows:
            rendered = template.render(row)
            if rendered is None or not rendered.inputs.strip():
                continue          # the template does not apply to this row (e.g. COPA's cause-only ones)
            rendered_any += 1
            if split in unlabelled:
                continue
            assert rendered.targets.strip(), (template.name, row["idx"])
            if rendered.options is not None:
                assert rendered.answer_index is not None, (template.name, rendered.targets, rendered.options)
    assert rendered_any >= len(rows)


@pytest.mark.parametrize("source_name", T0_HELDOUT)
def test_t0_heldout_datasets_are_mapped(source_name):
    assert source_name in {source for source, _ in _promptsource_datasets()}


def test_every_template_reads_only_fields_its_converter_gives(shared_data, templates_dir):
    """The one allowed gap: WikiQA's train rows have no document title (WikiQASent-train has none)."""
    from seqio_tasks import sources

    for source_name, (dataset, subset) in _promptsource_datasets():
        source = sources.get_source(source_name)
        labelled = [s for s in source.splits if s not in set(getattr(source, "unlabelled_splits", ()) or ())]
        try:
            example = source.load(labelled[0], data_dir=shared_data)[0]
        except sources.MissingDataError:
            continue
        row = promptsource.HF_CONVERTERS[(dataset, subset)](example)
        for template in promptsource.load_promptsource_templates(dataset, subset, templates_dir,
                                                                 original_task_only=False):
            missing = template.fields - row.keys()
            allowed = {"document_title"} if (dataset, labelled[0]) == ("wiki_qa", "train") else set()
            assert missing <= allowed, (template.full_name, sorted(missing))


def test_template_needing_a_field_the_row_lacks_does_not_apply(templates_dir):
    jeopardy = _template(templates_dir, "wiki_qa", None, "Jeopardy style", original_task_only=False)
    assert jeopardy.fields == {"answer", "document_title", "label", "question"}
    row = {"question": "who wrote hamlet", "answer": "Hamlet is a tragedy by William Shakespeare.", "label": 1}
    assert jeopardy.render({**row, "document_title": ""}) is None      # WikiQASent-train: no title
    rendered = jeopardy.render({**row, "document_title": "Hamlet"})
    assert "The topic is Hamlet." in rendered.inputs and rendered.targets == '"who wrote hamlet?"'
    direct = _template(templates_dir, "wiki_qa", None, "Direct Answer to Question")
    assert direct.render({**row, "document_title": ""}).targets == row["answer"]


def test_long_context_is_cut_for_promptsource_templates(templates_dir):
    import dataclasses

    from seqio_tasks import templating

    assert templating.LONG_FIELDS["multiple_choice_qa"] == ("context",)
    template = promptsource.load_promptsource_templates("cosmos_qa", None, templates_dir)[0]
    example = {"context": "word " * 3000, "question": "Why?", "choices": ["a", "b", "c", "d"], "label": 1}
    uncut = template.render(example)
    bound = dataclasses.replace(template, family="multiple_choice_qa", max_field_chars=500)
    cut = bound.render(example)
    assert len(uncut.inputs) > 15000 and len(cut.inputs) < 1000
    assert templating.ELLIPSIS in cut.inputs and cut.targets == uncut.targets
