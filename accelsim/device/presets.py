"""Named device parameter sets from the papers, each value with its source.

Owns the presets (MTJs, drivers, variability, endurance) and the by-name lookup used by the CLI;
``arch_configs/mtj/*.yaml`` mirror them for configs (a test keeps the two equal).
"""

from __future__ import annotations

from accelsim.device.endurance import Endurance
from accelsim.device.energy import IDEAL_DRIVER, Driver
from accelsim.device.mtj import MTJ, MU0_T_M_PER_A
from accelsim.device.variability import NO_VARIABILITY, Variability
from accelsim.errors import ConfigError

#: Free-layer saturation magnetisation of the 000/003 junction: 1.58 T / mu0 (000 Sec. III, 003 Sec. II).
HIRTZLIN_MS_A_PER_M = 1.58 / MU0_T_M_PER_A

# 000 (Hirtzlin 2019, Sec. III) and 003 (Locatelli 2018, Sec. II) use the same 32 nm pMTJ.
HIRTZLIN_32NM = MTJ(
    name="hirtzlin-32nm",
    diameter_m=32e-9,  # 000 Sec. III, 003 Sec. II: "diameter of 32 nm"
    ra_ohm_m2=4e-12,  # 000, 003: RA = 4 Ohm.um^2
    tmr0=1.5,  # 000, 003: TMR 150 %
    v_half_v=0.5,  # not given; Zhang/Zhao compact model default (IEEE TED 59(3) 819, 2012)
    v_c_v=0.190,  # 000, 003: critical voltage 190 mV
    delta=70.0,  # 003 Sec. II: Delta E = 70 kB T (one FIT for a 64 MB array)
    # Calibrated: 003 Sec. III states BER 1e-10 for a 15.0 ns pulse at 2.0 Vc from the gamma model of
    # Vincent 2015 with k = 16 (000), i.e. <t>(2 Vc) = 15 ns / 3.484 = 4.305 ns = Sun's tau_c; with
    # Delta 70, tau_c = (tau_D/2)(gamma_E + ln(pi^2 Delta/4)) gives tau_D = 1.503 ns, i.e. a damping
    # alpha = 0.0086 for mu0 Ms = 1.58 T and a 1.3 nm free layer (damping_from_tau_d).
    tau_d_s=1.503e-9,
    tau_attempt_s=1e-9,  # Neel-Brown attempt time, 1 ns (002 eq. (2), 001 Sec. III-B)
    thickness_free_m=1.3e-9,  # 000, 003: free layer 1.3 nm
    temperature_k=300.0,  # room temperature (not stated)
)

# 002 (Muench, Bishnoi, Tahoori) Table I and Sec. III-A: 40 nm LP, RA 6.12 Ohm.um^2, TMR 123 %, 27 C.
MUENCH_DELTA40 = MTJ(
    name="muench-delta40",
    diameter_m=58e-9,  # 002 Table I: radius 29 nm
    ra_ohm_m2=6.12e-12,  # 002 Sec. III-A: RA 6.12 Ohm.um^2 (gives R_P 2.3 kOhm, Table I)
    tmr0=1.23,  # 002 Sec. III-A: TMR 123 % (gives R_AP 5.1 kOhm, Table I)
    v_half_v=0.5,  # not given; Zhang/Zhao compact model default
    i_c_a=13.6e-6,  # 002 Table I: critical write current 13.6 uA
    delta=40.0,  # 002 Table I
    tau_d_s=2e-9,  # not given by 002; tau_D = 2 ns as in the worked example of 001
    tau_attempt_s=1e-9,  # 002 eq. (2): tau0 = 1 ns
    thickness_free_m=2.21e-9,  # 002 Table I: free layer 2.21 nm
    temperature_k=300.15,  # 002 Sec. III-A: 27 C
    p_to_ap_retention=False,  # 002 simulates AP -> P flips only (Sec. III-B)
)

MUENCH_DELTA60 = MTJ(
    name="muench-delta60",
    diameter_m=54e-9,  # 002 Table I: radius 27 nm
    ra_ohm_m2=6.12e-12,  # 002 Sec. III-A (gives R_P 2.6 kOhm, Table I)
    tmr0=1.23,  # 002 Sec. III-A (gives R_AP 5.9 kOhm, Table I)
    v_half_v=0.5,  # not given; Zhang/Zhao compact model default
    i_c_a=19.7e-6,  # 002 Table I: critical write current 19.7 uA
    delta=60.0,  # 002 Table I
    tau_d_s=2e-9,  # not given by 002; tau_D = 2 ns as in the worked example of 001
    tau_attempt_s=1e-9,  # 002 eq. (2)
    thickness_free_m=2.16e-9,  # 002 Table I: free layer 2.16 nm
    temperature_k=300.15,  # 002 Sec. III-A: 27 C
    p_to_ap_retention=False,  # 002 simulates AP -> P flips only
)

# 001 (Tzoufras, Gajek, Walker) Sec. III-B worked example; geometry is not given there.
TZOUFRAS_DELTA40 = MTJ(
    name="tzoufras-delta40",
    diameter_m=32e-9,  # not given by 001; 000's junction, affects only resistance/energy/read
    ra_ohm_m2=4e-12,  # not given by 001; 000's junction
    tmr0=1.5,  # not given by 001; 000's junction
    v_half_v=0.5,  # Zhang/Zhao compact model default
    v_c_v=0.3,  # 001 Sec. III-B: switching voltage Vc0 = 0.3 V
    delta=40.0,  # 001 Sec. III-B: Delta = 40
    tau_d_s=2e-9,  # 001 Sec. III-B: characteristic switching time tau_D = 2 ns
    tau_attempt_s=1e-9,  # 001 Sec. III-B: 1 ns in its retention estimate
)

MTJ_PRESETS: dict[str, MTJ] = {
    m.name: m for m in (HIRTZLIN_32NM, MUENCH_DELTA40, MUENCH_DELTA60, TZOUFRAS_DELTA40)
}

# The 28 nm bidirectional driver of 000 Fig. 3 / 003 Fig. 1b, reduced to its series on-resistance.
# Calibrated: 003 reports 0.48 pJ per bit at 15 ns, 2.0 Vc, from circuit simulation; the junction
# alone takes V^2 t / R_P = 0.438 pJ (PHYSICS.md section 6); the 9.6 % excess, attributed to the
# driver's on-resistance in series, is R_s = 0.096 R_P = 0.47 kOhm (two 28 nm transistors of
# ~1 kOhm.um at a few um width each).
LOCATELLI_28NM = Driver(name="locatelli-28nm", r_series_ohm=470.0, c_line_f=0.0)

DRIVER_PRESETS: dict[str, Driver] = {d.name: d for d in (LOCATELLI_28NM, IDEAL_DRIVER)}

# 000 Sec. III and 003 Sec. III: 5 % relative standard deviation on R_P and TMR (after Worledge).
# Worledge et al., IEDM 2010 (000 ref. [31], 003 ref. [7]) measured sigma(Vc)/<Vc> = 4.4 % on
# 4-kbit pMTJ arrays; we apply it as the spread of the critical current at fixed resistance. 003's
# CMOS process/mismatch spread is not quantified there and is left at 0 (through R_s ~ 0.1 R_P it
# would move the junction voltage by under 1 %).
LOCATELLI_2018 = Variability(
    name="locatelli2018",
    sigma_r_p_rel=0.05,
    sigma_tmr_rel=0.05,
    sigma_v_c_rel=0.044,
    sigma_delta_rel=0.0,
    sigma_r_series_rel=0.0,
)

VARIABILITY_PRESETS: dict[str, Variability] = {v.name: v for v in (LOCATELLI_2018, NO_VARIABILITY)}

# 001 Sec. III-A/B: breakdown voltage V_bd = 1.2 V, "the value beyond which the MTJ breaks" (taken as
# breaking within one 10 ns pulse of its example); "20 % lower write voltage ... up to 6 orders of
# magnitude" more cycles (001 ref. [2]) calibrates the power-law exponent n = ln(1e6)/ln(1/0.8) = 62;
# treat it as an upper bound (PHYSICS.md section 9). Power law: Van Beek et al., IRPS 2018 (MgO
# breakdown is charge-fluence driven, power law best for extrapolation); Kan et al., IEEE TED
# 64(9) 3639, 2017 (001 ref. [12]).
TZOUFRAS_2019_ENDURANCE = Endurance(
    name="tzoufras2019",
    law="power",
    v_ref_v=1.2,
    t_bd_ref_s=10e-9,
    exponent_n=62.0,
    gamma_per_v=0.0,
    weibull_beta=1.0,  # not given by 001; 1 (memoryless wear-out) as a neutral choice
)

ENDURANCE_PRESETS: dict[str, Endurance] = {e.name: e for e in (TZOUFRAS_2019_ENDURANCE,)}


def _lookup(kind: str, table: dict, name: str):
    try:
        return table[name]
    except KeyError:
        raise ConfigError(f"unknown {kind} preset {name!r}; known: {', '.join(sorted(table))}") from None


def mtj_preset(name: str) -> MTJ:
    """The MTJ preset called ``name`` (see ``MTJ_PRESETS``)."""
    return _lookup("MTJ", MTJ_PRESETS, name)


def driver_preset(name: str) -> Driver:
    """The driver preset called ``name`` (see ``DRIVER_PRESETS``)."""
    return _lookup("driver", DRIVER_PRESETS, name)


def variability_preset(name: str) -> Variability:
    """The variability preset called ``name`` (see ``VARIABILITY_PRESETS``)."""
    return _lookup("variability", VARIABILITY_PRESETS, name)


def endurance_preset(name: str) -> Endurance:
    """The endurance preset called ``name`` (see ``ENDURANCE_PRESETS``)."""
    return _lookup("endurance", ENDURANCE_PRESETS, name)
