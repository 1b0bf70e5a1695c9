"""Webhook subscriptions (admin-managed) and the messages they are sent (docs/webhooks.md): add, list,
remove, a subscription's delivery log, a manual re-send; `message_of` turns a change-feed fact into the
Standard Webhooks message the deliverer (`adapters.services.deliverer`) signs and posts.

Event types: each fact has one (`EVENT_TYPES`, by the fact's type; a fact no entry names is
``fact.recorded``), and ``refund.overdue`` is made by the deliverer when a refund's open stage passes its
deadline (K-L2; P-R2, P-R3, P-D1). A subscription with no types gets every type.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from adapters.bootstrap import App
from adapters.formats.errors import BadInput
from adapters.formats.pages import cursor_position
from adapters.services.keys import local_actor
from adapters.store import changes as log
from adapters.store import webhooks as store
from domain.errors import UnknownInstance

# A fact's event type, by its type (`adapters.services.changes.fact_types`); any other fact: fact.recorded.
EVENT_TYPES = {
    "RefundApplied": "refund.requested", "RefundDenied": "refund.requested", "RefundRequested": "refund.requested",
    "RefundIncluded": "refund.requested", "RefundDecided": "refund.decided", "RefundRejected": "refund.decided",
    "EscalationDecided": "refund.decided", "Escalated": "refund.escalated", "RefundCompleted": "refund.completed",
    "Retracted": "fact.retracted", "Purchased": "order.recorded", "Renewed": "order.recorded",
    "Upgraded": "order.recorded", "Downgraded": "order.recorded", "Subscribed": "order.recorded",
    "Charged": "order.recorded",
}
OTHER = "fact.recorded"
OVERDUE = "refund.overdue"
TYPES = tuple(sorted({*EVENT_TYPES.values(), OTHER, OVERDUE}))


class UnknownSubscription(UnknownInstance):
    """No such subscription (or a removed one): 404 over HTTP, status 2 on the CLI."""


@dataclass(frozen=True)
class Subscription(store.Subscription):
    """A subscription as the use cases answer it: its secret in the JSON only when ``reveal`` (the answer that
    made it)."""

    reveal: bool = False

    def as_json(self) -> dict[str, Any]:
        shown = {"id": self.id, "url": self.url, "types": list(self.types), "accounts": list(self.accounts),
                 "position": self.position, "pending": self.pending, "attempts": self.attempts,
                 "next_try_at": self.next_try_at.isoformat() if self.next_try_at else None,
                 "created_at": self.created_at.isoformat(), "created_by": self.created_by}
        if self.reveal:
            shown["secret"] = self.secret
        return shown


def _shown(s: store.Subscription, reveal: bool = False) -> Subscription:
    return Subscription(**vars(s), reveal=reveal)


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if len(url) > 2000 or parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(None, f"{url[:100]!r} is not an http(s) URL", param="url")
    return url


def check_types(types: Sequence[str]) -> tuple[str, ...]:
    unknown = [t for t in types if t not in TYPES]
    if unknown:
        raise BadInput(None, f"{unknown[0]!r} is not an event type; one of {', '.join(TYPES)}", param="types")
    return tuple(dict.fromkeys(types))


def add_subscription(app: App, url: str, types: Sequence[str] = (), accounts: Sequence[str] = (),
                     after: str | None = None, *, from_start: bool = False, actor: str | None = None) -> Subscription:
    """A new subscription, sent what is recorded from now on (``after``: after that change-feed cursor;
    ``from_start``: the whole log); its signing secret is in this answer only."""
    check_url(url)
    wanted = check_types(types)
    for a in accounts:
        if not a or len(a) > 200:
            raise BadInput(None, "an account name is 1 to 200 characters", param="accounts")
    position = 0 if from_start else cursor_position(after) if after else log.head(app.ledger.recorder)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    made = store.Subscription("wh_" + secrets.token_hex(8), url, wanted, tuple(dict.fromkeys(accounts)), secret,
                              position, None, 0, None, app.now(), actor or local_actor(), None)
    store.add(app.readmodels, made)
    return _shown(made, reveal=True)


def list_subscriptions(app: App) -> list[Subscription]:
    return [_shown(s) for s in store.all_subscriptions(app.readmodels)]


def _get(app: App, subscription: str) -> store.Subscription:
    found = store.get(app.readmodels, subscription)
    if found is None or found.removed_at is not None:
        raise UnknownSubscription(f"no webhook subscription {subscription!r}", "subscription")
    return found


def remove_subscription(app: App, subscription: str) -> Subscription:
    found = _get(app, subscription)
    store.remove(app.readmodels, subscription, app.now())
    return _shown(found)


def webhook_deliveries(app: App, subscription: str, limit: int = 100) -> dict[str, Any]:
    """The subscription as it stands and its newest ``limit`` delivery-log rows (attempts, statuses, next try)."""
    found = _get(app, subscription)
    return {"subscription": _shown(found).as_json(), "deliveries": store.log(app.readmodels, subscription,
                                                                             max(1, min(limit, 1000)))}


def resend(app: App, subscription: str, after: str | None = None) -> Subscription:
    """Try the waiting message now (its back-off cleared); with ``after`` (a change-feed cursor), send every
    message after it again, under the ids they had."""
    _get(app, subscription)
    store.resend(app.readmodels, subscription, cursor_position(after) if after else None, app.now())
    return _shown(_get(app, subscription))


def event_type(fact: dict[str, Any]) -> str:
    return EVENT_TYPES.get(fact["fact"], OTHER)


def wants(types: Sequence[str], kind: str) -> bool:
    return not types or kind in types


def message_of(fact: dict[str, Any]) -> tuple[str, str, bytes]:
    """A change-feed fact's message: its id (stable: the fact's position), its type and its body (the same
    bytes on every attempt: the fact's own recorded time is the message's ``timestamp``)."""
    kind = event_type(fact)
    data = {k: v for k, v in fact.items() if k != "cursor"}
    body = json.dumps({"type": kind, "timestamp": fact["recorded_at"], "data": data}, separators=(",", ":"),
                      ensure_ascii=False)
    return f"msg_{fact['position']}", kind, body.encode()
