"""A hand-computable technology: V_T 0.5 V, V_ref = VDD = 1.0 V, no velocity saturation (I ~ V_ov),
I_on' 500 uA/um, F 40 nm."""

from accelsim.arch.tech import TechNode


def make_tech(**changes) -> TechNode:
    base = dict(name="hand", feature_size_m=40e-9, vdd_v=1.0, v_ref_v=1.0, vth_v=0.5, v_dsat_v=1e-30,
                i_on_n_per_um_a=500e-6, i_on_p_per_um_a=250e-6, i_off_per_um_a=10e-12, r_on_multiplier=2.0,
                c_gate_per_um_f=1e-15, c_drain_per_um_f=0.3e-15, c_wire_per_um_f=0.2e-15,
                sense_amp_area_f2=1000.0, sense_amp_energy_j=100e-15, sense_amp_leakage_w=1e-9,
                full_adder_area_f2=2000.0, dff_area_f2=2000.0, full_adder_energy_j=4e-15,
                dff_energy_j=4e-15, logic_leakage_per_f2_w=1e-14, sram_bit_area_f2=146.0,
                sram_energy_per_bit_j=0.2e-12, sram_leakage_per_bit_w=2e-12,
                adc_power_per_bit_w=2e-6, adc_power_base_w=10e-6, adc_cycle_s=1e-9,
                adc_area_base_f2=60000.0, adc_area_per_bit_f2=40000.0, r_wire_per_um_ohm=3.0,
                wire_pitch_m=140e-9, nand2_area_f2=400.0)
    base.update(changes)
    return TechNode(**base)

