"""`compare` (pure): the first difference between the rows found and the digests sealed, and its kind."""

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.chain import GENESIS, compare, fold, link

SEALED = [f"d{k}" for k in range(1, 9)]  # digests d1..d8, sealed in that order


def rows(digests: list[str], first: int = 101) -> list[tuple[int, str]]:
    """The rows found: notification ids from ``first`` on, one per digest."""
    return [(first + k, d) for k, d in enumerate(digests)]


def test_an_intact_log_has_no_finding():
    assert compare(rows(SEALED), SEALED) is None
    assert compare([], []) is None


def test_an_edited_row():
    found = SEALED.copy()
    found[3] = "x"
    f = compare(rows(found), SEALED)
    assert (f.kind, f.position, f.row, f.rows) == ("edited", 4, 104, (104,))


def test_an_edited_last_row():
    f = compare(rows([*SEALED[:-1], "x"]), SEALED)
    assert (f.kind, f.position, f.row) == ("edited", 8, 108)


def test_a_deleted_row():
    f = compare(rows(SEALED[:2] + SEALED[3:]), SEALED)
    assert (f.kind, f.position, f.row) == ("deleted", 3, 103)


def test_several_deleted_rows_are_counted():
    f = compare(rows(SEALED[:2] + SEALED[5:]), SEALED)
    assert (f.kind, f.position, f.row) == ("deleted", 3, 103) and "3 sealed row(s)" in f.message


def test_rows_deleted_at_the_end():
    f = compare(rows(SEALED[:5]), SEALED)
    assert (f.kind, f.position, f.row, f.rows) == ("deleted", 6, None, ())
    assert "3 sealed row(s) missing at the end" in f.message


def test_an_inserted_row():
    f = compare(rows([*SEALED[:4], "x", *SEALED[4:]]), SEALED)
    assert (f.kind, f.position, f.row) == ("inserted", 5, 105)


def test_a_copy_of_a_later_row_inserted_is_an_insertion_not_a_deletion():
    f = compare(rows([*SEALED[:2], SEALED[6], *SEALED[2:]]), SEALED)
    assert (f.kind, f.position, f.row) == ("inserted", 3, 103)


def test_a_row_appended_after_the_sealed_end():
    f = compare(rows([*SEALED, "x"]), SEALED)
    assert (f.kind, f.position, f.row) == ("inserted", 9, 109)


def test_two_adjacent_rows_swapped_are_a_reordering():
    found = SEALED.copy()
    found[2], found[3] = found[3], found[2]
    f = compare(rows(found), SEALED)
    assert (f.kind, f.position, f.row, f.rows) == ("reordered", 3, 103, (103, 104))
    assert "rows 103 and 104 are swapped" in f.message


def test_two_distant_rows_swapped_are_a_reordering_not_a_deletion():
    found = SEALED.copy()
    found[1], found[6] = found[6], found[1]
    f = compare(rows(found), SEALED)
    assert (f.kind, f.position, f.row, f.rows) == ("reordered", 2, 102, (102, 107))
    assert "rows 102 and 107 are swapped" in f.message
    assert f.as_json()["rows"] == [102, 107]


def test_a_row_moved_later_is_a_reordering_naming_every_row_out_of_place():
    found = [SEALED[0], *SEALED[2:5], SEALED[1], *SEALED[5:]]  # d2 moved after d5
    f = compare(rows(found), SEALED)
    assert (f.kind, f.position, f.row, f.rows) == ("reordered", 2, 102, (102, 103, 104, 105))
    assert "sealed rows 2 to 5 in another order" in f.message


def test_a_swap_and_a_later_edit_reports_the_swap_first():
    found = SEALED.copy()
    found[0], found[2] = found[2], found[0]
    found[6] = "x"
    f = compare(rows(found), SEALED)
    assert (f.kind, f.rows) == ("reordered", (101, 103))


def test_a_deletion_with_a_new_row_later_is_not_a_reordering():
    found = [*SEALED[:2], *SEALED[3:6], "x", *SEALED[6:]]  # d3 gone, x added: never the same multiset
    assert compare(rows(found), SEALED).kind == "deleted"


def test_the_head_is_a_running_hash_over_every_earlier_digest():
    assert fold(GENESIS, SEALED[:3]) == link(link(link(GENESIS, "d1"), "d2"), "d3")
    assert fold(fold(GENESIS, SEALED[:3]), SEALED[3:]) == fold(GENESIS, SEALED)
    swapped = [SEALED[1], SEALED[0], *SEALED[2:]]
    assert fold(GENESIS, swapped) != fold(GENESIS, SEALED)


def test_two_swaps_in_a_row_are_one_reordering():
    found = [SEALED[1], SEALED[0], SEALED[3], SEALED[2], *SEALED[4:]]
    f = compare(rows(found), SEALED)
    assert (f.kind, f.position, f.rows) == ("reordered", 1, (101, 102, 103, 104))


@settings(max_examples=200, deadline=None)
@given(st.permutations(SEALED), st.booleans())
def test_any_permutation_is_a_reordering_starting_at_the_first_row_out_of_place(found, appended):
    f = compare(rows([*found, *(["x"] if appended else [])]), SEALED)
    first = next((k for k in range(len(SEALED)) if found[k] != SEALED[k]), None)
    if first is None:
        assert (f is None) if not appended else f.kind == "inserted"
    else:
        assert (f.kind, f.position) == ("reordered", first + 1)
        assert set(f.rows) == {101 + k for k in range(len(SEALED)) if found[k] != SEALED[k]} or appended


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 7), st.integers(1, 3))
def test_deleting_rows_is_never_a_reordering(start, count):
    found = SEALED[:start] + SEALED[start + count:]
    f = compare(rows(found), SEALED)
    assert f.kind == "deleted" and f.position == start + 1
