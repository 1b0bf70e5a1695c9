"""File and wire formats: the feed (JSON Lines, validated with pydantic), the payment statement (CSV), the
CSV/Parquet writers, the HTML timeline, the signed checkpoint file and its keys (Ed25519). Parsing and
rendering only: no store. May import ``domain`` and ``projections``.
"""
