"""How a quote changed between two knowledge times, and which recorded events caused it.

The auditor's answer to "why did this refund change?": the quote for business time ``at`` as known at
``k1`` and at ``k2``, the fields, lines and reasons that differ, and every event recorded in between on
the instances of the application and their account (retractions with their target and reason).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.instance import Instance
from domain.quote import Quote


def _lines(q: Quote | None) -> dict[tuple[str, str], dict[str, Any]]:
    return {(ln["instance"], ln["order"]): ln for ln in q.as_json()["lines"]} if q else {}


def _rules(q: Quote | None) -> list[str]:
    return [r.rule for r in q.reasons] if q else []


def diff(q1: Quote | None, q2: Quote | None, events: list[tuple[str, Any]], k1: datetime,
         k2: datetime) -> dict[str, Any]:
    """``q1``/``q2``: the quotes as known at ``k1``/``k2`` (None where the instance was not known yet);
    ``events``: ``(instance or account, event)`` pairs of every stream the quote reads."""
    fields = []
    for name in ("eligible", "mode", "outcome", "amount", "currency"):
        a = q1.as_json()[name] if q1 else None
        b = q2.as_json()[name] if q2 else None
        if a != b:
            fields.append({"field": name, "from": a, "to": b})
    l1, l2 = _lines(q1), _lines(q2)
    lines = []
    for key in sorted(set(l1) | set(l2)):
        a, b = l1.get(key), l2.get(key)
        if a != b:
            lines.append({"instance": key[0], "order": key[1], "from": a, "to": b})
    r1, r2 = _rules(q1), _rules(q2)
    lo, hi = sorted((k1, k2))
    causes = []
    for stream, e in sorted(events, key=lambda p: (p[1].timestamp, p[1].originator_version)):
        if not (lo < e.timestamp <= hi) or not hasattr(e, "at"):
            continue
        cause = {"stream": stream, "fact": type(e).__name__, "id": getattr(e, "line", None),
                 "at": e.at.isoformat(), "recorded_at": e.timestamp.isoformat()}
        if isinstance(e, Instance.Retracted):
            cause.update(target=e.target, reason=e.reason)
        causes.append(cause)
    return {
        "known_at": k1.isoformat(), "vs": k2.isoformat(),
        "from": q1.as_json() if q1 else None, "to": q2.as_json() if q2 else None,
        "changed": fields, "lines": lines,
        "reasons": {"added": [r for r in r2 if r not in r1], "removed": [r for r in r1 if r not in r2]},
        "caused_by": causes,
    }
