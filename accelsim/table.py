"""Small tables of results (a run's summary row, its timeline) written as CSV without pandas.

A run's CSV files are what ``pandas.DataFrame(rows, columns=...).to_csv(index=False)`` writes, byte
for byte (tested against pandas), but a command-line run does not pay pandas' import (about 0.2 s of a
run that takes about a second): ``frame`` builds the DataFrame only for whoever asks for one.

pandas' rules that matter here, applied per column: a column of integers, or of numbers some of them
floats, or numbers with missing values (None or NaN), is a float column and every number in it is
written as a float (``3.0``); a missing value is an empty field; floats are written in the shortest
form that reads back to the same double (``repr``); booleans as ``True``/``False``; anything else as
``str``; fields are quoted as the csv module does (minimal quoting), lines end in ``\\n``.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral)
                         and math.isnan(v))


def _column_kind(values: Sequence[Any]) -> str:
    """'float' (numbers written as floats), 'int', 'bool' or 'object' (each value as itself)."""
    present = [v for v in values if not _missing(v)]
    has_missing = len(present) < len(values)
    if present and all(isinstance(v, bool) or type(v).__name__ == "bool_" for v in present):
        return "object" if has_missing else "bool"
    if present and all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                       and type(v).__name__ != "bool_" for v in present):
        if all(isinstance(v, numbers.Integral) for v in present) and not has_missing:
            return "int"
        return "float"
    if not present and values:
        return "float"  # an all-missing column: pandas writes empty fields
    return "object"


def _field(v: Any, kind: str) -> str:
    if _missing(v):
        return ""
    if kind == "float":
        return repr(float(v))
    if kind == "int":
        return str(int(v))
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return "True" if v else "False"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))
    return str(v)


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text of ``rows`` (sequences in ``columns``' order) under a header, as pandas writes it."""
    rows = [tuple(r) for r in rows]
    for r in rows:
        if len(r) != len(columns):
            raise ValueError(f"a row of {len(r)} values for {len(columns)} columns")
    kinds = [_column_kind([r[c] for r in rows]) for c in range(len(columns))]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([str(c) for c in columns])
    for r in rows:
        writer.writerow([_field(v, k) for v, k in zip(r, kinds)])
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of values under named columns: ``csv`` writes them, ``frame`` gives a DataFrame."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    @classmethod
    def of(cls, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
        return cls(tuple(columns), tuple(tuple(r) for r in rows))

    def with_first(self, name: str, value: Any) -> Table:
        """The table with a column ``name`` holding ``value`` in every row put first."""
        return Table((name, *self.columns), tuple((value, *r) for r in self.rows))

    def csv(self) -> str:
        return csv_text(self.columns, self.rows)

    def frame(self):
        """A ``pandas.DataFrame`` of the rows (pandas imported here)."""
        import pandas as pd

        return pd.DataFrame(list(self.rows), columns=list(self.columns))

    def __len__(self) -> int:
        return len(self.rows)
