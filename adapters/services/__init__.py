"""The application layer: one function per use case.

Each takes the `adapters.bootstrap.App` first, then plain values (strings, datetimes, dicts, lists), and
returns plain data (dataclasses, rows, iterators of rows); none prints. Entrypoints parse their arguments,
call one of these and render the answer. The submodules ``record``, ``finance`` and ``whatif`` also keep
the same work on a bare `Ledger` (tests, the benchmark). May import ``domain``, ``projections``,
``adapters.store`` and ``adapters.formats``; never an entrypoint.
"""

from adapters.services.anchors import Audit, KeyPair, Made, Refused, checkpoint, keygen
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
    InstanceRow,
    RefundListing,
    accounts,
    instances,
    refunds,
)
from adapters.services.queries import (
    History,
    Timeline,
    check_mode,
    check_overrides,
    diff,
    history,
    overdue,
    quote,
    quote_modes,
    timeline,
    timeline_html,
    verify,
)
from adapters.services.record import RecordResult
from adapters.services.whatif import InstanceScenario, LedgerScenario, Totals, instance_scenario, ledger_scenario

__all__ = [
    "ROLES", "CreatedKey", "KeyRow", "Principal", "authenticate", "create_key", "list_keys", "local_actor",
    "revoke_key",
    "Audit", "KeyPair", "Made", "Refused", "checkpoint", "keygen",
    "JOURNAL_FORMATS", "Journal", "TrialBalance", "journal", "trial_balance", "write_journal",
    "EXPORTS", "OPEN_REFUND_STATES", "AccountRow", "History", "InstanceRow", "InstanceScenario", "LedgerScenario",
    "Projected", "Reconciliation", "RecordResult", "RefundListing", "Timeline", "Totals", "accounts",
    "check_mode", "check_overrides", "diff",
    "export", "history", "instance_scenario", "instances", "ledger_scenario", "overdue", "project", "quote",
    "quote_modes", "reconcile", "record_feed", "refunds", "timeline", "timeline_html", "verify",
]
