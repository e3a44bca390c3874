import pytest
from hand_tech import make_tech

from accelsim.arch.cell import (
    MTJElectrical,
    access_width_m,
    design_cell,
    drain_current_a,
    r_ap_at_current_ohm,
    read_bias_v,
    write_energy_junction_j,
    write_energy_supply_j,
)
from accelsim.arch.tech import load_tech


@pytest.fixture
def hand_tech():
    return make_tech()


def test_drain_current_is_anchored_at_the_mastar_on_current():
    tech = load_tech("lp40")
    assert drain_current_a(1e-6, tech.v_ref_v, tech) == pytest.approx(tech.i_on_n_per_um_a, rel=1e-12)
    assert drain_current_a(1e-6, tech.vth_v, tech) == 0.0
    assert drain_current_a(1e-6, 1.1, tech) > drain_current_a(1e-6, 1.0, tech)


def test_access_width_hand_case(hand_tech):
    # 50 uA through 2 kOhm at the source: V_GS = 0.9 V, overdrive 0.4 V of 0.5 -> 400 A/m -> 125 nm.
    assert access_width_m(50e-6, 2e3, hand_tech) == pytest.approx(125e-9, rel=1e-9)
    # no degeneration: the MASTAR on-current itself
    assert access_width_m(50e-6, 0.0, hand_tech) == pytest.approx(100e-9, rel=1e-9)


def test_access_width_grows_with_current_and_source_resistance():
    tech = load_tech("lp40")
    w = [access_width_m(30e-6, r, tech) for r in (0.0, 2e3, 4e3, 6e3)]
    assert w == sorted(w) and w[0] < w[-1]
    # degeneration makes W grow faster than I: doubling I more than doubles W
    assert access_width_m(60e-6, 5e3, tech) > 2 * access_width_m(30e-6, 5e3, tech)


def test_access_width_without_headroom_raises(hand_tech):
    with pytest.raises(ValueError, match="no gate overdrive"):
        access_width_m(100e-6, 5e3, hand_tech)  # 0.5 V drop leaves V_GS = V_T


def test_cell_area_leakage_rules(hand_tech):
    mtj = MTJElectrical(r_p_ohm=1e3, r_ap_ohm=2e3, i_c_a=25e-6)
    cell = design_cell(mtj, hand_tech, write_current_factor=2.0)
    assert cell.i_write_a == pytest.approx(50e-6)
    assert cell.w_access_m == pytest.approx(125e-9)
    f = 40e-9
    assert cell.area_m2 == pytest.approx(3 * (125e-9 / f + 1) * f**2)
    assert cell.leakage_w == pytest.approx(10e-12 / 1e-6 * 125e-9 * 1.0)


def test_tmr_bias_dependence_solves_its_equation_and_lowers_r_ap():
    mtj = MTJElectrical(r_p_ohm=2.6e3, r_ap_ohm=5.9e3, i_c_a=20e-6, v_half_tmr_v=0.5)
    r = [r_ap_at_current_ohm(mtj, i) for i in (1e-6, 20e-6, 40e-6, 80e-6)]
    assert all(mtj.r_p_ohm < x < mtj.r_ap_ohm for x in r)
    assert r == sorted(r, reverse=True)
    i = 40e-6
    x = r_ap_at_current_ohm(mtj, i)
    assert x == pytest.approx(2.6e3 * (1 + mtj.tmr0 / (1 + (i * x / 0.5) ** 2)), rel=1e-9)
    flat = MTJElectrical(r_p_ohm=2.6e3, r_ap_ohm=5.9e3, i_c_a=20e-6)
    assert r_ap_at_current_ohm(flat, 40e-6) == 5.9e3


def test_stronger_mtj_needs_larger_cell_in_40nm():
    tech = load_tech("lp40")
    weak = design_cell(MTJElectrical(r_p_ohm=2.3e3, r_ap_ohm=5.1e3, i_c_a=13.6e-6), tech)
    strong = design_cell(MTJElectrical(r_p_ohm=2.6e3, r_ap_ohm=5.9e3, i_c_a=19.7e-6), tech)
    assert weak.area_m2 < strong.area_m2 and weak.leakage_w < strong.leakage_w
    # PHYSICS.md section 8: W ratio below the current ratio because of the degeneration
    assert weak.w_access_m / strong.w_access_m < weak.i_write_a / strong.i_write_a


def test_write_and_read_energies(hand_tech):
    mtj = MTJElectrical(r_p_ohm=1e3, r_ap_ohm=2e3, i_c_a=25e-6)
    cell = design_cell(mtj, hand_tech)
    assert write_energy_supply_j(cell, 10e-9, hand_tech) == pytest.approx(1.0 * 50e-6 * 10e-9)
    assert write_energy_junction_j(cell, 10e-9, to_ap=True) == pytest.approx(50e-6**2 * 1e3 * 10e-9)
    assert write_energy_junction_j(cell, 10e-9, to_ap=False) == pytest.approx(50e-6**2 * 2e3 * 10e-9)
    assert read_bias_v(mtj, 0.2) == pytest.approx(0.2 * 25e-6 * 1e3)
    with pytest.raises(ValueError):
        read_bias_v(mtj, 1.5)


def test_mtj_rejects_r_ap_below_r_p():
    from accelsim.schema import Invalid

    with pytest.raises(Invalid, match="must exceed"):
        MTJElectrical(r_p_ohm=2e3, r_ap_ohm=1e3, i_c_a=1e-5)
