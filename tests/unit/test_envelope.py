"""The envelope's checks one by one, in process (the CLI's edges are in tests/integration/test_envelope.py)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from adapters.formats import envelope
from adapters.formats.envelope import NotANumber, Refused
from adapters.formats.feed import BadInput, parse_feed
from domain.policies.kingsoft.parameters import KingsoftParameters
from domain.policies.korpro.parameters import KorProParameters


@pytest.mark.parametrize("text, ok", [
    ("1000000000000.00", True), ("1000000000000.01", False), ("0.01", True), ("0.001", False),
    ("٣٠.٠٠", False), ("10.00\n", False), (" 10.00", False), ("1e3", False), ("NaN", False), ("-1.00", False),
    ("00000000000010.00", False), ("0000000000010.00", True),
])
def test_money_is_ascii_digits_two_decimals_at_most_10_to_the_12(text, ok):
    if ok:
        assert envelope.parse_money(text) == Decimal(text)
    else:
        with pytest.raises(Refused):
            envelope.parse_money(text)


@pytest.mark.parametrize("text, ok", [
    ("1970-01-01T00:00:00+00:00", True), ("1969-12-31T23:59:59.999999Z", False),
    ("2199-12-31T23:59:59.999999+00:00", True), ("2200-01-01T00:00:00Z", False),
    ("2200-01-01T05:00:00+08:00", True),  # 2199-12-31T21:00Z
    ("1970-01-01T05:00:00+08:00", False), ("9999-12-31T23:59:59-23:59", False), ("0001-01-01T00:00:00+23:59", False),
    ("2026-01-01T00:00:00+05:30:15", False), ("2026-01-01T00:00:00", False), ("2026-13-01T00:00:00Z", False),
])
def test_times_lie_in_the_window_with_whole_minute_offsets(text, ok):
    if ok:
        assert envelope.instant(text)
    else:
        with pytest.raises(Refused):
            envelope.instant(text)


def test_ids_text_and_currencies():
    assert envelope.identifier("😀" * 200) == "😀" * 200
    for bad in ("", "x" * 201, "a\tb", "a\x00", "a\u200bb", "a\ud800", "a\u2028", "a\x85", 7):
        with pytest.raises(Refused):
            envelope.identifier(bad)
    assert envelope.text("tab\tline\ncr\r" + "x" * 3986) and envelope.text("") == ""
    for bad in ("a\x00", "a\x07", "a\x85", "a\ud800", "x" * 4001):
        with pytest.raises(Refused):
            envelope.text(bad)
    with pytest.raises(Refused):
        envelope.text("  ", required=True)
    assert envelope.currency("XTS") == "XTS"
    for bad in ("USDX", "usd", "US", "ＵＳＤ", "ÜSD"):
        with pytest.raises(Refused):
            envelope.currency(bad)


def test_strict_json_refuses_duplicates_and_marks_what_no_field_accepts():
    with pytest.raises(Refused, match="b: duplicate key"):
        envelope.loads('{"a": {"b": 1, "b": 2}}')
    value = envelope.loads('{"n": NaN, "i": -Infinity, "f": 1e999, "big": ' + "9" * 5000 + ', "ok": 1.5}')
    assert [type(value[k]) for k in ("n", "i", "f", "big")] == [NotANumber] * 4 and value["ok"] == 1.5
    for deep in ("[" * 65 + "]" * 65, "[" * 100_000 + "]" * 100_000):
        with pytest.raises(Refused, match="nested too deeply"):
            envelope.loads(deep)
    assert envelope.loads("[" * 64 + "]" * 64)


def test_free_form_objects_are_bounded_and_finite():
    nested: object = 1
    for _ in range(envelope.OBJECT_DEPTH_MAX):
        nested = {"k": nested}
    assert envelope.free_form(nested)  # 16 levels
    with pytest.raises(Refused, match="nested too deeply"):
        envelope.free_form({"k": nested})
    for bad, where in (({"a": [1, {"b": NotANumber("NaN")}]}, "a[1].b"), ({"n": 2**63}, "n"),
                       ({"s": "\x00"}, "s"), ({"f": float("inf")}, "f")):
        with pytest.raises(Refused) as e:
            envelope.free_form(bad)
        assert e.value.path == where
    with pytest.raises(Refused, match="bytes as JSON"):
        envelope.free_form({"pad": "x" * envelope.OBJECT_BYTES_MAX})


def test_parameters_are_checked_by_their_type():
    envelope.parameter(KorProParameters, "performance_rate", "0.2500")
    envelope.parameter(KorProParameters, "review_days", 3650)
    envelope.parameter(KorProParameters, "outage_min_hours", "87600")
    envelope.parameter(KingsoftParameters, "holidays", "2026-10-01,2199-12-31")
    envelope.parameter(KingsoftParameters, "refundable_tenders", "cash,voucher")
    for cls, name, bad in ((KorProParameters, "performance_rate", "NaN"), (KorProParameters, "base_fee", "1e3"),
                           (KorProParameters, "review_days", 3651), (KorProParameters, "review_days", "-1"),
                           (KorProParameters, "outage_min_hours", 87_601), (KorProParameters, "review_days", True),
                           (KingsoftParameters, "holidays", "2200-01-01"), (KorProParameters, "holidays", [5]),
                           (KorProParameters, "calendar_tz", 8)):
        with pytest.raises(Refused):
            envelope.parameter(cls, name, bad)
    envelope.parameter(KorProParameters, "no_such_parameter", object())  # the policy itself refuses the name
    assert envelope.day("2199-12-31") == date(2199, 12, 31)


def test_a_feed_names_the_line_of_invalid_utf8_an_over_long_line_and_a_duplicate_key():
    good = json.dumps({"type": "cancel", "at": "2026-01-01T00:00:00Z", "instance": "kp-1"}).encode()
    with pytest.raises(BadInput, match=r"^line 3: not valid UTF-8"):
        parse_feed([good, b"", b'{"x": "\xc3"}'])
    with pytest.raises(BadInput, match=r"^line 2: the line is longer"):
        parse_feed([good, b" " * (envelope.LINE_BYTES_MAX + 1)])
    assert len(parse_feed([good + b" " * (envelope.LINE_BYTES_MAX - len(good))])) == 1
    with pytest.raises(BadInput, match=r"^line 1: instance: duplicate key"):
        parse_feed(['{"type": "cancel", "at": "2026-01-01T00:00:00Z", "instance": "a", "instance": "b"}'])
    # lines end at line feeds only: U+2028 inside a string is not a line break (it is refused in an id)
    with pytest.raises(BadInput, match=r"^line 1: instance: U\+2028"):
        parse_feed('{"type": "cancel", "at": "2026-01-01T00:00:00Z", "instance": "a\u2028b"}\n'.split("\n"))
