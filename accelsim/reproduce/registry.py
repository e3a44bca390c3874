"""The registry of reproduction targets: a name, the paper it reproduces, and the function that runs it.

``CATALOG`` lists every target (name, module, paper, summary) without importing anything heavy, so the
CLI can list and check names; ``load_target(name)`` imports the target's module only when it is run.
A target function ``fn(out_dir: Path, quick: bool, seed: int) -> list[Comparison]`` writes
``out_dir/NAME.csv`` and ``out_dir/NAME.png`` and returns the paper-vs-accelsim lines to print.
The paper's numbers live in the target modules (as what we compare to), never in the models.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_PKG = "accelsim.reproduce"
_P000, _P001, _P002, _P003 = ("000_0b68741c33db5fc2.txt", "001_f0bffcc17beeda5c.txt",
                              "002_ea6f7b7a5028ee47.txt", "003_65ea5c885b1a7706.txt")


@dataclass(frozen=True, kw_only=True, slots=True)
class Comparison:
    """One line of a reproduction's printout: a quantity, the paper's value and ours (both as text)."""

    quantity: str
    paper: str
    ours: str


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetInfo:
    """What the CLI knows of a target before importing it: its name, module, paper and summary."""

    name: str
    module: str
    paper: str
    summary: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    name: str
    paper: str
    summary: str
    run: Callable[[Path, bool, int], list[Comparison]]


def _info(name: str, module: str, paper: str, summary: str) -> tuple[str, TargetInfo]:
    return name, TargetInfo(name=name, module=f"{_PKG}.{module}", paper=paper, summary=summary)


#: Every reproduction target, in the order ``accelsim reproduce all`` runs them. The one place a
#: target's name, paper and summary are written down; ``@target`` checks its module against it.
CATALOG: dict[str, TargetInfo] = dict([
    _info("locatelli-fig2", "device_targets", _P003,
          "programming energy per bit vs target BER, ideal and with variability (Fig. 2)"),
    _info("hirtzlin-fig4", "device_targets", _P000,
          "programming energy per bit vs BER, 28 nm driver, with and without variability (Fig. 4)"),
    _info("tzoufras-table1", "device_targets", _P001,
          "pulse amplitude/length for WER targets and the endurance gain (Table I, Fig. 5)"),
    _info("hirtzlin-fig2", "hirtzlin", _P000, "MNIST MLP accuracy vs weight bit-error rate (Fig. 2)"),
    _info("hirtzlin-fig5", "hirtzlin", _P000,
          "MNIST MLP accuracy vs programming energy per bit, with and without variability (Fig. 5)"),
    _info("munch-area", "munch", _P002,
          "cell/array area and leakage saved by Delta-40 cells and the 90/10 mixed array (Sec. III-D)"),
    _info("munch-fig7", "munch_retention", _P002,
          "conventional 784-1024-10 network: accuracy and HRS cells over 10 years vs Delta (Fig. 7)"),
    _info("munch-fig9", "munch_retention", _P002,
          "HRS-minimised 784-1024-10 network: accuracy and HRS cells over 10 years vs Delta (Fig. 9)"),
    _info("munch-fig14", "munch_retention", _P002,
          "HRS-minimised networks on the 90/10 mixed array vs all-Delta-40, and the conventional "
          "network, over 10 years (Fig. 14 against Figs. 7b and 9b)"),
    _info("munch-fig8", "munch_retention", _P002,
          "HRS-minimising training: HRS share and accuracy (clean, after 10 years at Delta 40) vs "
          "alpha (Fig. 8)"),
    _info("tzoufras-fig1", "training_targets", _P001,
          "binarized LeNet-4 on MNIST: test accuracy vs epochs for activation BER 0-16 % (Fig. 1)"),
    _info("locatelli-fig3", "training_targets", _P003,
          "784-300-10 tanh MLP, 16-bit weights in approximate MRAM: accuracy vs uniform BER (Fig. 3)"),
    _info("locatelli-fig4", "training_targets", _P003,
          "two-stage programming: accuracy vs LSB BER for 8-14 LSBs, HSBs at 1 % (Fig. 4)"),
    _info("locatelli-fig5", "training_targets", _P003,
          "accuracy vs total programming energy per synaptic weight, uniform and two-stage (Fig. 5)"),
])

#: The targets whose modules have been imported (filled by ``@target``).
TARGETS: dict[str, Target] = {}


def target(name: str):
    """Decorator registering ``fn(out_dir, quick, seed) -> list[Comparison]`` as target ``name``.

    ``name`` must be in ``CATALOG`` with the decorated function's module; its paper and summary come
    from the catalogue (the one place they are written).
    """

    def register(fn):
        info = CATALOG.get(name)
        if info is None:
            raise RuntimeError(f"reproduction target {name!r} is not in accelsim.reproduce.registry.CATALOG")
        if fn.__module__ != info.module:
            raise RuntimeError(f"reproduction target {name!r} is defined in {fn.__module__}, "
                               f"CATALOG says {info.module}")
        if name in TARGETS:
            raise RuntimeError(f"reproduction target {name!r} registered twice")
        TARGETS[name] = Target(name=name, paper=info.paper, summary=info.summary, run=fn)
        return fn

    return register


def load_target(name: str) -> Target:
    """The target ``name`` of ``CATALOG``, importing its module (KeyError for an unknown name)."""
    info = CATALOG[name]
    importlib.import_module(info.module)
    if name not in TARGETS:
        raise RuntimeError(f"{info.module} does not register reproduction target {name!r}")
    return TARGETS[name]


def load_all() -> dict[str, Target]:
    """Every target of ``CATALOG``, in its order (imports every target module)."""
    return {name: load_target(name) for name in CATALOG}
