"""Anchors for the hash chain, so that `verify` can tell a ledger that lost its last feeds, or was rewritten and
consistently re-sealed, from an honest one.

- A published head (``verify --json`` prints ``head`` and ``position``; ``verify --expect-head HASH`` later).
  A head is the running hash over every chained row's digest up to its seal, so finding it again (and the
  rows it covers intact) proves that whole prefix of the log is unchanged and in place. Not finding it means
  the ledger was truncated before it, or rewritten and re-sealed.
- Signed checkpoints (``keygen``, ``checkpoint``, ``verify --checkpoints``): the same anchor, with the seal
  count and times, signed with an Ed25519 key kept outside the database and appended to a checkpoint file
  (format: `adapters.formats.checkpoints`).

What they cannot prove: anything about rows after the newest anchor; an honest ledger from one rewritten by
someone who also holds the private key and re-signed the checkpoints (or replaced every published head and
checkpoint file the auditor relies on).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from adapters.bootstrap import App
from adapters.formats import checkpoints as fmt
from adapters.formats import output
from adapters.formats.errors import BadInput
from adapters.store.integrity import Anchor, Verification
from adapters.store.integrity import verify as verify_chain
from domain.timeutil import readable

# ----- checking anchors -----


@dataclass(frozen=True)
class HeadCheck:
    """``verify --expect-head``: where the head was found, if anywhere."""

    head: str
    anchor: Anchor | None
    intact: bool  # the rows it covers are the rows found now
    message: str

    @property
    def ok(self) -> bool:
        return self.anchor is not None and self.intact

    def as_json(self) -> dict[str, Any]:
        found = self.anchor.as_json() if self.anchor else {}
        return {"head": self.head, "ok": self.ok, "found": self.anchor is not None, "seal": found.get("seal"),
                "position": found.get("position"), "row": found.get("row"),
                "recorded_at": found.get("recorded_at"), "message": self.message}


@dataclass(frozen=True)
class CheckpointCheck:
    """One line of a checkpoint file: its signature, and whether the ledger still extends it."""

    line: int
    checkpoint: fmt.Checkpoint
    signature_ok: bool
    anchor: Anchor | None
    ok: bool
    message: str

    def as_json(self) -> dict[str, Any]:
        cp = self.checkpoint
        return {"line": self.line, "ok": self.ok, "signature_ok": self.signature_ok, "head": cp.head,
                "position": cp.position, "seals": cp.seals, "recorded_at": cp.recorded_at, "made_at": cp.made_at,
                "public_key": cp.public_key, "found": self.anchor.as_json() if self.anchor else None,
                "message": self.message}


@dataclass
class CheckpointsReport:
    file: str
    public_key: str | None  # the --public-key given (raw base64), else each line was checked against its own key
    checks: list[CheckpointCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def first_failure(self) -> CheckpointCheck | None:
        return next((c for c in self.checks if not c.ok), None)

    @property
    def keys(self) -> list[str]:
        """The distinct public keys the lines name, in the order they first appear."""
        return list(dict.fromkeys(c.checkpoint.public_key for c in self.checks))

    @property
    def key_source(self) -> str:
        if self.public_key:
            return f"--public-key {self.public_key}"
        return "the key each line names (no --public-key: this proves each line is intact, not who signed it)"

    def as_json(self) -> dict[str, Any]:
        first = self.first_failure
        return {"file": self.file, "ok": self.ok, "public_key": self.public_key,
                "checked_against": "--public-key" if self.public_key else "each line's public_key",
                "keys": self.keys, "checked": len(self.checks), "first_failure": first.as_json() if first else None,
                "results": [c.as_json() for c in self.checks]}


@dataclass
class Audit:
    """`verify` with its anchors: the chain re-walked, each expected head, each checkpoint."""

    verification: Verification
    heads: list[HeadCheck] = field(default_factory=list)
    checkpoints: CheckpointsReport | None = None

    @property
    def ok(self) -> bool:
        return (self.verification.ok and all(h.ok for h in self.heads)
                and (self.checkpoints is None or self.checkpoints.ok))

    def as_json(self) -> dict[str, Any]:
        out = self.verification.as_json()
        out["chain_ok"] = out["ok"]
        out["ok"] = self.ok
        if self.heads:
            out["expect_head"] = [h.as_json() for h in self.heads]
        if self.checkpoints is not None:
            out["checkpoints"] = self.checkpoints.as_json()
        return out


def parse_head(param: str, value: str) -> str:
    head = value.strip().lower()
    if not fmt.HEAD.match(head):
        raise BadInput(None, f"{value!r} is not a head (64 hex digits, as `verify --json` prints)", param=param)
    return head


def _covered(v: Verification, anchor: Anchor) -> tuple[bool, str]:
    """Are the rows ``anchor`` covers intact? And the sentence that says so."""
    if v.intact(anchor):
        if anchor.recorded_at is None:
            return True, "the head of the empty chain, which every chain extends"
        return True, (f"found at seal {anchor.seal}, position {anchor.position} (seal row {anchor.row}, recorded "
                      f"{readable(anchor.recorded_at)}): the first {anchor.position} chained rows are the ones "
                      "it covered, in the same order")
    f = v.finding
    assert f is not None
    return False, (f"found at seal {anchor.seal}, position {anchor.position}, but the rows it covers are not intact: "
                   f"position {f.position}: {f.message}")


def check_head(v: Verification, head: str) -> HeadCheck:
    anchor = v.anchors.get(head)
    if anchor is None:
        return HeadCheck(head, None, False, "not in the chain: no seal has this head; the ledger was truncated before "
                         "it, or rewritten and re-sealed")
    intact, message = _covered(v, anchor)
    return HeadCheck(head, anchor, intact, message)


def check_checkpoint(v: Verification, line: int, cp: fmt.Checkpoint, public_key: str | None) -> CheckpointCheck:
    key = public_key or cp.public_key
    signature_ok = fmt.signature_valid(cp, key)
    anchor = v.anchors.get(cp.head)
    problems = []
    if not signature_ok:
        if public_key and cp.public_key != public_key:
            problems.append(f"signed by another key ({cp.public_key}), not --public-key")
        else:
            problems.append("its signature does not verify under " + ("--public-key" if public_key else
                            "the key it names") + ": the line was altered after it was signed")
    if anchor is None:
        if v.position < cp.position:
            problems.append(f"its head is not in the chain, which now covers {v.position} rows, fewer than the "
                            f"{cp.position} it covered: truncated (or rewritten)")
        else:
            problems.append(f"its head is not in the chain: the first {cp.position} rows were rewritten and "
                            "re-sealed (edited, deleted, inserted or reordered)")
        message = "; ".join(problems)
        return CheckpointCheck(line, cp, signature_ok, None, False, message)
    intact, where = _covered(v, anchor)
    if not intact:
        problems.append(where)
    if (anchor.position, anchor.seal) != (cp.position, cp.seals):
        problems.append(f"its head is at seal {anchor.seal}, position {anchor.position}, not at seal {cp.seals}, "
                        f"position {cp.position}: seals were merged, split or removed")
    if problems:
        return CheckpointCheck(line, cp, signature_ok, anchor, False, "; ".join(problems))
    return CheckpointCheck(line, cp, True, anchor, True, f"signature ok; {where}")


def _checkpoints(option: str, path: str) -> list[tuple[int, fmt.Checkpoint]]:
    data = output.read_bytes(option, path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(None, f"{option} {path}: not a checkpoint file (not UTF-8 text)") from None
    return fmt.parse(text, f"{option} {path}")


def audit(app: App, expect_heads: list[str] | tuple[str, ...] = (), checkpoints: str | None = None,
          public_key: str | None = None) -> Audit:
    """Re-walk the chain once, and check each expected head and each checkpoint of ``checkpoints`` against it.
    Bad input (a malformed head, an unreadable or malformed checkpoint file or key) is raised before the
    ledger is read."""
    heads = [parse_head("expect_head", h) for h in expect_heads]
    if public_key is not None and checkpoints is None:
        raise BadInput(None, "only with --checkpoints", param="public_key")
    lines: list[tuple[int, fmt.Checkpoint]] = []
    key = None
    if checkpoints is not None:
        lines = _checkpoints("--checkpoints", checkpoints)
        if not lines:
            raise BadInput(None, f"--checkpoints {checkpoints}: holds no checkpoint")
        if public_key is not None:
            key = fmt.load_public_key(output.read_bytes("--public-key", public_key), f"--public-key {public_key}")
    v = verify_chain(app.ledger, [*heads, *(cp.head for _, cp in lines)])
    out = Audit(v, [check_head(v, h) for h in heads])
    if checkpoints is not None:
        out.checkpoints = CheckpointsReport(checkpoints, key, [check_checkpoint(v, n, cp, key) for n, cp in lines])
    return out


# ----- writing keys and checkpoints -----


def refuse_database(app: App, option: str, path: str) -> None:
    """No output may overwrite the ledger's own database files (`adapters.formats.output`)."""
    output.refuse_ledger(path, option, app.settings.url)


@dataclass(frozen=True)
class KeyPair:
    private_path: str
    public_path: str
    public_key: str  # raw base64, as in checkpoint lines

    def as_json(self) -> dict[str, Any]:
        return {"private_key_file": self.private_path, "public_key_file": self.public_path,
                "public_key": self.public_key}


def keygen(app: App, out: str) -> KeyPair:
    """A new Ed25519 key: the private key to ``out`` (PEM, mode 0600), the public one to ``out.pub``. Refuses
    (bad input) when either exists, or is the ledger's database; an existing key file is never overwritten."""
    public_path = out + ".pub"
    for option, path in (("--out", out), ("--out (.pub)", public_path)):
        refuse_database(app, option, path)
        if os.path.lexists(path):
            raise BadInput(None, f"{option}: {path!r} exists: a key file is never overwritten")
    private, public, raw = fmt.new_key()
    try:
        output.create_new(out, private, 0o600)
    except FileExistsError:
        raise BadInput(None, f"--out: {out!r} exists: a key file is never overwritten") from None
    except OSError as e:
        raise BadInput(None, f"--out: cannot write {out!r}: {e.strerror}") from None
    try:
        output.create_new(public_path, public, 0o644)
    except OSError as e:
        os.unlink(out)  # ours, just made: no key without its public half
        if isinstance(e, FileExistsError):
            raise BadInput(None, f"--out: {public_path!r} exists: a key file is never overwritten") from None
        raise BadInput(None, f"--out: cannot write {public_path!r}: {e.strerror}") from None
    return KeyPair(out, public_path, raw)


class Refused(Exception):
    """A checkpoint was not made: the ledger does not verify (the audit says why). Exit status 1."""

    def __init__(self, message: str, audit: Audit) -> None:
        super().__init__(message)
        self.audit = audit


@dataclass(frozen=True)
class Made:
    file: str
    line: int
    checkpoint: fmt.Checkpoint
    audit: Audit

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "checkpoint": dict(vars(self.checkpoint)),
                "earlier_checkpoints": self.audit.checkpoints.as_json()["checked"] if self.audit.checkpoints else 0}


def checkpoint(app: App, key_path: str, file: str) -> Made:
    """Verify the ledger, then append a signed checkpoint of its head to ``file`` (created when missing).

    Refuses (`Refused`) when the chain is broken or the ledger no longer extends a checkpoint already in the
    file (each checked against the key its line names). A file that is not a checkpoint file, the key file, or
    the ledger's database is bad input, and nothing is written. The file is rewritten whole through a
    temporary file and a rename (`adapters.formats.checkpoints`)."""
    refuse_database(app, "--file", file)
    for path in (key_path, key_path + ".pub"):
        if output.same_file(file, path):
            raise BadInput(None, f"--file: {file!r} is a key file: refusing to write onto it")
    key = fmt.load_private_key(output.read_bytes("--key", key_path), f"--key {key_path}")
    existing = b""
    if os.path.lexists(file):
        if not os.path.isfile(file):
            raise BadInput(None, f"--file: {file!r} is not a regular file")
        existing = output.read_bytes("--file", file)
    try:
        text = existing.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(None, f"--file {file}: not a checkpoint file (not UTF-8 text)") from None
    earlier = fmt.parse(text, f"--file {file}")
    v = verify_chain(app.ledger, [cp.head for _, cp in earlier])
    result = Audit(v, checkpoints=CheckpointsReport(file, None, [check_checkpoint(v, n, cp, None)
                                                                 for n, cp in earlier]))
    if not v.ok:
        f = v.finding
        why = f"position {f.position}: {f.message}" if f else "; ".join(v.seal_problems)
        raise Refused(f"the chain is broken ({why}): no checkpoint written", result)
    failed = result.checkpoints.first_failure if result.checkpoints else None
    if failed is not None:
        raise Refused(f"the ledger no longer extends the checkpoint at line {failed.line} of {file} "
                      f"({failed.message}): no checkpoint written", result)
    made = fmt.sign(key, v.head, v.position, v.seals, v.recorded_at.isoformat() if v.recorded_at else None,
                    app.now().isoformat())
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        output.replace_with(file, (text + made.line() + "\n").encode("utf-8"))
    except OSError as e:
        raise BadInput(None, f"--file: cannot write {file!r}: {e.strerror}") from None
    return Made(file, len(text.splitlines()) + 1, made, result)
