"""The registry of reproduction targets: a name, the paper it reproduces, and the function that runs it.

A target function ``fn(out_dir: Path, quick: bool, seed: int) -> list[Comparison]`` writes
``out_dir/NAME.csv`` and ``out_dir/NAME.png`` and returns the paper-vs-accelsim lines to print.
The paper's numbers live in the target modules (as what we compare to), never in the models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True, slots=True)
class Comparison:
    """One line of a reproduction's printout: a quantity, the paper's value and ours (both as text)."""

    quantity: str
    paper: str
    ours: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    name: str
    paper: str
    summary: str
    run: Callable[[Path, bool, int], list[Comparison]]


TARGETS: dict[str, Target] = {}


def target(name: str, *, paper: str, summary: str):
    """Decorator registering ``fn(out_dir, quick, seed) -> list[Comparison]`` as target ``name``."""

    def register(fn):
        if name in TARGETS:
            raise RuntimeError(f"reproduction target {name!r} registered twice")
        TARGETS[name] = Target(name=name, paper=paper, summary=summary, run=fn)
        return fn

    return register
