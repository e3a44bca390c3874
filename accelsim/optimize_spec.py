"""Design-search specs: YAML -> a checked ``OptimizeSpec`` (search space over dotted config keys,
objectives and constraints on run columns), every key and range validated before any trial runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelsim.config import ArchConfig, load_arch, read_yaml, show
from accelsim.errors import ConfigError
from accelsim.schema import dimension_of, yaml_key
from accelsim.units import BASE_UNITS, parse_quantity

SPEC_KEYS = ("name", "description", "arch", "net", "data", "repeats", "seed", "set", "search",
             "start", "objectives", "constraints", "trials", "batch", "sampler", "startup_trials",
             "population")
_RANGE_KEYS = ("low", "high", "log", "step", "same", "complement")
_CHOICE_KEYS = ("choices", "same", "complement")
_CONSTRAINT_KEYS = ("column", "at_least", "at_most", "relative_to", "confidence")
DIRECTIONS = ("minimize", "maximize")
SAMPLERS = ("auto", "tpe", "nsga2", "random")
#: Run columns that are not numbers (they name the run): neither objectives nor constraints.
_TEXT_COLUMNS = ("run_id", "arch", "net", "dataset")
_NAME = re.compile(r"[A-Za-z0-9_.+-]+")
_MAX_SEED = 2**32 - 1  # Optuna's samplers take a 32-bit seed
#: Most trials one study may ask for (each is a full network run per repeat).
MAX_TRIALS = 100_000


@dataclass(frozen=True, kw_only=True, slots=True)
class Param:
    """One searched config key: a range (``low``..``high``, SI floats or ints) or a list of choices.

    ``same``: other keys set to the same value (e.g. ``circuit.write_current_factor`` with
    ``write.overdrive``); ``complement``: a key set to ``1 - value`` (the other column group's
    ``fraction``). ``dimension`` is the key's unit dimension (``"s"``, ``"V"``), None if none.
    """

    key: str
    kind: str  # "float", "int" or "choice"
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()
    same: tuple[str, ...] = ()
    complement: str | None = None
    dimension: str | None = None

    def overrides(self, value: Any) -> tuple[tuple[str, Any], ...]:
        """The ``(dotted key, YAML value)`` pairs that setting this parameter to ``value`` makes."""
        text = yaml_value(value, self.dimension)
        pairs = [(self.key, text)] + [(k, text) for k in self.same]
        if self.complement is not None:
            pairs.append((self.complement, _round(1.0 - float(value))))
        return tuple(pairs)


@dataclass(frozen=True, kw_only=True, slots=True)
class Constraint:
    """``column`` (minus ``relative_to``) ``>= at_least`` or ``<= at_most``, judged on the mean over
    the repeats, or with ``confidence`` on its one-sided Student-t bound (lower for ``at_least``)."""

    column: str
    at_least: float | None = None
    at_most: float | None = None
    relative_to: str | None = None
    confidence: float | None = None

    @property
    def label(self) -> str:
        lhs = self.column if self.relative_to is None else f"{self.column} - {self.relative_to}"
        op, limit = (">=", self.at_least) if self.at_least is not None else ("<=", self.at_most)
        how = f" ({self.confidence:g} one-sided t bound)" if self.confidence is not None else ""
        return f"{lhs} {op} {limit:g}{how}"


@dataclass(frozen=True, kw_only=True, slots=True)
class OptimizeSpec:
    """A design search: base architecture and network, fixed overrides, the searched keys, what to
    minimise or maximise, the constraints, and how many trials in batches of ``batch``."""

    name: str
    path: Path
    raw: dict
    arch: Path
    net: Path
    data: Path | None
    repeats: int
    seed: int
    fixed: tuple[tuple[str, Any], ...]
    params: tuple[Param, ...]
    objectives: tuple[tuple[str, str], ...]
    constraints: tuple[Constraint, ...]
    trials: int
    batch: int
    sampler: str
    startup_trials: int
    population: int
    start: tuple[tuple[str, dict[str, Any]], ...] = ()

    @property
    def sampler_name(self) -> str:
        if self.sampler != "auto":
            return self.sampler
        return "tpe" if len(self.objectives) == 1 else "nsga2"


def _round(x: float) -> float:
    """1 - fraction without binary noise in the YAML (0.9 - not 0.8999999999999999)."""
    return float(f"{x:.12g}")


def yaml_value(value: Any, dimension: str | None) -> Any:
    """A searched value as the YAML the config loader reads: unit strings for dimensional floats."""
    if dimension is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{float(value)!r} {BASE_UNITS[dimension][0]}"
    return value


def key_field(key: str, where: str) -> tuple[Any, str | None]:
    """The type and unit dimension of a dotted architecture key (``cells.<name>.delta_ap``,
    ``tile.columns.<i>.fraction``), or ConfigError if the schema has no such key."""
    tp: Any = ArchConfig
    dimension = None
    parts = key.split(".")
    i = 0
    while i < len(parts):
        part = parts[i]
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
            continue
        if origin is dict or origin is tuple:
            if origin is tuple and not part.isdigit():
                raise ConfigError(f"{where}: '{part}' in '{key}' must be a list index")
            tp = typing.get_args(tp)[1 if origin is dict else 0]
            i += 1
            continue
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(f"{where}: '{key}' is not an architecture key ('{part}' goes inside a value)")
        hints = typing.get_type_hints(tp)
        fields = {yaml_key(f): f for f in dataclasses.fields(tp)}
        if part not in fields:
            raise ConfigError(f"{where}: '{key}' is not an architecture key (unknown '{part}'; "
                              f"allowed: {', '.join(fields)})")
        f = fields[part]
        tp, dimension = hints[f.name], dimension_of(f)
        i += 1
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    return tp, dimension


def _number(value: Any, dimension: str | None, where: str) -> float:
    if dimension is not None:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a quantity with a unit, e.g. '{show(value)} "
                              f"{BASE_UNITS[dimension][0]}', got {show(value)}")
        try:
            return parse_quantity(value, dimension)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number, got {show(value)}")
    return value


def _param(key: str, raw: Any, path: Path) -> Param:
    where = f"{path}: key 'search.{key}'"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with low/high (or choices)")
    allowed = _CHOICE_KEYS if "choices" in raw else _RANGE_KEYS
    for k in raw:
        if k not in allowed:
            raise ConfigError(f"{path}: key 'search.{key}.{k}': unknown key; allowed: {', '.join(allowed)}")
    tp, dimension = key_field(key, f"{path}: key 'search'")
    same = raw.get("same", [])
    if not isinstance(same, list) or not all(isinstance(s, str) for s in same):
        raise ConfigError(f"{path}: key 'search.{key}.same': expected a list of dotted keys")
    for other in same:
        if key_field(other, f"{path}: key 'search.{key}.same'")[1] != dimension:
            raise ConfigError(f"{path}: key 'search.{key}.same': {other} has another unit than {key}")
    complement = raw.get("complement")
    if complement is not None:
        if not isinstance(complement, str) or key_field(complement, f"{path}: key 'search.{key}."
                                                                    "complement'")[0] is not float:
            raise ConfigError(f"{path}: key 'search.{key}.complement': expected a dotted key of a "
                              "number (set to 1 - value)")
    if "choices" in raw:
        choices = raw["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{path}: key 'search.{key}.choices': expected a non-empty list")
        if complement is not None and not all(isinstance(c, (int, float)) and not isinstance(c, bool)
                                              for c in choices):
            raise ConfigError(f"{path}: key 'search.{key}.complement': needs numeric choices")
        return Param(key=key, kind="choice", choices=tuple(choices), same=tuple(same),
                     complement=complement, dimension=None)
    for k in ("low", "high"):
        if k not in raw:
            raise ConfigError(f"{path}: key 'search.{key}.{k}': missing (give low and high, or choices)")
    if tp not in (int, float):
        raise ConfigError(f"{path}: key 'search.{key}': a range needs a numeric key; give `choices` "
                          f"for a {getattr(tp, '__name__', tp)}")
    low = _number(raw["low"], dimension, f"{path}: key 'search.{key}.low'")
    high = _number(raw["high"], dimension, f"{path}: key 'search.{key}.high'")
    if not low < high:
        raise ConfigError(f"{path}: key 'search.{key}': expected low < high, got {show(raw['low'])} "
                          f"and {show(raw['high'])}")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{path}: key 'search.{key}.log': expected true or false")
    if log and low <= 0:
        raise ConfigError(f"{path}: key 'search.{key}.log': a log range needs low > 0")
    step = raw.get("step")
    if step is not None:
        step = _number(step, dimension, f"{path}: key 'search.{key}.step'")
        if not step > 0 or log:
            raise ConfigError(f"{path}: key 'search.{key}.step': expected > 0 and no log: true")
        n = (high - low) / step
        if abs(n - round(n)) > 1e-9 * max(1.0, n):
            raise ConfigError(f"{path}: key 'search.{key}.step': high - low must be a multiple of step")
    if tp is int:
        if not all(float(v).is_integer() for v in (low, high, step or 1)):
            raise ConfigError(f"{path}: key 'search.{key}': {key} is an integer: give integer low, "
                              "high and step")
        return Param(key=key, kind="int", low=int(low), high=int(high), log=log,
                     step=int(step or 1), same=tuple(same), complement=complement)
    return Param(key=key, kind="float", low=float(low), high=float(high), log=log,
                 step=None if step is None else float(step), same=tuple(same),
                 complement=complement, dimension=dimension)


def _start_value(p: Param, value: Any, where: str) -> Any:
    """A start design's value of ``p`` in the search space's terms (SI float, int, or a choice)."""
    if p.kind == "choice":
        if value not in p.choices:
            raise ConfigError(f"{where}: {show(value)} is not one of the choices")
        return value
    number = _number(value, p.dimension, where)
    if not p.low <= number <= p.high:
        raise ConfigError(f"{where}: {show(value)} is outside the searched range")
    if p.step is not None:
        n = (number - p.low) / p.step
        if abs(n - round(n)) > 1e-9:
            raise ConfigError(f"{where}: {show(value)} is not on the range's step grid")
    if p.kind == "int" and not float(number).is_integer():
        raise ConfigError(f"{where}: expected an integer, got {show(value)}")
    return int(number) if p.kind == "int" else float(number)


def _starts(raw: Any, params: tuple[Param, ...], path: Path) -> tuple[tuple[str, dict[str, Any]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{path}: key 'start': expected a mapping of design names to their values "
                          "of every searched key")
    starts = []
    for name, values in raw.items():
        where = f"{path}: key 'start.{name}'"
        if not isinstance(values, dict) or set(values) != {p.key for p in params}:
            raise ConfigError(f"{where}: give a value for each searched key and nothing else "
                              f"({', '.join(p.key for p in params)})")
        starts.append((str(name), {p.key: _start_value(p, values[p.key], f"{path}: key "
                                                        f"'start.{name}.{p.key}'") for p in params}))
    return tuple(starts)


def numeric_columns() -> tuple[str, ...]:
    """The run columns a search can minimise, maximise or constrain (``report.SUMMARY_COLUMNS``)."""
    from accelsim.report import SUMMARY_COLUMNS

    return tuple(c for c in SUMMARY_COLUMNS if c not in _TEXT_COLUMNS)


def _column(value: Any, where: str) -> str:
    columns = numeric_columns()
    if value not in columns:
        import difflib

        close = difflib.get_close_matches(str(value), columns, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"{where}: unknown run column {show(value)}{hint}")
    return value


def _constraint(raw: Any, i: int, path: Path, repeats: int) -> Constraint:
    where = f"{path}: key 'constraints.{i}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}': expected a mapping with column and at_least or at_most")
    for k in raw:
        if k not in _CONSTRAINT_KEYS:
            raise ConfigError(f"{where}.{k}': unknown key; allowed: {', '.join(_CONSTRAINT_KEYS)}")
    if "column" not in raw:
        raise ConfigError(f"{where}.column': missing required key")
    column = _column(raw["column"], f"{where}.column'")
    relative = raw.get("relative_to")
    if relative is not None:
        relative = _column(relative, f"{where}.relative_to'")
    if ("at_least" in raw) == ("at_most" in raw):
        raise ConfigError(f"{where}': give exactly one of at_least and at_most")
    bound_key = "at_least" if "at_least" in raw else "at_most"
    limit = _number(raw[bound_key], None, f"{where}.{bound_key}'")
    confidence = raw.get("confidence")
    if confidence is not None:
        confidence = _number(confidence, None, f"{where}.confidence'")
        if not 0.5 < confidence < 1:
            raise ConfigError(f"{where}.confidence': expected 0.5 < confidence < 1, got {show(confidence)}")
        if repeats < 2:
            raise ConfigError(f"{where}.confidence': a Student-t bound needs repeats >= 2 "
                              f"(spec has {repeats})")
    return Constraint(column=column, relative_to=relative, confidence=confidence,
                      **{bound_key: float(limit)})


def _int(raw: dict, key: str, default: int, low: int, high: int, path: Path) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{path}: key '{key}': expected an integer from {low} to {high:,}, got "
                          f"{show(value)}")
    return value


def load_spec(path: str | Path, *, seed: int | None = None, trials: int | None = None) -> OptimizeSpec:
    """Read and check a design-search spec (``--seed``/``--trials`` override the spec's); the base
    architecture is built at every corner of the search space before anything runs."""
    path = Path(path)
    raw = read_yaml(path)
    for key in raw:
        if key not in SPEC_KEYS:
            raise ConfigError(f"{path}: key '{key}': unknown key; allowed: {', '.join(SPEC_KEYS)}")
    for key in ("arch", "net"):
        if not isinstance(raw.get(key), str):
            raise ConfigError(f"{path}: key '{key}': missing required key (a path)")
    if raw.get("data") is not None and not isinstance(raw["data"], str):
        raise ConfigError(f"{path}: key 'data': expected a path, got {show(raw['data'])}")
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"{path}: key 'name': {show(name)}: use letters, digits and _ . + - only")
    repeats = _int(raw, "repeats", 1, 1, 1000, path)
    spec_seed = _int(raw, "seed", 0, 0, _MAX_SEED, path) if seed is None else seed
    if not 0 <= spec_seed <= _MAX_SEED:
        raise ConfigError(f"--seed {spec_seed}: expected 0 to {_MAX_SEED}")
    n_trials = _int(raw, "trials", 50, 1, MAX_TRIALS, path) if trials is None else trials
    batch = _int(raw, "batch", 4, 1, 1000, path)
    startup = _int(raw, "startup_trials", 10, 0, MAX_TRIALS, path)
    population = _int(raw, "population", 16, 2, MAX_TRIALS, path)
    sampler = raw.get("sampler", "auto")
    if sampler not in SAMPLERS:
        raise ConfigError(f"{path}: key 'sampler': expected one of {', '.join(SAMPLERS)}, got "
                          f"{show(sampler)}")
    fixed = raw.get("set") or {}
    if not isinstance(fixed, dict):
        raise ConfigError(f"{path}: key 'set': expected a mapping of dotted config keys to values")
    search = raw.get("search")
    if not isinstance(search, dict) or not search:
        raise ConfigError(f"{path}: key 'search': expected a mapping of dotted config keys to ranges")
    params = tuple(_param(str(k), v, path) for k, v in search.items())
    written = [k for p in params for k in (p.key, *p.same, *([p.complement] if p.complement else []))]
    twice = sorted({k for k in written if written.count(k) > 1} | (set(written) & set(map(str, fixed))))
    if twice:
        raise ConfigError(f"{path}: key 'search': {', '.join(twice)} set twice (by the search and "
                          "its same/complement keys or `set`)")
    objectives = raw.get("objectives")
    if not isinstance(objectives, dict) or not objectives:
        raise ConfigError(f"{path}: key 'objectives': expected a mapping of run columns to "
                          "minimize or maximize")
    for column, direction in objectives.items():
        _column(column, f"{path}: key 'objectives'")
        if direction not in DIRECTIONS:
            raise ConfigError(f"{path}: key 'objectives.{column}': expected minimize or maximize, got "
                              f"{show(direction)}")
    constraints = raw.get("constraints") or []
    if not isinstance(constraints, list):
        raise ConfigError(f"{path}: key 'constraints': expected a list")
    base = path.parent
    spec = OptimizeSpec(
        name=name, path=path, raw=raw, arch=base / raw["arch"], net=base / raw["net"],
        data=base / raw["data"] if raw.get("data") else None, repeats=repeats, seed=spec_seed,
        fixed=tuple((str(k), v) for k, v in fixed.items()), params=params,
        objectives=tuple((str(k), str(v)) for k, v in objectives.items()),
        constraints=tuple(_constraint(c, i, path, repeats) for i, c in enumerate(constraints)),
        trials=n_trials, batch=batch, sampler=sampler, startup_trials=startup, population=population,
        start=_starts(raw.get("start"), params, path))
    if len(spec.start) > spec.trials:
        raise ConfigError(f"{path}: key 'start': {len(spec.start)} start designs but only {spec.trials} "
                          "trials")
    check(spec)
    return spec


def corners(spec: OptimizeSpec) -> list[dict[str, Any]]:
    """Search points that validate every parameter's extremes: all lows, then each parameter at
    its high (or each of its choices) with the others at their lows."""
    def ends(p: Param) -> list[Any]:
        return list(p.choices) if p.kind == "choice" else [p.low, p.high]

    lows = {p.key: ends(p)[0] for p in spec.params}
    points = [lows]
    for p in spec.params:
        points += [{**lows, p.key: v} for v in ends(p)[1:]]
    return points + [values for _, values in spec.start]


def overrides(spec: OptimizeSpec, values: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The config overrides of a search point (parameter key -> value), after the spec's ``set``."""
    return spec.fixed + tuple(pair for p in spec.params for pair in p.overrides(values[p.key]))


def check(spec: OptimizeSpec) -> None:
    """Every corner of the search space builds a valid architecture (unknown keys, out-of-range
    values, keys the chosen models do not read) and fits the run limits; the network loads."""
    from accelsim import limits
    from accelsim.errors import UsageError
    from accelsim.network import load_network
    from accelsim.sweeps import _n_images

    for p in (spec.arch, spec.net):
        if not p.is_file():
            raise ConfigError(f"{spec.path}: no such file {p}")
    net = load_network(spec.net)
    n_images = _n_images(net, spec.data)
    for values in corners(spec):
        try:
            arch = load_arch(spec.arch, overrides(spec, values))
        except ConfigError as exc:
            point = ", ".join(f"{k}={show(v)}" for k, v in values.items())
            raise ConfigError(f"{spec.path}: search point ({point}): {exc}") from None
        try:
            limits.check_run(arch, net, n_images, spec.repeats, where="a trial")
        except UsageError as exc:
            raise ConfigError(f"{spec.path}: {exc}") from None


def fingerprint(spec: OptimizeSpec) -> str:
    """SHA-256 of what a study's trials depend on: the spec (without ``trials``), the seed, and the
    architecture, network and data files' contents."""
    from accelsim.sweeps import _data_files, _sha256_files

    content = {k: v for k, v in spec.raw.items() if k != "trials"}
    content["seed"] = spec.seed
    files = {"arch": _sha256_files([spec.arch]), "net": _sha256_files([spec.net]),
             "data": None if spec.data is None else _sha256_files(_data_files(spec.data))}
    text = json.dumps({"spec": content, "files": files}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
