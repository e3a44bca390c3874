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


def conv_popcount(maps_pm1: np.ndarray, w_pm1: np.ndarray, k: int) -> np.ndarray:
    """XNOR popcounts of a valid, stride-1 convolution by plain loops.

    maps_pm1 (n, H, W, C) of +-1; w_pm1 (F, k * k * C) with each row in (ky, kx, c) order.
    Returns int (n, H - k + 1, W - k + 1, F).
    """
    n, h, w, c = maps_pm1.shape
    f = w_pm1.shape[0]
    filt = w_pm1.reshape(f, k, k, c)
    out = np.zeros((n, h - k + 1, w - k + 1, f), dtype=np.int64)
    for i in range(n):
        for y in range(h - k + 1):
            for x in range(w - k + 1):
                for j in range(f):
                    out[i, y, x, j] = int(np.sum(maps_pm1[i, y:y + k, x:x + k, :] == filt[j]))
    return out


def max_pool2(values: np.ndarray) -> np.ndarray:
    """2 x 2 max-pool of stride 2 of (n, H, W, F) by plain loops (odd trailing row/column dropped)."""
    n, h, w, f = values.shape
    out = np.zeros((n, h // 2, w // 2, f), dtype=values.dtype)
    for i in range(n):
        for y in range(h // 2):
            for x in range(w // 2):
                for j in range(f):
                    out[i, y, x, j] = max(values[i, 2 * y + dy, 2 * x + dx, j]
                                          for dy in (0, 1) for dx in (0, 1))
    return out


def real_conv(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Real cross-correlation by plain loops: x (n, H, W, C), w (k, k, C, F) -> (n, H-k+1, W-k+1, F)."""
    n, h, wd, c = x.shape
    k, f = w.shape[0], w.shape[3]
    out = np.zeros((n, h - k + 1, wd - k + 1, f))
    for i in range(n):
        for y in range(h - k + 1):
            for xx in range(wd - k + 1):
                for j in range(f):
                    out[i, y, xx, j] = float(np.sum(x[i, y:y + k, xx:xx + k, :] * w[:, :, :, j]))
    return out


def sense(x_pm1, states, *, plus_one_ap=True, n_phases=2, p_misread_p=0.0, p_misread_ap=0.0,
          p_disturb_p=0.0, p_disturb_ap=0.0, rng=None):
    """Two-phase (or phase-1-only) sensing read by read, images in order.

    Phase 1 reads the rows of +1 inputs, phase 2 those of -1 inputs (none with one phase). Each read of
    a cell in state s (1 = AP) comes out as the other state with p_misread_s; a read counts when it
    shows the phase's counted state (phase 1: AP if ``plus_one_ap``, phase 2: the other). After the
    image, each read cell in state s flips with p_disturb_s. Probabilities are per neuron arrays or
    scalars; ``rng`` draws one uniform per read and per read cell (none needed when every p is 0 or 1).
    Returns (popcount (n_img, n_out), activity [phase, state], rows [phase], misreads, flips) and
    updates ``states``.
    """
    n_img, n_in = x_pm1.shape
    n_out = states.shape[0]
    probs = [np.broadcast_to(np.asarray(p, dtype=float), (n_out,))
             for p in (p_misread_p, p_misread_ap, p_disturb_p, p_disturb_ap)]
    mis, dis = (probs[0], probs[1]), (probs[2], probs[3])

    def happens(p):
        return p >= 1.0 or (p > 0.0 and rng.random() < p)

    pop = np.zeros((n_img, n_out), dtype=np.int64)
    act = np.zeros((2, 2), dtype=np.int64)
    rows = np.zeros(2, dtype=np.int64)
    misreads = flips = 0
    counted = (1, 0) if plus_one_ap else (0, 1)  # state counted in phase 1, phase 2
    for i in range(n_img):
        read_rows = np.zeros(n_in, dtype=bool)
        for phase, sign in enumerate((1, -1)[:n_phases]):
            active = [k for k in range(n_in) if x_pm1[i, k] == sign]
            rows[phase] += len(active)
            read_rows[active] = True
            for j in range(n_out):
                for k in active:
                    s = int(states[j, k])
                    act[phase, s] += 1
                    shown = s
                    if happens(mis[s][j]):
                        shown = 1 - s
                        misreads += 1
                    pop[i, j] += shown == counted[phase]
        for j in range(n_out):
            for k in np.flatnonzero(read_rows):
                s = int(states[j, k])
                if happens(dis[s][j]):
                    states[j, k] = 1 - s
                    flips += 1
    return pop, act, rows, misreads, flips
