"""The application layer: one function per use case.

Each takes the `adapters.bootstrap.App` first, then plain values (strings, datetimes, dicts, lists), and
returns plain data (dataclasses, rows, iterators of rows); none prints. Entrypoints parse their arguments,
call one of these and render the answer. The submodules ``record``, ``reads``, ``finance`` and ``whatif`` also
keep the same work on a bare `Ledger` (tests, the benchmark). May import ``domain``, ``projections``,
``adapters.store`` and ``adapters.formats``; never an entrypoint.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers; at run time each submodule loads on first use
    from adapters.services.anchors import Audit, KeyPair, Made, Refused, checkpoint, keygen
    from adapters.services.changes import ChangePage, changes
    from adapters.services.deliverer import Schedule, deliver_once, run_deliverer
    from adapters.services.feeds import record_feed
    from adapters.services.jobs import EXPORTS, Projected, Reconciliation, export, project, reconcile
    from adapters.services.journal import JOURNAL_FORMATS, Journal, TrialBalance, journal, trial_balance, write_journal
    from adapters.services.keys import (
        ROLES,
        CreatedKey,
        KeyRow,
        Principal,
        authenticate,
        create_key,
        list_keys,
        local_actor,
        revoke_key,
    )
    from adapters.services.listings import (
        OPEN_REFUND_STATES,
        AccountRow,
        Found,
        InstanceRow,
        RefundListing,
        accounts,
        instance,
        instance_account,
        instance_zone,
        instances,
        refunds,
        search,
    )
    from adapters.services.observe import Figures, figures
    from adapters.services.overview import AccountOverview, UnknownAccount, account_overview
    from adapters.services.queries import (
        History,
        Timeline,
        check_mode,
        check_overrides,
        diff,
        history,
        instance_policy,
        overdue,
        quote,
        quote_modes,
        timeline,
        timeline_html,
        verify,
    )
    from adapters.services.record import RecordResult
    from adapters.services.refund_center import (
        UnknownRefund,
        UnsubscribeList,
        application,
        refund_instance,
        unsubscribe_list,
    )
    from adapters.services.refund_steps import (
        Who,
        apply_for_refund,
        complete_refund,
        decide_escalation,
        decide_refund,
        escalate_refund,
        reject_refund,
    )
    from adapters.services.webhooks import (
        Subscription,
        UnknownSubscription,
        add_subscription,
        list_subscriptions,
        remove_subscription,
        resend,
        webhook_deliveries,
    )
    from adapters.services.whatif import (
        Exposure,
        InstanceScenario,
        LedgerExposure,
        LedgerScenario,
        Totals,
        instance_scenario,
        ledger_exposure,
        ledger_scenario,
    )

__all__ = [
    "ROLES", "CreatedKey", "KeyRow", "Principal", "authenticate", "create_key", "list_keys", "local_actor",
    "revoke_key",
    "AccountOverview", "UnknownAccount", "account_overview", "Found", "instance", "instance_account",
    "instance_zone", "search",
    "Audit", "KeyPair", "Made", "Refused", "checkpoint", "keygen", "ChangePage", "changes", "Figures", "figures",
    "JOURNAL_FORMATS", "Journal", "TrialBalance", "journal", "trial_balance", "write_journal",
    "EXPORTS", "OPEN_REFUND_STATES", "AccountRow", "History", "InstanceRow", "InstanceScenario", "LedgerScenario",
    "Projected", "Reconciliation", "RecordResult", "RefundListing", "Timeline", "Totals", "accounts",
    "check_mode", "check_overrides", "diff", "instance_policy",
    "export", "history", "instance_scenario", "instances", "ledger_scenario", "overdue", "project", "quote",
    "Exposure", "LedgerExposure", "ledger_exposure",
    "quote_modes", "reconcile", "record_feed", "refunds", "timeline", "timeline_html", "verify",
    "UnknownRefund", "UnsubscribeList", "application", "refund_instance", "unsubscribe_list",
    "Who", "apply_for_refund", "complete_refund", "decide_escalation", "decide_refund", "escalate_refund",
    "reject_refund",
    "Schedule", "deliver_once", "run_deliverer", "Subscription", "UnknownSubscription",
    "add_subscription", "list_subscriptions", "remove_subscription", "resend", "webhook_deliveries",
]

_HOME = {  # each exported name -> the submodule that defines it (imported on first use, PEP 562)
    **dict.fromkeys(("Audit", "KeyPair", "Made", "Refused", "checkpoint", "keygen"), "anchors"),
    **dict.fromkeys(("ChangePage", "changes"), "changes"),
    **dict.fromkeys(("Figures", "figures"), "observe"),
    "record_feed": "feeds",
    **dict.fromkeys(("EXPORTS", "Projected", "Reconciliation", "export", "project", "reconcile"), "jobs"),
    **dict.fromkeys(("JOURNAL_FORMATS", "Journal", "TrialBalance", "journal", "trial_balance", "write_journal"),
                    "journal"),
    **dict.fromkeys(("ROLES", "CreatedKey", "KeyRow", "Principal", "authenticate", "create_key", "list_keys",
                     "local_actor", "revoke_key"), "keys"),
    **dict.fromkeys(("OPEN_REFUND_STATES", "AccountRow", "Found", "InstanceRow", "RefundListing", "accounts",
                     "instance", "instance_account", "instance_zone", "instances", "refunds", "search"), "listings"),
    **dict.fromkeys(("AccountOverview", "UnknownAccount", "account_overview"), "overview"),
    **dict.fromkeys(("History", "Timeline", "check_mode", "check_overrides", "diff", "history", "instance_policy",
                     "overdue", "quote", "quote_modes", "timeline", "timeline_html", "verify"), "queries"),
    "RecordResult": "record",
    **dict.fromkeys(("UnknownRefund", "UnsubscribeList", "application", "refund_instance", "unsubscribe_list"),
                    "refund_center"),
    **dict.fromkeys(("Who", "apply_for_refund", "complete_refund", "decide_escalation", "decide_refund",
                     "escalate_refund", "reject_refund"), "refund_steps"),
    **dict.fromkeys(("Schedule", "deliver_once", "run_deliverer"), "deliverer"),
    **dict.fromkeys(("Subscription", "UnknownSubscription", "add_subscription", "list_subscriptions",
                     "remove_subscription", "resend", "webhook_deliveries"), "webhooks"),
    **dict.fromkeys(("Exposure", "InstanceScenario", "LedgerExposure", "LedgerScenario", "Totals",
                     "instance_scenario", "ledger_exposure", "ledger_scenario"), "whatif"),
}


def __getattr__(name: str) -> Any:
    """An exported name, imported from its submodule on first use: a command loads only what it calls (no
    SQLAlchemy, cryptography or pydantic feed models for a quote)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def load_all() -> None:
    """Import every use case now (a long-running entrypoint's start-up; the CLI loads only what it calls)."""
    for name in __all__:
        getattr(sys.modules[__name__], name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """``journal`` is both a submodule and the use case it exports: importing the submodule must not replace
    the use case on the package (the import system sets the attribute once the submodule is loaded)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _HOME.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
