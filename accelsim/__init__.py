"""accelsim: simulator of MTJ (STT-MRAM) crossbar accelerators running binarized neural networks."""

__version__ = "0.1.0"
