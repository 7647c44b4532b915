"""The benchmarks run end to end with tiny settings and write their JSON (figures are not checked:
benchmarks are measured on a quiet machine, never asserted in tests)."""
import json
import runpy
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run_bench(name: str, tmp_path: Path, *args: str) -> dict:
    """main() of bench/<name>.py with --tiny and --output; returns the JSON it wrote."""
    module = runpy.run_path(str(BENCH / f"{name}.py"), run_name=f"bench_{name}")
    output = tmp_path / f"{name}.json"
    module["main"](["--tiny", "--output", str(output), *args])
    result = json.loads(output.read_text())
    assert result["benchmark"] == name
    return result


def test_mfu_tiny_on_cpu(tmp_path):
    result = run_bench("mfu", tmp_path, "--remat", "none,full")
    assert [(r["model"], r["remat"]) for r in result["rows"]] == [("tiny", "none"), ("tiny", "full")]
    for row in result["rows"]:
        assert "error" not in row, row
        assert row["tokens_per_s"] > 0 and row["param_dtype"] == "float32" and row["dtype"] == "bfloat16"
        assert row["mfu"] is None  # no peak for the CPU
    assert result["machine"]["load_average"] is not None


@pytest.mark.slow
def test_memory_tiny(tmp_path):
    result = run_bench("memory", tmp_path)
    rows = {r["remat"]: r for r in result["rows"]}
    assert set(rows) == {"none", "full"}
    for row in rows.values():
        assert row["peak_gib"] > 0 and row["argument_size_gib"] > 0 and row["docs_total_gib"] > 0


@pytest.mark.slow
def test_generate_tiny(tmp_path):
    result = run_bench("generate", tmp_path, "--methods", "greedy,beam")
    assert result["same_tokens"]
    assert {(r["method"], r["cross_attention"]) for r in result["rows"]} == {
        ("greedy", "cached"), ("greedy", "per-step"), ("beam", "cached"), ("beam", "per-step")}


@pytest.mark.slow
def test_eval_suite_tiny(tmp_path):
    result = run_bench("eval_suite", tmp_path, "--workdir", str(tmp_path / "work"))
    assert result["task_kinds"]["rank"] > 0 and result["task_kinds"]["generation"] > 0
    assert result["languages"] == ["en", "ko"]
    assert [(r["setting"], r["pass"]) for r in result["rows"]] == [
        (s, p) for s in ("old", "per_task", "new") for p in ("cold", "warm")]
    for row in result["rows"]:  # a warm pass meets only shapes its cold pass compiled
        assert (row["compilations"] > 0) == (row["pass"] == "cold"), row
    assert result["max_task_score_difference"] < 1e-6
    assert (tmp_path / "work" / "new" / "results.json").exists()  # one evaluate() over the suite
    for setting in ("old", "per_task"):  # one evaluate() per task
        assert len(list((tmp_path / "work" / setting).glob("*/results.json"))) == result["num_tasks"]


@pytest.mark.slow
def test_rank_eval_tiny(tmp_path):
    result = run_bench("rank_eval", tmp_path)
    assert {r["method"] for r in result["rows"]} == {f"{s} ({level})" for s in ("packed", "repeated", "naive")
                                                      for level in ("jitted scorer", "rank_classify")}
    assert result["same_choices"] and result["max_score_difference"] < 1e-4


def test_matmul_tiny(tmp_path):
    result = run_bench("matmul", tmp_path)
    assert {(r["dtype"], r["framework"]) for r in result["rows"]} == {
        (d, f) for d in ("float32", "bfloat16") for f in ("jax", "torch")}
    assert all(r["gflop_per_s"] > 0 for r in result["rows"])
