"""Whether the process that claimed something (an idempotency key's first request) is still alive, so that
what a crashed process left "running" is taken over at once rather than after a timeout (issue 30, item 8).

`me` is this process's owner token on an engine's database; `alive` says whether a token's process still runs:

- **PostgreSQL**: the token names a session-level advisory lock (``pg:<n>``) that the process takes on a
  connection of its own at its first claim and keeps for its lifetime. When the process dies, however it dies
  (``kill -9``, its machine gone), PostgreSQL ends its session and releases the lock; a process on any machine
  checks with ``pg_try_advisory_lock`` (and releases it again at once).
- **SQLite** (one machine: the file's): the token is the process's id with its start time and the machine's
  boot id (``px:<boot>:<pid>:<start>``, from ``/proc``), alive while a process with that id and start time
  runs; where ``/proc`` is missing, ``pk:<pid>``, alive while a process has that id.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

_mine: dict[int, tuple[Engine, str, Any]] = {}  # id(engine) -> the engine, its token, the connection holding it
_lock = threading.Lock()


@atexit.register
def _release() -> None:
    """Close the connections holding the locks while the interpreter still can (not in its teardown)."""
    with _lock:
        for _, _, conn in _mine.values():
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
        _mine.clear()


def me(engine: Engine) -> str:
    """This process's owner token on ``engine``'s database (made, and on PostgreSQL its lock taken, once)."""
    with _lock:
        held = _mine.get(id(engine))
        if held is None or held[0] is not engine:
            held = (engine, *_take(engine))
            _mine[id(engine)] = held
        return held[1]


def _take(engine: Engine) -> tuple[str, Any]:
    if engine.dialect.name != "postgresql":
        return _process_token(os.getpid()) or f"pk:{os.getpid()}", None  # pk: no /proc here
    # a connection of its own (not the pool's: it is never given back), kept open for the process's lifetime:
    # its session holds the lock (advisory locks are the database's, whatever the schema)
    conn = create_engine(engine.url, poolclass=NullPool).connect()
    while True:
        n = secrets.randbits(62)
        if conn.execute(text("SELECT pg_try_advisory_lock(:n)"), {"n": n}).scalar():
            conn.commit()
            return f"pg:{n}", conn


def alive(engine: Engine, token: str) -> bool:
    """Whether the process of ``token`` still runs (an unknown kind of token: assumed alive)."""
    kind, _, rest = token.partition(":")
    if kind == "pg":
        with engine.connect() as conn:
            free = conn.execute(text("SELECT pg_try_advisory_lock(:n)"), {"n": int(rest)}).scalar()
            if free:
                conn.execute(text("SELECT pg_advisory_unlock(:n)"), {"n": int(rest)})
            conn.commit()
        return not free
    if kind == "px":
        pid = int(rest.split(":")[1])
        return _process_token(pid) == token
    if kind == "pk":
        try:
            os.kill(int(rest), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return True


def _process_token(pid: int) -> str | None:
    """``px:<boot>:<pid>:<start>`` of the running process ``pid``; None when it does not run (or no /proc)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    start = stat.rsplit(")", 1)[1].split()[19]  # field 22, starttime (fields after the command's parenthesis)
    return f"px:{boot}:{pid}:{start}"
