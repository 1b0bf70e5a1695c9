"""``POST /v1/feeds``: record a feed, all or nothing, as the key (its id is the actor); ``Idempotency-Key``
makes a retry answer the first answer (`adapters.services.idempotency`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from adapters.formats import metrics
from adapters.http.auth import AppDep, Recorder, Unnarrowed
from adapters.http.bodies import Body, feed_lines
from adapters.http.problems import responses
from adapters.services import idempotency

router = APIRouter(prefix="/v1", responses=responses(401, 403, 409, 413, 422, 429))

FEED_BODY = {"requestBody": {"required": True, "content": {
    "application/x-ndjson": {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}}


@router.post("/feeds", tags=["record"], openapi_extra=FEED_BODY,
             summary="Append a feed (JSON Lines, or a JSON array of lines), all or nothing")
def record(app: AppDep, who: Recorder, whole: Unnarrowed, body: Body, response: Response,
           preserve_recorded_at: bool = False,
           idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> dict[str, Any]:
    """Answers how many lines were recorded, skipped as duplicates, and refund requests denied (an empty
    feed records nothing: ``lines`` 0). Bad input is 422 naming the line and field; nothing is written."""
    answer = idempotency.record_feed_once(app, feed_lines(body), principal=who.id, key=idempotency_key,
                                          actor=who.actor, preserve_recorded_at=preserve_recorded_at)
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        counted = answer.as_json()
        metrics.count_feed(counted["recorded"], counted["duplicates"], counted["denied"])
    return answer.as_json()
