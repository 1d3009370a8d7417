"""The one-run epsilon lower bound: known values, monotonicity, soundness, power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from fedflm.audit.bounds.one_run import (audit_scores, count_correct, default_candidates, epsilon_lower_bound,
                                         guesses_from_scores, p_value, pure_dp_ceiling)


@pytest.mark.parametrize("r", [10, 100, 1000])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_all_correct_pure_dp_closed_form(r: int, confidence: float) -> None:
    # Prepare: delta = 0 and v = r: p_value = p^r, so the bound is logit((1 - confidence)^(1/r))
    expected = special.logit((1 - confidence) ** (1 / r))
    # Execute
    eps = epsilon_lower_bound(r, r, r, 0.0, confidence)
    # Assert
    assert eps == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("r", "v"), [(100, 70), (200, 180), (1000, 600), (50, 26)])
def test_pure_dp_equals_clopper_pearson(r: int, v: int) -> None:
    # Prepare: with delta = 0 the bound is the logit of the one-sided Clopper-Pearson lower limit
    cp_lower = stats.beta.ppf(0.05, v, r - v + 1)
    expected = max(0.0, special.logit(cp_lower))
    # Execute
    eps = epsilon_lower_bound(2 * r, r, v, 0.0, 0.95)
    # Assert
    assert eps == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_p_value_matches_direct_sum() -> None:
    # Prepare: the paper's formula written out term by term
    m, r, v, eps, delta = 1000, 100, 80, 1.0, 1e-4
    q = 1 / (1 + math.exp(-eps))
    tail = sum(stats.binom.pmf(j, r, q) for j in range(v, r + 1))
    alpha = max(sum(stats.binom.pmf(j, r, q) for j in range(v - i, v)) / i for i in range(1, v + 1))
    # Execute / Assert
    assert p_value(m, r, v, eps, delta) == pytest.approx(tail + 2 * m * delta * alpha, rel=1e-9)


def test_half_correct_gives_no_evidence() -> None:
    # Execute / Assert
    assert epsilon_lower_bound(1000, 1000, 500, 1e-5) == 0.0
    assert epsilon_lower_bound(100, 0, 0, 1e-5) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400), st.data())
def test_bound_is_monotone(r: int, data: st.DataObject) -> None:
    # Prepare
    v = data.draw(st.integers(0, r - 1))
    m = data.draw(st.integers(r, 2 * r + 10))
    # Execute
    base = epsilon_lower_bound(m, r, v, 1e-6)
    more_correct = epsilon_lower_bound(m, r, v + 1, 1e-6)
    more_delta = epsilon_lower_bound(m, r, v, 1e-3)
    more_confident = epsilon_lower_bound(m, r, v, 1e-6, confidence=0.99)
    # Assert
    assert more_correct >= base - 1e-6
    assert more_delta <= base + 1e-6
    assert more_confident <= base + 1e-6


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400), st.data())
def test_pure_dp_ceiling_caps_the_bound(r: int, data: st.DataObject) -> None:
    # Prepare
    v = data.draw(st.integers(0, r))
    delta = data.draw(st.sampled_from([0.0, 1e-6, 1e-3]))
    # Execute
    ceiling = pure_dp_ceiling(r, v, 0.95)
    bound = epsilon_lower_bound(2 * r, r, v, delta, 0.95)
    # Assert: equal at delta = 0 (up to the bisection's tolerance), an upper limit otherwise
    assert bound <= ceiling + 1e-6
    if delta == 0.0:
        assert bound == pytest.approx(ceiling, rel=1e-5, abs=1e-6)


def test_guesses_and_counts() -> None:
    # Prepare
    scores = [0.9, 0.1, 0.5, 0.8, 0.2, 0.3]
    included = [True, False, False, True, True, False]
    # Execute
    guesses = guesses_from_scores(scores, 2, 2)
    r, v = count_correct(guesses, included)
    # Assert: top-2 (0.9, 0.8) guessed in, bottom-2 (0.1, 0.2) guessed out
    assert guesses.tolist() == [1, -1, 0, 1, -1, 0]
    assert (r, v) == (4, 3)


def _randomized_response_scores(rng: np.random.Generator, m: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Each canary's bit is reported truthfully with prob e^eps/(1+e^eps): an exactly eps-DP release."""
    included = rng.random(m) < 0.5
    truthful = rng.random(m) < special.expit(eps)
    reported = np.where(truthful, included, ~included)
    scores = reported + rng.random(m) * 1e-3  # random tie-breaking among equal reports
    return scores, included


@pytest.mark.parametrize(("eps", "delta"), [(1.0, 0.0), (2.0, 1e-5), (4.0, 1e-5)])
def test_sound_on_randomized_response(eps: float, delta: float) -> None:
    # Prepare
    rng = np.random.default_rng(1234)
    trials, m, confidence = 400, 1000, 0.9  # m 500: median / eps at eps 4 was 0.753-0.766 over rng seeds (> 0.75)
    # Execute
    bounds = [audit_scores(*_randomized_response_scores(rng, m, eps), delta=delta, confidence=confidence,
                           candidates=[(m // 2, m // 2)]).epsilon_lower_bound for _ in range(trials)]
    # Assert: the bound exceeds the true epsilon in at most 10 % of runs (plus binomial slack)
    exceed = np.mean(np.asarray(bounds) > eps)
    assert exceed <= 0.1 + 3 * math.sqrt(0.1 * 0.9 / trials)
    # ... and it has power: the typical bound is close to the truth
    assert np.median(bounds) > 0.75 * eps


def test_bonferroni_candidates_stay_sound_and_report_choice() -> None:
    # Prepare
    rng = np.random.default_rng(7)
    scores, included = _randomized_response_scores(rng, 400, 1.5)
    # Execute
    res = audit_scores(scores, included, delta=1e-5, confidence=0.95)
    # Assert
    assert res.candidates == 4 and res.m == 400
    assert 0 < res.epsilon_lower_bound < 1.5 + 0.5
    assert "95 % confidence" in res.describe()


def _quantile_normal(shift: float, n: int) -> np.ndarray:
    """n scores at the mid-quantiles (i + 1/2)/n of N(shift, 1): a deterministic sample."""
    return stats.norm.ppf((np.arange(n) + 0.5) / n) + shift


def _roc_hull_guess_counts(in_scores: np.ndarray, out_scores: np.ndarray) -> list[int]:
    """Guess counts k ("in" for the k highest scores) at the vertices of the ROC's upper hull.

    Thresholds t run over every distinct score and +inf; at t, (x, y) = (#in below t, #out below t).
    Points on or under the chord of their neighbours are dropped (monotone chain), endpoints kept.
    """
    thresholds = np.append(np.union1d(in_scores, out_scores), np.inf)
    xs = np.searchsorted(np.sort(in_scores), thresholds, side="left")
    ys = np.searchsorted(np.sort(out_scores), thresholds, side="left")
    hull: list[tuple[int, int]] = []
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        while len(hull) >= 2:
            (x0, y0), (x1, y1) = hull[-2], hull[-1]
            if (y1 - y0) * (x - x1) - (y - y1) * (x1 - x0) > 0:  # strict right turn: keep hull[-1]
                break
            hull.pop()
        hull.append((x, y))
    m = len(in_scores) + len(out_scores)
    return [m - x - y for x, y in hull]


@pytest.mark.parametrize(("shift", "expected"), [(1, 1.13346), (2, 2.311945), (4, 4.395568)])
def test_matches_jax_privacy_one_run_golden_values(shift: int, expected: float) -> None:
    # Prepare: the published reference values of Google DeepMind's jax_privacy (Apache-2.0),
    # tests/auditing_test.py::test_epsilon_one_run_close, for CanaryScoreAuditor.epsilon_one_run
    # (Steinke, Nasr & Jagielski 2023, one-sided k- = 0): 10,000 "in" canaries scored at the
    # mid-quantiles of N(shift, 1), 10,000 "out" at those of N(0, 1), significance 0.05, delta 1e-6,
    # every threshold on the ROC's upper hull tried with a Bonferroni correction over them.
    n = 10_000
    in_scores, out_scores = _quantile_normal(shift, n), _quantile_normal(0, n)
    scores = np.concatenate([in_scores, out_scores])
    included = np.arange(2 * n) < n
    candidates = [(k, 0) for k in _roc_hull_guess_counts(in_scores, out_scores)]
    # Execute
    res = audit_scores(scores, included, delta=1e-6, confidence=0.95, candidates=candidates)
    # Assert: their rtol is 1e-5
    assert res.epsilon_lower_bound == pytest.approx(expected, rel=1e-5)
    assert res.m == 2 * n and res.k_neg == 0


def test_warm_start_gives_the_same_bound() -> None:
    # Prepare
    m, r, v, delta = 2000, 400, 330, 1e-5
    cold = epsilon_lower_bound(m, r, v, delta)
    # Execute
    warm = epsilon_lower_bound(m, r, v, delta, start=cold / 2)
    not_rejected = epsilon_lower_bound(m, r, v, delta, start=cold + 1)
    # Assert: a rejected start only shortens the search; an unrejected one comes back unchanged
    assert warm == pytest.approx(cold, rel=1e-6)
    assert not_rejected == cold + 1


def test_one_sided_candidates_guess_one_side_only() -> None:
    # Execute / Assert
    assert default_candidates(500, "out") == [(0, 25), (0, 50), (0, 100), (0, 200)]
    assert default_candidates(500, "in") == [(25, 0), (50, 0), (100, 0), (200, 0)]
    assert default_candidates(500) == [(25, 25), (50, 50), (100, 100), (200, 200)]
    with pytest.raises(ValueError, match="side must be one of both, out, in, got 'left'"):
        default_candidates(10, "left")


@pytest.mark.parametrize("eps", [1.0, 3.0])
def test_out_only_guesses_stay_sound_on_randomized_response(eps: float) -> None:
    # Prepare
    rng = np.random.default_rng(2024)
    trials, m, confidence = 300, 1000, 0.9
    cands = default_candidates(m, "out")
    # Execute
    bounds = [audit_scores(*_randomized_response_scores(rng, m, eps), delta=1e-5, confidence=confidence,
                           candidates=cands).epsilon_lower_bound for _ in range(trials)]
    # Assert: abstaining on the "in" side keeps the bound sound (exceeds eps in at most 10 % of runs, plus
    # binomial slack: 0.152) and it still has power. rng seeds 2024 / 1 / 2: exceed rate 0.050 / 0.053 / 0.037
    # at eps 1 and 0.033 / 0.037 / 0.033 at eps 3; median / eps 0.806 / 0.794 / 0.795 and 0.855 / 0.854 / 0.855
    # against 0.6
    exceed = np.mean(np.asarray(bounds) > eps)
    assert exceed <= 0.1 + 3 * math.sqrt(0.1 * 0.9 / trials)
    assert np.median(bounds) > 0.6 * eps
