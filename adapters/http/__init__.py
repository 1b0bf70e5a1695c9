"""The HTTP API (docs/http.md): a FastAPI application over the same application layer as the CLI.

``uvicorn --factory adapters.http:create_app`` (what ``billing-ledger serve`` runs) builds it from the
environment (``BILLING_LEDGER_DB`` and the ``BILLING_LEDGER_HTTP_*`` limits, `HttpSettings`).
"""

from adapters.http.app import create_app
from adapters.http.settings import HttpSettings

__all__ = ["HttpSettings", "create_app"]
