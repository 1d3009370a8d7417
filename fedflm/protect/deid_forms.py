"""Drawing one of several written forms by its share: the synthetic PII of :mod:`deid_synth`
(evaluation records) and :mod:`deid_train_data` (the learned model's training examples) both
vary how a name, an address or a sentence's case is written this way."""

from __future__ import annotations

from typing import Callable, Sequence

# (cumulative share up to which this form is drawn, the form); the last one takes the rest
Form = tuple[float, Callable[[], str]]


def pick_form(r: float, forms: Sequence[Form]) -> str:
    """The first form whose cumulative share exceeds ``r`` (a draw of ``rng.random()``), else the
    last. Only the chosen form is called, so only it draws from the generators it uses."""
    for upto, make in forms[:-1]:
        if r < upto:
            return make()
    return forms[-1][1]()
