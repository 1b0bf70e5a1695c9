"""API keys under ``/v1/keys`` (admin only): create and rotate (the secret is in the answer, once), list,
revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from adapters.http import params
from adapters.http.auth import AppDep, KeyAdmin, Unnarrowed
from adapters.http.bodies import Body, json_body, json_model
from adapters.http.problems import responses
from adapters.services import keys

router = APIRouter(prefix="/v1", responses=responses(401, 403, 422, 429), tags=["keys"])


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    role: str = Field(max_length=20, description=", ".join(keys.ROLES))
    accounts: list[str] = Field([], max_length=1000)
    name: str | None = Field(None, max_length=200)
    expires_at: str | None = Field(None, max_length=64, description="no request authenticates with the key from "
                                                                    "then on (ISO 8601 with an offset)")


@router.post("/keys", status_code=201, summary="Create a key (its secret is shown once)",
             openapi_extra=json_body(NewKey))
def create(app: AppDep, who: KeyAdmin, whole: Unnarrowed, body: Body) -> dict[str, Any]:
    new, _ = json_model(body, NewKey)
    return keys.create_key(app, new.role, new.accounts, new.name, actor=who.actor,
                           expires_at=params.optional_instant("expires_at", new.expires_at)).as_json()


@router.get("/keys", summary="Every key, revoked ones too (never a secret)")
def list_keys(app: AppDep, who: KeyAdmin, whole: Unnarrowed) -> dict[str, Any]:
    return {"keys": [k.as_json() for k in keys.list_keys(app)]}


@router.delete("/keys/{key_id}", summary="Revoke a key, at once")
def revoke(app: AppDep, who: KeyAdmin, whole: Unnarrowed,
           key_id: Annotated[str, Path(max_length=40)]) -> dict[str, Any]:
    return keys.revoke_key(app, key_id, actor=who.actor).as_json()


class Rotation(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    overlap: str | None = Field(None, max_length=20, description="how long the secret it replaces still "
                                                                 "authenticates: 0s to 30d (default 24h)")


@router.post("/keys/{key_id}/rotation", summary="A new secret for a key (shown once), the old one refused after "
                                                "an overlap", openapi_extra=json_body(Rotation))
def rotate(app: AppDep, who: KeyAdmin, whole: Unnarrowed, body: Body,
           key_id: Annotated[str, Path(max_length=40)]) -> dict[str, Any]:
    asked, _ = json_model(body if body.strip() else b"{}", Rotation)
    return keys.rotate_key(app, key_id, keys.overlap(asked.overlap), actor=who.actor).as_json()
