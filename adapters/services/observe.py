"""What an operator watches (``GET /metrics``; docs/http.md, "Metrics and logs"): figures read from the store
at the moment they are asked for, the same from every worker process.

- the newest position in the global log, and how far the SQL read models (``project``) are behind it;
- refund requests by policy and state, as the read models hold them (so as of their position: run
  ``project`` on a schedule, and watch the lag);
- each webhook subscription's position, for its lag behind the head (docs/webhooks.md);
- when the chain was last verified: the ``made_at`` of the last line of the operator's checkpoint file
  (``BILLING_LEDGER_CHECKPOINTS``; ``checkpoint`` appends a line only after verifying the chain), None without
  one (or when it cannot be read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from adapters.bootstrap import App
from adapters.formats import checkpoints as fmt
from adapters.formats.errors import BadInput
from adapters.store import changes, readmodels, webhooks


@dataclass(frozen=True)
class Figures:
    head: int  # the newest position in the log
    readmodel_position: int  # the position the read models include
    refunds: list[tuple[str, str, int]]  # (policy, state, how many)
    webhooks: list[tuple[str, int]]  # (subscription, position delivered through)
    now: datetime | None = None
    verified_at: datetime | None = None  # the last checkpoint's (a verification of the whole chain)

    @property
    def verification_age(self) -> float | None:
        if self.now is None or self.verified_at is None:
            return None
        return (self.now - self.verified_at).total_seconds()

    @property
    def readmodel_lag(self) -> int:
        return max(0, self.head - self.readmodel_position)


def figures(app: App, checkpoints: str | None = None) -> Figures:
    """The figures now; ``checkpoints``: the operator's checkpoint file (a server reads no file a caller names)."""
    engine = app.readmodels
    return Figures(changes.head(app.ledger.recorder), readmodels.position(engine), readmodels.refund_counts(engine),
                   [(s.id, s.position) for s in webhooks.all_subscriptions(engine)], app.now(),
                   _last_checkpoint(checkpoints))


def _last_checkpoint(path: str | None) -> datetime | None:
    if not path:
        return None
    try:
        found = fmt.parse(Path(path).read_text(encoding="utf-8"), "checkpoints")
    except (OSError, UnicodeDecodeError, BadInput):
        return None
    return datetime.fromisoformat(found[-1][1].made_at) if found else None
