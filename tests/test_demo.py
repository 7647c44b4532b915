"""The demo corpus as registry datasets (seqio_tasks.demo), and `xlit demo` end to end."""
import json
from pathlib import Path

import numpy as np
import pytest

from seqio_tasks import demo

DEMO_FILES = sorted(demo.DEMO_DIR.glob("*.jsonl"))


@pytest.fixture(autouse=True)
def built_in_catalog(task_catalog):
    """The built-in catalog (demo included), as `xlit` commands load it."""
    return task_catalog


def test_every_packaged_file_is_a_registered_split_and_loads_in_its_family_schema(monkeypatch):
    from seqio_tasks import sources
    from seqio_tasks.sources.schema import check_example

    monkeypatch.delenv("XLIT_DATA_DIR", raising=False)   # packaged files never need the data dir
    demo.register_demo()
    seen = set()
    for source in demo.demo_sources():
        registered = sources.get_source(source.name)
        for split in registered.splits:
            rows = registered.load(split)
            path = demo.DEMO_DIR / f"{source.family}_{source.language}.{split}.jsonl"
            seen.add(path)
            raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            assert [r["idx"] for r in rows] == [r["idx"] for r in raw] and len(set(r["idx"] for r in rows)) == len(rows)
            num_labels = len(registered.label_names) if registered.label_names else 2
            assert all(check_example(source.family, row, num_labels) == [] for row in rows)
            hangul = sum(any("\uac00" <= ch <= "\ud7a3" for ch in json.dumps(r, ensure_ascii=False)) for r in raw)
            assert hangul == (len(raw) if source.language == "ko" else 0), path.name
    assert seen == set(DEMO_FILES)


def test_taxonomy_roles_and_task_settings():
    from seqio_tasks import taxonomy, task_specs

    demo.register_demo()
    demo.register_demo()   # idempotent
    infos = taxonomy.all_datasets("demo")
    assert sorted(i.name for i in taxonomy.heldout("demo")) == ["demo_copa_en", "demo_copa_ko", "demo_nli_en",
                                                                "demo_nli_ko"]
    assert len(infos) == 10 and {i.language for i in infos} == {"en", "ko"}
    heldout = demo.heldout_task_names()
    infos = [task_specs.task_info(n) for n in heldout]
    assert {i.setting for i in infos} == {"native", "cross_lingual", "translated"}
    assert {i.data_language for i in infos} == {"en", "ko"}
    assert all(i.eval_split == "validation" and i.scoring == "rank" for i in infos)
    native_ko = [i for i in infos if i.data_language == "ko" and i.setting == "native"]
    assert native_ko and all((i.template_language, i.template_style) == ("ko", "korani") for i in native_ko)
    # training tasks: native templates, and the other language's templates for the cross-template mixture
    assert demo.train_task_names(["ko"]) == ["demo_sentiment_ko.train", "demo_paraphrase_ko.train", "demo_boolq_ko.train"]
    for name in demo.train_task_names(["ko"], template_language="en"):
        info = task_specs.task_info(name)
        assert (info.data_language, info.template_language, info.setting) == ("ko", "en", "cross_lingual")


def test_packaged_source_names_a_missing_file(tmp_path):
    from seqio_tasks.sources import MissingDataError

    source = demo.demo_sources()[0]
    source.package_dir = tmp_path
    with pytest.raises(MissingDataError, match=f"{source.family}_{source.language}.train.jsonl"):
        source.load("train")


def test_packaged_source_names_the_line_of_a_bad_row(tmp_path):
    from seqio_tasks.sources import MalformedRowError

    source = next(s for s in demo.demo_sources() if s.name == "demo_copa_en")
    (tmp_path / "copa_en.validation.jsonl").write_text(
        '{"idx": 0, "premise": "p", "question": "cause", "choice1": "a", "choice2": "b", "label": 0}\n'
        '{"idx": 1, "premise": "p", "question": "why", "choice1": "a", "choice2": "b", "label": 0}\n')
    source.package_dir = tmp_path
    with pytest.raises(MalformedRowError, match="line 2"):
        source.load("validation")


def _run_demo(tmp_path: Path, *extra: str) -> Path:
    from xlit_jax.commands import demo as demo_command

    output = tmp_path / "demo"
    code = demo_command.main(["--output_dir", str(output), "--data", "demo", "--train_steps", "5",
                              "--max_eval_examples", "3", "--batch_size", "8", *extra])
    assert code == 0
    return output


@pytest.mark.slow
def test_xlit_demo_end_to_end(tmp_path, capsys):
    import seqio_tasks.demo as demo_module
    from xlit_jax.checkpoints import load_params
    from xlit_jax.reports import load_results

    output = _run_demo(tmp_path)
    printed = capsys.readouterr().out
    # training checkpoint, and an exported xlit checkpoint that carries its vocabulary
    assert (output / "train" / "bilingual" / "checkpoints" / "5").is_dir()
    assert (output / "train" / "bilingual" / "train_metrics.jsonl").read_text().count("\n") == 5
    export = output / "train" / "bilingual" / "export"   # what xlit train exports, and the demo evaluates
    assert (export / "spiece.model").read_bytes() == (output / "vocab" / "spm.model").read_bytes()
    params, config = load_params(export)
    assert config.emb_dim == 64 and params["token_embedder"]["embedding"].shape[0] == config.vocab_size
    # evaluation results of both rows, on every demo held-out task, in both languages
    expected_tasks = set(demo_module.heldout_task_names())
    rows = {}
    for name, step in (("no_tuning", 0), ("bilingual", 5)):
        document = load_results(output / "eval" / name)
        assert document["format"] == "xlit.eval_results/1" and document["run"]["step"] == step
        assert set(document["tasks"]) == expected_tasks
        records = list(document["tasks"].values())
        assert {r["data_language"] for r in records} == {"en", "ko"}
        assert {r["setting"] for r in records} == {"native", "cross_lingual", "translated"}
        assert all(r["num_examples"] == 3 and 0.0 <= r["score"] <= 100.0 for r in records)
        assert {"en/native", "ko/cross_lingual"} <= set(document["aggregates"]["language_setting"])
        rows[name] = {r["name"]: r["score"] for r in records}
        for task in list(expected_tasks)[:3]:
            predictions = (output / "eval" / name / "predictions" / f"{task}.jsonl").read_text().splitlines()
            assert len(predictions) == 3
    # the paper-style report: both rows, dataset and setting columns; a real PNG
    report = (output / "report.md").read_text()
    for row in ("| no_tuning |", "| bilingual |"):
        assert row in report and row in printed
    for column in ("*demo_nli_ko*", "*demo_copa_en*", "*ko cross_lingual*", "*en native*"):
        assert column in report
    assert (output / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((output / "summary.json").read_text())
    assert summary["data"] == "demo" and summary["arms"]["bilingual"]["mixture"] == "demo_train.bilingual"
    assert summary["arms"]["no_tuning"]["mixture"] is None and summary["timings"]["total_s"] > 0
    table = json.loads((output / "report.json").read_text())
    assert set(table["runs"]) == {"no_tuning", "bilingual"}


@pytest.mark.slow
def test_no_tuning_row_scores_the_trained_runs_initial_parameters(tmp_path):
    """The baseline row evaluates exactly the parameters `xlit.train` starts from (same config and seed)."""
    import gin
    import jax

    from xlit_jax.commands import demo as demo_command
    from xlit_jax.models.mt5 import MT5Config, init_params

    config = MT5Config(vocab_size=256, emb_dim=16, num_heads=2, head_dim=8, mlp_dim=32, num_encoder_layers=1,
                       num_decoder_layers=1)
    gin.clear_config()
    baseline = demo_command.initial_params(config, seed=3)
    from xlit_jax.trainer import Trainer

    state = Trainer(config).init_state(jax.random.PRNGKey(3))
    for a, b in zip(jax.tree.leaves(baseline), jax.tree.leaves(state.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = init_params(config, jax.random.PRNGKey(4))
    assert any(not np.array_equal(np.asarray(a), np.asarray(b))
               for a, b in zip(jax.tree.leaves(baseline), jax.tree.leaves(other)))


def test_bad_flags_are_refused(capsys):
    from xlit_jax.commands import demo as demo_command

    assert demo_command.main(["--arms", "baseline,french"]) == 2
    assert "french" in capsys.readouterr().err
    assert demo_command.main(["--train_steps", "0"]) == 2


def test_demo_mixtures_and_pinches_hold_the_right_languages(tmp_path):
    """Each pinch mixture adds rows of the OTHER language, and the two directions do not collide."""
    import seqio

    from seqio_tasks import registration, vocab

    texts = [line for path in DEMO_FILES for line in path.read_text(encoding="utf-8").splitlines()]
    spm_path = vocab.train_vocabulary(texts, tmp_path / "spm.model", 1024)
    names = registration.register_builtin(str(spm_path)).mixtures
    assert {"demo_train.en", "demo_train.ko", "demo_train.bilingual", "demo_train.en.xlt", "demo_train.ko.xlt",
            demo.pinch_mixture_name("ko", 8), demo.pinch_mixture_name("en", 8)} <= set(names)

    def has_hangul(text: str) -> bool:
        return any("\uac00" <= ch <= "\ud7a3" for ch in text)

    for language, other_is_korean in (("ko", False), ("en", True)):
        mixture = seqio.MixtureRegistry.get(demo.pinch_mixture_name(language, 8))
        pinch = [t for t in mixture.tasks if t.name.startswith("pinch.")]
        assert len(pinch) == 1
        rows = list(pinch[0].get_dataset(sequence_length=None, split="train", shuffle=False).as_numpy_iterator())
        assert len(rows) == 8
        assert all(has_hangul(r["inputs_pretokenized"].decode()) == other_is_korean for r in rows)
    bilingual = {t.name for t in seqio.MixtureRegistry.get("demo_train.bilingual").tasks}
    assert bilingual == set(demo.train_task_names())
    cross = [t.name for t in seqio.MixtureRegistry.get("demo_train.ko.xlt").tasks]
    assert cross and all(name.endswith(".train.en_p3") for name in cross)


def test_the_catalog_without_the_demo_is_the_built_in_registry():
    from seqio_tasks import registration, sources, task_specs, taxonomy

    with_demo = [d.name for d in taxonomy.all_datasets()]
    assert taxonomy.heldout("ko") != taxonomy.heldout("korani")   # demo_nli_ko, demo_copa_ko are held out too
    try:
        registration.load_builtin(include_demo=False)
        assert [d.name for d in taxonomy.all_datasets()] == [n for n in with_demo if not n.startswith("demo_")]
        assert taxonomy.heldout("ko") == taxonomy.heldout("korani")
        assert not any(s.name.startswith("demo_") for s in sources.all_sources())
        assert not any(s.name.startswith("demo_") for s in task_specs.all_specs())
    finally:
        registration.load_builtin()
