"""The webhook deliverer (``billing-ledger webhooks run``, ``serve --webhooks``; docs/webhooks.md).

For each subscription, one message at a time, in log order: the oldest ``refund.overdue`` message not yet
delivered, else the first fact after the subscription's position that it wants (its types and accounts;
`adapters.services.changes` reads them, so the feed's no-skip guarantee holds here too). The message is
signed (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``, the library's
``Webhook.sign``) and POSTed; a 2xx advances the position past it (in one transaction with its log row), any
other status, a timeout or no answer keeps it at the head of the line, to be tried again after an exponential
back-off with jitter (`Schedule`). Nothing behind a waiting message is sent: messages arrive in log order,
so in order per instance. A deliverer killed after a POST and before its commit sends that message again,
under the same id: at least once; receivers drop the ids they have seen. One deliverer sends at a time
(`Lease`): another waits until the lease is released or has expired (`Schedule.lease` seconds after a killed
one's last renewal).

``refund.overdue``: every `Schedule.overdue_every` seconds the refunds past a deadline at the deliverer's
clock (`adapters.services.queries.overdue`, K-L2; P-R2, P-R3, P-D1) are compared with the messages already
made for each subscription that wants them; a stage (refund, rule, since) gets one message, once.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook

from adapters.bootstrap import App
from adapters.formats.pages import position_cursor
from adapters.services import listings, queries
from adapters.services import webhooks as subs
from adapters.services.changes import changes as read_changes
from adapters.store import webhooks as store

Send = Callable[[str, bytes, dict[str, str], float], tuple[int | None, str | None]]
BATCH = 100  # messages per subscription per round at most (others get their turn)


@dataclass(frozen=True)
class Schedule:
    """Retry ``n`` (1, 2, ...) waits ``min(cap, base * 2 ** (n - 1))`` seconds times a random factor in [0.5, 1)
    (full jitter's upper half): by default the first retry comes within 5 s, then within 10, 20, 40 s... up
    to an hour between tries, for ever (a message is never dropped: `resend` and the log say where it stands)."""

    base: float = 5.0
    cap: float = 3600.0
    timeout: float = 10.0  # seconds to wait for the receiver's answer
    overdue_every: float = 60.0  # seconds between two looks for refunds past a deadline
    lease: float = 30.0  # seconds a deliverer holds the lease past its last renewal (a killed one's, then free)

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        return min(self.cap, self.base * 2 ** max(attempt - 1, 0)) * (0.5 + rand() / 2)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer that is not 2xx: tried again later, never followed


_opener = urllib.request.build_opener(_NoRedirect)


def send_http(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str | None]:
    """POST ``body``; the status, or None and what went wrong (a timeout, a refused connection)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as answer:
            answer.read(65536)
            return answer.status, None
    except urllib.error.HTTPError as e:
        return e.code, None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return None, f"{type(reason).__name__}: {reason}"[:500]


def _next(app: App, sub: store.Subscription) -> tuple[str, int | None, str, bytes] | None:
    """The subscription's next message (id, position or None for an overdue one, type, body), or None."""
    waiting = store.next_overdue(app.readmodels, sub.id)
    if waiting is not None:
        return waiting[0], None, subs.OVERDUE, waiting[1].encode()
    position = sub.position
    while True:
        page = read_changes(app, position_cursor(position), 50, (), sub.accounts or None)
        for fact in page.events:
            message, kind, body = subs.message_of(fact)
            if subs.wants(sub.types, kind):
                if fact["position"] > position + 1:
                    store.passed(app.readmodels, sub.id, fact["position"] - 1)
                return message, fact["position"], kind, body
        if page.position > position:
            store.passed(app.readmodels, sub.id, page.position)
            position = page.position
        if not page.more:
            return None


def _deliver(app: App, sub: store.Subscription, schedule: Schedule, send: Send, rand: Callable[[], float]) -> bool:
    """Send the subscription's next message; True when it was delivered (and another may follow)."""
    found = _next(app, sub)
    if found is None:
        return False
    message, position, kind, body = found
    attempt = sub.attempts + 1 if sub.pending == message else 1
    now = app.now()
    headers = {"content-type": "application/json", "user-agent": "billing-ledger-webhooks",
               "webhook-id": message, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(sub.secret).sign(message, now, body)}
    status, error = send(sub.url, body, headers, schedule.timeout)
    done = app.now()
    if status is not None and 200 <= status < 300:
        store.delivered(app.readmodels, sub.id, message, position, kind, attempt, done, status)
        return True
    store.failed(app.readmodels, sub.id, message, position, kind, attempt, done, status, error,
                 done + timedelta(seconds=schedule.delay(attempt, rand)))
    return False


def find_overdue(app: App) -> int:
    """Make a ``refund.overdue`` message for each stage past its deadline now that a subscription wanting
    them has none for yet; returns how many were made."""
    wanting = [s for s in store.all_subscriptions(app.readmodels) if subs.wants(s.types, subs.OVERDUE)]
    if not wanting:
        return 0
    now = app.now()
    late = queries.overdue(app, now)
    made = 0
    for sub in wanting:
        have = store.overdue_made(app.readmodels, sub.id)
        for o in late:
            data = o.as_json()
            stage = f"{data['refund']}|{data['rule']}|{data['since']}"
            message = "msg_overdue_" + hashlib.sha256(stage.encode()).hexdigest()[:24]
            if message in have:
                continue
            account = listings.instance_account(app, data["instance"])
            if sub.accounts and account not in sub.accounts:
                continue
            body = json.dumps({"type": subs.OVERDUE, "timestamp": now.isoformat(),
                               "data": {**data, "account": account}}, separators=(",", ":"), ensure_ascii=False)
            store.make_overdue(app.readmodels, sub.id, message, body, now)
            made += 1
    return made


class Lease:
    """The deliverer's lease (`adapters.store.webhooks.claim`): held, renewed before every message, so that two
    deliverers never send at once (``serve --webhooks`` and ``webhooks run`` on one ledger: the second waits)."""

    def __init__(self, app: App, seconds: float) -> None:
        self.app, self.seconds = app, seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def hold(self) -> bool:
        now = self.app.now()
        return store.claim(self.app.readmodels, self.owner, now, now + timedelta(seconds=self.seconds))

    def release(self) -> None:
        store.release(self.app.readmodels, self.owner, self.app.now())


def run_once(app: App, schedule: Schedule = Schedule(), send: Send = send_http,
             rand: Callable[[], float] = random.random, lease: Lease | None = None) -> int:
    """One round over every subscription whose next try is due, while ``lease`` (default: a new one, released
    after the round) is held; returns how many messages were delivered."""
    own = lease is None
    held = Lease(app, schedule.lease) if lease is None else lease
    try:
        return _round(app, schedule, send, rand, held)
    finally:
        if own:
            held.release()


def _round(app: App, schedule: Schedule, send: Send, rand: Callable[[], float], lease: Lease) -> int:
    delivered = 0
    for sub in store.all_subscriptions(app.readmodels):
        for _ in range(BATCH):
            if not lease.hold():
                return delivered
            fresh = store.get(app.readmodels, sub.id)
            if fresh is None or fresh.removed_at is not None:
                break
            if fresh.next_try_at is not None and app.now() < fresh.next_try_at:
                break
            if not _deliver(app, fresh, schedule, send, rand):
                break
            delivered += 1
    return delivered


def deliver_once(app: App, schedule: Schedule = Schedule(), send: Send = send_http) -> int | None:
    """One round, overdue refunds looked for first, under the lease; None when another deliverer holds it."""
    lease = Lease(app, schedule.lease)
    if not lease.hold():
        return None
    try:
        find_overdue(app)
        return run_once(app, schedule, send, lease=lease)
    finally:
        lease.release()


def run_deliverer(app: App, stop: threading.Event, schedule: Schedule = Schedule(), poll: float = 1.0,
        send: Send = send_http) -> None:
    """Deliver until ``stop`` is set: a round, then a pause of ``poll`` seconds when nothing was delivered; the
    lease is held throughout (another deliverer's: this one waits for it), released at the end."""
    looked: datetime | None = None
    lease = Lease(app, schedule.lease)
    try:
        while not stop.is_set():
            if not lease.hold():
                stop.wait(poll)
                continue
            now = app.now()
            if looked is None or (now - looked).total_seconds() >= schedule.overdue_every:
                find_overdue(app)
                looked = now
            if not run_once(app, schedule, send, lease=lease):
                stop.wait(poll)
    finally:
        lease.release()
