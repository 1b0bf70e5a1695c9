"""The application layer: one function per use case, in modules by subject (``queries``, ``listings``,
``feeds``, ``jobs``, ``journal``, ``whatif``, ``keys``, ``anchors``, ``overview``, ``refund_center``,
``refund_steps``, ...).

Each takes the `adapters.bootstrap.App` first, then plain values (strings, datetimes, dicts, lists), and
returns plain data (dataclasses, rows, iterators of rows); none prints. Entrypoints parse their arguments,
call one of these and render the answer; they import the module they call (``from adapters.services import
queries``, then ``queries.quote(app, ...)``): this package re-exports nothing. The CLI imports a use case's
module inside the command that calls it, so that a command loads only what it uses (docs/cli.md, "Start-up").
The submodules ``record``, ``reads``, ``finance`` and ``whatif`` also keep the same work on a bare `Ledger`
(tests, the benchmark). May import ``domain``, ``projections``, ``adapters.store`` and ``adapters.formats``;
never an entrypoint.
"""

from __future__ import annotations


def load_all() -> None:
    """Import every use-case module now (a long-running entrypoint's start-up: the HTTP server pays the imports
    once, not on a first request)."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
