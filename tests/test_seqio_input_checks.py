"""SeqioData's checks: feature lengths, registered names with close suggestions, the resume-skip limit."""
import pytest

from train_fixtures import register_tiny_task, train_tiny_vocab

pytest.importorskip("seqio")

LENGTHS = {"inputs": 24, "targets": 16}
NAME = "xlit_test_checks_reverse"


@pytest.fixture(scope="module")
def tiny_task(tmp_path_factory):
    register_tiny_task(NAME, train_tiny_vocab(tmp_path_factory.mktemp("vocab")), num_examples=16)
    return NAME


@pytest.mark.parametrize("lengths, message", [
    ({"inputs": 0, "targets": 16}, r"task_feature_lengths\['inputs'\] must be a positive integer, got 0"),
    ({"inputs": 24, "targets": -3}, r"task_feature_lengths\['targets'\] must be a positive integer, got -3"),
    ({"inputs": 24}, r"no 'targets' length"),
])
def test_bad_lengths_are_named_at_construction(lengths, message):
    from xlit_jax.data.seqio_input import SeqioData

    with pytest.raises(ValueError, match=message):
        SeqioData(NAME, lengths)


def test_unregistered_name_suggests_close_names(tiny_task):
    from xlit_jax.data.seqio_input import SeqioData

    SeqioData(tiny_task, LENGTHS).validate()
    with pytest.raises(ValueError, match=rf"no seqio task or mixture named 'xlit_test_checks_revers'.*'{NAME}'"):
        SeqioData("xlit_test_checks_revers", LENGTHS).validate()
    with pytest.raises(ValueError, match="no_such_task"):
        SeqioData("no_such_task", LENGTHS).batches(4)


def test_resuming_past_the_skip_limit_names_the_cache_command(tiny_task):
    from xlit_jax.data.seqio_input import SeqioData

    data = SeqioData(tiny_task, LENGTHS, max_resume_skip=3)
    next(data.batches(4, start_position=3))  # at the limit: skipped
    with pytest.raises(ValueError, match=r"batch 4 .*max_resume_skip=3.*xlit cache --mixture NAME --output DIR"):
        data.batches(4, start_position=4)
    assert SeqioData(tiny_task, LENGTHS).max_resume_skip == 2000
