"""Holt-Winters forecasting (kapacitor/engine/holtwinters.py): series the model continues exactly,
the no-forecast cases, and the fit against a brute-force grid search written here from the module
docstring (same initial state, recursion and SSE, in plain Python)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitor.engine.holtwinters import _fit, _nelder_mead, forecast, min_points

# Seasonal patterns, as multipliers. A palindromic pattern is uncorrelated with the position in
# the season, so a season's mean is exactly the trend at its middle and the initial state is
# exact; a skewed one biases the initial indices and the fit has to learn the bias away.
PALINDROME = {
    4: [0.8, 1.3, 1.3, 0.8],
    12: [1.0, 1.3, 0.8, 0.9, 1.1, 1.2, 1.2, 1.1, 0.9, 0.8, 1.3, 1.0],
}
SKEWED = {
    4: [1.0, 1.3, 0.8, 0.9],
    12: [1.0, 1.3, 0.8, 0.9, 1.1, 1.2, 0.7, 1.0, 1.05, 0.95, 1.4, 0.6],
}


def assert_continues(f: Callable[[int], float], n: int, season: int, rel: float) -> None:
    """forecast() of the first n values of f matches f for h = 1 .. 2 * season (at least 10)."""
    y = np.array([float(f(t)) for t in range(n)])
    for h in range(1, max(2 * season, 10) + 1):
        got = forecast(y, h, season)
        assert got is not None
        assert got == pytest.approx(f(n - 1 + h), rel=rel), h


# -- series the model continues --------------------------------------------------------------


@pytest.mark.parametrize("season", [4, 12])
@pytest.mark.parametrize("seasons", [2, 5])
def test_trend_times_palindromic_season_is_continued_exactly(season: int, seasons: int) -> None:
    # The initial state is the true state, so every one-step error is 0 for any α, β, γ; only
    # rounding remains (a few ulps per step over <= 60 steps), far below 1e-12.
    p = PALINDROME[season]
    assert_continues(lambda t: (50 + 2 * t) * p[t % season], seasons * season, season, 1e-12)


@pytest.mark.parametrize("season", [4, 12])
def test_trend_times_skewed_season_is_learned(season: int) -> None:
    # The initial indices are off by the within-season trend (about b·c / level, a few %); the
    # fitted smoothing learns that away. After 8 seasons the error measured is 2.4e-7 (S=4)
    # and 2.3e-6 (S=12); 1e-4 leaves a margin of 40x.
    p = SKEWED[season]
    assert_continues(lambda t: (50 + 2 * t) * p[t % season], 8 * season, season, 1e-4)


@pytest.mark.parametrize("season", [4, 12])
def test_additive_season_on_constant_level_is_continued_exactly(season: int) -> None:
    # 50 + 10·p_t = 50·(1 + p_t/5): a multiplicative season, and the initial state is exact.
    p = SKEWED[season]
    assert_continues(lambda t: 50 + 10 * p[t % season], 3 * season, season, 1e-12)


@pytest.mark.parametrize("season", [4, 12])
def test_additive_season_on_trend_is_approximated(season: int) -> None:
    # Seasonality is multiplicative (as in InfluxDB), so a season of constant amplitude on a
    # growing level is outside the model: the fit tracks it through γ, with errors measured at
    # 0.30% (S=4) and 0.26% (S=12) after 8 seasons. This pins that behaviour with 1%.
    p = SKEWED[season]
    assert_continues(lambda t: 50 + 2 * t + 10 * p[t % season], 8 * season, season, 1e-2)


@pytest.mark.parametrize("season", [0, 1, 4, 12])
@pytest.mark.parametrize("c", [7.5, -3.0, 1e-7, 1e9])
def test_constant_series_forecasts_the_constant(season: int, c: float) -> None:
    y = np.full(max(min_points(season), 30), c)
    for h in (1, 2, 7, 100):
        assert forecast(y, h, season) == pytest.approx(c, rel=1e-12)


def test_zero_series_without_season_forecasts_zero() -> None:
    assert forecast(np.zeros(10), 3, 0) == 0.0


@pytest.mark.parametrize("n", [2, 3, 10])
def test_line_without_season_is_continued(n: int) -> None:
    # l_1 = y_1, b_1 = y_1 - y_0 is the line's exact state: every error is 0.
    assert_continues(lambda t: 3 - 0.5 * t, n, 0, 1e-12)
    assert_continues(lambda t: 3 - 0.5 * t, n, 1, 1e-12)


def test_line_with_season_is_continued() -> None:
    assert_continues(lambda t: 40 + 0.25 * t, 16, 4, 1e-12)


# -- no forecast -------------------------------------------------------------------------------


def test_min_points() -> None:
    assert [min_points(s) for s in (-1, 0, 1, 2, 4, 12)] == [2, 2, 2, 4, 8, 24]


@pytest.mark.parametrize("season", [-1, 0, 1, 2, 4, 12])
def test_too_few_points(season: int) -> None:
    need = min_points(season)
    y = 10 + np.arange(need, dtype=np.float64) % 3
    assert forecast(y[: need - 1], 1, season) is None
    assert forecast(y[:0], 1, season) is None
    assert forecast(y, 1, season) is not None


@pytest.mark.parametrize("season", [0, 4])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("where", [0, 5, -1])
def test_non_finite_values(season: int, bad: float, where: int) -> None:
    y = 10 + np.arange(16, dtype=np.float64) % 4
    assert forecast(y, 1, season) is not None
    y[where] = bad
    assert forecast(y, 1, season) is None


@pytest.mark.parametrize(
    "y",
    [
        np.zeros(8),  # level 0: the seasonal indices are 0/0
        np.array([0.0, 1, 2, 3, 1, 1, 2, 3]),  # an index of 0, divided by in the level update
    ],
)
def test_seasonal_series_at_zero_have_no_forecast(y: np.ndarray) -> None:
    assert forecast(y, 1, 4) is None


def test_overflowing_forecast_is_none() -> None:
    # Finite values whose forecast (level + h·trend) exceeds the float range.
    y = np.array([-1e308, 0.0, 1e308])
    assert forecast(y, 1, 0) is None


@pytest.mark.parametrize("h", [0, -1])
def test_horizon_below_one_is_a_caller_error(h: int) -> None:
    with pytest.raises(ValueError, match="horizon"):
        forecast(np.arange(10, dtype=np.float64), h, 0)


def test_values_must_be_one_dimensional() -> None:
    with pytest.raises(ValueError, match="1-D"):
        forecast(np.ones((4, 4)), 1, 0)


# -- against a brute-force grid search ---------------------------------------------------------


class _NoFit(Exception):
    pass


def ref_init(y: list[float], season: int) -> tuple[float, float, list[float], int]:
    """(level, trend, seasonal indices by phase, first step of the recursion)."""
    if season <= 1:
        return y[1], y[1] - y[0], [], 2
    m = season
    a1 = math.fsum(y[:m]) / m
    a2 = math.fsum(y[m : 2 * m]) / m
    trend = (a2 - a1) / m
    try:
        indices = [y[i] / (a1 + trend * (i - (m - 1) / 2)) for i in range(m)]
    except ZeroDivisionError:
        raise _NoFit from None
    return a1 + trend * (m - 1) / 2, trend, indices, m


def ref_run(
    y: list[float], season: int, alpha: float, beta: float, gamma: float
) -> tuple[float, float, float, list[float]]:
    """(SSE, level, trend, indices) after the recursion; SSE inf per the module docstring."""
    level, trend, s, start = ref_init(y, season)
    sse = 0.0
    try:
        for t in range(start, len(y)):
            index = s[t % season] if s else 1.0
            before = level + trend
            error = y[t] - before * index
            sse += error * error
            level, previous = alpha * (y[t] / index) + (1 - alpha) * before, level
            trend = beta * (level - previous) + (1 - beta) * trend
            if s:
                s[t % season] = gamma * (y[t] / before) + (1 - gamma) * index
    except ZeroDivisionError:
        return math.inf, level, trend, s
    finite = all(math.isfinite(v) for v in [sse, level, trend, *s])
    return (sse if finite else math.inf), level, trend, s


def ref_grid_best(y: list[float], season: int) -> float:
    grid = [i / 10 for i in range(11)]
    gammas = grid if season > 1 else [0.0]
    return min(ref_run(y, season, a, b, g)[0] for a in grid for b in grid for g in gammas)


def ref_forecast(y: list[float], season: int, params: tuple[float, ...], h: int) -> float:
    alpha, beta, gamma = (*params, 0.0)[:3]
    _, level, trend, s = ref_run(y, season, alpha, beta, gamma)
    return (level + h * trend) * (s[(len(y) - 1 + h) % season] if s else 1.0)


@st.composite
def fit_cases(draw: st.DrawFn) -> tuple[list[float], int]:
    season = draw(st.sampled_from([0, 1, 2, 3, 4]))
    n = draw(st.integers(min_points(season), min_points(season) + 12))
    # Positive, level-like series suit a multiplicative season; also try arbitrary signs.
    if draw(st.booleans()):
        elem = st.floats(1.0, 1e3)
    else:
        elem = st.floats(-1e3, 1e3, allow_subnormal=False)
    return draw(st.lists(elem, min_size=n, max_size=n)), season


# dear: each example searches a grid of fits
@settings(max_examples=settings.default.max_examples * 3 // 5)
@given(fit_cases(), st.integers(1, 30))
def test_fit_is_at_least_as_good_as_a_coarse_grid(case: tuple[list[float], int], h: int) -> None:
    y, season = case
    # The module fits values divided by a power of two (exact unless a value becomes
    # subnormal), so the reference runs on the same values and scales the results back.
    peak = max(abs(v) for v in y)
    scale = math.ldexp(1.0, math.frexp(peak)[1] - 1) if peak > 0 else 1.0
    ys = [v / scale for v in y]
    try:
        best = ref_grid_best(ys, season) * scale * scale
    except _NoFit:
        best = math.inf
    fit = _fit(np.array(y), season)
    if best == math.inf:
        assert fit is None
        return
    assert fit is not None
    assert len(fit.params) == (3 if season > 1 else 2)
    assert all(0.0 <= p <= 1.0 for p in fit.params)
    # Same arithmetic as the reference; the slack only covers rounding.
    assert fit.sse <= best * (1 + 1e-9) + 1e-12 * peak * peak
    # The fitted SSE is the objective at the fitted parameters, and the forecast follows from
    # the final state of the same run.
    gamma = fit.params[2] if season > 1 else 0.0
    ref_sse = ref_run(ys, season, fit.params[0], fit.params[1], gamma)[0] * scale * scale
    assert fit.sse == pytest.approx(ref_sse, rel=1e-9, abs=1e-12 * peak * peak)
    want = ref_forecast(ys, season, fit.params, h) * scale
    got = forecast(np.array(y), h, season)
    if math.isfinite(want):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12 * peak)
    else:
        assert got is None


@pytest.mark.parametrize("season", [0, 4])
def test_fit_refines_the_grid(season: int) -> None:
    # A noisy series whose best parameters are off the grid: Nelder-Mead must improve on it.
    y = [
        (100 + 0.5 * t) * (1 + 0.2 * math.sin(2 * math.pi * t / 4)) + ((t * 7919) % 13 - 6) / 3
        for t in range(40)
    ]
    fit = _fit(np.array(y), season)
    assert fit is not None
    assert fit.sse < ref_grid_best(y, season) * (1 - 1e-4)


def test_nelder_mead_converges_inside_the_box() -> None:
    def f(x: list[float]) -> float:
        return (x[0] - 0.337) ** 2 + 2 * (x[1] - 0.712) ** 2 + (x[2] - 0.05) ** 2

    x, value = _nelder_mead(f, [0.3, 0.7, 0.0], f([0.3, 0.7, 0.0]))
    assert value == f(x)
    # The simplex stops within 1e-3 of its best vertex; allow twice that around the optimum.
    assert x == pytest.approx([0.337, 0.712, 0.05], abs=2e-3)


@pytest.mark.parametrize("start", [[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])
def test_nelder_mead_stays_in_the_box(start: list[float]) -> None:
    def f(x: list[float]) -> float:
        return (x[0] - 1.3) ** 2 + (x[1] + 0.2) ** 2

    x, value = _nelder_mead(f, start, f(start))
    assert x == pytest.approx([1.0, 0.0], abs=1e-3)
    assert all(0.0 <= v <= 1.0 for v in x)
    assert value <= f(start)


# -- robustness --------------------------------------------------------------------------------

_finite = st.one_of(
    st.floats(-1e9, 1e9),
    st.floats(-1e-9, 1e-9),
    st.sampled_from([0.0, 1.0, -1.0, 1e9, -1e9, 5e-324]),
)
_any = st.one_of(_finite, _finite, _finite, st.sampled_from([math.nan, math.inf, -math.inf]))


# cheap per example, over a wide input space
@settings(max_examples=settings.default.max_examples * 3 // 2)
@given(
    st.lists(_finite, max_size=60) | st.lists(_any, max_size=60),
    st.integers(1, 200),
    st.integers(-2, 14),
)
def test_forecast_never_raises(values: list[float], h: int, season: int) -> None:
    y = np.array(values, dtype=np.float64)
    got = forecast(y, h, season)
    if not np.isfinite(y).all() or len(values) < min_points(season):
        assert got is None
    else:
        assert got is None or (type(got) is float and math.isfinite(got))
