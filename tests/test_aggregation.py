"""Aggregation over a hand-written results table (tests/fixtures/results/run_a), expected values by hand.

run_a template scores (accuracy):
  klue_nli    (nli, ko)                  ko_korani 40 50 60 (native)     en_p3 30 36 (cross_lingual)
  kobest_copa (sentence_completion, ko)  ko_korani 55 65    (native)     en_p3 50    (cross_lingual)
  rte         (nli, en)                  en_p3 60 70 80     (native)     ko_korani 52 (cross_lingual)
  kobest_boolq (yes_no_qa, ko, train)    ko_korani 70       (native)
"""
import json
from pathlib import Path

import pytest

from xlit_jax import aggregation

FIXTURES = Path(__file__).parent / "fixtures" / "results"


@pytest.fixture(scope="module")
def run_a() -> dict:
    records = list(json.loads((FIXTURES / "run_a" / "results.json").read_text())["tasks"].values())
    return aggregation.aggregate(records)


def test_per_dataset_median_and_mean(run_a):
    klue = run_a["dataset"]["klue_nli"]
    assert klue["mean"] == pytest.approx((40 + 50 + 60 + 30 + 36) / 5)   # 43.2
    assert klue["median"] == pytest.approx(40.0)                           # sorted 30 36 40 50 60
    assert klue["n_templates"] == 5 and klue["n_datasets"] == 1
    assert run_a["dataset"]["rte"]["median"] == pytest.approx((60 + 70) / 2)   # 52 60 70 80
    assert run_a["dataset"]["rte"]["mean"] == pytest.approx(65.5)
    assert run_a["dataset_setting"]["klue_nli/cross_lingual"]["mean"] == pytest.approx(33.0)


def test_per_cluster_averages_datasets_not_templates(run_a):
    nli = run_a["cluster"]["nli"]
    # klue_nli mean 43.2, rte mean 65.5; medians 40 and 65
    assert nli["mean"] == pytest.approx((43.2 + 65.5) / 2)
    assert nli["median"] == pytest.approx((40 + 65) / 2)
    assert nli["datasets"] == ["klue_nli", "rte"] and nli["n_templates"] == 9


def test_per_language_and_setting(run_a):
    ko = run_a["language"]["ko"]
    assert ko["mean"] == pytest.approx((43.2 + (55 + 65 + 50) / 3 + 70) / 3)
    assert ko["median"] == pytest.approx((40 + 55 + 70) / 3)
    # ko/native: klue_nli 40 50 60 -> 50; kobest_copa 55 65 -> 60; kobest_boolq 70
    assert run_a["language_setting"]["ko/native"]["mean"] == pytest.approx(60.0)
    # ko/cross_lingual: klue_nli 30 36 -> 33; kobest_copa 50
    assert run_a["language_setting"]["ko/cross_lingual"]["median"] == pytest.approx(41.5)
    # cross_lingual over both languages: 33, 50, 52
    assert run_a["setting"]["cross_lingual"]["mean"] == pytest.approx(45.0)
    assert "translated" not in run_a["setting"]


def test_per_template_language_and_style(run_a):
    # p3-style templates: klue_nli 30 36 (33), kobest_copa 50, rte 60 70 80 (70)
    assert run_a["template_style"]["p3"]["mean"] == pytest.approx((33 + 50 + 70) / 3)
    assert run_a["template_language"]["en"]["median"] == pytest.approx((33 + 50 + 70) / 3)
    assert run_a["template_set"]["ko_korani"]["n_templates"] == 3 + 2 + 1 + 1
    assert run_a["language_template_set"]["en/ko_korani"]["mean"] == pytest.approx(52.0)


def test_flat_scores_names(run_a):
    flat = aggregation.flat_scores(run_a)
    assert flat["eval/ko/native/mean"] == pytest.approx(60.0)
    assert flat["eval/all/cross_lingual/mean"] == pytest.approx(45.0)
    assert flat["eval/dataset/klue_nli/median"] == pytest.approx(40.0)
    assert flat["eval/cluster/nli/mean"] == pytest.approx(54.35)
    all_mean = (43.2 + (55 + 65 + 50) / 3 + 65.5 + 70) / 4
    assert flat["eval/all/mean"] == pytest.approx(all_mean)


def test_bad_records_are_named():
    with pytest.raises(ValueError, match=r"x\.y\.z lacks field\(s\) \['cluster'\]"):
        aggregation.aggregate([{"name": "x.y.z", "dataset": "x", "data_language": "ko", "setting": "native",
                                "template_language": "ko", "template_style": "korani", "score": 1.0}])
    with pytest.raises(KeyError, match="unknown grouping"):
        aggregation.aggregate([], groupings=["nope"])
