"""Where a ledger-wide job runs (`adapters.runner`): the refusals, the in-process default (no Dask), and the
driver's balanced partitions. The clusters themselves are tests/integration/test_scale_out.py."""

import builtins
import subprocess
import sys
from pathlib import Path

import pytest

from adapters import runner
from adapters.formats.errors import BadInput
from adapters.store.scan import balanced

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql+psycopg://u:secret@db:5432/ledger"


@pytest.mark.parametrize("url, workers, scheduler, param, says", [
    (PG, 2, "tcp://h:8786", "scheduler", "give --workers"),
    (PG, 0, None, "workers", "0 is not a number of worker processes"),
    (PG, -1, None, "workers", "-1 is not"),
    ("sqlite:///ledger.db", None, "tcp://h:8786", "scheduler", "remote workers need PostgreSQL"),
    ("sqlite:///:memory:", 2, None, "workers", "worker processes cannot open an in-memory store"),
])
def test_what_cannot_run_is_refused_naming_the_parameter(url, workers, scheduler, param, says):
    """The runner names the parameter (``scheduler``), not the CLI's option: the CLI says ``--scheduler``."""
    with pytest.raises(BadInput) as refused:
        runner.check(url, workers, scheduler)
    assert refused.value.param == param and refused.value.message.startswith(says)
    assert str(refused.value).startswith(f"{param}: {says}")
    assert "secret" not in str(refused.value)


def test_one_worker_is_this_process_and_the_builtin_map():
    for workers in (None, 1):
        with runner.mapper("sqlite:///nowhere.db", workers) as mapped:
            assert mapped is builtins.map
    seen = []
    with runner.mapper("sqlite:///nowhere.db", progress=lambda done, total: seen.append((done, total))) as mapped:
        assert list(mapped(str, [1, 2])) == ["1", "2"]
    assert seen == [(0, 2), (1, 2), (2, 2)]


def test_the_cli_starts_without_dask():
    code = ("import sys, adapters.cli\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


def test_partitions_are_balanced_and_hold_at_least_about_the_minimum():
    assert [balanced(n, 1000) for n in (0, 1, 999, 1000, 1999, 2000, 2999, 3999, 10**6)] == [
        1, 1, 999, 1000, 1999, 1000, 1500, 1333, 1000]
    for n in range(1, 5000, 37):
        size = balanced(n, 1000)
        parts = [min(size, n - i) for i in range(0, n, size)]
        assert max(parts) - min(parts) <= len(parts) and (len(parts) == 1 or min(parts) >= 1000 - len(parts))
