"""Endurance: barrier breakdown vs write voltage (001 Sec. III; PHYSICS.md section 9)."""

import math

import numpy as np
import pytest

from accelsim.device import Endurance, breakdown_probability, cycles_to_breakdown, time_to_breakdown_s
from accelsim.device.presets import TZOUFRAS_2019_ENDURANCE as E
from accelsim.errors import ConfigError


def test_twenty_percent_lower_voltage_gives_six_orders_of_magnitude():
    v = 0.834
    gain = cycles_to_breakdown(0.8 * v, 10e-9, E) / cycles_to_breakdown(v, 10e-9, E)
    assert math.log10(gain) == pytest.approx(6.0, abs=0.05)


def test_monotone_and_anchored():
    v = np.linspace(0.3, 1.2, 10)
    n = cycles_to_breakdown(v, 10e-9, E)
    assert np.all(np.diff(n) < 0)
    assert cycles_to_breakdown(1.2, 10e-9, E) == pytest.approx(1.0)  # breaks within one pulse at V_bd
    assert cycles_to_breakdown(0.6, 20e-9, E) == pytest.approx(0.5 * cycles_to_breakdown(0.6, 10e-9, E))


def test_weibull_spread():
    n63 = cycles_to_breakdown(0.9, 10e-9, E)
    assert breakdown_probability(n63, 0.9, 10e-9, E) == pytest.approx(1 - math.exp(-1))
    assert breakdown_probability(0.0, 0.9, 10e-9, E) == 0.0


def test_exponential_law():
    e = Endurance(law="exponential", v_ref_v=1.2, t_bd_ref_s=1e-8, gamma_per_v=20.0)
    assert time_to_breakdown_s(1.1, e) == pytest.approx(1e-8 * math.exp(2.0))
    with pytest.raises(ConfigError, match="gamma_per_v"):
        Endurance(law="exponential", v_ref_v=1.2, t_bd_ref_s=1e-8)
