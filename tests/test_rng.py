import numpy as np
import pytest

from accelsim.rng import stream


def test_streams_are_reproducible_and_independent():
    a = stream(7, "write", 0, 1).random(5)
    assert np.array_equal(a, stream(7, "write", 0, 1).random(5))
    assert not np.array_equal(a, stream(7, "write", 0, 2).random(5))
    assert not np.array_equal(a, stream(7, "retention", 0, 1).random(5))
    assert not np.array_equal(a, stream(8, "write", 0, 1).random(5))


def test_unknown_stream_is_refused():
    with pytest.raises(KeyError, match="unknown random stream"):
        stream(0, "nonsense")
