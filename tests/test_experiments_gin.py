"""gin/experiments/*.gin: every file parses with the real configurables and each model size, its
bindings reach the run functions (train, data, evaluator), and the mixtures it names exist or are
registered by its register function (pinch, subset) through the real registry."""
from pathlib import Path

import gin
import pytest

from xlit_jax import gin_utils

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted((REPO / "gin" / "experiments").glob("*.gin"))
EVAL_ONLY = {"baseline_no_tuning.gin", "eval_native_templates.gin", "eval_cross_lingual_templates.gin",
             "eval_translated_templates.gin"}
TRAINING = sorted(p.name for p in EXPERIMENTS if p.name not in EVAL_ONLY)
MODEL_FILES = ("models/mt5_tiny.gin", "models/mt5_small.gin", "models/mt5_xl.gin")
HELDOUT_BOTH = ["korani_heldout.ko.all", "p3_heldout.en.all"]
# What each training experiment trains on (the comparison it reproduces).
EXPECTED_TRAIN_MIXTURE = {
    "p3_tuned.gin": "p3_t0_train", "korani_tuned.gin": "korani_train", "bilingual_tuned.gin": "bilingual_train",
    "korani_tuned_p3_templates.gin": "korani_train.en_p3", "p3_tuned_korani_templates.gin": "p3_train.ko_korani",
    "korani_pinch_p3.gin": "korani_train.pinch_p3", "p3_pinch_korani.gin": "p3_t0_train.pinch_korani",
    "korani_subset.gin": "korani_train.subset",
    "p3_budget_1lang.gin": "p3_t0_train.budget_ko", "p3_budget_2lang.gin": "p3_t0_train.budget_ko_ja",
    "p3_budget_4lang.gin": "p3_t0_train.budget_ko_ja_es_ar",
}


@pytest.fixture(autouse=True)
def clean_gin(task_catalog):
    from xlit_jax.commands import wiring

    wiring.import_configurables()   # the CLI's one list of configurable modules
    gin.clear_config()
    yield
    gin.clear_config()


def resolved(key: str):
    """A gin parameter with macro references followed to their values."""
    value = gin.query_parameter(key)
    while isinstance(value, gin.config.ConfigurableReference) and value.selector == "gin.macro":
        value = gin.query_parameter("%" + value.scoped_selector.split("/")[0])
    return value


def parse(experiment: str, model_file: str | None = "models/mt5_small.gin", bindings=()) -> None:
    files = ([model_file] if model_file else []) + [f"experiments/{experiment}"]
    required = (["CHECKPOINT_PATH = '/ckpt'", "EVAL_OUTPUT_DIR = '/tmp/eval'"] if experiment in EVAL_ONLY
                else ["MODEL_DIR = '/tmp/model'"])
    gin_utils.parse_gin(files, required + list(bindings))


def test_the_grid_is_complete():
    assert set(p.name for p in EXPERIMENTS) == EVAL_ONLY | set(EXPECTED_TRAIN_MIXTURE)


@pytest.mark.parametrize("model_file", MODEL_FILES)
@pytest.mark.parametrize("experiment", TRAINING)
def test_training_experiment_bindings_reach_train_data_model_and_evaluator(experiment, model_file):
    from xlit_jax.data.seqio_input import SeqioData
    from xlit_jax.models.mt5 import MT5Config

    parse(experiment, model_file)
    model_text = (REPO / "gin" / model_file).read_text()
    config = MT5Config()  # gin-configured, as xlit.train receives it through %MODEL_CONFIG
    assert f"emb_dim = {config.emb_dim}" in model_text and f"num_encoder_layers = {config.num_encoder_layers}" in model_text
    assert resolved("xlit.train.model_config").selector == "xlit.MT5Config"
    with gin.config_scope("train_data"):
        data = SeqioData()
    assert data.mixture_or_task_name == EXPECTED_TRAIN_MIXTURE[experiment]
    assert data.split == "train" and data.task_feature_lengths == {"inputs": 1024, "targets": 256}
    assert resolved("xlit.train.train_steps") == 12200 and resolved("xlit.train.batch_size") == 1024
    assert resolved("xlit.train.model_dir") == "/tmp/model"
    # every tuned arm is evaluated on both languages' held-out tasks, by the in-training evaluator
    assert gin.query_parameter("xlit.train.inference_evaluator").selector == "xlit.make_train_evaluator"
    assert resolved("xlit.make_train_evaluator.mixture_or_tasks") == HELDOUT_BOTH
    registers = gin.query_parameter("xlit.register_experiment_mixtures.mixture_fns") \
        if "pinch" in experiment or "subset" in experiment or "budget" in experiment else None
    if registers is not None:   # the CLI registers these after the built-ins, before gin locks
        assert [r.selector for r in registers] in (["xlit.pinch_mixture"], ["xlit.subset_mixture"],
                                                   ["xlit.budget_mixture"])


@pytest.mark.parametrize("experiment", sorted(EVAL_ONLY))
def test_eval_experiments_bind_both_languages(experiment):
    parse(experiment, "models/mt5_xl.gin")
    names = resolved("xlit.evaluate.mixture_or_task_name")
    assert {n.split(".")[1] for n in names} == {"ko", "en"}
    setting = {"baseline_no_tuning.gin": "all", "eval_native_templates.gin": "native",
               "eval_cross_lingual_templates.gin": "cross_lingual", "eval_translated_templates.gin": "translated"}
    assert {n.split(".")[2] for n in names} == {setting[experiment]}
    assert resolved("xlit.evaluate.checkpoint_path") == "/ckpt"


def test_named_mixtures_are_registry_mixtures():
    """Built-in mixture names used by the grid follow the registry's naming and definitions."""
    from seqio_tasks import mixtures, naming

    definitions = mixtures.mixture_definitions()
    for experiment, name in EXPECTED_TRAIN_MIXTURE.items():
        if "pinch" in experiment or "subset" in experiment or "budget" in experiment:
            continue
        if name in mixtures.TRAIN_MIXTURES:
            continue   # p3_t0_train / korani_train / bilingual_train: defined by the registry's rule
        meta, _, template_set = name.partition("_train.")
        language, style = template_set.split("_")
        assert meta in mixtures.HELDOUT_META and naming.template_set(language, style) == template_set
        if meta == "korani":
            assert name in definitions
    for name in HELDOUT_BOTH + [f"{m}.{s}" for m in ("korani_heldout.ko", "p3_heldout.en")
                                for s in naming.SETTINGS]:
        assert name in definitions, name


@pytest.mark.parametrize("experiment", sorted(EVAL_ONLY))
def test_eval_mixtures_resolve_to_tasks_with_data_in_both_languages(experiment, shared_data):
    from seqio_tasks import eval_data, task_specs

    parse(experiment)
    assert gin.query_parameter("xlit.evaluate.task_loader").selector == "xlit.registry_eval_tasks"
    names = eval_data.resolve_task_names(resolved("xlit.evaluate.mixture_or_task_name"))
    languages = {task_specs.task_info(n).data_language for n in names}
    assert languages == {"ko", "en"}


@pytest.fixture(scope="module")
def demo_vocabulary(tmp_path_factory):
    from seqio_tasks import demo, vocab

    texts = [line for path in sorted(demo.DEMO_DIR.glob("*.jsonl")) for line in path.read_text().splitlines()]
    return vocab.train_vocabulary(texts, tmp_path_factory.mktemp("vocab") / "spm.model", 1024)


def test_pinch_experiment_registers_its_mixture_through_the_registry(demo_vocabulary):
    """korani_pinch_p3.gin's register function builds a real pinch mixture (here over the demo corpus)."""
    import seqio

    from seqio_tasks import experiments, registration

    bindings = [f"xlit.vocabulary_path.path = '{demo_vocabulary}'", "PINCH_NUM_EXAMPLES = 6",
                "MIXTURE_OR_TASK_NAME = 'demo_train.ko.pinch_en_test'",
                "xlit.pinch_mixture.base_mixture = 'demo_train.ko'", "xlit.pinch_mixture.other_mixture = 'demo_train.en'"]
    parse("korani_pinch_p3.gin", "models/mt5_tiny.gin", bindings)
    registration.register_builtin(str(demo_vocabulary))
    names = experiments.register_experiment_mixtures()
    assert names == ["demo_train.ko.pinch_en_test"]
    mixture = seqio.MixtureRegistry.get(names[0])
    base = seqio.MixtureRegistry.get("demo_train.ko")
    pinch = [t for t in mixture.tasks if t.name.startswith("pinch.")]
    assert len(pinch) == 1 and {t.name for t in mixture.tasks} - {pinch[0].name} == {t.name for t in base.tasks}
    rows = list(pinch[0].get_dataset(sequence_length=None, split="train", shuffle=False).as_numpy_iterator())
    assert len(rows) == 6
    texts = [r["inputs_pretokenized"].decode() for r in rows]
    assert all(not any("\uac00" <= ch <= "\ud7a3" for ch in t) for t in texts)   # English rows (no Hangul)


def test_subset_experiment_registers_the_listed_datasets(shared_data, demo_vocabulary):
    import seqio

    from seqio_tasks import experiments, registration

    parse("korani_subset.gin", "models/mt5_tiny.gin", [f"xlit.vocabulary_path.path = '{demo_vocabulary}'"])
    registration.register_builtin(str(demo_vocabulary))
    names = experiments.register_experiment_mixtures()
    assert names == ["korani_train.subset"]
    datasets = resolved("xlit.subset_mixture.datasets")
    assert sorted(t.name for t in seqio.MixtureRegistry.get(names[0]).tasks) == sorted(f"{d}.train" for d in datasets)


def test_subset_names_a_dataset_without_training_data(demo_vocabulary):
    from seqio_tasks import experiments

    parse("korani_subset.gin", "models/mt5_tiny.gin",
          [f"xlit.vocabulary_path.path = '{demo_vocabulary}'", "SUBSET_DATASETS = ['kobest_copa']"])
    with pytest.raises(ValueError, match="kobest_copa"):
        experiments.register_experiment_mixtures()
