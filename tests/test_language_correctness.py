"""Language correctness (script ratio) on hand-written strings, against Unicode's own script property,
and as the evaluator reports it beside every generation-scored task's metrics."""
import numpy as np
import pytest

from xlit_jax import evaluator, metrics
from xlit_jax.eval_tasks import EvalTask
from xlit_jax.metrics import language


@pytest.mark.parametrize("char,script", [
    ("가", "hangul"), ("ㄱ", "hangul"), ("ᄀ", "hangul"), ("a", "latin"), ("Á", "latin"), ("ß", "latin"),
    ("Ａ", "latin"), ("ễ", "latin"), ("東", "han"), ("々", "han"), ("ぁ", "kana"), ("ア", "kana"), ("ｱ", "kana"),
    ("ー", "kana"), ("ж", "cyrillic"), ("Ω", "greek"), ("א", "hebrew"), ("ऋ", "devanagari"), ("ก", "thai"),
    ("த", "tamil"), ("ع", "arabic"), ("ა", "georgian"),
    ("1", None), ("١", None), (" ", None), ("!", None), ("。", None), ("∂", None), ("\u0301", None), ("€", None),
])
def test_char_script(char, script):
    assert language.char_script(char) == script


def test_scripts_agree_with_unicode_script_property():
    """Independent reference: the `regex` module's \\p{Script=...} over whole Unicode blocks."""
    regex = pytest.importorskip("regex")
    blocks = {"Hangul": (0xAC00, 0xD7A3, "hangul"), "Latin": (0x41, 0x24F, "latin"),
              "Han": (0x4E00, 0x9FFF, "han"), "Cyrillic": (0x400, 0x4FF, "cyrillic"),
              "Greek": (0x370, 0x3FF, "greek"), "Thai": (0xE00, 0xE7F, "thai"), "Arabic": (0x600, 0x6FF, "arabic")}
    scriptless = regex.compile(r"[\p{Script=Common}\p{Script=Inherited}]")   # e.g. the micro sign
    checked = 0
    for name, (first, last, ours) in blocks.items():
        pattern = regex.compile(rf"\p{{Script={name}}}")
        for code in range(first, last + 1):
            char = chr(code)
            if language.char_script(char) is None or scriptless.match(char):   # not a letter of a script
                continue
            assert bool(pattern.match(char)) == (language.char_script(char) == ours), (hex(code), name)
            checked += 1
    assert checked > 20000


def test_script_ratio_of_mixed_text_ignores_digits_and_punctuation():
    assert language.script_ratio("서울입니다.", "ko") == 1.0
    assert language.script_ratio("Seoul은 수도", "ko") == pytest.approx(3 / 8)   # 5 Latin + 3 Hangul letters
    assert language.script_ratio("Seoul은 수도", "en") == pytest.approx(5 / 8)
    assert language.script_ratio("AI 기술", "ko") == pytest.approx(0.5)
    assert language.script_ratio("2024년 3월 1일!!", "ko") == 1.0                 # only 년, 월, 일 count
    assert language.script_ratio("東京は首都です", "ja") == 1.0 and language.script_ratio("東京は首都です", "zh") == pytest.approx(4 / 7)
    for no_letters in ("", "   ", "1,234.5", "?!", "3.14 %"):
        assert language.script_ratio(no_letters, "ko") is None


def test_mean_script_ratio_averages_over_examples():
    predictions = ["서울입니다", "Seoul", "AI 기술", "123", ""]
    # per example: 1, 0, 0.5, and 1 for the two without letters
    assert language.mean_script_ratio(predictions, "ko") == pytest.approx(100 * 3.5 / 5)
    assert language.mean_script_ratio(predictions, "en") == pytest.approx(100 * (0 + 1 + 0.5 + 1 + 1) / 5)
    # with targets: a prediction without letters counts 1 only where the target has none either
    targets = ["서울", "서울", "서울", "123", "한국"]
    assert language.mean_script_ratio(predictions, "ko", targets) == pytest.approx(100 * 2.5 / 5)
    assert metrics.compute_metric("script_ratio", targets, predictions, "ko") == pytest.approx(50.0)
    assert language.mean_script_ratio(["", "", "42"], "ko", ["네", "", "42"]) == pytest.approx(100 * 2 / 3)
    assert language.mean_script_ratio(["", "7"], "en", [["yes", "y"], ["7", "seven"]]) == pytest.approx(50.0)
    assert language.language_rate(predictions, "ko", targets=targets) == pytest.approx(60.0)   # '', '서울' -> 0
    # the thresholded rate counts 'AI 기술' (0.5) as Korean, the ratio gives it half
    assert language.language_rate(predictions, "ko") == pytest.approx(80.0)
    with pytest.raises(ValueError, match="no predictions"):
        language.mean_script_ratio([], "ko")
    with pytest.raises(ValueError, match="no script known for language 'xx'"):
        language.mean_script_ratio(["", "1"], "xx")   # an unknown language fails even without letters


def test_languages_by_code_or_script_tag():
    assert language.expected_scripts("ko") == {"hangul"}
    assert language.expected_scripts("kor_Hang") == {"hangul"} and language.expected_scripts("eng_Latn") == {"latin"}
    assert language.expected_scripts("sr-Cyrl") == {"cyrillic"} and language.expected_scripts("zh-Hant") == {"han"}
    assert language.expected_scripts("xx-Latn") == {"latin"} and language.expected_scripts("ja") == {"kana", "han"}
    assert language.mean_script_ratio(["Привет", "hello"], "sr-Cyrl") == pytest.approx(50.0)
    with pytest.raises(ValueError, match="ISO 15924"):
        language.expected_scripts("xx")


# ---------------------------------------------------------------------- in the evaluator


class IndexTokenizer:
    """Encodes example i's input as [i + 3]; decodes a row back to a chosen prediction."""

    def __init__(self, inputs, predictions):
        self.index = {text: i for i, text in enumerate(inputs)}
        self.predictions = predictions

    def encode(self, text, max_length=None):
        return [self.index.get(text, 0) + 3]

    def decode(self, tokens):
        return self.predictions[int(tokens[0]) - 3]


def _generate(model, params, encoder_input_tokens, **kwargs):
    return np.asarray(encoder_input_tokens)[:, :1]   # "generates" the example's own index


def generation_task(targets, data_language="en", **extra):
    info = dict(name="fake_translation.en_p3.t01", dataset="fake_translation", cluster="translation",
                data_language=data_language, template_language="en", template_style="p3", setting="native",
                scoring="generation", metrics=["chrf"], **extra)
    return EvalTask(info, [{"idx": i, "inputs": f"translate {i}", "targets": t, "options": None}
                           for i, t in enumerate(targets)])


def _score(task, predictions):
    tokenizer = IndexTokenizer([e["inputs"] for e in task.examples], predictions)
    [result] = evaluator.run_tasks(None, None, [task], tokenizer, batch_size=2, progress=False,
                                   generate_fn=_generate, task_feature_lengths={"inputs": 8, "targets": 8})
    return result.record


def test_every_generation_task_reports_script_ratio_in_the_targets_language():
    targets = ["오늘은 맑다", "서울은 수도다", "비가 온다"]
    task = generation_task(targets, data_language="en")   # English source, Korean targets (en -> ko)
    record = _score(task, ["오늘은 맑다", "Seoul은 수도다", "It rains"])
    assert record["output_language"] == "ko"
    expected = language.mean_script_ratio(["오늘은 맑다", "Seoul은 수도다", "It rains"], "ko", targets)
    assert record["metrics"]["script_ratio"] == pytest.approx(expected)
    assert record["metrics"]["script_ratio"] == pytest.approx(100 * (1 + 4 / 9 + 0) / 3)
    assert record["metrics"]["language_rate"] == pytest.approx(100 / 3)   # 4/9 < 0.5
    assert record["primary_metric"] == "chrf" and record["score"] == record["metrics"]["chrf"]


def test_output_language_in_the_task_info_wins_over_the_targets_script():
    task = generation_task(["1", "2"], data_language="ko", output_language="en")
    record = _score(task, ["one", "둘"])
    assert record["output_language"] == "en" and record["metrics"]["script_ratio"] == pytest.approx(50.0)


def test_a_model_that_outputs_nothing_is_not_language_correct():
    task = generation_task(["오늘은 맑다", "서울은 수도다"])
    record = _score(task, ["", "..."])
    assert record["metrics"]["script_ratio"] == 0.0 and record["metrics"]["language_rate"] == 0.0


def test_rank_tasks_have_no_script_ratio():
    info = dict(name="fake_nli.en_p3.t01", dataset="fake_nli", cluster="nli", data_language="en",
                template_language="en", template_style="p3", setting="native", scoring="rank", metrics=["accuracy"])
    task = EvalTask(info, [{"inputs": "a", "targets": "yes", "options": ["yes", "no"], "answer_index": 0}])

    class Choice:
        choice, scores = 0, [0.0, -1.0]

    [result] = evaluator.run_tasks(None, None, [task], IndexTokenizer(["a"], ["yes"]), progress=False,
                                   rank_classify_fn=lambda *a, **k: [Choice()])
    assert "script_ratio" not in result.record["metrics"]
