"""Use case: is the store reachable (a server's readiness)?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from adapters.bootstrap import App, StoreURLError


@dataclass(frozen=True)
class Readiness:
    ok: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


def ready(app: App) -> Readiness:
    """Open the ledger (a store that holds none is not ready) and run one query on the store's database."""
    try:
        app.ledger  # noqa: B018
        with app.readmodels.connect() as conn:
            conn.execute(text("SELECT 1"))
    except StoreURLError as e:  # NoLedger too
        return Readiness(False, str(e))
    except Exception as e:  # noqa: BLE001 - any failure to reach the database means not ready
        return Readiness(False, f"store unreachable: {type(e).__name__}")
    return Readiness(True, "ledger reachable")
