"""Reports from the hand-written fixture results (tests/fixtures/results/run_a, run_b).

Held-out datasets only (kobest_boolq is a training dataset and is left out), median over templates:
  run_a: rte 52 60 70 80 -> 65;  klue_nli 30 36 40 50 60 -> 40;  kobest_copa 50 55 65 -> 55
         en avg 65; en native (60 70 80) 70; en cross_lingual 52
         ko avg (40 + 55) / 2 = 47.5; ko native (50 + 60) / 2 = 55; ko cross_lingual (33 + 50) / 2 = 41.5
  run_b: rte 50 55 57 62 -> 56;  klue_nli 41 44 45 48 58 -> 45;  kobest_copa 59 61 63 -> 61
         ko avg 53; ko native (48 + 62) / 2 = 55; ko cross_lingual (43 + 59) / 2 = 51
"""
import json
import struct
from pathlib import Path

import pytest

from xlit_jax import reports
from xlit_jax.commands import report as report_command

FIXTURES = Path(__file__).parent / "fixtures" / "results"
RUNS = [str(FIXTURES / "run_a"), str(FIXTURES / "run_b")]


def test_table_values_by_hand():
    _, table = reports.report(RUNS)
    labels = [c.label for c in table.columns]
    assert labels == ["rte", "klue_nli", "kobest_copa", "en avg", "en native", "en cross_lingual",
                      "ko avg", "ko native", "ko cross_lingual"]
    assert [c.group for c in table.columns[:3]] == ["nli (en)", "nli (ko)", "sentence_completion (ko)"]
    assert [name for name, _ in table.rows] == ["run_a", "run_b"]
    expected_a = [65, 40, 55, 65, 70, 52, 47.5, 55, 41.5]
    expected_b = [56, 45, 61, 56, 57, 50, 53, 55, 51]
    assert table.rows[0][1] == pytest.approx(expected_a)
    assert table.rows[1][1] == pytest.approx(expected_b)
    assert "kobest_boolq" not in labels


def test_mean_statistic_and_setting_filter():
    _, table = reports.report(RUNS, statistic="mean", setting="native", names=["A", "B"])
    assert table.value("A", "klue_nli") == pytest.approx(50.0)          # 40 50 60
    assert table.value("B", "kobest_copa") == pytest.approx(62.0)       # 61 63
    assert [c.label for c in table.columns][-1] == "ko native"


def test_markdown_layout():
    markdown, _ = reports.report(RUNS, names=["mono", "cross"])
    lines = markdown.strip().splitlines()
    assert lines[0].startswith("| run | nli (en) | nli (ko) | sentence_completion (ko) | average |")
    assert lines[2].split("|")[2].strip() == "*rte*"
    assert lines[3].startswith("| mono | **65.0** | 40.0 | 55.0 |")
    assert lines[4].startswith("| cross | 56.0 | **45.0** | **61.0** |")
    # ko native is a tie (55.0 both): both bold
    assert lines[3].split("|")[-3].strip() == "**55.0**" and lines[4].split("|")[-3].strip() == "**55.0**"


def test_command_writes_png_md_json(tmp_path, capsys):
    out = tmp_path / "report"
    assert report_command.main(RUNS + ["--output", str(out), "--names", "a,b"]) == 0
    printed = capsys.readouterr().out
    assert "| a | **65.0** |" in printed
    png = (out / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])      # IHDR
    assert width > 100 and height > 100
    from matplotlib.image import imread

    image = imread(out / "report.png")
    assert image.shape[0] == height and image.shape[1] == width and image.std() > 0
    data = json.loads((out / "report.json").read_text())
    assert data["runs"]["b"]["ko cross_lingual"] == pytest.approx(51.0)
    assert (out / "report.md").read_text().startswith("| run |")


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results.json"):
        reports.load_results(tmp_path)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(ValueError, match="results.json: not valid JSON"):
        reports.load_results(tmp_path)
    assert report_command.main([str(tmp_path)]) == 2
    with pytest.raises(ValueError, match="2 names for 1"):
        reports.report(RUNS[:1], names=["x", "y"])


def test_equal_run_names_are_told_apart_by_their_directories(tmp_path, capsys):
    """`xlit report /runs/*/inference_eval/step_N` when the results record the same run name."""
    document = json.loads((FIXTURES / "run_a" / "results.json").read_text())
    document["run"] = {"name": "step_100"}
    dirs = []
    for run in ("korani", "p3", "bilingual"):
        directory = tmp_path / "runs" / run / "inference_eval" / "step_100"
        directory.mkdir(parents=True)
        (directory / "results.json").write_text(json.dumps(document))
        dirs.append(str(directory))
    twin = tmp_path / "other" / "korani" / "inference_eval" / "step_100"
    twin.mkdir(parents=True)
    (twin / "results.json").write_text(json.dumps(document))
    assert reports.distinct_run_names(["x", "y"], dirs[:2]) == ["x", "y"]
    _, table = reports.report(dirs + [str(twin)])
    assert [name for name, _ in table.rows] == [
        "step_100 (runs/korani)", "step_100 (runs/p3)", "step_100 (runs/bilingual)", "step_100 (other/korani)"]
    assert reports.distinct_run_names(["a", "a"], [dirs[0], dirs[0] + "/results.json"]) == ["a (#1)", "a (#2)"]
    assert report_command.main(dirs[:2]) == 0
    assert "| step_100 (korani) |" in capsys.readouterr().out
    with pytest.raises(ValueError, match="run names must be distinct"):
        reports.report(dirs[:2], names=["same", "same"])
