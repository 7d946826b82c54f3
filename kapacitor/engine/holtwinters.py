"""Holt-Winters forecasting, in the spirit of InfluxQL's `HOLT_WINTERS(x, N, S)`.

`forecast(values, h, season)` returns the value predicted `h` steps after the last of `values`
(one value per step, in time order). Pure: no I/O, no randomness, no state between calls.

Model. With `season` = m >= 2: additive trend and multiplicative seasonality, the form InfluxDB
uses (see the end). For t = m .. n-1, with level l, trend b and seasonal indices s:

    ŷ_t = (l_{t-1} + b_{t-1}) · s_{t-m}                         (one-step-ahead forecast)
    l_t = α · y_t / s_{t-m} + (1 - α) · (l_{t-1} + b_{t-1})
    b_t = β · (l_t - l_{t-1}) + (1 - β) · b_{t-1}
    s_t = γ · y_t / (l_{t-1} + b_{t-1}) + (1 - γ) · s_{t-m}

and the forecast is (l_{n-1} + h · b_{n-1}) · s_{n-1+h-m·ceil(h/m)}: the latest seasonal index
of the forecast step's phase. With `season` <= 1 there is no seasonal component (Holt's linear
method): ŷ_t = l_{t-1} + b_{t-1}, l_t = α · y_t + (1 - α) · ŷ_t, b_t as above, for t = 2 .. n-1,
and the forecast is l_{n-1} + h · b_{n-1}.

Initial state (estimated, not fitted). Seasonal: A1, A2 = the means (math.fsum / m) of the
first two seasons y[0:m] and y[m:2m]; b_{m-1} = (A2 - A1) / m; l_{m-1} = A1 + b_{m-1} · (m-1) / 2
(A1 is the level at the middle of the first season); s_i = y_i / (A1 + b_{m-1} · (i - (m-1)/2))
for i < m: the first season's values over that trend line. Non-seasonal: l_1 = y_1,
b_1 = y_1 - y_0.

Objective: SSE(α, β[, γ]) = Σ (y_t - ŷ_t)² over the steps t of the recursion, for parameters in
[0, 1] (γ only with a season). A parameter point whose recursion divides by zero, or whose SSE
or final state is not finite, has SSE = +inf.

Optimizer, fixed and deterministic: (1) the SSE at every point of the grid {0, 0.1, ..., 1}
per parameter (11² or 11³ points, all evaluated at once with numpy); the lowest (the first in
α-, then β-, then γ-order on ties) starts (2) Nelder-Mead, with an initial simplex of that point
plus, per parameter, that point moved by 0.05 towards the middle of [0, 1]; coefficients:
reflection 1, expansion 2, contraction 1/2, shrink 1/2; every trial point is clamped to [0, 1]
before it is evaluated. Stopping rule, checked before each iteration: every vertex within 1e-3
of the best vertex in every parameter, or the SSE spread over the vertices <= 1e-10 · the best
SSE, or at least 100 SSE evaluations made. The best vertex is only ever replaced by a strictly
better one, so the fit is never worse than the best grid point.

Scaling: the values are divided by a power of two (2^(e-1) <= max |value| < 2^e) before fitting
and the forecast is multiplied back. Binary scaling is exact (but for values it makes
subnormal, far below the peak), so the results are those of unscaled arithmetic, without its
overflows (huge values, or a tiny seasonal index dividing a large value) and underflows.

None is returned when: there are fewer than `min_points(season)` values (2 without a season,
2·m with one); a value is NaN or ±inf; an initial seasonal index is not finite (the trend line
is 0 at a step of the first season, e.g. the first season averages 0 without trend); every grid
point has SSE = +inf (e.g. a first-season value of exactly 0 gives an index of 0, which the
level update divides by); or the forecast is not finite. Multiplicative seasonality is undefined
at a level of 0, so seasonal series through or around 0 can have no forecast. `h` < 1 and
non-1-D `values` are caller errors: ValueError.

Versus InfluxDB 1.x (influxdata/influxdb query/functions.go, FloatHoltWintersReducer, methods
Emit/next/forecast/sse/constrain, optimizer query/neldermead). Shared: multiplicative seasonality
(its `next`: l = α·y/s + (1-α)(l + φb), s = γ·y/(l + φb) + (1-γ)s, ŷ = (l + φ_h·b)·s), no season
when m < 2, smoothing parameters clamped to [0, 1], Nelder-Mead on an SSE. Different there: it
also fits a damping factor φ and the initial state (starting guesses l0 = A1, b0 = (A2 - A1)/m,
s_i = y_i / A1; without season l0 = y_0/2, b0 = (y_1 - y_0)/2), runs Nelder-Mead from the 16
points {0.3, 0.7}⁴ of (α, β, γ, φ), drives its recursion with its own previous output instead
of the observations after y_0, and needs only m values. Here φ = 1, the initial state is the
estimate above, the errors are true one-step-ahead errors, and two full seasons are required,
so forecasts are not numerically identical to InfluxDB's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Grid {0, 1/10, ..., 1}: exact i/10, so the points are the decimal values one would write.
_GRID = np.arange(11, dtype=np.float64) / 10
_NM_STEP = 0.05
_NM_XTOL = 1e-3
_NM_FTOL = 1e-10
_NM_MAX_EVALS = 100


def min_points(season: int) -> int:
    """The fewest values `forecast` needs: 2 without a season (season <= 1), else 2 * season."""
    return 2 * season if season > 1 else 2


def forecast(values: FloatArray, h: int, season: int) -> float | None:
    """The value predicted `h` steps (h >= 1) after the last of `values` (float64, in time order),
    or None when there is no forecast: too few values (fewer than 2 without a season; fewer than
    2 * season with one), or a non-finite input or result. See the module docstring."""
    if h < 1:
        raise ValueError(f"forecast horizon must be >= 1, got {h}")
    fit = _fit(values, season)
    if fit is None:
        return None
    if fit.seasonals:
        index = fit.seasonals[(fit.n - 1 + h) % len(fit.seasonals)]
        result = (fit.level + h * fit.trend) * index * fit.scale
    else:
        result = (fit.level + h * fit.trend) * fit.scale
    return result if math.isfinite(result) else None


@dataclass(frozen=True, slots=True)
class _Fit:
    """A fitted model. `params` is (α, β) or (α, β, γ); `sse` is in squared units of the values;
    the final state is in units of values / `scale`, `seasonals[p]` the index of phase p."""

    params: tuple[float, ...]
    sse: float
    level: float
    trend: float
    seasonals: list[float]
    n: int
    scale: float


def _fit(values: FloatArray, season: int) -> _Fit | None:
    """Fit the model of the module docstring; None in the no-forecast cases it lists."""
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {y.shape}")
    n = int(y.size)
    if n < min_points(season) or not bool(np.isfinite(y).all()):
        return None
    peak = float(np.max(np.abs(y)))
    # 2**(e-1) <= peak < 2**e: dividing by 2**(e-1) is exact and cannot overflow.
    scale = math.ldexp(1.0, math.frexp(peak)[1] - 1) if peak > 0.0 else 1.0
    y = y / scale
    if season > 1:
        return _fit_seasonal(y, season, scale)
    return _fit_linear(y, scale)


def _fit_seasonal(y: FloatArray, m: int, scale: float) -> _Fit | None:
    # |y| < 2 after scaling, so level and trend are finite; only the indices can divide by 0.
    a1 = math.fsum(y[:m].tolist()) / m
    a2 = math.fsum(y[m : 2 * m].tolist()) / m
    trend = (a2 - a1) / m
    level = a1 + trend * (m - 1) / 2
    offsets = np.arange(m, dtype=np.float64) - (m - 1) / 2
    with np.errstate(all="ignore"):
        initial = y[:m] / (a1 + trend * offsets)
    if not bool(np.isfinite(initial).all()):
        return None
    seasonals = initial.tolist()
    tail = y[m:].tolist()
    phases = [t % m for t in range(m, y.size)]

    alpha, beta, gamma = (g.ravel() for g in np.meshgrid(_GRID, _GRID, _GRID, indexing="ij"))
    sse = _grid_seasonal(tail, phases, level, trend, initial, alpha, beta, gamma)
    best = int(np.argmin(sse))
    if not math.isfinite(float(sse[best])):
        return None

    def objective(x: list[float]) -> float:
        return _run_seasonal(tail, phases, level, trend, seasonals, x[0], x[1], x[2])[0]

    start = [float(alpha[best]), float(beta[best]), float(gamma[best])]
    x, _ = _nelder_mead(objective, start, float(sse[best]))
    err, lvl, trd, seas = _run_seasonal(tail, phases, level, trend, seasonals, x[0], x[1], x[2])
    return _Fit(tuple(x), err * scale * scale, lvl, trd, seas, int(y.size), scale)


def _fit_linear(y: FloatArray, scale: float) -> _Fit | None:
    values = y.tolist()
    level = values[1]
    trend = values[1] - values[0]
    tail = values[2:]

    alpha, beta = (g.ravel() for g in np.meshgrid(_GRID, _GRID, indexing="ij"))
    sse = _grid_linear(tail, level, trend, alpha, beta)
    best = int(np.argmin(sse))
    if not math.isfinite(float(sse[best])):
        return None

    def objective(x: list[float]) -> float:
        return _run_linear(tail, level, trend, x[0], x[1])[0]

    start = [float(alpha[best]), float(beta[best])]
    x, _ = _nelder_mead(objective, start, float(sse[best]))
    err, lvl, trd = _run_linear(tail, level, trend, x[0], x[1])
    return _Fit(tuple(x), err * scale * scale, lvl, trd, [], int(y.size), scale)


# The scalar recursions (for Nelder-Mead) and the grid ones (numpy, one column per parameter
# point) evaluate the same expressions in the same order, so the SSE of a grid point is the
# same float either way and the optimizer's start value is exact.


def _run_seasonal(
    tail: list[float],
    phases: list[int],
    level: float,
    trend: float,
    initial: list[float],
    alpha: float,
    beta: float,
    gamma: float,
) -> tuple[float, float, float, list[float]]:
    """(SSE, final level, final trend, final seasonal indices by phase); SSE inf when not
    finite."""
    s = list(initial)
    a1, b1, g1 = 1.0 - alpha, 1.0 - beta, 1.0 - gamma
    sse = 0.0
    try:
        for yt, i in zip(tail, phases, strict=True):
            sp = s[i]
            lb = level + trend
            e = yt - lb * sp
            sse += e * e
            new_level = alpha * (yt / sp) + a1 * lb
            trend = beta * (new_level - level) + b1 * trend
            s[i] = gamma * (yt / lb) + g1 * sp
            level = new_level
    except ZeroDivisionError:
        return math.inf, level, trend, s
    # `not <` also catches NaN.
    if not (
        sse < math.inf
        and math.isfinite(level)
        and math.isfinite(trend)
        and all(map(math.isfinite, s))
    ):
        sse = math.inf
    return sse, level, trend, s


def _run_linear(
    tail: list[float], level: float, trend: float, alpha: float, beta: float
) -> tuple[float, float, float]:
    """(SSE, final level, final trend); SSE inf when not finite."""
    a1, b1 = 1.0 - alpha, 1.0 - beta
    sse = 0.0
    for yt in tail:
        lb = level + trend
        e = yt - lb
        sse += e * e
        new_level = alpha * yt + a1 * lb
        trend = beta * (new_level - level) + b1 * trend
        level = new_level
    if not (sse < math.inf and math.isfinite(level) and math.isfinite(trend)):
        sse = math.inf
    return sse, level, trend


def _grid_seasonal(
    tail: list[float],
    phases: list[int],
    level0: float,
    trend0: float,
    initial: FloatArray,
    alpha: FloatArray,
    beta: FloatArray,
    gamma: FloatArray,
) -> FloatArray:
    k = alpha.size
    a1, b1, g1 = 1.0 - alpha, 1.0 - beta, 1.0 - gamma
    level = np.full(k, level0)
    trend = np.full(k, trend0)
    s = np.repeat(initial[:, None], k, axis=1)
    sse = np.zeros(k)
    lb, e, new_level, tmp = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
    # Divisions by zero and overflows become infinities or NaNs that reach the SSE or the final
    # state; such points are rejected below, as the scalar recursion rejects them.
    with np.errstate(all="ignore"):
        for yt, i in zip(tail, phases, strict=True):
            sp = s[i]
            np.add(level, trend, out=lb)
            np.multiply(lb, sp, out=e)
            np.subtract(yt, e, out=e)
            np.multiply(e, e, out=e)
            np.add(sse, e, out=sse)
            np.divide(yt, sp, out=new_level)
            np.multiply(alpha, new_level, out=new_level)
            np.multiply(a1, lb, out=tmp)
            np.add(new_level, tmp, out=new_level)
            np.subtract(new_level, level, out=tmp)
            np.multiply(beta, tmp, out=tmp)
            np.multiply(b1, trend, out=trend)
            np.add(tmp, trend, out=trend)
            np.divide(yt, lb, out=tmp)
            np.multiply(gamma, tmp, out=tmp)
            np.multiply(g1, sp, out=sp)
            np.add(tmp, sp, out=sp)
            level, new_level = new_level, level
        ok = np.isfinite(sse) & np.isfinite(level) & np.isfinite(trend) & np.isfinite(s).all(axis=0)
    sse[~ok] = np.inf
    return sse


def _grid_linear(
    tail: list[float], level0: float, trend0: float, alpha: FloatArray, beta: FloatArray
) -> FloatArray:
    k = alpha.size
    a1, b1 = 1.0 - alpha, 1.0 - beta
    level = np.full(k, level0)
    trend = np.full(k, trend0)
    sse = np.zeros(k)
    lb, e, new_level, tmp = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
    with np.errstate(all="ignore"):
        for yt in tail:
            np.add(level, trend, out=lb)
            np.subtract(yt, lb, out=e)
            np.multiply(e, e, out=e)
            np.add(sse, e, out=sse)
            np.multiply(alpha, yt, out=new_level)
            np.multiply(a1, lb, out=tmp)
            np.add(new_level, tmp, out=new_level)
            np.subtract(new_level, level, out=tmp)
            np.multiply(beta, tmp, out=tmp)
            np.multiply(b1, trend, out=trend)
            np.add(tmp, trend, out=trend)
            level, new_level = new_level, level
        ok = np.isfinite(sse) & np.isfinite(level) & np.isfinite(trend)
    sse[~ok] = np.inf
    return sse


def _clamp(x: list[float]) -> list[float]:
    return [min(1.0, max(0.0, v)) for v in x]


def _toward(centre: list[float], worst: list[float], t: float) -> list[float]:
    """The point centre + t * (worst - centre), clamped to [0, 1]^k."""
    return _clamp([c + t * (w - c) for c, w in zip(centre, worst, strict=True)])


def _nelder_mead(
    f: Callable[[list[float]], float], x0: list[float], f0: float
) -> tuple[list[float], float]:
    """Minimise f over [0, 1]^k from x0 (where f is f0); see the module docstring."""
    k = len(x0)
    points = [x0]
    values = [f0]
    for j in range(k):
        x = list(x0)
        x[j] += _NM_STEP if x[j] < 0.5 else -_NM_STEP
        points.append(x)
        values.append(f(x))
    evals = k
    while True:
        # Stable sort: on ties the incumbent best stays first, so the best never gets worse.
        order = sorted(range(k + 1), key=values.__getitem__)
        points = [points[i] for i in order]
        values = [values[i] for i in order]
        best = points[0]
        if evals >= _NM_MAX_EVALS or values[-1] - values[0] <= _NM_FTOL * values[0]:
            break
        spread = max(abs(p[j] - best[j]) for p in points[1:] for j in range(k))
        if spread <= _NM_XTOL:
            break
        worst = points[-1]
        centre = [sum(p[j] for p in points[:-1]) / k for j in range(k)]
        reflected = _toward(centre, worst, -1.0)
        fr = f(reflected)
        evals += 1
        if fr < values[0]:
            expanded = _toward(centre, worst, -2.0)
            fe = f(expanded)
            evals += 1
            points[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            points[-1], values[-1] = reflected, fr
        else:
            outside = fr < values[-1]
            contracted = _toward(centre, worst, -0.5 if outside else 0.5)
            fc = f(contracted)
            evals += 1
            if fc <= fr if outside else fc < values[-1]:
                points[-1], values[-1] = contracted, fc
            else:
                for i in range(1, k + 1):
                    points[i] = [b + 0.5 * (p - b) for b, p in zip(best, points[i], strict=True)]
                    values[i] = f(points[i])
                evals += k
    return points[0], values[0]
