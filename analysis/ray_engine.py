"""Run a batch's calls as Ray tasks (``callreview batch --engine ray``; ``pip install 'callreview[ray]'``).

Each call is one Ray task running :func:`analysis.batch.analyse_item`; Ray
reuses its worker processes, so each keeps its models loaded between calls.
Where the cluster has GPUs, a call's task asks for ``batch.ray_gpus_per_call``
of one (ASR then runs on CUDA); otherwise for ``batch.ray_cpus_per_call`` CPUs,
which is also its thread count. The driver (the ``callreview`` process) plans,
writes the reports and the catalog, exactly as with the local engine; by
default it also sends each file's bytes with its task, so the cluster needs no
access to the archive (``batch.ray_ship_audio = false`` when it has).

Without ``--ray-address`` a local Ray instance with ``--workers`` CPUs is
started for the run and stopped after it.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .batch import WorkItem, WorkResult, analyse_item
from .config import BatchConfig
from .errors import ConfigError

log = logging.getLogger(__name__)


def task_options(resources: Mapping[str, float], batch: BatchConfig) -> dict[str, Any]:
    """Ray options of a call's task for a cluster with ``resources`` (``ray.cluster_resources()``).

    GPU-aware: asks for ``batch.ray_gpus_per_call`` GPUs when the cluster has any
    (and keeps the worker between calls, which Ray does not do for GPU tasks by
    default); CPU-only otherwise.
    """
    opts: dict[str, Any] = {"num_cpus": batch.ray_cpus_per_call, "max_retries": 1, "retry_exceptions": False}
    if batch.ray_gpus_per_call > 0 and resources.get("GPU", 0) > 0:
        opts["num_gpus"] = batch.ray_gpus_per_call
        opts["max_calls"] = 0  # reuse the worker: its models stay loaded
    return opts


def task_slots(resources: Mapping[str, float], options: Mapping[str, Any]) -> int:
    """How many call tasks the cluster runs at once with these options."""
    if options.get("num_gpus"):
        return max(1, int(resources.get("GPU", 0) / options["num_gpus"]))
    return max(1, int(resources.get("CPU", 1) / options.get("num_cpus", 1)))


def _first_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[0][:300] if lines else type(exc).__name__


class RayEngine:
    """Calls as Ray tasks; results stream back as they finish.

    Parameters
    ----------
    batch : BatchConfig
        ``ray_address`` (None: a local instance of ``workers`` CPUs), per-call CPUs and GPUs,
        whether to ship audio bytes.

    Raises
    ------
    ConfigError
        Ray is not installed, or the cluster cannot be started or reached.
    """

    name = "ray"

    def __init__(self, batch: BatchConfig) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("--engine ray needs Ray, which is not installed: pip install 'callreview[ray]'") from None
        self._ray = ray
        self.batch = batch
        self._started = False
        if not ray.is_initialized():
            where = batch.ray_address or "a local Ray instance"
            try:
                if batch.ray_address:
                    ray.init(address=batch.ray_address, log_to_driver=False, logging_level=logging.WARNING)
                else:
                    ray.init(
                        num_cpus=max(1, math.ceil(batch.workers * batch.ray_cpus_per_call)),
                        include_dashboard=False,
                        log_to_driver=False,
                        logging_level=logging.WARNING,
                        object_store_memory=256 * 1024 * 1024,
                    )
            except Exception as exc:  # noqa: BLE001 - Ray raises many kinds
                raise ConfigError(
                    f"cannot start or reach {where}: {_first_line(exc)}; check --ray-address (e.g. 'auto' on a cluster node, or ray://HEAD:10001)"
                ) from None
            self._started = True
        resources = ray.cluster_resources()
        self.options = task_options(resources, batch)
        self.slots = task_slots(resources, self.options)
        self.threads = max(1, int(batch.ray_cpus_per_call))
        self._remote = ray.remote(**self.options)(analyse_item)
        self._refs: dict[Any, WorkItem] = {}
        self._ready: deque[WorkResult] = deque()
        log.info("Ray: %s; each call asks for %s; %d at once", resources, self.options, self.slots)

    @property
    def in_flight(self) -> int:
        return len(self._refs) + len(self._ready)

    def has_room(self) -> bool:
        return self.in_flight < 2 * self.slots

    def submit(self, item: WorkItem) -> None:
        data = None
        if self.batch.ray_ship_audio:
            try:
                data = Path(item.path).read_bytes()
            except OSError as exc:
                self._ready.append(
                    WorkResult(path=item.path, audio_sha256=item.audio_sha256, ok=False, error="AudioError",
                               reason=f"{item.path}: cannot read ({exc.strerror or exc})")
                )
                return
        ref = self._remote.remote(item, data)
        self._refs[ref] = item

    def wait(self) -> WorkResult:
        if self._ready:
            return self._ready.popleft()
        if not self._refs:
            raise RuntimeError("RayEngine.wait() with nothing in flight")
        ready, _ = self._ray.wait(list(self._refs), num_returns=1)
        ref = ready[0]
        item = self._refs.pop(ref)
        try:
            return self._ray.get(ref)
        except self._ray.exceptions.RayError as exc:
            return WorkResult(
                path=item.path, audio_sha256=item.audio_sha256, ok=False, error=type(exc).__name__,
                reason=f"{item.path}: the Ray task analysing it failed ({_first_line(exc)}); the worker may have run out of memory",
                detail=str(exc),
            )

    def close(self, kill: bool = False) -> None:
        ray = self._ray
        if kill:
            for ref in list(self._refs):
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - already finished or gone
                    pass
        self._refs.clear()
        self._ready.clear()
        if self._started and ray.is_initialized():
            ray.shutdown()
            self._started = False
