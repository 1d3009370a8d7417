"""pick_form: the form whose cumulative share first exceeds the draw, else the last; only the
chosen form is called (so the synthetic data's Faker streams draw exactly what they used to)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fedflm.protect.deid_forms import pick_form

BOUNDS = (0.45, 0.75, 0.92)


def _ladder(r: float) -> str:
    """The if-ladder that pick_form replaced in deid_train_data.case_variant (the reference)."""
    if r < 0.45:
        return "a"
    if r < 0.75:
        return "b"
    if r < 0.92:
        return "c"
    return "d"


@given(st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_picks_what_the_if_ladder_picked_and_calls_only_that_form(r):
    # Prepare
    called: list[str] = []

    def form(name: str):
        return lambda: called.append(name) or name

    # Execute
    got = pick_form(r, [(b, form(n)) for b, n in zip(BOUNDS, "abc")] + [(1.0, form("d"))])

    # Assert
    assert got == _ladder(r) and called == [got]


def test_bounds_are_exclusive_and_the_last_form_takes_the_rest():
    # Prepare
    forms = [(0.5, lambda: "low"), (0.0, lambda: "last")]

    # Execute / Assert: r == bound goes on; the last form's own share is never compared
    assert [pick_form(r, forms) for r in (0.0, 0.4999, 0.5, 0.99)] == ["low", "low", "last", "last"]
