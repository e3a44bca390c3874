"""numba kernels: the hot loops over arrays of cells and bit-packed activations.

Kernels are private (``_name``); each module's public wrapper validates, allocates and draws random
numbers from the run's generators, then calls the kernel.
"""
