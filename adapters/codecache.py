"""The code that ``dataclasses`` generates, compiled once and kept beside the bytecode (docs/cli.md, "Start-up").

Every ``eventsourcing`` event and aggregate is a dataclass, built when its module is imported: ``dataclasses``
writes the text of its ``__init__``, ``__repr__``, ``__eq__``, ``__setattr__``... and compiles it with ``exec``,
one ``compile`` per method (Python 3.11: about 300 for a quote, 1 ms per class, most of the classes' import
time). Python caches a module's bytecode in ``__pycache__`` but not these: this does, for the modules of
``PACKAGES`` (this project's; never another package's ``__pycache__``).
``install()`` puts a cached ``exec`` in the ``dataclasses`` module's namespace (its ``exec`` calls
look there before the builtins): the methods of a class are compiled with the namespace of the class's module,
so a text that module compiled before is taken from its cache, anything else is compiled as ``exec`` compiles
it (``dont_inherit``: no ``__future__`` flag of this module leaks in), and the code runs as ``exec`` runs it.
The same text gives the same code object, so a class built from the cache is the class built without it.

A module's cache is one ``marshal`` file beside its bytecode (``instance.cpython-311.pyc`` →
``instance.cpython-311.dataclasses``, the bytecode magic number at its head), read when the module first
builds a dataclass, written at exit when the process compiled something new for it, atomically, unless
bytecode writing is off (``PYTHONDONTWRITEBYTECODE``) or the directory is not writable; an unreadable or
foreign file is ignored.
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

PACKAGES = ("domain", "projections", "adapters")  # whose dataclasses are cached: this project's only
MAGIC = importlib.util.MAGIC_NUMBER
LIMIT = 2048  # texts kept per module; past it, only what the last process used (a changed class's old text)
SUFFIX = ".dataclasses"


class _Module:
    """One module's cache: its file, the code read from it, what this process used and whether it compiled."""

    def __init__(self, path: Path) -> None:
        self.path, self.code, self.used, self.new = path, _load(path), set[str](), False


_modules: dict[str, _Module | None] = {}  # by module name; None: not cached (another package, no bytecode path)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
        if not data.startswith(MAGIC):
            return {}
        table = marshal.loads(data[len(MAGIC):])
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return table if isinstance(table, dict) else {}


def _module(namespace: dict[str, Any]) -> _Module | None:
    name = namespace.get("__name__")
    if not isinstance(name, str):
        return None
    if name not in _modules:
        cached = namespace.get("__cached__")
        ours = name.split(".")[0] in PACKAGES and isinstance(cached, str)
        _modules[name] = _Module(Path(f"{cached}{SUFFIX}")) if ours else None
    return _modules[name]


def _exec(source: Any, globals: dict[str, Any] | None = None, locals: dict[str, Any] | None = None, /) -> None:
    if globals is None:  # exec's default: the caller's namespaces (dataclasses always passes its own)
        caller = sys._getframe(1)
        globals, locals = caller.f_globals, caller.f_locals if locals is None else locals
    if isinstance(source, str):
        module = _module(globals)
        if module is None:
            source = compile(source, "<string>", "exec", dont_inherit=True)
        else:
            code = module.code.get(source)
            if code is None:
                code = module.code[source] = compile(source, "<string>", "exec", dont_inherit=True)
                module.new = True
            module.used.add(source)
            source = code
    builtins.exec(source, globals, locals)


def _save() -> None:
    if sys.dont_write_bytecode:
        return
    for module in _modules.values():
        if module is None or not module.new:
            continue
        table = _load(module.path)  # what other processes added since
        table.update({t: module.code[t] for t in module.used})
        if len(table) > LIMIT:
            table = {t: module.code[t] for t in module.used}
        tmp = module.path.with_name(f"{module.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(MAGIC + marshal.dumps(table))
            os.replace(tmp, module.path)
        except OSError:
            tmp.unlink(missing_ok=True)


def install() -> None:
    """Compile ``dataclasses``' generated methods through the caches from now on (once a process)."""
    if vars(dataclasses).get("exec") is not _exec:
        dataclasses.exec = _exec  # type: ignore[attr-defined]  # a module global shadowing the builtin it calls
        atexit.register(_save)
