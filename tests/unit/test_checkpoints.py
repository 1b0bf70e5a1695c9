"""Signed checkpoints: the line format and its signature (checkable without this tool), the key and file
writers that never destroy anything, and the use cases on the in-memory store."""

import base64
import json
import os
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from adapters.bootstrap import Settings, bootstrap
from adapters.formats import checkpoints as fmt
from adapters.formats import output
from adapters.formats.feed import BadInput
from adapters.services import anchors, feeds, queries
from domain.chain import GENESIS
from tests.feedkit import jsonl, memory_ledger, purchase

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def key():
    private, _, _ = fmt.new_key()
    return fmt.load_private_key(private, "test")


def test_a_line_round_trips_and_its_signature_checks_with_any_ed25519_implementation():
    cp = fmt.sign(key(), "a" * 64, 11, 1, "2026-01-01T00:00:00+00:00", NOW.isoformat())
    line = cp.line()
    assert list(json.loads(line)) == list(fmt.FIELDS) and fmt.from_line(line) == cp
    assert fmt.signature_valid(cp, cp.public_key)
    # by hand: the signature is over the other six fields, sorted, compact JSON
    fields = {k: v for k, v in json.loads(line).items() if k != "signature"}
    message = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    Ed25519PublicKey.from_public_bytes(base64.b64decode(cp.public_key)).verify(base64.b64decode(cp.signature),
                                                                               message)


@pytest.mark.parametrize("change", [{"head": "b" * 64}, {"position": 12}, {"seals": 2}, {"recorded_at": None},
                                    {"made_at": "2031-01-01T00:00:00+00:00"}])
def test_changing_any_signed_field_breaks_the_signature(change):
    cp = fmt.sign(key(), "a" * 64, 11, 1, "2026-01-01T00:00:00+00:00", NOW.isoformat())
    altered = fmt.from_line(json.dumps({**json.loads(cp.line()), **change}))
    assert not fmt.signature_valid(altered, cp.public_key)


def test_another_key_does_not_verify():
    cp = fmt.sign(key(), "a" * 64, 11, 1, None, NOW.isoformat())
    other = fmt.sign(key(), "a" * 64, 11, 1, None, NOW.isoformat())
    assert not fmt.signature_valid(cp, other.public_key)


@pytest.mark.parametrize("bad, says", [
    ("not json", "not JSON"), ("[1]", "not a JSON object"), ('{"head": "ab"}', "missing position"),
    ("HEAD", "head: must be 64 lowercase hex"), ("POSITION", "position: must be a whole number"),
    ("EXTRA", "unknown field(s) note"), ("SIGNATURE", "signature: must decode to 64 bytes"),
    ("MADE", "made_at: '2030-01-01T00:00:00' has no UTC offset")])
def test_a_line_that_is_no_checkpoint_is_bad_input_naming_the_line(bad, says):
    good = json.loads(fmt.sign(key(), "a" * 64, 11, 1, None, NOW.isoformat()).line())
    variants = {"HEAD": {**good, "head": "A" * 64}, "POSITION": {**good, "position": True},
                "EXTRA": {**good, "note": "x"}, "SIGNATURE": {**good, "signature": "AAAA"},
                "MADE": {**good, "made_at": "2030-01-01T00:00:00"}}
    text = json.dumps(variants[bad]) if bad in variants else bad
    with pytest.raises(BadInput, match=r"checkpoints\.jsonl: line 3: not a checkpoint: ") as e:
        fmt.parse(json.dumps(good) + "\n\n" + text + "\n", "checkpoints.jsonl")
    assert says in str(e.value)


def test_a_public_key_is_read_from_pem_or_base64(tmp_path):
    _, public_pem, raw = fmt.new_key()
    assert fmt.load_public_key(public_pem, "k.pub") == raw == fmt.load_public_key(raw.encode() + b"\n", "k")
    with pytest.raises(BadInput, match="neither a PEM public key"):
        fmt.load_public_key(b"hello", "k")


def test_files_are_created_without_replacing_anything_and_replaced_atomically(tmp_path):
    path = str(tmp_path / "f")
    output.create_new(path, b"one", 0o600)
    with pytest.raises(FileExistsError):
        output.create_new(path, b"two", 0o600)
    assert open(path, "rb").read() == b"one" and os.stat(path).st_mode & 0o777 == 0o600
    output.replace_with(path, b"one\ntwo\n")
    assert open(path, "rb").read() == b"one\ntwo\n" and os.stat(path).st_mode & 0o777 == 0o600  # mode kept
    assert sorted(os.listdir(tmp_path)) == ["f"]  # no temporary left behind


@pytest.fixture
def app():
    app = bootstrap(Settings(url="unused://", clock=lambda: NOW), ledger=memory_ledger())
    feeds.record_feed(app, jsonl(purchase("kec-1", account="acme")))
    return app


def test_an_empty_ledger_checkpoints_the_genesis_head(tmp_path):
    app = bootstrap(Settings(url="unused://", clock=lambda: NOW), ledger=memory_ledger())
    anchors.keygen(app, str(tmp_path / "k"))
    made = anchors.checkpoint(app, str(tmp_path / "k"), str(tmp_path / "c"))
    assert (made.checkpoint.head, made.checkpoint.position, made.checkpoint.seals) == (GENESIS, 0, 0)
    assert queries.verify(app, checkpoints=str(tmp_path / "c")).ok


def test_checkpoints_append_and_verify_on_the_in_memory_store(app, tmp_path):
    k, c = str(tmp_path / "k"), str(tmp_path / "c.jsonl")
    pair = anchors.keygen(app, k)
    first = anchors.checkpoint(app, k, c)
    assert (first.line, first.checkpoint.seals, first.checkpoint.public_key) == (1, 1, pair.public_key)
    assert first.checkpoint.made_at == NOW.isoformat()
    feeds.record_feed(app, jsonl(purchase("kec-2", account="acme")))
    second = anchors.checkpoint(app, k, c)
    assert second.line == 2 and second.checkpoint.position > first.checkpoint.position
    audit = queries.verify(app, [first.checkpoint.head], c, k + ".pub")
    assert audit.ok and [x.anchor.seal for x in audit.checkpoints.checks] == [1, 2]
    assert audit.heads[0].anchor.position == first.checkpoint.position


def test_bad_anchors_are_bad_input_before_the_store_is_read(tmp_path):
    app = bootstrap(Settings(url="foo://never-opened"))
    with pytest.raises(BadInput, match=r"\Aexpect_head: 'xyz' is not a head") as refused:  # the parameter's name
        queries.verify(app, ["xyz"])
    assert refused.value.param == "expect_head"
    with pytest.raises(BadInput, match=r"\Apublic_key: only with --checkpoints"):
        queries.verify(app, public_key="k.pub")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(BadInput, match="holds no checkpoint"):
        queries.verify(app, checkpoints=str(tmp_path / "empty"))
    with pytest.raises(BadInput, match="cannot read"):
        queries.verify(app, checkpoints=str(tmp_path / "missing"))


def test_an_unknown_head_is_reported_not_in_the_chain(app):
    audit = queries.verify(app, ["f" * 64])
    assert audit.verification.ok and not audit.ok
    assert audit.heads[0].anchor is None and "truncated" in audit.heads[0].message
    assert audit.as_json()["chain_ok"] is True and audit.as_json()["ok"] is False




def test_a_checkpoint_file_behind_a_symbolic_link_is_replaced_and_the_link_kept(tmp_path):
    (tmp_path / "real").write_bytes(b"one\n")
    os.symlink(tmp_path / "real", tmp_path / "link")
    output.replace_with(str(tmp_path / "link"), b"one\ntwo\n")
    assert os.path.islink(tmp_path / "link") and (tmp_path / "real").read_bytes() == b"one\ntwo\n"
