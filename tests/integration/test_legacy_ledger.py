"""A ledger written before the restructuring still reads, and answers exactly as it did then.

``tests/data/legacy/ledger.db`` and ``golden.json`` were made by the code of commit 5655342 (see
``tests/data/legacy/golden.py``): its event topics are the old module paths (``domain.korpro:…``), and its
answers are the old code's. Today's CLI runs every command of ``golden.json`` on a copy of that ledger (in
process, through the real entry point) and must print the same JSON with the same exit status. SQLite only:
the file is the fixture.
"""

import contextlib
import io
import json
import shutil
import sys

import pytest

from tests.integration.conftest import ROOT

DATA = ROOT / "tests" / "data" / "legacy"
GOLDEN = json.loads((DATA / "golden.json").read_text())


def run(db: str, args: list[str]) -> tuple[int, str]:
    from adapters import cli

    out = io.StringIO()
    argv = sys.argv
    sys.argv = ["billing-ledger", "--db", db, *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            cli.main()
    except SystemExit as e:
        return int(e.code or 0), out.getvalue()
    finally:
        sys.argv = argv
    return 0, out.getvalue()


def keeps(new, old) -> bool:
    """``new`` says everything ``old`` said (interface.md: fields may be added, never renamed or dropped)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(k in new and keeps(new[k], v) for k, v in old.items())
    if isinstance(old, list):
        return isinstance(new, list) and len(new) == len(old) and all(map(keeps, new, old))
    return new == old


def test_keeps_is_strict_about_what_was_said():
    assert keeps({"a": 1, "b": [{"c": 2, "d": 3}]}, {"a": 1, "b": [{"c": 2}]})
    assert not keeps({"a": 1}, {"a": 2}) and not keeps({"b": 1}, {"a": 1}) and not keeps([1, 2], [1])


@pytest.fixture(scope="module")
def legacy_db(tmp_path_factory) -> str:
    copy = tmp_path_factory.mktemp("legacy") / "ledger.db"
    shutil.copy(DATA / "ledger.db", copy)
    return f"sqlite:///{copy}"


# The one answer that changed, and why: the old timeline read every instance as a Kingsoft one, so a KorPro
# subscription's timeline listed no orders at all (``"orders": []``). Issue 14 (item 8) makes the timeline read
# each instance's orders through its policy (`domain.policy.Policy.orders`): a KorPro timeline now lists its
# charges. Everything else the old answer said must still be said; the charges must be exactly the invoices
# the old ledger's history records for it.
FILLED_IN = {("timeline", "kp-1"), ("timeline", "kp-2")}


def charges(db: str, instance: str) -> list[tuple[str, str, str, str]]:
    _, history = run(db, ["history", instance, "--known-at", "2100-01-01T00:00:00Z", "--json"])
    return [(f["details"]["invoice"], f["details"]["amount"], f["details"]["period_start"],
             f["details"]["period_end"]) for f in json.loads(history)["facts"] if f["fact"] == "Charged"]


@pytest.mark.parametrize("case", GOLDEN, ids=[" ".join(c["args"][:2]) + f"#{i}" for i, c in enumerate(GOLDEN)])
def test_an_old_ledger_answers_as_it_did(legacy_db, case):
    status, stdout = run(legacy_db, case["args"])
    assert status == case["status"]
    if case["status"] == 0:
        new, old = json.loads(stdout), json.loads(case["stdout"])
        for answer in (new, old):  # an instance what-if judges "today" as known now: the one time that moves
            answer.get("today", {}).pop("known_at", None)
        if tuple(case["args"][:2]) in FILLED_IN:
            assert old["orders"] == [] and new["orders"], "the old answer had no orders; the new lists them"
            assert [(o["order"], o["amount"], o["start"], o["end"]) for o in new["orders"]] == charges(
                legacy_db, case["args"][1])
            new["orders"] = []
        assert keeps(new, old), stdout
