"""The CLI's app: the typer group every command registers on, its consoles, the process's settings and
App (built once, lazily), and the global options (``--db``, ``--version``)."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, Optional

import typer

from adapters.bootstrap import App, Settings, bootstrap
from adapters.formats import output


class _Argument(typer.core.TyperArgument):
    """An argument as usage lines name it by click's convention: ``INSTANCE``, ``FEED.jsonl``, ``[NAME]`` when
    optional (typer writes ``{instance}``)."""

    def make_metavar(self, ctx: Any, *, usage: bool = False) -> str:
        var = (self.metavar or (self.name or "").upper()) + ("..." if self.nargs != 1 else "")
        return f"[{var}]" if usage and not self.required else var


typer.main.TyperArgument = _Argument  # type: ignore[misc]  # the class typer builds every argument with

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="An event-sourced billing ledger.")
out = output.SafeConsole(highlight=False, markup=False,  # COLUMNS (or the terminal's width), else 200 to a pipe
                         width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)
err = output.SafeConsole(stderr=True, highlight=False, markup=False, soft_wrap=True)  # one error, one line


class State:
    """The process's settings (resolved once, in the callback) and its application (built once, lazily)."""

    settings: Settings | None = None
    app: App | None = None


def application() -> App:
    if State.app is None:
        State.app = bootstrap(State.settings or Settings.resolve())
    return State.app

def show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"billing-ledger {version('billing-ledger')}")
        raise typer.Exit()


@cli.callback()
def main_options(
    db: Annotated[Optional[str], typer.Option("--db", envvar="BILLING_LEDGER_DB",
                                              help="SQLAlchemy URL; default sqlite:///billing-ledger.db")] = None,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=show_version,
                                          help="print the version and exit")] = False,
) -> None:
    State.settings = Settings.resolve(db)
    State.app = None
