"""A test-only task wrapper: the first task to run kills its own worker process (SIGKILL, mid-job), as a
crashed or evicted machine would; every later one runs the task. Lives outside the test modules so that a
worker unpickling it imports nothing but this file."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KillOnce:
    task: Callable[[Any], Any]
    flag: str  # a file path: created by the task that kills its worker, so only one does

    @property
    def job(self) -> Any:
        return getattr(self.task, "job", self.task)

    def __call__(self, partition: Any) -> Any:
        try:
            os.close(os.open(self.flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return self.task(partition)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable: the worker was killed")


def killing(map_: Callable[..., Any], flag: str) -> Callable[..., Any]:
    """``map_`` whose first task kills its worker."""
    return lambda fn, partitions: map_(KillOnce(fn, flag), partitions)
