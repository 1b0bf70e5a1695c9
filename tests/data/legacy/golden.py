"""Writes ``golden.json``: what the ledger answered, command by command, on ``ledger.db``.

``ledger.db`` and ``golden.json`` were made by the code as it stood before the restructuring (commit 5655342),
from examples/audit-story.jsonl (``--preserve-recorded-at``), examples/seed-examples.jsonl,
examples/korpro-examples.jsonl and ``lifecycle.jsonl``. ``tests/integration/test_legacy_ledger.py`` runs the
same commands with today's code on a copy and expects the same answers: old ledgers keep reading, and every
earlier behaviour stays as it was. Run: ``python tests/data/legacy/golden.py EXE DB OUT``.
"""

import json
import subprocess
import sys

K = "2100-01-01T00:00:00Z"
INSTANCES = ["kec-7", "kec-1", "kec-2", "kp-1", "kp-2", "kec-9", "eip-9", "ebs-9", "kec-10", "kec-11", "kec-12",
             "kec-13"]
TIMES = ["2026-01-15T00:00:00+08:00", "2026-03-12T00:00:00Z", "2026-05-04T00:00:00+08:00",
         "2026-09-01T00:00:00+08:00", "2027-02-22T10:00:00+08:00"]
MODES = {"kp-1": ["savings_shortfall", "outage", "early_termination", "money_back"],
         "kp-2": ["trial", "billing_error", "change_of_mind"]}


def commands() -> list[list[str]]:
    out = []
    for i in INSTANCES:
        out.append(["history", i, "--known-at", K, "--json"])
        out.append(["timeline", i, "--at", "2026-06-01T00:00:00+08:00", "--known-at", K, "--json"])
        for t in TIMES:
            for mode in MODES.get(i, ["auto"]):
                extra = ["--invoice", "inv-202"] if mode == "billing_error" else []
                out.append(["quote", i, "--at", t, "--known-at", K, "--mode", mode, *extra, "--json"])
    out.append(["quote", "kec-1", "--at", "2027-02-22T10:00:00+08:00", "--known-at", K, "--set",
                "refundable_tenders=cash", "--json"])
    out.append(["history", "kec-7", "--known-at", "2026-04-10T12:00:00Z", "--json"])
    out.append(["diff", "kec-7", "--at", "2026-04-20T00:00:00+08:00", "--known-at", "2026-04-10T00:00:00Z",
                "--vs", "2026-04-21T12:00:00Z", "--json"])
    for t in ("2026-03-20T00:00:00Z", "2026-08-20T00:00:00+08:00"):
        out.append(["overdue", "--at", t, "--json"])
    out.append(["verify", "--json"])
    out.append(["what-if", "--set", "refundable_tenders=cash", "--json"])
    out.append(["what-if", "--policy-version", "2026-03-20", "--json"])
    out.append(["what-if", "kec-10", "--at", "2026-08-01T00:00:00+08:00", "--drop", "L-up-10", "--json"])
    return out


def main(exe: str, db: str, out: str) -> None:
    answers = []
    for args in commands():
        done = subprocess.run([exe, "--db", db, *args], capture_output=True, text=True, timeout=120)
        answers.append({"args": args, "status": done.returncode, "stdout": done.stdout})
    with open(out, "w", encoding="utf-8") as f:
        json.dump(answers, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
