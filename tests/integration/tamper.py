"""Tampering with a ledger behind its back, for the tamper-evidence tests (`test_tamper_evidence`,
`test_chain_findings`, `tests/http/test_chain.py`): a ledger of two feeds (two seals) and `Surgery`, direct
SQL on its stored rows."""

from __future__ import annotations

import json
import sqlite3
import uuid

from domain.chain import GENESIS, fold, row_digest
from tests.integration.conftest import CLI, ROOT, InProcessCLI

RENEW = {"type": "renew", "at": "2027-05-01T00:00:00+08:00", "instance": "kec-2", "order": "o-4", "months": 1,
         "monthly_price": "20.00", "payment": {"cash": "20.00"}}
SEALED = "domain.chain:Chain.Sealed"


class Surgery:
    """Direct access to the stored rows, as an attacker with the database's credentials has it: SQL on the
    SQLite file or on the PostgreSQL database, behind the ledger's back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pg = not url.startswith("sqlite")
        self.table, self.id = ("billingledger_events", "notification_id") if self.pg else ("stored_events", "rowid")

    def sql(self, statement: str, *args) -> list[tuple]:
        statement = statement.format(table=self.table, id=self.id)
        if not self.pg:
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as con:
                return con.execute(statement, args).fetchall()
        import psycopg

        from tests.stores import libpq

        with psycopg.connect(libpq(self.url)) as con:
            cur = con.execute(statement.replace("?", "%s"), args)
            return cur.fetchall() if cur.description else []

    def rows(self) -> list[tuple[int, uuid.UUID, int, str, bytes]]:
        """Every stored row: (id, originator id, version, topic, state), in log order."""
        return [(i, o if isinstance(o, uuid.UUID) else uuid.UUID(o), v, t, bytes(s)) for i, o, v, t, s in
                self.sql("SELECT {id}, originator_id, originator_version, topic, state FROM {table} ORDER BY {id}")]

    def seal_ids(self) -> list[int]:
        return [r[0] for r in self.rows() if r[3] == SEALED]

    def delete_after(self, last_kept: int) -> None:
        self.sql("DELETE FROM {table} WHERE {id} > ?", last_kept)

    def set_state(self, row: int, state: bytes) -> None:
        self.sql("UPDATE {table} SET state = ? WHERE {id} = ?", state, row)

    def reseal(self) -> None:
        """Recompute every row's digest and rewrite every seal to match, prev and head included: a chain that
        is consistent again, as a careful attacker would leave it."""
        head, pending = GENESIS, []
        for i, originator, version, topic, state in self.rows():
            if not topic.startswith("domain.chain:"):
                pending.append(row_digest(originator, version, topic, state))
            elif topic == SEALED:
                seal = json.loads(state)
                seal.update(prev=head, head=fold(head, pending), digests=pending)
                head, pending = seal["head"], []
                self.set_state(i, json.dumps(seal, separators=(",", ":")).encode())


def two_feeds(url: str, tmp_path) -> CLI:
    """A ledger at ``url``: the seed examples (kec-1, kec-2 of account acme), then kec-2's renewal (`RENEW`):
    two feeds, two seals."""
    cli = InProcessCLI(url, tmp_path)
    cli.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    cli.ok("record", "-", input=json.dumps(RENEW) + "\n")
    return cli


def row_of(surgery: Surgery, fact: str, line: str) -> tuple[int, bytes]:
    """The id and state of the stored row of the fact ``fact`` recorded by feed line ``line``."""
    return next((r[0], r[4]) for r in surgery.rows() if r[3].endswith(":" + fact) and
                json.loads(r[4]).get("line") == line)
