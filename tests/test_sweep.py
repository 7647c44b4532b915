"""`xlit sweep`: choices made on the training tasks' validation splits only, never on held-out tasks."""
import json
import statistics

import pytest

from seqio_tasks import epochs, mixtures, task_specs, validation
from xlit_jax.commands import sweep


def _row(value, score, error=None):
    return sweep.SweepRow(value=value, model_dir=f"/x/{value}", score=score, error=error)


def test_choose_is_the_argmax_first_on_ties_and_skips_failed_values():
    rows = [_row("1e-5", 40.0), _row("3e-5", 55.5), _row("1e-4", 55.5), _row("1e-3", None, "non-finite loss")]
    assert sweep.choose(rows).value == "3e-5"
    assert sweep.choose([_row("a", float("nan")), _row("b", 1.0)]).value == "b"
    with pytest.raises(ValueError, match="1e-3: non-finite loss"):
        sweep.choose([_row("1e-3", None, "non-finite loss")])
    assert sweep.run_label("LEARNING_RATE", "1e-5") == "learning_rate_1e-5"


def test_run_sweep_writes_the_table_with_a_fake_trainer(tmp_path):
    scores = {"1e-5": 10.0, "1e-4": 30.0, "1e-3": 20.0}

    def fake(value, model_dir):
        if value == "1e-2":
            raise FloatingPointError("non-finite loss nan at step 3")
        record = {"dataset": "d1", "score": scores[value]}
        return {"tasks": {"d1.t1": record}, "run": {"step": 7},
                "aggregates": {"all": {"all": {"mean": scores[value]}}, "dataset": {"d1": {"mean": scores[value]}}}}

    result = sweep.run_sweep("LEARNING_RATE", ["1e-5", "1e-4", "1e-3", "1e-2"], tmp_path, fake, log=lambda m: None)
    assert result["chosen"] == "1e-4" and result["chosen_score"] == 30.0
    written = json.loads((tmp_path / "sweep.json").read_text())
    assert [r["score"] for r in written["rows"]] == [10.0, 30.0, 20.0, None]
    assert "non-finite" in written["rows"][3]["error"]
    assert "| 1e-4 (chosen) | 30.00 | 7 |" in (tmp_path / "sweep.md").read_text()


def test_validation_tasks_are_training_datasets_on_validation_splits(task_catalog):
    from seqio_tasks import demo

    train_tasks = demo.train_task_names(["en"])   # demo_train.en's tasks (the mixture needs seqio registration)
    pairs = validation.validation_task_names(train_tasks, catalog=task_catalog)
    assert pairs and {split for _, split in pairs} == {"validation"}
    infos = [task_catalog.get(name).info for name, _ in pairs]
    assert all(i.kind == "eval" and i.role == "train" and not task_specs.is_heldout(i.role) for i in infos)
    assert {i.dataset for i in infos} == {"demo_sentiment_en", "demo_paraphrase_en", "demo_boolq_en"}
    assert {(i.template_language, i.template_style) for i in infos} == {("en", "p3")}   # the templates trained on
    one = validation.validation_task_names(train_tasks, max_templates=1, catalog=task_catalog)
    assert len(one) == 3
    with pytest.raises(ValueError, match="not a training task"):
        validation.validation_task_names("korani_heldout.ko.all", catalog=task_catalog)
    with pytest.raises(ValueError, match="neither a training mixture nor a training task.*korani_train"):
        validation.validation_task_names("korani_trian", catalog=task_catalog)


def test_real_training_mixtures_validate_on_validation_splits_only(shared_data, task_catalog):
    definitions = mixtures.mixture_definitions(task_catalog)
    heldout = {t for name, tasks in definitions.items() if "_heldout." in name for t in tasks}
    for mixture in ("korani_train", "p3_t0_train"):
        pairs = validation.validation_task_names(mixture, max_templates=2, catalog=task_catalog)
        names = [name for name, _ in pairs]
        assert not set(names) & heldout
        assert {split for _, split in pairs} == {"validation"}   # never test, never train
        for name in names:
            assert task_catalog.get(name).info.role == "train"
    datasets = {task_catalog.get(n).info.dataset for n, _ in validation.validation_task_names("korani_train",
                                                                                              catalog=task_catalog)}
    # parakqc has a train split only: not scored
    assert datasets == {"beep_hate", "kobest_boolq", "kobest_sentineg", "kor_sts", "question_pair", "unsmile"}


def test_epoch_steps_counts_the_mixtures_training_rows(shared_data, task_catalog):
    counts = epochs.training_examples("korani_train", catalog=task_catalog)
    for task, count in counts.items():   # the training rows the registry reads for each task
        assert count == len(task_specs.source_rows(task_catalog.get(task), "train", task_catalog)) > 0
    total = sum(counts.values())
    assert epochs.epoch_steps("korani_train", 64, catalog=task_catalog) == -(-total // 64)
    assert epochs.epoch_steps("korani_train", 7, epochs=2, catalog=task_catalog) == -(-2 * total // 7)
    with pytest.raises(ValueError, match="batch_size must be"):
        epochs.epoch_steps("korani_train", 0, catalog=task_catalog)


@pytest.mark.slow
def test_tiny_in_process_sweep_on_the_demo_corpus(tmp_path, task_catalog):
    """Two learning rates, 2 steps each, through the real gin/train/evaluate path (about 45 s of CPU time:
    TensorFlow/seqio registration, two train-step compilations, two evaluations)."""
    import gin

    from seqio_tasks import vocab
    from xlit_jax.commands import wiring

    vocabulary = tmp_path / "spm.model"
    vocab.train_vocabulary(["^demo_"], vocabulary, 1024, from_tasks=True, max_examples_per_task=50)
    wiring.import_configurables()
    trainer = sweep.GinTrainer(
        "LEARNING_RATE", ["models/mt5_tiny.gin", "runs/finetune.gin", "runs/demo.gin"],
        [f"VOCABULARY_PATH = {str(vocabulary)!r}", "MIXTURE_OR_TASK_NAME = 'demo_train.en'", "TRAIN_STEPS = 2",
         "BATCH_SIZE = 8", "TASK_FEATURE_LENGTHS = {'inputs': 32, 'targets': 4}", "xlit.train.progress_bar = False",
         "xlit.MT5Config.num_encoder_layers = 1", "xlit.MT5Config.num_decoder_layers = 1",
         "xlit.MT5Config.emb_dim = 32", "xlit.MT5Config.mlp_dim = 64"],
        max_examples=2, max_templates=1, log=lambda m: None)
    try:
        result = sweep.run_sweep("LEARNING_RATE", ["0.3", "0.001"], tmp_path / "sweep", trainer, log=lambda m: None)
    finally:
        gin.clear_config()
    rows = result["rows"]
    assert [r["value"] for r in rows] == ["0.3", "0.001"] and all(r["final_step"] == 2 for r in rows)
    # each score is recomputed here from the value's own validation results.json
    for row in rows:
        document = json.loads((tmp_path / "sweep" / sweep.run_label("LEARNING_RATE", row["value"]) / "validation"
                               / "results.json").read_text())
        by_dataset = {}
        for record in document["tasks"].values():
            assert record["role"] == "train" and record["eval_split"] == "validation"
            by_dataset.setdefault(record["dataset"], []).append(record["score"])
        assert row["score"] == pytest.approx(statistics.fmean(statistics.fmean(v) for v in by_dataset.values()))
        assert document["run"]["name"] == f"LEARNING_RATE={row['value']}"
    best = max(rows, key=lambda r: r["score"])["score"]
    assert result["chosen"] == next(r["value"] for r in rows if r["score"] == best)
    # no held-out task was evaluated
    heldout = {s.name for s in task_catalog.specs() if task_specs.is_heldout(s.info.role)}
    assert result["validation_tasks"] and not set(result["validation_tasks"]) & heldout
