"""Architecture configuration: YAML -> frozen dataclasses in SI units, validated once, here.

The loader is generic over dataclasses: a field's ``metadata["unit"]`` names its dimension (its YAML
key is the field name without the unit suffix, and its YAML value a string with a unit); unknown,
missing and mistyped keys raise ``ConfigError`` naming the file and the dotted key.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import math
import reprlib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from accelsim.arch.readout import ReadoutScheme, default_adc_bits
from accelsim.arch.tile import CircuitConfig
from accelsim.arch.timing import TimingConfig
from accelsim.errors import ConfigError
from accelsim.schema import Invalid, dimension_of, param, quantity, yaml_key
from accelsim.units import BASE_UNITS, parse_quantity

# ----------------------------------------------------------------------------------------------
# The architecture schema
# ----------------------------------------------------------------------------------------------


def _preset(kind: str, name: str, key: str):
    """A device preset by name (``accelsim.device.presets``); unknown names name the key."""
    from accelsim.device import presets

    lookup = {"mtj": presets.mtj_preset, "driver": presets.driver_preset,
              "variability": presets.variability_preset}[kind]
    try:
        return lookup(name)
    except ConfigError as exc:
        raise Invalid(key, str(exc)) from None


@dataclass(frozen=True, kw_only=True, slots=True)
class CellType:
    """One kind of 1T-1MTJ cell: its MTJ (for the write/read physics) and its retention barriers.

    Retention follows Neel-Arrhenius per state (002_ea6f7b7a5028ee47.txt; PHYSICS.md section 5). With
    an ``mtj`` preset the barriers default to the MTJ's (stray-field-split) ones; ``delta_ap`` /
    ``delta_p`` set them explicitly (as 002's Delta sweeps do).
    """

    mtj: str = param("MTJ preset of the cell (accelsim.device.presets): resistances and critical "
                     "current for the write, read and cost models")
    delta_ap: float | None = param("thermal stability of the AP (HRS) state, the barrier of the "
                                   "AP -> P retention flip; 0 < Delta <= 200; default: the MTJ's",
                                   default=None)
    delta_p: float | None = param("barrier of the P -> AP flip; null = never (002 neglects it) "
                                  "unless the MTJ preset simulates it", default=None)
    tau0_s: float | None = quantity("attempt time tau0 of Neel-Arrhenius [s]; default: the MTJ's, "
                                    "else 1 ns (002 eq. 1)", default=None)
    ic_follows_delta: bool = param(
        "scale the MTJ's barrier and critical current with `delta_ap` (needs it): Delta0 and Ic0 x "
        "delta_ap / the preset's Delta_AP, since Ic0 = (4 e alpha kB T / (hbar eta)) Delta (Sun 2000, "
        "PRB 62 570; 002 Table I's junctions: 13.6 / 19.7 uA at Delta 40 / 60, within 4 % of it); "
        "geometry and resistances stay the preset's. So a design search over Delta pays for a "
        "higher barrier in write current, access-transistor width, area and leakage", default=False)

    def __post_init__(self) -> None:
        _preset("mtj", self.mtj, "mtj")
        for name in ("delta_ap", "delta_p"):
            value = getattr(self, name)
            if value is not None and not 0 < value <= 200:
                raise Invalid(name, f"value {value:g} out of range: expected 0 < Delta <= 200")
        if self.ic_follows_delta and self.delta_ap is None:
            raise Invalid("ic_follows_delta", "needs `delta_ap` (the barrier the current follows)")

    @property
    def mtj_params(self):
        """The ``accelsim.device.MTJ`` of this cell (barrier and Ic0 scaled to ``delta_ap`` when
        ``ic_follows_delta``)."""
        mtj = _preset("mtj", self.mtj, "mtj")
        if not self.ic_follows_delta:
            return mtj
        ratio = self.delta_ap / mtj.delta_ap_to_p
        return dataclasses.replace(mtj, delta=mtj.delta * ratio, i_c_a=mtj.i_c_a * ratio,
                                   v_c_v=mtj.v_c_v * ratio)

    @property
    def retention_delta_ap(self) -> float:
        return self.delta_ap if self.delta_ap is not None else self.mtj_params.delta_ap_to_p

    @property
    def retention_delta_p(self) -> float | None:
        if self.delta_p is not None:
            return self.delta_p
        mtj = self.mtj_params
        return mtj.delta_p_to_ap if mtj.p_to_ap_retention else None

    @property
    def retention_tau0_s(self) -> float:
        if self.tau0_s is not None:
            return self.tau0_s
        return self.mtj_params.tau_attempt_s


@dataclass(frozen=True, kw_only=True, slots=True)
class ColumnGroup:
    """A share of a tile's columns built from one cell type."""

    cell: str = param("name of a cell type defined under `cells`")
    fraction: float = param("share of each tile's columns, 0 < fraction <= 1; shares sum to 1")


@dataclass(frozen=True, kw_only=True, slots=True)
class TileConfig:
    """Crossbar tile geometry and its column mix."""

    rows: int = param("word lines per tile (inputs per tile), >= 1")
    cols: int = param("bit lines per tile (neurons per tile), >= 1")
    columns: tuple[ColumnGroup, ...] = param(
        "cell type per column, as shares; the most robust type last (it takes the HRS-heaviest "
        "neurons when `mapping.sort_columns_by_hrs` is on)")


@dataclass(frozen=True, kw_only=True, slots=True)
class MappingConfig:
    """How weights land in cells."""

    convention: Literal["plus_one_ap", "plus_one_p"] = param(
        "+1 weight stored as AP/HRS (`plus_one_ap`, default, as in 002_ea6f7b7a5028ee47.txt) or as "
        "P/LRS (`plus_one_p`)", default="plus_one_ap")
    sort_columns_by_hrs: bool = param(
        "permute each layer's neurons so that those with the most HRS cells sit on the last "
        "(most robust) column group, as in 002_ea6f7b7a5028ee47.txt", default=False)
    input_encoding: Literal["bipolar", "unipolar"] = param(
        "how the network's input bits drive the first layer's rows: `bipolar` (+-1, two-phase XNOR "
        "sensing like every other layer) or `unipolar` (0/1 pixels: only the rows of 1 inputs are "
        "read, in one phase, and the neuron counts the +1-state cells among them against a threshold "
        "fixed at programming time; the binary analogue of the real, background-light first-layer "
        "input of pytorch BinaryNet, which 002 trained with)",
        default="bipolar")


@dataclass(frozen=True, kw_only=True, slots=True)
class WriteConfig:
    """Programming of the weights: how likely each cell write is to fail, and its pulse.

    ``constant_ber``: every switching write fails with probability ``ber`` (no device model).
    ``gamma`` / ``fokker_planck``: the per-cell write error rate of the cell's MTJ for the pulse
    (``t_pulse`` at ``v_write`` from the driver, or ``overdrive`` x Vc0 across the junction), with
    device-to-device variability drawn once per array (accelsim.device; PHYSICS.md sections 2-6).
    """

    model: Literal["constant_ber", "gamma", "fokker_planck"] = param(
        "`constant_ber`, or the device write model `gamma` (000/003) or `fokker_planck` (001)",
        default="constant_ber")
    ber: float = param("per-cell write error probability of `constant_ber`, 0 <= ber <= 1",
                       default=0.0)
    t_pulse_s: float = quantity("write pulse length [s] (the device models' pulse and the engine's)")
    v_write_v: float | None = quantity("driver source amplitude [V] (or give `overdrive`)",
                                       default=None)
    overdrive: float | None = param("junction voltage over Vc0 of each cell's MTJ, e.g. 2.0 as "
                                    "in 000 (or give `v_write`)", default=None)
    driver: str = param("write driver preset: series resistance and line capacitance",
                        default="ideal")
    variability: str = param("device-to-device variability preset (`none`, `locatelli2018`)",
                             default="none")
    initial_state: Literal["p", "ap", "random", "complement"] = param(
        "cell state before programming: all P, all AP, random (seeded), or the complement of the "
        "weights (every cell must switch, so the weight error rate equals the write error rate)",
        default="random")

    def __post_init__(self) -> None:
        _preset("driver", self.driver, "driver")
        _preset("variability", self.variability, "variability")
        if self.model == "constant_ber":
            return
        if (self.v_write_v is None) == (self.overdrive is None):
            raise Invalid("overdrive", "give exactly one of `v_write` and `overdrive`")
        if self.overdrive is not None and not self.overdrive > 0:
            raise Invalid("overdrive", f"value {self.overdrive:g} out of range: expected > 0")


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadConfig:
    """Reading the cells during inference: sense errors and read disturb, per read.

    ``ideal``: every read is right. ``device``: each read of a cell misreads with the probability of
    its resistance distribution against the sense reference (log-normal R with the sigma of
    ``write.variability``, TMR at the read bias, PHYSICS.md section 7) and flips a cell of the state
    the read current destabilises with the read-disturb probability (write model below threshold at
    I_read = ``circuit.read_current_ratio`` x Ic for ``timing.t_sense``).
    """

    model: Literal["ideal", "device"] = param("`ideal` or `device` read errors", default="ideal")
    scheme: Literal["single", "differential"] = param(
        "sense scheme: single-ended against a reference at sqrt(R_P R_AP), or a differential 2T2R "
        "pair", default="single")
    sigma_offset_ln: float = param("sense-amplifier offset as a sigma in ln R units, >= 0",
                                   default=0.0)
    disturbs: Literal["p", "ap"] = param("state that the read current's direction destabilises",
                                         default="p")
    rows_per_read: int = param(
        "k, rows of a sensing phase activated at once: 1 = row-serial, a 1-bit current sense amplifier "
        "per column and a counter (per-cell misreads); k > 1 = the k cells' currents add on the bit "
        "line and a SAR converter reads the partial count (002 Sec. III-A: the count 'can be evaluated "
        "either serial or in parallel'; converter model DNN_NeuroSim V1.4 SarADC; accelsim/arch/README.md)",
        default=1)
    adc_bits: int | None = param(
        "converter resolution when rows_per_read > 1: 2^bits uniform levels over 0..k cells; null = "
        "ceil(log2(k + 1)), which resolves every count; fewer bits quantise the partial count",
        default=None)

    def __post_init__(self) -> None:
        ReadoutScheme(rows_per_read=self.rows_per_read, adc_bits=self.adc_bits)

    @property
    def readout(self) -> ReadoutScheme:
        """The readout scheme (k, converter bits) the cost and functional models follow."""
        return ReadoutScheme(rows_per_read=self.rows_per_read, adc_bits=self.adc_bits)

    @property
    def adc_resolution_bits(self) -> int:
        return self.adc_bits if self.adc_bits is not None else default_adc_bits(self.rows_per_read)


@dataclass(frozen=True, kw_only=True, slots=True)
class RetentionConfig:
    """Storage after programming: the horizon and its steps (002 uses 10 years in 10 steps)."""

    horizon_s: float = quantity("storage time simulated after programming [s]; 0 = no ageing",
                                allow_zero=True)
    n_steps: int = param("accuracy is evaluated after each of these equal steps, >= 1", default=10)
    layers: Literal["all", "first"] = param(
        "which layers' cells age: `all`, or `first` (002 injects retention faults in its first "
        "array A_1 only)", default="all")


@dataclass(frozen=True, kw_only=True, slots=True)
class ArchConfig:
    """An accelerator architecture: cell types, tiles, mapping, write and retention settings."""

    name: str = param("short name used in run ids")
    description: str = param("one line for humans", default="")
    cells: dict[str, CellType] = param("cell types by name")
    tile: TileConfig = param("tile geometry and column mix")
    mapping: MappingConfig = param("weight <-> cell mapping", default_factory=MappingConfig)
    write: WriteConfig = param("weight programming")
    read: ReadConfig = param("sense errors and read disturb", default_factory=ReadConfig)
    retention: RetentionConfig = param("ageing after programming")
    tech: str = param("technology node: `lp40` (002's 40 nm LP), `n28` (000's 28 nm), or a path to "
                      "a technology YAML (arch_configs/tech/)", default="lp40")
    circuit: CircuitConfig = param("circuit design choices (write/read currents, drivers)",
                                   default_factory=CircuitConfig)
    timing: TimingConfig = param("clock and per-operation times of the engine (the write pulse is "
                                 "`write.t_pulse`)", default_factory=TimingConfig)

    def __post_init__(self) -> None:
        if self.timing.t_write_pulse_s != TimingConfig().t_write_pulse_s:
            raise Invalid("timing.t_write_pulse", "set the write pulse once, as `write.t_pulse`")
        if self.write.overdrive is not None and self.write.overdrive != self.circuit.write_current_factor:
            raise Invalid("circuit.write_current_factor",
                          f"{self.circuit.write_current_factor:g} differs from write.overdrive "
                          f"{self.write.overdrive:g}: the cells are sized for the current they are "
                          "written with")
        _check_tech(self.tech)
        for i, group in enumerate(self.tile.columns):
            if group.cell not in self.cells:
                raise Invalid(f"tile.columns.{i}.cell", f"unknown cell type {group.cell!r}; "
                                                        f"defined: {', '.join(self.cells)}")
        total = sum(g.fraction for g in self.tile.columns)
        if abs(total - 1.0) > 1e-9:
            raise Invalid("tile.columns", f"fractions sum to {total:g}, expected 1")
        if self.read.rows_per_read > self.tile.rows:
            raise Invalid("read.rows_per_read", f"{self.read.rows_per_read} rows per read exceeds the "
                                                f"tile's {self.tile.rows} rows")

    @property
    def engine_timing(self) -> TimingConfig:
        """The engine's timing, with the write pulse of ``write.t_pulse``."""
        return dataclasses.replace(self.timing, t_write_pulse_s=self.write.t_pulse_s)


def _check_tech(name: str) -> None:
    from accelsim.arch.tech import load_tech

    try:
        load_tech(name)
    except ConfigError as exc:
        raise Invalid("tech", str(exc)) from None


# Checks on values that the type alone does not express: field name -> (predicate, expectation).
# Upper bounds are physical sanity (a tile of more than 65,536 lines has no usable sensing margin,
# a write pulse beyond 1 ms or a junction driven at 100 x Vc0 is not a device setting): a value past
# them is a typo (1e9 for 1e3), refused before it becomes a 4e4 mm^2 chip or a 24 GB allocation.
MAX_TILE_LINES = 65536
MAX_RETENTION_STEPS = 1_000_000
_RANGE = {
    "rows": (lambda v: 1 <= v <= MAX_TILE_LINES, f"1 <= rows <= {MAX_TILE_LINES}"),
    "cols": (lambda v: 1 <= v <= MAX_TILE_LINES, f"1 <= cols <= {MAX_TILE_LINES}"),
    "n_steps": (lambda v: 1 <= v <= MAX_RETENTION_STEPS, f"1 <= n_steps <= {MAX_RETENTION_STEPS:,}"),
    "fraction": (lambda v: 0 < v <= 1, "0 < fraction <= 1"),
    "ber": (lambda v: 0 <= v <= 1, "0 <= ber <= 1"),
    "overdrive": (lambda v: 0 < v <= 100, "0 < overdrive <= 100 (junction voltage / Vc0)"),
    "write_current_factor": (lambda v: 0 < v <= 100, "0 < factor <= 100 (write current / Ic)"),
    "sigma_offset_ln": (lambda v: 0 <= v <= 10, "0 <= sigma <= 10 (ln R units)"),
    "rows_per_read": (lambda v: 1 <= v <= MAX_TILE_LINES, f"1 <= rows_per_read <= {MAX_TILE_LINES}"),
    "adc_bits": (lambda v: 1 <= v <= 16, "1 <= adc_bits <= 16"),
    "t_pulse_s": (lambda v: v <= 1e-3, "a pulse of at most 1 ms"),
    "v_write_v": (lambda v: v <= 100.0, "at most 100 V"),
    "tau0_s": (lambda v: v <= 1.0, "an attempt time of at most 1 s"),
    "horizon_s": (lambda v: v <= 1e6 * 365.25 * 86400, "at most a million years"),
    "clock_hz": (lambda v: 1e3 <= v <= 1e12, "a clock from 1 kHz to 1 THz"),
    "t_sense_s": (lambda v: v <= 1e-3, "at most 1 ms"),
    "t_adder_s": (lambda v: v <= 1e-3, "at most 1 ms"),
    "batch_images": (lambda v: v <= 10**7, "at most 10,000,000 images per wave"),
    "link_bits_per_cycle": (lambda v: v <= 2**20, "at most 1,048,576 bits per cycle"),
    "feature_size_m": (lambda v: 1e-9 <= v <= 1e-5, "a feature size from 1 nm to 10 um"),
    "vdd_v": (lambda v: v <= 10.0, "a supply of at most 10 V"),
}


# ----------------------------------------------------------------------------------------------
# The generic loader
# ----------------------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping with the same key twice (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:
                    continue  # unhashable: SafeLoader's own error names it
                if first is not key_node.start_mark:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"duplicate key {key!r} (first at line {first.line + 1})", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` that also refuses duplicate mapping keys (raises ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 80, 80


def show(value: Any) -> str:
    """``repr(value)`` cut short for a message (a YAML alias can nest a value far beyond a line)."""
    text = _SHORT.repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def printable(text: str) -> str:
    """``text`` for a one-line message: control characters (a newline in a YAML key) escaped."""
    return text if text.isprintable() else repr(text)[1:-1]


class _Where:
    """Where a value came from, for error messages: the file and the dotted key."""

    def __init__(self, source: str, key: str = "") -> None:
        self.source, self.key = source, key

    def child(self, name: str) -> _Where:
        return _Where(self.source, f"{self.key}.{name}" if self.key else name)

    def error(self, message: str) -> ConfigError:
        where = f"{self.source}: key '{printable(self.key)}'" if self.key else self.source
        return ConfigError(f"{where}: {printable(message)}")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def build(cls: type, data: Any, where: _Where) -> Any:
    """Build dataclass ``cls`` from a YAML mapping, converting unit strings and checking keys."""
    if not isinstance(data, dict):
        raise where.error(f"expected a mapping for {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {yaml_key(f): f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise where.child(str(key)).error(f"unknown key{hint}; allowed: {', '.join(fields)}")
    kwargs = {}
    for key, f in fields.items():
        sub = where.child(key)
        if key not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise sub.error("missing required key")
            continue
        kwargs[f.name] = _convert(hints[f.name], data[key], sub, dimension_of(f),
                                  f.metadata.get("allow_zero", False))
        rule = _RANGE.get(f.name)
        if rule is not None and kwargs[f.name] is not None and not rule[0](kwargs[f.name]):
            raise sub.error(f"value {show(data[key])} out of range: expected {rule[1]}")
    try:
        return cls(**kwargs)
    except Invalid as exc:
        raise where.child(exc.key).error(str(exc)) from None


def _convert(tp: Any, value: Any, where: _Where, dimension: str | None,
             allow_zero: bool = False) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, where, dimension, allow_zero)
    if dimension is not None:
        if not isinstance(value, str):
            unit = BASE_UNITS[dimension][0]
            raise where.error(f"expected a quantity with a unit, e.g. '{show(value)} {unit}', "
                              f"got {show(value)}")
        try:
            result = parse_quantity(value, dimension)
        except ValueError as exc:
            raise where.error(str(exc)) from None
        if result < 0 or (result == 0 and not allow_zero):
            expected = "non-negative" if allow_zero else "positive"
            raise where.error(f"expected a {expected} quantity, got {show(value)}")
        return result
    if origin is Literal:
        if value not in args:
            raise where.error(f"expected one of {', '.join(map(str, args))}, got {show(value)}")
        return value
    if origin is dict:
        if not isinstance(value, dict) or not value:
            raise where.error("expected a non-empty mapping of names")
        return {str(k): _convert(args[1], v, where.child(str(k)), None) for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, list) or not value:
            raise where.error("expected a non-empty list")
        return tuple(_convert(args[0], v, where.child(str(i)), None) for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        return build(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise where.error(f"expected true or false, got {show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise where.error(f"expected an integer, got {show(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise where.error(f"expected a number, got {show(value)}")
        try:
            result = float(value)
        except OverflowError:
            result = math.inf
        if not math.isfinite(result):
            raise where.error(f"expected a finite number, got {show(value)}")
        return result
    if tp is str:
        if not isinstance(value, str):
            raise where.error(f"expected a string, got {show(value)}")
        return value
    raise TypeError(f"config field type {_type_name(tp)} is not supported by the loader")


Override = str | tuple[str, Any]

#: Largest YAML file the loaders read (a configuration is a few kB; anything this large is not one).
MAX_YAML_BYTES = 4 * 2**20


def _apply_override(data: dict, override: Override) -> tuple[str, Any]:
    """Apply ``"dotted.key=value"`` (value parsed as a YAML scalar) or ``(dotted_key, value)``."""
    if isinstance(override, tuple):
        key, value = override
    else:
        if "=" not in override:
            raise ConfigError(f"--set {override!r}: expected key=value, e.g. tile.rows=256")
        key, _, text = override.partition("=")
        try:
            value = parse_yaml(text)
        except (yaml.YAMLError, RecursionError):
            value = text
    parts = key.strip().split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: '{'.'.join(parts[:i])}' is not a mapping")
        node = node.setdefault(part, {})
    last = parts[-1]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ConfigError(f"--set {key}: cannot set a key inside a {type(node).__name__}")
    return key.strip(), value


@functools.lru_cache(maxsize=32)
def _parse_cached(text: str) -> Any:
    """``parse_yaml`` remembered by content: a sweep reads its architecture (and technology) file
    once per point, and the YAML parser is most of the time of validating a point."""
    return parse_yaml(text)


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping; a missing file or malformed YAML raises ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(f"{path}: {size:,} bytes, more than a configuration file "
                              f"({MAX_YAML_BYTES:,} at most)")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line})") from None
    try:
        data = copy.deepcopy(_parse_cached(text))  # the caller may edit it (overrides)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: malformed YAML{line}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{path}: malformed YAML: nested too deeply") from None
    if not isinstance(data, dict):
        found = "empty" if data is None else f"a {type(data).__name__}"
        raise ConfigError(f"{path}: expected a YAML mapping at the top level, found {found}")
    return data


def load_arch(path: str | Path, overrides: typing.Sequence[Override] = ()) -> ArchConfig:
    """Load and validate an architecture YAML file, with overrides (``"key=value"`` strings or
    ``(key, value)`` pairs) applied to the raw YAML first.

    Raises
    ------
    ConfigError
        One line naming the file and the dotted key: missing file, malformed YAML, unknown key,
        missing key, wrong type, value out of range.
    """
    data = read_yaml(path)
    given_in_file = {key for key in _MODEL_KEYS if _lookup(data, key, _ABSENT) is not _ABSENT}
    switches_in_file = {key: _lookup(data, key, default) for key, default in _SWITCHES.items()}
    overridden: set[str] = set()
    for assignment in overrides:
        key, value = _apply_override(data, assignment)
        overridden |= {k for k in _MODEL_KEYS if k == key or (
            k.startswith(key + ".") and _lookup(value, k[len(key) + 1:], _ABSENT) is not _ABSENT)}
    arch = build(ArchConfig, data, _Where(str(path)))
    _check_model_keys(str(path), arch, given_in_file, switches_in_file, overridden)
    return arch


# Model switches and their defaults, and the keys only some models read: dotted key -> (is it used
# under these switch values?, who uses it). A key given for a model that does not read it is refused
# (it would be recorded in the report and ignored). A key in the file is accepted when the file's own
# models use it (an override may switch the model of a base file); a key an override sets must be
# used by the final models.
_SWITCHES = {"write.model": "constant_ber", "read.model": "ideal"}
_DEVICE_WRITE = "the device write models (write.model gamma or fokker_planck)"
_MODEL_KEYS: dict[str, tuple[typing.Callable[[dict], bool], str]] = {
    "write.ber": (lambda m: m["write.model"] == "constant_ber", "write.model constant_ber"),
    "write.v_write": (lambda m: m["write.model"] != "constant_ber", _DEVICE_WRITE),
    "write.overdrive": (lambda m: m["write.model"] != "constant_ber", _DEVICE_WRITE),
    "write.driver": (lambda m: m["write.model"] != "constant_ber", _DEVICE_WRITE),
    "write.variability": (lambda m: m["write.model"] != "constant_ber" or m["read.model"] == "device",
                          f"{_DEVICE_WRITE} and read.model device"),
    "read.scheme": (lambda m: m["read.model"] == "device", "read.model device"),
    "read.sigma_offset_ln": (lambda m: m["read.model"] == "device", "read.model device"),
    "read.disturbs": (lambda m: m["read.model"] == "device", "read.model device"),
}


_ABSENT = object()


def _lookup(data: Any, dotted: str, default: Any) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return default
        data = data[part]
    return data


def _check_model_keys(source: str, arch: ArchConfig, in_file: set[str], file_switches: dict,
                      overridden: set[str]) -> None:
    final = {"write.model": arch.write.model, "read.model": arch.read.model}
    for key, (uses, who) in _MODEL_KEYS.items():
        if key in overridden:
            if uses(final):
                continue
            how = "set by an override"
        elif key in in_file:
            if uses(final) or uses(file_switches):
                continue
            how = "given"
        else:
            continue
        chosen = ", ".join(f"{k} {v}" for k, v in final.items())
        raise ConfigError(f"{source}: key '{key}' ({how}) has no effect with {chosen}: it is read "
                          f"only by {who}; remove it or choose that model")


def load_yaml_as(cls: type, path: str | Path, overrides: typing.Sequence[Override] = ()) -> Any:
    """Load any config dataclass (a technology file, an MTJ preset, a sweep spec) from a YAML file,
    with the same unit conversion, key checks and one-line errors as the architecture."""
    data = read_yaml(path)
    for assignment in overrides:
        _apply_override(data, assignment)
    return build(cls, data, _Where(str(path)))


def build_from_mapping(cls: type, data: Any, source: str, key: str = "") -> Any:
    """Build a config dataclass from an already-parsed mapping; errors name ``source`` and ``key``."""
    return build(cls, data, _Where(source, key))


def to_plain(obj: Any) -> Any:
    """A dataclass tree as plain dicts/lists of SI floats (for the JSON report)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj
