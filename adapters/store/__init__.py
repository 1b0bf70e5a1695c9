"""Infrastructure: the event store (the `eventsourcing` application on SQLite or PostgreSQL), the stream
cache, batched reads (prefetch, log scans), the hash chain's sealing and verification, the SQL read models.
May import ``domain`` and ``projections``; only ``services`` and ``bootstrap`` import it.
"""
