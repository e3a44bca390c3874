"""Slow, obviously correct versions of the numba kernels, for the kernel tests."""

import numpy as np


def xnor_popcount(x_pm1: np.ndarray, w_pm1: np.ndarray) -> np.ndarray:
    return np.array([[int(np.sum(xi == wj)) for wj in w_pm1] for xi in x_pm1], dtype=np.int32)


def program(target, previous, p_fail_to_ap, p_fail_to_p, uniforms):
    out = []
    for t, prev, pa, pp, u in zip(target, previous, p_fail_to_ap, p_fail_to_p, uniforms):
        if t == prev:
            out.append(t)
        else:
            p = pa if t == 1 else pp
            out.append(prev if u < p else t)
    return np.array(out, dtype=np.uint8)


def retention_step(states, p_to_p, p_to_ap, uniforms):
    out = states.copy()
    for k, (s, u) in enumerate(zip(states, uniforms)):
        if s == 1 and u < p_to_p[k]:
            out[k] = 0
        elif s == 0 and u < p_to_ap[k]:
            out[k] = 1
    return out
