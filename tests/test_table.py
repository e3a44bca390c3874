"""accelsim.table writes the CSV text pandas writes for the same rows (pandas is the reference)."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.table import Table, csv_text

CASES = {
    "ints": [(1, 2), (3, -4)],
    "floats": [(0.96, 1e-05), (4.940277546417846e-07, 1e16), (0.1 + 0.2, -0.0)],
    "int and float in a column": [(1, 0.5), (2.5, 1)],
    "missing numbers": [(None, 1), (2, float("nan")), (3, 4)],
    "all missing": [(None, "a"), (None, "b")],
    "bools": [(True, False), (False, True)],
    "bool with missing": [(True, 1.5), (None, 2.5)],
    "numpy scalars": [(np.int64(7), np.float64(0.25), np.bool_(True)),
                      (np.int64(-1), np.float64(1e-300), np.bool_(False))],
    "text needing quotes": [("a,b", 'say "hi"'), ("line\nbreak", "plain")],
    "mixed object column": [("x", 1), (2.5, "y"), (True, None)],
    "infinities": [(math.inf, -math.inf)],
    "one summary-like row": [("mixed_retention", "mlp784", "mnist", 0, 2000, 1, 0.9605, 0.96, None,
                              4.94e-07, 44800.3, True)],
}


def _pandas(columns, rows):
    return pd.DataFrame([list(r) for r in rows], columns=columns).to_csv(index=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_csv_text_is_what_pandas_writes(name):
    rows = CASES[name]
    columns = [f"c{i}" for i in range(len(rows[0]))]
    assert csv_text(columns, rows) == _pandas(columns, rows)


def test_table_frame_and_first_column():
    t = Table.of(["a", "b"], [(1, 0.5), (2, 0.25)]).with_first("run_id", "r")
    assert t.columns == ("run_id", "a", "b") and len(t) == 2
    expected = pd.DataFrame({"run_id": ["r", "r"], "a": [1, 2], "b": [0.5, 0.25]})
    pd.testing.assert_frame_equal(t.frame(), expected)
    assert t.csv() == expected.to_csv(index=False)


def test_rows_must_match_the_columns():
    with pytest.raises(ValueError):
        csv_text(["a", "b"], [(1,)])


_value = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                   st.floats(allow_nan=True, allow_infinity=True, width=64),
                   st.text(alphabet="ab,\"\n x", max_size=4))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.lists(st.tuples(*[_value] * n), min_size=1, max_size=4)))
def test_random_tables_match_pandas(rows):
    columns = [f"c{i}" for i in range(len(rows[0]))]
    assert csv_text(columns, rows) == _pandas(columns, rows)
