"""JSON answers that no single result object holds, shared by the CLI's ``--json`` and the HTTP API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any


def overdue(at: datetime, late: Sequence[Any]) -> dict[str, Any]:
    """``overdue --json``: the business time judged at and every refund past a deadline then."""
    return {"at": at.isoformat(), "overdue": [o.as_json() for o in late]}
