"""Where a sweep's runs execute: in this process one after another, or as Ray tasks.

Both yield ``(plan, result)`` pairs as runs finish, ``result`` being what
:func:`~core.sweep.execute.execute_run` returned, or the exception the run raised. Ray is an
optional dependency (``pip install "convergence-workbench[cluster]"``); the serial backend needs
nothing and gives the same numbers, since each run fixes its own thread count and seeds.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from .execute import execute_run

#: object store of a local Ray started by the sweep: results are a few files per run
LOCAL_OBJECT_STORE_BYTES = 128 * 1024 * 1024
MISSING_RAY = (
    "Ray is not installed: run the sweep with --serial, or install the cluster extra "
    "(pip install 'convergence-workbench[cluster]', or pip install -e '.[cluster]' in a checkout)"
)


def serial_results(plans, *, threads: int, plugins: tuple[str, ...] = ()) -> Iterator[tuple]:
    """Execute the plans in this process, in order."""
    for plan in plans:
        try:
            result = execute_run(plan.config, threads, plugins)
        except Exception as exc:  # noqa: BLE001  (recorded like a failed Ray task; the sweep goes on)
            result = exc
        yield plan, result


def import_ray():
    """The ``ray`` module, or ``ValueError`` saying how to do without it or get it."""
    try:
        import ray
    except ImportError:
        raise ValueError(MISSING_RAY) from None
    return ray


def lean_ray_environment() -> None:
    """Environment for a local Ray that starts fast and quietly (no usage report, no dashboard
    agent's metrics export); values already set by the user are kept."""
    for name, value in (
        ("RAY_USAGE_STATS_ENABLED", "0"),
        ("RAY_DISABLE_DOCKER_CPU_WARNING", "1"),
        ("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0"),
        ("RAY_METRICS_EXPORT_ENABLED", "0"),
    ):
        os.environ.setdefault(name, value)


def start_ray(address: str | None = None, cpus: int | None = None):
    """Connect to the Ray cluster at ``address``, or start a local one with ``cpus`` CPUs (default:
    the machine's). Returns ``(ray, started)``: ``started`` is False when Ray was already
    initialised in this process (it is then used as it is and left running)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    lean_ray_environment()
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    else:
        ray.init(
            num_cpus=cpus or os.cpu_count() or 1,
            include_dashboard=False,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    return ray, True


def ray_results(
    plans,
    *,
    threads: int,
    gpus_per_run: float,
    plugins: tuple[str, ...] = (),
    address: str | None = None,
    cpus: int | None = None,
) -> Iterator[tuple]:
    """Execute the plans as Ray tasks (one per run, ``threads`` CPUs each and ``gpus_per_run``
    GPUs for runs on cuda); yields them as they finish. A local Ray started here is shut down
    when the iteration ends (also on an interrupt, which cancels the runs not yet finished)."""
    plans = list(plans)
    ray, started = start_ray(address, cpus)
    pending = {}
    try:
        resources = ray.cluster_resources()
        if any(plan.uses_cuda for plan in plans) and resources.get("GPU", 0) < gpus_per_run:
            raise ValueError(
                f"[run] device = 'cuda' asks for {gpus_per_run:g} GPU per run, but the Ray cluster has "
                f"{resources.get('GPU', 0):g}; use device 'cpu' or a cluster with GPUs"
            )
        if resources.get("CPU", 0) < threads:
            raise ValueError(
                f"[sweep] cpus_per_run = {threads} is more than the Ray cluster's {resources.get('CPU', 0):g} CPUs"
            )
        task = ray.remote(execute_run)
        for plan in plans:
            options = {"num_cpus": threads, "num_gpus": gpus_per_run if plan.uses_cuda else 0, "max_retries": 0}
            pending[task.options(**options).remote(plan.config, threads, tuple(plugins))] = plan
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                plan = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    result = exc.cause if isinstance(getattr(exc, "cause", None), Exception) else exc
                except ray.exceptions.RayError as exc:  # a worker died (out of memory, killed)
                    result = RuntimeError(f"Ray: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
                yield plan, result
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
