"""Administration: the HTTP service's API keys (``keys create|list|revoke``) and ``serve``."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from adapters.bootstrap import Settings
from adapters.cli.app import State, application, cli, out
from adapters.cli.options import Json
from adapters.cli.render import new_table
from adapters.formats import output
from adapters.formats.errors import BadInput
from adapters.formats.params import optional_instant

if TYPE_CHECKING:
    from adapters.services.keys import KeyRow

keys = typer.Typer(no_args_is_help=True, help="API keys for the HTTP service (docs/http.md): create, list, revoke.")
cli.add_typer(keys, name="keys")


def _key_row(r: KeyRow) -> list[str]:
    return [r.id, r.role, ", ".join(r.accounts), r.name or "", output.when(r.created_at, None), r.created_by,
            f"{output.when(r.revoked_at, None)} by {r.revoked_by}" if r.revoked_at else "",
            output.when(r.last_used_at, None) if r.last_used_at else "never",
            output.when(r.expires_at, None) if r.expires_at else "",
            f"{output.when(r.rotated_at, None)} by {r.rotated_by}, old secret until "
            f"{output.when(r.previous_until, None)}" if r.rotated_at and r.previous_until else ""]


KEY_COLUMNS = ("id", "role", "accounts", "name", "created at", "created by", "revoked", "last used", "expires",
               "rotated")


def roles() -> str:
    """The roles a key may have (`adapters.services.keys.ROLES`), read when ``keys create`` is built (its
    ``--role`` help), so that no other command imports the keys' use cases."""
    from adapters.services.keys import ROLES

    return ", ".join(ROLES)


@keys.command("create")
def keys_create_cmd(
    role: Annotated[str, typer.Option("--role", help=f"what the key may do: {roles()}")],
    accounts: Annotated[Optional[list[str]], typer.Option(
        "--account", help="only this account's instances (repeatable; a customer key needs one)")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="a name for people (who holds the key)")] = None,
    expires_at: Annotated[Optional[str], typer.Option(
        "--expires-at", help="no request authenticates with it from then on (ISO 8601 with an offset)")] = None,
    as_json: Json = False,
) -> None:
    """Create an API key and print its secret, once: it is stored only as a hash."""
    from adapters.services.keys import create_key, local_actor

    made = create_key(application(), role, accounts or [], name, actor=local_actor(),
                      expires_at=optional_instant("expires_at", expires_at))
    _secret(made, as_json, f"key {made.id} ({made.role}{': ' + ', '.join(made.accounts) if made.accounts else ''}); "
                           "its secret, shown only now:")


def _secret(made: Any, as_json: bool, heading: str) -> None:
    """A new secret, printed once: the JSON answer, or ``heading`` and the secret on its own line."""
    if as_json:
        print(output.json_text(made.as_json()))
        return
    out.print(heading)
    out.print(made.key)


@keys.command("list")
def keys_list_cmd(as_json: Json = False) -> None:
    """Every key (never a secret): role, accounts, who created it, when, whether it was revoked, and when it
    was last used (to the minute)."""
    from adapters.services.keys import list_keys

    rows = list_keys(application())
    if as_json:
        print(output.json_text({"keys": [r.as_json() for r in rows]}))
        return
    table = new_table("API keys", *KEY_COLUMNS)
    for r in rows:
        table.add_row(*_key_row(r))
    out.print(table)
    out.print(f"{len(rows)} key(s)")


@keys.command("revoke")
def keys_revoke_cmd(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="the key's id (keys list)")],
    as_json: Json = False,
) -> None:
    """Revoke a key: every later request with it is refused (401) at once."""
    from adapters.services.keys import local_actor, revoke_key

    r = revoke_key(application(), key_id, actor=local_actor())
    if as_json:
        print(output.json_text(r.as_json()))
        return
    out.print(f"revoked {r.id} at {output.when(r.revoked_at, None)} by {r.revoked_by}")


@keys.command("rotate")
def keys_rotate_cmd(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="the key's id (keys list)")],
    overlap: Annotated[Optional[str], typer.Option(
        "--overlap", help="how long the old secret still authenticates: 0s to 30d (default 24h)")] = None,
    as_json: Json = False,
) -> None:
    """Give a key a new secret and print it, once; the old secret is refused once the overlap is over. The key
    keeps its id, role and accounts."""
    from adapters.services import keys as use_case  # direct: the keys commands' own module

    made = use_case.rotate_key(application(), key_id, use_case.overlap(overlap), actor=use_case.local_actor())
    _secret(made, as_json, f"key {made.id}: its old secret authenticates until "
                           f"{output.when(made.previous_until, None)}; its new secret, shown only now:")


@cli.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="the TCP port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="worker processes (more than one needs "
                                                                   "PostgreSQL)")] = 1,
    fd: Annotated[Optional[int], typer.Option("--fd", min=0, hidden=True,
                                              help="serve on this already bound socket (tests)")] = None,
    webhooks: Annotated[bool, typer.Option("--webhooks", help="also run the webhook deliverer (webhooks run, "
                                                              "its defaults) beside the server")] = False,
) -> None:
    """Serve the HTTP API (docs/http.md) with uvicorn: OpenAPI at /openapi.json, docs at /docs."""
    settings = State.settings or Settings.resolve()
    if workers > 1 and not settings.url.startswith("postgresql"):
        raise BadInput(None, f"--workers: {workers} workers need PostgreSQL (--db postgresql+psycopg://...); "
                             "an SQLite ledger is served by one")
    where = ["--fd", str(fd)] if fd is not None else ["--host", host, "--port", str(port)]
    argv = [sys.executable, "-m", "adapters.http.serve", "--workers", str(workers), *where,
            *(["--webhooks"] if webhooks else [])]
    os.environ["BILLING_LEDGER_DB"] = settings.url
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # uvicorn takes over this process: its signals, its exit status
