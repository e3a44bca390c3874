"""Device-level sweep points (``measure: device``): an architecture's write physics and cell/tile costs,
evaluated from accelsim.device and accelsim.arch without programming or running a network.

One row per point: for every cell type X of the architecture, ``X.<quantity>`` columns (write error
rate, pulse, energy per bit, with and without device variability, endurance; cell area and leakage),
and the tile's area and leakage for its column mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.config import ArchConfig
from accelsim.errors import ConfigError

#: Spec keys of the ``device`` section.
DEVICE_KEYS = ("quantities", "devices", "polarity", "endurance")
#: Keys only the ``write`` quantities read: refused when a spec measures ``cost`` alone.
WRITE_ONLY_KEYS = ("devices", "polarity", "endurance")
#: The quantity groups a device sweep can measure.
QUANTITIES = ("write", "cost")
#: A swept key that is not a config key: the write error rate the pulse / drive columns are solved for.
TARGET_WER = "target_wer"


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceMeasure:
    """What a device sweep measures at each point (the spec's ``device`` section)."""

    quantities: tuple[str, ...]  # "write": WER, pulse, energy (+ variability); "cost": area, leakage
    devices: int  # devices drawn per cell type (the point seed's `variation` stream) for the `_var` columns
    polarity: str  # the write the write columns describe: "p_to_ap" or "ap_to_p"
    endurance: str | None  # endurance preset (accelsim.device.presets) for the cycles columns, or none


def load_measure(raw: Any, path: Path) -> DeviceMeasure:
    """The ``device`` section of a spec (defaults: write and cost, 10,000 devices, P -> AP, no endurance)."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: key 'device': expected a mapping with keys {', '.join(DEVICE_KEYS)}")
    for key in raw:
        if key not in DEVICE_KEYS:
            raise ConfigError(f"{path}: key 'device.{key}': unknown key; allowed: {', '.join(DEVICE_KEYS)}")
    quantities = raw.get("quantities", list(QUANTITIES))
    if not isinstance(quantities, list) or not quantities or any(q not in QUANTITIES for q in quantities):
        raise ConfigError(f"{path}: key 'device.quantities': expected a non-empty list of "
                          f"{', '.join(QUANTITIES)}, got {quantities!r}")
    if "write" not in quantities:
        for key in WRITE_ONLY_KEYS:
            if key in raw:
                raise ConfigError(f"{path}: key 'device.{key}': only the write quantities use it, and "
                                  f"device.quantities is {quantities!r}")
    devices = raw.get("devices", 10_000)
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ConfigError(f"{path}: key 'device.devices': expected an integer >= 1, got {devices!r}")
    polarity = raw.get("polarity", "p_to_ap")
    if polarity not in ("p_to_ap", "ap_to_p"):
        raise ConfigError(f"{path}: key 'device.polarity': expected p_to_ap or ap_to_p, got {polarity!r}")
    endurance = raw.get("endurance")
    if endurance is not None:
        from accelsim.device.presets import endurance_preset

        try:
            endurance_preset(str(endurance))
        except ConfigError as exc:
            raise ConfigError(f"{path}: key 'device.endurance': {exc}") from None
    return DeviceMeasure(quantities=tuple(dict.fromkeys(quantities)), devices=devices, polarity=polarity,
                         endurance=None if endurance is None else str(endurance))


def check_target(value: Any) -> float:
    """A ``target_wer`` value: a number in (0, 1); raises ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"key '{TARGET_WER}': expected a write error rate in (0, 1), got {value!r}")
    return float(value)


def check_arch(arch: ArchConfig, measure: DeviceMeasure) -> None:
    """Raise ``ConfigError`` if ``arch`` cannot give the measured quantities (before anything runs)."""
    if "write" in measure.quantities and arch.write.model == "constant_ber":
        raise ConfigError("key 'write.model': write quantities need a device write model (gamma or "
                          "fokker_planck), not constant_ber")
    if "cost" in measure.quantities:
        _cost(arch)  # sizes every cell (milliseconds): a cell that cannot be sized fails here


def evaluate(arch: ArchConfig, measure: DeviceMeasure, target_wer: float | None, seed: int) -> dict[str, Any]:
    """The device row of one point: ``X.<quantity>`` per cell type X (in ``arch.cells`` order), then the
    tile's costs. Variability: ``measure.devices`` devices per cell type, drawn in cell order from the
    seed's ``variation`` stream (every point of a seed sees the same devices)."""
    row: dict[str, Any] = {}
    if "write" in measure.quantities:
        from accelsim.rng import stream

        gen = stream(seed, "variation")
        for name, cell in arch.cells.items():
            for key, value in _write(arch, cell.mtj_params, measure, target_wer, gen).items():
                row[f"{name}.{key}"] = value
    if "cost" in measure.quantities:
        row.update(_cost(arch))
    return row


def _write(arch: ArchConfig, mtj, measure: DeviceMeasure, target_wer: float | None,
           gen: np.random.Generator) -> dict[str, float]:
    """Write quantities of one cell type at the point's pulse and amplitude (PHYSICS.md sections 2-6).

    The source amplitude is ``write.v_write``, or the one that puts ``write.overdrive`` x Vc0 across the
    nominal junction in P (as the simulator programs cells). Nominal columns use the nominal junction;
    ``_var`` columns the mean over the drawn devices at the same source amplitude. With a target WER:
    the pulse (at the point's amplitude) and the junction drive V / Vc0 (at the point's pulse) that
    give it, and the energy of that pulse.
    """
    from accelsim import device
    from accelsim.device.mtj import initial_state
    from accelsim.device.write import drive_for_wer, pulse_for_wer_s, write_error_rate, write_model

    w, pol = arch.write, measure.polarity
    model = write_model(w.model)
    driver = device.driver_preset(w.driver)
    variability = device.variability_preset(w.variability)
    if w.v_write_v is not None:
        v_src = w.v_write_v
        v_j = float(device.junction_voltage_v(v_src, mtj, driver, initial_state(pol)))
    else:
        v_src = float(device.source_voltage_v(w.overdrive * mtj.vc_v, mtj, driver, "p"))
        v_j = w.overdrive * mtj.vc_v if initial_state(pol) == "p" else float(
            device.junction_voltage_v(v_src, mtj, driver, initial_state(pol)))
    t = w.t_pulse_s
    devices = device.draw_devices(mtj, variability, measure.devices, gen, driver)
    out = {
        "v_source_v": v_src,
        "v_junction_v": v_j,
        "wer": float(write_error_rate(v_j, t, mtj, model, pol)),
        "energy_j": float(device.write_energy_j(v_src, t, mtj, driver, pol)),
        "wer_var": device.array_write_error_rate(v_src, t, devices, mtj, model, pol),
        "energy_var_j": device.array_write_energy_j(v_src, t, devices, mtj, driver, pol),
    }
    endurance = None if measure.endurance is None else device.endurance_preset(measure.endurance)
    if endurance is not None:
        out["cycles_to_breakdown"] = float(device.cycles_to_breakdown(v_j, t, endurance))
    if target_wer is not None:
        pulse = float(pulse_for_wer_s(target_wer, v_j, mtj, model, pol))
        pulse_var = device.pulse_for_array_wer_s(target_wer, v_src, devices, mtj, model, pol)
        drive = drive_for_wer(target_wer, t, mtj, model, pol)
        out.update({
            "pulse_for_target_s": pulse,
            "energy_for_target_j": float(device.write_energy_j(v_src, pulse, mtj, driver, pol)),
            "pulse_for_target_var_s": pulse_var,
            "energy_for_target_var_j": device.array_write_energy_j(v_src, pulse_var, devices, mtj, driver,
                                                                   pol),
            "drive_for_target": drive,
        })
        if endurance is not None:
            out["cycles_at_pulse_for_target"] = float(device.cycles_to_breakdown(v_j, pulse, endurance))
            out["cycles_at_drive_for_target"] = float(
                device.cycles_to_breakdown(drive * mtj.vc_v, t, endurance))
    return out


def _cost(arch: ArchConfig) -> dict[str, float]:
    """Cell sizing per cell type (at ``circuit.write_current_factor`` x Ic on ``tech``) and the cost of
    one tile of the configured geometry and column mix (accelsim.arch; PHYSICS.md section 8)."""
    from accelsim.arch.cell import MTJElectrical, design_cell
    from accelsim.arch.chip import build_chip

    chip = build_chip(arch, [])  # the tile alone: no network, no per-layer periphery
    tech, factor = chip.tech, arch.circuit.write_current_factor
    row: dict[str, float] = {}
    for name, cell in arch.cells.items():
        try:
            c = design_cell(MTJElectrical.from_device(cell.mtj_params), tech, write_current_factor=factor)
        except ValueError as exc:
            raise ConfigError(f"key 'cells.{name}': {cell.mtj} cannot be sized on tech {arch.tech} at "
                              f"circuit.write_current_factor {factor:g}: {exc}") from None
        row.update({f"{name}.i_write_a": c.i_write_a, f"{name}.r_ap_write_ohm": c.r_ap_write_ohm,
                    f"{name}.w_access_m": c.w_access_m, f"{name}.cell_area_m2": c.area_m2,
                    f"{name}.cell_leakage_w": c.leakage_w})
    tile = chip.tile
    row.update({"feature_size_m": tech.feature_size_m,
                "array_area_m2": tile.area_array_m2, "array_leakage_w": tile.leakage_array_w,
                "tile_area_m2": tile.area_m2, "tile_leakage_w": tile.leakage_w})
    return row
