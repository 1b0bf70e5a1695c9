"""Parameter values are parsed by one module for the CLI and the HTTP API (`adapters.formats.params`, issue 26,
item 3): the same value is refused alike, naming the parameter as the entrypoint calls it."""

from datetime import date

import pytest

from adapters.formats import params
from adapters.formats.errors import BadInput


def test_an_instant_needs_an_offset_and_names_its_parameter():
    assert params.instant("at", "2027-02-22T10:00:00+08:00").utcoffset().total_seconds() == 8 * 3600
    with pytest.raises(BadInput) as refused:
        params.instant("at", "2027-02-22T10:00:00")
    assert str(refused.value).startswith("at: ")
    with pytest.raises(BadInput, match=r"\Aat: missing\Z"):
        params.instant("at", None)
    assert params.optional_instant("known_at", None) is None


def test_days_are_calendar_days():
    assert params.days("holiday", ["2027-01-01", "2027-01-02"]) == (date(2027, 1, 1), date(2027, 1, 2))
    with pytest.raises(BadInput, match=r"\Aholiday: "):
        params.days("holiday", ["2027-13-01"])


@pytest.mark.parametrize("item", ["rate", "=5", " =5", ""])
def test_a_pair_without_a_name_or_an_equals_sign_is_refused(item):
    with pytest.raises(BadInput, match=r"\Aset: .* is not NAME=VALUE\Z"):
        params.pairs("set", [item])


def test_pairs_are_stripped():
    assert params.pairs("set", [" rate = 0.5 ", "b=c=d"]) == {"rate": "0.5", "b": "c=d"}
    assert params.pairs("set", None) == {}


def test_the_cli_and_the_http_api_parse_with_the_same_functions():
    from adapters.cli import finance, queries
    from adapters.http import params as http

    assert http.instant is params.instant and http.days is params.days
    assert queries.instant is finance.instant is params.instant


def test_a_use_case_names_the_parameter_and_each_entrypoint_says_it_in_its_words():
    """Issue 26, item 3: a service's refusal names the parameter (``set``), not a CLI option; the CLI says
    ``--set``, the HTTP API ``set`` (str(), the neutral form), with no rewriting of the message."""
    from adapters.cli import shown
    from adapters.services import queries

    with pytest.raises(BadInput) as refused:
        queries.check_overrides({"colour": "red"})
    assert refused.value.param == "set"
    assert str(refused.value).startswith("set: colour=red: unknown policy parameter")
    assert shown(refused.value).startswith("--set: colour=red: unknown policy parameter")
    late = BadInput(None, "is not a day", param="closed_through")
    assert (shown(late), str(late)) == ("--closed-through: is not a day", "closed_through: is not a day")
    assert shown(BadInput(3, "at: missing")) == "line 3: at: missing"  # a feed's field is the feed's word
