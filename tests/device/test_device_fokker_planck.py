"""Tzoufras' Fokker-Planck model (PHYSICS.md section 4): the pentadiagonal matrix against a Galerkin
projection of the operator, the worked table, mean times and moments, and the vectorised form."""

import numpy as np
import pytest
from numpy.polynomial import legendre as L

from accelsim.device.fokker_planck import (
    fp_half_integrals,
    fp_initial_coefficients,
    fp_matrix,
    fp_probabilities,
    fp_switching_moments,
    fp_write_error_rate,
)


def galerkin_matrix(i, h, delta, n_max):
    """Slow, obviously correct: apply d/dz{(1-z^2)[-(z+h-i) rho + rho'/(2 Delta)]} to each P_n in the
    Legendre basis (exact polynomial arithmetic) and read off its Legendre coefficients."""
    one_minus_z2 = L.poly2leg([1.0, 0.0, -1.0])
    drift = L.poly2leg([h - i, 1.0])  # z + h - i
    a = np.zeros((n_max + 1, n_max + 1))
    for n in range(n_max + 1):
        p = np.zeros(n + 1)
        p[n] = 1.0
        inner = L.legsub(-L.legmul(drift, p), -L.legder(p) / (2 * delta) if n else [0.0])
        col = L.legder(L.legmul(one_minus_z2, inner))
        m = min(len(col), n_max + 1)
        a[:m, n] = col[:m]
    return a


@pytest.mark.parametrize("i, h", [(0.0, 0.0), (2.0, 0.05), (0.4, -0.1)])
def test_pentadiagonal_matrix_equals_galerkin_projection(i, h):
    a = fp_matrix(i, h, 40.0, 40)
    g = galerkin_matrix(i, h, 40.0, 40)
    assert np.max(np.abs(a - g)) < 1e-9 * np.max(np.abs(a))


def test_initial_condition_is_normalised_and_in_the_upper_well():
    wer, psw = fp_probabilities(1.0, 0.0, 40.0, 0.0, 120)
    assert wer == pytest.approx(1.0, abs=1e-12)
    assert psw < 1e-13
    r0 = fp_initial_coefficients(40.0, 120)
    assert 2 * np.pi * r0[0] * 2 == pytest.approx(1.0)  # 2 pi integral(rho) = 2 pi * 2 r_0
    s = fp_half_integrals(6)
    assert s[:4] == pytest.approx([1.0, 0.5, 0.0, -0.125])


def test_worked_table_voltage_for_wer():
    # PHYSICS.md section 4: Delta 40, tau 5; V/Vc0 giving each WER. Forward check at the table's V.
    table = {1e-10: 3.739, 1e-6: 2.783, 1e-3: 2.032, 1e-2: 1.7625, 0.1: 1.459, 0.5: 1.168}
    for wer, i in table.items():
        got, _ = fp_probabilities(i, 5.0, 40.0)
        assert np.log(got) == pytest.approx(np.log(wer), abs=0.03 * abs(np.log(wer)) + 0.01)


def test_order_convergence():
    for i in (1.5, 3.0, 3.739):
        ref, _ = fp_probabilities(i, 5.0, 40.0, 0.0, 0)
        more, _ = fp_probabilities(i, 5.0, 40.0, 0.0, 216)
        assert ref == pytest.approx(more, rel=1e-3)


def test_mean_times_and_shape():
    # PHYSICS.md sections 2 and 3 (Delta 40, tau_D 2 ns): 53.5 ns at i 0.8, 17.4 at 1.0, 4.08 at 2;
    # moment-fit k = 10.9 at i 2.
    for i, t_ns in ((0.8, 53.5), (1.0, 17.4), (2.0, 4.08), (3.0, 2.35)):
        mean_tau, _ = fp_switching_moments(i, 40.0)
        assert 2.0 * mean_tau == pytest.approx(t_ns, rel=0.01)
    assert fp_switching_moments(2.0, 40.0)[1] == pytest.approx(10.9, abs=0.05)


def test_vectorised_interpolation_matches_exact(rng):
    i = rng.normal(2.0, 0.15, 5000)
    got = fp_write_error_rate(i, 5.0, 40.0, n_legendre=120, n_grid=24)
    probe = i[:5]
    exact = np.array([fp_probabilities(x, 5.0, 40.0, 0.0, 120)[0] for x in probe])
    assert got[:5] == pytest.approx(exact, rel=2e-3)
    psw = fp_write_error_rate(i[:5], 5.0, 40.0, n_legendre=120, switching=True)
    assert psw + exact == pytest.approx(np.ones(5), abs=1e-12)
