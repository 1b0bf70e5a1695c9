"""``billing-ledger``: the command-line entry point (interface.md, "CLI").

Exit status: 0 done, 2 bad input (the message names the line or option and the field), 1 anything else.
The CLI holds no rules and no infrastructure: each command parses its options, calls one use case of
`adapters.services` with the App (`adapters.bootstrap`, built once per process) and renders the answer.

The package: `adapters.cli.app` (the typer app, its consoles and global options), `options` (the option aliases
and their parsing), `render` (tables), `views` (the human answers: pure renderers), and the commands by
audience: `ingest`, `queries`, `finance`, `audit`, `listings`, `admin`, `integration` (imported in this order: the order
``--help`` lists them in).
"""

from __future__ import annotations

import copy
import importlib
import sys

import typer

from adapters.bootstrap import StoreURLError
from adapters.cli.app import State, application, cli, err, out
from adapters.cli.options import flag
from adapters.formats.errors import BadFeed, BadInput
from domain.errors import LedgerError

# by audience, in --help's order
COMMANDS = ("ingest", "queries", "finance", "audit", "listings", "admin", "integration")
for _module in COMMANDS:  # each registers its commands on `cli`
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["State", "application", "cli", "err", "invoked", "main", "out"]


_ONLY: dict[str, typer.Typer] = {}


def invoked(args: list[str]) -> typer.Typer:
    """The app to run ``args`` with: when they name a command after the global options (``--db URL``), an app
    holding only that command (and the callback), else the whole app (no command, ``--help``, ``--version``, an
    unknown name: the group's own help, errors and suggestions). typer builds click's parameters from every
    command's signature before parsing (about 20 ms of CPU for the 22 commands); a call needs one command's.
    The same per name (``_ONLY``), so the app a command runs in is one object for the whole process."""
    rest = iter(args)
    for arg in rest:
        if arg == "--db":
            next(rest, None)
        elif not arg.startswith("--db="):
            name = arg
            break
    else:
        return cli
    if name not in _ONLY:
        commands = [c for c in cli.registered_commands if c.name == name]
        groups = [g for g in cli.registered_groups if g.name == name]
        if not commands and not groups:  # an option, a typo: the whole app says what is wrong
            return cli
        only = copy.copy(cli)
        only.registered_commands, only.registered_groups = commands, groups
        _ONLY[name] = only
    return _ONLY[name]


def shown(e: Exception) -> str:
    """An error as the CLI says it: a parameter by its option (``--known-at: ...``, `options.flag`)."""
    return e.named(flag) if isinstance(e, BadInput) else str(e)


def main() -> None:
    """Exit status: 0 done, 2 bad input, 1 anything else."""
    try:
        for i, arg in enumerate(sys.argv[1:], start=1):
            if any(0xD800 <= ord(c) <= 0xDFFF for c in arg):  # undecodable bytes (surrogateescape)
                raise BadInput(None, f"argument {i}: not valid UTF-8")
        code = invoked(sys.argv[1:])(standalone_mode=False)
    except (BadInput, LedgerError, StoreURLError) as e:
        for message in e.messages() if isinstance(e, BadFeed) else [shown(e)]:  # a feed: each bad line on its own
            err.print(message)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - the CLI's last resort: say what failed, status 1
        if hasattr(e, "show") and hasattr(e, "exit_code"):  # click's usage and parameter errors: status 2
            e.show()
            sys.exit(e.exit_code)
        err.print(f"error: {type(e).__name__}: {e}")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
