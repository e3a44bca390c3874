"""Sweeps on a Dask cluster: connect with bounded waits, check that every worker runs the client's
software versions, ship each task's inputs from the client (resolved architecture, technology file,
network and workload) so that workers need accelsim installed and nothing else, and turn a scheduler
that cannot be reached or is lost into one line. Also the batch-system clusters of dask-jobqueue
(``accelsim sweep --cluster slurm|pbs|sge``, an optional extra: ``pip install accelsim[cluster]``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import platform
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from accelsim.errors import AccelsimError, ClusterError, UsageError

#: Seconds the client waits for the scheduler to answer.
CONNECT_TIMEOUT_S = 10.0
#: Seconds a sweep waits for a first worker to join (and, later, for a worker to join again when
#: none is left) before it gives up; None waits as long as it takes (a batch queue).
WORKER_WAIT_S = 60.0
#: Retries of a task whose worker raised something other than an accelsim error (an infrastructure
#: failure: memory, a disk); a worker lost while it runs a task is the scheduler's to reschedule
#: (Dask's ``distributed.scheduler.allowed-failures``, 3 by default).
RETRIES = 2
#: Seconds between two looks at the cluster while waiting for results.
_POLL_S = 0.05
#: The batch systems of ``--cluster`` and their dask-jobqueue classes.
JOBQUEUE_CLUSTERS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster"}
#: Environment of the batch jobs' workers: one thread per worker all the way down.
_SINGLE_THREADED_ENV = ("NUMBA_NUM_THREADS=1", "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1",
                        "MKL_NUM_THREADS=1")


class Refusal(Exception):
    """Raised by a task on a worker that cannot run it as the client asked (other software versions,
    a shipped file it cannot store); the client stops the sweep with this one line. Not an
    ``AccelsimError``, which a point's own failure is (an error row)."""


def software_versions() -> dict[str, str]:
    """What a result depends on besides its inputs: python's, accelsim's and its libraries' versions
    (``accelsim.report.software_versions``). Read when called, so a worker reports what it runs."""
    from accelsim.report import software_versions as library_versions

    return {"python": platform.python_version(), **library_versions()}


def _differences(client: dict[str, str], worker: dict[str, str]) -> str:
    return ", ".join(f"{name} {worker.get(name, 'missing')} (client {version})"
                     for name, version in client.items() if worker.get(name) != version)


@dataclasses.dataclass(frozen=True, slots=True)
class ShippedFile:
    """A file the client read for the workers: its name on the client, content and SHA-256."""

    name: str
    text: str
    sha256: str

    @classmethod
    def read(cls, path: Path) -> ShippedFile:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ClusterError(f"{path}: cannot read it to ship to the workers "
                               f"({getattr(exc, 'strerror', None) or exc})") from None
        return cls(name=str(path), text=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())

    def materialise(self) -> Path:
        """This file on the worker: ``<tmp>/accelsim-shipped-<uid>/<sha256>.yaml``, written once per
        content (atomically, so that concurrent tasks of one machine agree)."""
        from accelsim.outputs import atomic_write_text

        path = Path(tempfile.gettempdir()) / f"accelsim-shipped-{os.getuid()}" / f"{self.sha256}.yaml"
        if not path.is_file():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(path, self.text)
            except (OSError, AccelsimError) as exc:
                raise Refusal(f"worker on {platform.node()}: cannot store the shipped file {self.name} "
                              f"at {path} ({getattr(exc, 'strerror', None) or exc})") from None
        return path


def _tech_file(tech: str) -> Path:
    """The technology file an architecture names (as ``accelsim.arch.tech.load_tech`` finds it)."""
    from accelsim.arch.tech import TECH_DIR

    path = Path(tech)
    return path if path.suffix in (".yaml", ".yml") else TECH_DIR / f"{tech}.yaml"


def run_shipped(spec, point, repeat: int, arch, tech: ShippedFile, net, workload, net_name: str,
                expected: dict[str, str]):
    """A sweep task on a worker, from inputs the client shipped: the point's resolved architecture,
    its technology file, the network and workload (scattered once per worker), and the client's
    software versions (a worker that joined after the handshake is checked here)."""
    _one_thread()
    from accelsim.sweeps import error_row, run_point

    found = software_versions()
    if found != expected:
        raise Refusal(f"worker on {platform.node()} (pid {os.getpid()}) runs other versions than the "
                      f"client: {_differences(expected, found)}; install the client's versions on "
                      "every node")
    here = tech.materialise()
    try:
        return run_point(spec, point, repeat, dataclasses.replace(arch, tech=str(here)), net, workload,
                         net_name)
    except AccelsimError as exc:  # the message as the client would write it: the tech by its name
        return error_row(point, repeat, type(exc)(str(exc).replace(str(here), arch.tech))), None


def _one_thread() -> None:
    """numba's parallel kernels on one thread in this worker (it runs one task per core; Dask's nanny
    limits OpenMP/BLAS threads but not numba's). The first task of a worker process that has not
    imported numba yet sets ``NUMBA_NUM_THREADS=1``, so that numba starts no idle threads at all (an
    OpenMP pool's idle threads spin after every parallel region: twice the CPU time per run was
    measured with numba's default pool of one thread per core, see benchmarks/bench_cluster.py);
    otherwise the calling thread's count is set to 1."""
    import sys

    if "numba" not in sys.modules:
        os.environ["NUMBA_NUM_THREADS"] = "1"
    import numba

    numba.set_num_threads(1)


@contextlib.contextmanager
def _quiet_dask():
    """distributed logs a lost connection as tracebacks on stderr; the sweep reports it in one line."""
    names = ("distributed", "tornado", "asyncio")
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name.split(".")[0] in names] + [logging.getLogger(name) for name in names]
    states = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, state in zip(loggers, states):
            logger.disabled = state


def connect(address: str, worker_wait_s: float | None = WORKER_WAIT_S):
    """A client of the scheduler at ``address`` with at least one worker whose versions are the
    client's (checked on every worker present); ``ClusterError`` in one line otherwise."""
    from dask.distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, ValueError) as exc:
        raise ClusterError(f"--scheduler {address}: no Dask scheduler answered within "
                           f"{CONNECT_TIMEOUT_S:g} s ({_first_line(exc)})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=worker_wait_s)
        except (TimeoutError, OSError):
            raise ClusterError(f"--scheduler {address}: no Dask worker joined the scheduler within "
                               f"{worker_wait_s:g} s (start some: dask worker {address} --nthreads 1 "
                               "--nworkers N)") from None
        check_versions(client, address)
    except BaseException:
        _close(client)
        raise
    return client


def check_versions(client, address: str) -> None:
    """Every worker runs the client's python, accelsim, numpy, numba, scipy, simpy and pandas (the
    byte-identical CSV depends on them), or ``ClusterError`` naming a worker and the differences."""
    expected = software_versions()
    try:
        found = client.run(software_versions, on_error="return")
    except (OSError, ValueError) as exc:
        raise ClusterError(f"--scheduler {address}: lost while asking the workers their versions "
                           f"({_first_line(exc)})") from None
    for worker, versions in sorted(found.items()):
        if isinstance(versions, BaseException):
            raise ClusterError(f"--scheduler {address}: worker {worker} cannot run accelsim "
                               f"({_first_line(versions)}); install accelsim=={expected['accelsim']} "
                               "on every node")
        if versions != expected:
            raise ClusterError(f"--scheduler {address}: worker {worker} runs other versions than this "
                               f"client: {_differences(expected, versions)}; install the same versions "
                               "on every node (pip install accelsim==VERSION and its pinned libraries)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def _close(client) -> None:
    with contextlib.suppress(Exception):
        client.close(timeout=5)


def execute(spec, todo: list, address: str, worker_wait_s: float | None = WORKER_WAIT_S) -> Iterator:
    """Yield (row, timeline) per (point, repeat) of ``todo`` as the cluster at ``address`` finishes
    them. Inputs are read here, once: the architecture of every point (overrides applied), its
    technology file, and each network with its workload, scattered to every worker."""
    import distributed  # noqa: F401 (its loggers exist before _quiet_dask silences them)

    from accelsim.sweeps import arch_key, point_arch, point_net

    archs, resolved, techs, inputs = {}, {}, {}, {}
    for point, _ in todo:
        if point.index not in archs:
            key = arch_key(spec, point)  # points that differ only in seed share their arch
            if key not in resolved:
                resolved[key] = point_arch(spec, point)
            archs[point.index] = arch = resolved[key]
            if arch.tech not in techs:
                techs[arch.tech] = ShippedFile.read(_tech_file(arch.tech))
            if spec.measure == "network":
                net_path = point_net(spec, point)
                if net_path not in inputs:
                    inputs[net_path] = _loaded(str(net_path), None if spec.data is None else str(spec.data))
    with _quiet_dask():
        client = connect(address, worker_wait_s)
        futures: list = []
        try:
            shipped = {}
            for net_path, (net, workload) in inputs.items():
                shipped[net_path] = client.scatter([net, workload], broadcast=True, hash=False)
            expected = software_versions()
            for point, repeat in todo:
                arch = archs[point.index]
                net_f, workload_f = shipped.get(point_net(spec, point), (None, None))
                name = point_net(spec, point).stem if spec.measure == "network" else ""
                futures.append(client.submit(run_shipped, spec, point, repeat, arch, techs[arch.tech],
                                             net_f, workload_f, name, expected, pure=False,
                                             retries=RETRIES))
            yield from _results(client, futures, address, worker_wait_s)
        except (OSError, ValueError) as exc:
            if client.status == "running":
                raise
            raise ClusterError(f"lost the Dask scheduler at {address} ({type(exc).__name__})") from None
        finally:
            with contextlib.suppress(Exception):
                client.cancel(futures)
            _close(client)


def _loaded(net_path: str, data: str | None):
    from accelsim.network import load_network
    from accelsim.workload import load_workload

    net = load_network(net_path)
    return net, load_workload(net, data)


def _results(client, futures: list, address: str, worker_wait_s: float | None) -> Iterator:
    """The futures' results as they finish; a lost scheduler, a task that keeps killing workers, a
    refusing worker or no worker left for ``worker_wait_s`` is a ``ClusterError``."""
    from concurrent.futures import CancelledError

    from dask.distributed import as_completed
    from distributed.scheduler import KilledWorker

    pending = as_completed(futures, loop=client.loop)
    alone_since = None
    while not pending.is_empty():
        batch = pending.next_batch(block=False)
        if not batch:
            if client.status not in ("running", "connecting"):
                raise ClusterError(f"lost the Dask scheduler at {address}")
            if client.scheduler_info().get("workers"):
                alone_since = None
            elif alone_since is None:
                alone_since = time.monotonic()
            elif worker_wait_s is not None and time.monotonic() - alone_since > worker_wait_s:
                raise ClusterError(f"no Dask worker left at {address} for {worker_wait_s:g} s")
            time.sleep(_POLL_S)
            continue
        for future in batch:
            try:
                result = future.result()
            except Refusal as exc:
                raise ClusterError(f"--scheduler {address}: {exc}") from None
            except KilledWorker as exc:
                raise ClusterError(f"a task was running on each of the workers that died "
                                   f"({_first_line(exc)})") from None
            except CancelledError:
                raise ClusterError(f"lost the Dask scheduler at {address} (its tasks were cancelled)"
                                   ) from None
            except Exception as exc:
                if future.status == "error":
                    raise  # the task's own exception, after its retries: a bug, with its traceback
                raise ClusterError(f"lost the Dask scheduler at {address} ({type(exc).__name__} while "
                                   "fetching a result)") from None
            yield result


# -- dask-jobqueue: workers as batch jobs ------------------------------------------------------------

def parse_cluster_options(pairs: list[str]) -> dict[str, Any]:
    """``--cluster-option key=value`` pairs: integers as integers, true/false as booleans, a
    ``[a, b]`` list as a list of strings, anything else as the string given."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not re.fullmatch(r"[a-z_]+", key):
            raise UsageError(f"--cluster-option {pair!r}: expected key=value (e.g. cores=8)")
        if key in options:
            raise UsageError(f"--cluster-option {key}: given twice")
        if re.fullmatch(r"\d+", value):
            options[key] = int(value)
        elif value in ("true", "false"):
            options[key] = value == "true"
        elif value.startswith("[") and value.endswith("]"):
            options[key] = [item.strip() for item in value[1:-1].split(",") if item.strip()]
        else:
            options[key] = value
    return options


#: Options of a jobqueue cluster that accelsim sets itself.
_OWN_OPTIONS = ("scheduler", "name", "n_workers", "job_cls", "loop", "asynchronous", "config_name",
                "security", "scheduler_cls", "silence_logs", "shared_temp_directory")


def _jobqueue_class(kind: str):
    if kind not in JOBQUEUE_CLUSTERS:
        raise UsageError(f"--cluster {kind}: expected one of {', '.join(JOBQUEUE_CLUSTERS)}")
    try:
        import dask_jobqueue
    except ImportError:
        raise UsageError(f"--cluster {kind}: needs dask-jobqueue, an optional extra: "
                         "pip install 'accelsim[cluster]' (or pip install dask-jobqueue)") from None
    return getattr(dask_jobqueue, JOBQUEUE_CLUSTERS[kind])


def _allowed_options(cls) -> list[str]:
    import inspect

    from dask_jobqueue.core import Job

    names = set()
    for fn in (cls.__init__, cls.job_cls.__init__, Job.__init__):
        names |= {p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    return sorted(names - {"self", *_OWN_OPTIONS})


def jobqueue_cluster(kind: str, options: dict[str, Any]):
    """A dask-jobqueue cluster of ``kind`` (slurm, pbs, sge) whose jobs run single-threaded workers:
    ``processes`` defaults to ``cores`` (one worker per core, one thread each) and the jobs export
    ``NUMBA_NUM_THREADS=1`` (and the BLAS counterparts). ``options`` are the class's own keywords
    (``cores``, ``memory``, ``queue``, ``walltime``, ``account``, ``python``, ...); an unknown one, or
    a missing ``cores``/``memory``, is a ``UsageError``. The scheduler runs in this process."""
    cls = _jobqueue_class(kind)
    allowed = _allowed_options(cls)
    for key in options:
        if key not in allowed:
            raise UsageError(f"--cluster-option {key}: not an option of dask-jobqueue's "
                             f"{cls.__name__}; allowed: {', '.join(allowed)}")
    for key in ("cores", "memory"):
        if key not in options:
            raise UsageError(f"--cluster {kind}: give --cluster-option {key}=... (the resources of "
                             f"one job, e.g. cores=8 memory='16 GB')")
    if not isinstance(options["cores"], int) or options["cores"] < 1:
        raise UsageError(f"--cluster-option cores={options['cores']}: expected an integer >= 1")
    settings = {"processes": options["cores"], "dashboard_address": None, **options}
    prologue = list(settings.pop("job_script_prologue", []))
    settings["job_script_prologue"] = [f"export {' '.join(_SINGLE_THREADED_ENV)}", *prologue]
    try:
        return cls(**settings)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--cluster {kind}: {_first_line(exc)}") from None
