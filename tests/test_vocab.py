"""seqio_tasks.vocab: the vocabulary setting and T5-style sentencepiece training."""
import random

import gin
import pytest
import sentencepiece as spm

from seqio_tasks import vocab

KOREAN_WORDS = "전쟁이 시작되었다 병사들이 집으로 돌아왔다 남자는 토스트가 타는 냄새를 맡았다 영화를 보고 눈물을 흘렸다".split()
ENGLISH_WORDS = "the war started soldiers came home a man smelled burning toast she cried at the movie".split()


def _sentences(count: int = 300) -> list[str]:
    rng = random.Random(0)
    return [" ".join(rng.choice(KOREAN_WORDS + ENGLISH_WORDS) for _ in range(rng.randint(4, 12))) + "."
            for _ in range(count)]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return vocab.train_vocabulary(_sentences(), tmp_path_factory.mktemp("vocab") / "spm.model", vocab_size=400)


def test_trained_model_has_t5_special_ids(model_path):
    model = spm.SentencePieceProcessor(model_file=str(model_path))
    assert (model.pad_id(), model.eos_id(), model.unk_id(), model.bos_id()) == (0, 1, 2, -1)
    assert model.id_to_piece(0) == "<pad>" and model.id_to_piece(1) == "</s>"
    assert model.get_piece_size() <= 400


def test_byte_fallback_round_trips_unseen_characters(model_path):
    model = spm.SentencePieceProcessor(model_file=str(model_path))
    text = "남자는 토스트를 샀다 🍞 zebra"
    ids = model.encode(text)
    assert model.unk_id() not in ids
    assert model.decode(ids) == text


def test_seqio_vocabulary_matches_sentencepiece(model_path):
    seqio_vocab = vocab.get_vocabulary(str(model_path))
    model = spm.SentencePieceProcessor(model_file=str(model_path))
    text = "영화를 보고 눈물을 흘렸다. she cried"
    assert list(seqio_vocab.encode(text)) == model.encode(text)
    assert seqio_vocab.decode(model.encode(text)) == text
    assert seqio_vocab.vocab_size == model.get_piece_size()
    assert (seqio_vocab.pad_id, seqio_vocab.eos_id) == (0, 1)


def test_vocabulary_path_precedence(monkeypatch):
    monkeypatch.delenv(vocab.VOCAB_ENV, raising=False)
    assert vocab.vocabulary_path() == vocab.MT5_VOCABULARY
    assert vocab.get_vocabulary().sentencepiece_model_file == vocab.MT5_VOCABULARY
    assert vocab.get_vocabulary()._extra_ids == 0
    monkeypatch.setenv(vocab.VOCAB_ENV, "/env/spm.model")
    assert vocab.vocabulary_path() == "/env/spm.model"
    try:
        gin.bind_parameter("xlit.vocabulary_path.path", "/gin/spm.model")
        assert vocab.vocabulary_path() == "/gin/spm.model"
        assert vocab.get_vocabulary().sentencepiece_model_file == "/gin/spm.model"
    finally:
        gin.clear_config()
    assert vocab.vocabulary_path("/explicit.model") == "/explicit.model"


def test_empty_text_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no text"):
        vocab.train_vocabulary(["", "  "], tmp_path / "x.model", vocab_size=100)


def test_train_from_registered_tasks(tmp_path, shared_data, task_catalog):
    from seqio_tasks import task_specs

    names = [s.name for s in task_specs.all_specs() if s.info.dataset.startswith("kobest") and task_specs.has_data(s)]
    if not names:
        pytest.skip("no KoBEST task has data")
    path = vocab.train_vocabulary([r"^kobest_copa\."], tmp_path / "tasks.model", vocab_size=800, from_tasks=True,
                                  max_examples_per_task=50)
    model = spm.SentencePieceProcessor(model_file=str(path))
    assert (model.pad_id(), model.eos_id()) == (0, 1)
    # Korean text of the COPA data is covered without unknown pieces.
    row = task_specs.rendered_examples(task_specs.get_spec(names[0]), max_examples=1)[0]
    assert model.unk_id() not in model.encode(row["inputs"])
