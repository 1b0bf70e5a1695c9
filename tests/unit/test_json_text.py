"""The CLI's ``--json`` answers (`output.json_text`, encoded by orjson) are the text of ``json.dumps(value,
indent=2)`` for every value an answer holds: text with any characters (non-ASCII escaped, line breaks,
quotes, characters outside the BMP), integers of any size, booleans, null, nested lists and objects."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.formats.output import json_text

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=400)
@given(values)
def test_json_text_is_the_standard_encoders_text(value):
    assert json_text(value) == json.dumps(value, indent=2)


def test_a_known_answer():
    assert json_text({"a": [1, "é"], "b": {}}) == '{\n  "a": [\n    1,\n    "\\u00e9"\n  ],\n  "b": {}\n}'
