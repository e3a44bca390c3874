"""Named reproductions of the papers' results (`accelsim reproduce NAME`).

``registry.CATALOG`` names every target without importing it; ``load_target(name)`` imports one.
``TARGETS`` (all targets, by name) imports every target module on first use.
"""

from accelsim.reproduce.registry import CATALOG, Comparison, Target, TargetInfo, load_all, load_target, target

__all__ = ["CATALOG", "TARGETS", "Comparison", "Target", "TargetInfo", "load_all", "load_target", "target"]


def __getattr__(name: str):
    if name == "TARGETS":
        return load_all()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
