"""Pure folds of event streams into answers: finance rows and the account ledger, reconciliation, deadlines,
the diff of two knowledge times. No store, no clock: callers pass the events and the times. May import
``domain`` (policies through the registry); never ``adapters``.
"""
