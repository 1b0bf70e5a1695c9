"""The code that ``dataclasses`` generates, compiled once and kept beside the bytecode (docs/cli.md, "Start-up").

Every ``eventsourcing`` event and aggregate is a dataclass, built when its module is imported: ``dataclasses``
writes the text of its ``__init__``, ``__repr__``, ``__eq__``, ``__setattr__``... and compiles it with ``exec``,
one ``compile`` per method (Python 3.11: about 400 for a quote, 1 ms per class, most of the classes' import
time). Python caches a module's bytecode in ``__pycache__`` but not these: this does, for them. ``install()``
puts a cached ``exec`` in the ``dataclasses`` module's namespace (its ``exec`` calls look there before the
builtins): a text compiled before is taken from the cache, anything else is compiled as ``exec`` compiles it
(``dont_inherit``: no ``__future__`` flag of this module leaks in), and the code is run as ``exec`` runs it.
The same text gives the same code object, so a class built from the cache is the class built without it.

The cache is one ``marshal`` file per interpreter (its cache tag and bytecode magic number are in the file's
name and head), written at exit when a process compiled something new, atomically, unless bytecode writing is
off (``PYTHONDONTWRITEBYTECODE``) or the directory is not writable; an unreadable or foreign file is ignored.
"""

from __future__ import annotations

import atexit
import builtins
import dataclasses
import importlib.util
import marshal
import os
import sys
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("__pycache__") / f"dataclasses.{sys.implementation.cache_tag}.marshal"
MAGIC = importlib.util.MAGIC_NUMBER
LIMIT = 4096  # texts kept; past it, the file keeps only what the last process used (a changed class's old text)

_path: Path | None = None
_cache: dict[str, Any] = {}
_used: set[str] = set()
_new = False


def _load(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
        if not data.startswith(MAGIC):
            return {}
        table = marshal.loads(data[len(MAGIC):])
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return table if isinstance(table, dict) else {}


def _exec(source: Any, globals: dict[str, Any] | None = None, locals: dict[str, Any] | None = None, /) -> None:
    global _new
    if isinstance(source, str):
        code = _cache.get(source)
        if code is None:
            code = _cache[source] = compile(source, "<string>", "exec", dont_inherit=True)
            _new = True
        _used.add(source)
        source = code
    if globals is None:  # exec's default: the caller's namespaces (dataclasses always passes its own)
        caller = sys._getframe(1)
        globals, locals = caller.f_globals, caller.f_locals if locals is None else locals
    builtins.exec(source, globals, locals)


def _save() -> None:
    path = _path
    if path is None or not _new or sys.dont_write_bytecode:
        return
    table = dict(_load(path))  # what other processes added since
    table.update({t: _cache[t] for t in _used})
    if len(table) > LIMIT:
        table = {t: _cache[t] for t in _used}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        tmp.write_bytes(MAGIC + marshal.dumps(table))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def install(path: Path = PATH) -> None:
    """Compile ``dataclasses``' generated methods through the cache at ``path`` from now on (a process has one
    cache: installing another path starts afresh from that file)."""
    global _path, _new
    if _path is None:
        dataclasses.exec = _exec  # type: ignore[attr-defined]
        atexit.register(_save)
    if path != _path:
        _path, _new = path, False
        _cache.clear()
        _used.clear()
        _cache.update(_load(path))
