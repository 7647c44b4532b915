"""launch/colab.ipynb: a valid notebook whose cells run on CPU with a reduced demo configuration."""
import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "launch" / "colab.ipynb"


def test_notebook_is_valid_and_has_a_parameter_cell():
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert all(not c.get("outputs") for c in code), "commit the notebook without outputs"
    source = "\n".join(c.source for c in code)
    for needle in ("jax.devices()", "demo.main(", "report.md", "report.png", "find_spec(\"xlit_jax\")"):
        assert needle in source


@pytest.mark.slow
def test_notebook_runs_on_cpu(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    output = tmp_path / "demo"
    monkeypatch.setenv("XLIT_DEMO_STEPS", "3")
    monkeypatch.setenv("XLIT_DEMO_EVAL_EXAMPLES", "2")
    monkeypatch.setenv("XLIT_DEMO_OUTPUT", str(output))
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = {i: c.get("outputs", []) for i, c in enumerate(notebook.cells) if c.cell_type == "code"}
    texts = ["".join(o.get("text", "") for o in outs) for outs in outputs.values()]
    assert any("already installed: skipping" in t for t in texts)
    assert any("devices: [CpuDevice" in t for t in texts)
    displayed = [o for outs in outputs.values() for o in outs if o.get("output_type") == "display_data"]
    assert any("| no_tuning |" in o["data"].get("text/markdown", "") for o in displayed)
    assert any("image/png" in o["data"] for o in displayed)
    summary = json.loads((output / "summary.json").read_text())
    assert summary["train_steps"] == 3 and summary["max_eval_examples"] == 2
    assert (output / "train" / "bilingual" / "checkpoints" / "3").is_dir()
