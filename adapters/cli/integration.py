"""Integration out: the change feed (``events``; docs/cli.md, "The change feed") and webhooks (``webhooks
add|list|remove|deliveries|resend|run``; docs/webhooks.md)."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from adapters.cli.app import application, cli, err, out
from adapters.cli.options import Json

if TYPE_CHECKING:
    from adapters.services.webhooks import Subscription


@cli.command("events")
def events_cmd(
    after: Annotated[Optional[str], typer.Option("--after", metavar="CURSOR", help="a cursor an earlier run or "
                                                 "event gave (default: the start of the log)")] = None,
    types: Annotated[Optional[list[str]], typer.Option(
        "--types", help="only these types of fact, e.g. RefundApplied,RefundCompleted (repeatable)")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="stop after this many facts")] = None,
    follow: Annotated[bool, typer.Option("--follow", help="keep reading as facts are recorded (until "
                                                          "interrupted)")] = False,
    poll: Annotated[float, typer.Option("--poll", min=0.05, max=60, help="seconds between reads when "
                                                                         "following")] = 1.0,
) -> None:
    """Every recorded fact after --after, in log order, one JSON object a line (history --json's shape, with
    position, cursor, instance and account); the cursor to resume from goes to stderr at the end."""
    from adapters.services import changes

    app, cursor, left = application(), after, limit
    wanted = [t.strip() for given in types or [] for t in given.split(",") if t.strip()]
    try:
        while left is None or left > 0:
            page = changes.changes(app, cursor, min(left or 500, 500), wanted)
            for fact in page.events:
                sys.stdout.write(json.dumps(fact, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            cursor = page.next_cursor
            if left is not None:
                left -= len(page.events)
            if not page.more:
                if not follow:
                    break
                time.sleep(poll)
    except KeyboardInterrupt:
        pass
    err.print(f"next cursor: {cursor or ''}")


webhooks = typer.Typer(no_args_is_help=True, help="Webhook subscriptions and their deliverer (docs/webhooks.md).")
cli.add_typer(webhooks, name="webhooks")
Id = Annotated[str, typer.Argument(metavar="ID", help="the subscription's id (webhooks list)")]


def _show(answer: dict, as_json: bool, lines: list[str]) -> None:
    if as_json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    for line in lines:
        out.print(line)


def _line(s: Subscription) -> str:
    waiting = f"; waiting: {s.pending} (attempt {s.attempts}, next at {s.next_try_at:%Y-%m-%dT%H:%M:%SZ})" \
        if s.pending and s.next_try_at else ""
    return (f"{s.id} {s.url} types {','.join(s.types) or 'all'} accounts {','.join(s.accounts) or 'all'} "
            f"position {s.position}{waiting}")


@webhooks.command("add")
def webhooks_add_cmd(
    url: Annotated[str, typer.Option("--url", help="where messages are POSTed (http or https)")],
    types: Annotated[Optional[list[str]], typer.Option(
        "--types", help="event types, e.g. refund.requested,refund.completed (default: all; repeatable)")] = None,
    accounts: Annotated[Optional[list[str]], typer.Option("--account", help="only this account's "
                                                                            "(repeatable)")] = None,
    after: Annotated[Optional[str], typer.Option("--after", metavar="CURSOR", help="start after this change-"
                                                 "feed cursor (default: what is recorded from now on)")] = None,
    from_start: Annotated[bool, typer.Option("--from-start", help="send the whole log")] = False,
    as_json: Json = False,
) -> None:
    """Subscribe a URL and print its signing secret, once."""
    from adapters.services import webhooks as hooks

    wanted = [t.strip() for given in types or [] for t in given.split(",") if t.strip()]
    made = hooks.add_subscription(application(), url, wanted, accounts or [], after, from_start=from_start)
    _show(made.as_json(), as_json, [_line(made), "its signing secret, shown only now:", made.secret])


@webhooks.command("list")
def webhooks_list_cmd(as_json: Json = False) -> None:
    """Every subscription and where its delivery stands (never a secret)."""
    from adapters.services import webhooks as hooks

    rows = hooks.list_subscriptions(application())
    _show({"webhooks": [s.as_json() for s in rows]}, as_json, [_line(s) for s in rows] or ["no subscriptions"])


@webhooks.command("remove")
def webhooks_remove_cmd(subscription: Id, as_json: Json = False) -> None:
    """Remove a subscription: nothing more is sent to it (its delivery log stays)."""
    from adapters.services import webhooks as hooks

    gone = hooks.remove_subscription(application(), subscription)
    _show(gone.as_json(), as_json, [f"removed {gone.id}"])


@webhooks.command("deliveries")
def webhooks_deliveries_cmd(subscription: Id, limit: Annotated[int, typer.Option(
        "--limit", min=1, max=1000, help="the newest this many rows")] = 20, as_json: Json = False) -> None:
    """The subscription's delivery log, newest first: each attempt, its status or error, the next try."""
    from adapters.services import webhooks as hooks

    log = hooks.webhook_deliveries(application(), subscription, limit)
    _show(log, as_json, [f"{d['at']} {d['outcome']} {d['message']} {d['type']} attempt {d['attempt']} "
                         f"status {d['status']} {d['error'] or ''}".rstrip() for d in log["deliveries"]])


@webhooks.command("resend")
def webhooks_resend_cmd(subscription: Id, after: Annotated[Optional[str], typer.Option(
        "--after", metavar="CURSOR", help="send every message after this cursor again (default: try the "
                                          "waiting one now)")] = None, as_json: Json = False) -> None:
    """Try the waiting message now, or send every message after a cursor again (under the same ids)."""
    from adapters.services import webhooks as hooks

    s = hooks.resend(application(), subscription, after)
    _show(s.as_json(), as_json, [_line(s)])


@webhooks.command("run")
def webhooks_run_cmd(
    once: Annotated[bool, typer.Option("--once", help="one round over the subscriptions, then exit")] = False,
    poll: Annotated[float, typer.Option("--poll", min=0.05, max=60, help="seconds between rounds when idle")] = 1.0,
    retry_base: Annotated[float, typer.Option("--retry-base", min=0.01, help="seconds before the first retry "
                                                                            "(then doubled, jittered)")] = 5.0,
    retry_cap: Annotated[float, typer.Option("--retry-cap", min=0.01, help="seconds between retries at "
                                                                          "most")] = 3600.0,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, max=300, help="seconds to wait for an "
                                                                              "answer")] = 10.0,
    overdue_every: Annotated[float, typer.Option("--overdue-every", min=0.1, help="seconds between looks for "
                                                                                  "refunds past a deadline")] = 60.0,
    lease: Annotated[float, typer.Option("--lease", min=0.5, help="seconds another deliverer waits after this "
                                                                  "one stopped renewing its lease")] = 30.0,
) -> None:
    """Deliver: each subscription's messages in log order, signed, retried until a 2xx (until interrupted);
    one deliverer at a time (a second waits for the first's lease)."""
    from adapters.services import deliverer

    schedule = deliverer.Schedule(retry_base, retry_cap, timeout, overdue_every, lease)
    app = application()
    if once:
        if deliverer.deliver_once(app, schedule) is None:
            err.print("another deliverer holds the lease: nothing sent")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        deliverer.run_deliverer(app, stop, schedule, poll)
    except KeyboardInterrupt:
        pass
