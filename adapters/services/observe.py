"""What an operator watches (``GET /metrics``; docs/http.md, "Metrics and logs"): figures read from the store
at the moment they are asked for, the same from every worker process.

- the newest position in the global log, and how far the SQL read models (``project``) are behind it;
- refund requests by policy and state, as the read models hold them (so as of their position: run
  ``project`` on a schedule, and watch the lag);
- each webhook subscription's position, for its lag behind the head (docs/webhooks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.bootstrap import App
from adapters.store import changes, readmodels, webhooks


@dataclass(frozen=True)
class Figures:
    head: int  # the newest position in the log
    readmodel_position: int  # the position the read models include
    refunds: list[tuple[str, str, int]]  # (policy, state, how many)
    webhooks: list[tuple[str, int]]  # (subscription, position delivered through)

    @property
    def readmodel_lag(self) -> int:
        return max(0, self.head - self.readmodel_position)


def figures(app: App) -> Figures:
    engine = app.readmodels
    return Figures(changes.head(app.ledger.recorder), readmodels.position(engine), readmodels.refund_counts(engine),
                   [(s.id, s.position) for s in webhooks.all_subscriptions(engine)])
