"""accelsim: simulator of MTJ (STT-MRAM) crossbar accelerators running binarized neural networks.

The Python API (``accelsim.api``): ``run``, ``sweep``, ``load_arch``, ``load_network``, ``from_torch``,
``RunOutcome``; imported on first use, so ``import accelsim`` and ``accelsim --version`` stay quick.
"""

__version__ = "0.1.0"

#: The names ``accelsim`` exports from ``accelsim.api``.
_API = ("run", "sweep", "load_arch", "load_network", "from_torch", "RunOutcome")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from accelsim import api

        return getattr(api, name)
    raise AttributeError(f"module 'accelsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
