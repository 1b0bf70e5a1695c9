"""Wording and shape a person reads (issue 25 item 15), through the CLI."""

import json

from tests.integration.conftest import CLI

PURCHASE = {"type": "purchase", "id": "p1", "at": "2026-01-01T00:00:00+08:00", "instance": "kec-1",
            "account": "acme", "product": "KEC", "order": "o-1", "months": 12, "monthly_price": "10.00",
            "payment": {"cash": "120.00"}}


def test_verify_counts_one_seal_in_the_singular(cli: CLI):
    cli.ok("record", "-", input=json.dumps(PURCHASE) + "\n")
    said = cli.ok("verify")
    assert said.startswith("ok: 4 rows under 1 seal, head "), said
