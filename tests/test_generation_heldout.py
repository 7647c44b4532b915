"""Generation-scored held-out tasks: FLORES-200 in both held-out mixtures, read from the shared files,
registered with generation metrics, scored with language correctness."""
import numpy as np
import pytest

from seqio_tasks import eval_data, mixtures, taxonomy
from xlit_jax import evaluator
from xlit_jax.metrics import language

HELDOUT_GENERATION = {"flores200_ko_en": ("korani", "ko", "test", "kor_Hang", "eng_Latn", "devtest"),
                      "flores200_en_ko": ("p3", "en", "validation", "eng_Latn", "kor_Hang", "dev")}


def _lines(shared_data, folder, code):
    return (shared_data / "flores200_en_ko" / folder / f"{code}.{folder}").read_text(encoding="utf-8").splitlines()


def test_taxonomy_roles():
    for name, (meta, data_language, *_rest) in HELDOUT_GENERATION.items():
        info = taxonomy.get(name)
        assert (info.meta, info.language, info.role, info.kind, info.family) == (meta, data_language, "heldout",
                                                                                  "nlg", "translation")
    # KorQuAD 1.0 is a KORANI training dataset: never a held-out task
    assert taxonomy.get("korquad1").role == "train"


def test_each_language_heldout_mixture_has_a_few_generation_tasks(shared_data, task_catalog):
    definitions = mixtures.mixture_definitions(task_catalog)
    for meta, data_language in mixtures.HELDOUT_META.items():
        names = definitions[f"{meta}_heldout.{data_language}.all"]
        generation = [n for n in names if task_catalog.get(n).info.scoring == "generation"]
        assert generation, (meta, data_language)
        infos = [task_catalog.get(n).info for n in generation]
        assert {i.dataset for i in infos} <= set(HELDOUT_GENERATION)
        assert all(i.metrics == ("bleu", "chrf") and i.role == "heldout" for i in infos)
        # bounded cost: two native and two cross-lingual templates per direction
        assert sorted(i.setting for i in infos) == ["cross_lingual", "cross_lingual", "native", "native"]
        assert {n for n in generation if task_catalog.has_data(task_catalog.get(n))} == set(generation)
    # no training task of any mixture reads a held-out generation dataset
    for name in mixtures.TRAIN_MIXTURES:
        assert not [t for t in definitions.get(name, []) if task_catalog.get(t).info.dataset in HELDOUT_GENERATION]


@pytest.mark.parametrize("dataset", sorted(HELDOUT_GENERATION))
def test_rows_are_the_flores_lines(shared_data, task_catalog, dataset):
    meta, _, split, source_code, target_code, folder = HELDOUT_GENERATION[dataset]
    sources, targets = _lines(shared_data, folder, source_code), _lines(shared_data, folder, target_code)
    assert len(sources) == len(targets) > 900
    [task] = eval_data.registry_eval_tasks(f"{dataset}.en_p3.en_p3_01", max_examples=3)
    assert task.info["eval_split"] == split and task.info["scoring"] == "generation"
    for k, example in enumerate(task.examples):
        assert example["targets"] == targets[k].strip()
        assert sources[k].strip() in example["inputs"] and example["inputs"].startswith("Translate to ")


def test_scoring_real_rows_with_language_correctness(shared_data, task_catalog):
    [task] = eval_data.registry_eval_tasks("flores200_en_ko.ko_korani.ko_korani_01", max_examples=4)
    targets = [e["targets"] for e in task.examples]
    english = [e["inputs"].splitlines()[-1] for e in task.examples]   # the source sentences

    def score(predictions):
        index = {e["inputs"]: i for i, e in enumerate(task.examples)}

        class Tok:
            def encode(self, text, max_length=None):
                return [index[text] + 3]

            def decode(self, tokens):
                return predictions[int(tokens[0]) - 3]

        [result] = evaluator.run_tasks(None, None, [task], Tok(), batch_size=4, progress=False,
                                       generate_fn=lambda m, p, x, **k: np.asarray(x)[:, :1],
                                       task_feature_lengths={"inputs": 8, "targets": 8})
        return result.record

    perfect = score(targets)
    assert perfect["output_language"] == "ko"
    assert perfect["metrics"]["bleu"] == pytest.approx(100.0) and perfect["metrics"]["chrf"] == pytest.approx(100.0)
    assert perfect["metrics"]["script_ratio"] == pytest.approx(language.mean_script_ratio(targets, "ko", targets))
    assert perfect["metrics"]["script_ratio"] > 95   # Korean news text with a few Latin names
    copied = score(english)   # a model that copies its English input instead of translating
    assert copied["metrics"]["script_ratio"] < 5 and copied["metrics"]["language_rate"] == 0.0
