"""Listings: instances, accounts and refunds, by name, as known at ``--known-at``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from adapters.cli.app import application, cli
from adapters.cli.options import Account, Json, KnownAt, Limit
from adapters.cli.render import listing
from adapters.formats import output
from adapters.formats.params import optional_instant


@cli.command("instances")
def instances_cmd(
    account: Account = None,
    product: Annotated[Optional[str], typer.Option("--product", help="only this product, e.g. KEC")] = None,
    known_at: KnownAt = None,
    limit: Limit = None,
    as_json: Json = False,
) -> None:
    """Every instance the ledger knows, by name: account, product, currency, when opened, what released it."""
    from adapters.services import listings

    k = optional_instant("known_at", known_at)
    rows = [r.as_json() for r in listings.instances(application(), k, account, product, limit)]
    listing("instances", rows, "Instances", k, {
        "instance": "instance", "account": "account", "product": "product", "currency": "currency",
        "opened at": "opened_at", "recorded at": "recorded_at", "released by": "released_by"}, as_json,
        zone=lambda r: output.calendar_tz(product=r["product"]), times=("opened_at", "recorded_at"))


@cli.command("accounts")
def accounts_cmd(
    known_at: KnownAt = None,
    as_json: Json = False,
) -> None:
    """Every account with instances, and how many."""
    from adapters.services import listings

    k = optional_instant("known_at", known_at)
    rows = [r.as_json() for r in listings.accounts(application(), k)]
    listing("accounts", rows, "Accounts", k, {"account": "account", "instances": "instances"}, as_json)


@cli.command("refunds")
def refunds_cmd(
    open_only: Annotated[bool, typer.Option("--open", help="only those awaiting a decision or payment")] = False,
    account: Account = None,
    known_at: KnownAt = None,
    limit: Limit = None,
    as_json: Json = False,
) -> None:
    """Every refund request, by request time: its policy, mode or reason, amount and state."""
    from adapters.services import listings

    k = optional_instant("known_at", known_at)
    rows = [r.as_json() for r in listings.refunds(application(), k, open_only, account, limit)]
    listing("refunds", rows, "Open refunds" if open_only else "Refunds", k, {
        "refund": "refund", "instance": "instance", "account": "account", "policy": "policy", "mode": "mode",
        "requested at": "requested_at",
        "amount": lambda r: f"{r['currency']} {r['amount']}", "state": "state", "settled at": "settled_at"}, as_json,
        zone=lambda r: output.calendar_tz(r["policy"]), times=("requested_at", "settled_at"))
