"""Where a ledger-wide job's partitions run: the `Mapper` the job drivers (``adapters.services``) are given.

- **In this process** (the default, ``--workers 1``): the builtin ``map``, one partition after the other on the
  store already open. Dask is not imported.
- **A local Dask cluster** (``--workers N``, N > 1): N worker processes on this host (``LocalCluster``: one
  thread each, started by *spawn*, the dashboard on a free port, no statistical profiler), started for the
  job in the background while the driver plans it, and closed after it.
- **An existing Dask cluster** (``--scheduler tcp://HOST:PORT``): connected within `CONNECT_TIMEOUT` seconds,
  its package versions checked against this process's (``get_versions(check=True)``), and at least one worker
  waited for. Its workers must reach the store by its URL, so the store must be PostgreSQL.

Either cluster gets the job's tasks (``adapters.store.tasks.Task``: the job's pure function, the pinned
``known_at``, the job's plain parameters and the store's URL; each worker opens the store once, on one
connection) and gives their rows back in partition order; the driver assembles them as in one process. Each
task gets its own key (``<job>-<uuid>-<i>``), so nothing is ever served from a cached result of another job
(Dask's ``pure=True`` would reuse a result of equal arguments). A worker that dies mid-task makes the
scheduler run the task again on another worker, up to ``distributed.scheduler.allowed-failures`` times; past
that the job fails (``KilledWorker``: status 1) and nothing it would have written is written.

`mapper` is the composition root's (``App.mapper``): entrypoints never import Dask (the CLI's start-up time).
"""

from __future__ import annotations

import builtins
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

from adapters.formats.errors import BadInput
from adapters.store.ledger import settings_from_url, shown
from adapters.store.scan import AnyPartition
from adapters.store.tasks import Mapper

CONNECT_TIMEOUT = 5  # seconds to reach a scheduler, and to wait for its first worker
# A local cluster's workers run without Dask's statistical profiler (a stack sample every 10 ms costs the
# partitions about a tenth of their CPU; the dashboard's profile page stays empty). An existing cluster keeps
# its own configuration.
LOCAL_WORKERS = {"distributed.worker.profile.enabled": False}
Progress = Callable[[int, int], None]  # (partitions done, partitions in all)
Notice = Callable[[str], None]  # a line for the user (the CLI prints it to standard error)


def check(url: str, workers: int | None = None, scheduler: str | None = None) -> None:
    """Refuse (bad input, naming the parameter: ``workers``, ``scheduler``) what cannot run: both, a number of
    workers below 1, a remote cluster on an SQLite ledger, several processes on an in-memory store."""
    if workers is not None and scheduler is not None:
        raise BadInput(None, "give --workers (a local cluster) or --scheduler (an existing one), not both",
                       param="scheduler")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise BadInput(None, f"{workers!r} is not a number of worker processes (1 or more)", param="workers")
    if scheduler is None and (workers or 1) == 1:
        return
    env = settings_from_url(url)
    if env["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
        if scheduler is not None:
            raise BadInput(None, f"remote workers need PostgreSQL; {shown(url)} is a file on this host "
                                 "(use --workers N for a local cluster)", param="scheduler")
        name = env.get("SQLITE_DBNAME", "")
        if name == ":memory:" or "mode=memory" in name:
            raise BadInput(None, f"worker processes cannot open an in-memory store ({shown(url)})", param="workers")


def counted(map_: Mapper, progress: Progress | None) -> Mapper:
    """``map_`` calling ``progress(done, total)`` after each partition's rows are given back."""
    if progress is None:
        return map_

    def mapped(fn: Callable[[AnyPartition], Any], partitions: Iterable[AnyPartition]) -> Iterator[Any]:
        parts = list(partitions)
        progress(0, len(parts))
        for done, rows in enumerate(map_(fn, parts), start=1):
            yield rows
            progress(done, len(parts))

    return mapped


@contextmanager
def mapper(url: str, workers: int | None = None, scheduler: str | None = None, *,
           progress: Progress | None = None, notice: Notice | None = None) -> Iterator[Mapper]:
    """The `Mapper` for ``--workers``/``--scheduler`` (see the module), open for the ``with`` block: consume
    the job's rows inside it. ``progress(done, total)`` as partitions finish; ``notice`` gets the local
    cluster's addresses when it starts."""
    check(url, workers, scheduler)
    if scheduler is None and (workers or 1) == 1:
        yield counted(builtins.map, progress)
        return
    option = "scheduler" if scheduler is not None else "workers"
    try:
        import distributed
    except ImportError:
        raise BadInput(None, "needs Dask: pip install 'billing-ledger[dask]'", param=option) from None
    say = notice or (lambda _: None)
    if scheduler is not None:  # connected (or refused) before the job starts
        with _client(distributed, 1, scheduler, say) as client:
            yield _on(lambda: client, progress)
        return
    # A local cluster starts in the background while the driver pins and plans the job: the first map waits
    # for it. It is closed after the job, once it has started (a start that failed is the job's error, unless
    # the job failed first).
    stack = ExitStack()
    with ThreadPoolExecutor(1, thread_name_prefix="local-cluster") as pool:
        starting = pool.submit(stack.enter_context, _client(distributed, workers or 1, None, say))
        try:
            yield _on(starting.result, progress)
        except BaseException:
            with suppress(BaseException):
                starting.result()
            raise
        else:
            starting.result()
        finally:
            stack.close()


@contextmanager
def _client(distributed: Any, workers: int, scheduler: str | None, notice: Notice) -> Iterator[Any]:
    if scheduler is None:
        import dask

        with dask.config.set(LOCAL_WORKERS):  # the nannies hand it to the worker processes
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               host="127.0.0.1", dashboard_address=":0",
                                               silence_logs=logging.ERROR)
        try:
            dashboard = cluster.dashboard_link if _has_bokeh() else "none (pip install bokeh)"
            notice(f"local Dask cluster: {workers} worker processes, scheduler {cluster.scheduler_address}, "
                   f"dashboard {dashboard}")
            client = distributed.Client(cluster, set_as_default=False)  # entered and left on different threads
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()
        return
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError, TypeError) as e:
        raise BadInput(None, f"cannot reach the Dask scheduler at {scheduler}: {e}", param="scheduler") from None
    try:
        try:
            client.get_versions(check=True)
        except ValueError as e:
            raise BadInput(None, f"the cluster at {scheduler} runs other package versions than this process: {e}",
                           param="scheduler") from None
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except (TimeoutError, OSError):
            raise BadInput(None, f"the Dask scheduler at {scheduler} has no worker", param="scheduler") from None
        yield client
    finally:
        client.close()


def _has_bokeh() -> bool:
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


def _run(partition: AnyPartition, job: Callable[[AnyPartition], Any]) -> Any:
    """One partition's task on a worker: ``job`` is the scattered job, resolved there."""
    return job(partition)


def _on(connected: Callable[[], Any], progress: Progress | None) -> Mapper:
    """The cluster's ordered map: one future per partition (its own key), results given back in partition
    order and released as they are; the rest cancelled if the job stops early or fails."""

    def mapped(fn: Callable[[AnyPartition], Any], partitions: Iterable[AnyPartition]) -> Iterator[Any]:
        parts = list(partitions)
        client = connected()
        job = getattr(getattr(fn, "job", fn), "__name__", "task")
        token = uuid.uuid4().hex
        # the job (its parameters: a statement's scope can be megabytes) goes to each worker once, not with
        # every partition's task: measured, reconcile at 100k sent it 100 times (2.4 GB, 3.4x the CPU)
        [shared] = client.scatter([fn], broadcast=True, hash=False)
        futures = client.map(_run, parts, job=shared, key=[f"{job}-{token}-{i}" for i in range(len(parts))])
        if progress is not None:
            lock, done = threading.Lock(), [0]
            progress(0, len(parts))

            def finished(_: Any) -> None:
                with lock:
                    done[0] += 1
                    progress(done[0], len(parts))

            for f in futures:
                f.add_done_callback(finished)
        try:
            for i, future in enumerate(futures):
                yield future.result()
                futures[i] = None  # released: the cluster may forget it
                future.release()
        finally:
            client.cancel([f for f in futures if f is not None])

    return mapped
