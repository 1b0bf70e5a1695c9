"""Pure domain: value objects (money, time, quote lines), the aggregates and their events, the refund
lifecycle, the Policy protocol and the policies themselves (``domain/policies/``).

No I/O, no clock, no database: every time and id comes from the caller. May import: the standard library and
``eventsourcing.domain`` (aggregates and events); never ``projections`` or ``adapters``.
"""
