"""Finance under ``/v1``: what-if, reconciliation against a statement, streamed exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from adapters.formats import tables
from adapters.formats.errors import BadInput
from adapters.http import params
from adapters.http.auth import AppDep, Exporter, Reconciler, Unnarrowed, WhatIf, check_visible
from adapters.http.bodies import Body, json_body, json_model
from adapters.http.problems import responses
from adapters.services import jobs, whatif

router = APIRouter(prefix="/v1", responses=responses(401, 403, 404, 413, 422, 429))


ModeName = Annotated[str, Field(max_length=64)]


class Scenario(BaseModel):
    """One instance's scenario (``instance``, ``at``, ``add``, ``drop``); without ``instance``, every instance's
    refund exposure at ``at``, or (no ``at``) every recorded request judged again. The scenario is ``set``,
    ``policy_version``, ``add`` and ``drop``; the baseline is the ledger as recorded, by its own parameters."""

    model_config = ConfigDict(extra="forbid", strict=True)
    instance: str | None = Field(None, min_length=1, max_length=200)
    at: str | None = Field(None, max_length=64, description="the request's business time (one instance's, or "
                                                            "without instance every instance's exposure)")
    add: list[dict[str, Any]] = Field([], max_length=10_000, description="feed lines to add (instance scenario)")
    drop: list[str] = Field([], max_length=10_000, description="ids of recorded lines to leave out (instance "
                                                               "scenario)")
    set: dict[str, str] = Field({}, description="policy parameters: NAME -> VALUE")
    policy_version: str | None = Field(None, max_length=200)
    account: str | None = Field(None, max_length=200)
    mode: ModeName | Annotated[list[ModeName], Field(max_length=16)] = Field(
        "auto", description="auto, or a mode or refund reason of the instance's policy; for the "
                                           "exposure, a list with at most one per policy (the others: auto)")
    all: bool = Field(False, description="the exposure: list every instance, unchanged ones too")


@router.post("/what-if", tags=["finance"], summary="Recompute refunds under a scenario; writes nothing",
             openapi_extra=json_body(Scenario))
def what_if(app: AppDep, who: WhatIf, body: Body) -> dict[str, Any]:
    """``add``'s lines are read by the feed's own parser, as the client sent them (a key twice is refused as on
    ``/v1/feeds``)."""
    scenario, added = json_model(body, Scenario, raw="add")
    sets = params.overrides([f"{k}={v}" for k, v in scenario.set.items()])
    modes = [scenario.mode] if isinstance(scenario.mode, str) else scenario.mode
    if scenario.instance is not None:
        check_visible(app, who, [scenario.instance])
        if scenario.at is None:
            raise BadInput(None, "at: missing (an instance scenario needs the request's business time)")
        if len(modes) != 1:
            raise BadInput(None, "mode: one instance's request has one mode")
        return whatif.instance_scenario(app, scenario.instance, params.instant("at", scenario.at), added,
                                        scenario.drop, modes[0], sets, scenario.policy_version).as_json()
    if scenario.add or scenario.drop:
        raise BadInput(None, f"{'add' if scenario.add else 'drop'}: facts are added or left out in one instance's "
                             "scenario: give instance")
    if who.accounts and scenario.account not in who.accounts:
        raise HTTPException(403, "a key narrowed to accounts must name one of them (account)")
    if scenario.at is not None:
        return whatif.ledger_exposure(app, params.instant("at", scenario.at), modes, sets, scenario.policy_version,
                                      scenario.account, every=scenario.all).as_json()
    if any(m != "auto" for m in modes):
        raise BadInput(None, "mode: recorded requests are judged again under the mode they were recorded with; "
                             "mode is for one instance, or with at for every instance's exposure")
    return whatif.ledger_scenario(app, sets, scenario.policy_version, scenario.account).as_json()


STATEMENT = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.post("/reconcile", tags=["finance"], openapi_extra=STATEMENT,
             summary="Compare the ledger with a payment statement (CSV body)")
def reconcile(app: AppDep, who: Reconciler, whole: Unnarrowed, body: Body) -> dict[str, Any]:
    """Findings that do not reconcile are still 200 (the CLI exits 1): the answer is the findings."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        line = body.count(b"\n", 0, e.start) + 1
        raise BadInput(None, f"body: line {line}: not valid UTF-8") from None
    return jobs.reconcile(app, text).as_json()


MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


@router.get("/exports/{what}", tags=["finance"], summary="Export rows for a period, streamed (CSV or Parquet)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}},
                                         "application/vnd.apache.parquet": {"schema": {"type": "string",
                                                                                       "format": "binary"}}}}})
def export(app: AppDep, who: Exporter, whole: Unnarrowed,
           what: Annotated[Literal["refunds", "orders", "account-ledger"], Path()],
           start: Annotated[str, Query(alias="from", description="business time, inclusive", max_length=64)],
           end: Annotated[str, Query(alias="to", description="business time, exclusive", max_length=64)],
           format: Literal["csv", "parquet"] = "csv", known_at: params.KnownAt = None) -> StreamingResponse:
    t1, t2 = params.instant("from", start), params.instant("to", end)
    if t1 >= t2:
        raise BadInput(None, f"from: {start} is not before to {end}: the period [from, to) would be empty")
    rows = tables.primed(jobs.export(app, what, t1, t2, params.optional_instant("known_at", known_at)))
    chunks = (tables.csv_chunks if format == "csv" else tables.parquet_chunks)(rows, tables.COLUMNS[what])
    return StreamingResponse(chunks, media_type=MEDIA[format],
                             headers={"Content-Disposition": f'attachment; filename="{what}.{format}"'})
