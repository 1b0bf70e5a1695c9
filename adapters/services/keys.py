"""Use cases: API keys (create, list, revoke) and authenticating a request's key.

A key has a role (`ROLES`, deny by default: the HTTP entrypoint decides what each role may call) and an
optional list of accounts that narrows what it sees (a ``customer`` key must have one). Its secret is shown
once, by `create_key`, and stored only as a hash (`adapters.store.apikeys`). The key id is public: it is the
actor a write records (``key:<id>``), shown by ``history``; the CLI records the local user instead
(`local_actor`).

Key management is recorded in the keys table (who created, rotated and revoked each key, and when), not in
the event log: keys are access control, not facts about instances. Each action is also logged (`LOG`: the
key's id, role and the actor; never a secret).

Rotation (`rotate_key`, issue 30 item 9) gives a key a new secret and keeps its id (so its role, accounts,
actor ``key:<id>``, rate window and history stay): the secret it replaces still authenticates during the
overlap window, then is refused; rotating again within the window refuses the oldest secret at once.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.bootstrap import App, NoLedger
from adapters.formats.errors import BadInput

if TYPE_CHECKING:
    from adapters.store import apikeys

ROLES = ("admin", "recorder", "finance", "auditor", "support", "customer")
PREFIX = "blk_"
_SECRET = re.compile(r"\Ablk_(k_[0-9a-f]{16})_([A-Za-z0-9_-]{43})\Z")
_ACCOUNT = re.compile(r"\A[^\x00-\x1f\x7f]{1,200}\Z")
_OVERLAP = re.compile(r"\A([0-9]{1,7})([smhd])\Z")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_OVERLAP = "24h"
MAX_OVERLAP = timedelta(days=30)
LOG = logging.getLogger("billing_ledger.keys")


def local_actor() -> str:
    """Who records from a shell: ``user:<login name>`` (``uid:<n>`` where the system knows no name)."""
    try:
        return f"user:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in this environment
        return f"uid:{os.getuid()}"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the key's id, role and accounts (never its secret)."""

    id: str
    role: str
    accounts: tuple[str, ...]  # empty: not narrowed
    name: str | None

    @property
    def actor(self) -> str:
        return f"key:{self.id}"


@dataclass(frozen=True)
class KeyRow:
    id: str
    role: str
    accounts: tuple[str, ...]
    name: str | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None = None  # the last authenticated request, to the minute
    expires_at: datetime | None = None  # None: never
    rotated_at: datetime | None = None  # the last rotation (None: never rotated)
    rotated_by: str | None = None
    previous_until: datetime | None = None  # the secret the last rotation replaced authenticates until then

    def as_json(self) -> dict[str, Any]:
        def when(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {"id": self.id, "role": self.role, "accounts": list(self.accounts), "name": self.name,
                "created_at": self.created_at.isoformat(), "created_by": self.created_by,
                "revoked_at": when(self.revoked_at), "revoked_by": self.revoked_by,
                "last_used_at": when(self.last_used_at), "expires_at": when(self.expires_at),
                "rotated_at": when(self.rotated_at), "rotated_by": self.rotated_by,
                "previous_until": when(self.previous_until)}


@dataclass(frozen=True)
class CreatedKey:
    id: str
    key: str  # the secret: shown once, never stored
    role: str
    accounts: tuple[str, ...]
    name: str | None
    expires_at: datetime | None = None
    previous_until: datetime | None = None  # a rotation's: the secret it replaced authenticates until then

    def as_json(self) -> dict[str, Any]:
        made = {"id": self.id, "key": self.key, "role": self.role, "accounts": list(self.accounts),
                "name": self.name, "expires_at": self.expires_at.isoformat() if self.expires_at else None}
        if self.previous_until is not None:
            made["previous_until"] = self.previous_until.isoformat()
        return made


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _row(k: apikeys.StoredKey) -> KeyRow:
    return KeyRow(k.id, k.role, k.accounts, k.name, k.created_at, k.created_by, k.revoked_at, k.revoked_by,
                  k.last_used_at, k.expires_at, k.rotated_at, k.rotated_by, k.previous_until)


def _new_secret(key_id: str) -> str:
    return f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def create_key(app: App, role: str, accounts: Sequence[str] = (), name: str | None = None, *,
               actor: str | None = None, expires_at: datetime | None = None) -> CreatedKey:
    """A new key for ``role``, narrowed to ``accounts`` if any, authenticating until ``expires_at`` (None:
    until revoked); the answer holds the secret, once.

    Creates the ledger's store when missing (as recording does), so a server can be keyed before its first
    feed."""
    if role not in ROLES:
        raise BadInput(None, f"{role!r} is not one of {', '.join(ROLES)}", param="role")
    accounts = tuple(dict.fromkeys(accounts))
    for a in accounts:
        if not _ACCOUNT.match(a):
            raise BadInput(None, f"{a!r} is not an account name (1 to 200 characters, no control characters)",
                           param="account")
    if role == "customer" and not accounts:
        raise BadInput(None, "a customer key needs at least one account", param="account")
    if name is not None and not _ACCOUNT.match(name):
        raise BadInput(None, "1 to 200 characters, no control characters", param="name")
    if expires_at is not None and expires_at <= app.now():
        raise BadInput(None, f"{expires_at.isoformat()} is not in the future: the key would never work",
                       param="expires_at")
    from adapters.store import apikeys  # SQLAlchemy (the keys table): only where keys are read or written

    key_id = f"k_{secrets.token_hex(8)}"
    secret = _new_secret(key_id)
    app.writer  # noqa: B018 - the store (SQLite file, PostgreSQL schema) exists before its keys
    actor = actor or local_actor()
    apikeys.insert_key(app.readmodels, apikeys.StoredKey(
        key_id, _sha256(secret), role, accounts, name, app.now(), actor, None, None, expires_at=expires_at))
    LOG.info("key %s created: role %s%s, by %s", key_id, role, f", accounts {list(accounts)}" if accounts else "",
             actor)
    return CreatedKey(key_id, secret, role, accounts, name, expires_at)


def overlap(text: str | None) -> timedelta:
    """A rotation's overlap window: ``<n>s``, ``m``, ``h`` or ``d``, at most `MAX_OVERLAP` (None: 24 hours)."""
    m = _OVERLAP.match(DEFAULT_OVERLAP if text is None else text)
    window = timedelta(seconds=int(m.group(1)) * UNITS[m.group(2)]) if m else None
    if window is None or window > MAX_OVERLAP:
        raise BadInput(None, f"{text!r} is not a window of 0s to 30d (a number and s, m, h or d: 24h)",
                       param="overlap")
    return window


def rotate_key(app: App, key_id: str, window: timedelta, *, actor: str | None = None) -> CreatedKey:
    """A new secret for ``key_id`` (shown once, as `create_key`'s), its old one still authenticating for
    ``window`` and refused from then on. A revoked, expired or unknown key is bad input."""
    from adapters.store import apikeys  # SQLAlchemy (the keys table): only where keys are read or written

    app.ledger  # noqa: B018
    found = apikeys.get_key(app.readmodels, key_id)
    now = app.now()
    if found is None or found.revoked_at is not None or (found.expires_at and now >= found.expires_at):
        raise BadInput(None, f"ID: no active key {key_id!r}: revoked, expired or unknown (keys list shows them)")
    secret, until, actor = _new_secret(key_id), now + window, actor or local_actor()
    if not apikeys.rotate(app.readmodels, key_id, _sha256(secret), until, now, actor):
        raise BadInput(None, f"ID: no active key {key_id!r}: revoked meanwhile")
    LOG.info("key %s rotated by %s: its previous secret authenticates until %s", key_id, actor, until.isoformat())
    return CreatedKey(key_id, secret, found.role, found.accounts, found.name, found.expires_at, until)


def list_keys(app: App) -> list[KeyRow]:
    """Every key, revoked ones included, oldest first (never a secret)."""
    from adapters.store import apikeys  # SQLAlchemy (the keys table): only where keys are read or written

    app.ledger  # noqa: B018 - reading never creates a ledger: none there is NoLedger (status 2)
    return [_row(k) for k in apikeys.all_keys(app.readmodels)]


def revoke_key(app: App, key_id: str, *, actor: str | None = None) -> KeyRow:
    """Revoke ``key_id`` at once (a key revoked earlier stays as it was). An unknown id is bad input."""
    from adapters.store import apikeys  # SQLAlchemy (the keys table): only where keys are read or written

    app.ledger  # noqa: B018
    actor = actor or local_actor()
    if not apikeys.revoke(app.readmodels, key_id, app.now(), actor):
        raise BadInput(None, f"ID: no key {key_id!r} (billing-ledger keys list shows them)")
    found = apikeys.get_key(app.readmodels, key_id)
    assert found is not None
    LOG.info("key %s revoked by %s", key_id, actor)
    return _row(found)


def authenticate(app: App, secret: str) -> Principal | None:
    """The principal whose key this is; None for a malformed, unknown, revoked or expired key (or no ledger yet).
    The stored hash is compared in constant time."""
    m = _SECRET.match(secret or "")
    if m is None:
        return None
    try:
        app.ledger  # noqa: B018
    except NoLedger:
        return None
    from adapters.store import apikeys  # SQLAlchemy (the keys table): only where keys are read or written

    found = apikeys.get_key(app.readmodels, m.group(1))
    if found is None or found.revoked_at is not None:
        return None
    now = app.now()
    if found.expires_at is not None and now >= found.expires_at:
        return None
    given = _sha256(secret)
    if not hmac.compare_digest(found.secret_sha256, given) and not (
            found.previous_sha256 is not None and found.previous_until is not None and now < found.previous_until
            and hmac.compare_digest(found.previous_sha256, given)):
        return None
    apikeys.touch(app.readmodels, found.id, now)  # keys list's last_used_at (at most once a minute)
    return Principal(found.id, found.role, found.accounts, found.name)
