"""Unread gin bindings: what the comparison of the parsed and the operative config reports."""
import gin
import pytest

from xlit_jax.gin_checks import check_all_bindings_read, unread_bindings


@gin.configurable(module="gin_checks_test")
def build(width: int = 1, depth: int = 2) -> int:
    return width * depth


@gin.configurable(module="gin_checks_test")
def never_called(size: int = 0) -> int:
    return size


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def test_overridden_and_uncalled_bindings_are_named_scoped_alternatives_are_not():
    gin.parse_config("""
        WIDTH = 3
        gin_checks_test.build.width = %WIDTH
        gin_checks_test.build.depth = 5
        gin_checks_test.never_called.size = 1
        spare/gin_checks_test.build.depth = 7
        used/gin_checks_test.build.depth = 9
    """)
    build(depth=4)  # the caller overrides depth
    with gin.config_scope("used"):
        build(width=1)  # reads its scoped depth, overrides width (whose binding is the unscoped one)
    # gin prints the shortest unambiguous selector, as in its own config strings
    assert unread_bindings(gin.config_str(), gin.operative_config_str()) == ["build.depth", "never_called.size"]
    with pytest.raises(ValueError, match=r"build\.depth, never_called\.size"):
        check_all_bindings_read()


def test_every_binding_read_passes():
    gin.parse_config("gin_checks_test.build.width = 2\ngin_checks_test.build.depth = 3")
    assert build() == 6
    check_all_bindings_read()
    assert unread_bindings("a.b.c = 1\n    continued\n# a.b.d = 2\n", "a.b.c = 1\n") == []
