"""Named reproductions of the papers' results (`accelsim reproduce NAME`).

Each module in this package registers its targets with ``registry.target``; importing the package
imports them all.
"""

import importlib
import pkgutil

from accelsim.reproduce.registry import TARGETS, Comparison, target

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "registry":
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["TARGETS", "Comparison", "target"]
