"""Timing parameters of the accelerator: clock, sensing and write pulses, adder and link speeds,
and how many write drivers and sense amplifiers a tile has. The engine turns them into cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.schema import Invalid, param, quantity
from accelsim.units import seconds_to_cycles


@dataclass(frozen=True, kw_only=True, slots=True)
class TimingConfig:
    """Clock and per-operation times (SI); the engine rounds each up to whole cycles once.

    Defaults: 500 MHz, a 40 nm LP periphery clock (assumption); 10 ns sensing phase, the t_read of
    PHYSICS.md section 7 (000's ref. [3], Shih et al. JSSC 2019, reads a 40 nm eMRAM in 17.5 ns);
    10 ns write pulse (tau = 5 tau_D of 001's Table I worked example, PHYSICS.md section 4);
    1 ns per adder-tree level (a ~10-bit ripple adder); 64-bit links between tiles (assumption).
    """

    clock_hz: float = quantity("engine clock [Hz]", default=500e6)
    t_sense_s: float = quantity("one sensing phase: read pulse and sense-amplifier decision [s]",
                                default=10e-9)
    t_write_pulse_s: float = quantity("one write pulse (one polarity) [s]", default=10e-9)
    t_adder_s: float = quantity("one level of the partial-popcount adder tree [s]", default=1e-9)
    link_bits_per_cycle: int = param("bits an inter-tile link moves per cycle, >= 1", default=64)
    n_write_drivers: int | None = param(
        "bidirectional write drivers per tile that may fire at once; null = one per column", default=None)
    n_sense_amps: int | None = param(
        "sense amplifiers per tile (columns share them in turn); null = one per column", default=None)
    batch_images: int = param("images per wave: the unit of work each pipeline stage takes, >= 1",
                              default=100)

    def __post_init__(self) -> None:
        for name in ("link_bits_per_cycle", "batch_images", "n_write_drivers", "n_sense_amps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise Invalid(name, f"expected an integer >= 1, got {value}")

    @property
    def sense_cycles(self) -> int:
        return seconds_to_cycles(self.t_sense_s, self.clock_hz)

    @property
    def pulse_cycles(self) -> int:
        return seconds_to_cycles(self.t_write_pulse_s, self.clock_hz)

    @property
    def adder_cycles(self) -> int:
        return seconds_to_cycles(self.t_adder_s, self.clock_hz)

    def drivers(self, cols: int) -> int:
        """Write drivers of a tile with ``cols`` columns."""
        return cols if self.n_write_drivers is None else min(self.n_write_drivers, cols)

    def sense_amps(self, cols: int) -> int:
        """Sense amplifiers of a tile with ``cols`` columns."""
        return cols if self.n_sense_amps is None else min(self.n_sense_amps, cols)
