"""Design search: an ``OptimizeSpec`` -> an Optuna study (TPE for one objective, NSGA-II for several,
constraints judged on confidence bounds over the repeats) whose trials are sweep tasks, run in
process, on local worker processes or on a Dask cluster -> trial, run and front CSVs, a figure, and
each design on the front as a ready-to-run architecture YAML.

The study lives in ``<out>/study.journal`` (Optuna's JournalStorage), so an interrupted search
resumes (``resume=True``). Trials are asked in fixed batches of ``spec.batch`` and told in trial
order once the whole batch has run, and the sampler is re-seeded before each ask from (spec seed,
trial number): what a trial asks for depends only on the trials before it, never on the number of
workers or the order in which runs finish.
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from accelsim import sweeps
from accelsim.config import _apply_override, read_yaml
from accelsim.errors import UsageError
from accelsim.optimize_spec import OptimizeSpec, Param, fingerprint, overrides, yaml_value
from accelsim.outputs import OutputLock, OutputSet, ensure_dir
from accelsim.report import SUMMARY_COLUMNS

JOURNAL = "study.journal"
RECORD = "spec.json"
RUNS_CSV = "runs.csv"
TRIALS_CSV = "trials.csv"
FRONT_CSV = "front.csv"
FIGURE = "front.png"
DESIGNS = "designs"
_STUDY = "accelsim"


# ----------------------------------------------------------------------------------------------
# Parameters, samplers and the judging of a trial
# ----------------------------------------------------------------------------------------------


def _distribution(p: Param):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if p.kind == "float":
        return FloatDistribution(p.low, p.high, log=p.log, step=p.step)
    if p.kind == "int":
        return IntDistribution(p.low, p.high, log=p.log, step=p.step)
    return CategoricalDistribution(list(p.choices) if _scalar_choices(p) else list(range(len(p.choices))))


def _scalar_choices(p: Param) -> bool:
    return all(c is None or isinstance(c, (str, int, float, bool)) for c in p.choices)


def param_value(p: Param, suggested: Any) -> Any:
    """The config value of a suggested parameter (choices that are lists or mappings are suggested
    by index; floats cut to 12 significant digits, so 0.30000000000000004 is 0.3)."""
    if p.kind == "choice":
        return suggested if _scalar_choices(p) else p.choices[suggested]
    if p.kind == "float":
        return float(f"{suggested:.12g}")
    return int(suggested)


def trial_values(spec: OptimizeSpec, params: dict[str, Any]) -> dict[str, Any]:
    return {p.key: param_value(p, params[p.key]) for p in spec.params}


def _seed(spec: OptimizeSpec, trial_number: int) -> int:
    """The sampler's seed for the ask of ``trial_number``: from the spec seed, never the clock."""
    return int(np.random.SeedSequence([spec.seed, trial_number]).generate_state(1)[0])


def _constraints_of(trial) -> list[float]:
    return list(trial.user_attrs.get("constraints", [math.inf]))


def make_sampler(spec: OptimizeSpec, trial_number: int):
    """A fresh sampler for one ask, seeded from (spec seed, trial number). Constraints reach it
    through ``Trial.set_constraint`` (Optuna 5), so TPE and NSGA-II both rank feasible trials first."""
    import optuna

    seed = _seed(spec, trial_number)
    name = spec.sampler_name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "tpe":
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=spec.startup_trials)
        if name == "nsga2":
            return optuna.samplers.NSGAIISampler(population_size=spec.population, seed=seed)
        return optuna.samplers.RandomSampler(seed=seed)


def judge(spec: OptimizeSpec, rows: list[dict]) -> tuple[list[float] | None, list[float], list[float]]:
    """A trial's objective values (means over its repeats; None if one is not finite), its
    constraint violations (Optuna's convention: <= 0 is satisfied) and the judged values.

    A constraint with ``confidence`` c is judged on the one-sided Student-t bound of the per-repeat
    values v_r (column minus ``relative_to``, one per repeat): mean -+ t_{c, R-1} s / sqrt(R), the
    lower bound for ``at_least``, the upper for ``at_most``; without it on the mean.
    """
    from scipy.stats import t as student_t

    n = len(rows)
    values = [float(np.mean([_float(r[c]) for r in rows])) for c, _ in spec.objectives]
    violations, judged = [], []
    for c in spec.constraints:
        v = np.array([_float(r[c.column]) - (_float(r[c.relative_to]) if c.relative_to else 0.0)
                      for r in rows])
        value = float(v.mean())
        if c.confidence is not None:
            half = float(student_t.ppf(c.confidence, n - 1) * v.std(ddof=1) / math.sqrt(n))
            value = value - half if c.at_least is not None else value + half
        judged.append(value)
        violations.append(c.at_least - value if c.at_least is not None else value - c.at_most)
    violations = [x if math.isfinite(x) else math.inf for x in violations]  # NaN: infeasible
    return (values if all(math.isfinite(x) for x in values) else None), violations, judged


# ----------------------------------------------------------------------------------------------
# Executing trials: the sweep's tasks
# ----------------------------------------------------------------------------------------------


def sweep_spec(spec: OptimizeSpec) -> sweeps.SweepSpec:
    """The sweep whose points are this study's trials (a trial's overrides are its point's values)."""
    return sweeps.SweepSpec(name=spec.name, path=spec.path, arch=spec.arch, net=spec.net,
                           data=spec.data, repeats=spec.repeats, seeds=(spec.seed,), fixed=(),
                           grid=(), zipped=())


def run_trials(spec: OptimizeSpec, batch: list[tuple[int, dict[str, Any]]], workers: int,
               scheduler: str | None) -> dict[int, list[dict]]:
    """Run each (trial number, parameter values) of a batch for every repeat, as sweep tasks on the
    sweep's execution path; returns each trial's run rows (``SUMMARY_COLUMNS``) in repeat order."""
    s = sweep_spec(spec)
    tasks = [(sweeps.SweepPoint(index=number, values=overrides(spec, values), seed=spec.seed), r)
             for number, values in batch for r in range(spec.repeats)]
    rows: dict[int, dict[int, dict]] = {number: {} for number, _ in batch}
    for row, _timeline in sweeps._execute(s, tasks, workers, scheduler):
        rows[int(row["point"])][int(row["repeat"])] = {c: _plain(row[c]) for c in SUMMARY_COLUMNS}
    return {number: [by_repeat[r] for r in range(spec.repeats)] for number, by_repeat in rows.items()}


def _plain(value: Any) -> Any:
    """A run value as JSON (the study stores it): numpy scalars as Python ones, NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


# ----------------------------------------------------------------------------------------------
# The study
# ----------------------------------------------------------------------------------------------


def _storage(out_dir: Path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(out_dir / JOURNAL)))


def _open_study(spec: OptimizeSpec, out_dir: Path, resume: bool, digest: str):
    import optuna

    journal = out_dir / JOURNAL
    directions = [d for _, d in spec.objectives]
    if resume and journal.exists() and journal.stat().st_size > 0:
        try:
            previous = json.loads((out_dir / RECORD).read_text()).get("sha256")
        except (OSError, ValueError, AttributeError):
            previous = None
        if previous != digest:
            raise UsageError(f"resume: {out_dir}: another spec, seed or input files wrote this study "
                             f"(or {out_dir / RECORD} is missing); run without --resume to start "
                             "over, or choose another --out")
        study = optuna.load_study(study_name=_STUDY, storage=_storage(out_dir))
        if [d.name.lower() for d in study.directions] != directions:
            raise UsageError(f"resume: {out_dir}: the study's directions differ from the spec's")
        return study
    for name in (JOURNAL, JOURNAL + ".lock", RECORD, RUNS_CSV, TRIALS_CSV, FRONT_CSV, FIGURE):
        (out_dir / name).unlink(missing_ok=True)
    _clear_designs(out_dir, keep=set())
    record = {"sha256": digest, "spec_file": str(spec.path), "seed": spec.seed, "spec": spec.raw}
    with OutputSet() as files:
        files.write_text(out_dir / RECORD, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    study = optuna.create_study(study_name=_STUDY, storage=_storage(out_dir), directions=directions)
    for name, values in spec.start:  # the first trials, asked in this order
        study.enqueue_trial(_suggested(spec, values), user_attrs={"design": name})
    return study


def _suggested(spec: OptimizeSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Config values -> the values the distributions hold (choices that are lists: their index)."""
    return {p.key: (p.choices.index(values[p.key]) if p.kind == "choice" and not _scalar_choices(p)
                    else values[p.key]) for p in spec.params}


def run_study(spec: OptimizeSpec, out_dir: str | Path, *, workers: int = 1, scheduler: str | None = None,
              resume: bool = False, progress: bool = True) -> pd.DataFrame:
    """Run the design search of ``spec`` until it has ``spec.trials`` trials; write the outputs in
    ``out_dir`` after every batch. Returns the trials table (``trials.csv``)."""
    import optuna
    from optuna.trial import Trial, TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out_dir = Path(out_dir)
    ensure_dir(out_dir)
    digest = fingerprint(spec)
    distributions = {p.key: _distribution(p) for p in spec.params}
    with OutputLock(out_dir / TRIALS_CSV):
        study = _open_study(spec, out_dir, resume, digest)
        finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
        bar = _progress(spec.trials, min(len(finished), spec.trials), progress)
        _postfix(bar, spec, finished)
        try:
            while True:
                # enqueued start designs wait as trials without a number of their own yet
                known = [t for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING]
                running = [Trial(study, t._trial_id) for t in known if t.state == TrialState.RUNNING]
                if running:  # an interrupted batch: rerun it as asked
                    batch = running
                elif len(known) >= spec.trials:
                    break
                else:
                    n = min(spec.batch - len(known) % spec.batch, spec.trials - len(known))
                    batch = []
                    for number in range(len(known), len(known) + n):
                        study.sampler = make_sampler(spec, number)
                        batch.append(study.ask(distributions))
                values = {t.number: trial_values(spec, t.params) for t in batch}
                rows = run_trials(spec, [(t.number, values[t.number]) for t in batch], workers, scheduler)
                for trial in sorted(batch, key=lambda t: t.number):
                    objectives, violations, _ = judge(spec, rows[trial.number])
                    trial.set_user_attr("rows", rows[trial.number])
                    trial.set_user_attr("constraints", violations)
                    for i, violation in enumerate(violations):  # the samplers' constraint handling
                        trial.set_constraint(f"constraint{i}", violation)
                    study.sampler = make_sampler(spec, trial.number)  # after_trial hooks
                    if objectives is None:
                        study.tell(trial, state=TrialState.FAIL)
                    else:
                        study.tell(trial, objectives)
                finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
                write_outputs(spec, study, out_dir)
                bar.update(len(batch))
                _postfix(bar, spec, finished)
        finally:
            bar.close()
        return write_outputs(spec, study, out_dir)


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    # disable=None: only on a terminal (as the run's bar), so piped output stays clean
    return tqdm(total=total, initial=initial, unit="trial", desc="optimize",
                disable=None if enabled else True, file=sys.stderr, dynamic_ncols=True)


def _postfix(bar, spec: OptimizeSpec, finished: list) -> None:
    feasible = [t for t in finished if t.values is not None and max(_constraints_of(t), default=0) <= 0]
    text = f"feasible {len(feasible)}/{len(finished)}"
    if feasible and len(spec.objectives) == 1:
        column, direction = spec.objectives[0]
        pick = min if direction == "minimize" else max
        best = pick(feasible, key=lambda t: t.values[0])
        text += f", best {column} {best.values[0]:.4g} (trial {best.number})"
    elif feasible:
        text += f", front {len(pareto_front(spec, feasible))}"
    bar.set_postfix_str(text, refresh=False)


# ----------------------------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------------------------


def pareto_front(spec: OptimizeSpec, trials: list) -> list:
    """The feasible trials no other feasible trial dominates (all objectives at least as good, one
    better); for one objective, the best trial (the lowest number among equals)."""
    sign = np.array([1.0 if d == "minimize" else -1.0 for _, d in spec.objectives])
    pts = [(t, sign * np.array(t.values)) for t in trials]
    front = [t for t, a in pts if not any(np.all(b <= a) and np.any(b < a) for _, b in pts)]
    if len(spec.objectives) == 1 and front:
        return [min(front, key=lambda t: t.number)]
    return front


def _param_cell(p: Param, value: Any) -> Any:
    return sweeps._cell(value)


def tables(spec: OptimizeSpec, study) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list]:
    """The runs (trial x repeat), trials and front tables of a study, and the front's trials."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished() and "rows" in t.user_attrs]
    trials.sort(key=lambda t: t.number)
    feasible = [t for t in trials if t.values is not None and max(_constraints_of(t), default=0) <= 0]
    front = pareto_front(spec, feasible)
    on_front = {t.number for t in front}
    run_rows, trial_rows = [], []
    numeric = [c for c in SUMMARY_COLUMNS if c not in ("run_id", "arch", "net", "dataset")]
    for t in trials:
        values = trial_values(spec, t.params)
        params = {p.key: _param_cell(p, values[p.key]) for p in spec.params}
        rows = t.user_attrs["rows"]
        for r, row in enumerate(rows):
            run_rows.append({"trial": t.number, "repeat": r, "design": t.user_attrs.get("design", ""),
                             **params, **row})
        _, violations, judged = judge(spec, rows)
        row = {"trial": t.number, "design": t.user_attrs.get("design", ""), **params,
               "feasible": t.number in {f.number for f in feasible},
               "front": t.number in on_front}
        for i, c in enumerate(spec.constraints):
            row[f"constraint{i}_judged"] = judged[i]
            row[f"constraint{i}_limit"] = c.at_least if c.at_least is not None else c.at_most
        row.update({c: rows[0][c] for c in ("arch", "net", "dataset")})
        row.update({c: float(np.mean([_float(r[c]) for r in rows])) for c in numeric})
        trial_rows.append(row)
    runs = pd.DataFrame(run_rows)
    table = pd.DataFrame(trial_rows)
    front_table = table[table["front"]] if len(table) else table
    if len(front_table):
        front_table = front_table.sort_values([spec.objectives[0][0], "trial"], kind="stable")
    return runs, table, front_table.reset_index(drop=True), front


def design_yaml(spec: OptimizeSpec, trial_number: int, values: dict[str, Any], objective_values,
                out_dir: Path) -> str:
    """The base architecture with a trial's overrides, as a ready-to-run YAML (``tech`` paths made
    relative to ``out_dir``/designs)."""
    data = read_yaml(spec.arch)
    for pair in overrides(spec, values):
        _apply_override(data, pair)
    tech = data.get("tech")
    if isinstance(tech, str) and ("/" in tech or tech.endswith((".yaml", ".yml"))):
        data["tech"] = os.path.relpath((spec.arch.parent / tech).resolve(), (out_dir / DESIGNS).resolve())
    data["name"] = f"{spec.name}_trial{trial_number}"
    found = ", ".join(f"{c} {v:.4g}" for (c, _), v in zip(spec.objectives, objective_values))
    chosen = ", ".join(f"{k}={yaml_value(v, p.dimension)}" for p, (k, v) in zip(spec.params, values.items()))
    data["description"] = f"design search {spec.name}, trial {trial_number}: {chosen}"
    header = (f"# Found by `accelsim optimize {spec.path.name}` (seed {spec.seed}), trial {trial_number}: "
              f"{found} (means over {spec.repeats} repeats).\n# Base architecture: {spec.arch.name}, "
              "with the search's overrides applied; every other value and its source is in the base.\n")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=100)


def _clear_designs(out_dir: Path, keep: set[str]) -> None:
    folder = out_dir / DESIGNS
    if folder.is_dir():
        for path in folder.glob("trial*.yaml"):
            if path.name not in keep:
                path.unlink()


def write_outputs(spec: OptimizeSpec, study, out_dir: Path) -> pd.DataFrame:
    """runs.csv, trials.csv, front.csv, front.png and designs/trial<N>.yaml from the study, written
    together (``OutputSet``); designs no longer on the front are removed."""
    runs, table, front_table, front = tables(spec, study)
    ensure_dir(out_dir / DESIGNS)
    designs = {}
    for t in front:
        designs[f"trial{t.number}.yaml"] = design_yaml(spec, t.number, trial_values(spec, t.params),
                                                       t.values, out_dir)
    with OutputSet() as files:
        files.write_text(out_dir / RUNS_CSV, runs.to_csv(index=False))
        files.write_text(out_dir / TRIALS_CSV, table.to_csv(index=False))
        files.write_text(out_dir / FRONT_CSV, front_table.to_csv(index=False))
        for name, text in designs.items():
            files.write_text(out_dir / DESIGNS / name, text)
        if len(table):
            files.write(out_dir / FIGURE, lambda fh: figure(spec, table, fh))
    _clear_designs(out_dir, keep=set(designs))
    return table


def _mark_starts(ax, table: pd.DataFrame, x: str, y: str) -> None:
    """The spec's start designs (e.g. the papers'): black diamonds with their names."""
    starts = table[table["design"].fillna("") != ""]
    if len(starts):
        ax.scatter(starts[x], starts[y], marker="D", facecolors="none", edgecolors="k", s=50,
                   label="start designs")
        for _, row in starts.iterrows():
            ax.annotate(str(row["design"]), (row[x], row[y]), fontsize=7, xytext=(4, 4),
                        textcoords="offset points")


def figure(spec: OptimizeSpec, table: pd.DataFrame, fh) -> None:
    """Objectives against each other (or the objective against the trial number, with the best
    feasible value so far), infeasible trials grey, the front in red, the start designs as named
    diamonds; beside it the first constraint's judged value against the first objective with its
    limit as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if spec.constraints else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.5), dpi=120, squeeze=False)
    feas, infeas, front = table[table["feasible"]], table[~table["feasible"]], table[table["front"]]
    obj = [c for c, _ in spec.objectives]
    x0, y0 = (obj[0], obj[1]) if len(obj) > 1 else ("trial", obj[0])
    ax = axes[0][0]
    ax.scatter(infeas[x0], infeas[y0], marker="x", color="0.6", label="infeasible")
    ax.scatter(feas[x0], feas[y0], color="tab:blue", s=18, label="feasible")
    if len(obj) > 1:
        front_sorted = front.sort_values(x0)
        ax.plot(front_sorted[x0], front_sorted[y0], "o-", color="tab:red", ms=7, label="front")
    else:
        sign = 1.0 if spec.objectives[0][1] == "minimize" else -1.0
        running = (sign * table[y0]).where(table["feasible"], np.inf).cummin()
        running = sign * running.where(np.isfinite(running))
        ax.step(table["trial"], running, where="post", color="tab:red", lw=1, label="best feasible so far")
        ax.plot(front[x0], front[y0], "*", color="tab:red", ms=12, label="best")
    _mark_starts(ax, table, x0, y0)
    ax.set_xlabel(x0)
    ax.set_ylabel(y0)
    ax.set_title(f"{spec.name}: {len(table)} trials, {len(feas)} feasible")
    ax.legend(fontsize=8)
    if spec.constraints:
        c = spec.constraints[0]
        ax = axes[0][1]
        ax.scatter(infeas["constraint0_judged"], infeas[obj[0]], marker="x", color="0.6", label="infeasible")
        ax.scatter(feas["constraint0_judged"], feas[obj[0]], color="tab:blue", s=18, label="feasible")
        ax.scatter(front["constraint0_judged"], front[obj[0]], color="tab:red", s=60, marker="*",
                   label="front")
        _mark_starts(ax, table, "constraint0_judged", obj[0])
        limit = c.at_least if c.at_least is not None else c.at_most
        ax.axvline(limit, ls="--", color="k", lw=1, label="limit")
        ax.set_xlabel(c.label)
        ax.set_ylabel(obj[0])
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(fh, format="png")
    plt.close(fig)
