"""Instruction-based task selection: embeddings (lexical and mT5 encoder), instruction texts, rankings
(deterministic, by-construction answers, both language sides, aligned), the CLI and the gin selector."""
from __future__ import annotations

import json
import math

import jax
import numpy as np
import pytest

from seqio_tasks import selection
from xlit_jax import embeddings
from xlit_jax.models import mt5

TINY = dict(vocab_size=4096, emb_dim=64, num_heads=4, head_dim=16, mlp_dim=128, num_encoder_layers=2,
            num_decoder_layers=2)  # models/mt5_tiny.gin's sizes


@pytest.fixture(autouse=True)
def catalog(task_catalog):
    return task_catalog


class ByteTokenizer:
    """Byte ids (3..258) plus EOS: a stand-in with Tokenizer.encode's contract."""

    def encode(self, text: str, max_length: int | None = None) -> list[int]:
        ids = [3 + b for b in text.encode("utf-8")]
        if max_length is not None:
            ids = ids[:max_length - 1]
        return ids + [1]


@pytest.fixture(scope="module")
def tiny_model():
    config = mt5.MT5Config(**TINY)
    return config, mt5.init_params(config, jax.random.PRNGKey(0))


# ------------------------------------------------------------------------------ embeddings


def test_lexical_embeddings_match_a_hand_computed_tfidf():
    vectors = embeddings.lexical_embeddings(["ab", "ac"], ngram_range=(2, 2))
    # grams " a" (in both: idf 1), "ab", "b " | "ac", "c " (in one: idf ln(3/2) + 1)
    rare = math.log(1.5) + 1.0
    expected = 1.0 / (1.0 + 2 * rare ** 2)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert embeddings.cosine_similarity(vectors[:1], vectors[1:])[0, 0] == pytest.approx(expected, rel=1e-5)


def test_lexical_embeddings_korean_and_english_identity_and_disjointness():
    texts = ["다음 문장의 감정을 고르세요", "Which option is more likely?", "다음 문장의 감정을 고르세요", "zzz qqq"]
    vectors = embeddings.lexical_embeddings(texts)
    similarity = vectors @ vectors.T
    assert similarity[0, 2] == pytest.approx(1.0, abs=1e-6)
    assert similarity[0, 1] == pytest.approx(0.0, abs=1e-6) and similarity[1, 3] == pytest.approx(0.0, abs=1e-6)
    # the same texts in another order give the same vectors, reordered
    again = embeddings.lexical_embeddings(texts[::-1])
    assert np.allclose((again @ again.T)[::-1, ::-1], similarity, atol=1e-6)


def test_encoder_embeddings_are_mask_aware_and_match_an_unpadded_forward(tiny_model):
    config, params = tiny_model
    tokenizer = ByteTokenizer()
    texts = ["short", "a somewhat longer instruction"]
    embedded = embeddings.encoder_embeddings(texts, params, config, tokenizer, batch_size=4, buckets=(64,))
    # reference: each text alone, no padding at all, plain mean over its tokens
    model = mt5.Transformer(config)
    for text, row in zip(texts, embedded):
        tokens = np.asarray([tokenizer.encode(text)], np.int32)
        states = model.apply({"params": params}, tokens, method=mt5.Transformer.encode, enable_dropout=False)
        reference = np.asarray(states[0]).mean(axis=0)
        assert np.allclose(row, reference / np.linalg.norm(reference), atol=1e-5)
    # other buckets and batch companions (more padding) do not change an embedding
    alone = embeddings.encoder_embeddings(texts[:1], params, config, tokenizer, batch_size=1, buckets=(8, 512))
    assert np.allclose(alone[0], embedded[0], atol=1e-5)
    assert np.allclose(np.linalg.norm(embedded, axis=1), 1.0, atol=1e-5)


# ------------------------------------------------------------------------------ instruction texts


def test_packaged_templates_render_placeholder_instructions():
    """Every template renders on its family's placeholder example, but those whose input reads the dataset's
    label names (bound per dataset: generation templates that name the class to produce)."""
    from seqio_tasks import templating

    failed = []
    for family in templating.families():
        example = selection.placeholder_example(family)
        for template in templating.get_templates(family=family):
            text = selection._render_placeholder(template, example)
            if text is None:
                failed.append(template)
            else:
                assert selection.PLACEHOLDER in text, template.name   # the instruction, no example content
    assert all("label_names" in t.input for t in failed), [t.name for t in failed if "label_names" not in t.input]
    assert len(failed) <= 4


def test_instructions_of_a_dataset_and_a_task():
    copa = selection.instructions("kobest_copa", "ko_korani")
    assert copa.texts and len(copa.texts) == len(copa.template_ids)
    assert all(selection.PLACEHOLDER in t for t in copa.texts)   # no example content, only placeholders
    one = selection.resolve_target("kobest_copa.ko_korani.ko_korani_01")
    assert one.dataset.name == "kobest_copa" and one.template_set == "ko_korani" and one.template_ids == ("ko_korani_01",)
    english = selection.resolve_target("kobest_copa.en_p3.en_p3_01")
    assert english.template_set == "en_p3"
    # a dataset known only through the KORANI dump falls back to its family's templates
    movie = selection.instructions("naver_movie", "ko_korani")
    assert movie.texts and movie.origin == "family sentiment templates"


# ------------------------------------------------------------------------------ rankings


def test_ranking_is_deterministic_and_breaks_ties_by_name():
    first = selection.select("kobest_copa", top_k=4).to_dict()
    second = selection.select("kobest_copa", top_k=4).to_dict()
    assert first == second
    rows = first["ranking"]
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    for a, b in zip(rows, rows[1:]):
        assert (a["score"] > b["score"]) or (a["score"] == b["score"] and a["dataset"] < b["dataset"])
    assert first["selected"] == [r["dataset"] for r in rows[:4]]
    assert "kobest_copa" not in {r["dataset"] for r in rows}
    # rank_texts does not depend on the order candidates come in
    texts = {name: selection.instructions(name, "ko_korani").texts for name in ("kor_sts", "question_pair", "apeach")}
    target = selection.instructions("kobest_copa", "ko_korani").texts
    assert selection.rank_texts(target, texts) == selection.rank_texts(target, dict(reversed(list(texts.items()))))


def test_a_candidate_with_the_targets_own_instructions_ranks_first():
    target = selection.instructions("kobest_copa", "ko_korani").texts
    candidates = {info.name: selection.instructions(info.name, "ko_korani").texts
                  for info in selection.candidate_pool("korani")}
    candidates["zz_copy_of_target"] = target
    for aggregate in selection.AGGREGATES:
        ranked = selection.rank_texts(target, candidates, aggregate=aggregate)
        assert ranked[0] == ("zz_copy_of_target", 1.0)
        assert ranked[1][1] < 0.99


def test_datasets_sharing_a_family_share_instructions_and_rank_first():
    """KorSTS and KLUE-STS render the same sts templates, so for either as target the other scores 1."""
    assert selection.instructions("kor_sts", "ko_korani").texts == selection.instructions("klue_sts", "ko_korani").texts
    result = selection.select("kor_sts", top_k=1)
    assert result.selected == ["klue_sts"] and result.ranking[0].score == pytest.approx(1.0)
    assert result.ranking[1].score < 0.9


def test_both_language_sides_and_the_aligned_variant(caplog):
    # Korean target, English candidates read in the target's Korean KORANI-style templates
    aligned = selection.select("kobest_sentineg", candidates="p3", aligned=True, top_k=1)
    assert {r.language for r in aligned.ranking} == {"en"} and {r.template_set for r in aligned.ranking} == {"ko_korani"}
    assert aligned.ranking[0].cluster == "sentiment" and aligned.ranking[0].score == pytest.approx(1.0)
    assert "quartz" in aligned.skipped   # no templates of its own in that set
    # English target, Korean candidates in English P3-style templates
    reverse = selection.select("super_glue_copa", candidates="ko", aligned=True)
    assert {r.language for r in reverse.ranking} == {"ko"} and {r.template_set for r in reverse.ranking} == {"en_p3"}
    # not aligned: every candidate in its native set, and lexical scores across languages are flagged
    with caplog.at_level("WARNING"):
        native = selection.select("super_glue_copa", candidates="korani")
    assert {r.template_set for r in native.ranking} == {"ko_korani"}
    assert "use aligned=True" in caplog.text
    assert max(r.score for r in native.ranking) < min(r.score for r in reverse.ranking[:3])


def test_encoder_embeddings_rank_with_a_tiny_model(tiny_model):
    config, params = tiny_model
    tokenizer = ByteTokenizer()

    def embed(texts):
        return embeddings.encoder_embeddings(texts, params, config, tokenizer, batch_size=64, max_length=128,
                                             buckets=(128,))   # one compiled shape

    result = selection.select("kor_sts", embed=embed, embedder_name="tiny mT5", top_k=2)
    again = selection.select("kor_sts", embed=embed, embedder_name="tiny mT5", top_k=2)
    assert result.to_dict() == again.to_dict() and result.embedder == "tiny mT5"
    assert result.ranking[0].dataset == "klue_sts" and result.ranking[0].score == pytest.approx(1.0, abs=1e-5)
    assert all(-1.0 <= r.score <= 1.0 + 1e-6 for r in result.ranking)


def test_a_checkpoint_embedder_reads_params_config_and_vocabulary(tiny_model, tmp_path):
    """select --checkpoint: an xlit checkpoint with its spiece.model embeds as encoder_embeddings does."""
    from seqio_tasks import demo, vocab
    from xlit_jax.checkpoints.xlit_format import save_xlit
    from xlit_jax.tokenizer import Tokenizer

    config, params = tiny_model
    texts = [line for path in sorted(demo.DEMO_DIR.glob("*.jsonl"))[:4] for line in path.read_text().splitlines()]
    spm = vocab.train_vocabulary(texts, tmp_path / "spm.model", 512)
    checkpoint = save_xlit(params, config, tmp_path / "ckpt", spm)
    embed, description = selection.encoder_embedder(str(checkpoint), batch_size=4, max_length=64)
    assert "spiece.model" in description and "64 wide" in description
    sample = ["다음 문장의 감정을 고르세요: ___", "Which is more likely? ___"]
    expected = embeddings.encoder_embeddings(sample, params, config, Tokenizer(spm), batch_size=4, max_length=64)
    assert np.allclose(embed(sample), expected, atol=1e-5)


def test_real_examples_and_required_data(shared_data):
    result = selection.select("kobest_copa", num_examples=2, require_data=True, top_k=2)
    assert result.ranking and all(r.has_data for r in result.ranking)
    assert set(result.skipped.values()) <= {"no training data here", "no data for examples under ko_korani"}
    texts = selection.instructions("kobest_copa", "ko_korani", num_examples=2).texts
    assert texts and not any(selection.PLACEHOLDER in t for t in texts)


def test_bad_input_is_one_clear_error():
    with pytest.raises(selection.SelectionError, match="did you mean: kobest_copa"):
        selection.select("kobest_cop")
    with pytest.raises(selection.SelectionError, match="not a meta-dataset"):
        selection.select("kobest_copa", candidates="xx")
    with pytest.raises(selection.SelectionError, match="aggregate"):
        selection.select("kobest_copa", aggregate="median")
    with pytest.raises(selection.SelectionError, match="no target"):
        selection.selected_datasets(target=None)


# ------------------------------------------------------------------------------ CLI and gin


def test_cli_writes_the_ranking_and_reports_unknown_targets(tmp_path, capsys):
    from xlit_jax import cli

    output = tmp_path / "ranking.json"
    assert cli.main(["select", "--target", "kobest_copa", "--top_k", "2", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    written = json.loads(output.read_text())
    assert written == selection.select("kobest_copa", top_k=2).to_dict()
    assert f"selected (top 2): {', '.join(written['selected'])}" in printed
    assert cli.main(["select", "--target", "kobest_cop", "--output", str(output)]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("xlit select: error:") and "kobest_copa" in error[0]


def test_gin_selector_feeds_the_subset_experiment(shared_data):
    import gin

    from xlit_jax import gin_utils
    from xlit_jax.commands import wiring

    wiring.import_configurables()
    gin.clear_config()
    try:
        gin_utils.parse_gin(["models/mt5_tiny.gin", "experiments/korani_subset.gin"],
                            ["MODEL_DIR = '/tmp/model'", "SUBSET_DATASETS = @xlit.selected_datasets()",
                             "SELECTION_TARGET = 'kobest_copa'"], finalize=False)
        with gin.config_scope("SUBSET_DATASETS"):   # where gin calls a macro's configurable
            chosen = selection.selected_datasets()
    finally:
        gin.clear_config()
    expected = selection.select("kobest_copa", candidates="korani", top_k=3, require_data=True).selected
    assert chosen == expected and len(chosen) == 3
    assert all(selection.has_training_data(name) for name in chosen)
