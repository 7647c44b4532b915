"""Evaluator end to end on a tiny random mT5 and an on-the-fly sentencepiece vocabulary.

Scores and predictions are checked against an independent reference computed here with
plain teacher forcing (full forward pass, no cache): the sum of the option's token
log-likelihoods (EOS included) for rank classification and step-by-step argmax for
greedy generation. When xlit_jax.scoring / xlit_jax.decoding are not there yet the same
reference functions drive the evaluator (so its plumbing is still tested).
"""
import dataclasses
import functools
import importlib.util
import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xlit_jax import evaluator, train_evaluator
from xlit_jax.eval_tasks import EvalTask
from xlit_jax.models.mt5 import MT5Config, Transformer, init_params
from xlit_jax.tokenizer import Tokenizer, check_vocabulary_fits

KO = ["오늘은 날씨가 맑습니다", "서울은 한국의 수도입니다", "고양이가 매트 위에 앉았다", "비가 와서 우산을 썼다",
      "그는 학교에 갔다", "세종대왕은 한글을 만들었다", "맞다", "아니다", "원인", "결과"]
EN = ["the weather is clear today", "seoul is the capital of korea", "the cat sat on the mat",
      "it rained so i used an umbrella", "he went to school", "yes", "no", "maybe", "true", "false"]


@pytest.fixture(scope="module")
def vocab_path(tmp_path_factory):
    import sentencepiece as spm

    path = tmp_path_factory.mktemp("vocab") / "spm.model"
    sentences = [f"{a} {b}" for a in KO + EN for b in KO + EN][:400]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_prefix=str(path.with_suffix("")), vocab_size=300,
        model_type="unigram", character_coverage=1.0, byte_fallback=False, pad_id=0, eos_id=1, unk_id=2,
        bos_id=-1, hard_vocab_limit=False, minloglevel=2)
    return str(path)


@pytest.fixture(scope="module")
def tiny_model(vocab_path):
    size = Tokenizer(vocab_path).vocab_size
    config = MT5Config(vocab_size=size, emb_dim=32, num_heads=2, num_encoder_layers=2, num_decoder_layers=2,
                       head_dim=16, mlp_dim=64)
    params = init_params(config, jax.random.key(0))
    return config, params


# ----------------------------------------------------------------- reference scoring


def reference_log_likelihood(model, params, inputs, option, length_normalize=False):
    """Sum (or mean) of log p(option token) under teacher forcing, one example at a time."""
    # fixed padded shapes (one compile): pads are masked in the encoder, and causal decoding
    # makes positions < len(option) independent of the pads after them
    enc = np.zeros((1, 32), np.int32)
    enc[0, : len(inputs)] = inputs
    dec_in = np.zeros((1, 16), np.int32)
    dec_in[0, 1 : len(option)] = option[:-1]
    logits = np.asarray(_jitted_apply(model)(params, jnp.asarray(enc), jnp.asarray(dec_in)), np.float64)[0]
    logits = logits[: len(option)]
    log_probs = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    total = float(log_probs[np.arange(len(option)), option].sum())
    return total / len(option) if length_normalize else total


class _Rank:
    def __init__(self, scores, choice):
        self.scores, self.choice = scores, choice


def reference_rank_classify(model, params, inputs, options, *, batch_size=16, length_normalize=False):
    out = []
    for example_inputs, example_options in zip(inputs, options):
        scores = [reference_log_likelihood(model, params, example_inputs, o, length_normalize) for o in example_options]
        out.append(_Rank(np.asarray(scores), int(np.argmax(scores))))
    return out


@functools.lru_cache(maxsize=4)
def _jitted_apply(model):
    return jax.jit(lambda p, e, d: model.apply({"params": p}, e, d, jnp.ones_like(d), enable_dropout=False))


def reference_greedy(model, params, encoder_input_tokens, *, method="greedy", max_decode_length=8, **_):
    assert method == "greedy"
    enc = jnp.asarray(encoder_input_tokens)
    batch = enc.shape[0]
    decoded = np.zeros((batch, max_decode_length), np.int32)
    apply = _jitted_apply(model)
    for position in range(max_decode_length):
        dec_in = np.concatenate([np.zeros((batch, 1), np.int32), decoded[:, :-1]], axis=1)
        logits = apply(params, enc, jnp.asarray(dec_in))
        decoded[:, position] = np.asarray(jnp.argmax(logits[:, position], axis=-1))
    return decoded


HAVE_SCORING = importlib.util.find_spec("xlit_jax.scoring") is not None
HAVE_DECODING = importlib.util.find_spec("xlit_jax.decoding") is not None
RANK_FN = None if HAVE_SCORING else reference_rank_classify
GENERATE_FN = None if HAVE_DECODING else reference_greedy


# ------------------------------------------------------------------------- tasks


def rank_task(name="tiny_nli.ko_korani.t01", template_language="ko", template_style="korani", setting="native"):
    examples = [
        {"idx": i, "inputs": f"{KO[i]} 질문: {KO[i + 1]} 맞다 아니다?", "targets": ["맞다", "아니다"][i % 2],
         "options": ["맞다", "아니다"], "answer_index": i % 2}
        for i in range(6)
    ]
    info = {"name": name, "dataset": "tiny_nli", "cluster": "nli", "role": "heldout", "data_language": "ko",
            "template_language": template_language, "template_style": template_style, "template_id": name.split(".")[-1],
            "setting": setting, "scoring": "rank", "metrics": ["accuracy"]}
    return EvalTask(info, examples)


def generation_task():
    examples = [{"idx": 10 + i, "inputs": f"질문: {KO[i]}", "targets": KO[i], "options": None, "answer_index": None}
                for i in range(5)]
    info = {"name": "tiny_qa.ko_korani.t01", "dataset": "tiny_qa", "cluster": "extractive_qa", "role": "heldout",
            "data_language": "ko", "template_language": "ko", "template_style": "korani", "template_id": "t01",
            "setting": "native", "scoring": "generation", "metrics": ["exact_match", "f1"]}
    return EvalTask(info, examples)


# ------------------------------------------------------------------------- tests


def test_tokenizer_truncates_but_keeps_eos(vocab_path):
    tokenizer = Tokenizer(vocab_path)
    ids = tokenizer.encode("서울은 한국의 수도입니다 the cat sat on the mat", max_length=5)
    assert len(ids) == 5 and ids[-1] == 1
    full = tokenizer.encode("서울은 한국의 수도입니다")
    assert tokenizer.decode(full + [0, 0, 7]) == "서울은 한국의 수도입니다"
    with pytest.raises(FileNotFoundError, match="nope.model"):
        Tokenizer("/nonexistent/nope.model")


def test_ids_past_the_vocabulary_decode_as_the_unknown_piece_as_seqio_does(vocab_path):
    """A model's vocab_size is rounded up past the pieces (mT5: 250112 rows, 250100 pieces): generation
    can emit rows without a piece; decoding them must not raise (seqio maps them to unk)."""
    tokenizer = Tokenizer(vocab_path)
    pieces = tokenizer.vocab_size
    word = tokenizer.encode("수도")[:-1]
    unknown = tokenizer.processor.decode([tokenizer.processor.unk_id()])
    assert tokenizer.decode(word + [pieces + 5] + word) == tokenizer.processor.decode(
        word + [tokenizer.processor.unk_id()] + word)
    assert unknown and tokenizer.decode([pieces, 1, pieces]) == unknown


def test_eval_task_validation():
    with pytest.raises(ValueError, match=r"info lacks \['cluster'\]"):
        EvalTask({"name": "x.ko_korani.t1", "dataset": "x", "data_language": "ko", "template_language": "ko",
                  "template_style": "korani", "setting": "native", "scoring": "rank", "metrics": ["accuracy"]}, [])
    info = dict(rank_task().info)
    with pytest.raises(ValueError, match="example 0 .*has no options"):
        EvalTask(info, [{"idx": 0, "inputs": "a", "targets": "b"}])


def test_rank_classification_matches_teacher_forcing(tiny_model, vocab_path, tmp_path):
    config, params = tiny_model
    task = rank_task()
    lengths = {"inputs": 12, "targets": 6}
    document = evaluator.evaluate(tasks=[task], params=params, model_config=config, vocabulary_path=vocab_path,
                                  output_dir=str(tmp_path), task_feature_lengths=lengths, batch_size=4,
                                  progress=False, rank_classify_fn=RANK_FN)
    rows = [json.loads(line) for line in (tmp_path / "predictions" / f"{task.name}.jsonl").read_text().splitlines()]
    assert [r["idx"] for r in rows] == list(range(6))
    tokenizer, model = Tokenizer(vocab_path), Transformer(config)
    for example, row in zip(task.examples, rows):
        inputs = tokenizer.encode(example["inputs"], lengths["inputs"])
        expected = [reference_log_likelihood(model, params, inputs, tokenizer.encode(o, lengths["targets"]))
                    for o in example["options"]]
        np.testing.assert_allclose(row["scores"], expected, rtol=1e-4, atol=1e-4)
        assert row["prediction"] == example["options"][int(np.argmax(expected))]
        assert row["correct"] == (int(np.argmax(expected)) == example["answer_index"])
    record = document["tasks"][task.name]
    assert record["num_examples"] == 6 and record["primary_metric"] == "accuracy"
    assert record["score"] == pytest.approx(100 * sum(r["correct"] for r in rows) / 6)
    assert set(record["metrics"]) == {"accuracy", "macro_f1"}
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["format"] == "xlit.eval_results/1"
    assert on_disk["tasks"][task.name]["setting"] == "native"
    assert on_disk["aggregates"]["dataset"]["tiny_nli"]["median"] == pytest.approx(record["score"])


def test_length_normalized_rank_scores(tiny_model, vocab_path):
    config, params = tiny_model
    task = EvalTask(rank_task().info, [dict(rank_task().examples[0], options=["맞다", "세종대왕은 한글을 만들었다"])])
    document = evaluator.evaluate(tasks=[task], params=params, model_config=config, vocabulary_path=vocab_path,
                                  length_normalize=True, progress=False, rank_classify_fn=RANK_FN,
                                  task_feature_lengths={"inputs": 16, "targets": 16})
    assert document["tasks"][task.name]["num_examples"] == 1
    tokenizer, model = Tokenizer(vocab_path), Transformer(config)
    inputs = tokenizer.encode(task.examples[0]["inputs"], 16)
    expected = [reference_log_likelihood(model, params, inputs, tokenizer.encode(o, 16), length_normalize=True)
                for o in task.examples[0]["options"]]
    chosen = task.examples[0]["options"][int(np.argmax(expected))]
    assert document["tasks"][task.name]["metrics"]["accuracy"] == (100.0 if chosen == "맞다" else 0.0)


def test_generation_matches_greedy_reference(tiny_model, vocab_path, tmp_path):
    config, params = tiny_model
    task = generation_task()
    lengths = {"inputs": 16, "targets": 4}
    document = evaluator.evaluate(tasks=[task], params=params, model_config=config, vocabulary_path=vocab_path,
                                  output_dir=str(tmp_path), task_feature_lengths=lengths, batch_size=2,
                                  progress=False, generate_fn=GENERATE_FN)
    rows = [json.loads(line) for line in (tmp_path / "predictions" / f"{task.name}.jsonl").read_text().splitlines()]
    tokenizer, model = Tokenizer(vocab_path), Transformer(config)
    encoded = [tokenizer.encode(e["inputs"], lengths["inputs"]) for e in task.examples]
    batch = np.zeros((len(encoded), max(map(len, encoded))), np.int32)
    for i, ids in enumerate(encoded):
        batch[i, : len(ids)] = ids
    expected = [tokenizer.decode(row) for row in reference_greedy(model, params, batch, max_decode_length=4)]
    assert [r["prediction"] for r in rows] == expected
    record = document["tasks"][task.name]
    from xlit_jax.metrics import language, qa

    targets = [e["targets"] for e in task.examples]
    assert record["metrics"]["exact_match"] == pytest.approx(qa.exact_match(targets, expected, "ko"))
    assert record["metrics"]["f1"] == pytest.approx(qa.f1(targets, expected, "ko"))
    assert record["metrics"]["language_rate"] == pytest.approx(language.language_rate(expected, "ko"))
    assert record["output_language"] == "ko" and record["score"] == record["metrics"]["exact_match"]
    assert all(r["scores"] is None for r in rows)


def test_aggregates_over_templates_and_settings(tiny_model, vocab_path):
    config, params = tiny_model
    tasks = [rank_task("tiny_nli.ko_korani.t01"), rank_task("tiny_nli.ko_korani.t02"),
             rank_task("tiny_nli.en_p3.p01", "en", "p3", "cross_lingual")]
    document = evaluator.evaluate(tasks=tasks, params=params, model_config=config, vocabulary_path=vocab_path,
                                  max_examples=3, progress=False, rank_classify_fn=RANK_FN,
                                  task_feature_lengths={"inputs": 12, "targets": 6})
    scores = {name: rec["score"] for name, rec in document["tasks"].items()}
    assert all(rec["num_examples"] == 3 for rec in document["tasks"].values())
    native = [scores["tiny_nli.ko_korani.t01"], scores["tiny_nli.ko_korani.t02"]]
    assert document["aggregates"]["language_setting"]["ko/native"]["mean"] == pytest.approx(np.mean(native))
    assert document["aggregates"]["setting"]["cross_lingual"]["median"] == pytest.approx(scores["tiny_nli.en_p3.p01"])
    assert document["aggregates"]["dataset"]["tiny_nli"]["median"] == pytest.approx(np.median(list(scores.values())))


def test_train_evaluator_callable(tiny_model, vocab_path, tmp_path):
    config, params = tiny_model
    evaluate_fn = train_evaluator.make_train_evaluator(
        [rank_task()], vocab_path, max_examples=4, model_config=config, output_dir=str(tmp_path),
        task_feature_lengths={"inputs": 12, "targets": 6}, include_tasks=True)
    values = evaluate_fn(params, 7)
    assert values["eval/ko/native/mean"] == pytest.approx(values["eval/task/tiny_nli.ko_korani.t01"])
    assert "eval/all/mean" in values and "eval/dataset/tiny_nli/median" in values
    assert (tmp_path / "step_7" / "results.json").is_file()


def test_rank_answer_from_target_text_or_a_clear_error(tiny_model, vocab_path):
    config, params = tiny_model
    base = rank_task()
    by_text = [dict(e, answer_index=None) for e in base.examples[:2]]
    document = evaluator.evaluate(tasks=[EvalTask(base.info, by_text)], params=params, model_config=config,
                                  vocabulary_path=vocab_path, progress=False, rank_classify_fn=RANK_FN,
                                  task_feature_lengths={"inputs": 12, "targets": 6})
    with_index = evaluator.evaluate(tasks=[EvalTask(base.info, base.examples[:2])], params=params,
                                    model_config=config, vocabulary_path=vocab_path, progress=False,
                                    rank_classify_fn=RANK_FN, task_feature_lengths={"inputs": 12, "targets": 6})
    assert document["tasks"][base.name]["metrics"] == with_index["tasks"][base.name]["metrics"]
    broken = [dict(base.examples[0], answer_index=None, targets="모르겠다")]
    with pytest.raises(ValueError, match="idx=0: no answer_index and the target '모르겠다' is not among"):
        evaluator.evaluate(tasks=[EvalTask(base.info, broken)], params=params, model_config=config,
                           vocabulary_path=vocab_path, progress=False, rank_classify_fn=RANK_FN,
                           task_feature_lengths={"inputs": 12, "targets": 6})


def test_expected_output_language():
    assert evaluator.expected_output_language(["Hello there", "Good"], "ko") == "en"
    assert evaluator.expected_output_language(["안녕하세요", "AI 기술"], "ko") == "ko"
    assert evaluator.expected_output_language(["3", ""], "ko") == "ko"


# ------------------------------------------------------- task loading, vocabulary, checkpoints


def memory_loader(*tasks):
    """An in-memory task_loader with the registry's signature, and the calls it received."""
    calls = []

    def loader(names, max_examples=None, split=None):
        calls.append((names, max_examples, split))
        return [EvalTask(t.info, t.examples[:max_examples] if max_examples else t.examples) for t in tasks]

    return loader, calls


LENGTHS = {"inputs": 12, "targets": 6}


def test_names_are_read_through_the_task_loader(tiny_model, vocab_path):
    config, params = tiny_model
    loader, calls = memory_loader(rank_task())
    document = evaluator.evaluate("tiny_nli.*", task_loader=loader, params=params, model_config=config,
                                  vocabulary_path=vocab_path, max_examples=2, split="validation", progress=False,
                                  task_feature_lengths=LENGTHS)
    assert calls == [("tiny_nli.*", 2, "validation")]
    assert document["tasks"]["tiny_nli.ko_korani.t01"]["num_examples"] == 2
    with pytest.raises(ValueError, match=r"no task_loader to resolve 'tiny_nli'.*@xlit.registry_eval_tasks"):
        evaluator.evaluate("tiny_nli", params=params, model_config=config, vocabulary_path=vocab_path)
    with pytest.raises(TypeError, match="must return EvalTasks, got \\['str'\\]"):
        evaluator.evaluate("tiny_nli", task_loader=lambda names, **_: ["tiny_nli"], params=params,
                           model_config=config, vocabulary_path=vocab_path)


def test_vocabulary_order(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints" / "4" / "state").mkdir(parents=True)
    (run / "spiece.model").write_text("run vocabulary")
    step = str(run / "checkpoints" / "4")
    assert evaluator.choose_vocabulary("/explicit.model", step, "/fallback.model") == "/explicit.model"
    assert evaluator.choose_vocabulary(None, step, "/fallback.model") == str(run / "spiece.model")
    assert evaluator.choose_vocabulary(None, str(run), "/fallback.model") == str(run / "spiece.model")
    assert evaluator.choose_vocabulary(None, str(tmp_path / "hf"), "/fallback.model") == "/fallback.model"
    with pytest.raises(ValueError, match=r"^no vocabulary: none given and \S+/hf has no spiece.model; set "
                                         r"VOCABULARY_PATH"):
        evaluator.choose_vocabulary(None, str(tmp_path / "hf"), None)


def test_vocabulary_bigger_than_the_model_fails_before_scoring(tiny_model, vocab_path, tmp_path):
    from xlit_jax.checkpoints import save_xlit

    config, params = tiny_model
    pieces = Tokenizer(vocab_path).vocab_size
    assert check_vocabulary_fits(vocab_path, pieces) == pieces
    assert check_vocabulary_fits("gs://bucket/spm.model", 10) is None
    small = dataclasses.replace(config, vocab_size=pieces - 50)

    def never(*args, **kwargs):
        raise AssertionError("scored despite the vocabulary error")

    expected = f"vocabulary {vocab_path} has {pieces} pieces but the model's vocab_size is {pieces - 50}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        evaluator.evaluate(tasks=[rank_task()], params=params, model_config=small, vocabulary_path=vocab_path,
                           rank_classify_fn=never, progress=False)
    # No model config given: the checkpoint's own config is checked once loaded, still before scoring.
    checkpoint = tmp_path / "small"
    save_xlit(init_params(small, jax.random.key(1)), small, checkpoint, vocabulary_path=vocab_path)
    with pytest.raises(ValueError, match=re.escape(f"vocabulary {checkpoint / 'spiece.model'} has {pieces} pieces")):
        evaluator.evaluate(tasks=[rank_task()], checkpoint_path=str(checkpoint), rank_classify_fn=never,
                           progress=False)


def test_evaluate_a_training_run(tiny_model, vocab_path, tmp_path):
    """CHECKPOINT_PATH = MODEL_DIR: its newest checkpoint, its config.json, its spiece.model."""
    from xlit_jax.checkpointing import TrainingCheckpointer
    from xlit_jax.checkpoints import CheckpointError, write_run_files

    config, params = tiny_model
    model_dir = tmp_path / "korani_tiny"
    checkpointer = TrainingCheckpointer(model_dir, async_save=False)
    checkpointer.save(3, {"step": jnp.asarray(3, jnp.int32), "params": params, "rng": jax.random.key_data(
        jax.random.key(0))}, 0)
    checkpointer.close()
    write_run_files(model_dir, config, vocab_path)
    from_run = evaluator.evaluate(tasks=[rank_task()], checkpoint_path=str(model_dir), progress=False,
                                  task_feature_lengths=LENGTHS, rank_classify_fn=RANK_FN)
    direct = evaluator.evaluate(tasks=[rank_task()], params=params, model_config=config, vocabulary_path=vocab_path,
                                progress=False, task_feature_lengths=LENGTHS, rank_classify_fn=RANK_FN)
    assert from_run["run"]["vocabulary_path"] == str(model_dir / "spiece.model")
    name = rank_task().name
    assert from_run["tasks"][name]["metrics"] == pytest.approx(direct["tasks"][name]["metrics"])
    with pytest.raises(CheckpointError, match=r"config mismatch: the checkpoint has num_heads=2, the given model "
                                              r"config has num_heads=4; the checkpoint has head_dim=16, the given "
                                              r"model config has head_dim=8"):
        evaluator.evaluate(tasks=[rank_task()], checkpoint_path=str(model_dir / "checkpoints" / "3"), progress=False,
                           model_config=dataclasses.replace(config, num_heads=4, head_dim=8))


def test_train_evaluator_writes_under_model_dir_with_distinct_run_names(tiny_model, vocab_path, tmp_path):
    """No output dir: MODEL_DIR/inference_eval/step_N, run '{run}@{N}', the run's vocabulary; reports compare runs."""
    import shutil

    from xlit_jax import reports

    config, params = tiny_model
    loader, calls = memory_loader(rank_task())
    for run in ("korani_tiny", "p3_tiny"):
        model_dir = tmp_path / run
        evaluate_fn = train_evaluator.make_train_evaluator(
            "tiny_nli", max_examples=3, task_loader=loader, model_config=config, model_dir=str(model_dir),
            fallback_vocabulary_path="/nonexistent/fallback.model", task_feature_lengths=LENGTHS)
        model_dir.mkdir()
        shutil.copyfile(vocab_path, model_dir / "spiece.model")  # as `xlit train` writes it when it starts
        evaluate_fn(params, 5)
        document = json.loads((model_dir / "inference_eval" / "step_5" / "results.json").read_text())
        assert document["run"]["name"] == f"{run}@5" and document["run"]["step"] == 5
        assert document["run"]["vocabulary_path"] == str(model_dir / "spiece.model")
    assert calls == [("tiny_nli", 3, None)] * 2  # read once per evaluator, when it is made
    _, table = reports.report(sorted(tmp_path.glob("*/inference_eval/step_5")))
    assert [name for name, _ in table.rows] == ["korani_tiny@5", "p3_tiny@5"]


def test_train_evaluator_fails_early(tiny_model, vocab_path):
    config, _ = tiny_model

    def unknown(names, max_examples=None, split=None):
        raise KeyError(f"{names!r} matches no evaluation task")

    with pytest.raises(KeyError, match="matches no evaluation task"):
        train_evaluator.make_train_evaluator("nope", task_loader=unknown, model_config=config)
    with pytest.raises(ValueError, match=r"has \d+ pieces but the model's vocab_size is 8"):
        train_evaluator.make_train_evaluator([rank_task()], vocab_path,
                                             model_config=dataclasses.replace(config, vocab_size=8))


# ------------------------------------------------------------------------------ gin files


def _registry_configurables():
    eval_data = pytest.importorskip("seqio_tasks.eval_data", reason="registry not importable")
    pytest.importorskip("seqio_tasks.vocab", reason="registry not importable")
    if not hasattr(eval_data, "registry_eval_tasks"):
        pytest.skip("seqio_tasks.eval_data.registry_eval_tasks has not landed yet")


def _selector(reference) -> str:
    return f"{reference.configurable.module}.{reference.configurable.name}"


def test_zero_shot_gin_binds_the_registry_loader_and_fallback_vocabulary(tmp_path):
    import gin

    from xlit_jax import gin_utils

    _registry_configurables()
    gin.clear_config()
    try:
        gin_utils.parse_gin(["eval/korani_heldout.gin"], [f"CHECKPOINT_PATH = '{tmp_path}'",
                                                          f"EVAL_OUTPUT_DIR = '{tmp_path / 'out'}'"], finalize=False)
        loader = gin.query_parameter("xlit.evaluate.task_loader")
        fallback = gin.query_parameter("xlit.evaluate.fallback_vocabulary_path")
        names = gin.query_parameter("%MIXTURE_OR_TASK_NAME")
    finally:
        gin.clear_config()
    assert _selector(loader) == "xlit.registry_eval_tasks" and not loader.evaluate
    assert _selector(fallback) == "xlit.vocabulary_path" and fallback.evaluate
    assert names == "korani_heldout.ko.all"


def test_train_inference_gin_writes_under_model_dir(tiny_model, vocab_path, tmp_path):
    """eval/train_inference.gin's evaluator: tasks through its loader, results in MODEL_DIR/inference_eval."""
    import gin

    from xlit_jax import gin_utils, train_loop  # noqa: F401  (xlit.train is bound by the file)

    _registry_configurables()
    config, params = tiny_model
    loader, calls = memory_loader(rank_task())

    @gin.configurable("memory_tasks", module="xlit_test")
    def memory_tasks(names, max_examples=None, split=None):
        return loader(names, max_examples=max_examples, split=split)

    model_dir = tmp_path / "tiny_run"
    gin.clear_config()
    try:
        gin_utils.parse_gin(["eval/train_inference.gin"], [
            f"MODEL_DIR = '{model_dir}'", "MODEL_CONFIG = None", f"TASK_FEATURE_LENGTHS = {LENGTHS}",
            "EVAL_MIXTURE_OR_TASK_NAME = 'tiny_nli'", f"EVAL_VOCABULARY_PATH = '{vocab_path}'",
            "EVAL_MAX_EXAMPLES = 2", "xlit.make_train_evaluator.task_loader = @xlit_test.memory_tasks"],
            finalize=False)
        evaluate_fn = train_evaluator.make_train_evaluator(model_config=config)
        assert _selector(gin.query_parameter("xlit.train.inference_evaluator")) == "xlit.make_train_evaluator"
    finally:
        gin.clear_config()
    values = evaluate_fn(params, 9)
    assert calls == [("tiny_nli", 2, None)] and "eval/all/mean" in values
    document = json.loads((model_dir / "inference_eval" / "step_9" / "results.json").read_text())
    assert document["run"]["name"] == "tiny_run@9" and document["tasks"][rank_task().name]["num_examples"] == 2


def test_examples_of_all_tasks_share_batches_and_score_as_alone(tiny_model, vocab_path):
    """Rank tasks are scored in one pooled call (batches fill across tasks), generation tasks in one
    decoding pass; each task's record equals the one it gets when evaluated alone."""
    from xlit_jax import decoding, scoring

    config, params = tiny_model
    tasks = [rank_task("tiny_nli.ko_korani.t01"), generation_task(),
             rank_task("tiny_nli.en_p3.t02", template_language="en", template_style="p3"),
             EvalTask(dict(rank_task().info, name="tiny_nli.ko_korani.t03"), rank_task().examples[:3])]
    rank_calls, generate_rows = [], []

    def counting_rank(*args, **kwargs):
        rank_calls.append(len(args[2]))
        return scoring.rank_classify(*args, **kwargs)

    def counting_generate(model, params, tokens, **kwargs):
        generate_rows.append(len(tokens))
        return decoding.generate(model, params, tokens, **kwargs)

    common = dict(params=params, model_config=config, vocabulary_path=vocab_path, task_feature_lengths=LENGTHS,
                  batch_size=4, progress=False)
    pooled = evaluator.evaluate(tasks=tasks, rank_classify_fn=counting_rank, generate_fn=counting_generate, **common)
    assert rank_calls == [6 + 6 + 3]  # every rank example in one call
    assert generate_rows == [4, 4]  # 5 generation examples in batches of 4
    assert list(pooled["tasks"]) == [t.name for t in tasks]
    for task in tasks:
        alone = evaluator.evaluate(tasks=[task], **common)["tasks"][task.name]
        assert pooled["tasks"][task.name]["metrics"] == pytest.approx(alone["metrics"]), task.name
        assert pooled["tasks"][task.name]["num_examples"] == len(task.examples)
