"""`xlit tasks` and `xlit vocab`: JSON fields, rendered examples, taxonomy, vocabulary training."""
import json

import pytest
import sentencepiece as spm

from seqio_tasks import task_specs
from xlit_jax.commands import tasks as tasks_command
from xlit_jax.commands import vocab as vocab_command

REQUIRED = {"name", "dataset", "cluster", "role", "data_language", "template_language", "template_style",
            "template_id", "setting", "has_data", "num_examples"}


@pytest.fixture(autouse=True)
def catalog(task_catalog):
    return task_catalog


def _eval_spec_with_data():
    for spec in task_specs.all_specs():
        if spec.info.kind == "eval" and task_specs.has_data(spec):
            return spec
    pytest.skip("no evaluation task has data")


def test_json_lists_every_task_with_its_fields(capsys):
    assert tasks_command.main(["--json", "--filter", r"^kobest_copa\."]) == 0
    rows = json.loads(capsys.readouterr().out)
    expected = [s.name for s in task_specs.all_specs() if s.name.startswith("kobest_copa.")]
    assert [r["name"] for r in rows] == expected
    for row in rows:
        assert REQUIRED <= set(row)
        info = task_specs.task_info(row["name"])
        for key in ("dataset", "cluster", "role", "data_language", "template_language", "template_style",
                    "template_id", "setting"):
            assert row[key] == getattr(info, key)
        assert (row["num_examples"] is None) == (not row["has_data"])


def test_json_counts_match_the_data(capsys, shared_data):
    spec = _eval_spec_with_data()
    assert tasks_command.main(["--json", "--filter", f"^{spec.name}$"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["has_data"] is True
    assert row["num_examples"] == len(task_specs.source_rows(spec, spec.info.eval_split)) > 0


def test_table_marks_tasks_without_data(capsys, tmp_path, monkeypatch):
    from seqio_tasks import registration

    monkeypatch.setenv("XLIT_DATA_DIR", str(tmp_path))
    try:
        assert tasks_command.main(["--filter", r"^(?!demo_).*\.train$"]) == 0
        out = capsys.readouterr().out
        assert "NO DATA" in out and "datasets without data:" in out and "0 with data present" in out
    finally:
        monkeypatch.undo()
        registration.load_builtin()   # the catalog as the other tests expect it


def test_show_prints_rendered_examples(capsys, shared_data):
    spec = _eval_spec_with_data()
    assert tasks_command.main(["--show", spec.name, "--num", "2"]) == 0
    out = capsys.readouterr().out
    rows = task_specs.rendered_examples(spec, max_examples=2)
    header = json.loads(out.splitlines()[0])
    assert header["name"] == spec.name and header["setting"] == spec.info.setting
    for row in rows:
        assert f"inputs:  {row['inputs']}" in out
        assert f"targets: {row['targets']}" in out
        if row["options"]:
            assert f"options: {row['options']}" in out


def test_unknown_task_is_one_line_with_close_names(capsys):
    assert tasks_command.main(["--show", "kobest_copa.ko_korani.ko_korani_1"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("xlit tasks: error: no task")
    assert "kobest_copa.ko_korani.ko_korani_01" in err


def test_taxonomy_table(capsys):
    from seqio_tasks import taxonomy

    assert tasks_command.main(["--taxonomy"]) == 0
    out = capsys.readouterr().out
    for dataset in taxonomy.all_datasets()[:5]:
        assert dataset.name in out


def test_mixtures_json(capsys, shared_data):
    pytest.importorskip("seqio")
    assert tasks_command.main(["--mixtures", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert "korani_train" in rows and "bilingual_train" in rows
    for row in rows.values():
        assert row["num_tasks_with_data"] + len(row["tasks_without_data"]) == row["num_tasks"]
        assert row["registered"] == (row["num_tasks_with_data"] > 0)


def test_vocab_command_trains_from_tasks(tmp_path, capsys, shared_data):
    spec = _eval_spec_with_data()
    output = tmp_path / "spm.model"
    code = vocab_command.main(["--output", str(output), "--tasks", f"^{spec.name}$", "--vocab_size", "400",
                               "--max_examples_per_task", "50"])
    assert code == 0, capsys.readouterr().err
    model = spm.SentencePieceProcessor(model_file=str(output))
    assert (model.pad_id(), model.eos_id(), model.unk_id()) == (0, 1, 2)
    assert "pad 0, eos 1" in capsys.readouterr().out


def test_vocab_command_without_matching_tasks_fails(tmp_path, capsys):
    assert vocab_command.main(["--output", str(tmp_path / "x.model"), "--tasks", "^no_such_task$"]) == 1
    assert "no task with data matches" in capsys.readouterr().err
