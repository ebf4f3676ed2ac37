"""Market signals over explicit time windows (never sample counts), with bounded memory.

Price sampling grid: one sample per whole second (``SAMPLE_S`` = 1 s). The sample of second ``g`` is the
last mid observed in ``[g, g+1)`` s, forward-filled through quiet seconds. A gap of more than
``max_gap_s`` between two mid observations means missing data, not a quiet market: the seconds inside the
gap are marked invalid and no return is taken across it. A second is *finalised* once an observation of a
later second arrives; only finalised seconds are used.

Volatility: ``r_g = ln(p_g / p_{g-1})`` for consecutive valid samples; σ₁ₛ over a window of ``W`` s is the
sample standard deviation (ddof = 1) of the valid returns of the last ``W`` finalised seconds, in bps
(× 1e4). ``vol_*_bps`` scale it to a one-minute horizon: σ₆₀ = σ₁ₛ × √60 (bps per minute), the unit of
``SymbolConfig.vol_ref_bps``. Running sums make every update O(1); they are recomputed from the ring every
``history_s`` samples so float drift cannot accumulate.

Funding: time-based EMA of the funding rate (fraction per 8 h) with half-life ``funding_halflife_s``.
Intensity: exponentially decayed rates (per second) of public trades, traded volume per aggressor side,
and our own fills, with half-life ``intensity_halflife_s``.
"""

from __future__ import annotations

import math

from phoenix.core.types import Side

SAMPLE_S = 1
VOL_HORIZON_S = 60
_NS = 1_000_000_000
_NAN = math.nan
_SQRT_HORIZON = math.sqrt(VOL_HORIZON_S)


class _DecayedRate:
    """An exponentially decayed event rate (events or quantity per second)."""

    __slots__ = ("_halflife_ns", "_last_ns", "_value")

    def __init__(self, halflife_s: float) -> None:
        self._halflife_ns = halflife_s * _NS
        self._value = 0.0  # decayed sum of amounts
        self._last_ns = -1

    def add(self, ts_ns: int, amount: float) -> None:
        self._decay_to(ts_ns)
        self._value += amount

    def _decay_to(self, ts_ns: int) -> None:
        if self._last_ns >= 0 and ts_ns > self._last_ns:
            self._value *= 0.5 ** ((ts_ns - self._last_ns) / self._halflife_ns)
        if ts_ns > self._last_ns:
            self._last_ns = ts_ns

    def rate_per_s(self, ts_ns: int) -> float:
        # the decayed sum of a constant rate λ converges to λ × halflife / ln 2
        value = self._value
        if self._last_ns >= 0 and ts_ns > self._last_ns:
            value *= 0.5 ** ((ts_ns - self._last_ns) / self._halflife_ns)
        return value * math.log(2) / (self._halflife_ns / _NS)


class _Window:
    """Running count / sum / sum of squares of the valid returns of the last ``span_s`` seconds."""

    __slots__ = ("n", "s1", "s2", "span_s")

    def __init__(self, span_s: int) -> None:
        self.span_s = span_s
        self.n = 0
        self.s1 = 0.0
        self.s2 = 0.0

    def std(self) -> float | None:
        n = self.n
        if n < 2:
            return None
        var = (self.s2 - self.s1 * self.s1 / n) / (n - 1)
        return math.sqrt(var) if var > 0.0 else 0.0


class Signals:
    """Time-window signals of one symbol: price history, realised volatility, funding EMA, intensities.

    Memory is O(``history_s``) whatever the runtime.
    """

    __slots__ = (
        "_buy_volume",
        "_fills",
        "_final_sec",
        "_funding_halflife_ns",
        "_funding_ts_ns",
        "_last_mid",
        "_last_ts_ns",
        "_long",
        "_max_gap_ns",
        "_open_sec",
        "_prices",
        "_recompute_in",
        "_returns",
        "_sell_volume",
        "_short",
        "_trades",
        "_vol_cache",
        "funding_ema",
        "history_s",
        "min_returns",
    )

    def __init__(
        self,
        *,
        vol_window_s: int = 1800,
        short_vol_window_s: int = 60,
        funding_halflife_s: float = 3600.0,
        history_s: int = 3600,
        max_gap_s: float = 5.0,
        intensity_halflife_s: float = 60.0,
        min_returns: int = 10,
    ) -> None:
        if not 0 < short_vol_window_s <= vol_window_s <= history_s:
            raise ValueError(
                f"need 0 < short_vol_window_s ({short_vol_window_s}) <= vol_window_s ({vol_window_s}) "
                f"<= history_s ({history_s})"
            )
        self.history_s = history_s
        self.min_returns = max(2, min_returns)
        self._max_gap_ns = int(max_gap_s * _NS)
        self._prices: list[float] = [_NAN] * history_s
        self._returns: list[float] = [_NAN] * history_s
        self._long = _Window(vol_window_s)
        self._short = _Window(short_vol_window_s)
        self._open_sec = -1  # the second currently being observed
        self._final_sec = -1  # the last finalised second
        self._last_mid = _NAN
        self._last_ts_ns = -1
        self._recompute_in = history_s
        self.funding_ema: float | None = None
        self._funding_ts_ns = -1
        self._funding_halflife_ns = funding_halflife_s * _NS
        self._trades = _DecayedRate(intensity_halflife_s)
        self._buy_volume = _DecayedRate(intensity_halflife_s)
        self._sell_volume = _DecayedRate(intensity_halflife_s)
        self._fills = _DecayedRate(intensity_halflife_s)
        # (final second, min_returns, vol long, vol short): the windows only change when a second is
        # finalised, which always moves _final_sec forward; the requote path reads both vols several times
        self._vol_cache: tuple[int, int, float | None, float | None] | None = None

    # ------------------------------------------------------------------ price and volatility

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """Record a mid price (USDC) observed at ``ts_ns``. Out-of-order observations are ignored."""
        if ts_ns < self._last_ts_ns or not mid > 0.0:
            return
        sec = ts_ns // _NS
        open_sec = self._open_sec
        if sec != open_sec:
            if open_sec >= 0:
                gap = ts_ns - self._last_ts_ns > self._max_gap_ns
                self._close_until(sec, gap)
            self._open_sec = sec
        self._last_mid = mid
        self._last_ts_ns = ts_ns

    def _close_until(self, sec: int, gap: bool) -> None:
        # finalise the open second with the last mid, then the seconds before ``sec``
        open_sec = self._open_sec
        if sec - open_sec > self.history_s + 1:
            self._reset_history()
            self._finalise(open_sec, self._last_mid)
            return
        self._finalise(open_sec, self._last_mid)
        fill = _NAN if gap else self._last_mid
        for g in range(open_sec + 1, sec):
            self._finalise(g, fill)

    def _reset_history(self) -> None:
        self._prices = [_NAN] * self.history_s
        self._returns = [_NAN] * self.history_s
        for w in (self._long, self._short):
            w.n, w.s1, w.s2 = 0, 0.0, 0.0
        self._final_sec = -1

    def _finalise(self, g: int, price: float) -> None:
        h = self.history_s
        prices = self._prices
        returns = self._returns
        idx = g % h
        prev = prices[(g - 1) % h] if self._final_sec == g - 1 else _NAN
        r = math.log(price / prev) if price == price and prev == prev else _NAN
        for w in (self._long, self._short):
            old = returns[(g - w.span_s) % h]
            if old == old:
                w.n -= 1
                w.s1 -= old
                w.s2 -= old * old
            if r == r:
                w.n += 1
                w.s1 += r
                w.s2 += r * r
        prices[idx] = price
        returns[idx] = r
        self._final_sec = g
        self._recompute_in -= 1
        if self._recompute_in <= 0:
            self._recompute()

    def _recompute(self) -> None:
        self._recompute_in = self.history_s
        h = self.history_s
        g = self._final_sec
        for w in (self._long, self._short):
            n, s1, s2 = 0, 0.0, 0.0
            for k in range(w.span_s):
                r = self._returns[(g - k) % h]
                if r == r:
                    n += 1
                    s1 += r
                    s2 += r * r
            w.n, w.s1, w.s2 = n, s1, s2

    def sigma_1s_bps(self, window_s: int) -> float | None:
        """σ of 1-s log returns (bps) over the configured long or short window; None until warm.

        Warm means at least ``min_returns`` valid returns in the window. Raises ValueError for other windows.
        """
        if window_s == self._long.span_s:
            w = self._long
        elif window_s == self._short.span_s:
            w = self._short
        else:
            have = (self._long.span_s, self._short.span_s)
            raise ValueError(f"window {window_s}s is not tracked (have {have})")
        if w.n < self.min_returns:
            return None
        std = w.std()
        return None if std is None else std * 1e4

    def _window_vol_bps(self, w: _Window) -> float | None:
        if w.n < self.min_returns:
            return None
        std = w.std()
        return None if std is None else std * 1e4 * _SQRT_HORIZON

    def _vols(self) -> tuple[int, int, float | None, float | None]:
        cache = self._vol_cache
        if cache is None or cache[0] != self._final_sec or cache[1] != self.min_returns:
            cache = (
                self._final_sec,
                self.min_returns,
                self._window_vol_bps(self._long),
                self._window_vol_bps(self._short),
            )
            self._vol_cache = cache
        return cache

    @property
    def vol_long_bps(self) -> float | None:
        """Realised vol over ``vol_window_s``, per one-minute horizon (σ₁ₛ × √60), bps; None until warm."""
        return self._vols()[2]

    @property
    def vol_short_bps(self) -> float | None:
        """Realised vol over ``short_vol_window_s``, per one-minute horizon, bps; None until warm."""
        return self._vols()[3]

    def return_count(self, window_s: int) -> int:
        """Number of valid 1-s returns currently in the long or short window."""
        if window_s == self._long.span_s:
            return self._long.n
        if window_s == self._short.span_s:
            return self._short.n
        raise ValueError(f"window {window_s}s is not tracked")

    @property
    def last_mid(self) -> float | None:
        """The most recent mid observed (USDC), None before the first."""
        m = self._last_mid
        return m if m == m else None

    @property
    def last_final_sec(self) -> int:
        """The last finalised sample second (epoch seconds), −1 before the first."""
        return self._final_sec

    def price_at_sec(self, sec: int) -> float | None:
        """The sample of finalised second ``sec`` if still in the ring and valid, else None."""
        if sec > self._final_sec or sec <= self._final_sec - self.history_s or sec < 0:
            return None
        p = self._prices[sec % self.history_s]
        return p if p == p else None

    def price_change_bps(self, lookback_s: int) -> float | None:
        """(last mid / sample ``lookback_s`` seconds before the last finalised second − 1) × 1e4."""
        base = self.price_at_sec(self._final_sec - lookback_s)
        last = self.last_mid
        if base is None or last is None:
            return None
        return (last / base - 1.0) * 1e4

    # ------------------------------------------------------------------ funding

    def on_funding(self, ts_ns: int, rate: float) -> None:
        """Record a funding rate observation (fraction per 8 h) into the half-life EMA."""
        ema = self.funding_ema
        if ema is None or self._funding_ts_ns < 0:
            self.funding_ema = rate
            self._funding_ts_ns = ts_ns
            return
        dt = ts_ns - self._funding_ts_ns
        if dt <= 0:
            return
        alpha = 1.0 - 0.5 ** (dt / self._funding_halflife_ns)
        self.funding_ema = ema + alpha * (rate - ema)
        self._funding_ts_ns = ts_ns

    # ------------------------------------------------------------------ intensity

    def on_trade(self, ts_ns: int, qty: float, aggressor: Side) -> None:
        """Record a public trade of ``qty`` base units with the given taker side."""
        self._trades.add(ts_ns, 1.0)
        if aggressor is Side.BUY:
            self._buy_volume.add(ts_ns, qty)
        else:
            self._sell_volume.add(ts_ns, qty)

    def on_own_fill(self, ts_ns: int) -> None:
        """Record one fill of our own orders."""
        self._fills.add(ts_ns, 1.0)

    def trades_per_s(self, ts_ns: int) -> float:
        """Decayed public trade rate (trades per second) at ``ts_ns``."""
        return self._trades.rate_per_s(ts_ns)

    def volume_per_s(self, ts_ns: int, aggressor: Side) -> float:
        """Decayed traded volume per second (base units) with ``aggressor`` as taker."""
        rate = self._buy_volume if aggressor is Side.BUY else self._sell_volume
        return rate.rate_per_s(ts_ns)

    def own_fills_per_min(self, ts_ns: int) -> float:
        """Decayed rate of our own fills per minute."""
        return self._fills.rate_per_s(ts_ns) * 60.0

    # ------------------------------------------------------------------ snapshot

    def to_snapshot(self) -> dict[str, object]:
        """State worth keeping across restarts: the funding EMA (prices re-warm from the live feed)."""
        return {"funding_ema": self.funding_ema, "funding_ts_ns": self._funding_ts_ns}

    def restore(self, snapshot: dict[str, object]) -> None:
        """Restore what ``to_snapshot`` saved."""
        ema = snapshot.get("funding_ema")
        ts = snapshot.get("funding_ts_ns")
        if isinstance(ema, int | float) and isinstance(ts, int):
            self.funding_ema = float(ema)
            self._funding_ts_ns = ts
