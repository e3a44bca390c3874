import math

import pytest

from accelsim.arch.tech import TECH_DIR, TechNode, load_tech
from accelsim.config import build_from_mapping
from accelsim.errors import ConfigError

# NVSim Technology.cpp (MASTAR 5 LSTP, 300 K) end points the shipped files interpolate between.
NVSIM_LSTP = {45: dict(i_on=527.5e-6, i_off=10.1e-12, vth=0.56452),
              32: dict(i_on=560.0e-6, i_off=30.2e-12, vth=0.58181),
              22: dict(i_on=745.5e-6, i_off=30.2e-12 / 1.86, vth=0.44571)}


@pytest.mark.parametrize("name, lo, hi", [("lp40", 45, 32), ("n28", 32, 22)])
def test_shipped_nodes_interpolate_nvsim_as_nvsim_does(name, lo, hi):
    tech = load_tech(name)
    node_nm = tech.feature_size_m * 1e9
    a = (lo - node_nm) / (lo - hi)
    ref_lo, ref_hi = NVSIM_LSTP[lo], NVSIM_LSTP[hi]
    assert tech.i_on_n_per_um_a == pytest.approx((1 - a) * ref_lo["i_on"] + a * ref_hi["i_on"], rel=1e-3)
    geometric = math.exp((1 - a) * math.log(ref_lo["i_off"]) + a * math.log(ref_hi["i_off"]))
    assert tech.i_off_per_um_a == pytest.approx(geometric, rel=2e-3)
    assert tech.vth_v == pytest.approx((1 - a) * ref_lo["vth"] + a * ref_hi["vth"], abs=1e-4)


def test_lp40_uses_002_supply_and_si_properties():
    tech = load_tech(TECH_DIR / "lp40.yaml")
    assert tech.vdd_v == 1.1 and tech.feature_size_m == pytest.approx(40e-9)
    assert tech.i_on_n_a_per_m == pytest.approx(540.0)  # uA/um == A/m
    assert tech.f2_m2 == pytest.approx(1.6e-15)


def _raw(**changes):
    base = dict(name="t", feature_size="40 nm", vdd="1.0 V", v_ref="1.0 V", vth="0.5 V", v_dsat="1 mV",
                i_on_n_per_um="500 uA", i_on_p_per_um="250 uA", i_off_per_um="10 pA", r_on_multiplier=2.0,
                c_gate_per_um="1 fF", c_drain_per_um="0.3 fF", c_wire_per_um="0.2 fF",
                sense_amp_area_f2=1000, sense_amp_energy="100 fJ", sense_amp_leakage="1 nW",
                full_adder_area_f2=2000, dff_area_f2=2000, full_adder_energy="4 fJ", dff_energy="4 fJ",
                logic_leakage_per_f2="1e-14 W", sram_bit_area_f2=146, sram_energy_per_bit="0.2 pJ",
                sram_leakage_per_bit="2 pW", adc_power_per_bit="2 uW", adc_power_base="10 uW",
                adc_cycle="1 ns", adc_area_base_f2=60000, adc_area_per_bit_f2=40000,
                r_wire_per_um="3 Ohm", wire_pitch="140 nm", nand2_area_f2=400)
    base.update(changes)
    return base


def test_tech_errors_name_the_key():
    with pytest.raises(ConfigError, match="key 'vth'.*not below v_ref"):
        build_from_mapping(TechNode, _raw(vth="1.2 V"), "t.yaml")
    with pytest.raises(ConfigError, match="key 'vdd'.*unit"):
        build_from_mapping(TechNode, _raw(vdd=1.0), "t.yaml")
    with pytest.raises(ConfigError, match="key 'sense_amp_area_f2'.*positive"):
        build_from_mapping(TechNode, _raw(sense_amp_area_f2=0), "t.yaml")
