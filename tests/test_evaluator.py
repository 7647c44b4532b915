"""Evaluator end to end on a tiny random mT5 and an on-the-fly sentencepiece vocabulary.

Scores and predictions are checked against an independent reference computed here with
plain teacher forcing (full forward pass, no cache): the sum of the option's token
log-likelihoods (EOS included) for rank classification and step-by-step argmax for
greedy generation. When xlit_jax.scoring / xlit_jax.decoding are not there yet the same
reference functions drive the evaluator (so its plumbing is still tested).
"""
import functools
import importlib.util
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xlit_jax import evaluator
from xlit_jax.evaluator import EvalTask, Tokenizer
from xlit_jax.models.mt5 import MT5Config, Transformer, init_params

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
    evaluate_fn = evaluator.make_train_evaluator(
        [rank_task()], vocab_path, max_examples=4, model_config=config, output_dir=str(tmp_path),
        task_feature_lengths={"inputs": 12, "targets": 6}, include_tasks=True)
    if not HAVE_SCORING:
        pytest.skip("xlit_jax.scoring (rank_classify) has not landed yet")
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


@pytest.mark.slow
def test_registry_tasks_end_to_end(tiny_model, vocab_path, shared_data, tmp_path):
    eval_data = pytest.importorskip("seqio_tasks.eval_data", reason="registry (seqio_tasks.eval_data) not present")
    try:
        names = eval_data.eval_task_names(r"^(kobest_copa|klue_nli)\.", with_data=True)
    except (ImportError, AttributeError) as error:  # the registry is still landing its pieces
        pytest.skip(f"registry incomplete: {error}")
    if not names:
        pytest.skip("no kobest_copa / klue_nli evaluation task with data in the registry yet")
    names = sorted(names)[:2]
    config, params = tiny_model
    document = evaluator.evaluate(names, params=params, model_config=config, vocabulary_path=vocab_path,
                                  max_examples=3, output_dir=str(tmp_path), progress=False, batch_size=4,
                                  task_feature_lengths={"inputs": 32, "targets": 8},
                                  rank_classify_fn=RANK_FN, generate_fn=GENERATE_FN)
    assert sorted(document["tasks"]) == names
    for name in names:
        record = document["tasks"][name]
        info = eval_data.task_info(name)
        assert record["dataset"] == info.dataset and record["setting"] == info.setting
        assert record["num_examples"] == 3
        assert (tmp_path / "predictions" / f"{name}.jsonl").read_text().count("\n") == 3


def test_eval_command_with_gin_files(tiny_model, vocab_path, tmp_path, monkeypatch, capsys):
    """`xlit eval` with eval/korani_heldout.gin: gin macros reach evaluate(), outputs are written."""
    import gin

    from xlit_jax.commands import eval as eval_command

    config, params = tiny_model
    seen = {}

    def fake_registry(names, max_examples=None, split=None):  # the registry is tested in its own file
        seen.update(names=names, max_examples=max_examples, split=split)
        return [EvalTask(t.info, t.examples[:max_examples]) for t in (rank_task(), generation_task())]

    def fake_load_model(checkpoint_path, params_=None, model_config=None):
        seen["checkpoint_path"] = checkpoint_path
        return Transformer(config), params

    monkeypatch.setattr(evaluator, "load_registry_tasks", fake_registry)
    monkeypatch.setattr(evaluator, "load_model", fake_load_model)
    real_run_tasks = evaluator.run_tasks

    def run_tasks(*args, rank_classify_fn=None, generate_fn=None, **kwargs):
        return real_run_tasks(*args, rank_classify_fn=rank_classify_fn or RANK_FN,
                              generate_fn=generate_fn or GENERATE_FN, **kwargs)

    monkeypatch.setattr(evaluator, "run_tasks", run_tasks)
    out = tmp_path / "eval"
    gin.clear_config()
    try:
        rc = eval_command.main([
            "--gin_file=eval/korani_heldout.gin", "--gin.CHECKPOINT_PATH=/ckpt/tiny", f"--gin.EVAL_OUTPUT_DIR={out}",
            f"--gin.VOCABULARY_PATH={vocab_path}", "--gin.MAX_EXAMPLES=3", "--gin.BATCH_SIZE=2",
            "--gin.TASK_FEATURE_LENGTHS={'inputs': 16, 'targets': 4}", "--gin.RUN_NAME='tiny'", "--no_progress"])
    finally:
        gin.clear_config()
    assert rc == 0
    assert seen == {"names": "korani_heldout.ko.all", "max_examples": 3, "split": None, "checkpoint_path": "/ckpt/tiny"}
    document = json.loads((out / "results.json").read_text())
    assert document["run"]["name"] == "tiny"
    assert document["run"]["settings"]["task_feature_lengths"] == {"inputs": 16, "targets": 4}
    assert sorted(document["tasks"]) == ["tiny_nli.ko_korani.t01", "tiny_qa.ko_korani.t01"]
    assert (out / "config.gin").is_file() and (out / "predictions" / "tiny_qa.ko_korani.t01.jsonl").is_file()
    printed = capsys.readouterr().out
    assert "tiny_nli.ko_korani.t01" in printed and "| tiny |" in printed


def test_eval_command_rejects_unknown_macro(capsys):
    import gin

    from xlit_jax.commands import eval as eval_command

    gin.clear_config()
    try:
        assert eval_command.main(["--gin_file=eval/zero_shot.gin", "--gin.CHEKPOINT_PATH=/x"]) == 2
    finally:
        gin.clear_config()
    assert "CHEKPOINT_PATH" in capsys.readouterr().err


@pytest.mark.slow
def test_eval_command_on_checkpoint_and_registry(tiny_model, vocab_path, shared_data, tmp_path, capsys):
    """`xlit eval` on a saved xlit checkpoint (read back by load_params) and a real registry task.

    Exercises what in-memory tests cannot: gin locking while the registry is imported lazily,
    regex task selection, load_params, and the same numbers as evaluating the params directly.
    """
    import gin

    checkpoints = pytest.importorskip("xlit_jax.checkpoints")
    from xlit_jax.commands import eval as eval_command

    if not hasattr(checkpoints, "load_params") or not hasattr(checkpoints, "save_xlit"):
        pytest.skip("xlit_jax.checkpoints.load_params / save_xlit have not landed yet")
    try:
        from seqio_tasks import eval_data

        names = sorted(eval_data.eval_task_names(r"^klue_nli[.]ko_korani[.]", with_data=True))[:1]
    except (ImportError, AttributeError) as error:
        pytest.skip(f"registry incomplete: {error}")
    if not names or not HAVE_SCORING:
        pytest.skip("no klue_nli Korean-template task with data, or no xlit_jax.scoring")
    config, params = tiny_model
    checkpoints.save_xlit(params, config, tmp_path / "ckpt")
    out = tmp_path / "eval"
    gin.clear_config()
    try:
        rc = eval_command.main([
            "--gin_file=eval/zero_shot.gin", f"--gin.CHECKPOINT_PATH={tmp_path / 'ckpt'}",
            f"--gin.EVAL_OUTPUT_DIR={out}", f"--gin.MIXTURE_OR_TASK_NAME='^{names[0]}$'",
            f"--gin.VOCABULARY_PATH={vocab_path}", "--gin.MAX_EXAMPLES=2", "--no_progress",
            "--gin.TASK_FEATURE_LENGTHS={'inputs': 32, 'targets': 8}"])
    finally:
        gin.clear_config()
    assert rc == 0, capsys.readouterr().err
    from_cli = json.loads((out / "results.json").read_text())
    direct = evaluator.evaluate(names, params=params, model_config=config, vocabulary_path=vocab_path,
                                max_examples=2, progress=False, task_feature_lengths={"inputs": 32, "targets": 8})
    assert list(from_cli["tasks"]) == names
    assert from_cli["tasks"][names[0]]["metrics"] == pytest.approx(direct["tasks"][names[0]]["metrics"])
    cli_rows = (out / "predictions" / f"{names[0]}.jsonl").read_text().splitlines()
    assert len(cli_rows) == 2 and json.loads(cli_rows[0])["options"]


@pytest.mark.slow
def test_mixture_and_regex_resolution(shared_data):
    """A held-out mixture expands to its tasks with data; a regex selects evaluation tasks; bad names are named."""
    try:
        from seqio_tasks import eval_data
    except ImportError as error:
        pytest.skip(f"registry not importable: {error}")
    try:
        names = evaluator.resolve_task_names("korani_heldout.ko.native")
    except (ImportError, AttributeError) as error:
        pytest.skip(f"registry incomplete: {error}")
    assert names
    for name in names:
        info = eval_data.task_info(name)
        assert (info.data_language, info.setting, info.kind) == ("ko", "native", "eval")
    regex = evaluator.resolve_task_names("klue_nli[.]ko_korani[.].*")
    assert regex and all(n.startswith("klue_nli.ko_korani.") for n in regex)
    assert evaluator.resolve_task_names([regex[0], regex[0]]) == [regex[0]]
    with pytest.raises(KeyError, match="no_such_task_xyz"):
        evaluator.resolve_task_names("no_such_task_xyz")


@pytest.mark.slow
def test_train_inference_gin_builds_the_trainer_callable(vocab_path, shared_data, tmp_path):
    """models/mt5_tiny.gin + runs/finetune.gin + eval/train_inference.gin give the trainer a working evaluator."""
    import importlib

    import gin

    from xlit_jax import gin_utils
    from xlit_jax.commands import train as train_command

    try:
        from seqio_tasks import eval_data

        names = sorted(eval_data.eval_task_names(r"^klue_nli[.]ko_korani[.]", with_data=True))[:1]
    except (ImportError, AttributeError) as error:
        pytest.skip(f"registry incomplete: {error}")
    if not names or not HAVE_SCORING:
        pytest.skip("no klue_nli Korean-template task with data, or no xlit_jax.scoring")
    for module in train_command.CONFIGURABLE_MODULES:
        importlib.import_module(module)
    size = Tokenizer(vocab_path).vocab_size
    gin.clear_config()
    try:
        gin_utils.parse_gin(
            ["models/mt5_tiny.gin", "runs/finetune.gin", "eval/train_inference.gin"],
            [f"MODEL_DIR = '{tmp_path / 'run'}'", "MIXTURE_OR_TASK_NAME = 'unused'", "TRAIN_STEPS = 1",
             f"xlit.MT5Config.vocab_size = {size}", f"EVAL_MIXTURE_OR_TASK_NAME = '{names[0]}'",
             f"EVAL_VOCABULARY_PATH = '{vocab_path}'", "EVAL_MAX_EXAMPLES = 2",
             f"EVAL_OUTPUT_DIR = '{tmp_path / 'infer'}'",
             "TASK_FEATURE_LENGTHS = {'inputs': 32, 'targets': 8}"], finalize=False)
        inference_evaluator = evaluator.make_train_evaluator()
        config = MT5Config()
    finally:
        gin.clear_config()
    assert config.vocab_size == size and config.emb_dim == 64
    values = inference_evaluator(init_params(config, jax.random.key(3)), 11)
    assert set(values) >= {"eval/all/mean", "eval/ko/mean", "eval/ko/native/median",
                           "eval/dataset/klue_nli/median"}
    record = json.loads((tmp_path / "infer" / "step_11" / "results.json").read_text())["tasks"][names[0]]
    assert record["num_examples"] == 2 and values["eval/ko/native/mean"] == pytest.approx(record["score"])
