"""Signed checkpoints of the hash chain: the checkpoint file (JSON Lines), its Ed25519 signatures, the key files.

One line per checkpoint, a JSON object with exactly these fields::

    {"head": "<64 hex>", "position": 57, "seals": 2, "recorded_at": "2026-05-01T00:00:00+00:00",
     "made_at": "2026-05-02T08:00:00+00:00", "public_key": "<base64>", "signature": "<base64>"}

``head`` is the chain's running hash after its ``seals``-th seal, covering its first ``position`` chained
rows; ``recorded_at`` is that seal's recorded time (null for an empty ledger); ``made_at`` is when the
checkpoint was made. ``public_key`` is the raw 32-byte Ed25519 public key, ``signature`` the 64-byte
signature, both standard base64. The signature is over the canonical serialization of the other six fields:
``json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`` encoded as UTF-8, so anyone
can check a line with any Ed25519 implementation.

Key files: the private key is PKCS#8 PEM, unencrypted, mode 0600; ``KEYFILE.pub`` holds the public key as
SubjectPublicKeyInfo PEM. ``--public-key`` accepts that PEM or the base64 raw key (as printed by ``keygen``).

Writing: a key file is created without ever replacing an existing file (written under a temporary name,
then hard-linked into place, which fails if the name exists). The checkpoint file is rewritten whole: its
current content plus the new line goes to a temporary file in the same directory, is flushed to disk, and
is renamed over the old one, so a reader sees the old file or the new one, never half a line. One writer at
a time: two checkpoints made at the same instant on one file may lose one of them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from adapters.formats.errors import BadInput

HEAD = re.compile(r"^[0-9a-f]{64}$")
FIELDS = ("head", "position", "seals", "recorded_at", "made_at", "public_key", "signature")


@dataclass(frozen=True)
class Checkpoint:
    head: str
    position: int
    seals: int
    recorded_at: str | None
    made_at: str
    public_key: str
    signature: str

    def signed_fields(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "signature"}

    def canonical(self) -> bytes:
        """The bytes the signature is over."""
        return canonical(self.signed_fields())

    def line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=True)


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("utf-8")


def _b64(value: Any, size: int) -> bytes:
    if not isinstance(value, str):
        raise ValueError("must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not base64") from None
    if len(raw) != size:
        raise ValueError(f"must decode to {size} bytes, not {len(raw)}")
    return raw


def _time(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time string")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be a whole number, 0 or more")
    return value


def from_line(text: str) -> Checkpoint:
    """One checkpoint line; ValueError saying what is wrong with it (the caller names the file and line)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    missing, unknown = [k for k in FIELDS if k not in data], sorted(set(data) - set(FIELDS))
    if missing or unknown:
        raise ValueError("; ".join([*(["missing " + ", ".join(missing)] if missing else []),
                                    *(["unknown field(s) " + ", ".join(unknown)] if unknown else [])]))
    checks = {"head": _head, "position": _count, "seals": _count, "recorded_at": _optional_time, "made_at": _time,
              "public_key": _key, "signature": _signature}
    values: dict[str, Any] = {}  # each checked to its field's type just below
    for name in FIELDS:
        try:
            values[name] = checks[name](data[name])
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
    return Checkpoint(**values)


def _head(value: Any) -> str:
    if not isinstance(value, str) or not HEAD.match(value):
        raise ValueError("must be 64 lowercase hex digits")
    return value


def _optional_time(value: Any) -> str | None:
    return None if value is None else _time(value)


def _key(value: Any) -> str:
    _b64(value, 32)
    return value


def _signature(value: Any) -> str:
    _b64(value, 64)
    return value


def parse(text: str, source: str) -> list[tuple[int, Checkpoint]]:
    """Every checkpoint of a file, with its line number; blank lines are skipped. A line that is not a valid
    checkpoint is bad input naming ``source`` and the line."""
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            out.append((n, from_line(raw)))
        except ValueError as e:
            raise BadInput(None, f"{source}: line {n}: not a checkpoint: {e}") from None
    return out


# ----- keys and signatures -----

def new_key() -> tuple[bytes, bytes, str]:
    """A new Ed25519 key: (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM, public raw base64)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public, _raw_public(key.public_key())


def _raw_public(public: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return base64.b64encode(public.public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)).decode("ascii")


def load_private_key(data: bytes, source: str) -> Any:
    """An Ed25519 private key from PEM; bad input otherwise."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise BadInput(None, f"{source}: not an unencrypted PEM private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInput(None, f"{source}: not an Ed25519 key ({type(key).__name__})")
    return key


def load_public_key(data: bytes, source: str) -> str:
    """The raw base64 public key from a PEM public key or a base64 raw key; bad input otherwise."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text = data.decode("ascii", errors="replace").strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as e:
            raise BadInput(None, f"{source}: not a PEM public key ({e})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise BadInput(None, f"{source}: not an Ed25519 public key ({type(key).__name__})")
        return _raw_public(key)
    try:
        _b64(text, 32)
    except ValueError as e:
        raise BadInput(None, f"{source}: neither a PEM public key nor a base64 raw Ed25519 key: {e}") from None
    return text


def sign(private_key: Any, head: str, position: int, seals: int, recorded_at: str | None,
         made_at: str) -> Checkpoint:
    public = _raw_public(private_key.public_key())
    fields: dict[str, Any] = {"head": head, "position": position, "seals": seals, "recorded_at": recorded_at,
              "made_at": made_at, "public_key": public}
    signature = base64.b64encode(private_key.sign(canonical(fields))).decode("ascii")
    return Checkpoint(**fields, signature=signature)


def signature_valid(checkpoint: Checkpoint, public_key: str) -> bool:
    """Does ``checkpoint.signature`` verify over its other fields under ``public_key`` (raw base64)?"""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(_b64(public_key, 32))
    try:
        key.verify(_b64(checkpoint.signature, 64), checkpoint.canonical())
    except InvalidSignature:
        return False
    return True
