"""Typed domain errors. Each names the field it concerns and says what to do about it.

They are *bad input*: the adapter reports them as ``line N: field: message`` with
exit status 2, and nothing is written.
"""

from __future__ import annotations


class LedgerError(Exception):
    """A fact or request that the ledger refuses."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class UnknownInstance(LedgerError):
    """The instance has no (unretracted) purchase in the ledger."""


class UnknownReference(LedgerError):
    """A line id, order id or refund id that the ledger does not know."""


class InstanceReleased(LedgerError):
    """K-L3: a refunded instance takes no further orders."""


class Conflict(LedgerError):
    """An id already used, a second purchase of an instance, a line id reused with other content."""


class Inconsistent(LedgerError):
    """Facts that contradict each other: mixed currencies, tenders that do not add up,
    an order outside the instance's validity, a time before the purchase."""
