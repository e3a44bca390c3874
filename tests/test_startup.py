"""Start-up: building the ``accelsim`` parser and printing any command's help imports no heavy module,
and the light registry of reproduction targets agrees with the targets themselves."""

import importlib
import json
import pkgutil
import subprocess
import sys

import pytest

import accelsim.reproduce
from accelsim.cli import DEVICE_CURVES, build_parser
from accelsim.reproduce.registry import CATALOG, TARGETS, load_all

HEAVY = ("scipy", "matplotlib", "numba", "pandas", "simpy", "dask", "onnx", "optuna", "accelsim.kernels",
         *sorted({info.module for info in CATALOG.values()}))
COMMANDS = ("run", "sweep", "optimize", "plot", "reproduce", "train", "device", "inspect", "import")

_PROBE = """
import contextlib, io, json, sys
from accelsim.cli import build_parser
parser = build_parser()
argv = sys.argv[1:]
if argv:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 0, exc.code
    assert out.getvalue().startswith(("usage: accelsim", "accelsim ")), out.getvalue()
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(*argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("argv", [(), ("--version",), *((c, "--help") for c in COMMANDS)],
                         ids=lambda argv: " ".join(argv) or "build_parser")
def test_parser_and_help_import_no_heavy_module(argv):
    loaded = _modules_after(*argv)
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == []


def test_the_probe_would_see_a_heavy_import():
    # the check above is not vacuous: running a reproduction target's import shows up in the list
    done = subprocess.run([sys.executable, "-c", "import json, sys; import accelsim.reproduce.munch; "
                           "print(json.dumps(sorted(sys.modules)))"], capture_output=True, text=True,
                          timeout=120)
    assert {"pandas", "accelsim.reproduce.munch"} <= set(json.loads(done.stdout))


def test_catalog_and_registered_targets_agree():
    package = accelsim.reproduce
    for module in pkgutil.iter_modules(package.__path__):  # every module, listed or not
        importlib.import_module(f"{package.__name__}.{module.name}")
    assert set(TARGETS) == set(CATALOG)
    for name, info in CATALOG.items():
        target = TARGETS[name]
        assert (target.name, target.run.__module__, target.paper, target.summary) == (
            name, info.module, info.paper, info.summary)
    assert list(load_all()) == list(CATALOG)


def test_reproduce_help_lists_every_target(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "--help"])
    words = capsys.readouterr().out.split()
    assert all(f"{name}:" in words for name in CATALOG)


def test_device_curves_of_the_parser_are_the_curves_computed():
    from accelsim.device.command import _TABLES

    assert list(DEVICE_CURVES) == list(_TABLES)
