"""Metrics against hand-computed values (Korean included) and independent references (scipy, sacrebleu)."""
import math

import pytest

from xlit_jax import metrics
from xlit_jax.metrics import classification, correlation, language, qa, rouge, translation


def test_accuracy_and_macro_f1_by_hand():
    targets, predictions = [0, 0, 1, 1, 2], [0, 1, 1, 1, 0]
    assert classification.accuracy(targets, predictions) == pytest.approx(60.0)
    # class 0: tp=1, predicted 2, actual 2 -> F1 = 2*1/(2+2) = 0.5
    # class 1: tp=2, predicted 3, actual 2 -> F1 = 4/5 = 0.8
    # class 2: tp=0, predicted 0, actual 1 -> F1 = 0
    assert classification.macro_f1(targets, predictions) == pytest.approx(100 * (0.5 + 0.8 + 0.0) / 3)
    assert classification.accuracy([" yes", "no"], ["yes ", "yes"]) == pytest.approx(50.0)
    with pytest.raises(ValueError, match="2 targets but 1 predictions"):
        classification.accuracy([1, 2], [1])


def test_english_qa_squad_normalization():
    assert qa.exact_match(["The Eiffel Tower!"], ["eiffel tower"]) == 100.0
    # gold {big, red, dog} vs predicted {red, dog, barked}: overlap 2, P = R = 2/3
    assert qa.f1(["the big red dog"], ["red dog barked"]) == pytest.approx(100 * 2 / 3)
    # several accepted answers: the best one counts
    assert qa.exact_match([["Paris", "the city of Paris"]], ["city of paris"]) == 100.0


def test_korean_qa_drops_particles():
    # '서울에서' = 서울/NNP + 에서/JKB: the particle goes, the answer is the gold '서울'
    assert qa.example_exact_match("서울", "서울에서", "ko") == 1.0
    assert qa.example_exact_match("이순신 장군", "이순신 장군이", "ko") == 1.0
    assert qa.example_exact_match("1592년", "1592년에.", "ko") == 1.0
    # whitespace tokens (SQuAD rules) would call the first pair a complete miss
    assert qa.example_f1("서울", "서울에서", "en") == 0.0
    # '서울특별시' = 서울 + 특별시: P = 1/2, R = 1/1, F1 = 2/3; not an exact match
    assert qa.example_exact_match("서울", "서울특별시", "ko") == 0.0
    assert qa.example_f1("서울", "서울특별시", "ko") == pytest.approx(2 / 3)
    # corpus means: EM (1 + 0) / 2, F1 (1 + 2/3) / 2
    assert qa.exact_match(["서울", "서울"], ["서울에서", "서울특별시"], "ko") == pytest.approx(50.0)
    assert qa.f1(["서울", "서울"], ["서울에서", "서울특별시"], "ko") == pytest.approx(100 * (1 + 2 / 3) / 2)


def test_korean_rouge_l_by_morphemes():
    # reference  세종대왕은 한글을 만들었다.  -> 세종 대왕 은 한글 을 만들 었 다        (8, '.' dropped)
    # prediction 세종대왕이 한글을 창제했다   -> 세종 대왕 이 한글 을 창제 하 었 다     (9)
    # LCS = 세종 대왕 한글 을 었 다 = 6; P = 6/9, R = 6/8, F = 2*6/(9+8) = 12/17
    value = rouge.rouge_l(["세종대왕은 한글을 만들었다."], ["세종대왕이 한글을 창제했다"], "ko")
    assert value == pytest.approx(100 * 12 / 17)
    # rouge-score's own tokenizer keeps only [a-z0-9]: Korean would score 0
    assert rouge.example_rouge_l("세종대왕은 한글을 만들었다.", "세종대왕이 한글을 창제했다", "en") == 0.0


def test_english_rouge_l_with_stemmer():
    # the cat sat on the mat / the cats sat on a mat: stems the cat sat on (a|the) mat; LCS 5 of 6 each side
    value = rouge.rouge_l(["the cat sat on the mat"], ["the cats sat on a mat"], "en")
    assert value == pytest.approx(100 * 5 / 6)


def test_bleu_korean_morphemes_by_hand():
    # ref 세종 대왕 은 한글 을 만들 었 다 / hyp 세종 대왕 이 한글 을 만들 었 다 (same length: BP = 1)
    # n-gram precisions 7/8, 5/7, 3/6, 2/5 -> geometric mean (1/8) ** (1/4)
    value = translation.bleu(["세종대왕은 한글을 만들었다"], ["세종대왕이 한글을 만들었다"], "ko")
    assert value == pytest.approx(100 * 0.125 ** 0.25, abs=1e-6)
    assert translation.bleu(["The cat sat on the mat."], ["The cat sat on the mat."]) == pytest.approx(100.0)


def test_chrf_bounds():
    assert translation.chrf(["한국어 문장입니다"], ["한국어 문장입니다"], "ko") == pytest.approx(100.0)
    assert translation.chrf(["abcdef"], ["uvwxyz"]) == 0.0
    middle = translation.chrf(["the cat sat on the mat"], ["the cat sat on a rug"])
    assert 0.0 < middle < 100.0


def test_language_rate_on_mixed_outputs():
    predictions = [
        "서울입니다",        # all Hangul                      -> Korean
        "Seoul",             # all Latin                       -> not Korean
        "AI 기술",           # 2 Latin + 2 Hangul = 0.5        -> Korean (threshold 0.5)
        "123",               # no letters                      -> counts as correct
        "Seoul은 수도",       # 5 Latin + 3 Hangul = 3/8        -> not Korean
    ]
    assert language.language_rate(predictions, "ko") == pytest.approx(60.0)
    assert language.script_ratio("Seoul은 수도", "ko") == pytest.approx(3 / 8)
    assert language.detect_script("東京は首都です") in ("han", "kana")
    assert language.is_in_language("東京は首都です", "ja")
    assert not language.is_in_language("東京は首都です", "ko")
    assert language.language_rate(["Paris", "파리"], "en") == pytest.approx(50.0)
    with pytest.raises(ValueError, match="no script known"):
        language.script_ratio("x", "xx")


def test_correlations_match_scipy():
    from scipy import stats

    targets = ["0.5", "2.0", "3.5", "4.8", "1.0"]
    predictions = ["1", "score: 2", "3", "5", "2"]
    x = [float(t) for t in targets]
    y = [1.0, 2.0, 3.0, 5.0, 2.0]
    assert correlation.pearson(targets, predictions) == pytest.approx(100 * stats.pearsonr(x, y)[0])
    assert correlation.spearman(targets, predictions) == pytest.approx(100 * stats.spearmanr(x, y)[0])
    assert correlation.parse_number("about -1.5 points") == -1.5


def test_compute_metric_table():
    assert metrics.compute_metric("exact_match", ["서울"], ["서울에서"], "ko") == 100.0
    assert metrics.compute_metric("macro_f1", ["a", "b"], ["a", "a"]) == pytest.approx(100 * (2 / 3 + 0) / 2)
    assert math.isclose(metrics.compute_metric("language_rate", ["x"], ["한국어"], "ko"), 100.0)
    with pytest.raises(KeyError, match="unknown metric"):
        metrics.compute_metric("meteor", ["a"], ["a"])
